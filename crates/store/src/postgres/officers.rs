//! PostgreSQL: officers and their sessions.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::PgStore;
use crate::model::*;
use crate::rows;
use crate::{OfficerStore, Result, SessionStore, StoreError};

#[async_trait]
impl OfficerStore for PgStore {
    async fn create_officer(&self, o: &NewOfficer) -> Result<Officer> {
        let client = self.client().await?;
        let st = client.prepare_cached(rows::OFFICER_INSERT).await?;
        let created_at = rows::now();
        let row = client
            .query_opt(
                &st,
                &[
                    &o.username,
                    &o.display_name,
                    &o.role.code(),
                    &o.scope.to_string(),
                    &o.password_hash,
                    &created_at,
                ],
            )
            .await?
            .ok_or_else(|| StoreError::Conflict(rows::duplicate_username(&o.username)))?;
        Ok(Officer {
            id: row.get(0),
            username: o.username.clone(),
            display_name: o.display_name.clone(),
            role: o.role,
            scope: o.scope.clone(),
            password_hash: o.password_hash.clone(),
            active: true,
            created_at,
        })
    }

    async fn get_officer_by_username(&self, username: &str) -> Result<Option<Officer>> {
        let client = self.client().await?;
        let st = client.prepare_cached(&rows::OFFICER_BY_USERNAME).await?;
        client.query_opt(&st, &[&username]).await?.map(|r| rows::officer_from_row(&r)).transpose()
    }

    async fn get_officer(&self, id: i64) -> Result<Option<Officer>> {
        let client = self.client().await?;
        let st = client.prepare_cached(&rows::OFFICER_BY_ID).await?;
        client.query_opt(&st, &[&id]).await?.map(|r| rows::officer_from_row(&r)).transpose()
    }

    async fn list_officers(&self) -> Result<Vec<Officer>> {
        let client = self.client().await?;
        let st = client.prepare_cached(&rows::OFFICERS_BY_USERNAME).await?;
        client.query(&st, &[]).await?.iter().map(rows::officer_from_row).collect()
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, s: &Session) -> Result<()> {
        let client = self.client().await?;
        let st = client.prepare_cached(rows::SESSION_INSERT).await?;
        client
            .execute(&st, &[&s.token_hash, &s.officer_id, &s.csrf_token, &s.created_at, &s.expires_at])
            .await?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>> {
        let client = self.client().await?;
        let st = client.prepare_cached(&rows::SESSION_BY_TOKEN).await?;
        client.query_opt(&st, &[&token_hash, &now]).await?.map(|r| rows::session_from_row(&r)).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let client = self.client().await?;
        let st = client.prepare_cached(rows::SESSION_DELETE).await?;
        client.execute(&st, &[&token_hash]).await?;
        Ok(())
    }
}
