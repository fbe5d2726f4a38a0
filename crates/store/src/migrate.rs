//! The schema migration runner, one for both backends. Migrations are the files under
//! `migrations/{sqlite,postgres}/`, embedded in the binary and applied in order, each in a
//! transaction of its own, recorded in `schema_migrations` with the SHA-256 of the file
//! (`checksum`, lower-case hex). On every start the runner checks the recorded checksums
//! against the files: an applied migration whose file was edited is refused, naming its
//! version, before anything else runs. A database migrated before checksums were kept gets
//! the column and the checksums of its applied migrations on the first start with this
//! runner.
//!
//! The backends provide only what differs ([`MigrationTarget`]): the table's column types,
//! how a column's presence is read, and the lock that keeps two processes from migrating at
//! once (PostgreSQL: an advisory lock; SQLite: its single writer).

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::exec::OwnedRow;
use crate::rows::{RowGet, Val};
use crate::{Result, StoreError};

/// One schema migration: applied in order, each in its own transaction, recorded in
/// `schema_migrations`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// What differs between the backends' migration tables.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// Creates `schema_migrations` (version, name, applied_at, checksum) if missing.
    pub create_table: &'static str,
    /// One row, one integer: 1 if `schema_migrations` has the `checksum` column.
    pub has_checksum: &'static str,
    /// Adds the `checksum` column to a table created before it existed.
    pub add_checksum: &'static str,
}

/// What a backend does for the runner. Statements are shared SQL with `$n` parameters.
#[async_trait]
pub(crate) trait MigrationTarget: Send + Sync {
    /// Runs `sql` (several statements, no parameters) in one transaction, holding the lock
    /// that serialises migration runners.
    async fn script(&self, sql: &str) -> Result<()>;

    /// Runs a query.
    async fn rows(&self, sql: &str, params: Vec<Val>) -> Result<Vec<OwnedRow>>;

    /// Runs a statement on its own.
    async fn statement(&self, sql: &str, params: Vec<Val>) -> Result<()>;

    /// In one transaction holding the lock: unless [`APPLIED_SQL`] finds `m.version`, runs
    /// `m.sql` and records it with [`RECORD_SQL`] (`$1` version, `$2` name, `$3` checksum,
    /// `$4` time). Whether it ran.
    async fn apply(&self, m: &Migration, checksum: &str) -> Result<bool>;
}

/// Whether migration `$1` is recorded.
pub(crate) const APPLIED_SQL: &str = "SELECT 1 FROM schema_migrations WHERE version = $1";

/// Records an applied migration.
pub(crate) const RECORD_SQL: &str =
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)";

const LIST_SQL: &str = "SELECT version, name, checksum FROM schema_migrations ORDER BY version";

/// Records the checksum of an applied migration that has none (applied before checksums).
const BACKFILL_SQL: &str =
    "UPDATE schema_migrations SET checksum = $1 WHERE version = $2 AND checksum IS NULL";

/// SHA-256 of a migration file, lower-case hex.
pub(crate) fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// The error for an applied migration whose file changed.
fn edited(m: &Migration, recorded: &str, now: &str) -> StoreError {
    StoreError::Config(format!(
        "migration {} ({}) was edited after it was applied to this database: schema_migrations \
         records checksum {recorded}, the file now has {now}. Restore the migration as it was \
         applied and put the change in a new migration",
        m.version, m.name
    ))
}

/// The versions recorded in `store`'s `schema_migrations`, in order (a replica is compared
/// with its primary by these).
pub(crate) async fn applied(store: &dyn crate::Store) -> Result<Vec<i64>> {
    let rows = store.exec().query(LIST_SQL, vec![]).await?;
    rows.iter().map(|r| r.int(0)).collect()
}

