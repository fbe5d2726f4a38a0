//! The provider's own login session: a cookie on `/oauth` (SameSite=Lax, so the relying
//! party's redirect brings it along), stored by the SHA-256 of its token, with the level the
//! citizen reached: 1 with the password, 2 with the password and the TOTP code on an account
//! verified at level 2. The login reuses the citizen portal's checks and throttle
//! (`citizen_auth`): with a code, exactly the portal's login; without one, the same throttle,
//! account look-up and password check, for an activated, unlocked account only. A step-up
//! asks only for the code, for the session's citizen.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use chrono::Utc;
use dancu_domain::PersonalId;
use dancu_identity::eid::{AccountState, Level, Phase};
use dancu_identity::totp;
use dancu_store::eid::EidAccount;
use dancu_store::oidc::OidcSession;
use dancu_store::registry::now;

use crate::auth::{cookie, random_token, sha256_hex};
use crate::citizen_auth::{
    account_totp_secret, bad_citizen_credentials, check_code_format, citizen_login, login_key, spend_code,
    verify_citizen_password,
};
use crate::error::ApiError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "dancu_oidc";
/// Double-submit token of the login form (before there is a session).
pub const CSRF_COOKIE: &str = "dancu_oidc_csrf";
pub const PATH: &str = "/oauth";

/// A cookie on `/oauth`, HttpOnly, SameSite=Lax (Secure unless configured off).
pub fn cookie_header(state: &AppState, name: &str, value: &str, max_age: u64) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={PATH}; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if state.config.cookie_secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie text")
}

/// The session of a request, if valid.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, OidcSession)>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let s = state.db.oidc().session(&sha256_hex(token), now()).await?;
    Ok(s.map(|s| (token.to_string(), s)))
}

/// The CSRF token of the session's forms (derived from its secret token).
pub fn csrf_of(token: &str) -> String {
    sha256_hex(&format!("dancu oidc csrf\0{token}"))
}

/// Opens a session at `level`; returns its cookie token.
pub async fn open(state: &AppState, id: &PersonalId, level: i64) -> Result<String, ApiError> {
    let token = random_token();
    let at = now();
    let s = OidcSession {
        token_hash: sha256_hex(&token),
        personal_id: *id,
        level,
        auth_time: at,
        expires_at: at + chrono::Duration::from_std(state.config.oidc.session_ttl).expect("small"),
    };
    state.db.oidc().create_session(&s).await?;
    Ok(token)
}

fn level_of(account: &EidAccount, with_code: bool) -> i64 {
    if with_code && account.level == Level::Two {
        2
    } else {
        1
    }
}

fn code_required() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "totp_required",
        "Ứng dụng yêu cầu đăng nhập mức 2: hãy nhập mã xác thực",
        "the application asks for level 2: enter your authenticator code",
    )
}

/// Logs a citizen in: with a code, the portal's login (level 2 on a level-2 account);
/// without one, the password alone (level 1). Returns the account and the level reached.
pub async fn login(
    state: &AppState,
    raw_id: &str,
    password: &str,
    code: &str,
    need_code: bool,
) -> Result<(EidAccount, i64), ApiError> {
    if !code.trim().is_empty() {
        let a = citizen_login(state, raw_id, password, code, "oidc").await?;
        let level = level_of(&a, true);
        return Ok((a, level));
    }
    if need_code {
        return Err(code_required());
    }
    let Ok(id) = raw_id.trim().parse::<PersonalId>() else { return Err(bad_citizen_credentials()) };
    if password.is_empty() || password.len() > crate::auth::MAX_PASSWORD_BYTES {
        return Err(bad_citizen_credentials());
    }
    let (account, attempt) = verify_citizen_password(state, &id, password).await?;
    // The password alone opens only an account in use: a new one is activated with its code
    // (on the portal, or here with the code).
    let usable =
        matches!(account.state, AccountState::Activated) && account.state.phase() == Phase::Activated;
    if !usable {
        state.accounts.record_citizen_login(&id, now(), "not_active", "oidc").await?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "eid_not_active",
            "Tài khoản chưa kích hoạt hoặc đang bị khóa: hãy đăng nhập kèm mã xác thực",
            "the account is not activated or is locked: log in with your authenticator code",
        ));
    }
    attempt.success().await;
    state.accounts.record_citizen_login(&id, now(), "ok", "oidc").await?;
    Ok((account, 1))
}

/// A step-up to level 2: the TOTP code of the session's citizen, on a level-2 account.
pub async fn step_up(state: &AppState, id: &PersonalId, code: &str) -> Result<(), ApiError> {
    check_code_format(code)?;
    let attempt = state.login_throttle.begin(&login_key(id)).await?;
    let account = match state.registry.eid_account_for_authentication(id).await {
        Ok(Some(a)) => a,
        Ok(None) => return Err(bad_citizen_credentials()),
        Err(e) => {
            attempt.refund().await;
            return Err(e.into());
        }
    };
    if account.state.is_locked() {
        return Err(bad_citizen_credentials());
    }
    let secret = match account_totp_secret(state, &account) {
        Ok(s) => s,
        Err(e) => {
            attempt.refund().await;
            return Err(e);
        }
    };
    let unix = Utc::now().timestamp().max(0) as u64;
    let step = match totp::verify(&secret, code, unix, account.totp_last_step) {
        Ok(step) => step,
        Err(v) => {
            state.accounts.record_citizen_login(id, now(), "bad_code", "oidc").await?;
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "totp_failed", v.message_vi, v.message_en));
        }
    };
    spend_code(state, &account, step).await?;
    attempt.success().await;
    state.accounts.record_citizen_login(id, now(), "ok", "oidc").await?;
    if account.level != Level::Two {
        return Err(level_2_needed());
    }
    Ok(())
}

/// The account is level 1: level 2 needs the in-person verification.
pub fn level_2_needed() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "eid_level_2_required",
        "Ứng dụng yêu cầu tài khoản định danh điện tử mức 2; tài khoản của bạn đang ở mức 1. \
         Hãy đến cơ quan công an để nâng cấp",
        "the application requires a level-2 electronic identity; your account is level 1. \
         Upgrade it in person at a police office",
    )
}

/// Ends the session of `headers`, if any; returns the header that clears the cookie.
pub async fn end(state: &AppState, headers: &HeaderMap) -> Result<HeaderValue, ApiError> {
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        state.db.oidc().delete_session(&sha256_hex(token)).await?;
    }
    Ok(cookie_header(state, SESSION_COOKIE, "", 0))
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(state: &AppState, token: &str) -> (header::HeaderName, HeaderValue) {
    (header::SET_COOKIE, cookie_header(state, SESSION_COOKIE, token, state.config.oidc.session_ttl.as_secs()))
}
