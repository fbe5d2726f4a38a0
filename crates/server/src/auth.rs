//! Officer authentication: argon2id passwords, signed bearer tokens (HS256 JWT) for the
//! API, server-side sessions with secure cookies and a CSRF token for the web pages, and a
//! login throttle with back-off.

use std::time::Duration;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use jsonwebtoken::{Algorithm as JwtAlg, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use dancu_store::registry::{now, Access};
use dancu_store::{Officer, Role, Scope};

use crate::error::ApiError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "dancu_session";
pub const LOGIN_CSRF_COOKIE: &str = "dancu_login_csrf";
/// The header a cookie-authenticated `/api/v1` request must carry: the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn csrf_error() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "csrf",
        "Phiên biểu mẫu không hợp lệ, hãy tải lại trang",
        "invalid form token (CSRF); reload the page",
    )
}

/// argon2id with OWASP's recommended parameters (19 MiB, 2 iterations, 1 lane).
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).unwrap())
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2().hash_password(password.as_bytes(), &salt).unwrap().to_string()
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the username is unknown, so that the answer takes as
/// long as for a known one and does not reveal which usernames exist.
pub static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("dancu-dummy"));

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: i64,
    usr: String,
    role: String,
    scope: String,
    iat: i64,
    exp: i64,
    iss: String,
    /// The officer's revocation epoch when the token was issued.
    #[serde(default)]
    ep: i64,
}

/// Signing keys for bearer tokens.
pub struct TokenKeys {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut validation = Validation::new(JwtAlg::HS256);
        validation.set_issuer(&["dancu"]);
        validation.leeway = 5;
        TokenKeys { enc: EncodingKey::from_secret(secret), dec: DecodingKey::from_secret(secret), validation }
    }

    pub fn issue(&self, o: &Officer, epoch: i64, ttl: Duration) -> String {
        let iat = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: o.id,
            usr: o.username.clone(),
            role: o.role.code().into(),
            scope: o.scope.to_string(),
            iat,
            exp: iat + ttl.as_secs() as i64,
            iss: "dancu".into(),
            ep: epoch,
        };
        jsonwebtoken::encode(&Header::new(JwtAlg::HS256), &claims, &self.enc).unwrap()
    }

    /// The principal of a well-signed, unexpired token, with the epoch it carries.
    fn verify(&self, token: &str) -> Option<(Principal, i64)> {
        let c = jsonwebtoken::decode::<Claims>(token, &self.dec, &self.validation).ok()?.claims;
        let p = Principal {
            officer_id: c.sub,
            username: c.usr,
            role: Role::parse(&c.role)?,
            scope: c.scope.parse().ok()?,
            csrf: None,
        };
        Some((p, c.ep))
    }
}

/// The logged-in officer of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub officer_id: i64,
    pub username: String,
    pub role: Role,
    pub scope: Scope,
    /// Set for cookie sessions: forms must echo it back.
    pub csrf: Option<String>,
}

impl Principal {
    pub fn access(&self, purpose: &str) -> Access {
        Access {
            actor: format!("officer:{}", self.username),
            role: self.role,
            scope: self.scope.clone(),
            purpose: purpose.to_string(),
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Checks a submitted form's CSRF token against the session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), ApiError> {
        match &self.csrf {
            Some(t) if constant_time_eq(t.as_bytes(), submitted.as_bytes()) => Ok(()),
            Some(_) => Err(csrf_error()),
            None => Ok(()),
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A public form's double-submit CSRF check: the hidden field equals the form's cookie.
pub fn double_submit_ok(headers: &HeaderMap, cookie_name: &str, submitted: &str) -> bool {
    cookie(headers, cookie_name).is_some_and(|c| constant_time_eq(c.as_bytes(), submitted.as_bytes()))
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let principal = if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(ApiError::unauthorized)?;
            let (p, epoch) = state.keys.verify(token.trim()).ok_or_else(ApiError::unauthorized)?;
            let facts = crate::revocation::TokenFacts {
                officer_id: p.officer_id,
                role: p.role,
                scope: &p.scope,
                epoch,
            };
            if !state.revocation.allows(&state.accounts, &facts).await? {
                return Err(ApiError::unauthorized());
            }
            p
        } else if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            let session = state
                .accounts
                .session(&sha256_hex(token), now())
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            // The JSON API takes a session cookie only with the session's CSRF token in a
            // header (any method, body or not): a same-site page cannot set it.
            if parts.uri.path().starts_with("/api/") {
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
                    return Err(csrf_error());
                }
            }
            let officer = state
                .accounts
                .officer(session.officer_id)
                .await?
                .filter(|o| o.active)
                .ok_or_else(ApiError::unauthorized)?;
            Principal {
                officer_id: officer.id,
                username: officer.username,
                role: officer.role,
                scope: officer.scope,
                csrf: Some(session.csrf_token),
            }
        } else {
            return Err(ApiError::unauthorized());
        };
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

pub use crate::throttle::{locked_error, LoginThrottle};

pub fn bad_credentials() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "Sai tên đăng nhập hoặc mật khẩu",
        "wrong username or password",
    )
}

/// The longest password any login form accepts (argon2 is not run on anything longer).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A username as the throttle keys it: well-formed usernames only (3–64 of letters, digits,
/// `.`, `_`, `-`), lower-cased. Anything else cannot name an account.
pub fn officer_throttle_key(username: &str) -> Option<String> {
    let u = username.trim();
    let ok =
        (3..=64).contains(&u.len()) && u.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    ok.then(|| format!("officer:{}", u.to_ascii_lowercase()))
}

/// Checks a username and password. The input is checked before any hashing; the attempt is
/// taken from the throttle before the password is verified (so parallel guesses cannot
/// pass the lock together); argon2 runs in the bounded [`crate::throttle::HashLimiter`];
/// an unknown username costs the same verification as a known one.
pub async fn authenticate(state: &AppState, username: &str, password: &str) -> Result<Officer, ApiError> {
    let username = username.trim();
    let Some(key) = officer_throttle_key(username) else {
        return Err(bad_credentials());
    };
    if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return Err(bad_credentials());
    }
    let attempt = state.login_throttle.begin(&key).await?;
    let officer = match state.accounts.officer_by_username(username).await {
        Ok(o) => o,
        Err(e) => {
            attempt.refund().await;
            return Err(e.into());
        }
    };
    let hash = officer.as_ref().map(|o| o.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.clone());
    let pw = password.to_string();
    let ok = match state.hasher.run(move || verify_password(&hash, &pw)).await {
        Ok(ok) => ok,
        Err(e) => {
            attempt.refund().await;
            return Err(e);
        }
    };
    match officer {
        Some(o) if ok && o.active => {
            attempt.success().await;
            Ok(o)
        }
        _ => Err(bad_credentials()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("garbage", "x"));
    }

    #[test]
    fn throttle_keys_are_normalised_and_bounded() {
        assert_eq!(officer_throttle_key(" Admin ").as_deref(), Some("officer:admin"));
        assert_eq!(officer_throttle_key("ab"), None);
        assert_eq!(officer_throttle_key(&"a".repeat(65)), None);
        assert_eq!(officer_throttle_key("a b c"), None);
        assert_eq!(officer_throttle_key("xã1"), None);
    }

    #[test]
    fn cookies_parse() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; dancu_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, "dancu_session"), Some("abc"));
        assert_eq!(cookie(&h, "x"), None);
    }
}
