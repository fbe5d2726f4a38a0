//! [`SqlExec`] for PostgreSQL: one pooled connection per call.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::Type;

use super::{refs, unique_violation, PgStore, MIGRATION_LOCK};
use crate::combine::{Group, GroupRun};
use crate::exec::{check_outcome, Cell, OwnedRow, SqlExec, Stmt, Val};
use crate::migrate::{self, Dialect, Migration, MigrationTarget};
use crate::{rows, Result, StoreError};

fn owned(r: &tokio_postgres::Row) -> Result<OwnedRow> {
    let mut cells = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let t = col.type_();
        let cell = if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(Cell::Int)
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?.map(|v| Cell::Int(v.into()))
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?.map(|v| Cell::Int(v.into()))
        } else if *t == Type::TIMESTAMPTZ {
            r.try_get::<_, Option<DateTime<Utc>>>(i)?.map(Cell::Ts)
        } else {
            r.try_get::<_, Option<String>>(i)?.map(Cell::Text)
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(OwnedRow(cells))
}

#[async_trait]
impl SqlExec for PgStore {
    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<OwnedRow>> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await?;
        c.query(&st, &refs(&params)).await?.iter().map(owned).collect()
    }

    async fn transaction(&self, mut stmts: Vec<Stmt>) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        run_pipelined(&tx, &mut stmts).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn transaction_combined(&self, stmts: Vec<Stmt>) -> Result<()> {
        self.combined().call(stmts).await
    }
}

/// Runs statements in order in `tx`, sent together (pipelined: the statements of a
/// transaction cost one round trip, not one each), then checks each one's outcome in order:
/// the first failure is the answer, and the transaction is not committed. A statement after
/// a failed one fails too (the transaction is aborted), so nothing runs that the one at a
/// time order would not have run, as far as what is committed goes.
async fn run_pipelined(tx: &deadpool_postgres::Transaction<'_>, stmts: &mut [Stmt]) -> Result<()> {
    if stmts.len() < 2 {
        return run_stmts(tx, stmts).await;
    }
    let prepared =
        futures_util::future::try_join_all(stmts.iter().map(|s| tx.prepare_cached(&s.sql))).await?;
    let params: Vec<_> = stmts.iter().map(|s| refs(&s.params)).collect();
    let outcomes =
        futures_util::future::join_all(prepared.iter().zip(&params).map(|(st, p)| tx.execute(st, p))).await;
    for (s, outcome) in stmts.iter_mut().zip(outcomes) {
        check_outcome(s, outcome.map_err(|e| (unique_violation(&e).is_some(), StoreError::from(e))))?;
    }
    Ok(())
}

/// Runs statements in order in `tx`, checking each one's outcome (the first failure stops).
async fn run_stmts(tx: &deadpool_postgres::Transaction<'_>, stmts: &mut [Stmt]) -> Result<()> {
    run_stmts_noting(tx, stmts, &mut false).await
}

/// [`run_stmts`], noting in `contended` whether a statement failed only because another
/// transaction held what it needed (a deadlock or a serialization failure): not the
/// request's fault, so it is run again rather than answered with the error.
async fn run_stmts_noting(
    tx: &deadpool_postgres::Transaction<'_>,
    stmts: &mut [Stmt],
    contended: &mut bool,
) -> Result<()> {
    use tokio_postgres::error::SqlState;
    for s in stmts {
        let st = tx.prepare_cached(&s.sql).await?;
        let outcome = tx.execute(&st, &refs(&s.params)).await.map_err(|e| {
            *contended = matches!(e.code(), Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::T_R_SERIALIZATION_FAILURE);
            (unique_violation(&e).is_some(), StoreError::from(e))
        });
        check_outcome(s, outcome)?;
    }
    Ok(())
}

/// Runs groups of statements in one transaction, each answered on its own.
///
/// First without savepoints, every statement of every group sent at once ([`run_flat`]):
/// one round trip for the batch, and no subtransactions. Only if a statement of that run
/// fails (a stale version, a retried key) is it rolled back and the batch run again with a
/// savepoint per group ([`run_savepointed`]), where a failing group is rolled back alone.
pub(super) async fn run_groups(pool: &deadpool_postgres::Pool, groups: Vec<Group>) -> GroupRun {
    match run_flat(pool, &groups).await {
        Ok(true) => {
            let answers = groups.iter().map(|_| Ok(())).collect();
            (groups, answers, Ok(()))
        }
        Ok(false) | Err(_) => run_savepointed(pool, groups).await,
    }
}

