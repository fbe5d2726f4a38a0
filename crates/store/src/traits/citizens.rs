//! Citizen records: create, update with history, read, search, count, and personal ID allocation.

use async_trait::async_trait;
use dancu_domain::{Citizen, PersonalId, Sex};

use crate::model::*;
use crate::Result;

#[async_trait]
pub trait CitizenStore: Send + Sync {
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

    async fn count_citizens(&self) -> Result<u64>;

    /// Allocates a personal ID never used before for a newborn registered in legacy
    /// province `province` (2 digits). Numbers are never reused, even if deleted.
    async fn allocate_personal_id(&self, province: &str, sex: Sex, birth_year: i32) -> Result<PersonalId>;
}
