//! Partner systems (issue 13): their entitlements, the verification read and the call
//! counts, written once for both backends over [`crate::exec::SqlExec`]. The audited entry
//! points are in [`crate::registry`] (`registry/partner.rs`); the OAuth client a partner
//! authenticates as is the server's.

use std::sync::OnceLock;

use dancu_domain::{LifeStatus, PartialDate, PersonalId, Sex, Violation};
use serde::{Deserialize, Serialize};

use crate::exec::{Stmt, Val};
use crate::model::{Scope, Timestamp};
use crate::rows::{self, RowGet};
use crate::{Result, Store, StoreError};

/// What a partner may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Verify,
    CardLookup,
    ResidenceCheck,
    Feed,
    /// Births and deaths registered by a civil-status authority (the linked procedures,
    /// docs/CHAINS.md).
    CivilRegistration,
}

impl Operation {
    pub const ALL: [Operation; 5] = [
        Operation::Verify,
        Operation::CardLookup,
        Operation::ResidenceCheck,
        Operation::Feed,
        Operation::CivilRegistration,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Operation::Verify => "verify",
            Operation::CardLookup => "card_lookup",
            Operation::ResidenceCheck => "residence_check",
            Operation::Feed => "feed",
            Operation::CivilRegistration => "civil_registration",
        }
    }
    pub fn parse(s: &str) -> std::result::Result<Self, Violation> {
        Operation::ALL.into_iter().find(|o| o.code() == s).ok_or_else(|| {
            Violation::new(
                "operations",
                "partner.operation_unknown",
                format!("Nghiệp vụ không hợp lệ: {s} (verify, card_lookup, residence_check, feed, civil_registration)"),
                format!("unknown operation: {s} (verify, card_lookup, residence_check, feed, civil_registration)"),
            )
        })
    }
}

/// A field a card look-up may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CardField {
    FullName,
    DateOfBirth,
    Sex,
    LifeStatus,
    CardNumber,
    CardExpiry,
    PermanentAddress,
    HealthInsuranceNumber,
    SocialInsuranceNumber,
    /// The household number and the relation to its head.
    Household,
}

impl CardField {
    pub const ALL: [CardField; 10] = [
        CardField::FullName,
        CardField::DateOfBirth,
        CardField::Sex,
        CardField::LifeStatus,
        CardField::CardNumber,
        CardField::CardExpiry,
        CardField::PermanentAddress,
        CardField::HealthInsuranceNumber,
        CardField::SocialInsuranceNumber,
        CardField::Household,
    ];
    pub fn code(self) -> &'static str {
        match self {
            CardField::FullName => "full_name",
            CardField::DateOfBirth => "date_of_birth",
            CardField::Sex => "sex",
            CardField::LifeStatus => "life_status",
            CardField::CardNumber => "card_number",
            CardField::CardExpiry => "card_expiry",
            CardField::PermanentAddress => "permanent_address",
            CardField::HealthInsuranceNumber => "health_insurance_number",
            CardField::SocialInsuranceNumber => "social_insurance_number",
            CardField::Household => "household",
        }
    }
    pub fn parse(s: &str) -> std::result::Result<Self, Violation> {
        CardField::ALL.into_iter().find(|o| o.code() == s).ok_or_else(|| {
            let all: Vec<&str> = CardField::ALL.iter().map(|f| f.code()).collect();
            Violation::new(
                "fields",
                "partner.field_unknown",
                format!("Trường không hợp lệ: {s} ({})", all.join(", ")),
                format!("unknown field: {s} ({})", all.join(", ")),
            )
        })
    }
}

/// A partner's entitlements as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Partner {
    /// The OAuth client the partner authenticates as.
    pub client_id: String,
    pub name: String,
    pub suspended: bool,
    /// Requests per second, and how many may come at once.
    pub rate_per_sec: u32,
    pub burst: u32,
    pub operations: Vec<Operation>,
    pub fields: Vec<CardField>,
    /// Whose records it may ask about (where they live): `nation`, provinces or communes.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub units: Vec<Scope>,
    /// The event kinds its change feed carries (with the `feed` operation).
    #[serde(default)]
    pub feed_kinds: Vec<crate::feed::EventKind>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    pub updated_by: String,
}

