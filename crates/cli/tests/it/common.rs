//! What the CLI tests share: the PostgreSQL server to test against and its test databases,
//! each dropped when its test ends.

use std::process::Command;

pub fn pg_url() -> String {
    std::env::var("DANCU_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Runs SQL with `psql`; whether it succeeded.
pub fn psql(url: &str, sql: &str) -> bool {
    Command::new("psql").arg(url).args(["-qc", sql]).output().map(|o| o.status.success()).unwrap_or(false)
}

/// A PostgreSQL test database, dropped (its connections closed) when the value is.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if !psql(&pg_url(), &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)) {
            eprintln!("could not drop the test database {}", self.url);
        }
    }
}

/// A fresh PostgreSQL database named `dancu_<prefix>_…`, or None (a failure in CI) when
/// PostgreSQL is unreachable.
pub fn fresh_pg(prefix: &str) -> Option<PgDatabase> {
    let name = format!("dancu_{prefix}_{}_{}", std::process::id(), rand::random::<u32>());
    if psql(&pg_url(), &format!("CREATE DATABASE {name}")) {
        let base = pg_url();
        let url = format!("{}/{}", &base[..base.rfind('/').unwrap()], name);
        return Some(PgDatabase { url, name });
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("PostgreSQL unreachable in CI at {}", pg_url());
    }
    eprintln!("SKIPPING PostgreSQL: unreachable at {}", pg_url());
    None
}

/// Runs each named behaviour, a `fn(url: &str, dir: &Path)` given a fresh database and an
/// empty temporary folder, as two tests: `<name>::sqlite` and `<name>::postgres` (skipped
/// with a message when PostgreSQL is unreachable, a failure in CI).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("t.db").display());
                super::$name(&url, dir.path())
            }

            #[test]
            fn postgres() {
                let Some(db) = $crate::common::fresh_pg("cli") else { return };
                let dir = tempfile::tempdir().unwrap();
                super::$name(&db.url, dir.path())
            }
        }
    )*};
}
pub(crate) use on_both_backends;
