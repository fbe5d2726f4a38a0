//! Residence records (migration 0018, docs/RESIDENCE.md): reading them, filling the unit map
//! and copying the addresses stored before the records existed (`prepare`, at every start),
//! and the statements a completed residence procedure writes in one transaction with its
//! application's move. The rules (which procedure may complete) are the registry's
//! (`registry/residence.rs`); the citizen's address fields and the records are kept in step
//! by the triggers of migration 0018.

use chrono::NaiveDate;
use dancu_domain::household::Member;
use dancu_domain::residence::ResidenceKind;
use dancu_domain::{Citizen, PersonalId};
use serde::Serialize;

use crate::exec::{OwnedRow, Stmt, Val};
use crate::model::{Change, HouseholdView, Page, Scope, StoredCitizen, Timestamp};
use crate::rows::{self, Ph, RowGet};
use crate::{Result, Store, StoreError};

/// One residence record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Residence {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub personal_id: PersonalId,
    pub kind: ResidenceKind,
    /// The unit as recorded, with its list: `2025:00004` or `legacy:00004`.
    pub unit: String,
    pub detail: String,
    /// The 2025 commune and province the record counts in (empty when a legacy commune was
    /// split and cannot be placed).
    pub commune: String,
    pub province: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_from: NaiveDate,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub valid_until: Option<NaiveDate>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub ended_on: Option<NaiveDate>,
    /// Why it ended: `replaced`, `removed`, `extended`, `moved`, `deceased`.
    pub end_reason: String,
    /// The application (procedure) that created it; none for records copied from the
    /// address fields (`source` `migration`) or written by an officer's edit (`record`).
    pub application_id: Option<i64>,
    pub source: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    pub created_by: String,
    /// Not ended and its period not over, on the day it was read.
    pub current: bool,
}

const COLS: &str = "id, personal_id, kind, unit, detail, commune, province, valid_from, valid_until, \
     ended_on, end_reason, application_id, source, created_at, created_by";

fn day(s: &str) -> Result<NaiveDate> {
    s.parse().map_err(|e| rows::corrupt("date", e))
}

fn from_row(r: &OwnedRow, today: NaiveDate) -> Result<Residence> {
    let kind = r.text(2)?;
    let valid_until = r.opt_text(8)?.map(|s| day(&s)).transpose()?;
    let ended_on = r.opt_text(9)?.map(|s| day(&s)).transpose()?;
    Ok(Residence {
        id: r.int(0)?,
        personal_id: rows::parse_pid(&r.text(1)?)?,
        kind: ResidenceKind::from_code(&kind).ok_or_else(|| rows::corrupt("residence kind", kind))?,
        unit: r.text(3)?,
        detail: r.text(4)?,
        commune: r.text(5)?,
        province: r.text(6)?,
        valid_from: day(&r.text(7)?)?,
        valid_until,
        ended_on,
        end_reason: r.text(10)?,
        application_id: r.opt_int(11)?,
        source: r.text(12)?,
        created_at: r.ts(13)?,
        created_by: r.text(14)?,
        current: ended_on.is_none() && valid_until.is_none_or(|u| u >= today),
    })
}

/// Today in Vietnam, as the records' dates are written.
fn today() -> NaiveDate {
    crate::applications::today()
}

/// A person's residence records, current ones first, then the newest.
pub async fn of_person(store: &dyn Store, id: &PersonalId) -> Result<Vec<Residence>> {
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT {COLS} FROM residences WHERE personal_id = $1 \
                 ORDER BY ended_on IS NOT NULL, id DESC"
            ),
            vec![Val::Text(id.to_string())],
        )
        .await?;
    let t = today();
    let mut v = rows.iter().map(|r| from_row(r, t)).collect::<Result<Vec<_>>>()?;
    v.sort_by_key(|r| (!r.current, std::cmp::Reverse(r.id)));
    Ok(v)
}

/// The current records of one kind in a scope (an officer's list of stays or absences),
/// newest first.
pub async fn current_in(
    store: &dyn Store,
    scope: &Scope,
    kind: ResidenceKind,
    limit: u32,
    offset: u64,
) -> Result<Page<Residence>> {
    let (cond, mut params) = rows::scope_where(scope, "{level} = #", 3);
    params.insert(0, Val::Text(kind.code().into()));
    params.insert(1, Val::Text(today().to_string()));
    let base = format!(
        "FROM residences WHERE kind = $1 AND ended_on IS NULL \
         AND (valid_until IS NULL OR valid_until >= $2) AND {cond}"
    );
    let t = today();
    crate::exec::page(
        store.exec(),
        &format!("SELECT count(*) {base}"),
        &format!("SELECT {COLS} {base} ORDER BY valid_from DESC, id DESC"),
        params,
        limit,
        offset,
        |r| from_row(r, t),
    )
    .await
}

