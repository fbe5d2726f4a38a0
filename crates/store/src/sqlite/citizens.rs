//! SQLite: citizens and personal ID allocation.

use async_trait::async_trait;
use dancu_domain::{Citizen, PersonalId, Sex};
use rusqlite::{params, params_from_iter, Connection};

use super::{immediate, page, Sql, SqliteStore, PH};
use crate::model::*;
use crate::rows;
use crate::{CitizenStore, Result, StoreError};

pub(super) fn get_stored(c: &Connection, sql: &Sql, id: &str) -> Result<Option<StoredCitizen>> {
    let mut st = c.prepare_cached(&sql.stored_by_id)?;
    let mut rs = st.query([id])?;
    match rs.next()? {
        Some(r) => Ok(Some(rows::stored_from_row(r)?)),
        None => Ok(None),
    }
}

#[async_trait]
impl CitizenStore for SqliteStore {
    async fn create_citizen(&self, c: &Citizen, change: &Change) -> Result<StoredCitizen> {
        let cols = rows::CitizenCols::new(c).map_err(|v| StoreError::Invalid(vec![v]))?;
        let stored = rows::new_stored(c, &cols, change);
        let meta = rows::citizen_meta(1, change);
        self.write(move |conn, sql| {
            let n = conn.prepare_cached(&sql.insert_citizen)?.execute(params_from_iter(
                cols.vals.iter().chain(&meta).chain(&rows::household_vals(None)),
            ))?;
            if n == 0 {
                return Err(StoreError::Conflict(rows::duplicate_id(cols.id())));
            }
            Ok(stored)
        })
        .await
    }

    async fn update_citizen(
        &self,
        c: &Citizen,
        expected_version: i64,
        change: &Change,
    ) -> Result<StoredCitizen> {
        let cols = rows::CitizenCols::new(c).map_err(|v| StoreError::Invalid(vec![v]))?;
        let change = change.clone();
        self.write(move |conn, sql| {
            let tx = immediate(conn)?;
            let prev = {
                let mut st = tx.prepare_cached(&sql.current_for_update)?;
                let mut rs = st.query([cols.id()])?;
                match rs.next()? {
                    Some(r) => rows::current_from_row(r)?,
                    None => return Err(StoreError::NotFound),
                }
            };
            rows::check_version(expected_version, prev.version)?;
            tx.prepare_cached(&PH.sql(rows::CITIZEN_HISTORY_INSERT))?.execute(params![
                cols.id(),
                prev.version,
                serde_json::to_string(&prev.citizen)?,
                rows::ts_text(&prev.changed_at),
                prev.changed_by,
                prev.reason
            ])?;
            let meta = rows::change_meta(prev.version + 1, &change);
            tx.prepare_cached(&sql.update_citizen)?
                .execute(params_from_iter(cols.vals.iter().chain(meta.iter())))?;
            let stored = get_stored(&tx, sql, cols.id())?.ok_or(StoreError::NotFound)?;
            tx.commit()?;
            Ok(stored)
        })
        .await
    }

    async fn get_citizen(&self, id: &PersonalId) -> Result<Option<StoredCitizen>> {
        self.read_point(|c, sql| get_stored(c, sql, id.as_str()))
    }

    async fn citizen_history(&self, id: &PersonalId) -> Result<Vec<CitizenVersion>> {
        let id = *id;
        self.read(move |c, sql| {
            let mut st = c.prepare_cached(&sql.citizen_history)?;
            let v = st.query_and_then([id.as_str()], |r| rows::history_from_row(r))?.collect();
            v
        })
        .await
    }

    async fn search_citizens(&self, q: &CitizenQuery, scope: &Scope) -> Result<Page<CitizenSummary>> {
        let plans = rows::search_plans(q, scope, PH);
        let offset = q.offset;
        self.read(move |c, _| {
            let tx = c.unchecked_transaction()?;
            let mut found = None;
            for (count_sql, page_sql, f, limit) in &plans {
                let p = page(&tx, count_sql, page_sql, f, *limit, offset, |r| rows::summary_from_row(r))?;
                let done = p.total > 0;
                found = Some(p);
                if done {
                    break;
                }
            }
            tx.finish()?;
            Ok(found.expect("search_plans gives at least one plan"))
        })
        .await
    }

    async fn count_citizens(&self) -> Result<u64> {
        self.read(|c, _| Ok(c.query_row(rows::COUNT_CITIZENS, [], |r| r.get::<_, i64>(0))? as u64)).await
    }

    async fn allocate_personal_id(&self, province: &str, sex: Sex, birth_year: i32) -> Result<PersonalId> {
        let prefix = rows::id_prefix(province, sex, birth_year)?;
        let province = province.to_string();
        self.write(move |conn, _| {
            let tx = immediate(conn)?;
            let id = {
                let mut next = tx.prepare_cached(&PH.sql(rows::ID_NEXT_COUNTER))?;
                let mut taken = tx.prepare_cached(&PH.sql(rows::ID_TAKEN))?;
                loop {
                    let counter: i64 = next.query_row([&prefix], |r| r.get(0))?;
                    let id = rows::id_candidate(&province, sex, birth_year, counter)?;
                    if !taken.exists([id.as_str()])? {
                        break id;
                    }
                }
            };
            tx.commit()?;
            Ok(id)
        })
        .await
    }
}
