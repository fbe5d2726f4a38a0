//! What the server and the CLI hold of the store: an opened [`Database`]. It answers health,
//! counts and audit verification, and hands out the two doors to what is inside:
//! [`Registry`] for personal data (scoped and audited) and [`Accounts`] for authentication
//! (officer and citizen sessions, officers' token state, TOTP secrets). The raw storage
//! traits are not reachable from outside this crate unless the `raw` feature is on, which
//! only the test suites enable (`cargo check -p dancu-server -p dancu-cli` builds without it).

use std::sync::Arc;

use dancu_domain::PersonalId;

use crate::audit_chain::{AuditKey, AuditReport, VerifyScope};
use crate::eid::{self, CitizenSession, EidAccount};
use crate::model::*;
use crate::officer_admin::{self, OfficerEpoch};
use crate::registry::{AuditSink, AuditWriter, CheckpointPolicy, Registry};
use crate::{Result, Store};

/// An open, migrated database of either backend. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    store: Arc<dyn Store>,
    /// Where reads that tolerate a short lag go (search, partner verification and card
    /// look-up, the change feed): a streaming replica when one is configured, else `store`.
    reads: Arc<dyn Store>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("backend", &self.store.backend()).finish()
    }
}

impl Database {
    /// Opens the database a URL names (`sqlite://path`, `sqlite::memory:`, `postgres://…`)
    /// and runs pending migrations; `audit_key` keys the audit chain.
    pub async fn open(url: &str, audit_key: AuditKey) -> Result<Database> {
        let store = crate::open_store(url, audit_key).await?;
        Ok(Database { reads: store.clone(), store })
    }

