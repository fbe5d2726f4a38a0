//! Bulk imports of citizens, decided household group by household group.

use async_trait::async_trait;

use crate::model::*;
use crate::Result;

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// [`ImportStore::import_batch_with`] appending to stored households
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
    /// bracket the batches with [`ImportStore::begin_import`] and [`ImportStore::finish_import`].
    async fn import_batch_with(
        &self,
        rows: &[ImportRow],
        change: &Change,
        opts: &ImportOptions,
    ) -> Result<ImportOutcome>;

    /// Announces a bulk import of about `expected_rows` rows. When that is large compared
    /// with what is stored, the backend stops maintaining its search indexes (by name, by
    /// residence, by household) until [`ImportStore::finish_import`] rebuilds them in one pass,
    /// which is many times faster than maintaining them row by row. Searches still work
    /// meanwhile, slowly. Returns whether the indexes were dropped. An import interrupted
    /// before `finish_import` is repaired by `migrate`, which `open` runs.
    async fn begin_import(&self, expected_rows: u64) -> Result<bool>;

    /// Rebuilds any search index [`ImportStore::begin_import`] dropped (a no-op otherwise).
    async fn finish_import(&self) -> Result<()>;
}
