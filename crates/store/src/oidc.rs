//! Storage of the OpenID Connect provider and OAuth 2.0 client credentials (migration 0014),
//! written once for both backends over [`crate::exec::SqlExec`]: registered clients,
//! authorization codes, refresh-token families, remembered consents and the provider's
//! login sessions. Only hashes of secrets, codes and tokens are stored. No personal data is
//! read here: the citizen's record is reached through the audited registry.

use std::sync::Arc;

use dancu_domain::{PersonalId, Violation};

use crate::exec::{OwnedRow, Stmt, Val};
use crate::model::Timestamp;
use crate::rows::{self, RowGet};
use crate::{Result, Store, StoreError};

/// A registered client. `secret_hash` is the SHA-256 (hex) of its secret.
#[derive(Clone, PartialEq)]
pub struct OidcClient {
    pub client_id: String,
    pub name: String,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none` (public).
    pub auth_method: String,
    pub secret_hash: Option<String>,
    /// The client's public keys (a JWK Set, JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    pub grant_types: Vec<String>,
    /// Scopes the client may ask for.
    pub scopes: Vec<String>,
    /// Keys the pairwise subject identifiers: clients of one sector see the same `sub`.
    pub sector: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("auth_method", &self.auth_method)
            .field("secret_hash", &self.secret_hash.as_ref().map(|_| "<redacted>"))
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("scopes", &self.scopes)
            .field("active", &self.active)
            .finish()
    }
}

/// An authorization code as stored (by its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthCode {
    pub code_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub personal_id: PersonalId,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub acr: String,
    pub auth_time: Timestamp,
    pub code_challenge: String,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// A family of tokens started by one authorization code.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenFamily {
    pub family_id: String,
    pub client_id: String,
    pub personal_id: PersonalId,
    pub scope: String,
    pub acr: String,
    pub auth_time: Timestamp,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A refresh token looked up by its hash, with its family.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub family: TokenFamily,
}

/// How a code exchange or a refresh ended in the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Spend {
    /// Spent now; the new tokens are stored.
    Done,
    /// Already spent: the family has been revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

/// The provider's login session (cookie on `/oauth`).
#[derive(Debug, Clone, PartialEq)]
pub struct OidcSession {
    pub token_hash: String,
    pub personal_id: PersonalId,
    /// 1: password; 2: password and TOTP.
    pub level: i64,
    pub auth_time: Timestamp,
    pub expires_at: Timestamp,
}

/// The OIDC door of a [`crate::Database`] (from `Database::oidc`).
#[derive(Clone)]
pub struct OidcStore {
    pub(crate) store: Arc<dyn Store>,
}

const CLIENT_COLS: &str = "client_id, name, auth_method, secret_hash, jwks, redirect_uris, \
     post_logout_redirect_uris, grant_types, scopes, sector, active, created_by, created_at, updated_at";

fn json_list(v: &[String]) -> Val {
    Val::Text(serde_json::to_string(v).expect("strings serialise"))
}

fn client_from(r: &OwnedRow) -> Result<OidcClient> {
    Ok(OidcClient {
        client_id: r.text(0)?,
        name: r.text(1)?,
        auth_method: r.text(2)?,
        secret_hash: r.opt_text(3)?,
        jwks: r.opt_text(4)?,
        redirect_uris: r.json(5)?,
        post_logout_redirect_uris: r.json(6)?,
        grant_types: r.json(7)?,
        scopes: r.json(8)?,
        sector: r.text(9)?,
        active: r.flag(10)?,
        created_by: r.text(11)?,
        created_at: r.ts(12)?,
        updated_at: r.ts(13)?,
    })
}

fn pid(s: String) -> Result<PersonalId> {
    s.parse().map_err(|v| rows::corrupt("personal ID", v))
}

fn client_exists() -> StoreError {
    StoreError::Conflict(Violation::new(
        "client_id",
        "client.exists",
        "Mã ứng dụng đã tồn tại",
        "a client with this id exists",
    ))
}

impl OidcStore {
    // ---- clients

    pub async fn create_client(&self, c: &OidcClient) -> Result<()> {
        let sql = format!(
            "INSERT INTO oidc_clients ({CLIENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        let params = vec![
            Val::Text(c.client_id.clone()),
            Val::Text(c.name.clone()),
            Val::Text(c.auth_method.clone()),
            Val::OptText(c.secret_hash.clone()),
            Val::OptText(c.jwks.clone()),
            json_list(&c.redirect_uris),
            json_list(&c.post_logout_redirect_uris),
            json_list(&c.grant_types),
            json_list(&c.scopes),
            Val::Text(c.sector.clone()),
            Val::Int(c.active.into()),
            Val::Text(c.created_by.clone()),
            Val::Ts(c.created_at),
            Val::Ts(c.updated_at),
        ];
        self.store.exec().transaction(vec![Stmt::new(sql, params).on_unique(client_exists())]).await
    }

    /// Every client, by id.
    pub async fn clients(&self) -> Result<Vec<OidcClient>> {
        let rows = self
            .store
            .exec()
            .query(&format!("SELECT {CLIENT_COLS} FROM oidc_clients ORDER BY client_id"), vec![])
            .await?;
        rows.iter().map(client_from).collect()
    }

    pub async fn client(&self, client_id: &str) -> Result<Option<OidcClient>> {
        let rows = self
            .store
            .exec()
            .query(
                &format!("SELECT {CLIENT_COLS} FROM oidc_clients WHERE client_id = $1"),
                vec![Val::Text(client_id.into())],
            )
            .await?;
        rows.first().map(client_from).transpose()
    }

    /// Activates or disables a client; `NotFound` if there is none.
    pub async fn set_active(&self, client_id: &str, active: bool, at: Timestamp) -> Result<()> {
        self.store
            .exec()
            .transaction(vec![Stmt::new(
                "UPDATE oidc_clients SET active = $2, updated_at = $3 WHERE client_id = $1",
                vec![Val::Text(client_id.into()), Val::Int(active.into()), Val::Ts(at)],
            )
            .expect_rows(1, StoreError::NotFound)])
            .await
    }

    /// Replaces a client's secret hash; `NotFound` if there is none.
    pub async fn set_secret_hash(&self, client_id: &str, hash: &str, at: Timestamp) -> Result<()> {
        self.store
            .exec()
            .transaction(vec![Stmt::new(
                "UPDATE oidc_clients SET secret_hash = $2, updated_at = $3 WHERE client_id = $1",
                vec![Val::Text(client_id.into()), Val::Text(hash.into()), Val::Ts(at)],
            )
            .expect_rows(1, StoreError::NotFound)])
            .await
    }

    /// Replaces a client's redirect and post-logout URIs; `NotFound` if there is none.
    pub async fn set_redirect_uris(
        &self,
        client_id: &str,
        redirect_uris: &[String],
        post_logout_redirect_uris: &[String],
        at: Timestamp,
    ) -> Result<()> {
        self.store
            .exec()
            .transaction(vec![Stmt::new(
                "UPDATE oidc_clients SET redirect_uris = $2, post_logout_redirect_uris = $3, updated_at = $4 \
                 WHERE client_id = $1",
                vec![
                    Val::Text(client_id.into()),
                    json_list(redirect_uris),
                    json_list(post_logout_redirect_uris),
                    Val::Ts(at),
                ],
            )
            .expect_rows(1, StoreError::NotFound)])
            .await
    }

    // ---- authorization codes and token families

    pub async fn create_code(&self, c: &AuthCode) -> Result<()> {
        self.store
            .exec()
            .transaction(vec![Stmt::new(
                "INSERT INTO oidc_codes (code_hash, family_id, client_id, personal_id, redirect_uri, scope, \
                 nonce, acr, auth_time, code_challenge, expires_at, used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)",
                vec![
                    Val::Text(c.code_hash.clone()),
                    Val::Text(c.family_id.clone()),
                    Val::Text(c.client_id.clone()),
                    Val::Text(c.personal_id.to_string()),
                    Val::Text(c.redirect_uri.clone()),
                    Val::Text(c.scope.clone()),
                    Val::OptText(c.nonce.clone()),
                    Val::Text(c.acr.clone()),
                    Val::Ts(c.auth_time),
                    Val::Text(c.code_challenge.clone()),
                    Val::Ts(c.expires_at),
                ],
            )])
            .await
    }

    pub async fn code(&self, code_hash: &str) -> Result<Option<AuthCode>> {
        let rows = self
            .store
            .exec()
            .query(
                "SELECT code_hash, family_id, client_id, personal_id, redirect_uri, scope, nonce, acr, \
                 auth_time, code_challenge, expires_at, used_at FROM oidc_codes WHERE code_hash = $1",
                vec![Val::Text(code_hash.into())],
            )
            .await?;
        rows.first()
            .map(|r| {
                Ok(AuthCode {
                    code_hash: r.text(0)?,
                    family_id: r.text(1)?,
                    client_id: r.text(2)?,
                    personal_id: pid(r.text(3)?)?,
                    redirect_uri: r.text(4)?,
                    scope: r.text(5)?,
                    nonce: r.opt_text(6)?,
                    acr: r.text(7)?,
                    auth_time: r.ts(8)?,
                    code_challenge: r.text(9)?,
                    expires_at: r.ts(10)?,
                    used_at: r.opt_ts(11)?,
                })
            })
            .transpose()
    }

    /// Spends a code and starts its family with its first refresh token (`refresh_hash`), in
    /// one transaction. A code spent before revokes its family instead ([`Spend::Reused`]).
    pub async fn spend_code(
        &self,
        code: &AuthCode,
        refresh_hash: Option<&str>,
        refresh_expires: Timestamp,
        now: Timestamp,
    ) -> Result<Spend> {
        let mut stmts = vec![
            Stmt::new(
                "UPDATE oidc_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
                vec![Val::Text(code.code_hash.clone()), Val::Ts(now)],
            )
            .expect_rows(1, StoreError::NotFound),
            Stmt::new(
                "INSERT INTO oidc_token_families (family_id, client_id, personal_id, scope, acr, auth_time, \
                 created_at, revoked_at, revoked_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)",
                vec![
                    Val::Text(code.family_id.clone()),
                    Val::Text(code.client_id.clone()),
                    Val::Text(code.personal_id.to_string()),
                    Val::Text(code.scope.clone()),
                    Val::Text(code.acr.clone()),
                    Val::Ts(code.auth_time),
                    Val::Ts(now),
                ],
            ),
        ];
        if let Some(h) = refresh_hash {
            stmts.push(insert_refresh(h, &code.family_id, refresh_expires));
        }
        match self.store.exec().transaction(stmts).await {
            Ok(()) => Ok(Spend::Done),
            Err(StoreError::NotFound) => {
                // Spent (or expired) before: a spent code presented again revokes its family.
                match self.code(&code.code_hash).await? {
                    Some(c) if c.used_at.is_some() => {
                        self.revoke_family(&c.family_id, "code_reused", now).await?;
                        Ok(Spend::Reused)
                    }
                    _ => Ok(Spend::Invalid),
                }
            }
            Err(e) => Err(e),
        }
    }

    pub async fn revoke_family(&self, family_id: &str, reason: &str, now: Timestamp) -> Result<()> {
        self.store
            .exec()
            .transaction(vec![Stmt::new(
                "UPDATE oidc_token_families SET revoked_at = $2, revoked_reason = $3 \
                 WHERE family_id = $1 AND revoked_at IS NULL",
                vec![Val::Text(family_id.into()), Val::Ts(now), Val::Text(reason.into())],
            )])
            .await
    }

    pub async fn family(&self, family_id: &str) -> Result<Option<TokenFamily>> {
        let rows = self
            .store
            .exec()
            .query(
                "SELECT family_id, client_id, personal_id, scope, acr, auth_time, created_at, revoked_at \
                 FROM oidc_token_families WHERE family_id = $1",
                vec![Val::Text(family_id.into())],
            )
            .await?;
        rows.first().map(|r| family_from(r, 0)).transpose()
    }

    pub async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>> {
        let rows = self
            .store
            .exec()
            .query(
                "SELECT f.family_id, f.client_id, f.personal_id, f.scope, f.acr, f.auth_time, f.created_at, \
                 f.revoked_at, r.token_hash, r.expires_at, r.used_at \
                 FROM oidc_refresh_tokens r JOIN oidc_token_families f ON f.family_id = r.family_id \
                 WHERE r.token_hash = $1",
                vec![Val::Text(token_hash.into())],
            )
            .await?;
        rows.first()
            .map(|r| {
                Ok(RefreshToken {
                    family: family_from(r, 0)?,
                    token_hash: r.text(8)?,
                    expires_at: r.ts(9)?,
                    used_at: r.opt_ts(10)?,
                })
            })
            .transpose()
    }

    /// Replaces a refresh token by a new one. One used before revokes its family
    /// ([`Spend::Reused`]); an expired one or one of a revoked family is [`Spend::Invalid`].
    pub async fn rotate_refresh(
        &self,
        old: &RefreshToken,
        new_hash: &str,
        new_expires: Timestamp,
        now: Timestamp,
    ) -> Result<Spend> {
        let stmts = vec![
            Stmt::new(
                "UPDATE oidc_refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
                 AND expires_at > $2 AND family_id IN \
                 (SELECT family_id FROM oidc_token_families WHERE revoked_at IS NULL)",
                vec![Val::Text(old.token_hash.clone()), Val::Ts(now)],
            )
            .expect_rows(1, StoreError::NotFound),
            insert_refresh(new_hash, &old.family.family_id, new_expires),
        ];
        match self.store.exec().transaction(stmts).await {
            Ok(()) => Ok(Spend::Done),
            Err(StoreError::NotFound) => match self.refresh_token(&old.token_hash).await? {
                Some(t) if t.used_at.is_some() => {
                    self.revoke_family(&t.family.family_id, "refresh_reused", now).await?;
                    Ok(Spend::Reused)
                }
                _ => Ok(Spend::Invalid),
            },
            Err(e) => Err(e),
        }
    }

    /// Deletes codes and sessions that expired before `before`.
    pub async fn sweep(&self, before: Timestamp) -> Result<()> {
        self.store
            .exec()
            .transaction(vec![
                Stmt::new("DELETE FROM oidc_codes WHERE expires_at < $1", vec![Val::Ts(before)]),
                Stmt::new("DELETE FROM oidc_sessions WHERE expires_at < $1", vec![Val::Ts(before)]),
            ])
            .await
    }

    // ---- consents

    /// Whether the citizen consented to `scope` (space-separated) for the client: one
    /// remembered answer covers every scope asked now.
    pub async fn has_consent(&self, id: &PersonalId, client_id: &str, scope: &str) -> Result<bool> {
        let rows = self
            .store
            .exec()
            .query(
                "SELECT scope FROM oidc_consents WHERE personal_id = $1 AND client_id = $2",
                vec![Val::Text(id.to_string()), Val::Text(client_id.into())],
            )
            .await?;
        let asked: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
        for r in &rows {
            let granted = r.text(0)?;
            let granted: Vec<&str> = granted.split(' ').collect();
            if asked.iter().all(|a| granted.contains(a)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub async fn grant_consent(
        &self,
        id: &PersonalId,
        client_id: &str,
        scope: &str,
        at: Timestamp,
    ) -> Result<()> {
        self.store
            .exec()
            .transaction(vec![Stmt::new(
                "INSERT INTO oidc_consents (personal_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (personal_id, client_id, scope) DO UPDATE SET granted_at = excluded.granted_at",
                vec![
                    Val::Text(id.to_string()),
                    Val::Text(client_id.into()),
                    Val::Text(scope.into()),
                    Val::Ts(at),
                ],
            )])
            .await
    }

    // ---- provider sessions

    pub async fn create_session(&self, s: &OidcSession) -> Result<()> {
        self.store
            .exec()
            .transaction(vec![Stmt::new(
                "INSERT INTO oidc_sessions (token_hash, personal_id, level, auth_time, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                vec![
                    Val::Text(s.token_hash.clone()),
                    Val::Text(s.personal_id.to_string()),
                    Val::Int(s.level),
                    Val::Ts(s.auth_time),
                    Val::Ts(s.expires_at),
                ],
            )])
            .await
    }

    /// A session by its token's hash, if not expired at `now`.
    pub async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<OidcSession>> {
        let rows = self
            .store
            .exec()
            .query(
                "SELECT token_hash, personal_id, level, auth_time, expires_at FROM oidc_sessions \
                 WHERE token_hash = $1 AND expires_at > $2",
                vec![Val::Text(token_hash.into()), Val::Ts(now)],
            )
            .await?;
        rows.first()
            .map(|r| {
                Ok(OidcSession {
                    token_hash: r.text(0)?,
                    personal_id: pid(r.text(1)?)?,
                    level: r.int(2)?,
                    auth_time: r.ts(3)?,
                    expires_at: r.ts(4)?,
                })
            })
            .transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.store
            .exec()
            .transaction(vec![Stmt::new(
                "DELETE FROM oidc_sessions WHERE token_hash = $1",
                vec![Val::Text(token_hash.into())],
            )])
            .await
    }
}

fn insert_refresh(hash: &str, family_id: &str, expires: Timestamp) -> Stmt {
    Stmt::new(
        "INSERT INTO oidc_refresh_tokens (token_hash, family_id, expires_at, used_at) VALUES ($1, $2, $3, NULL)",
        vec![Val::Text(hash.into()), Val::Text(family_id.into()), Val::Ts(expires)],
    )
}

fn family_from(r: &OwnedRow, at: usize) -> Result<TokenFamily> {
    Ok(TokenFamily {
        family_id: r.text(at)?,
        client_id: r.text(at + 1)?,
        personal_id: pid(r.text(at + 2)?)?,
        scope: r.text(at + 3)?,
        acr: r.text(at + 4)?,
        auth_time: r.ts(at + 5)?,
        created_at: r.ts(at + 6)?,
        revoked_at: r.opt_ts(at + 7)?,
    })
}
