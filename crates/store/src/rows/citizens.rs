//! Citizens: the column layout of a citizen and its mapping to and from the model, the
//! history, the search, and personal ID allocation.

use std::sync::LazyLock;

use dancu_domain::{
    fold_key, Address, Citizen, CmndNumber, NameParts, PersonalId, Relation, Sex, UnitRef, Violation,
};

use super::*;

/// Data columns of `citizens`, in the order of [`CitizenCols::vals`]. Then come the
/// bookkeeping columns [`CITIZEN_META`].
pub(crate) const CITIZEN_COLUMNS: [&str; 31] = [
    "personal_id",
    "family_name",
    "middle_name",
    "given_name",
    "full_name",
    "name_key",
    "other_names",
    "birth_date",
    "birth_year",
    "sex",
    "birth_place",
    "hometown",
    "ethnicity",
    "religion",
    "nationality",
    "permanent_unit",
    "permanent_detail",
    "temporary_unit",
    "temporary_detail",
    "current_unit",
    "current_detail",
    "father_id",
    "father_name",
    "mother_id",
    "mother_name",
    "spouse_id",
    "cmnd",
    "status",
    "death_date",
    "scope_province",
    "scope_commune",
];

pub(crate) const CITIZEN_META: [&str; 5] =
    ["version", "created_at", "updated_at", "updated_by", "change_reason"];

/// Index of `scope_province` in [`CITIZEN_COLUMNS`]; `scope_commune` follows.
const SCOPE_COL: usize = 29;

/// A citizen flattened to its column values, with the derived columns (full name, name
/// key, birth year, residence scope) computed.
#[derive(Debug, Clone)]
pub(crate) struct CitizenCols {
    pub vals: [Val; 31],
}

impl CitizenCols {
    pub(crate) fn new(c: &Citizen) -> Result<Self, Violation> {
        let scope = c.scope_unit()?;
        let province = scope.describe().province_code.to_string();
        let full = c.name.full();
        let key = fold_key(&full);
        let unit = |u: &Option<UnitRef>| Val::OptText(u.map(|u| u.to_string()));
        let addr_unit = |a: &Option<Address>| Val::OptText(a.as_ref().map(|a| a.unit.to_string()));
        let addr_detail =
            |a: &Option<Address>| Val::Text(a.as_ref().map(|a| a.detail.clone()).unwrap_or_default());
        let pid = |p: &Option<PersonalId>| Val::OptText(p.map(|p| p.to_string()));
        Ok(CitizenCols {
            vals: [
                Val::Text(c.personal_id.to_string()),
                Val::Text(c.name.family.clone()),
                Val::Text(c.name.middle.clone()),
                Val::Text(c.name.given.clone()),
                Val::Text(full),
                Val::Text(key),
                Val::Text(c.other_names.clone()),
                Val::Text(c.birth_date.to_string()),
                Val::Int(c.birth_date.year() as i64),
                Val::Text(c.sex.code().to_string()),
                unit(&c.birth_place),
                unit(&c.hometown),
                Val::Text(c.ethnicity.clone()),
                Val::Text(c.religion.clone()),
                Val::Text(c.nationality.clone()),
                addr_unit(&c.permanent),
                addr_detail(&c.permanent),
                addr_unit(&c.temporary),
                addr_detail(&c.temporary),
                addr_unit(&c.current),
                addr_detail(&c.current),
                pid(&c.father_id),
                Val::Text(c.father_name.clone()),
                pid(&c.mother_id),
                Val::Text(c.mother_name.clone()),
                pid(&c.spouse_id),
                Val::OptText(c.cmnd.map(|n| n.to_string())),
                Val::Text(c.status.code().to_string()),
                Val::OptText(c.death_date.map(|d| d.to_string())),
                Val::Text(province),
                Val::Text(scope.code().to_string()),
            ],
        })
    }

    fn text(&self, i: usize) -> &str {
        match &self.vals[i] {
            Val::Text(s) => s,
            _ => unreachable!("column {i} is text"),
        }
    }

    pub(crate) fn id(&self) -> &str {
        self.text(0)
    }

    pub(crate) fn scope_province(&self) -> &str {
        self.text(SCOPE_COL)
    }

    pub(crate) fn scope_commune(&self) -> &str {
        self.text(SCOPE_COL + 1)
    }
}

