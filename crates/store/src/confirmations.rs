//! Residence confirmations (giấy xác nhận thông tin về cư trú): storage written once for both
//! backends over [`crate::exec::SqlExec`] (migration 0019). A confirmation keeps a snapshot
//! of what it certified, so its document and its verification do not change when the record
//! does. The audited, scoped entry points are in [`crate::registry`]
//! (`registry/confirmations.rs`); the signature of its QR code is the server's.

use chrono::{Datelike, Months, NaiveDate};
use dancu_domain::household::Relation;
use dancu_domain::{PersonalId, Sex, Violation};
use serde::{Deserialize, Serialize};

use crate::exec::{OwnedRow, Stmt, Val};
use crate::model::Timestamp;
use crate::rows::{self, RowGet};
use crate::{Result, Store, StoreError};

/// What a confirmation certifies, as read from the registry when it was issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfirmationContent {
    pub full_name: String,
    /// As written on documents: `DD/MM/YYYY` (or `MM/YYYY`, `YYYY` when only those are known).
    pub birth_date: String,
    pub sex: Sex,
    /// Permanent residence in words (detail, commune, province); empty if none.
    pub permanent: String,
    /// Temporary residence in words; empty if none.
    pub temporary: String,
    /// Household number (số hộ); empty if the person is in no household.
    pub household_no: String,
    /// The household head's full name; empty if unknown.
    pub head_name: String,
    pub relation: Option<Relation>,
}

/// One confirmation as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Confirmation {
    /// Random, below 2⁵³.
    pub id: i64,
    pub personal_id: PersonalId,
    pub content: ConfirmationContent,
    /// The issuing unit as a scope (`commune:00004`, `province:01`, `nation`).
    pub issuing_unit: String,
    /// `officer` (issued by an officer) or `portal` (the citizen's own request).
    pub channel: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub issued_at: Timestamp,
    pub issued_by: String,
    /// The last day it is valid (one year from the day of issue, Vietnam time).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_until: NaiveDate,
    /// The signing key's id (its QR code is signed with it).
    pub key_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<String>,
    pub revoked_reason: Option<String>,
    #[serde(skip)]
    pub scope_province: String,
    #[serde(skip)]
    pub scope_commune: String,
}

/// Where a confirmation stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Valid,
    Revoked,
    Expired,
}

impl Confirmation {
    /// Revoked, else expired after `valid_until` (on `today` in Vietnam), else valid.
    pub fn standing(&self, today: NaiveDate) -> Standing {
        if self.revoked_at.is_some() {
            Standing::Revoked
        } else if today > self.valid_until {
            Standing::Expired
        } else {
            Standing::Valid
        }
    }

    /// The day it was issued, in Vietnam.
    pub fn issued_on(&self) -> NaiveDate {
        dancu_domain::date::vietnam_today(self.issued_at)
    }
}

/// The last day a confirmation issued on `issued_on` is valid: one year on, less a day
/// (issued 04/12/2026, valid to 03/12/2027 inclusive; issued on 29 February, the
/// anniversary is 1 March, so valid to 28 February).
pub fn valid_until(issued_on: NaiveDate) -> NaiveDate {
    let next_year = issued_on.checked_add_months(Months::new(12)).unwrap_or(NaiveDate::MAX);
    if next_year.day() != issued_on.day() {
        // 29 February to a year without one: the month was cut to its last day.
        return next_year;
    }
    next_year.pred_opt().unwrap_or(next_year)
}

/// What an issue stores.
#[derive(Debug, Clone)]
pub struct NewConfirmation {
    pub personal_id: PersonalId,
    pub content: ConfirmationContent,
    pub issuing_unit: String,
    pub channel: String,
    pub issued_at: Timestamp,
    pub issued_by: String,
    pub key_id: String,
    pub scope_province: String,
    pub scope_commune: String,
}

const COLS: &str = "id, personal_id, content, issuing_unit, channel, issued_at, issued_by, valid_until, \
     key_id, revoked_at, revoked_by, revoked_reason, scope_province, scope_commune";

