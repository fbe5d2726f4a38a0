//! PostgreSQL: bulk imports through binary `COPY` (straight into the tables for new data, else
//! through a staging table), with the indexes and the household foreign key deferred.

use std::collections::HashMap;

use async_trait::async_trait;
use bytes::{BufMut, BytesMut};
use chrono::{TimeZone, Utc};
use deadpool_postgres::GenericClient;
use futures_util::SinkExt;

use super::{unique_violation, PgStore};
use crate::import::{self, Fate, ImportItem, Stored};
use crate::model::*;
use crate::rows::{self, Val};
use crate::{ImportStore, Result, StoreError};

/// The foreign key from a citizen's household to `households`, which a bulk import drops
/// with the deferrable indexes (checking it costs a query per row) and validates at the end.
pub(super) const HOUSEHOLD_FK: &str = "citizens_household_fk";

impl PgStore {
    /// Recreates what `begin_import` dropped: the deferrable indexes, built in parallel on
    /// connections of their own, then the household foreign key. Whether anything was missing.
    /// `warn`: at open, where anything missing was left by an interrupted import.
    pub(super) async fn restore_deferred(&self, warn: bool) -> Result<bool> {
        let client = self.client().await?;
        let mut missing = Vec::new();
        for (name, sql) in rows::DEFERRABLE_INDEXES {
            let exists: bool = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&name]).await?.get(0);
            if !exists {
                missing.push((name, sql));
            }
        }
        let fk: bool = client
            .query_one("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = $1)", &[&HOUSEHOLD_FK])
            .await?
            .get(0);
        if warn {
            let mut names: Vec<&str> = missing.iter().map(|(n, _)| *n).collect();
            if !fk {
                names.push(HOUSEHOLD_FK);
            }
            crate::deferred::warn_missing("postgres", &names);
        }
        let builds = missing.iter().map(|(name, sql)| async move {
            let c = self.client().await?;
            let t = std::time::Instant::now();
            c.batch_execute(&format!(
                "SET maintenance_work_mem = '256MB'; {sql}; RESET maintenance_work_mem"
            ))
            .await?;
            tracing::info!(index = name, seconds = t.elapsed().as_secs_f64(), "built index");
            Ok::<_, StoreError>(())
        });
        futures_util::future::try_join_all(builds).await?;
        if !fk {
            client
                .batch_execute(&format!(
                    "ALTER TABLE citizens ADD CONSTRAINT {HOUSEHOLD_FK} \
                     FOREIGN KEY (household_no) REFERENCES households (number)"
                ))
                .await?;
        }
        Ok(!missing.is_empty() || !fk)
    }
}

pub(super) const COPY_HOUSEHOLDS: &str =
    "COPY households (number, version, updated_at, updated_by, change_reason) FROM STDIN (FORMAT binary)";

/// Binary `COPY` data of new households.
pub(super) fn household_copy_data(numbers: &[&str], change: &Change) -> bytes::Bytes {
    let mut buf = BytesMut::with_capacity(numbers.len() * 80 + 64);
    buf.put_slice(b"PGCOPY\n\xff\r\n\0");
    buf.put_i32(0);
    buf.put_i32(0);
    let meta = rows::change_meta(1, change);
    for n in numbers {
        put_row(&mut buf, &[&[Val::Text(n.to_string())], &meta]);
    }
    buf.put_i16(-1);
    buf.freeze()
}

/// Binary `COPY` data of the rows to insert, and how many there are.
pub(super) fn copy_data(items: &[ImportItem], fates: &[Fate], meta: &[Val]) -> (bytes::Bytes, u64) {
    let mut buf = BytesMut::with_capacity(items.len() * 400 + 64);
    buf.put_slice(b"PGCOPY\n\xff\r\n\0");
    buf.put_i32(0);
    buf.put_i32(0);
    let mut n = 0;
    for (it, fate) in items.iter().zip(fates) {
        if *fate == Fate::Insert {
            n += 1;
            put_row(&mut buf, &[&it.cols.vals, meta, &rows::household_vals(it.household.as_ref())]);
        }
    }
    buf.put_i16(-1);
    (buf.freeze(), n)
}

