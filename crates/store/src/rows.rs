//! What both backends share: the column layout of a citizen and its mapping to and from
//! the model, search filters, the import rules, violations, the audit chain, timestamps.
//! Only SQL that really differs between SQLite and PostgreSQL lives in the backends.

use std::fmt::Display;
use std::sync::LazyLock;

use chrono::{DateTime, SecondsFormat, Utc};
use dancu_domain::household::Member;
use dancu_domain::{
    fold_key, Address, Citizen, CmndNumber, Household, LifeStatus, NameParts, PartialDate, PersonalId,
    Relation, Sex, UnitRef, Violation,
};
use serde::de::DeserializeOwned;

use crate::model::*;
use crate::{Result, StoreError};

// ---------------------------------------------------------------------------------------
// values and placeholders

/// A value bound to a statement parameter; each backend converts it to its own type.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Text(String),
    OptText(Option<String>),
    /// SQL NULL of any column type.
    Null,
    Int(i64),
    /// SQLite stores it as RFC 3339 text ([`ts_text`]), PostgreSQL as `timestamptz`.
    Ts(Timestamp),
}

/// How a backend numbers statement parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ph {
    /// PostgreSQL: `$1`.
    Dollar,
    /// SQLite: `?1`.
    Question,
}

impl Ph {
    pub(crate) fn at(self, n: usize) -> String {
        match self {
            Ph::Dollar => format!("${n}"),
            Ph::Question => format!("?{n}"),
        }
    }

