use dancu_domain::Violation;

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
    /// A database failure; the text goes to the log, never to a client.
    #[error("database: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Backend(format!("json: {e}"))
    }
}