/// Runs a `COPY … FROM STDIN` with `data`; the number of rows copied.
pub(super) async fn copy_in(
    tx: &tokio_postgres::Transaction<'_>,
    statement: &str,
    data: bytes::Bytes,
) -> std::result::Result<u64, tokio_postgres::Error> {
    let sink = tx.copy_in::<_, bytes::Bytes>(statement).await?;
    let mut sink = std::pin::pin!(sink);
    let mut at = 0;
    while at < data.len() {
        let end = (at + (1 << 20)).min(data.len());
        sink.send(data.slice(at..end)).await?;
        at = end;
    }
    sink.as_mut().finish().await
}

/// Microseconds since 2000-01-01 UTC, PostgreSQL's binary timestamp.
pub(super) fn pg_micros(t: &Timestamp) -> i64 {
    let epoch = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    (*t - epoch).num_microseconds().unwrap_or(i64::MAX)
}

pub(super) fn put_text(buf: &mut BytesMut, s: &str) {
    buf.put_i32(s.len() as i32);
    buf.put_slice(s.as_bytes());
}

/// One row of binary `COPY` data: the values of `parts`, in order.
pub(super) fn put_row(buf: &mut BytesMut, parts: &[&[Val]]) {
    buf.put_i16(parts.iter().map(|p| p.len()).sum::<usize>() as i16);
    for v in parts.iter().flat_map(|p| p.iter()) {
        match v {
            Val::Text(s) | Val::OptText(Some(s)) => put_text(buf, s),
            Val::OptText(None) | Val::Null => buf.put_i32(-1),
            Val::Int(i) => {
                buf.put_i32(8);
                buf.put_i64(*i);
            }
            Val::Ts(t) => {
                buf.put_i32(8);
                buf.put_i64(pg_micros(t));
            }
        }
    }
}

