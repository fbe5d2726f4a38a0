//! [`SqlExec`] for SQLite: queries on a read connection, transactions on the writer.

use async_trait::async_trait;
use rusqlite::types::ValueRef;
use rusqlite::{ffi, params, params_from_iter, ErrorCode, OptionalExtension};

use super::{immediate, SqliteStore, PH};
use crate::combine::{Group, GroupRun};
use crate::exec::{check_outcome, Cell, OwnedRow, SqlExec, Stmt, Val};
use crate::migrate::{self, Dialect, Migration, MigrationTarget};
use crate::{rows, Result, StoreError};

fn owned(r: &rusqlite::Row<'_>, n: usize) -> rusqlite::Result<OwnedRow> {
    let mut cells = Vec::with_capacity(n);
    for i in 0..n {
        cells.push(match r.get_ref(i)? {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(v) => Cell::Int(v),
            ValueRef::Real(v) => Cell::Int(v as i64),
            ValueRef::Text(t) | ValueRef::Blob(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        });
    }
    Ok(OwnedRow(cells))
}

#[async_trait]
impl SqlExec for SqliteStore {
    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<OwnedRow>> {
        let sql = PH.sql(sql);
        self.read(move |c, _| {
            let mut st = c.prepare_cached(&sql)?;
            let n = st.column_count();
            let rows = st.query_map(params_from_iter(&params), |r| owned(r, n))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn query_point(&self, sql: &str, params: Vec<Val>) -> Result<Vec<OwnedRow>> {
        let sql = PH.sql(sql);
        self.read_point(move |c, _| {
            let mut st = c.prepare_cached(&sql)?;
            let n = st.column_count();
            let rows = st.query_map(params_from_iter(&params), |r| owned(r, n))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    async fn transaction(&self, mut stmts: Vec<Stmt>) -> Result<()> {
        self.write(move |c, _| {
            let tx = immediate(c)?;
            run_stmts(&tx, &mut stmts)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn transaction_combined(&self, stmts: Vec<Stmt>) -> Result<()> {
        self.combined().call(stmts).await
    }
}

/// Runs statements in order on `c`, checking each one's outcome (the first failure stops).
fn run_stmts(c: &rusqlite::Connection, stmts: &mut [Stmt]) -> Result<()> {
    for s in stmts {
        let outcome = c
            .prepare_cached(&PH.sql(&s.sql))
            .and_then(|mut st| st.execute(params_from_iter(&s.params)))
            .map(|n| n as u64)
            .map_err(|e| {
                let unique = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
                    if f.code == ErrorCode::ConstraintViolation
                        && [ffi::SQLITE_CONSTRAINT_PRIMARYKEY, ffi::SQLITE_CONSTRAINT_UNIQUE]
                            .contains(&f.extended_code));
                (unique, StoreError::from(e))
            });
        check_outcome(s, outcome)?;
    }
    Ok(())
}

/// Runs groups of statements in one immediate transaction on the writer, each group under
/// a savepoint: a group that fails is rolled back alone and answered with its error.
pub(super) fn run_groups(c: &mut rusqlite::Connection, mut groups: Vec<Group>) -> GroupRun {
    let mut answers = Vec::with_capacity(groups.len());
    let batch = (|| -> Result<()> {
        let tx = immediate(c)?;
        for g in groups.iter_mut() {
            tx.execute_batch("SAVEPOINT g")?;
            let r = run_stmts(&tx, g);
            tx.execute_batch(if r.is_ok() { "RELEASE g" } else { "ROLLBACK TO g; RELEASE g" })?;
            answers.push(r);
        }
        tx.commit()?;
        Ok(())
    })();
    (groups, answers, batch)
}

/// SQLite's migrations table; only its writer connection migrates.
pub(super) const MIGRATION_DIALECT: Dialect = Dialect {
    create_table: "CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL, checksum TEXT)",
    has_checksum: "SELECT count(*) FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'",
    add_checksum: "ALTER TABLE schema_migrations ADD COLUMN checksum TEXT",
};

/// Everything runs on the writer connection, in immediate transactions: one migrating
/// process at a time.
#[async_trait]
impl MigrationTarget for SqliteStore {
    async fn script(&self, sql: &str) -> Result<()> {
        let sql = sql.to_string();
        self.write(move |c, _| {
            let tx = immediate(c)?;
            tx.execute_batch(&sql)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn rows(&self, sql: &str, params: Vec<Val>) -> Result<Vec<OwnedRow>> {
        let sql = PH.sql(sql);
        self.write(move |c, _| {
            let mut st = c.prepare(&sql)?;
            let n = st.column_count();
            let rows = st.query_map(params_from_iter(&params), |r| owned(r, n))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn statement(&self, sql: &str, params: Vec<Val>) -> Result<()> {
        let sql = PH.sql(sql);
        self.write(move |c, _| {
            c.execute(&sql, params_from_iter(&params))?;
            Ok(())
        })
        .await
    }

    async fn apply(&self, m: &Migration, checksum: &str) -> Result<bool> {
        let (m, checksum) = (*m, checksum.to_string());
        self.write(move |c, _| {
            let tx = immediate(c)?;
            let done = tx.query_row(&PH.sql(migrate::APPLIED_SQL), [m.version], |_| Ok(())).optional()?;
            if done.is_some() {
                return Ok(false);
            }
            tx.execute_batch(m.sql)?;
            tx.execute(
                &PH.sql(migrate::RECORD_SQL),
                params![m.version, m.name, checksum, rows::ts_text(&rows::now())],
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }
}
