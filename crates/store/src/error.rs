use std::fmt;

use dancu_domain::Violation;

/// What storage answers when it cannot do what was asked. The first variants are answers
/// for the caller (missing, out of scope, a broken rule, a stale version); the others are
/// failures, which go to the log and never to a client. A failure keeps the error it comes
/// from as its [`source`](std::error::Error::source), so the whole chain can be logged
/// ([`StoreError::report`], [`StoreError::log_fields`]), with PostgreSQL's SQLSTATE, message
/// and detail.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The record exists but lies outside the caller's scope; carries its subject (a
    /// personal ID) for the audit log. Callers answer it exactly like `NotFound`.
    #[error("not found")]
    OutOfScope { subject: String },
    /// A rule the database enforces (unique personal ID, one head per household, …).
    #[error("{0}")]
    Conflict(Violation),
    #[error("invalid: {0:?}")]
    Invalid(Vec<Violation>),
    #[error("the record changed since version {expected}; now {actual}")]
    VersionMismatch { expected: i64, actual: i64 },
    #[error("configuration: {0}")]
    Config(String),
    /// SQLite failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed; [`StoreError::postgres`] gives the server's SQLSTATE, message and
    /// detail.
    #[error("PostgreSQL{code}: {error}", code = sqlstate(.0), error = .0)]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool.
    #[error("PostgreSQL pool{code}: {error}", code = pool_sqlstate(.0), error = .0)]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A task running a blocking database call panicked or was cancelled.
    #[error("blocking task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A stored value the model cannot read.
    #[error("stored {what} is invalid: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// Any other database failure, with no error beneath it (a stopped queue, a batch that
    /// lost a race).
    #[error("database: {0}")]
    Backend(String),
}

/// ` (SQLSTATE xxxxx)` for an error the server reported, else nothing.
fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| format!(" (SQLSTATE {})", d.code().code())).unwrap_or_default()
}

fn pool_sqlstate(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(e) => sqlstate(e),
        _ => String::new(),
    }
}

/// What the log needs of a failure: the whole chain of errors, and for PostgreSQL the
/// server's SQLSTATE, message and detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFields {
    /// Every error of the chain, outermost first, joined with `: `.
    pub chain: String,
    pub sqlstate: Option<String>,
    pub message: Option<String>,
    pub detail: Option<String>,
}

/// The error reported by a PostgreSQL server.
pub use tokio_postgres::error::DbError;

impl StoreError {
    /// Whether this is a failure of the database (or of the store's machinery) rather than
    /// an answer for the caller: such an error is logged and the client told only that
    /// something failed.
    pub fn is_failure(&self) -> bool {
        !matches!(
            self,
            StoreError::NotFound
                | StoreError::OutOfScope { .. }
                | StoreError::Conflict(_)
                | StoreError::Invalid(_)
                | StoreError::VersionMismatch { .. }
        )
    }

    /// The error a PostgreSQL server reported, if this is one: its `code()` (SQLSTATE),
    /// `message()`, `detail()`, `constraint()`, ….
    pub fn postgres(&self) -> Option<&DbError> {
        match self {
            StoreError::Postgres(e) => e.as_db_error(),
            StoreError::Pool(deadpool_postgres::PoolError::Backend(e)) => e.as_db_error(),
            _ => None,
        }
    }

    /// Displays the whole chain of errors, outermost first, joined with `: ` (a cause whose
    /// text the previous one already ends with is not repeated).
    pub fn report(&self) -> Report<'_> {
        Report(self)
    }

    /// The fields to log a failure with (see [`LogFields`]).
    pub fn log_fields(&self) -> LogFields {
        let db = self.postgres();
        LogFields {
            chain: self.report().to_string(),
            sqlstate: db.map(|d| d.code().code().to_string()),
            message: db.map(|d| d.message().to_string()),
            detail: db.and_then(|d| d.detail()).map(str::to_string),
        }
    }
}

/// See [`StoreError::report`]; works for any error.
pub struct Report<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            let text = e.to_string();
            if !last.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            cause = e.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