/// Fills `unit_map` from the embedded lists when it differs in size, then copies the
/// addresses of records stored before migration 0018 into residence records, once.
pub(crate) async fn prepare(store: &dyn Store) -> Result<()> {
    let exec = store.exec();
    let map = dancu_domain::admin_units().unit_map();
    let have = exec.query("SELECT count(*) FROM unit_map", vec![]).await?;
    let have = have.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
    if have as usize != map.len() {
        let mut stmts = Vec::new();
        for chunk in map.chunks(1000) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
                .collect();
            let params = chunk
                .iter()
                .flat_map(|(u, c, p)| [Val::Text(u.clone()), Val::Text(c.clone()), Val::Text(p.clone())]);
            stmts.push(Stmt::new(
                format!(
                    "INSERT INTO unit_map (unit, commune, province) VALUES {} ON CONFLICT (unit) \
                     DO UPDATE SET commune = excluded.commune, province = excluded.province",
                    values.join(", ")
                ),
                params.collect(),
            ));
        }
        exec.transaction(stmts).await?;
    }
    let done = exec.query("SELECT 1 FROM data_upgrades WHERE name = 'residences'", vec![]).await?;
    if done.is_empty() {
        let now = chrono::Utc::now();
        let today = dancu_domain::date::vietnam_today(now);
        let copy = |kind: &str| {
            Stmt::new(
                format!(
                    "INSERT INTO residences (personal_id, kind, unit, detail, commune, province, valid_from, \
                     source, created_at, created_by, away_commune, away_province) \
                     SELECT c.personal_id, '{kind}', c.{kind}_unit, c.{kind}_detail, COALESCE(m.commune, ''), \
                     COALESCE(m.province, ''), $1, 'migration', $2, 'system:migration', \
                     CASE WHEN COALESCE(m.commune, '') <> c.scope_commune THEN 1 ELSE 0 END, \
                     CASE WHEN COALESCE(m.province, '') <> c.scope_province THEN 1 ELSE 0 END \
                     FROM citizens c LEFT JOIN unit_map m ON m.unit = c.{kind}_unit \
                     WHERE c.{kind}_unit IS NOT NULL AND NOT EXISTS (SELECT 1 FROM residences r \
                     WHERE r.personal_id = c.personal_id AND r.kind = '{kind}' AND r.ended_on IS NULL)"
                ),
                vec![Val::Text(today.to_string()), Val::Ts(now)],
            )
        };
        // The marker first: a second process starting at the same moment finds it taken and
        // leaves the copy to the first (its transaction rolls back whole).
        let marker = Stmt::new(
            "INSERT INTO data_upgrades (name, done_at) VALUES ('residences', $1) ON CONFLICT (name) DO NOTHING",
            vec![Val::Ts(now)],
        )
        .expect_rows(
            1,
            StoreError::Conflict(dancu_domain::Violation::new(
                "data_upgrades",
                "data_upgrade.taken",
                "Một tiến trình khác đã chuyển dữ liệu",
                "another process copied the data",
            )),
        );
        match exec.transaction(vec![marker, copy("permanent"), copy("temporary")]).await {
            Ok(()) => {}
            Err(StoreError::Conflict(v)) if v.rule == "data_upgrade.taken" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Statements that write `next` over the stored record `prev` (its history kept, the
/// version checked: a concurrent change fails the transaction with 409). The triggers of
/// migration 0018 end and start the residence records the changed address fields imply.
pub(crate) fn citizen_update(prev: &StoredCitizen, next: &Citizen, change: &Change) -> Result<Vec<Stmt>> {
    let cols = rows::CitizenCols::new(next).map_err(|v| StoreError::Invalid(vec![v]))?;
    let history = Stmt::new(
        rows::CITIZEN_HISTORY_INSERT,
        vec![
            Val::Text(prev.citizen.personal_id.to_string()),
            Val::Int(prev.version),
            Val::Text(serde_json::to_string(&prev.citizen)?),
            Val::Ts(prev.updated_at),
            Val::Text(prev.updated_by.clone()),
            Val::Text(prev.change_reason.clone()),
        ],
    );
    let mut params: Vec<Val> = cols.vals.to_vec();
    params.extend(rows::change_meta(prev.version + 1, change));
    let n = params.len() + 1;
    params.push(Val::Int(prev.version));
    let update = Stmt::new(format!("{} AND version = ${n}", rows::update_citizen_sql(Ph::Dollar)), params)
        .expect_rows(1, StoreError::VersionMismatch { expected: prev.version, actual: prev.version + 1 });
    Ok(vec![history, update])
}

/// Statements that replace household `h`'s members by `members` (the earlier list kept in
/// its history, its version checked). Only the members who change are touched
/// (`rows::member_changes`: those leaving first, heads last).
pub(crate) fn household_rewrite(h: &HouseholdView, members: &[Member], change: &Change) -> Result<Vec<Stmt>> {
    let before: Vec<Member> =
        h.members.iter().map(|m| Member { personal_id: m.personal_id, relation: m.relation }).collect();
    let mut v = vec![
        Stmt::new(
            rows::HOUSEHOLD_HISTORY_INSERT,
            vec![
                Val::Text(h.number.clone()),
                Val::Int(h.version),
                Val::Text(serde_json::to_string(&before)?),
                Val::Ts(h.updated_at),
                Val::Text(h.updated_by.clone()),
                Val::Text(h.change_reason.clone()),
            ],
        ),
        Stmt::new(
            format!("{} AND version = $6", rows::HOUSEHOLD_UPDATE),
            vec![
                Val::Text(h.number.clone()),
                Val::Int(h.version + 1),
                Val::Ts(change.at),
                Val::Text(change.actor.clone()),
                Val::Text(change.reason.clone()),
                Val::Int(h.version),
            ],
        )
        .expect_rows(1, StoreError::VersionMismatch { expected: h.version, actual: h.version + 1 }),
    ];
    let (leaving, set) = rows::member_changes(&before, members);
    v.extend(leaving.iter().map(|id| {
        Stmt::new(rows::LEAVE_MEMBER_SQL, vec![Val::Text(id.to_string()), Val::Text(h.number.clone())])
    }));
    v.extend(set.iter().map(|m| set_member(m, &h.number)));
    Ok(v)
}

fn set_member(m: &Member, number: &str) -> Stmt {
    Stmt::new(
        rows::SET_MEMBER_SQL,
        vec![
            Val::Text(m.personal_id.to_string()),
            Val::Text(number.to_string()),
            Val::Text(m.relation.code().into()),
        ],
    )
    .on_unique(StoreError::Conflict(rows::head_taken(number)))
}

/// Statements that create household `number` with `members` (a number taken answers 409).
pub(crate) fn household_create(number: &str, members: &[Member], change: &Change) -> Vec<Stmt> {
    let mut v = vec![Stmt::new(
        rows::HOUSEHOLD_INSERT,
        vec![
            Val::Text(number.into()),
            Val::Ts(change.at),
            Val::Text(change.actor.clone()),
            Val::Text(change.reason.clone()),
        ],
    )
    .expect_rows(1, StoreError::Conflict(rows::household_exists(number)))];
    v.extend(members.iter().map(|m| set_member(m, number)));
    v
}

/// Takes a person out of their household (the caller checked they are not a head leaving
/// others behind).
pub(crate) fn leave_household(id: &PersonalId) -> Stmt {
    Stmt::new(
        "UPDATE citizens SET household_no = NULL, relation = NULL WHERE personal_id = $1",
        vec![Val::Text(id.to_string())],
    )
}

/// Marks the current record of `kind` the procedure just created (through the address
/// fields) with the application, and sets its period when the procedure gives one.
pub(crate) fn tag_current(
    id: &PersonalId,
    kind: ResidenceKind,
    application: i64,
    period: Option<(NaiveDate, NaiveDate)>,
) -> Stmt {
    let (from, until) = match period {
        Some((f, u)) => (Val::Text(f.to_string()), Val::Text(u.to_string())),
        None => (Val::Null, Val::Null),
    };
    Stmt::new(
        "UPDATE residences SET application_id = $3, source = 'application', \
         valid_from = COALESCE($4, valid_from), valid_until = COALESCE($5, valid_until) \
         WHERE personal_id = $1 AND kind = $2 AND ended_on IS NULL",
        vec![Val::Text(id.to_string()), Val::Text(kind.code().into()), Val::Int(application), from, until],
    )
}

/// Ends a person's current records of `kind` (`reason`: extended, moved …) on `on`.
pub(crate) fn end_current(id: &PersonalId, kind: ResidenceKind, on: NaiveDate, reason: &str) -> Stmt {
    Stmt::new(
        "UPDATE residences SET ended_on = $3, end_reason = $4 \
         WHERE personal_id = $1 AND kind = $2 AND ended_on IS NULL",
        vec![
            Val::Text(id.to_string()),
            Val::Text(kind.code().into()),
            Val::Text(on.to_string()),
            Val::Text(reason.into()),
        ],
    )
}

/// A record written by a procedure directly (absence, stay, an extension). `home` is the
/// person's own scope (province, commune), for the away marks.
#[derive(Debug, Clone)]
pub(crate) struct NewRecord<'a> {
    pub personal_id: &'a PersonalId,
    pub kind: ResidenceKind,
    pub unit: String,
    pub detail: String,
    pub commune: String,
    pub province: String,
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
    pub application: i64,
    pub home: (&'a str, &'a str),
}

pub(crate) fn insert_record(r: &NewRecord<'_>, change: &Change) -> Stmt {
    Stmt::new(
        "INSERT INTO residences (personal_id, kind, unit, detail, commune, province, valid_from, \
         valid_until, application_id, source, created_at, created_by, away_commune, away_province) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'application', $10, $11, $12, $13)",
        vec![
            Val::Text(r.personal_id.to_string()),
            Val::Text(r.kind.code().into()),
            Val::Text(r.unit.clone()),
            Val::Text(r.detail.clone()),
            Val::Text(r.commune.clone()),
            Val::Text(r.province.clone()),
            Val::Text(r.from.to_string()),
            Val::OptText(r.until.map(|d| d.to_string())),
            Val::Int(r.application),
            Val::Ts(change.at),
            Val::Text(change.actor.clone()),
            Val::Int((r.commune != r.home.1) as i64),
            Val::Int((r.province != r.home.0) as i64),
        ],
    )
}

/// Records a head's consent to an application (a second consent by the same person is
/// refused as a conflict).
pub(crate) fn consent(application: i64, head: &PersonalId, method: &str, change: &Change) -> Stmt {
    Stmt::new(
        "INSERT INTO application_consents (application_id, personal_id, method, given_at, actor) \
         VALUES ($1, $2, $3, $4, $5)",
        vec![
            Val::Int(application),
            Val::Text(head.to_string()),
            Val::Text(method.into()),
            Val::Ts(change.at),
            Val::Text(change.actor.clone()),
        ],
    )
    .on_unique(StoreError::Conflict(dancu_domain::Violation::new(
        "consent",
        "residence.consent_given",
        "Chủ hộ đã đồng ý trước đó",
        "the head already consented",
    )))
}

/// A recorded consent: who, how, when.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consent {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub personal_id: PersonalId,
    /// `portal` (the head in the citizen portal) or `written` (taken at the desk).
    pub method: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub given_at: Timestamp,
    pub actor: String,
}

pub async fn consents(store: &dyn Store, application: i64) -> Result<Vec<Consent>> {
    let rows = store
        .exec()
        .query(
            "SELECT personal_id, method, given_at, actor FROM application_consents \
             WHERE application_id = $1 ORDER BY given_at",
            vec![Val::Int(application)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Consent {
                personal_id: rows::parse_pid(&r.text(0)?)?,
                method: r.text(1)?,
                given_at: r.ts(2)?,
                actor: r.text(3)?,
            })
        })
        .collect()
}

/// The open applications waiting for `head`'s consent (the head's portal list).
pub async fn waiting_for_consent(store: &dyn Store, head: &PersonalId) -> Result<Vec<i64>> {
    let sql = format!(
        "SELECT a.id FROM applications a WHERE a.consent_from = $1 AND a.state IN ({}) \
         AND NOT EXISTS (SELECT 1 FROM application_consents k \
                         WHERE k.application_id = a.id AND k.personal_id = $1) \
         ORDER BY a.submitted_at",
        crate::applications::open_list()
    );
    let rows = store.exec().query(&sql, vec![Val::Text(head.to_string())]).await?;
    rows.iter().map(|r| r.int(0)).collect()
}