impl Partner {
    pub fn may(&self, op: Operation) -> bool {
        self.operations.contains(&op)
    }
    /// Whether a person living in (`province`, `commune`) is within the partner's units.
    pub fn covers(&self, province: &str, commune: &str) -> bool {
        self.units.iter().any(|u| u.covers(province, commune))
    }
    pub fn actor(&self) -> String {
        partner_actor(&self.client_id)
    }
}

/// The audit actor of a partner's calls.
pub fn partner_actor(client_id: &str) -> String {
    format!("partner:{client_id}")
}

fn json(v: &impl Serialize) -> Result<Val> {
    Ok(Val::Text(serde_json::to_string(v)?))
}

const PARTNER_COLUMNS: &str =
    "client_id, name, state, rate_per_sec, burst, operations, fields, units, updated_at, updated_by, feed_kinds";

fn partner_row(r: &crate::exec::OwnedRow) -> Result<Partner> {
    Ok(Partner {
        client_id: r.text(0)?,
        name: r.text(1)?,
        suspended: r.text(2)? == "suspended",
        rate_per_sec: u32::try_from(r.int(3)?).map_err(|e| rows::corrupt("rate", e))?,
        burst: u32::try_from(r.int(4)?).map_err(|e| rows::corrupt("burst", e))?,
        operations: r.json(5)?,
        fields: r.json(6)?,
        units: r.json(7)?,
        updated_at: r.ts(8)?,
        updated_by: r.text(9)?,
        feed_kinds: r.json(10)?,
    })
}

/// Creates or replaces a partner's entitlements (its state included).
pub async fn put_partner(store: &dyn Store, p: &Partner) -> Result<()> {
    let state = if p.suspended { "suspended" } else { "active" };
    let stmt = Stmt::new(
        "INSERT INTO partners (client_id, name, state, rate_per_sec, burst, operations, fields, units, \
         created_at, updated_at, updated_by, feed_kinds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11) \
         ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, state = excluded.state, \
         rate_per_sec = excluded.rate_per_sec, burst = excluded.burst, operations = excluded.operations, \
         fields = excluded.fields, units = excluded.units, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by, feed_kinds = excluded.feed_kinds",
        vec![
            Val::Text(p.client_id.clone()),
            Val::Text(p.name.clone()),
            Val::Text(state.into()),
            Val::Int(p.rate_per_sec.into()),
            Val::Int(p.burst.into()),
            json(&p.operations)?,
            json(&p.fields)?,
            json(&p.units)?,
            Val::Ts(p.updated_at),
            Val::Text(p.updated_by.clone()),
            json(&p.feed_kinds)?,
        ],
    );
    store.exec().transaction(vec![stmt]).await
}

pub async fn get_partner(store: &dyn Store, client_id: &str) -> Result<Option<Partner>> {
    let rows = store
        .exec()
        .query(
            &format!("SELECT {PARTNER_COLUMNS} FROM partners WHERE client_id = $1"),
            vec![Val::Text(client_id.into())],
        )
        .await?;
    rows.first().map(partner_row).transpose()
}

pub async fn list_partners(store: &dyn Store) -> Result<Vec<Partner>> {
    let rows = store
        .exec()
        .query(&format!("SELECT {PARTNER_COLUMNS} FROM partners ORDER BY client_id"), vec![])
        .await?;
    rows.iter().map(partner_row).collect()
}

/// Suspends or resumes a partner; `NotFound` if there is none.
pub async fn set_suspended(
    store: &dyn Store,
    client_id: &str,
    suspended: bool,
    by: &str,
    at: Timestamp,
) -> Result<()> {
    let stmt = Stmt::new(
        "UPDATE partners SET state = $2, updated_by = $3, updated_at = $4 WHERE client_id = $1",
        vec![
            Val::Text(client_id.into()),
            Val::Text(if suspended { "suspended" } else { "active" }.into()),
            Val::Text(by.into()),
            Val::Ts(at),
        ],
    )
    .expect_rows(1, StoreError::NotFound);
    store.exec().transaction(vec![stmt]).await
}

