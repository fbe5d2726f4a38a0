//! SQLite: bulk imports (foreign keys off per batch, deferred indexes, a bigger writer cache for
//! the load).

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::{immediate, set_cache, Sql, SqliteStore, IMPORT_CACHE_KIB, PH, WRITER_CACHE_KIB};
use crate::import::{self, Fate, ImportItem, Stored};
use crate::model::*;
use crate::rows::{self, Val};
use crate::{ImportStore, Result, StoreError};

/// The deferrable indexes that do not exist.
pub(super) fn missing_indexes(c: &Connection) -> Result<Vec<&'static str>> {
    let mut missing = Vec::new();
    for (name, _) in rows::DEFERRABLE_INDEXES {
        let exists = c
            .query_row("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1", [name], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            missing.push(name);
        }
    }
    Ok(missing)
}

pub(super) fn create_indexes(c: &Connection) -> Result<()> {
    c.execute_batch("PRAGMA threads = 2")?;
    let missing = missing_indexes(c)?;
    for (name, sql) in rows::DEFERRABLE_INDEXES.iter().filter(|(n, _)| missing.contains(n)) {
        let t = std::time::Instant::now();
        c.execute_batch(sql)?;
        tracing::info!(index = name, seconds = t.elapsed().as_secs_f64(), "built index");
    }
    Ok(())
}

/// One import batch in one transaction (see `import_batch_with`): every row is decided
/// first ([`import::plan_import`]), then the accepted rows are inserted. As on PostgreSQL,
/// new data takes a fast path: the plan assumes no personal ID is stored (only household
/// numbers are looked up), and should an insert find one stored after all (a re-run), the
/// transaction is rolled back and the batch decided again looking every personal ID up.
pub(super) fn import_tx(
    conn: &mut Connection,
    sql: &Sql,
    items: &[ImportItem],
    opts: &ImportOptions,
    meta: &[Val; 5],
    who: (&str, &str, &str),
    out: &mut ImportOutcome,
) -> Result<()> {
    if let Some(done) = import_attempt(conn, sql, items, opts, meta, who, false)? {
        merge_outcome(out, done);
        return Ok(());
    }
    let done = import_attempt(conn, sql, items, opts, meta, who, true)?
        .ok_or_else(|| StoreError::Backend("the exact import path gave up".into()))?;
    merge_outcome(out, done);
    Ok(())
}

pub(super) fn merge_outcome(out: &mut ImportOutcome, done: ImportOutcome) {
    out.inserted += done.inserted;
    out.skipped_existing += done.skipped_existing;
    out.rejected.extend(done.rejected);
}

/// One try of [`import_tx`]; `None` (nothing written) when the fast path (`exact` false)
/// does not apply.
pub(super) fn import_attempt(
    conn: &mut Connection,
    sql: &Sql,
    items: &[ImportItem],
    opts: &ImportOptions,
    meta: &[Val; 5],
    (at, actor, reason): (&str, &str, &str),
    exact: bool,
) -> Result<Option<ImportOutcome>> {
    let mut out = ImportOutcome::default();
    let tx = immediate(conn)?;
    {
        let mut find = tx.prepare_cached(&sql.import_stored)?;
        let mut heads = tx.prepare_cached(&sql.import_household)?;
        let fates = import::plan_import(
            items,
            opts,
            |it| {
                if !exact {
                    return Ok(Stored::Absent);
                }
                let mut rs = find.query([it.cols.id()])?;
                match rs.next()? {
                    None => Ok(Stored::Absent),
                    Some(r) => import::compare_stored(r, it),
                }
            },
            |no| Ok(heads.query_row([no], |r| r.get::<_, Option<String>>(1)).optional()?),
        )?;
        if !exact && fates.iter().any(|f| matches!(f, Fate::Reject(_))) {
            // A refusal may as well be a stored row: decide exactly.
            return Ok(None);
        }
        let mut hh = tx.prepare_cached(&PH.sql(rows::HOUSEHOLD_INSERT))?;
        for no in import::new_households(items, &fates) {
            hh.execute(params![no, at, actor, reason])?;
        }
        let mut ins = tx.prepare_cached(&sql.import_citizen)?;
        // The bookkeeping columns are the same for every row: bound once.
        let n = rows::CITIZEN_COLUMNS.len();
        for (i, v) in meta.iter().enumerate() {
            ins.raw_bind_parameter(n + 1 + i, v)?;
        }
        for (it, fate) in items.iter().zip(fates) {
            match fate {
                Fate::Skip => out.skipped_existing += 1,
                Fate::Reject(v) => out.rejected.push((it.line, v)),
                Fate::Insert => {
                    for (i, v) in it.cols.vals.iter().enumerate() {
                        ins.raw_bind_parameter(i + 1, v)?;
                    }
                    for (i, v) in rows::household_vals(it.household.as_ref()).iter().enumerate() {
                        ins.raw_bind_parameter(n + meta.len() + 1 + i, v)?;
                    }
                    if ins.raw_execute()? == 1 {
                        out.inserted += 1;
                    } else if !exact {
                        // Stored after all: the transaction is rolled back when dropped.
                        return Ok(None);
                    } else {
                        // The exact plan saw the database in this transaction: nothing
                        // should be ignored here.
                        out.rejected.push((it.line, rows::row_refused()));
                    }
                }
            }
        }
    }
    tx.commit()?;
    Ok(Some(out))
}

#[async_trait]
impl ImportStore for SqliteStore {
    async fn import_batch_with(
        &self,
        batch: &[ImportRow],
        change: &Change,
        opts: &ImportOptions,
    ) -> Result<ImportOutcome> {
        let (items, rejected) = import::prepare_import(batch);
        let opts = *opts;
        let meta = rows::citizen_meta(1, change);
        let (at, actor, reason) = (rows::ts_text(&change.at), change.actor.clone(), change.reason.clone());
        self.write(move |conn, sql| {
            let mut out = ImportOutcome { rejected, ..Default::default() };
            // Every household a row names is inserted just before the row, in the same
            // transaction, so the per-row foreign-key look-up can only succeed: skipped.
            conn.execute_batch("PRAGMA foreign_keys = OFF")?;
            // Foreign keys come back on even if the batch panics (the connection is reused).
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                import_tx(conn, sql, &items, &opts, &meta, (&at, &actor, &reason), &mut out)
            }));
            conn.execute_batch("PRAGMA foreign_keys = ON")?;
            result.unwrap_or_else(|p| std::panic::resume_unwind(p))?;
            out.rejected.sort_by_key(|(line, _)| *line);
            Ok(out)
        })
        .await
    }

    async fn begin_import(&self, expected_rows: u64) -> Result<bool> {
        let deferred = self
            .write(move |c, _| {
                let stored: i64 =
                    c.query_row("SELECT coalesce(max(rowid), 0) FROM citizens", [], |r| r.get(0))?;
                if !rows::should_defer_indexes(expected_rows, stored as u64) {
                    return Ok(false);
                }
                for (name, _) in rows::DEFERRABLE_INDEXES {
                    c.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
                }
                set_cache(c, IMPORT_CACHE_KIB)?;
                Ok(true)
            })
            .await?;
        if deferred {
            // One checkpoint at the end instead of many during the load.
            self.inner.pause_checkpoints(true);
        }
        Ok(deferred)
    }

    async fn finish_import(&self) -> Result<()> {
        let result = self
            .write(|c, _| {
                create_indexes(c)?;
                c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
                set_cache(c, WRITER_CACHE_KIB)?;
                Ok(())
            })
            .await;
        self.inner.pause_checkpoints(false);
        result
    }
}
