//! Storage for dancu: the narrow storage traits ([`traits`]: [`CitizenStore`],
//! [`HouseholdStore`], [`CardStore`], …), bundled by [`Store`], and their two implementations, embedded SQLite
//! (`sqlite://path`, the default) and PostgreSQL (`postgres://…`). Each backend has its own
//! versioned migrations, run on open. One conformance suite (`tests/conformance/`) runs
//! against both.
//!
//! Outside this crate, personal data is reached only through [`registry::Registry`], which
//! scopes and audits every access, and authentication data through [`Accounts`]; both come
//! from an opened [`Database`]. The storage traits, `open` and the backends are public only
//! with the `raw` feature, which only the test suites enable.

pub mod applications;
pub mod audit_chain;
pub mod chains;
mod combine;
pub mod confirmations;
mod database;
pub mod dedup;
mod deferred;
pub mod eid;
pub mod error;
#[doc(hidden)]
pub mod exec;
pub mod feed;
pub mod figures;
mod holders;
mod import;
mod migrate;
pub mod model;
pub mod officer_admin;
pub mod oidc;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod partners;
pub mod quality;
pub mod registry;
pub mod report_counts;
pub mod residences;
mod rows;
pub mod throttle;
pub mod totp_secrets;
#[cfg(feature = "raw")]
pub mod traits;
#[cfg(not(feature = "raw"))]
mod traits;
pub mod webhooks;

pub use database::{Accounts, Database};
pub use error::StoreError;
pub use model::*;
pub use rows::{MAX_DUE_WITHIN_DAYS, RENEWAL_NOTICE_DAYS};
// The narrow storage traits: public only with the `raw` feature (see [`database`]).
#[cfg(feature = "raw")]
pub use traits::{
    AuditStore, CardStore, CitizenStore, HouseholdStore, ImportStore, OfficerStore, SessionStore,
};
#[cfg(not(feature = "raw"))]
pub(crate) use traits::{
    AuditStore, CardStore, CitizenStore, HouseholdStore, ImportStore, OfficerStore, SessionStore,
};

use async_trait::async_trait;
use std::sync::Arc;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The bundle trait lives in a private module: outside this crate it is nameable only with
/// the `raw` feature (the test suites), so the server and the CLI cannot hold a raw store.
mod bundle {
    use super::*;

    /// Every storage operation dancu needs: the narrow traits of [`traits`] (all re-exported
    /// here), plus what concerns the database as a whole. Implementations:
    /// `sqlite::SqliteStore`, `postgres::PgStore`. Chosen at run time by URL scheme with
    /// [`open`].
    #[async_trait]
    pub trait Store:
        CitizenStore
        + ImportStore
        + HouseholdStore
        + CardStore
        + OfficerStore
        + SessionStore
        + AuditStore
        + Send
        + Sync
        + 'static
    {
        /// Name of the backend, `sqlite` or `postgres`.
        fn backend(&self) -> &'static str;

        /// The shared-SQL executor, for features written once for both backends ([`eid`],
        /// [`dedup`], [`quality`]).
        fn exec(&self) -> &dyn exec::SqlExec;

        /// Checks the applied migrations' checksums (an edited one is refused with
        /// `StoreError::Config` naming its version), then runs the pending ones; returns the
        /// versions applied now. One runner for both backends (`migrate.rs`).
        async fn migrate(&self) -> Result<Vec<i64>>;

        /// Cheap liveness check of the database (for `/readyz`).
        async fn ping(&self) -> Result<()>;
    }
}
#[cfg(feature = "raw")]
pub use bundle::Store;
#[cfg(not(feature = "raw"))]
pub(crate) use bundle::Store;

/// Opens the store a URL names (`sqlite://path/to/file.db`, `sqlite::memory:` for tests,
/// `postgres://…`) and runs migrations. `audit_key` keys the audit chain
/// ([`audit_chain::AuditKey::load_or_create`] reads it from its file).
#[cfg(feature = "raw")]
pub async fn open(url: &str, audit_key: audit_chain::AuditKey) -> Result<Arc<dyn Store>> {
    open_store(url, audit_key).await
}

pub(crate) async fn open_store(url: &str, audit_key: audit_chain::AuditKey) -> Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(sqlite::SqliteStore::open(url, audit_key).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(postgres::PgStore::open(url, audit_key).await?)
    } else {
        return Err(StoreError::Config(format!("unsupported database URL scheme: {url:?}")));
    };
    store.migrate().await?;
    residences::prepare(store.as_ref()).await?;
    Ok(store)
}

/// Connects to a PostgreSQL streaming replica: no migration, no start-up writes (a hot
/// standby refuses them).
pub(crate) async fn open_replica(url: &str, audit_key: audit_chain::AuditKey) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(postgres::PgStore::open(url, audit_key).await?))
}

#[cfg(feature = "raw")]
pub mod postgres;
#[cfg(not(feature = "raw"))]
mod postgres;
#[cfg(feature = "raw")]
pub mod sqlite;
#[cfg(not(feature = "raw"))]
mod sqlite;
