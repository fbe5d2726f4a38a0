//! Officer cookie sessions, stored by the SHA-256 of their token.

use async_trait::async_trait;

use crate::model::*;
use crate::Result;

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, s: &Session) -> Result<()>;
    /// A session by the SHA-256 of its token, if not expired at `now`.
    async fn get_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
}
