//! Households: create, replace the member list (history kept), read.

use async_trait::async_trait;

use crate::model::*;
use crate::Result;

#[async_trait]
pub trait HouseholdStore: Send + Sync {
    /// Creates a household from existing citizens; exactly one head (checked by the domain
    /// and by a unique index).
    async fn create_household(&self, h: &dancu_domain::Household, change: &Change) -> Result<HouseholdView>;

    /// Replaces the member list (history kept).
    async fn update_household(&self, h: &dancu_domain::Household, change: &Change) -> Result<HouseholdView>;

    async fn get_household(&self, number: &str) -> Result<Option<HouseholdView>>;

    async fn household_history(&self, number: &str) -> Result<Vec<HouseholdVersion>>;
}