    /// Rewrites a statement written with `$n` parameters for this backend. Shared SQL is
    /// written with `$n` and contains no other `$`.
    pub(crate) fn sql(self, s: &str) -> String {
        match self {
            Ph::Dollar => s.to_string(),
            Ph::Question => s.replace('$', "?"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// timestamps

/// The current time truncated to microseconds, the precision both databases keep.
pub(crate) fn now() -> Timestamp {
    crate::registry::now()
}

/// SQLite form of a timestamp: RFC 3339, microseconds, `Z` (fixed width, sorts as time).
pub(crate) fn ts_text(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts_text(s: &str) -> Result<Timestamp> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| corrupt("timestamp", e))
}

// ---------------------------------------------------------------------------------------
// reading rows

/// Typed access to a result row, implemented for both backends' row types.
pub(crate) trait RowGet {
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
    fn ts(&self, i: usize) -> Result<Timestamp>;
    fn flag(&self, i: usize) -> Result<bool>;
    fn json<T: DeserializeOwned>(&self, i: usize) -> Result<T>;
}

pub(crate) fn corrupt(what: &str, e: impl Display) -> StoreError {
    StoreError::Backend(format!("stored {what} is invalid: {e}"))
}

pub(crate) fn parse_pid(s: &str) -> Result<PersonalId> {
    PersonalId::parse_until(s, 9999).map_err(|v| corrupt("personal ID", v))
}

fn parse_unit(s: &str) -> Result<UnitRef> {
    s.parse().map_err(|v: Violation| corrupt("unit", v))
}

fn parse_date(s: &str) -> Result<PartialDate> {
    s.parse().map_err(|v: Violation| corrupt("date", v))
}

fn parse_sex(s: &str) -> Result<Sex> {
    match s {
        "M" => Ok(Sex::Male),
        "F" => Ok(Sex::Female),
        _ => Err(corrupt("sex", s)),
    }
}

fn parse_status(s: &str) -> Result<LifeStatus> {
    LifeStatus::parse(s).map_err(|v| corrupt("status", v))
}

pub(crate) fn parse_relation(s: &str) -> Result<Relation> {
    Relation::parse(s).map_err(|v| corrupt("relation", v))
}

// ---------------------------------------------------------------------------------------
// citizens

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

/// A record just created, as it will read back.
pub(crate) fn new_stored(c: &Citizen, cols: &CitizenCols, change: &Change) -> StoredCitizen {
    StoredCitizen {
        citizen: c.clone(),
        version: 1,
        scope_province: cols.scope_province().to_string(),
        scope_commune: cols.scope_commune().to_string(),
        household_no: None,
        relation: None,
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

/// `SELECT` list for [`stored_from_row`].
pub(crate) static STORED_CITIZEN_SELECT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM citizens c", all_citizen_columns().join(", ")));

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

// ---------------------------------------------------------------------------------------
// search

/// A `WHERE` clause with its parameters, numbered from 1.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub sql: String,
    pub params: Vec<Val>,
}

impl Filter {
    fn and(&mut self, ph: Ph, cond: &str, v: Val) {
        self.params.push(v);
        self.sql.push_str(if self.sql.is_empty() { " WHERE " } else { " AND " });
        self.sql.push_str(&cond.replace('#', &ph.at(self.params.len())));
    }

    /// The next parameter placeholder (for `LIMIT`/`OFFSET`), registering its value.
    pub(crate) fn param(&mut self, ph: Ph, v: Val) -> String {
        self.params.push(v);
        ph.at(self.params.len())
    }
}

/// The smallest string greater than every string starting with `p`, if there is one.
pub(crate) fn prefix_upper(p: &str) -> Option<String> {
    let mut chars: Vec<char> = p.chars().collect();
    while let Some(c) = chars.pop() {
        let mut n = c as u32 + 1;
        if n == 0xD800 {
            n = 0xE000;
        }
        if let Some(next) = char::from_u32(n) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Page size: 50 when not given, at most 1000.
pub(crate) fn page_limit(limit: u32) -> u32 {
    match limit {
        0 => 50,
        l => l.min(1000),
    }
}

/// Criteria and scope as a filter on `citizens c`.
pub(crate) fn citizen_filter(q: &CitizenQuery, scope: &Scope, ph: Ph) -> Filter {
    let mut f = Filter::default();
    if let Some(id) = &q.personal_id {
        f.and(ph, "c.personal_id = #", Val::Text(id.to_string()));
    }
    if let Some(name) = &q.name_key {
        let key = fold_key(name);
        if !key.is_empty() {
            if let Some(upper) = prefix_upper(&key) {
                f.and(ph, "c.name_key < #", Val::Text(upper));
            }
            f.and(ph, "c.name_key >= #", Val::Text(key));
        }
    }
    if let Some(y) = q.birth_year {
        f.and(ph, "c.birth_year = #", Val::Int(y as i64));
    }
    if let Some(d) = &q.birth_date {
        f.and(ph, "c.birth_date = #", Val::Text(d.to_string()));
    }
    if let Some(c) = &q.commune {
        commune(&mut f, ph, c);
    }
    if let Some(h) = &q.household_no {
        f.and(ph, "c.household_no = #", Val::Text(h.clone()));
    }
    match scope {
        Scope::Nation => {}
        Scope::Province(p) => f.and(ph, "c.scope_province = #", Val::Text(p.clone())),
        Scope::Commune(c) => commune(&mut f, ph, c),
    }
    f
}

/// A commune condition, with the commune's province too so that the search index on
/// (province, commune, name) gives results in order.
fn commune(f: &mut Filter, ph: Ph, code: &str) {
    if let Some(c) = dancu_domain::admin_units().commune_2025(code) {
        f.and(ph, "c.scope_province = #", Val::Text(c.province_code.clone()));
    }
    f.and(ph, "c.scope_commune = #", Val::Text(code.to_string()));
}

/// The count and page statements of a citizen search, sharing the parameters in
/// `Filter::params` (the page statement uses two more, limit and offset).
pub(crate) fn search_sql(q: &CitizenQuery, scope: &Scope, ph: Ph) -> (String, String, Filter, u32) {
    let mut f = citizen_filter(q, scope, ph);
    let count = format!("SELECT count(*) FROM citizens c{}", f.sql);
    let limit = page_limit(q.limit);
    let lp = f.param(ph, Val::Int(limit as i64));
    let op = f.param(ph, Val::Int(q.offset.min(i64::MAX as u64) as i64));
    let page = format!(
        "SELECT c.personal_id, c.full_name, c.birth_date, c.sex, c.status, c.scope_commune, c.household_no \
         FROM citizens c{} ORDER BY c.name_key, c.personal_id LIMIT {lp} OFFSET {op}",
        f.sql
    );
    (count, page, f, limit)
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

/// Audit filter: count and page statements (newest first).
pub(crate) fn audit_sql(af: &AuditFilter, ph: Ph) -> (String, String, Filter, u32) {
    let mut f = Filter::default();
    if let Some(s) = &af.subject {
        // The subject, or any of the extra ones (bulk accesses covering it).
        let conds: Vec<String> = std::iter::once(s)
            .chain(&af.also_subjects)
            .map(|s| {
                audit_key_cond("audit_by_subject", "subject").replace('#', &f.param(ph, Val::Text(s.clone())))
            })
            .collect();
        f.sql.push_str(if f.sql.is_empty() { " WHERE " } else { " AND " });
        f.sql.push_str(&format!("({})", conds.join(" OR ")));
    }
    if let Some(a) = &af.actor {
        f.and(ph, &audit_key_cond("audit_by_actor", "actor"), Val::Text(a.clone()));
    }
    let count = format!("SELECT count(*) FROM audit_log{}", f.sql);
    let limit = page_limit(af.limit);
    let lp = f.param(ph, Val::Int(limit as i64));
    let op = f.param(ph, Val::Int(af.offset.min(i64::MAX as u64) as i64));
    let page = format!("{AUDIT_SELECT}{} ORDER BY seq DESC LIMIT {lp} OFFSET {op}", f.sql);
    (count, page, f, limit)
}

/// Parameters of the count statement: all but the last two (limit, offset).
pub(crate) fn count_params(f: &Filter) -> &[Val] {
    &f.params[..f.params.len() - 2]
}

// ---------------------------------------------------------------------------------------
// households

pub(crate) const HOUSEHOLD_SQL: &str =
    "SELECT number, version, updated_at, updated_by FROM households WHERE number = $1";

pub(crate) const HOUSEHOLD_MEMBERS_SQL: &str =
    "SELECT personal_id, full_name, birth_date, sex, relation, scope_province, scope_commune \
     FROM citizens WHERE household_no = $1 ORDER BY relation <> 'head', birth_date, personal_id";

/// Whether a would-be member exists and which household holds them: no row means no such
/// citizen; a row with NULL means free.
pub(crate) const MEMBER_CHECK_SQL: &str = "SELECT household_no FROM citizens WHERE personal_id = $1";

/// Makes a citizen a member of a household.
pub(crate) const SET_MEMBER_SQL: &str =
    "UPDATE citizens SET household_no = $2, relation = $3 WHERE personal_id = $1";

/// Empties a household.
pub(crate) const CLEAR_MEMBERS_SQL: &str =
    "UPDATE citizens SET household_no = NULL, relation = NULL WHERE household_no = $1";

pub(crate) const HOUSEHOLD_HISTORY_SQL: &str =
    "SELECT version, members, changed_at, changed_by, reason FROM household_history \
     WHERE number = $1 ORDER BY version DESC";

pub(crate) const CURRENT_MEMBERS_SQL: &str =
    "SELECT personal_id, relation FROM citizens WHERE household_no = $1 ORDER BY relation <> 'head', personal_id";

pub(crate) type MemberRow = HouseholdMemberView;

pub(crate) fn member_from_row(r: &impl RowGet) -> Result<MemberRow> {
    Ok(HouseholdMemberView {
        personal_id: parse_pid(&r.text(0)?)?,
        full_name: r.text(1)?,
        birth_date: parse_date(&r.text(2)?)?,
        sex: parse_sex(&r.text(3)?)?,
        relation: parse_relation(&r.text(4)?)?,
        scope_province: r.text(5)?,
        scope_commune: r.text(6)?,
    })
}

pub(crate) fn member_pair_from_row(r: &impl RowGet) -> Result<Member> {
    Ok(Member { personal_id: parse_pid(&r.text(0)?)?, relation: parse_relation(&r.text(1)?)? })
}

pub(crate) fn household_history_from_row(r: &impl RowGet) -> Result<HouseholdVersion> {
    Ok(HouseholdVersion {
        version: r.int(0)?,
        members: r.json(1)?,
        changed_at: r.ts(2)?,
        changed_by: r.text(3)?,
        reason: r.text(4)?,
    })
}

/// Assembles a household from its row (`HOUSEHOLD_SQL`) and members; its scope is the
/// head's.
pub(crate) fn household_view(h: &impl RowGet, members: Vec<MemberRow>) -> Result<Option<HouseholdView>> {
    let number = h.text(0)?;
    if members.is_empty() {
        // Only an import whose rows for a new household were all refused leaves one.
        return Ok(None);
    }
    let head = members
        .iter()
        .find(|m| m.relation == Relation::Head)
        .ok_or_else(|| StoreError::Backend(format!("household {number} has no head")))?;
    Ok(Some(HouseholdView {
        head: head.personal_id,
        scope_province: head.scope_province.clone(),
        scope_commune: head.scope_commune.clone(),
        number,
        members,
        members_outside_scope: 0,
        version: h.int(1)?,
        updated_at: h.ts(2)?,
        updated_by: h.text(3)?,
    }))
}

/// Indexes a bulk import may drop ([`Store::begin_import`](crate::Store::begin_import)) and
/// rebuild ([`Store::finish_import`](crate::Store::finish_import)); the same SQL serves both
/// backends. Names and definitions match the first migration of each backend.
pub(crate) const DEFERRABLE_INDEXES: [(&str, &str); 3] = [
    ("citizens_name", "CREATE INDEX IF NOT EXISTS citizens_name ON citizens (name_key, personal_id)"),
    (
        "citizens_scope_name",
        "CREATE INDEX IF NOT EXISTS citizens_scope_name ON citizens \
         (scope_province, scope_commune, name_key, personal_id)",
    ),
    (
        "citizens_household",
        "CREATE INDEX IF NOT EXISTS citizens_household ON citizens (household_no) WHERE household_no IS NOT NULL",
    ),
];

/// Whether a bulk import of `expected` rows into a table of `stored` rows should drop the
/// deferrable indexes: rebuilding costs about as much as the rows stored, maintaining them
/// row by row many times the rows imported.
pub(crate) fn should_defer_indexes(expected: u64, stored: u64) -> bool {
    expected >= 100_000 && expected >= stored / 2
}

/// The domain rules of a household about to be written: a second head is the conflict the
/// database also refuses; any other broken rule is invalid input.
pub(crate) fn check_household(h: &Household) -> Result<()> {
    match h.validate() {
        Ok(()) => Ok(()),
        Err(v) if v.rule == "household.head_count" && h.head().is_some() => Err(StoreError::Conflict(v)),
        Err(v) => Err(StoreError::Invalid(vec![v])),
    }
}

/// Decides from a [`MEMBER_CHECK_SQL`] result whether `id` may join household `number`.
pub(crate) fn check_member(id: &PersonalId, number: &str, found: Option<Option<String>>) -> Result<()> {
    match found {
        None => Err(StoreError::Invalid(vec![member_unknown(id)])),
        Some(Some(other)) if other != number => Err(StoreError::Conflict(member_taken(id, &other))),
        Some(_) => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------
// violations

pub(crate) fn duplicate_id(id: &str) -> Violation {
    Violation::new(
        "personal_id",
        "citizen.duplicate_id",
        format!("Số định danh {id} đã có trong cơ sở dữ liệu"),
        format!("personal ID {id} is already registered"),
    )
}

pub(crate) fn head_taken(number: &str) -> Violation {
    Violation::new(
        "members",
        "household.head_count",
        format!("Hộ {number} đã có chủ hộ"),
        format!("household {number} already has a head"),
    )
}

/// A row the database refused for a reason the validation of the record does not know.
pub(crate) fn row_refused() -> Violation {
    Violation::new(
        "personal_id",
        "import.refused",
        "Cơ sở dữ liệu từ chối dòng này",
        "the database refused this row",
    )
}

pub(crate) fn member_taken(id: &PersonalId, other: &str) -> Violation {
    Violation::new(
        "members",
        "household.member_taken",
        format!("Công dân {id} đã thuộc hộ {other}"),
        format!("citizen {id} already belongs to household {other}"),
    )
}

pub(crate) fn member_unknown(id: &PersonalId) -> Violation {
    Violation::new(
        "members",
        "household.member_unknown",
        format!("Không tìm thấy công dân {id}"),
        format!("citizen {id} not found"),
    )
}

pub(crate) fn household_exists(number: &str) -> Violation {
    Violation::new(
        "household_no",
        "household.duplicate_number",
        format!("Mã hộ {number} đã tồn tại"),
        format!("household number {number} already exists"),
    )
}

pub(crate) fn duplicate_username(u: &str) -> Violation {
    Violation::new(
        "username",
        "officer.duplicate_username",
        format!("Tên đăng nhập {u} đã được dùng"),
        format!("username {u} is taken"),
    )
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

// ---------------------------------------------------------------------------------------
// officers and sessions

pub(crate) const OFFICER_SELECT: &str =
    "SELECT id, username, display_name, role, scope, password_hash, active, created_at FROM officers";

pub(crate) fn officer_from_row(r: &impl RowGet) -> Result<Officer> {
    Ok(Officer {
        id: r.int(0)?,
        username: r.text(1)?,
        display_name: r.text(2)?,
        role: Role::parse(&r.text(3)?).ok_or_else(|| corrupt("role", "unknown"))?,
        scope: r.text(4)?.parse().map_err(|v: Violation| corrupt("scope", v))?,
        password_hash: r.text(5)?,
        active: r.flag(6)?,
        created_at: r.ts(7)?,
    })
}

pub(crate) const SESSION_SELECT: &str =
    "SELECT token_hash, officer_id, csrf_token, created_at, expires_at FROM sessions";

pub(crate) fn session_from_row(r: &impl RowGet) -> Result<Session> {
    Ok(Session {
        token_hash: r.text(0)?,
        officer_id: r.int(1)?,
        csrf_token: r.text(2)?,
        created_at: r.ts(3)?,
        expires_at: r.ts(4)?,
    })
}

// ---------------------------------------------------------------------------------------
// audit

/// The entries whose `column` is the filter value (`#`): those the side table `table`
/// holds, and those in the tail of the log it has not caught up with yet.
/// The side table is probed once per epoch (its keys lead with the epoch).
fn audit_key_cond(table: &str, column: &str) -> String {
    format!(
        "seq IN (WITH RECURSIVE epochs (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM epochs \
         WHERE n < ({AUDIT_INDEXED_UPTO}) / {AUDIT_EPOCH}) \
         SELECT t.seq FROM epochs JOIN {table} t ON t.epoch = epochs.n AND t.{column} = # UNION ALL \
         SELECT seq FROM audit_log WHERE seq > ({AUDIT_INDEXED_UPTO}) AND {column} = #)"
    )
}

/// Entries per epoch of the side tables' keys `(epoch, subject or actor, seq)`, with
/// `epoch = seq / AUDIT_EPOCH`: new entries go into the current epoch's small part of each
/// table, which stays cached, instead of all over it. The catch-up SQL below and migration
/// 0007 write the number out.
pub(crate) const AUDIT_EPOCH: i64 = 65_536;

/// How far the side tables `audit_by_subject` and `audit_by_actor` may lag behind the log
/// (entries) before an append brings them up to date, in one sorted insert each. Sorted
/// batches into the current epoch touch a few cached pages instead of one page per entry;
/// a filtered listing scans at most this many tail entries (plus one append batch).
pub(crate) const AUDIT_INDEX_LAG: i64 = 2048;

/// The same lag for PostgreSQL, whose catch-up runs beside the appends (see
/// `PgStore::spawn_audit_catch_up`): smaller, more frequent catch-ups compete less with the
/// look-ups running meanwhile (with a single-pass catch-up, look-up p99 10.4 and 10.7 ms
/// against 16.3 and 14.0 ms at 2,048 in two A/B pairs, BENCHMARKS.md).
pub(crate) const AUDIT_INDEX_LAG_BACKGROUND: i64 = 256;

/// The last entry both side tables hold.
pub(crate) const AUDIT_INDEXED_UPTO: &str = "SELECT upto FROM audit_indexed WHERE id = 1";

/// Brings the side tables up to date with the log (entries after `$1`), up to `$2`.
pub(crate) const AUDIT_CATCHUP: [&str; 2] = [
    "INSERT INTO audit_by_subject (epoch, subject, seq) \
     SELECT seq / 65536, subject, seq FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY 1, 2, 3",
    "INSERT INTO audit_by_actor (epoch, actor, seq) \
     SELECT seq / 65536, actor, seq FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY 1, 2, 3",
];

/// Records that the side tables hold every entry up to `$1`.
pub(crate) const AUDIT_INDEXED_SET: &str = "UPDATE audit_indexed SET upto = $1 WHERE id = 1";

/// The first entry of the keyed chain (migration 0008).
pub(crate) const AUDIT_KEYED_FROM: &str = "SELECT keyed_from FROM audit_chain WHERE id = 1";

pub(crate) const AUDIT_SELECT: &str =
    "SELECT seq, at, actor, action, subject, purpose, outcome, prev_hash, hash FROM audit_log";

pub(crate) fn audit_from_row(r: &impl RowGet) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.int(0)?,
        entry: NewAuditEntry {
            at: r.ts(1)?,
            actor: r.text(2)?,
            action: r.text(3)?,
            subject: r.text(4)?,
            purpose: r.text(5)?,
            outcome: r.text(6)?,
        },
        prev_hash: r.text(7)?,
        hash: r.text(8)?,
    })
}

// ---------------------------------------------------------------------------------------
// ID card applications and cards

/// Who issues cards (printed on the card).
pub(crate) const CARD_AUTHORITY: &str = "Cục Cảnh sát quản lý hành chính về trật tự xã hội";

pub(crate) const CARD_APP_SELECT: &str =
    "SELECT id, personal_id, kind, stage, biometrics_captured, handover_method, stage_reason, reason, \
     scope_province, scope_commune, unit, created_at, created_by, updated_at, updated_by, version \
     FROM card_applications";

/// `INSERT` of a new application (at intake, version 1), returning its id. Parameters:
/// personal ID, kind, biometrics flag, reason, province, commune, unit, at, by.
pub(crate) const CARD_APP_INSERT: &str =
    "INSERT INTO card_applications (personal_id, kind, stage, biometrics_captured, handover_method, \
     stage_reason, reason, scope_province, scope_commune, unit, created_at, created_by, updated_at, \
     updated_by, version) VALUES ($1, $2, 'intake', $3, NULL, '', $4, $5, $6, $7, $8, $9, $8, $9, 1) \
     RETURNING id";

/// Parameters: id, stage, biometrics flag, handover method, stage reason, at, by, version.
pub(crate) const CARD_APP_UPDATE: &str =
    "UPDATE card_applications SET stage = $2, biometrics_captured = $3, handover_method = $4, \
     stage_reason = $5, updated_at = $6, updated_by = $7, version = $8 WHERE id = $1";

/// Parameters: application id, seq, from, to, reason, at, actor.
pub(crate) const CARD_EVENT_INSERT: &str =
    "INSERT INTO card_application_events (application_id, seq, from_stage, to_stage, reason, at, actor) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(crate) const CARD_EVENTS_SQL: &str =
    "SELECT seq, from_stage, to_stage, reason, at, actor FROM card_application_events \
     WHERE application_id = $1 ORDER BY seq";

pub(crate) const CITIZEN_SCOPE_SQL: &str =
    "SELECT scope_province, scope_commune, birth_date FROM citizens WHERE personal_id = $1";

/// Marks the person's valid cards as replaced. Parameter: personal ID.
pub(crate) const CARD_REVOKE_SQL: &str =
    "UPDATE cards SET status = 'revoked' WHERE personal_id = $1 AND status = 'valid'";

/// Marks the valid cards of several people as replaced. Parameter: array of personal IDs
/// (PostgreSQL).
pub(crate) const CARD_REVOKE_MANY_SQL: &str =
    "UPDATE cards SET status = 'revoked' WHERE personal_id = ANY($1) AND status = 'valid'";

/// Parameters: personal ID, number, issue date, expiry, authority, status, application id,
/// renewal due from, province, commune (the holder's residence scope at issue).
pub(crate) const CARD_INSERT: &str =
    "INSERT INTO cards (personal_id, number, issue_date, expiry, issuing_authority, status, application_id, \
     renewal_due_from, scope_province, scope_commune) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// `INSERT` of the completed application an imported card is recorded under (handed over
/// in person, version 1), returning its id. Parameters: personal ID, reason, province,
/// commune, unit, at, by.
pub(crate) const CARD_APP_IMPORT: &str =
    "INSERT INTO card_applications (personal_id, kind, stage, biometrics_captured, handover_method, \
     stage_reason, reason, scope_province, scope_commune, unit, created_at, created_by, updated_at, \
     updated_by, version) VALUES ($1, 'first_issue', 'handed_over', TRUE, 'in_person', '', $2, $3, $4, $5, \
     $6, $7, $6, $7, 1) RETURNING id";

/// The card an import records: issued on `issue_date`, expiry by 25/40/60, and its
/// `renewal_due_from`.
pub(crate) fn imported_card(
    c: &ImportCard,
    birth_date: &str,
    application_id: i64,
) -> Result<(StoredCard, Option<String>)> {
    let birth = parse_date(birth_date)?;
    let card = dancu_identity::Card::issue(c.personal_id, &birth, c.issue_date, CARD_AUTHORITY)
        .map_err(|v| StoreError::Invalid(vec![v]))?;
    let due = card_renewal_due_from(birth_date, c.issue_date)?;
    let stored = StoredCard {
        number: card.number,
        issue_date: card.issue_date,
        expiry: card.expiry,
        issuing_authority: card.issuing_authority,
        status: dancu_identity::CardStatus::Valid,
        application_id,
    };
    Ok((stored, due))
}

/// The registry's standing notice window: a card's `renewal_due_from` is this many days
/// before its expiry (`dancu_identity::card::renewal_due_from`).
pub const RENEWAL_NOTICE_DAYS: u32 = 30;

/// Longest look-ahead the due-for-renewal list accepts (ten years).
pub const MAX_DUE_WITHIN_DAYS: u32 = 3650;

/// The stored `renewal_due_from` of a card: `None` for a card valid for life.
pub(crate) fn card_renewal_due_from(
    birth_date: &str,
    issue_date: chrono::NaiveDate,
) -> Result<Option<String>> {
    let birth = parse_date(birth_date)?;
    Ok(dancu_identity::card::renewal_due_from(&birth, issue_date, RENEWAL_NOTICE_DAYS).map(|d| d.to_string()))
}

pub(crate) const CARDS_SQL: &str =
    "SELECT number, issue_date, expiry, issuing_authority, status, application_id FROM cards \
     WHERE personal_id = $1 ORDER BY issue_date DESC, application_id DESC";

fn kind_of(s: &str) -> Result<dancu_identity::StageKind> {
    dancu_identity::StageKind::from_code(s).ok_or_else(|| corrupt("stage", s))
}

fn parse_day(s: &str) -> Result<chrono::NaiveDate> {
    s.parse().map_err(|e| corrupt("date", e))
}

/// The stored columns of a stage: code, biometrics flag, handover method, side reason.
pub(crate) fn stage_cols(s: &dancu_identity::Stage) -> (&'static str, bool, Option<&'static str>, String) {
    use dancu_identity::Stage;
    let bio = matches!(s, Stage::Intake { biometrics_captured: true });
    let method = match s {
        Stage::HandedOver { method } => Some(method.code()),
        _ => None,
    };
    (s.kind().code(), bio, method, s.reason().unwrap_or_default().to_string())
}

fn stage_from_cols(
    code: &str,
    bio: bool,
    method: Option<&str>,
    reason: String,
) -> Result<dancu_identity::Stage> {
    use dancu_identity::{HandoverMethod, Stage, StageKind};
    Ok(match kind_of(code)? {
        StageKind::Intake => Stage::Intake { biometrics_captured: bio },
        StageKind::SentToProduction => Stage::SentToProduction,
        StageKind::CardReceived => Stage::CardReceived,
        StageKind::HandedOver => Stage::HandedOver {
            method: match method {
                Some("post") => HandoverMethod::Post,
                _ => HandoverMethod::InPerson,
            },
        },
        StageKind::Rejected => Stage::Rejected { reason },
        StageKind::Error => Stage::Error { reason },
        StageKind::Cancelled => Stage::Cancelled { reason },
    })
}

pub(crate) fn card_app_from_row(r: &impl RowGet) -> Result<CardApplication> {
    Ok(CardApplication {
        id: r.int(0)?,
        personal_id: parse_pid(&r.text(1)?)?,
        kind: dancu_identity::ApplicationKind::from_code(&r.text(2)?).map_err(|v| corrupt("kind", v))?,
        stage: stage_from_cols(&r.text(3)?, r.flag(4)?, r.opt_text(5)?.as_deref(), r.text(6)?)?,
        intake_reason: r.text(7)?,
        scope_province: r.text(8)?,
        scope_commune: r.text(9)?,
        unit: r.text(10)?,
        created_at: r.ts(11)?,
        created_by: r.text(12)?,
        updated_at: r.ts(13)?,
        updated_by: r.text(14)?,
        version: r.int(15)?,
    })
}

pub(crate) fn card_event_from_row(r: &impl RowGet) -> Result<CardEvent> {
    Ok(CardEvent {
        seq: r.int(0)?,
        from_stage: kind_of(&r.text(1)?)?,
        to_stage: kind_of(&r.text(2)?)?,
        reason: r.text(3)?,
        at: r.ts(4)?,
        by: r.text(5)?,
    })
}

pub(crate) fn card_from_row(r: &impl RowGet) -> Result<StoredCard> {
    let status = match r.text(4)?.as_str() {
        "valid" => dancu_identity::CardStatus::Valid,
        "revoked" => dancu_identity::CardStatus::Revoked,
        "lost" => dancu_identity::CardStatus::Lost,
        s => return Err(corrupt("card status", s)),
    };
    Ok(StoredCard {
        number: parse_pid(&r.text(0)?)?,
        issue_date: parse_day(&r.text(1)?)?,
        expiry: r.opt_text(2)?.map(|s| parse_day(&s)).transpose()?,
        issuing_authority: r.text(3)?,
        status,
        application_id: r.int(5)?,
    })
}

/// Checks a move of `cur` with the identity rules and the expected version; the
/// application as it will be after the move, and the event recording it (its `seq` is the
/// version it leaves).
pub(crate) fn plan_card_transition(
    cur: &CardApplication,
    to: &dancu_identity::Stage,
    reason: Option<&str>,
    expected_version: i64,
    change: &Change,
) -> Result<(CardApplication, CardEvent)> {
    check_version(expected_version, cur.version)?;
    dancu_identity::transition(&cur.stage, to, reason).map_err(|v| StoreError::Invalid(vec![v]))?;
    let event = CardEvent {
        seq: cur.version,
        from_stage: cur.stage.kind(),
        to_stage: to.kind(),
        reason: to.reason().or(reason).map(str::trim).unwrap_or_default().to_string(),
        at: change.at,
        by: change.actor.clone(),
    };
    let next = CardApplication {
        stage: to.clone(),
        updated_at: change.at,
        updated_by: change.actor.clone(),
        version: cur.version + 1,
        ..cur.clone()
    };
    Ok((next, event))
}

/// The card a hand-over issues: dated the Vietnam day of the change, expiry by 25/40/60.
pub(crate) fn issue_card(app: &CardApplication, birth_date: &str, change: &Change) -> Result<StoredCard> {
    let birth = parse_date(birth_date)?;
    let day = dancu_domain::date::vietnam_today(change.at);
    let card = dancu_identity::Card::issue(app.personal_id, &birth, day, CARD_AUTHORITY)
        .map_err(|v| StoreError::Invalid(vec![v]))?;
    Ok(StoredCard {
        number: card.number,
        issue_date: card.issue_date,
        expiry: card.expiry,
        issuing_authority: card.issuing_authority,
        status: dancu_identity::CardStatus::Valid,
        application_id: app.id,
    })
}

/// Scope (and optionally stage) as a filter on `card_applications`.
pub(crate) fn card_filter(scope: &Scope, stage: Option<dancu_identity::StageKind>, ph: Ph) -> Filter {
    let mut f = Filter::default();
    match scope {
        Scope::Nation => {}
        Scope::Province(p) => f.and(ph, "scope_province = #", Val::Text(p.clone())),
        Scope::Commune(c) => f.and(ph, "scope_commune = #", Val::Text(c.clone())),
    }
    if let Some(s) = stage {
        f.and(ph, "stage = #", Val::Text(s.code().to_string()));
    }
    f
}

/// Board statement: counts per stage code in the scope.
pub(crate) fn card_board_sql(scope: &Scope, ph: Ph) -> (String, Filter) {
    let f = card_filter(scope, None, ph);
    (format!("SELECT stage, count(*) FROM card_applications{} GROUP BY stage", f.sql), f)
}

/// Every stage with its count (zero when absent).
pub(crate) fn board_from(counts: Vec<(String, i64)>) -> Result<Vec<StageCount>> {
    let mut out: Vec<StageCount> =
        dancu_identity::StageKind::ALL.iter().map(|&stage| StageCount { stage, count: 0 }).collect();
    for (code, n) in counts {
        let k = kind_of(&code)?;
        if let Some(c) = out.iter_mut().find(|c| c.stage == k) {
            c.count = n as u64;
        }
    }
    Ok(out)
}

/// Count and page statements of an application list (oldest change first: what waits
/// longest comes first).
pub(crate) fn card_list_sql(
    scope: &Scope,
    stage: Option<dancu_identity::StageKind>,
    limit: u32,
    offset: u64,
    ph: Ph,
) -> (String, String, Filter, u32) {
    let mut f = card_filter(scope, stage, ph);
    let count = format!("SELECT count(*) FROM card_applications{}", f.sql);
    let limit = page_limit(limit);
    let lp = f.param(ph, Val::Int(limit as i64));
    let op = f.param(ph, Val::Int(offset.min(i64::MAX as u64) as i64));
    let page = format!("{CARD_APP_SELECT}{} ORDER BY updated_at, id LIMIT {lp} OFFSET {op}", f.sql);
    (count, page, f, limit)
}

/// Count and page statements of the due-for-renewal list on day `on` looking `within_days`
/// ahead: valid cards whose `renewal_due_from` is on or before `on + within_days` and whose
/// expiry is on or after `on` (a card is valid through its expiry day). Because
/// `renewal_due_from = expiry - RENEWAL_NOTICE_DAYS`, the second bound is
/// `renewal_due_from >= on - RENEWAL_NOTICE_DAYS`, so both bounds are one range of the
/// partial index `(scope, renewal_due_from) WHERE status = 'valid'`. Soonest first.
pub(crate) fn card_due_sql(
    scope: &Scope,
    on: chrono::NaiveDate,
    within_days: u32,
    limit: u32,
    offset: u64,
    ph: Ph,
) -> (String, String, Filter, u32) {
    let mut f = Filter::default();
    match scope {
        Scope::Nation => {}
        Scope::Province(p) => f.and(ph, "k.scope_province = #", Val::Text(p.clone())),
        Scope::Commune(c) => f.and(ph, "k.scope_commune = #", Val::Text(c.clone())),
    }
    // A literal, not a parameter: the partial indexes only match `status = 'valid'` as written.
    f.sql.push_str(if f.sql.is_empty() { " WHERE k.status = 'valid'" } else { " AND k.status = 'valid'" });
    let lo = on - chrono::Duration::days(i64::from(RENEWAL_NOTICE_DAYS));
    let hi = on + chrono::Duration::days(i64::from(within_days.min(MAX_DUE_WITHIN_DAYS)));
    f.and(ph, "k.renewal_due_from >= #", Val::Text(lo.to_string()));
    f.and(ph, "k.renewal_due_from <= #", Val::Text(hi.to_string()));
    let count = format!("SELECT count(*) FROM cards k{}", f.sql);
    let limit = page_limit(limit);
    let lp = f.param(ph, Val::Int(limit as i64));
    let op = f.param(ph, Val::Int(offset.min(i64::MAX as u64) as i64));
    let page = format!(
        "SELECT k.personal_id, c.full_name, c.birth_date, k.expiry, k.renewal_due_from, k.scope_commune \
         FROM cards k JOIN citizens c ON c.personal_id = k.personal_id{} \
         ORDER BY k.renewal_due_from, k.personal_id LIMIT {lp} OFFSET {op}",
        f.sql
    );
    (count, page, f, limit)
}

pub(crate) fn due_card_from_row(r: &impl RowGet) -> Result<DueCard> {
    Ok(DueCard {
        personal_id: parse_pid(&r.text(0)?)?,
        full_name: r.text(1)?,
        birth_date: r.text(2)?,
        expiry: parse_day(&r.text(3)?)?,
        renewal_due_from: parse_day(&r.text(4)?)?,
        scope_commune: r.text(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_upper_bounds_prefixes() {
        assert_eq!(prefix_upper("nguyen van").as_deref(), Some("nguyen vao"));
        assert_eq!(prefix_upper("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper("\u{10FFFF}"), None);
        let up = prefix_upper("nguyen van").unwrap();
        assert!("nguyen van an" < up.as_str() && "nguyen van" < up.as_str() && "nguyen vanh" < up.as_str());
    }

    #[test]
    fn update_sql_sets_every_column_but_the_key() {
        let s = update_citizen_sql(Ph::Dollar);
        assert!(s.contains("family_name = $2"));
        assert!(s.contains("change_reason = $35"));
        assert!(!s.contains("created_at"));
        assert!(s.ends_with("WHERE personal_id = $1"));
    }
}
