//! Bulk imports through the registry: an operator's nation-wide job, written ahead in the
//! audit log under `bulk:nation` (one `Attempt` before each batch, its outcome after), so a
//! batch whose entry cannot be stored is never written. Every stored row also carries the
//! import's actor and reason in its own history.

use dancu_domain::Violation;

use super::{bulk_subject, change, Access, Registry, RegistryError, Result};
use crate::model::*;

impl Registry {
    /// Announces an import of about `expected_rows` rows (see `Store::begin_import`: large
    /// imports rebuild the search indexes once at the end). Returns whether they were dropped.
    pub async fn import_begin(&self, a: &Access, expected_rows: u64) -> Result<bool> {
        require_nation(a)?;
        let write = self.store.begin_import(expected_rows);
        self.audited_write(a, "citizen.import.begin", &bulk_subject(&a.scope), write).await
    }

    /// Stores one batch, decided household group by household group (`Store::import_batch_with`).
    pub async fn import_batch(
        &self,
        a: &Access,
        rows: &[ImportRow],
        reason: &str,
        opts: &ImportOptions,
    ) -> Result<ImportOutcome> {
        require_nation(a)?;
        let c = change(a, reason);
        let write = self.store.import_batch_with(rows, &c, opts);
        self.audited_write(a, "citizen.import", &bulk_subject(&a.scope), write).await
    }

    /// Rebuilds any search index [`Registry::import_begin`] dropped.
    pub async fn import_finish(&self, a: &Access) -> Result<()> {
        require_nation(a)?;
        let write = self.store.finish_import();
        self.audited_write(a, "citizen.import.finish", &bulk_subject(&a.scope), write).await
    }

    /// Records cards issued before the registry kept applications (`Store::import_cards`).
    pub async fn import_cards(&self, a: &Access, cards: &[ImportCard], reason: &str) -> Result<u64> {
        require_nation(a)?;
        let c = change(a, reason);
        let write = self.store.import_cards(cards, &c);
        self.audited_write(a, "card.import", &bulk_subject(&a.scope), write).await
    }
}

/// Imports write anywhere in the country: only a nation-wide job may run them.
fn require_nation(a: &Access) -> Result<()> {
    if a.scope == Scope::Nation {
        return Ok(());
    }
    Err(RegistryError::OutOfScope(Violation::new(
        "scope",
        "import.nation_only",
        format!("Nhập dữ liệu hàng loạt cần phạm vi toàn quốc (phạm vi của bạn: {})", a.scope),
        format!("bulk imports need a nation-wide scope (yours: {})", a.scope),
    )))
}
