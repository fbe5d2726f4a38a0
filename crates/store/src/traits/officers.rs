//! Officer accounts.

use async_trait::async_trait;

use crate::model::*;
use crate::Result;

#[async_trait]
pub trait OfficerStore: Send + Sync {
    async fn create_officer(&self, o: &NewOfficer) -> Result<Officer>;
    async fn get_officer_by_username(&self, username: &str) -> Result<Option<Officer>>;
    async fn get_officer(&self, id: i64) -> Result<Option<Officer>>;
    async fn list_officers(&self) -> Result<Vec<Officer>>;
}