/// Bookkeeping values of a citizen row written now by `change` at `version`.
pub(crate) fn citizen_meta(version: i64, change: &Change) -> [Val; 5] {
    [
        Val::Int(version),
        Val::Ts(change.at),
        Val::Ts(change.at),
        Val::Text(change.actor.clone()),
        Val::Text(change.reason.clone()),
    ]
}

/// Bookkeeping values of a row changed now by `change` to `version`: version, updated_at,
/// updated_by, change_reason (a citizen update, or a new household).
pub(crate) fn change_meta(version: i64, change: &Change) -> [Val; 4] {
    [Val::Int(version), Val::Ts(change.at), Val::Text(change.actor.clone()), Val::Text(change.reason.clone())]
}

/// A record just created, as it will read back.
pub(crate) fn new_stored(c: &Citizen, cols: &CitizenCols, change: &Change) -> StoredCitizen {
    StoredCitizen {
        citizen: c.clone(),
        version: 1,
        scope_province: cols.scope_province().to_string(),
        scope_commune: cols.scope_commune().to_string(),
        household_no: None,
        relation: None,
        also_in: Vec::new(),
        created_at: change.at,
        updated_at: change.at,
        updated_by: change.actor.clone(),
        change_reason: change.reason.clone(),
    }
}

/// The household columns of `citizens`, after [`CITIZEN_META`].
pub(crate) const HOUSEHOLD_COLUMNS: [&str; 2] = ["household_no", "relation"];

/// Every column of `citizens`, in the order the statements below bind them.
pub(crate) fn all_citizen_columns() -> Vec<&'static str> {
    CITIZEN_COLUMNS.iter().chain(CITIZEN_META.iter()).chain(HOUSEHOLD_COLUMNS.iter()).copied().collect()
}

/// Household columns of a row: its household and relation, or neither.
pub(crate) fn household_vals(h: Option<&(String, Relation)>) -> [Val; 2] {
    match h {
        Some((n, r)) => [Val::OptText(Some(n.clone())), Val::OptText(Some(r.code().to_string()))],
        None => [Val::OptText(None), Val::OptText(None)],
    }
}

/// `SELECT` list for [`stored_from_row`]: the row, then the current residence records outside
/// its own scope (`province:commune:valid_until` joined by `,`; migration 0018), where the
/// person is in scope too.
pub(crate) static STORED_CITIZEN_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, (SELECT string_agg(r.province || ':' || r.commune || ':' || COALESCE(r.valid_until, ''), ',') \
         FROM residences r WHERE r.personal_id = c.personal_id AND r.ended_on IS NULL \
         AND (r.away_commune = 1 OR r.away_province = 1)) FROM citizens c",
        all_citizen_columns().join(", ")
    )
});

/// The scopes of [`STORED_CITIZEN_SELECT`]'s last column that are current `today`.
fn also_in(list: Option<String>, today: chrono::NaiveDate) -> Vec<(String, String)> {
    let today = today.to_string();
    list.unwrap_or_default()
        .split(',')
        .filter_map(|x| {
            let mut p = x.splitn(3, ':');
            let (province, commune, until) = (p.next()?, p.next()?, p.next().unwrap_or(""));
            (!commune.is_empty() && (until.is_empty() || until >= today.as_str()))
                .then(|| (province.to_string(), commune.to_string()))
        })
        .collect()
}

/// `INSERT` of a whole citizen row (data, bookkeeping and household columns), skipping a
/// personal ID already stored.
pub(crate) fn insert_citizen_sql(ph: Ph) -> String {
    let cols = all_citizen_columns();
    let params: Vec<String> = (1..=cols.len()).map(|n| ph.at(n)).collect();
    format!(
        "INSERT INTO citizens ({}) VALUES ({}) ON CONFLICT (personal_id) DO NOTHING",
        cols.join(", "),
        params.join(", ")
    )
}

/// `UPDATE` of every column but the personal ID (the first parameter) and `created_at`.
/// Parameters: the [`CITIZEN_COLUMNS`] values, then version, updated_at, updated_by and
/// change_reason.
pub(crate) fn update_citizen_sql(ph: Ph) -> String {
    let sets: Vec<String> = CITIZEN_COLUMNS
        .iter()
        .chain(CITIZEN_META.iter())
        .filter(|c| **c != "created_at")
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = {}", ph.at(i + 1)))
        .collect();
    format!("UPDATE citizens SET {} WHERE personal_id = {}", sets.join(", "), ph.at(1))
}