/// Runs every statement of `groups` pipelined in one transaction and commits only if all of
/// them succeeded as expected (`false`: something failed and nothing was kept). Each
/// statement of the savepoint path costs PostgreSQL a message and a wake-up of its own, and
/// each savepoint a subtransaction id (past 64 in one transaction, PostgreSQL's cache of
/// them overflows and other sessions' visibility checks look them up in `pg_subtrans`); the
/// flat run costs neither. The statements' expectations are only read, not taken, so that
/// the savepoint run after a failure still has them.
async fn run_flat(pool: &deadpool_postgres::Pool, groups: &[Group]) -> Result<bool> {
    let mut c = pool.get().await?;
    let tx = c.transaction().await?;
    let stmts: Vec<&Stmt> = groups.iter().flatten().collect();
    let prepared =
        futures_util::future::try_join_all(stmts.iter().map(|s| tx.prepare_cached(&s.sql))).await?;
    let params: Vec<_> = stmts.iter().map(|s| refs(&s.params)).collect();
    let outcomes =
        futures_util::future::join_all(prepared.iter().zip(&params).map(|(st, p)| tx.execute(st, p))).await;
    let as_expected = |(s, outcome): (&&Stmt, &std::result::Result<u64, tokio_postgres::Error>)| match outcome
    {
        Ok(n) => s.expect_rows.as_ref().is_none_or(|(want, _)| want == n),
        Err(_) => false,
    };
    if !stmts.iter().zip(&outcomes).all(as_expected) {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Runs groups of statements in one transaction, each group under a savepoint: a group that
/// fails is rolled back alone and answered with its error. Releasing one savepoint and
/// setting the next is one round trip.
async fn run_savepointed(pool: &deadpool_postgres::Pool, mut groups: Vec<Group>) -> GroupRun {
    let mut answers = Vec::with_capacity(groups.len());
    let batch = async {
        let mut c = pool.get().await?;
        let tx = c.transaction().await?;
        let mut before = "SAVEPOINT g";
        for g in groups.iter_mut() {
            tx.batch_execute(before).await?;
            let mut contended = false;
            let r = run_stmts_noting(&tx, g, &mut contended).await;
            if contended {
                // Two batches took the same rows in opposite orders (a retried key in each):
                // end this batch; `combine::settle` runs the groups not yet answered alone.
                return Err(r.err().unwrap_or_else(|| StoreError::Backend("deadlock".into())));
            }
            before = if r.is_ok() {
                "RELEASE SAVEPOINT g; SAVEPOINT g"
            } else {
                "ROLLBACK TO SAVEPOINT g; RELEASE SAVEPOINT g; SAVEPOINT g"
            };
            answers.push(r);
        }
        if answers.last().is_some_and(Result::is_err) {
            tx.batch_execute("ROLLBACK TO SAVEPOINT g").await?;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(())
    }
    .await;
    (groups, answers, batch)
}

/// PostgreSQL's migrations table.
pub(super) const MIGRATION_DIALECT: Dialect = Dialect {
    create_table: "CREATE TABLE IF NOT EXISTS schema_migrations (
        version bigint PRIMARY KEY, name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(), checksum text)",
    has_checksum: "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() \
         AND table_name = 'schema_migrations' AND column_name = 'checksum'",
    add_checksum: "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text",
};

/// Every transaction that changes the schema first takes an advisory lock, so that servers
/// starting together migrate one after the other.
#[async_trait]
impl MigrationTarget for PgStore {
    async fn script(&self, sql: &str) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        tx.batch_execute(sql).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rows(&self, sql: &str, params: Vec<Val>) -> Result<Vec<OwnedRow>> {
        let c = self.client().await?;
        c.query(sql, &refs(&params)).await?.iter().map(owned).collect()
    }

    async fn statement(&self, sql: &str, params: Vec<Val>) -> Result<()> {
        self.client().await?.execute(sql, &refs(&params)).await?;
        Ok(())
    }

    async fn apply(&self, m: &Migration, checksum: &str) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        if tx.query_opt(migrate::APPLIED_SQL, &[&m.version]).await?.is_some() {
            tx.commit().await?;
            return Ok(false);
        }
        tx.batch_execute(m.sql).await?;
        tx.execute(migrate::RECORD_SQL, &[&m.version, &m.name, &checksum, &rows::now()]).await?;
        tx.commit().await?;
        Ok(true)
    }
}
