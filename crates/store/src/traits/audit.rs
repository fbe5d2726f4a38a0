//! The audit log: a keyed hash chain with look-up side tables.

use crate::audit_chain;
use async_trait::async_trait;

use crate::model::*;
use crate::Result;

#[async_trait]
pub trait AuditStore: Send + Sync {
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