/// The citizen in the [`CITIZEN_COLUMNS`] starting at column `b`.
pub(crate) fn citizen_from_row(r: &impl RowGet, b: usize) -> Result<Citizen> {
    let addr = |u: usize| -> Result<Option<Address>> {
        Ok(match r.opt_text(b + u)? {
            Some(unit) => Some(Address { unit: parse_unit(&unit)?, detail: r.text(b + u + 1)? }),
            None => None,
        })
    };
    let unit =
        |i: usize| -> Result<Option<UnitRef>> { r.opt_text(b + i)?.map(|s| parse_unit(&s)).transpose() };
    let pid =
        |i: usize| -> Result<Option<PersonalId>> { r.opt_text(b + i)?.map(|s| parse_pid(&s)).transpose() };
    Ok(Citizen {
        personal_id: parse_pid(&r.text(b)?)?,
        name: NameParts { family: r.text(b + 1)?, middle: r.text(b + 2)?, given: r.text(b + 3)? },
        other_names: r.text(b + 6)?,
        birth_date: parse_date(&r.text(b + 7)?)?,
        sex: parse_sex(&r.text(b + 9)?)?,
        birth_place: unit(10)?,
        hometown: unit(11)?,
        ethnicity: r.text(b + 12)?,
        religion: r.text(b + 13)?,
        nationality: r.text(b + 14)?,
        permanent: addr(15)?,
        temporary: addr(17)?,
        current: addr(19)?,
        father_id: pid(21)?,
        father_name: r.text(b + 22)?,
        mother_id: pid(23)?,
        mother_name: r.text(b + 24)?,
        spouse_id: pid(25)?,
        cmnd: r
            .opt_text(b + 26)?
            .map(|s| s.parse::<CmndNumber>().map_err(|v| corrupt("CMND number", v)))
            .transpose()?,
        status: parse_status(&r.text(b + 27)?)?,
        death_date: r.opt_text(b + 28)?.map(|s| parse_date(&s)).transpose()?,
    })
}

/// A row of [`STORED_CITIZEN_SELECT`].
pub(crate) fn stored_from_row(r: &impl RowGet) -> Result<StoredCitizen> {
    let n = CITIZEN_COLUMNS.len();
    Ok(StoredCitizen {
        citizen: citizen_from_row(r, 0)?,
        version: r.int(n)?,
        scope_province: r.text(SCOPE_COL)?,
        scope_commune: r.text(SCOPE_COL + 1)?,
        created_at: r.ts(n + 1)?,
        updated_at: r.ts(n + 2)?,
        updated_by: r.text(n + 3)?,
        change_reason: r.text(n + 4)?,
        household_no: r.opt_text(n + 5)?,
        relation: r.opt_text(n + 6)?.map(|s| parse_relation(&s)).transpose()?,
        also_in: also_in(r.opt_text(n + 7)?, crate::applications::today()),
    })
}

/// For an update: the stored row's citizen, version and who/when/why, as selected by
/// [`CURRENT_FOR_UPDATE`] (PostgreSQL appends `FOR UPDATE`).
pub(crate) static CURRENT_FOR_UPDATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, version, updated_at, updated_by, change_reason FROM citizens WHERE personal_id = $1",
        CITIZEN_COLUMNS.join(", ")
    )
});

/// The previous version of a record about to be replaced, for the history table.
pub(crate) fn current_from_row(r: &impl RowGet) -> Result<CitizenVersion> {
    let n = CITIZEN_COLUMNS.len();
    Ok(CitizenVersion {
        citizen: citizen_from_row(r, 0)?,
        version: r.int(n)?,
        changed_at: r.ts(n + 1)?,
        changed_by: r.text(n + 2)?,
        reason: r.text(n + 3)?,
    })
}

pub(crate) fn check_version(expected: i64, actual: i64) -> Result<()> {
    if expected != actual {
        return Err(StoreError::VersionMismatch { expected, actual });
    }
    Ok(())
}

pub(crate) const CITIZEN_HISTORY_SQL: &str =
    "SELECT version, data, changed_at, changed_by, reason FROM citizen_history \
     WHERE personal_id = $1 ORDER BY version DESC";

pub(crate) fn history_from_row(r: &impl RowGet) -> Result<CitizenVersion> {
    Ok(CitizenVersion {
        version: r.int(0)?,
        citizen: r.json(1)?,
        changed_at: r.ts(2)?,
        changed_by: r.text(3)?,
        reason: r.text(4)?,
    })
}

