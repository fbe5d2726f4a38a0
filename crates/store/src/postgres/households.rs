//! PostgreSQL: households.

use async_trait::async_trait;
use dancu_domain::Household;
use deadpool_postgres::GenericClient;
use tokio_postgres::types::Json;

use super::{snapshot, unique_violation, PgStore};
use crate::model::*;
use crate::rows::{self, RowGet};
use crate::{HouseholdStore, Result, StoreError};

pub(super) async fn get_household(c: &impl GenericClient, number: &str) -> Result<Option<HouseholdView>> {
    let hs = c.prepare_cached(rows::HOUSEHOLD_SQL).await?;
    let Some(h) = c.query_opt(&hs, &[&number]).await? else { return Ok(None) };
    let ms = c.prepare_cached(rows::HOUSEHOLD_MEMBERS_SQL).await?;
    let members =
        c.query(&ms, &[&number]).await?.iter().map(rows::member_from_row).collect::<Result<Vec<_>>>()?;
    rows::household_view(&h, members)
}

/// Checks every member and inserts them into household `h.number`.
pub(super) async fn insert_members(c: &impl GenericClient, h: &Household) -> Result<()> {
    let check = c.prepare_cached(&format!("{} FOR UPDATE", rows::MEMBER_CHECK_SQL)).await?;
    let set = c.prepare_cached(rows::SET_MEMBER_SQL).await?;
    for m in &h.members {
        let found =
            c.query_opt(&check, &[&m.personal_id.as_str()]).await?.map(|r| r.get::<_, Option<String>>(0));
        rows::check_member(&m.personal_id, &h.number, found)?;
        c.execute(&set, &[&m.personal_id.as_str(), &h.number, &m.relation.code()]).await.map_err(|e| {
            match unique_violation(&e) {
                Some("citizens_household_head") => StoreError::Conflict(rows::head_taken(&h.number)),
                _ => e.into(),
            }
        })?;
    }
    Ok(())
}

/// Creates household `h` (inside the caller's transaction).
async fn insert_household(tx: &impl GenericClient, h: &Household, change: &Change) -> Result<HouseholdView> {
    let st = tx.prepare_cached(rows::HOUSEHOLD_INSERT).await?;
    if tx.execute(&st, &[&h.number, &change.at, &change.actor, &change.reason]).await? == 0 {
        return Err(StoreError::Conflict(rows::household_exists(&h.number)));
    }
    insert_members(tx, h).await?;
    get_household(tx, &h.number).await?.ok_or(StoreError::NotFound)
}

/// Keeps the current member list in the history, then replaces it with `h`'s (inside the
/// caller's transaction); refused when the household is not at `expected_version`.
async fn replace_members(
    tx: &impl GenericClient,
    h: &Household,
    expected_version: Option<i64>,
    change: &Change,
) -> Result<HouseholdView> {
    let st = tx.prepare_cached(&format!("{} FOR UPDATE", rows::HOUSEHOLD_CURRENT)).await?;
    let cur = tx.query_opt(&st, &[&h.number]).await?.ok_or(StoreError::NotFound)?;
    let version = cur.int(0)?;
    if let Some(expected) = expected_version {
        rows::check_version(expected, version)?;
    }
    let ms = tx.prepare_cached(rows::CURRENT_MEMBERS_SQL).await?;
    let members = tx
        .query(&ms, &[&h.number])
        .await?
        .iter()
        .map(rows::member_pair_from_row)
        .collect::<Result<Vec<_>>>()?;
    let hist = tx.prepare_cached(rows::HOUSEHOLD_HISTORY_INSERT).await?;
    tx.execute(&hist, &[&h.number, &version, &Json(&members), &cur.ts(1)?, &cur.text(2)?, &cur.text(3)?])
        .await?;
    let (leaving, set) = rows::member_changes(&members, &h.members);
    let leave = tx.prepare_cached(rows::LEAVE_MEMBER_SQL).await?;
    for id in &leaving {
        tx.execute(&leave, &[&id.as_str(), &h.number]).await?;
    }
    insert_members(tx, &Household { number: h.number.clone(), members: set }).await?;
    let up = tx.prepare_cached(rows::HOUSEHOLD_UPDATE).await?;
    tx.execute(&up, &[&h.number, &(version + 1), &change.at, &change.actor, &change.reason]).await?;
    get_household(tx, &h.number).await?.ok_or(StoreError::NotFound)
}

#[async_trait]
impl HouseholdStore for PgStore {
    async fn create_household(&self, h: &Household, change: &Change) -> Result<HouseholdView> {
        rows::check_household(h)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let view = insert_household(&tx, h, change).await?;
        tx.commit().await?;
        Ok(view)
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
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let kept = replace_members(&tx, old, Some(expected_version), change).await?;
        let made = insert_household(&tx, new, change).await?;
        tx.commit().await?;
        Ok((kept, made))
    }

    async fn update_household(
        &self,
        h: &Household,
        expected_version: Option<i64>,
        change: &Change,
    ) -> Result<HouseholdView> {
        rows::check_household(h)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let view = replace_members(&tx, h, expected_version, change).await?;
        tx.commit().await?;
        Ok(view)
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
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let st = tx.prepare_cached(&self.sql.insert_citizen).await?;
        let hv = rows::household_vals(None);
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = cols
            .vals
            .iter()
            .chain(&meta)
            .chain(&hv)
            .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        if tx.execute(&st, &params).await? == 0 {
            return Err(StoreError::Conflict(rows::duplicate_id(cols.id())));
        }
        let view = replace_members(&tx, h, Some(expected_version), change).await?;
        let stored =
            super::citizens::get_stored(&tx, &self.sql, cols.id()).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok((stored, view))
    }

    async fn get_household(&self, number: &str) -> Result<Option<HouseholdView>> {
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await?;
        let v = get_household(&tx, number).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn household_history(&self, number: &str) -> Result<Vec<HouseholdVersion>> {
        let client = self.client().await?;
        let st = client.prepare_cached(rows::HOUSEHOLD_HISTORY_SQL).await?;
        client.query(&st, &[&number]).await?.iter().map(rows::household_history_from_row).collect()
    }
}
