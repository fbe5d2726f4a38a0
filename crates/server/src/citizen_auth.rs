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
use dancu_store::eid::{CitizenSession, EidAccount};
use dancu_store::registry::now;

use crate::auth::{constant_time_eq, cookie, random_token, sha256_hex, verify_password, DUMMY_HASH};
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
        let s =
            state.accounts.citizen_session(&token_hash, now()).await?.ok_or_else(ApiError::unauthorized)?;
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

/// The throttle key of a citizen login for a well-formed personal ID.
pub fn login_key(id: &PersonalId) -> String {
    format!("citizen:{id}")
}

/// A code must be six digits (spaces allowed) before anything is looked up: otherwise the
/// TOTP rule's own refusal, `totp_failed`.
pub(crate) fn check_code_format(code: &str) -> Result<(), ApiError> {
    let digits = code.chars().filter(|c| !c.is_whitespace()).count();
    if digits != 6 || !code.chars().all(|c| c.is_ascii_digit() || c.is_whitespace()) {
        let v = totp::verify(&[], "x", 0, None).unwrap_err();
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "totp_failed", v.message_vi, v.message_en));
    }
    Ok(())
}

/// Takes a throttle attempt for `id` and checks the password in the hashing pool (against a
/// dummy hash when there is no account, so both take as long). The attempt comes back
/// unsettled with the account: the caller settles it. A wrong password leaves it counted; a
/// failure of the server's own refunds it.
pub(crate) async fn verify_citizen_password<'a>(
    state: &'a AppState,
    id: &PersonalId,
    password: &str,
) -> Result<(EidAccount, crate::throttle::Attempt<'a>), ApiError> {
    let attempt = state.login_throttle.begin(&login_key(id)).await?;
    let account = match state.registry.eid_account_for_authentication(id).await {
        Ok(a) => a,
        Err(e) => {
            attempt.refund().await;
            return Err(e.into());
        }
    };
    let hash = account.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.clone());
    let pw = password.to_string();
    let ok = match state.hasher.run(move || verify_password(&hash, &pw)).await {
        Ok(ok) => ok,
        Err(e) => {
            attempt.refund().await;
            return Err(e);
        }
    };
    match account.filter(|_| ok) {
        Some(a) => Ok((a, attempt)),
        None => Err(bad_citizen_credentials()),
    }
}

/// Spends a verified code's step (a versioned write: two logins racing with one code cannot
/// both win; the loser's code answers as already used).
pub(crate) async fn spend_code(
    state: &AppState,
    account: &EidAccount,
    step: u64,
) -> Result<EidAccount, ApiError> {
    state.accounts.spend_totp_step(account, step).await.map_err(|e| match e {
        dancu_store::StoreError::VersionMismatch { .. } => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "totp_failed",
            "Mã xác thực này đã được sử dụng",
            "this code was already used",
        ),
        other => other.into(),
    })
}

/// Checks personal ID, password and TOTP code; on success spends the code, activates an
/// approved account, records the login and returns the account.
///
/// The input is checked before anything is hashed (a malformed personal ID, password or code
/// cannot name an account); then an attempt is taken from the throttle, so parallel guesses
/// cannot pass the lock together, and argon2 runs in the bounded hashing pool.
pub async fn citizen_login(
    state: &AppState,
    raw_id: &str,
    password: &str,
    code: &str,
    client: &str,
) -> Result<EidAccount, ApiError> {
    let Ok(id) = raw_id.trim().parse::<PersonalId>() else {
        return Err(bad_citizen_credentials());
    };
    if password.is_empty() || password.len() > crate::auth::MAX_PASSWORD_BYTES {
        return Err(bad_citizen_credentials());
    }
    check_code_format(code)?;
    let (account, attempt) = verify_citizen_password(state, &id, password).await?;
    // From here on a failure stays counted (the attempt is dropped unsettled).
    let fail = |outcome: &'static str| async move {
        state.accounts.record_citizen_login(&id, now(), outcome, client).await
    };
    let secret = match account_totp_secret(state, &account) {
        Ok(s) => s,
        Err(e) => {
            // The server's fault, not a guess: not counted.
            attempt.refund().await;
            return Err(e);
        }
    };
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
    let mut saved = spend_code(state, &account, step).await?;
    if saved.state.phase() == Phase::Approved && !saved.state.is_locked() {
        saved = state.registry.eid_citizen_event(&saved.personal_id, &AccountEvent::Activate).await?;
    }
    attempt.success().await;
    state.accounts.record_citizen_login(&saved.personal_id, now(), "ok", client).await?;
    Ok(saved)
}