/// The folded given name: the last word of `name_key`. The same expression is indexed
/// (`citizens_given`, migration 0016), so it must be written exactly so in queries.
pub(crate) const GIVEN_KEY: &str =
    "substr(c.name_key, length(rtrim(c.name_key, 'abcdefghijklmnopqrstuvwxyz0123456789')) + 1)";

/// Criteria and scope as a filter on `citizens c`.
pub(crate) fn citizen_filter(q: &CitizenQuery, scope: &Scope, ph: Ph) -> Filter {
    let mut f = Filter::default();
    if let Some(id) = &q.personal_id {
        f.and(ph, "c.personal_id = #", Val::Text(id.to_string()));
    }
    if let Some(name) = &q.name_key {
        key_range(&mut f, ph, "c.name_key", &fold_key(name));
    }
    other_criteria(&mut f, q, scope, ph, Branch::Own);
    f
}

/// Which records a search reads: those whose own scope matches, or those in scope through
/// a current residence record elsewhere (`residences.away_*`, migration 0018). The two are
/// disjoint, so a search unites them without duplicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Branch {
    Own,
    Away,
}

/// Whether a search in `scope` also reads the away branch: only when it is limited to a
/// place (the nation sees everyone through their own scope).
fn has_away(q: &CitizenQuery, scope: &Scope) -> bool {
    q.personal_id.is_none() && (!matches!(scope, Scope::Nation) || q.commune.is_some())
}

/// Persons with a current record outside their own scope in the unit of `level`.
fn away_in(level: &str) -> String {
    let today = crate::applications::today();
    format!(
        "c.personal_id IN (SELECT r.personal_id FROM residences r WHERE r.{level} = # \
         AND r.ended_on IS NULL AND r.away_{level} = 1 \
         AND (r.valid_until IS NULL OR r.valid_until >= '{today}'))"
    )
}

/// `column` starts with `key` (an index range); nothing for an empty key.
fn key_range(f: &mut Filter, ph: Ph, column: &str, key: &str) {
    if key.is_empty() {
        return;
    }
    if let Some(upper) = prefix_upper(key) {
        f.and(ph, &format!("{column} < #"), Val::Text(upper));
    }
    f.and(ph, &format!("{column} >= #"), Val::Text(key.to_string()));
}