/// Checks the applied migrations against `migrations`, then applies the pending ones in
/// order. Returns the versions applied now.
pub(crate) async fn run(
    target: &dyn MigrationTarget,
    dialect: &Dialect,
    migrations: &[Migration],
    backend: &str,
) -> Result<Vec<i64>> {
    target.script(dialect.create_table).await?;
    let has_checksum = |rows: Vec<OwnedRow>| -> Result<bool> {
        Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) == 1)
    };
    if !has_checksum(target.rows(dialect.has_checksum, vec![]).await?)? {
        // Another process may add it at the same moment: then its presence is enough.
        if let Err(e) = target.script(dialect.add_checksum).await {
            if !has_checksum(target.rows(dialect.has_checksum, vec![]).await?)? {
                return Err(e);
            }
        }
        tracing::info!(backend, "schema_migrations: added the checksum column");
    }

    let applied = target.rows(LIST_SQL, vec![]).await?;
    for row in &applied {
        let version = row.int(0)?;
        let Some(m) = migrations.iter().find(|m| m.version == version) else {
            tracing::warn!(
                backend,
                version,
                name = row.text(1)?,
                "the database has a migration this binary does not know (migrated by a newer dancu?)"
            );
            continue;
        };
        let sum = checksum(m.sql);
        match row.opt_text(2)? {
            Some(recorded) if recorded == sum => {}
            Some(recorded) => return Err(edited(m, &recorded, &sum)),
            None => {
                target.statement(BACKFILL_SQL, vec![Val::Text(sum), Val::Int(version)]).await?;
                tracing::info!(
                    backend,
                    version,
                    name = m.name,
                    "recorded the checksum of an applied migration"
                );
            }
        }
    }

    let mut done = Vec::new();
    for m in migrations {
        if applied.iter().any(|r| r.int(0).ok() == Some(m.version)) {
            continue;
        }
        if target.apply(m, &checksum(m.sql)).await? {
            tracing::info!(backend, version = m.version, name = m.name, "applied migration");
            done.push(m.version);
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Cell;
    use std::sync::Mutex;

    /// A migrations table in memory: (version, name, checksum).
    #[derive(Default)]
    struct Fake {
        has_column: Mutex<bool>,
        table: Mutex<Vec<(i64, String, Option<String>)>>,
        ran: Mutex<Vec<&'static str>>,
    }

    #[async_trait]
    impl MigrationTarget for Fake {
        async fn script(&self, sql: &str) -> Result<()> {
            if sql == "ADD" {
                *self.has_column.lock().unwrap() = true;
            }
            Ok(())
        }
        async fn rows(&self, sql: &str, _: Vec<Val>) -> Result<Vec<OwnedRow>> {
            if sql == "HAS" {
                return Ok(vec![OwnedRow(vec![Cell::Int(*self.has_column.lock().unwrap() as i64)])]);
            }
            assert_eq!(sql, LIST_SQL);
            let t = self.table.lock().unwrap();
            Ok(t.iter()
                .map(|(v, n, c)| {
                    OwnedRow(vec![
                        Cell::Int(*v),
                        Cell::Text(n.clone()),
                        c.clone().map_or(Cell::Null, Cell::Text),
                    ])
                })
                .collect())
        }
        async fn statement(&self, sql: &str, params: Vec<Val>) -> Result<()> {
            assert_eq!(sql, BACKFILL_SQL);
            let (Val::Text(sum), Val::Int(v)) = (&params[0], &params[1]) else { panic!("{params:?}") };
            for row in self.table.lock().unwrap().iter_mut().filter(|r| r.0 == *v && r.2.is_none()) {
                row.2 = Some(sum.clone());
            }
            Ok(())
        }
        async fn apply(&self, m: &Migration, checksum: &str) -> Result<bool> {
            self.ran.lock().unwrap().push(m.sql);
            self.table.lock().unwrap().push((m.version, m.name.into(), Some(checksum.into())));
            Ok(true)
        }
    }

    const DIALECT: Dialect = Dialect { create_table: "CREATE", has_checksum: "HAS", add_checksum: "ADD" };

    fn m(version: i64, sql: &'static str) -> Migration {
        Migration { version, name: "m", sql }
    }

    #[tokio::test]
    async fn applies_pending_backfills_and_refuses_edits() {
        let fake = Fake::default();
        // A database from before checksums: migration 1 applied, no column.
        fake.table.lock().unwrap().push((1, "m".into(), None));
        let set = [m(1, "one"), m(2, "two")];
        assert_eq!(run(&fake, &DIALECT, &set, "fake").await.unwrap(), vec![2]);
        assert!(*fake.has_column.lock().unwrap());
        assert_eq!(*fake.ran.lock().unwrap(), vec!["two"]);
        let sums: Vec<Option<String>> = fake.table.lock().unwrap().iter().map(|r| r.2.clone()).collect();
        assert_eq!(sums, vec![Some(checksum("one")), Some(checksum("two"))]);
        assert_eq!(checksum("one").len(), 64);

        // Nothing pending: nothing runs.
        assert_eq!(run(&fake, &DIALECT, &set, "fake").await.unwrap(), Vec::<i64>::new());
        // Migration 2 edited (one byte more): refused, naming it, and 3 is not applied.
        let edited = [m(1, "one"), m(2, "two "), m(3, "three")];
        let err = run(&fake, &DIALECT, &edited, "fake").await.unwrap_err().to_string();
        assert!(err.contains("migration 2 (m) was edited"), "{err}");
        assert_eq!(fake.table.lock().unwrap().len(), 2);
    }
}