fn from_row(r: &OwnedRow) -> Result<Confirmation> {
    Ok(Confirmation {
        id: r.int(0)?,
        personal_id: rows::parse_pid(&r.text(1)?)?,
        content: r.json(2)?,
        issuing_unit: r.text(3)?,
        channel: r.text(4)?,
        issued_at: r.ts(5)?,
        issued_by: r.text(6)?,
        valid_until: r.text(7)?.parse().map_err(|e| rows::corrupt("date", e))?,
        key_id: r.text(8)?,
        revoked_at: r.opt_ts(9)?,
        revoked_by: r.opt_text(10)?,
        revoked_reason: r.opt_text(11)?,
        scope_province: r.text(12)?,
        scope_commune: r.text(13)?,
    })
}

/// The confirmation `id`, if it exists.
pub async fn get(store: &dyn Store, id: i64) -> Result<Option<Confirmation>> {
    let rows = store
        .exec()
        .query_point(&format!("SELECT {COLS} FROM residence_confirmations WHERE id = $1"), vec![Val::Int(id)])
        .await?;
    rows.first().map(from_row).transpose()
}

/// A citizen's confirmations, newest first.
pub async fn of_holder(store: &dyn Store, id: &PersonalId) -> Result<Vec<Confirmation>> {
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT {COLS} FROM residence_confirmations WHERE personal_id = $1 \
                 ORDER BY issued_at DESC, id DESC LIMIT 200"
            ),
            vec![Val::Text(id.to_string())],
        )
        .await?;
    rows.iter().map(from_row).collect()
}

/// Stores a confirmation issued at `n.issued_at` (valid one year from that day), committed
/// before this returns. The store's `raw` feature lets tests issue one in the past.
pub async fn insert(store: &dyn Store, n: &NewConfirmation) -> Result<Confirmation> {
    let content = serde_json::to_string(&n.content)?;
    let until = valid_until(dancu_domain::date::vietnam_today(n.issued_at));
    for _ in 0..4 {
        // Random ids (below 2⁵³, exact in JavaScript) reveal nothing about how many exist.
        let id = (rand::random::<u64>() >> 11) as i64 + 1;
        let stmt = Stmt::new(
            format!(
                "INSERT INTO residence_confirmations ({COLS}, holder_name) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, NULL, $10, $11, $12)"
            ),
            vec![
                Val::Int(id),
                Val::Text(n.personal_id.to_string()),
                Val::Text(content.clone()),
                Val::Text(n.issuing_unit.clone()),
                Val::Text(n.channel.clone()),
                Val::Ts(n.issued_at),
                Val::Text(n.issued_by.clone()),
                Val::Text(until.to_string()),
                Val::Text(n.key_id.clone()),
                Val::Text(n.scope_province.clone()),
                Val::Text(n.scope_commune.clone()),
                Val::Text(n.content.full_name.clone()),
            ],
        )
        .on_unique(StoreError::Conflict(taken()));
        match store.exec().transaction(vec![stmt]).await {
            Ok(()) => return get(store, id).await?.ok_or(StoreError::NotFound),
            // An id already taken (about one in 10¹⁵): draw another.
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(taken()))
}

fn taken() -> Violation {
    Violation::new(
        "id",
        "confirmation.id_taken",
        "Trùng số giấy xác nhận, vui lòng thử lại",
        "confirmation id taken; retry",
    )
}

/// Revokes a confirmation not yet revoked; a second revocation is refused and changes
/// nothing.
pub async fn revoke(
    store: &dyn Store,
    id: i64,
    reason: &str,
    at: Timestamp,
    actor: &str,
) -> Result<Confirmation> {
    let stmt = Stmt::new(
        "UPDATE residence_confirmations SET revoked_at = $2, revoked_by = $3, revoked_reason = $4 \
         WHERE id = $1 AND revoked_at IS NULL",
        vec![Val::Int(id), Val::Ts(at), Val::Text(actor.into()), Val::Text(reason.into())],
    )
    .expect_rows(1, StoreError::Conflict(already_revoked()));
    store.exec().transaction(vec![stmt]).await?;
    get(store, id).await?.ok_or(StoreError::NotFound)
}

pub(crate) fn already_revoked() -> Violation {
    Violation::new(
        "id",
        "confirmation.already_revoked",
        "Giấy xác nhận đã bị thu hồi trước đó",
        "the confirmation was already revoked",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_for_one_year_from_the_day_of_issue() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(valid_until(d(2026, 12, 4)), d(2027, 12, 3));
        assert_eq!(valid_until(d(2028, 2, 29)), d(2029, 2, 28));
        assert_eq!(valid_until(d(2027, 1, 1)), d(2027, 12, 31));
    }
}
