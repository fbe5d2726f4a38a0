//! Households: create, replace the member list (history kept), read.

use async_trait::async_trait;

use crate::model::*;
use crate::Result;

#[async_trait]
pub trait HouseholdStore: Send + Sync {
    /// Creates a household from existing citizens; exactly one head (checked by the domain
    /// and by a unique index).
    async fn create_household(&self, h: &dancu_domain::Household, change: &Change) -> Result<HouseholdView>;

    /// Replaces the member list (history kept). With `expected_version`, a household that
    /// changed since is refused (`StoreError::VersionMismatch`), not overwritten.
    async fn update_household(
        &self,
        h: &dancu_domain::Household,
        expected_version: Option<i64>,
        change: &Change,
    ) -> Result<HouseholdView>;

    /// Registers a newborn in one transaction: creates the record `c` and replaces the member
    /// list of household `h` (which names the child) at `expected_version`. Either both are
    /// stored or neither.
    async fn register_birth(
        &self,
        c: &dancu_domain::Citizen,
        h: &dancu_domain::Household,
        expected_version: i64,
        change: &Change,
    ) -> Result<(StoredCitizen, HouseholdView)>;

    /// Splits a household in one transaction: `old` (its remaining members) replaces the
    /// member list at `expected_version`, and `new` is created from the members who leave.
    /// Either both are stored or neither.
    async fn split_household(
        &self,
        old: &dancu_domain::Household,
        expected_version: i64,
        new: &dancu_domain::Household,
        change: &Change,
    ) -> Result<(HouseholdView, HouseholdView)>;

    async fn get_household(&self, number: &str) -> Result<Option<HouseholdView>>;

    async fn household_history(&self, number: &str) -> Result<Vec<HouseholdVersion>>;
}
