//! Storage for dancu: the [`Store`] trait and its two implementations, embedded SQLite
//! (`sqlite://path`, the default) and PostgreSQL (`postgres://…`). Each backend has its own
//! versioned migrations, run on open. One conformance suite (`tests/conformance.rs`) runs
//! against both.
//!
//! Personal data is read and written by the server only through [`registry::Registry`],
//! which scopes and audits every access; the raw [`Store`] is for the registry, the CLI
//! (import, migrate) and tests.

pub mod audit_chain;
mod combine;
mod database;
pub mod dedup;
pub mod eid;
pub mod error;
#[doc(hidden)]
pub mod exec;
mod import;
mod migrate;
pub mod model;
pub mod officer_admin;
pub mod quality;
pub mod registry;
mod rows;
pub mod totp_secrets;

pub use database::{Accounts, Database};
pub use error::StoreError;
pub use model::*;
pub use rows::{MAX_DUE_WITHIN_DAYS, RENEWAL_NOTICE_DAYS};

use async_trait::async_trait;
use dancu_domain::{Citizen, PersonalId, Sex};
use std::sync::Arc;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Every storage operation dancu needs. Implementations: `sqlite::SqliteStore`,
/// `postgres::PgStore`. Chosen at run time by URL scheme with [`open`].
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Name of the backend, `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// The shared-SQL executor, for features written once for both backends ([`eid`]).
    fn exec(&self) -> &dyn exec::SqlExec;

    /// Checks the applied migrations' checksums (an edited one is refused with
    /// `StoreError::Config` naming its version), then runs the pending ones; returns the
    /// versions applied now. One runner for both backends (`migrate.rs`).
    async fn migrate(&self) -> Result<Vec<i64>>;

    /// Cheap liveness check of the database (for `/readyz`).
    async fn ping(&self) -> Result<()>;

    // ---- citizens ----

    /// Creates a citizen. `StoreError::Conflict` (rule `citizen.duplicate_id`) if the
    /// personal ID exists.
    async fn create_citizen(&self, c: &Citizen, change: &Change) -> Result<StoredCitizen>;

    /// Replaces a citizen's data, keeping the previous version in the history.
    /// `expected_version` guards against lost updates (`StoreError::VersionMismatch`).
    async fn update_citizen(
        &self,
        c: &Citizen,
        expected_version: i64,
        change: &Change,
    ) -> Result<StoredCitizen>;

    async fn get_citizen(&self, id: &PersonalId) -> Result<Option<StoredCitizen>>;

    /// Previous versions, newest first, each with who, when and why.
    async fn citizen_history(&self, id: &PersonalId) -> Result<Vec<CitizenVersion>>;

    /// Scoped, paginated search. Results ordered by name key then personal ID.
    async fn search_citizens(&self, q: &CitizenQuery, scope: &Scope) -> Result<Page<CitizenSummary>>;

    /// [`Store::import_batch_with`] appending to stored households
    /// (`append_to_existing_households`).
    async fn import_batch(&self, rows: &[ImportRow], change: &Change) -> Result<ImportOutcome> {
        self.import_batch_with(rows, change, &ImportOptions { append_to_existing_households: true }).await
    }

    /// Bulk insert for imports, in one transaction, decided household group by household
    /// group (contiguous rows with the same household number) before anything is written.
    /// A row stored exactly as given (or repeated unchanged earlier in the batch) is counted
    /// in `skipped_existing`, so re-running a file adds nothing twice; one whose personal ID
    /// is stored with other data is refused (`citizen.conflict`). A group is accepted or
    /// rejected whole: a new household needs its head, and a refused head rejects it
    /// (`household.head_refused`); a stored household takes a group only when it is an
    /// exact re-import or, with `append_to_existing_households`, new members under the same
    /// head (else `household.exists`, or `household.head_count` for another head when
    /// appending). Refusals are listed in `rejected` with their line; the rest of the batch
    /// is stored. The checks are set-based (a few queries per batch). For large imports,
    /// bracket the batches with [`Store::begin_import`] and [`Store::finish_import`].
    async fn import_batch_with(
        &self,
        rows: &[ImportRow],
        change: &Change,
        opts: &ImportOptions,
    ) -> Result<ImportOutcome>;

    async fn count_citizens(&self) -> Result<u64>;

    /// Announces a bulk import of about `expected_rows` rows. When that is large compared
    /// with what is stored, the backend stops maintaining its search indexes (by name, by
    /// residence, by household) until [`Store::finish_import`] rebuilds them in one pass,
    /// which is many times faster than maintaining them row by row. Searches still work
    /// meanwhile, slowly. Returns whether the indexes were dropped. An import interrupted
    /// before `finish_import` is repaired by `migrate`, which `open` runs.
    async fn begin_import(&self, expected_rows: u64) -> Result<bool>;

    /// Rebuilds any search index [`Store::begin_import`] dropped (a no-op otherwise).
    async fn finish_import(&self) -> Result<()>;

    // ---- households ----

    /// Creates a household from existing citizens; exactly one head (checked by the domain
    /// and by a unique index).
    async fn create_household(&self, h: &dancu_domain::Household, change: &Change) -> Result<HouseholdView>;

    /// Replaces the member list (history kept).
    async fn update_household(&self, h: &dancu_domain::Household, change: &Change) -> Result<HouseholdView>;

    async fn get_household(&self, number: &str) -> Result<Option<HouseholdView>>;

    async fn household_history(&self, number: &str) -> Result<Vec<HouseholdVersion>>;

    // ---- personal ID allocation ----

    /// Allocates a personal ID never used before for a newborn registered in legacy
    /// province `province` (2 digits). Numbers are never reused, even if deleted.
    async fn allocate_personal_id(&self, province: &str, sex: Sex, birth_year: i32) -> Result<PersonalId>;

    // ---- ID card applications and cards ----

    /// Takes in a card application at intake, copying the citizen's residence scope.
    /// `StoreError::NotFound` if the citizen does not exist.
    async fn create_card_application(
        &self,
        a: &NewCardApplication,
        change: &Change,
    ) -> Result<CardApplication>;

    async fn get_card_application(&self, id: i64) -> Result<Option<CardApplication>>;

    /// Moves an application to `to`, checked by `dancu_identity::transition`
    /// (`StoreError::Invalid` with its violation when refused; nothing changes) and by
    /// `expected_version` (`StoreError::VersionMismatch`). The move is kept in the history.
    /// A hand-over issues the card (dated the Vietnam day of `change.at`, expiry by the
    /// 25/40/60 rule) and revokes the person's previous valid cards.
    async fn transition_card_application(
        &self,
        id: i64,
        to: &dancu_identity::Stage,
        reason: Option<&str>,
        expected_version: i64,
        change: &Change,
    ) -> Result<CardApplication> {
        self.transition_card_application_in(id, to, reason, expected_version, change, &Scope::Nation).await
    }

    /// [`Store::transition_card_application`] for an application in `scope`: one outside it
    /// answers `StoreError::OutOfScope` with the holder's personal ID (for the audit log)
    /// and changes nothing. Checking scope here spares the registry a read per move.
    async fn transition_card_application_in(
        &self,
        id: i64,
        to: &dancu_identity::Stage,
        reason: Option<&str>,
        expected_version: i64,
        change: &Change,
        scope: &Scope,
    ) -> Result<CardApplication>;

    /// How many applications in the scope are at each stage (every stage listed).
    async fn card_board(&self, scope: &Scope) -> Result<Vec<StageCount>>;

    /// Applications in the scope, optionally at one stage, longest waiting first.
    async fn list_card_applications(
        &self,
        scope: &Scope,
        stage: Option<dancu_identity::StageKind>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<CardApplication>>;

    /// The stage changes of an application, oldest first.
    async fn card_application_history(&self, id: i64) -> Result<Vec<CardEvent>>;

    /// A person's cards, newest first.
    async fn get_cards(&self, personal_id: &PersonalId) -> Result<Vec<StoredCard>>;

    /// Records cards issued before the registry kept applications (legacy card data), one
    /// transaction for the batch: each gets a completed application (`reason` from
    /// `change`), replaces the holder's earlier valid cards, and takes the holder's current
    /// residence scope. A holder missing from the registry fails the whole batch with
    /// `NotFound`. Returns how many cards were recorded.
    async fn import_cards(&self, cards: &[ImportCard], change: &Change) -> Result<u64>;

    /// The due-for-renewal list in `scope` on day `on`, looking `within_days` ahead (capped
    /// at [`MAX_DUE_WITHIN_DAYS`]): valid cards whose `renewal_due_from` (expiry minus
    /// [`RENEWAL_NOTICE_DAYS`], as `dancu_identity::card::renewal_due_from`) is on or before
    /// `on + within_days`, and that have not expired on `on` (expiry ≥ `on`). With
    /// `within_days = 0` this is exactly the valid, unexpired cards for which
    /// `dancu_identity::card::due_for_renewal(birth, issue, on, RENEWAL_NOTICE_DAYS)` holds.
    /// Cards without expiry never appear. Scope is the holder's residence when the card was
    /// issued. Soonest first, then by personal ID.
    async fn cards_due_for_renewal(
        &self,
        scope: &Scope,
        on: chrono::NaiveDate,
        within_days: u32,
        limit: u32,
        offset: u64,
    ) -> Result<Page<DueCard>>;

    // ---- officers and sessions ----

    async fn create_officer(&self, o: &NewOfficer) -> Result<Officer>;
    async fn get_officer_by_username(&self, username: &str) -> Result<Option<Officer>>;
    async fn get_officer(&self, id: i64) -> Result<Option<Officer>>;
    async fn list_officers(&self) -> Result<Vec<Officer>>;

    async fn create_session(&self, s: &Session) -> Result<()>;
    /// A session by the SHA-256 of its token, if not expired at `now`.
    async fn get_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    // ---- audit ----

    /// Appends entries to the hash chain in order, in one transaction, and returns the
    /// new head (the current head for no entries). Each entry's `hash` is keyed with the
    /// store's audit key ([`audit_chain::entry_hash`]); an entry dated before its
    /// predecessor takes the predecessor's time.
    async fn append_audit(&self, entries: &[NewAuditEntry]) -> Result<audit_chain::AuditHead>;

    /// The first entry of the keyed chain (earlier ones predate audit keys).
    async fn audit_keyed_from(&self) -> Result<i64>;

    /// Copies every committed entry the look-up side tables (`audit_by_subject`,
    /// `audit_by_actor`) lack. Appends do this on their own once the tables lag: SQLite
    /// inside the append (2,048 entries), PostgreSQL on a connection of its own after it
    /// (256 entries). Listings are complete either way (they read the log's tail too).
    async fn catch_up_audit(&self) -> Result<()>;

    /// Entries matching the filter, newest first.
    async fn list_audit(&self, f: &AuditFilter) -> Result<Page<AuditEntry>>;

    /// Recomputes the chain (keyed hashes, links, order of times) from the first entry, or
    /// from the checkpoint's entry for a tail check, and compares it with the checkpoint.
    async fn verify_audit(&self, scope: &audit_chain::VerifyScope) -> Result<audit_chain::AuditReport>;

    /// The whole chain without a checkpoint; the sequence number of the first broken entry.
    async fn verify_audit_chain(&self) -> Result<Option<i64>> {
        Ok(self.verify_audit(&audit_chain::VerifyScope::default()).await?.broken.map(|b| b.seq))
    }
}

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
    Ok(store)
}

#[cfg(feature = "raw")]
pub mod postgres;
#[cfg(not(feature = "raw"))]
mod postgres;
#[cfg(feature = "raw")]
pub mod sqlite;
#[cfg(not(feature = "raw"))]
mod sqlite;