/// The account's TOTP key. A stored secret that cannot be opened fails closed: the login is
/// refused and the fault logged (never checked against an empty key).
pub fn account_totp_secret(state: &AppState, account: &EidAccount) -> Result<Vec<u8>, ApiError> {
    state.secrets.totp_key(&account.personal_id, &account.totp_secret)
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
    state.accounts.create_citizen_session(&s).await?;
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

/// The one answer of a registration whose details do not match the registry, whatever
/// differs (name, date of birth, sex), for a deceased holder and for a personal ID with no
/// record: the registration must not tell which detail is wrong.
pub fn claim_mismatch() -> Violation {
    Violation::new(
        "personal_id",
        "eid.claim_mismatch",
        "Thông tin đăng ký không khớp với Cơ sở dữ liệu quốc gia về dân cư",
        "the details do not match the national population database",
    )
}

/// Rules whose refusal says something about a registry record; answered as [`claim_mismatch`].
const MISMATCH_RULES: [&str; 5] =
    ["eid.name_mismatch", "eid.dob_mismatch", "eid.sex_mismatch", "eid.deceased", "eid.personal_id_mismatch"];

/// The 10 digits of a reset code as typed (spaces and dashes ignored), or `None`.
pub fn normalize_reset_code(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// What is stored of a reset code for `id`: an HMAC under the server's key.
pub fn reset_code_hash(state: &AppState, id: &PersonalId, code: &str) -> String {
    state.secrets.reset_code_mac(id, &normalize_reset_code(code).unwrap_or_default())
}

/// Whether `code` is the account's live reset code.
pub fn reset_code_ok(state: &AppState, account: &EidAccount, code: &str) -> bool {
    let submitted = reset_code_hash(state, &account.personal_id, code);
    account.reset_expires_at.is_some_and(|t| t > now())
        && account
            .reset_code_hash
            .as_ref()
            .is_some_and(|h| constant_time_eq(h.as_bytes(), submitted.as_bytes()))
}

/// Level-1 registration. The claim's own rules (phone, portrait, password) are checked before
/// anything is hashed. Then an attempt is taken for the personal ID (5 per ID, then locked
/// with back-off), the password is hashed in the bounded pool whatever the outcome (so a
/// known and an unknown ID take the same time), and every refusal that depends on the
/// record answers the same [`claim_mismatch`]. Returns the account and its TOTP secret
/// (base32, shown once).
pub async fn register_citizen(
    state: &AppState,
    claim: &RegistrationClaim,
    password: &str,
) -> Result<(EidAccount, String), ApiError> {
    check_password(password)?;
    dancu_identity::eid::check_claim(claim)?;
    let attempt = state.login_throttle.begin(&format!("register:{}", claim.personal_id)).await?;
    let pw = password.to_string();
    let hash = match state.hasher.run(move || crate::auth::hash_password(&pw)).await {
        Ok(h) => h,
        Err(e) => {
            attempt.refund().await;
            return Err(e);
        }
    };
    let secret = new_totp_secret();
    let sealed = state.secrets.seal_totp(&claim.personal_id, &secret);
    match state.registry.eid_register(claim, hash, sealed).await {
        Ok(a) => {
            attempt.success().await;
            Ok((a, secret))
        }
        Err(e) => {
            let e = ApiError::from(e);
            if e.violations.iter().any(|v| MISMATCH_RULES.contains(&v.rule)) {
                // Counted (the attempt stays a failure), and one answer for every mismatch.
                return Err(ApiError::invalid(vec![claim_mismatch()]));
            }
            attempt.refund().await;
            Err(e)
        }
    }
}