/// What a verification compares, read from the covering index `citizens_verify`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyRow {
    pub personal_id: PersonalId,
    pub full_name: String,
    pub birth_date: PartialDate,
    pub sex: Sex,
    pub status: LifeStatus,
    pub scope_province: String,
    pub scope_commune: String,
    /// Permanent, temporary and current residence units (`2025:…` / `legacy:…`), if set.
    pub units: [Option<String>; 3],
}

/// IDs per query: batches are read in chunks of at most `CHUNK`, each padded with its first
/// ID up to the next of these sizes, so each backend prepares five statements, not one per
/// size, and a batch of a few IDs (the single reads gathered by
/// `registry::read_batch`) does not bind 500 parameters.
const SIZES: [usize; 5] = [1, 8, 32, 128, CHUNK];
pub(crate) const CHUNK: usize = 500;

/// A chunk's IDs as parameters, padded to `SIZES[k]`; returns `k`.
fn padded(chunk: &[PersonalId]) -> (usize, Vec<Val>) {
    let k = SIZES.iter().position(|&n| n >= chunk.len()).unwrap_or(SIZES.len() - 1);
    let mut params: Vec<Val> = chunk.iter().map(|id| Val::Text(id.to_string())).collect();
    params.resize(SIZES[k], Val::Text(chunk[0].to_string()));
    (k, params)
}

/// The verification rows of `ids` that exist, in no particular order.
pub async fn verify_rows(store: &dyn Store, ids: &[PersonalId]) -> Result<Vec<VerifyRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let (k, params) = padded(chunk);
        let n = SIZES[k];
        // Built once per backend and size: the SQL is the statement cache's key, hashed on
        // every call.
        static SQL: [[OnceLock<String>; SIZES.len()]; 2] =
            [const { [const { OnceLock::new() }; SIZES.len()] }; 2];
        let (b, from) = verify_source(store);
        let sql = SQL[b][k].get_or_init(|| in_sql(VERIFY_COLUMNS, from, n));
        let found = if n == 1 {
            store.exec().query_point(sql, params).await?
        } else {
            store.exec().query(sql, params).await?
        };
        for r in found {
            out.push(VerifyRow {
                personal_id: rows::parse_pid(&r.text(0)?)?,
                full_name: r.text(1)?,
                birth_date: r.text(2)?.parse().map_err(|e: Violation| rows::corrupt("birth date", e))?,
                sex: Sex::parse(&r.text(3)?).map_err(|e| rows::corrupt("sex", e))?,
                status: LifeStatus::parse(&r.text(4)?).map_err(|e| rows::corrupt("status", e))?,
                scope_province: r.text(5)?,
                scope_commune: r.text(6)?,
                units: [r.opt_text(7)?, r.opt_text(8)?, r.opt_text(9)?],
            });
        }
    }
    Ok(out)
}

const VERIFY_COLUMNS: &str =
    "personal_id, full_name, birth_date, sex, status, scope_province, scope_commune, \
     permanent_unit, temporary_unit, current_unit";

/// Where the verification read comes from, and a slot per backend for the built SQL.
/// SQLite must be told to use the covering index `citizens_verify` (migration 0015): an
/// equality on the primary key makes its planner take the key's own index and then read
/// the table row (a second B-tree descent: 20,000 reads from Python at 1,000,000 people took
/// 49–55 µs each against 35–38 µs from the covering index), and with an `IN` list it chose
/// the same plan once the table had statistics. PostgreSQL picks its covering index by cost.
fn verify_source(store: &dyn Store) -> (usize, &'static str) {
    if store.backend() == "postgres" {
        (0, "citizens")
    } else {
        (1, "citizens INDEXED BY citizens_verify")
    }
}