/// The typed name words: letters and digits only (`read_search_text`), so LIKE has
/// nothing to escape.
fn clean_words(q: &CitizenQuery) -> Vec<String> {
    q.name_words
        .iter()
        .map(|w| w.chars().filter(|c| c.is_alphanumeric()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Every criterion but the personal ID and the name prefix.
fn other_criteria(f: &mut Filter, q: &CitizenQuery, scope: &Scope, ph: Ph, branch: Branch) {
    for w in clean_words(q) {
        // A word of the key starts with `w`: the key, led by a space, holds " w".
        f.and(ph, "(' ' || c.name_key) LIKE #", Val::Text(format!("% {w}%")));
    }
    if let Some(y) = q.birth_year {
        f.and(ph, "c.birth_year = #", Val::Int(y as i64));
    }
    if let Some(d) = &q.birth_date {
        f.and(ph, "c.birth_date = #", Val::Text(d.to_string()));
    }
    if let Some(h) = &q.household_no {
        f.and(ph, "c.household_no = #", Val::Text(h.clone()));
    }
    match branch {
        Branch::Own => {
            if let Some(c) = &q.commune {
                commune(f, ph, c);
            }
            if let Scope::Commune(c) = scope {
                province_of(f, ph, c);
            }
            f.scope(ph, scope, "c.scope_{level} = #");
        }
        Branch::Away => {
            if let Some(c) = &q.commune {
                f.and(ph, &away_in("commune"), Val::Text(c.clone()));
            }
            match scope {
                Scope::Nation => {}
                Scope::Province(p) => f.and(ph, &away_in("province"), Val::Text(p.clone())),
                Scope::Commune(c) => f.and(ph, &away_in("commune"), Val::Text(c.clone())),
            }
        }
    }
}

/// A commune condition, with the commune's province too so that the search index on
/// (province, commune, name) gives results in order.
fn commune(f: &mut Filter, ph: Ph, code: &str) {
    province_of(f, ph, code);
    f.and(ph, "c.scope_commune = #", Val::Text(code.to_string()));
}

/// The province condition of a commune's, for the search index.
fn province_of(f: &mut Filter, ph: Ph, commune: &str) {
    if let Some(c) = dancu_domain::admin_units().commune_2025(commune) {
        f.and(ph, "c.scope_province = #", Val::Text(c.province_code.clone()));
    }
}

/// Whether name words in any order are better found through the name indexes than by
/// reading the whole scope: beyond one commune a scan reads up to every record of the scope.
fn words_by_index(q: &CitizenQuery, scope: &Scope) -> bool {
    q.personal_id.is_none()
        && q.name_key.is_none()
        && q.commune.is_none()
        && q.household_no.is_none()
        && !matches!(scope, Scope::Commune(_))
        && !clean_words(q).is_empty()
}

/// Most words for which every ordered pair gets an index range of its own.
const MAX_PAIRED_WORDS: usize = 5;

/// The IDs and name keys (`pid`, `k`) of the records matching `q` found through the name
/// indexes, each range checked on the index's own columns (the other words, birth year,
/// province), united. A name holding every word is found when a word starts its given name
/// (`citizens_given`), or one word starts its family name and another its first middle
/// name ("nguyen anh", `citizens_name`); a single word is also looked up as a family name.
/// A range on a family name alone ("nguyen": a third of the country) is what this avoids;
/// the names it misses have every word on the family name and later middle names.
fn word_hits(q: &CitizenQuery, scope: &Scope, ph: Ph, f: &mut Filter) -> String {
    let words = clean_words(q);
    let mut ranges: Vec<(&str, String)> = words.iter().map(|w| (GIVEN_KEY, w.clone())).collect();
    if words.len() == 1 || words.len() > MAX_PAIRED_WORDS {
        ranges.extend(words.iter().map(|w| ("c.name_key", w.clone())));
    } else {
        for (i, w) in words.iter().enumerate() {
            for (j, v) in words.iter().enumerate() {
                if i != j {
                    ranges.push(("c.name_key", format!("{w} {v}")));
                }
            }
        }
    }
    let mut parts = Vec::new();
    for (column, key) in ranges {
        f.sql.clear();
        key_range(f, ph, column, &key);
        other_criteria(f, q, scope, ph, Branch::Own);
        parts.push(format!("SELECT c.personal_id AS pid, c.name_key AS k FROM citizens c{}", f.sql));
    }
    if has_away(q, scope) {
        f.sql.clear();
        other_criteria(f, q, scope, ph, Branch::Away);
        parts.push(format!("SELECT c.personal_id AS pid, c.name_key AS k FROM citizens c{}", f.sql));
    }
    f.sql.clear();
    parts.join(" UNION ")
}

/// A search's count and page statements, sharing the parameters in `Filter::params` (the
/// page statement uses two more, limit and offset), and the page size.
pub(crate) type SearchPlan = (String, String, Filter, u32);

/// The plans of a citizen search, tried in order until one finds something. Words in any
/// order beyond a commune go through the name indexes first; only if that finds nothing (every
/// word matched a middle name, say "van") is the scope read in full.
pub(crate) fn search_plans(q: &CitizenQuery, scope: &Scope, ph: Ph) -> Vec<SearchPlan> {
    const COLUMNS: &str =
        "c.personal_id, c.full_name, c.birth_date, c.sex, c.status, c.scope_commune, c.household_no";
    let mut plans = Vec::new();
    if words_by_index(q, scope) {
        let mut f = Filter::default();
        let hits = word_hits(q, scope, ph, &mut f);
        let count = format!("SELECT count(*) FROM ({hits}) h");
        let (limit, tail) = limit_offset(&mut f, ph, q.limit, q.offset);
        // The page of IDs first, then their records: a join before the sort would read
        // the record of every hit.
        let page = format!(
            "SELECT {COLUMNS} FROM (SELECT pid, k FROM ({hits}) u ORDER BY k, pid{tail}) h \
             JOIN citizens c ON c.personal_id = h.pid ORDER BY h.k, h.pid"
        );
        plans.push((count, page, f, limit));
    }
    let mut f = citizen_filter(q, scope, ph);
    if !has_away(q, scope) {
        let count = format!("SELECT count(*) FROM citizens c{}", f.sql);
        let (limit, tail) = limit_offset(&mut f, ph, q.limit, q.offset);
        let page =
            format!("SELECT {COLUMNS} FROM citizens c{} ORDER BY c.name_key, c.personal_id{tail}", f.sql);
        plans.push((count, page, f, limit));
        return plans;
    }
    // Both branches, each cut to the rows the page can reach before they are merged, so a
    // large scope is never sorted in full.
    let own = std::mem::take(&mut f.sql);
    if let Some(name) = &q.name_key {
        key_range(&mut f, ph, "c.name_key", &fold_key(name));
    }
    other_criteria(&mut f, q, scope, ph, Branch::Away);
    let away = std::mem::take(&mut f.sql);
    let count =
        format!("SELECT (SELECT count(*) FROM citizens c{own}) + (SELECT count(*) FROM citizens c{away})");
    let reach = u64::from(page_limit(q.limit)).saturating_add(q.offset).min(i64::MAX as u64);
    let branch = |w: &str| {
        format!(
            "SELECT pid, k FROM (SELECT c.personal_id AS pid, c.name_key AS k FROM citizens c{w} \
             ORDER BY c.name_key, c.personal_id LIMIT {reach}) b"
        )
    };
    let (limit, tail) = limit_offset(&mut f, ph, q.limit, q.offset);
    let page = format!(
        "SELECT {COLUMNS} FROM (SELECT pid, k FROM ({} UNION ALL {}) u ORDER BY k, pid{tail}) h \
         JOIN citizens c ON c.personal_id = h.pid ORDER BY h.k, h.pid",
        branch(&own),
        branch(&away)
    );
    plans.push((count, page, f, limit));
    plans
}

pub(crate) fn summary_from_row(r: &impl RowGet) -> Result<CitizenSummary> {
    Ok(CitizenSummary {
        personal_id: parse_pid(&r.text(0)?)?,
        full_name: r.text(1)?,
        birth_date: parse_date(&r.text(2)?)?,
        sex: parse_sex(&r.text(3)?)?,
        status: parse_status(&r.text(4)?)?,
        scope_commune: r.text(5)?,
        household_no: r.opt_text(6)?,
    })
}

// ---------------------------------------------------------------------------------------
// personal ID allocation

/// The 6-digit prefix of IDs for a province, sex and birth year, checking the inputs.
pub(crate) fn id_prefix(province: &str, sex: Sex, year: i32) -> Result<String> {
    let id = PersonalId::compose(province, sex, year, 0).map_err(|v| StoreError::Invalid(vec![v]))?;
    Ok(id.as_str()[..6].to_string())
}

/// The `counter`-th number of the prefix.
pub(crate) fn id_candidate(province: &str, sex: Sex, year: i32, counter: i64) -> Result<PersonalId> {
    if !(0..1_000_000).contains(&counter) {
        return Err(StoreError::Conflict(Violation::new(
            "birth_year",
            "id.exhausted",
            "Đã hết số định danh cho tỉnh, giới tính và năm sinh này",
            "no personal ID numbers are left for this province, sex and birth year",
        )));
    }
    PersonalId::compose(province, sex, year, dancu_domain::personal_id::serial_for(counter as u64))
        .map_err(|v| StoreError::Invalid(vec![v]))
}

/// Keeps the version of a record an update replaces. Parameters: personal ID, version,
/// data (JSON), at, by, reason.
pub(crate) const CITIZEN_HISTORY_INSERT: &str =
    "INSERT INTO citizen_history (personal_id, version, data, changed_at, changed_by, reason) \
     VALUES ($1, $2, $3, $4, $5, $6)";

pub(crate) const COUNT_CITIZENS: &str = "SELECT count(*) FROM citizens";

/// Takes the next counter of an ID prefix (parameter), starting at 0.
pub(crate) const ID_NEXT_COUNTER: &str = "INSERT INTO id_allocations (prefix, next_counter) VALUES ($1, 1) \
     ON CONFLICT (prefix) DO UPDATE SET next_counter = id_allocations.next_counter + 1 \
     RETURNING next_counter - 1";

/// Whether a personal ID is in use.
/// Reserves the next `$2` counters of an ID prefix (`$1`) at once; returns the first.
pub(crate) const ID_RESERVE_BLOCK: &str =
    "INSERT INTO id_allocations (prefix, next_counter) VALUES ($1, $2) \
     ON CONFLICT (prefix) DO UPDATE SET next_counter = id_allocations.next_counter + $2 \
     RETURNING next_counter - $2";

pub(crate) const ID_TAKEN: &str = "SELECT 1 FROM citizens WHERE personal_id = $1";