    /// Opens the primary at `url` (migrated as by [`Database::open`]) and a streaming
    /// replica at `replica_url` for reads that tolerate a short lag. The replica is never
    /// migrated (it is read-only); it must already hold every migration the primary has,
    /// else opening fails naming `database_replica_url`. Writes, audit entries and the
    /// read-your-own-write paths (a record's page after its change) stay on the primary.
    pub async fn open_with_replica(url: &str, replica_url: &str, audit_key: AuditKey) -> Result<Database> {
        if !(replica_url.starts_with("postgres://") || replica_url.starts_with("postgresql://"))
            || !url.starts_with("postgres")
        {
            return Err(crate::StoreError::Config(
                "database_replica_url: a replica is a PostgreSQL streaming replica of a PostgreSQL primary (postgres://…)".into(),
            ));
        }
        let store = crate::open_store(url, audit_key.clone()).await?;
        let reads = crate::open_replica(replica_url, audit_key).await?;
        let want = crate::migrate::applied(store.as_ref()).await?;
        let replica_versions = || async {
            crate::migrate::applied(reads.as_ref()).await.map_err(|e| {
                crate::StoreError::Config(format!(
                    "database_replica_url: cannot read the replica's schema_migrations ({e}); is it a replica of this primary?"
                ))
            })
        };
        // A replica that was just created may still be replaying the newest migration.
        let mut have = replica_versions().await?;
        for _ in 0..50 {
            if have == want {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            have = replica_versions().await?;
        }
        if have != want {
            return Err(crate::StoreError::Config(format!(
                "database_replica_url: the replica holds migrations up to {:?}, the primary up to {:?}; is it a replica of this primary?",
                have.last(),
                want.last()
            )));
        }
        Ok(Database { store, reads })
    }

    /// Whether lag-tolerant reads go to a replica.
    pub fn has_replica(&self) -> bool {
        !Arc::ptr_eq(&self.store, &self.reads)
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Cheap liveness check (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        self.store.ping().await
    }

    /// How many citizens are registered: an aggregate, for the metrics gauge.
    pub async fn citizen_count(&self) -> Result<u64> {
        self.store.count_citizens().await
    }

    /// Folds the report's month rollup into one row per key (PostgreSQL; see
    /// [`crate::report_counts::compact_month_counts`]); servers run it every minute.
    pub async fn compact_report_rollup(&self) -> Result<()> {
        crate::report_counts::compact_month_counts(self.store.as_ref()).await
    }

    /// Checks the audit chain against the newest checkpoint of `policy` (its file, or its
    /// mirror when that is newer): the whole chain, or (`tail_only`) from the checkpoint's
    /// entry on, which is what a server checks at start.
    pub async fn verify_audit(&self, policy: &CheckpointPolicy, tail_only: bool) -> Result<AuditReport> {
        crate::registry::verify_audit(self.store.as_ref(), policy, tail_only).await
    }

    /// Checks the chain alone, with no checkpoint.
    pub async fn verify_audit_chain(&self) -> Result<AuditReport> {
        self.store.verify_audit(&VerifyScope::default()).await
    }

    /// Starts the audit writer (up to `max_batch` entries a commit; checkpoints signed per
    /// `checkpoints`) and the registry on it. Shut the writer down after dropping every
    /// registry clone, so that queued entries are flushed and the head signed.
    pub fn start_registry(
        &self,
        max_batch: usize,
        checkpoints: Option<CheckpointPolicy>,
    ) -> (Registry, AuditWriter) {
        let (sink, writer) = AuditSink::start(self.store.clone(), max_batch, checkpoints);
        (Registry::new(self.store.clone(), sink).reading_from(self.reads.clone()), writer)
    }

    /// Signs the head as the store has it now into the policy's checkpoint log.
    pub async fn sign_audit_head(&self, p: &CheckpointPolicy) -> Result<crate::audit_chain::Checkpoint> {
        p.write_now(self.store.as_ref()).await
    }

    /// The OpenID Connect provider's door: clients, codes, token families, consents and its
    /// login sessions (no personal data).
    pub fn oidc(&self) -> crate::oidc::OidcStore {
        crate::oidc::OidcStore { store: self.store.clone() }
    }

    /// The authentication door.
    pub fn accounts(&self) -> Accounts {
        Accounts { store: self.store.clone() }
    }

    /// The raw store, for tests that set up or tamper with data around the application.
    #[cfg(feature = "raw")]
    pub fn raw(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Wraps a raw store (tests).
    #[cfg(feature = "raw")]
    pub fn from_raw(store: Arc<dyn Store>) -> Database {
        Database { reads: store.clone(), store }
    }
}

/// What authentication needs and nothing more: officers as login subjects, their sessions
/// and token state, citizens' portal sessions and login records, and the sealed TOTP
/// secrets for re-sealing. Creating or changing officers is the registry's (role, scope,
/// audit); reading a citizen's record is too.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
}

impl Accounts {
    pub async fn officer_by_username(&self, username: &str) -> Result<Option<Officer>> {
        self.store.get_officer_by_username(username).await
    }

    pub async fn officer(&self, id: i64) -> Result<Option<Officer>> {
        self.store.get_officer(id).await
    }

    /// Every officer's state, role, scope and token epoch (bearer-token revocation).
    pub async fn officer_epochs(&self) -> Result<Vec<OfficerEpoch>> {
        officer_admin::epochs(self.store.as_ref()).await
    }

    pub async fn officer_epoch(&self, id: i64) -> Result<Option<OfficerEpoch>> {
        officer_admin::epoch_of(self.store.as_ref(), id).await
    }

    pub async fn create_session(&self, s: &Session) -> Result<()> {
        self.store.create_session(s).await
    }

    /// An officer's web session by the SHA-256 of its token, if not expired at `now`.
    pub async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>> {
        self.store.get_session(token_hash, now).await
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.store.delete_session(token_hash).await
    }

    pub async fn create_citizen_session(&self, s: &CitizenSession) -> Result<()> {
        eid::create_session(self.store.as_ref(), s).await
    }

    /// A citizen's portal session by the SHA-256 of its token, if not expired at `now`.
    pub async fn citizen_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<CitizenSession>> {
        eid::get_session(self.store.as_ref(), token_hash, now).await
    }

    pub async fn delete_citizen_session(&self, token_hash: &str) -> Result<()> {
        eid::delete_session(self.store.as_ref(), token_hash).await
    }

    /// Records a citizen's login attempt and how it ended (shown on their portal).
    pub async fn record_citizen_login(
        &self,
        id: &PersonalId,
        at: Timestamp,
        outcome: &str,
        client: &str,
    ) -> Result<()> {
        eid::record_login(self.store.as_ref(), id, at, outcome, client).await
    }

    /// Spends a TOTP time step: a versioned write, so two logins racing with one code
    /// cannot both win (the loser gets `StoreError::VersionMismatch`).
    pub async fn spend_totp_step(&self, account: &EidAccount, step: u64) -> Result<EidAccount> {
        let spent = EidAccount { totp_last_step: Some(step), ..account.clone() };
        eid::save_account(self.store.as_ref(), &spent, account.version, account.state.code(), None).await
    }

    /// The login throttle's state shared by every server on this database.
    pub fn throttle(&self) -> crate::throttle::SharedThrottle {
        crate::throttle::SharedThrottle { store: self.store.clone() }
    }

    /// Every stored TOTP secret (sealed or legacy plain), for re-sealing.
    pub async fn totp_secrets(&self) -> Result<Vec<(PersonalId, String)>> {
        crate::totp_secrets::all(self.store.as_ref()).await
    }

    /// Replaces a TOTP secret if it is still `old`; whether it was replaced.
    pub async fn replace_totp_secret(&self, id: &PersonalId, old: &str, new: &str) -> Result<bool> {
        crate::totp_secrets::replace(self.store.as_ref(), id, old, new).await
    }
}