/// `SELECT columns FROM {from} WHERE personal_id IN ($1, …, $n)`.
fn in_sql(columns: &str, from: &str, n: usize) -> String {
    let mut list = String::with_capacity(n * 5);
    for i in 1..=n {
        if i > 1 {
            list.push_str(", ");
        }
        list.push('$');
        list.push_str(&i.to_string());
    }
    format!("SELECT {columns} FROM {from} WHERE personal_id IN ({list})")
}

/// Calls counted for one (day, partner, operation, purpose, outcome).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallCount {
    /// The Vietnam day, `YYYY-MM-DD`.
    pub day: String,
    pub client_id: String,
    pub operation: String,
    pub purpose: String,
    pub outcome: String,
    pub count: u64,
}

/// Adds counts (one transaction).
pub async fn add_counts(store: &dyn Store, counts: &[CallCount]) -> Result<()> {
    if counts.is_empty() {
        return Ok(());
    }
    let stmts = counts
        .iter()
        .map(|c| {
            Stmt::new(
                "INSERT INTO partner_counts (day, client_id, operation, purpose, outcome, count) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (day, client_id, operation, purpose, outcome) \
                 DO UPDATE SET count = partner_counts.count + excluded.count",
                vec![
                    Val::Text(c.day.clone()),
                    Val::Text(c.client_id.clone()),
                    Val::Text(c.operation.clone()),
                    Val::Text(c.purpose.clone()),
                    Val::Text(c.outcome.clone()),
                    Val::Int(i64::try_from(c.count).unwrap_or(i64::MAX)),
                ],
            )
        })
        .collect();
    store.exec().transaction(stmts).await
}

/// The counts from `since` (a day, inclusive), optionally of one partner.
pub async fn counts(store: &dyn Store, since: &str, client_id: Option<&str>) -> Result<Vec<CallCount>> {
    let rows = store
        .exec()
        .query(
            "SELECT day, client_id, operation, purpose, outcome, count FROM partner_counts \
             WHERE day >= $1 AND ($2 = '' OR client_id = $2) ORDER BY day, client_id, operation, purpose, outcome",
            vec![Val::Text(since.into()), Val::Text(client_id.unwrap_or("").into())],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(CallCount {
                day: r.text(0)?,
                client_id: r.text(1)?,
                operation: r.text(2)?,
                purpose: r.text(3)?,
                outcome: r.text(4)?,
                count: u64::try_from(r.int(5)?).map_err(|e| rows::corrupt("count", e))?,
            })
        })
        .collect()
}

/// The residence details (permanent, temporary, current; empty when unset) of `ids`, read
/// only for the claims that give an address detail.
pub async fn verify_details(
    store: &dyn Store,
    ids: &[PersonalId],
) -> Result<std::collections::HashMap<PersonalId, [String; 3]>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let (k, params) = padded(chunk);
        let sql =
            in_sql("personal_id, permanent_detail, temporary_detail, current_detail", "citizens", SIZES[k]);
        for r in store.exec().query(&sql, params).await? {
            out.insert(rows::parse_pid(&r.text(0)?)?, [r.text(1)?, r.text(2)?, r.text(3)?]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::{migrated_temp, query_plan};

    /// On SQLite the verification read must come from the covering index alone: the plan
    /// SQLite picks by itself reads the primary key's index and then the table row.
    #[tokio::test]
    async fn sqlite_verification_reads_only_the_covering_index() {
        let (_dir, store) = migrated_temp().await;
        let (_, from) = verify_source(&store);
        for n in SIZES {
            let params = vec![Val::Text("001099000001".into()); n];
            let plan = query_plan(&store, &in_sql(VERIFY_COLUMNS, from, n), params).await;
            assert_eq!(plan.len(), 1, "{plan:?}");
            assert!(plan[0].contains("USING COVERING INDEX citizens_verify"), "{n} IDs: {plan:?}");
        }
    }
}
