//! SQLite: households.

use async_trait::async_trait;
use dancu_domain::Household;
use rusqlite::{params, Connection, OptionalExtension};

use super::{immediate, Sql, SqliteStore, PH};
use crate::model::*;
use crate::rows::{self, RowGet};
use crate::{HouseholdStore, Result, StoreError};

pub(super) fn get_household(c: &Connection, sql: &Sql, number: &str) -> Result<Option<HouseholdView>> {
    let mut st = c.prepare_cached(&sql.household)?;
    let mut rs = st.query([number])?;
    let Some(h) = rs.next()? else { return Ok(None) };
    let mut ms = c.prepare_cached(&sql.household_members)?;
    let members = ms.query_and_then([number], |r| rows::member_from_row(r))?.collect::<Result<Vec<_>>>()?;
    rows::household_view(h, members)
}

/// Whether a statement failed on a unique index (the only one a citizen row can break
/// besides its personal ID, which the statements handle, is the one-head index).
pub(super) fn unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// Checks every member and inserts them into household `number`.
pub(super) fn insert_members(tx: &Connection, sql: &Sql, h: &Household) -> Result<()> {
    let mut check = tx.prepare_cached(&sql.member_check)?;
    let mut set = tx.prepare_cached(&sql.set_member)?;
    for m in &h.members {
        let found: Option<Option<String>> =
            check.query_row([m.personal_id.as_str()], |r| r.get(0)).optional()?;
        rows::check_member(&m.personal_id, &h.number, found)?;
        set.execute(params![m.personal_id.as_str(), h.number, m.relation.code()]).map_err(|e| {
            if unique_violation(&e) {
                StoreError::Conflict(rows::head_taken(&h.number))
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}

/// Creates household `h` (inside the caller's transaction).
fn insert_household(tx: &Connection, sql: &Sql, h: &Household, change: &Change) -> Result<HouseholdView> {
    let n = tx.prepare_cached(&PH.sql(rows::HOUSEHOLD_INSERT))?.execute(params![
        h.number,
        rows::ts_text(&change.at),
        change.actor,
        change.reason
    ])?;
    if n == 0 {
        return Err(StoreError::Conflict(rows::household_exists(&h.number)));
    }
    insert_members(tx, sql, h)?;
    get_household(tx, sql, &h.number)?.ok_or(StoreError::NotFound)
}

/// Keeps the current member list in the history, then replaces it with `h`'s (inside the
/// caller's transaction); refused when the household is not at `expected_version`.
fn replace_members(
    tx: &Connection,
    sql: &Sql,
    h: &Household,
    expected_version: Option<i64>,
    change: &Change,
) -> Result<HouseholdView> {
    let (version, at, by, why) = {
        let mut st = tx.prepare_cached(&PH.sql(rows::HOUSEHOLD_CURRENT))?;
        let mut rs = st.query([&h.number])?;
        let Some(r) = rs.next()? else { return Err(StoreError::NotFound) };
        (r.int(0)?, r.text(1)?, r.text(2)?, r.text(3)?)
    };
    if let Some(expected) = expected_version {
        rows::check_version(expected, version)?;
    }
    let members = tx
        .prepare_cached(&sql.current_members)?
        .query_and_then([&h.number], |r| rows::member_pair_from_row(r))?
        .collect::<Result<Vec<_>>>()?;
    tx.prepare_cached(&PH.sql(rows::HOUSEHOLD_HISTORY_INSERT))?.execute(params![
        h.number,
        version,
        serde_json::to_string(&members)?,
        at,
        by,
        why
    ])?;
    let (leaving, set) = rows::member_changes(&members, &h.members);
    let mut leave = tx.prepare_cached(&sql.leave_member)?;
    for id in &leaving {
        leave.execute(params![id.as_str(), h.number])?;
    }
    insert_members(tx, sql, &Household { number: h.number.clone(), members: set })?;
    tx.prepare_cached(&PH.sql(rows::HOUSEHOLD_UPDATE))?.execute(params![
        h.number,
        version + 1,
        rows::ts_text(&change.at),
        change.actor,
        change.reason
    ])?;
    get_household(tx, sql, &h.number)?.ok_or(StoreError::NotFound)
}

#[async_trait]
impl HouseholdStore for SqliteStore {
    async fn create_household(&self, h: &Household, change: &Change) -> Result<HouseholdView> {
        rows::check_household(h)?;
        let (h, change) = (h.clone(), change.clone());
        self.write(move |conn, sql| {
            let tx = immediate(conn)?;
            let view = insert_household(&tx, sql, &h, &change)?;
            tx.commit()?;
            Ok(view)
        })
        .await
    }

    async fn split_household(
        &self,
        old: &Household,
        expected_version: i64,
        new: &Household,
        change: &Change,
    ) -> Result<(HouseholdView, HouseholdView)> {
        rows::check_household(old)?;
        rows::check_household(new)?;
        let (old, new, change) = (old.clone(), new.clone(), change.clone());
        self.write(move |conn, sql| {
            let tx = immediate(conn)?;
            let kept = replace_members(&tx, sql, &old, Some(expected_version), &change)?;
            let made = insert_household(&tx, sql, &new, &change)?;
            tx.commit()?;
            Ok((kept, made))
        })
        .await
    }

    async fn update_household(
        &self,
        h: &Household,
        expected_version: Option<i64>,
        change: &Change,
    ) -> Result<HouseholdView> {
        rows::check_household(h)?;
        let (h, change) = (h.clone(), change.clone());
        self.write(move |conn, sql| {
            let tx = immediate(conn)?;
            let view = replace_members(&tx, sql, &h, expected_version, &change)?;
            tx.commit()?;
            Ok(view)
        })
        .await
    }

    async fn register_birth(
        &self,
        c: &dancu_domain::Citizen,
        h: &Household,
        expected_version: i64,
        change: &Change,
    ) -> Result<(StoredCitizen, HouseholdView)> {
        rows::check_household(h)?;
        let cols = rows::CitizenCols::new(c).map_err(|v| StoreError::Invalid(vec![v]))?;
        let meta = rows::citizen_meta(1, change);
        let (h, change) = (h.clone(), change.clone());
        self.write(move |conn, sql| {
            let tx = immediate(conn)?;
            let n = tx.prepare_cached(&sql.insert_citizen)?.execute(rusqlite::params_from_iter(
                cols.vals.iter().chain(&meta).chain(&rows::household_vals(None)),
            ))?;
            if n == 0 {
                return Err(StoreError::Conflict(rows::duplicate_id(cols.id())));
            }
            let view = replace_members(&tx, sql, &h, Some(expected_version), &change)?;
            let stored = super::citizens::get_stored(&tx, sql, cols.id())?.ok_or(StoreError::NotFound)?;
            tx.commit()?;
            Ok((stored, view))
        })
        .await
    }

    async fn get_household(&self, number: &str) -> Result<Option<HouseholdView>> {
        let number = number.to_string();
        self.read(move |c, sql| {
            let tx = c.unchecked_transaction()?;
            let v = get_household(&tx, sql, &number)?;
            tx.finish()?;
            Ok(v)
        })
        .await
    }

    async fn household_history(&self, number: &str) -> Result<Vec<HouseholdVersion>> {
        let number = number.to_string();
        self.read(move |c, sql| {
            let mut st = c.prepare_cached(&sql.household_history)?;
            let v = st.query_and_then([&number], |r| rows::household_history_from_row(r))?.collect();
            v
        })
        .await
    }
}
