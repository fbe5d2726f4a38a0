//! PostgreSQL: citizens and personal ID allocation.

use async_trait::async_trait;
use dancu_domain::{Citizen, PersonalId, Sex};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::{Json, ToSql};

use super::{page, PgStore, Sql, PH};
use crate::model::*;
use crate::rows;
use crate::{CitizenStore, Result, StoreError};

pub(super) async fn get_stored(c: &impl GenericClient, sql: &Sql, id: &str) -> Result<Option<StoredCitizen>> {
    let st = c.prepare_cached(&sql.stored_by_id).await?;
    c.query_opt(&st, &[&id]).await?.map(|r| rows::stored_from_row(&r)).transpose()
}

#[async_trait]
impl CitizenStore for PgStore {
    async fn create_citizen(&self, c: &Citizen, change: &Change) -> Result<StoredCitizen> {
        let cols = rows::CitizenCols::new(c).map_err(|v| StoreError::Invalid(vec![v]))?;
        let meta = rows::citizen_meta(1, change);
        let client = self.client().await?;
        let st = client.prepare_cached(&self.sql.insert_citizen).await?;
        let hv = rows::household_vals(None);
        let params: Vec<&(dyn ToSql + Sync)> =
            cols.vals.iter().chain(&meta).chain(&hv).map(|v| v as &(dyn ToSql + Sync)).collect();
        if client.execute(&st, &params).await? == 0 {
            return Err(StoreError::Conflict(rows::duplicate_id(cols.id())));
        }
        Ok(rows::new_stored(c, &cols, change))
    }

    async fn update_citizen(
        &self,
        c: &Citizen,
        expected_version: i64,
        change: &Change,
    ) -> Result<StoredCitizen> {
        let cols = rows::CitizenCols::new(c).map_err(|v| StoreError::Invalid(vec![v]))?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let st = tx.prepare_cached(&self.sql.current_for_update).await?;
        let row = tx.query_opt(&st, &[&cols.id()]).await?.ok_or(StoreError::NotFound)?;
        let prev = rows::current_from_row(&row)?;
        rows::check_version(expected_version, prev.version)?;
        let hist = tx.prepare_cached(rows::CITIZEN_HISTORY_INSERT).await?;
        tx.execute(
            &hist,
            &[
                &cols.id(),
                &prev.version,
                &Json(&prev.citizen),
                &prev.changed_at,
                &prev.changed_by,
                &prev.reason,
            ],
        )
        .await?;
        let meta = rows::change_meta(prev.version + 1, change);
        let up = tx.prepare_cached(&self.sql.update_citizen).await?;
        let params: Vec<&(dyn ToSql + Sync)> =
            cols.vals.iter().chain(meta.iter()).map(|v| v as &(dyn ToSql + Sync)).collect();
        tx.execute(&up, &params).await?;
        let stored = get_stored(&tx, &self.sql, cols.id()).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn get_citizen(&self, id: &PersonalId) -> Result<Option<StoredCitizen>> {
        get_stored(&self.client().await?, &self.sql, id.as_str()).await
    }

    async fn citizen_history(&self, id: &PersonalId) -> Result<Vec<CitizenVersion>> {
        let client = self.client().await?;
        let st = client.prepare_cached(rows::CITIZEN_HISTORY_SQL).await?;
        client.query(&st, &[&id.as_str()]).await?.iter().map(rows::history_from_row).collect()
    }

    async fn search_citizens(&self, q: &CitizenQuery, scope: &Scope) -> Result<Page<CitizenSummary>> {
        let client = self.client().await?;
        let mut found = None;
        for (count_sql, page_sql, f, limit) in rows::search_plans(q, scope, PH) {
            let p = page(&client, &count_sql, &page_sql, &f, limit, q.offset, rows::summary_from_row).await?;
            let done = p.total > 0;
            found = Some(p);
            if done {
                break;
            }
        }
        Ok(found.expect("search_plans gives at least one plan"))
    }

    async fn count_citizens(&self) -> Result<u64> {
        let n: i64 = self.client().await?.query_one(rows::COUNT_CITIZENS, &[]).await?.get(0);
        Ok(n as u64)
    }

    async fn allocate_personal_id(&self, province: &str, sex: Sex, birth_year: i32) -> Result<PersonalId> {
        let prefix = rows::id_prefix(province, sex, birth_year)?;
        let client = self.client().await?;
        let taken = client.prepare_cached(rows::ID_TAKEN).await?;
        loop {
            let counter = self.next_counter(&client, &prefix).await?;
            let id = rows::id_candidate(province, sex, birth_year, counter)?;
            if client.query_opt(&taken, &[&id.as_str()]).await?.is_none() {
                return Ok(id);
            }
        }
    }
}

/// Counters reserved per round trip to a prefix's `id_allocations` row. The row is the
/// one place every server and the CLI take numbers from; a server takes a block of them at
/// once (one short statement, committed on its own) and gives them out from memory, so
/// concurrent births no longer wait in line for that row's lock and its commit. The numbers
/// of a block not given out when the process stops are never given out (like a sequence's
/// cache): gaps only, never a number twice.
pub(super) const ID_BLOCK: i64 = 64;

impl PgStore {
    async fn next_counter(&self, client: &deadpool_postgres::Object, prefix: &str) -> Result<i64> {
        let cached = {
            let mut blocks = self.id_blocks.lock().unwrap_or_else(|p| p.into_inner());
            blocks.get_mut(prefix).and_then(|ranges| {
                let next = ranges.first_mut().and_then(|r| r.next());
                ranges.retain(|r| !r.is_empty());
                next
            })
        };
        if let Some(n) = cached {
            return Ok(n);
        }
        let st = client.prepare_cached(rows::ID_RESERVE_BLOCK).await?;
        let start: i64 = client.query_one(&st, &[&prefix, &ID_BLOCK]).await?.get(0);
        let mut blocks = self.id_blocks.lock().unwrap_or_else(|p| p.into_inner());
        blocks.entry(prefix.to_string()).or_default().push(start + 1..start + ID_BLOCK);
        Ok(start)
    }
}