#[async_trait]
impl ImportStore for PgStore {
    async fn import_batch_with(
        &self,
        batch: &[ImportRow],
        change: &Change,
        opts: &ImportOptions,
    ) -> Result<ImportOutcome> {
        let (items, rejected) = import::prepare_import(batch);
        let mut client = self.client().await?;
        let mut tx = client.transaction().await?;

        // The batch's households that exist, with their heads: one query.
        let numbers = import::household_numbers(&items);
        let known: HashMap<String, Option<String>> = if numbers.is_empty() {
            HashMap::new()
        } else {
            let st = tx.prepare_cached(import::HOUSEHOLD_HEADS_SQL).await?;
            tx.query(&st, &[&numbers]).await?.iter().map(|r| (r.get(0), r.get(1))).collect()
        };

        let outcome = |fates: &[Fate], inserted: u64| {
            let mut out = ImportOutcome { rejected: rejected.clone(), inserted, ..Default::default() };
            for (it, fate) in items.iter().zip(fates) {
                match fate {
                    Fate::Skip => out.skipped_existing += 1,
                    Fate::Reject(v) => out.rejected.push((it.line, v.clone())),
                    Fate::Insert => {}
                }
            }
            out.rejected.sort_by_key(|(line, _)| *line);
            out
        };
        let meta = rows::citizen_meta(1, change);

        // Fast path, for new data: no household of the batch exists, so assume no personal
        // ID is stored either and COPY straight into the tables. Should one be stored (a
        // re-run), the savepoint undoes the COPY and the exact path below decides. A row
        // refused within the batch may as well be a stored one, so refusals take the exact
        // path too.
        if known.is_empty() {
            let fates = import::plan_import(&items, opts, |_| Ok(Stored::Absent), |_| Ok(None))?;
            if !fates.iter().any(|f| matches!(f, Fate::Reject(_))) {
                let (data, accepted) = copy_data(&items, &fates, &meta);
                if accepted == 0 {
                    tx.commit().await?;
                    return Ok(outcome(&fates, 0));
                }
                let new = import::new_households(&items, &fates);
                let sp = tx.savepoint("import_copy").await?;
                let copied = async {
                    if !new.is_empty() {
                        copy_in(&sp, COPY_HOUSEHOLDS, household_copy_data(&new, change)).await?;
                    }
                    copy_in(&sp, &self.sql.copy_citizens, data).await
                };
                match copied.await {
                    Ok(n) => {
                        sp.commit().await?;
                        tx.commit().await?;
                        return Ok(outcome(&fates, n));
                    }
                    Err(e) if matches!(unique_violation(&e), Some("citizens_pkey" | "households_pkey")) => {
                        sp.rollback().await?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }

        // Exact path: what is stored under the batch's personal IDs (one query), the plan,
        // then the new rows staged and inserted, skipping any stored meanwhile.
        let ids: Vec<&str> = items.iter().map(|i| i.cols.id()).collect();
        let st = tx.prepare_cached(&import::STORED_SQL).await?;
        let stored: HashMap<String, tokio_postgres::Row> =
            tx.query(&st, &[&ids]).await?.into_iter().map(|r| (r.get(0), r)).collect();
        let fates = import::plan_import(
            &items,
            opts,
            |it| match stored.get(it.cols.id()) {
                None => Ok(Stored::Absent),
                Some(r) => import::compare_stored(r, it),
            },
            |no| Ok(known.get(no).cloned()),
        )?;
        let (data, accepted) = copy_data(&items, &fates, &meta);
        if accepted == 0 {
            tx.commit().await?;
            return Ok(outcome(&fates, 0));
        }
        let numbers = import::new_households(&items, &fates);
        if !numbers.is_empty() {
            let st = tx
                .prepare_cached(
                    "INSERT INTO households (number, version, updated_at, updated_by, change_reason) \
                     SELECT n, 1, $2, $3, $4 FROM unnest($1::text[]) AS n ON CONFLICT (number) DO NOTHING",
                )
                .await?;
            tx.execute(&st, &[&numbers, &change.at, &change.actor, &change.reason]).await?;
        }
        tx.batch_execute("CREATE TEMP TABLE import_stage (LIKE citizens) ON COMMIT DROP").await?;
        copy_in(&tx, &self.sql.copy_stage, data).await?;
        let inserted = tx
            .execute(
                "INSERT INTO citizens SELECT * FROM import_stage ON CONFLICT (personal_id) DO NOTHING",
                &[],
            )
            .await?;
        if inserted != accepted {
            // Another writer stored some of these personal IDs since the check above.
            return Err(StoreError::Backend(format!(
                "{} of the batch's citizens were stored concurrently; retry the batch",
                accepted - inserted
            )));
        }
        tx.commit().await?;
        Ok(outcome(&fates, inserted))
    }

    async fn begin_import(&self, expected_rows: u64) -> Result<bool> {
        let client = self.client().await?;
        let stored: f32 = client
            .query_one("SELECT reltuples FROM pg_class WHERE oid = 'citizens'::regclass", &[])
            .await?
            .get(0);
        if !rows::should_defer_indexes(expected_rows, stored.max(0.0) as u64) {
            return Ok(false);
        }
        let mut sql = format!("ALTER TABLE citizens DROP CONSTRAINT IF EXISTS {HOUSEHOLD_FK};");
        for (name, _) in rows::DEFERRABLE_INDEXES {
            sql.push_str(&format!(" DROP INDEX IF EXISTS {name};"));
        }
        client.batch_execute(&sql).await?;
        Ok(true)
    }

    async fn finish_import(&self) -> Result<()> {
        if self.restore_deferred(false).await? {
            // Fresh statistics for the planner after a large load (the expression index of
            // migration 0016 has none until then), and the visibility map set, so that the
            // search indexes answer index-only at once rather than after autovacuum, which
            // would otherwise run over the whole table while the server is in use.
            self.client().await?.batch_execute("VACUUM (ANALYZE) citizens").await?;
        }
        Ok(())
    }
}
