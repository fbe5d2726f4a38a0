//! SQLite: officers and their sessions.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::{SqliteStore, PH};
use crate::model::*;
use crate::rows;
use crate::{OfficerStore, Result, SessionStore, StoreError};

#[async_trait]
impl OfficerStore for SqliteStore {
    async fn create_officer(&self, o: &NewOfficer) -> Result<Officer> {
        let o = o.clone();
        self.write(move |c, _| {
            let created_at = rows::now();
            let id: Option<i64> = c
                .prepare_cached(&PH.sql(rows::OFFICER_INSERT))?
                .query_row(
                    params![
                        o.username,
                        o.display_name,
                        o.role.code(),
                        o.scope.to_string(),
                        o.password_hash,
                        rows::ts_text(&created_at)
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            let id = id.ok_or_else(|| StoreError::Conflict(rows::duplicate_username(&o.username)))?;
            Ok(Officer {
                id,
                username: o.username,
                display_name: o.display_name,
                role: o.role,
                scope: o.scope,
                password_hash: o.password_hash,
                active: true,
                created_at,
            })
        })
        .await
    }

    async fn get_officer_by_username(&self, username: &str) -> Result<Option<Officer>> {
        let username = username.to_string();
        self.read(move |c, _| {
            let mut st = c.prepare_cached(&PH.sql(&rows::OFFICER_BY_USERNAME))?;
            let mut rs = st.query([&username])?;
            rs.next()?.map(rows::officer_from_row).transpose()
        })
        .await
    }

    async fn get_officer(&self, id: i64) -> Result<Option<Officer>> {
        self.read_point(|c, _| {
            let mut st = c.prepare_cached(&PH.sql(&rows::OFFICER_BY_ID))?;
            let mut rs = st.query([id])?;
            rs.next()?.map(rows::officer_from_row).transpose()
        })
    }

    async fn list_officers(&self) -> Result<Vec<Officer>> {
        self.read(|c, _| {
            let mut st = c.prepare_cached(&rows::OFFICERS_BY_USERNAME)?;
            let v = st.query_and_then([], |r| rows::officer_from_row(r))?.collect();
            v
        })
        .await
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &Session) -> Result<()> {
        let s = s.clone();
        self.write(move |c, _| {
            c.prepare_cached(&PH.sql(rows::SESSION_INSERT))?.execute(params![
                s.token_hash,
                s.officer_id,
                s.csrf_token,
                rows::ts_text(&s.created_at),
                rows::ts_text(&s.expires_at)
            ])?;
            Ok(())
        })
        .await
    }

    async fn get_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>> {
        self.read_point(|c, _| {
            let mut st = c.prepare_cached(&PH.sql(&rows::SESSION_BY_TOKEN))?;
            let mut rs = st.query(params![token_hash, rows::ts_text(&now)])?;
            rs.next()?.map(rows::session_from_row).transpose()
        })
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let token_hash = token_hash.to_string();
        self.write(move |c, _| {
            c.prepare_cached(&PH.sql(rows::SESSION_DELETE))?.execute([&token_hash])?;
            Ok(())
        })
        .await
    }
}
