//! Citizen authentication for the portal: personal ID + password (argon2id, OWASP
//! parameters) + a TOTP code (RFC 6238, replay-protected), throttled with back-off per
//! personal ID whether or not an account exists, and short server-side sessions in a cookie
//! scoped to `/portal` with a CSRF token.
//!
//! Every failure before the password is proven answers alike ("wrong personal ID, password or
//! code"), so the login never reveals whether a personal ID has an account.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use chrono::Utc;
use dancu_domain::{PersonalId, Violation};
use dancu_identity::eid::{AccountEvent, AccountState, Actor, Phase, RegistrationClaim};
use dancu_identity::totp;
use dancu_store::eid::{self, CitizenSession, EidAccount};
use dancu_store::registry::now;

use crate::auth::{
    constant_time_eq, cookie, locked_error, random_token, sha256_hex, verify_password, DUMMY_HASH,
};
use crate::error::ApiError;
use crate::AppState;

pub const CITIZEN_COOKIE: &str = "dancu_citizen";
/// Double-submit token of the portal's public forms (login, registration, reset).
pub const PORTAL_CSRF_COOKIE: &str = "dancu_portal_csrf";
pub const PORTAL_PATH: &str = "/portal";

/// The logged-in citizen of a portal request.
#[derive(Debug, Clone)]
pub struct CitizenPrincipal {
    pub personal_id: PersonalId,
    pub csrf: String,
    pub token_hash: String,
}

impl CitizenPrincipal {
    pub fn check_csrf(&self, submitted: &str) -> Result<(), ApiError> {
        if constant_time_eq(self.csrf.as_bytes(), submitted.as_bytes()) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "Phiên biểu mẫu không hợp lệ, hãy tải lại trang",
                "invalid form token (CSRF); reload the page",
            ))
        }
    }
}

impl FromRequestParts<AppState> for CitizenPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, CITIZEN_COOKIE).ok_or_else(ApiError::unauthorized)?;
        let token_hash = sha256_hex(token);
        let s = eid::get_session(state.registry.store().as_ref(), &token_hash, now())
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(CitizenPrincipal { personal_id: s.personal_id, csrf: s.csrf_token, token_hash })
    }
}

/// A page that works with or without a citizen session (an expired one counts as none).
impl OptionalFromRequestParts<AppState> for CitizenPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Self as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(p) => Ok(Some(p)),
            Err(e) if e.status == StatusCode::UNAUTHORIZED => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub fn bad_citizen_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "Số định danh, mật khẩu hoặc mã xác thực không đúng",
        "wrong personal ID, password or code",
    )
}

fn refused(code: &'static str, vi: String, en: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, vi, en)
}

/// The least a password must be: 10 characters, not only digits.
pub fn check_password(pw: &str) -> Result<(), Violation> {
    if pw.chars().count() < 10 || pw.chars().all(|c| c.is_ascii_digit()) || pw.len() > 256 {
        return Err(Violation::new(
            "password",
            "password.weak",
            "Mật khẩu phải có từ 10 đến 256 ký tự và không chỉ gồm chữ số",
            "the password needs 10 to 256 characters, not only digits",
        ));
    }
    Ok(())
}

/// What a registration form or request carries, as typed.
pub struct ClaimInput<'a> {
    pub personal_id: &'a str,
    pub full_name: &'a str,
    pub birth_date: &'a str,
    pub sex: &'a str,
    pub phone: &'a str,
    pub portrait_captured: bool,
    pub password: &'a str,
    /// The repeated password of a web form (the API has none).
    pub password2: Option<&'a str>,
}

/// Parses a registration into a claim, naming every field that is wrong at once.
pub fn parse_claim(i: &ClaimInput<'_>) -> Result<RegistrationClaim, ApiError> {
    let mut violations = Vec::new();
    let personal_id = i.personal_id.trim().parse::<PersonalId>().map_err(|v| violations.push(v)).ok();
    let birth_date = i.birth_date.parse::<dancu_domain::PartialDate>().map_err(|v| violations.push(v)).ok();
    let sex = dancu_domain::Sex::parse(i.sex).map_err(|v| violations.push(v)).ok();
    if let Err(v) = check_password(i.password) {
        violations.push(v);
    }
    if i.password2.is_some_and(|p2| p2 != i.password) {
        violations.push(Violation::new(
            "password2",
            "password.mismatch",
            "Hai lần nhập mật khẩu không giống nhau",
            "the two passwords differ",
        ));
    }
    match (personal_id, birth_date, sex) {
        (Some(personal_id), Some(birth_date), Some(sex)) if violations.is_empty() => Ok(RegistrationClaim {
            personal_id,
            full_name: i.full_name.to_string(),
            birth_date,
            sex,
            phone: i.phone.to_string(),
            portrait_captured: i.portrait_captured,
        }),
        _ => Err(ApiError::invalid(violations)),
    }
}

/// Checks personal ID, password and TOTP code; on success spends the code, activates an
/// approved account, records the login and returns the account.
pub async fn citizen_login(
    state: &AppState,
    raw_id: &str,
    password: &str,
    code: &str,
    client: &str,
) -> Result<EidAccount, ApiError> {
    let raw_id = raw_id.trim();
    let key = format!("citizen:{raw_id}");
    if let Some(d) = state.login_throttle.locked_for(&key) {
        return Err(locked_error(d));
    }
    let store = state.registry.store().as_ref();
    let account = match raw_id.parse::<PersonalId>() {
        Ok(id) => eid::get_account(store, &id).await?,
        Err(_) => None,
    };
    let hash = account.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.clone());
    let pw = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &pw)).await.unwrap_or(false);
    let Some(account) = account.filter(|_| ok) else {
        state.login_throttle.failed(&key);
        return Err(bad_citizen_credentials());
    };
    let id = account.personal_id;
    let key_ref = &key;
    let fail = |outcome: &'static str| async move {
        state.login_throttle.failed(key_ref);
        eid::record_login(store, &id, now(), outcome, client).await
    };
    let secret = totp::secret_from_base32(&account.totp_secret).unwrap_or_default();
    let unix = Utc::now().timestamp().max(0) as u64;
    let step = match totp::verify(&secret, code, unix, account.totp_last_step) {
        Ok(step) => step,
        Err(v) => {
            fail("bad_code").await?;
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "totp_failed", v.message_vi, v.message_en));
        }
    };
    match &account.state {
        AccountState::Registered => {
            fail("not_active").await?;
            return Err(refused(
                "eid_pending",
                "Tài khoản đang chờ phê duyệt".into(),
                "the account is waiting for approval".into(),
            ));
        }
        AccountState::Locked { by: Actor::Officer, reason, .. } => {
            fail("locked").await?;
            return Err(refused(
                "eid_locked",
                format!("Tài khoản đã bị cơ quan công an khóa: {reason}"),
                format!("the account was locked by an officer: {reason}"),
            ));
        }
        _ => {}
    }
    // Spending the code is a versioned write: two logins racing with one code cannot both win.
    let spent = EidAccount { totp_last_step: Some(step), ..account.clone() };
    let mut saved = eid::save_account(store, &spent, account.version, account.state.code(), None)
        .await
        .map_err(|e| match e {
            // Another login spent the account's state first: with this code, a replay.
            dancu_store::StoreError::VersionMismatch { .. } => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "totp_failed",
                "Mã xác thực này đã được sử dụng",
                "this code was already used",
            ),
            other => other.into(),
        })?;
    if saved.state.phase() == Phase::Approved && !saved.state.is_locked() {
        saved = state.registry.eid_citizen_event(&saved.personal_id, &AccountEvent::Activate).await?;
    }
    state.login_throttle.succeeded(&key);
    eid::record_login(store, &saved.personal_id, now(), "ok", client).await?;
    Ok(saved)
}

/// Opens a portal session; returns the cookie token.
pub async fn open_session(state: &AppState, id: &PersonalId) -> Result<String, ApiError> {
    let token = random_token();
    let created = now();
    let s = CitizenSession {
        token_hash: sha256_hex(&token),
        personal_id: *id,
        csrf_token: random_token(),
        created_at: created,
        expires_at: created + chrono::Duration::from_std(state.config.citizen_session_ttl).unwrap(),
    };
    eid::create_session(state.registry.store().as_ref(), &s).await?;
    Ok(token)
}

/// A fresh TOTP secret (base32).
pub fn new_totp_secret() -> String {
    totp::secret_base32(&totp::new_secret(&mut rand::rngs::OsRng))
}

/// How long an officer-issued reset code stays valid.
pub const RESET_CODE_HOURS: i64 = 24;

/// A reset code an officer reads out: 10 digits from a random token, grouped for reading.
pub fn new_reset_code() -> String {
    let digits: String = random_token().bytes().filter(u8::is_ascii_digit).take(10).map(char::from).collect();
    format!("{}-{}", &digits[..5], &digits[5..])
}

/// Level-1 registration with throttling: refusals that say something about the registry
/// (a field that does not match) count as failed attempts for the personal ID, so the
/// registration cannot be used to probe records. Returns the account and its TOTP secret.
pub async fn register_citizen(
    state: &AppState,
    claim: &RegistrationClaim,
    password: &str,
) -> Result<(EidAccount, String), ApiError> {
    let key = format!("register:{}", claim.personal_id);
    if let Some(d) = state.login_throttle.locked_for(&key) {
        return Err(locked_error(d));
    }
    check_password(password)?;
    let pw = password.to_string();
    let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&pw))
        .await
        .map_err(|_| ApiError::internal())?;
    let secret = new_totp_secret();
    match state.registry.eid_register(claim, hash, secret.clone()).await {
        Ok(a) => Ok((a, secret)),
        Err(e) => {
            let e = ApiError::from(e);
            if e.violations.iter().any(|v| {
                ["eid.name_mismatch", "eid.dob_mismatch", "eid.sex_mismatch", "eid.deceased"]
                    .contains(&v.rule)
            }) {
                state.login_throttle.failed(&key);
            }
            Err(e)
        }
    }
}
