//! The signed QR codes of residence confirmations (giấy xác nhận thông tin về cư trú).
//!
//! A confirmation's QR code carries a link to the public verification page with a compact
//! token `v1.<base64url(payload)>.<base64url(signature)>`: the payload is JSON with the
//! confirmation's id, the holder's full name, the issue day, the last valid day and the key
//! id; the signature is Ed25519 (`ring`) over `v1.<base64url(payload)>`. The keys live in a
//! file outside the database (`<kid> <base64url PKCS#8>` lines, oldest first, the last one
//! current; created 0600 with one key if missing). A rotation appends a key; the older ones
//! stay, so older confirmations still verify and their QR codes can be drawn again (Ed25519
//! signatures are deterministic: the same confirmation always gets the same token).
//!
//! Verification refuses, each with its own stable code and without touching the database:
//! anything not shaped like a token (`confirmation.malformed`), a key id this server does
//! not know (`confirmation.unknown_key`), and a signature that does not match the payload
//! (`confirmation.bad_signature`: a forged token and an altered payload alike). Only a token
//! whose signature holds is looked up: then the confirmation is valid, revoked or expired.
//! Verifications are throttled per client address ([`VerifyRuntime`]) and counted on
//! `/metrics` (`dancu_confirmation_verifications_total`).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::Engine;
use chrono::{NaiveDate, Utc};
use dancu_domain::Violation;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};

use dancu_store::confirmations::{Confirmation, Standing};

use crate::error::ApiError;
use crate::AppState;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// The token format's version prefix.
const VERSION: &str = "v1";
/// The longest token looked at (a real one is about 300 characters).
pub const MAX_TOKEN_LEN: usize = 2048;

/// What a token states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(rename = "i")]
    pub id: i64,
    /// The holder's full name.
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "d")]
    pub issued_on: NaiveDate,
    #[serde(rename = "u")]
    pub valid_until: NaiveDate,
    #[serde(rename = "k")]
    pub kid: String,
}

/// Why a token was refused before any look-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Malformed,
    UnknownKey,
    BadSignature,
}

impl TokenRefusal {
    pub fn violation(self) -> Violation {
        match self {
            TokenRefusal::Malformed => Violation::new(
                "token",
                "confirmation.malformed",
                "Mã QR không phải mã xác nhận cư trú hợp lệ (sai định dạng)",
                "not a residence confirmation code (malformed)",
            ),
            TokenRefusal::UnknownKey => Violation::new(
                "token",
                "confirmation.unknown_key",
                "Mã QR được ký bằng khóa không do cơ quan này cấp",
                "the code is signed with a key this authority never issued",
            ),
            TokenRefusal::BadSignature => Violation::new(
                "token",
                "confirmation.bad_signature",
                "Chữ ký số không khớp: mã QR bị giả mạo hoặc nội dung đã bị sửa",
                "the signature does not match: the code is forged or its content was altered",
            ),
        }
    }
}

/// The signing keys, oldest first; the last is current.
pub struct ConfirmKeys {
    keys: Vec<(String, Ed25519KeyPair)>,
}

impl std::fmt::Debug for ConfirmKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfirmKeys")
            .field("kids", &self.keys.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .finish()
    }
}

fn new_kid() -> String {
    let r: u32 = rand::random();
    format!("ed25519-{}-{r:08x}", Utc::now().format("%Y%m%d%H%M%S"))
}

fn generate() -> Vec<u8> {
    Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("Ed25519 key generation").as_ref().to_vec()
}

fn key_line(kid: &str, der: &[u8]) -> String {
    format!("{kid} {}\n", B64URL.encode(der))
}

impl ConfirmKeys {
    /// One key in memory (tests; a server without a key file).
    pub fn ephemeral() -> ConfirmKeys {
        ConfirmKeys::parse(&key_line(&new_kid(), &generate())).expect("a fresh key")
    }

    /// Reads `<kid> <base64url PKCS#8>` lines (blank lines and `#` comments skipped).
    pub fn parse(text: &str) -> Result<ConfirmKeys, String> {
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (kid, b64) =
                line.split_once(' ').ok_or_else(|| format!("line {}: expected `<kid> <key>`", n + 1))?;
            if kid.is_empty()
                || kid.len() > 64
                || !kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(format!("line {}: the key id must be 1–64 letters, digits or dashes", n + 1));
            }
            let der =
                B64URL.decode(b64.trim()).map_err(|_| format!("line {}: the key is not base64url", n + 1))?;
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                .map_err(|_| format!("line {}: not an Ed25519 PKCS#8 key", n + 1))?;
            if keys.iter().any(|(k, _)| k == kid) {
                return Err(format!("line {}: key id {kid} twice", n + 1));
            }
            keys.push((kid.to_string(), pair));
        }
        if keys.is_empty() {
            return Err("no key".into());
        }
        Ok(ConfirmKeys { keys })
    }

    /// Opens the key file, or creates it (mode 0600) with one key.
    pub fn open_file(path: &Path) -> Result<ConfirmKeys, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                let text = key_line(&new_kid(), &generate());
                crate::oidc::keys::write_private(path, &text)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                text
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        ConfirmKeys::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Appends a new current key to the file (creating it if missing); returns its id.
    pub fn rotate_file(path: &Path) -> Result<String, String> {
        use std::io::Write;
        ConfirmKeys::open_file(path)?;
        let kid = new_kid();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        f.write_all(key_line(&kid, &generate()).as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        f.sync_all().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(kid)
    }

    /// The id of the key new confirmations are signed with.
    pub fn current_kid(&self) -> &str {
        &self.keys.last().expect("at least one key").0
    }

    fn pair(&self, kid: &str) -> Option<&Ed25519KeyPair> {
        self.keys.iter().find(|(k, _)| k == kid).map(|(_, p)| p)
    }

    /// The token for `claims`, signed with the key `claims.kid` names (`None` if this server
    /// no longer has that key).
    pub fn sign(&self, claims: &Claims) -> Option<String> {
        let pair = self.pair(&claims.kid)?;
        let payload = serde_json::to_vec(claims).ok()?;
        let signed = format!("{VERSION}.{}", B64URL.encode(payload));
        let sig = pair.sign(signed.as_bytes());
        Some(format!("{signed}.{}", B64URL.encode(sig.as_ref())))
    }

    /// The claims of a token whose signature holds.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenRefusal> {
        let token = token.trim();
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenRefusal::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(version), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenRefusal::Malformed);
        };
        if version != VERSION {
            return Err(TokenRefusal::Malformed);
        }
        let payload = B64URL.decode(payload_b64).map_err(|_| TokenRefusal::Malformed)?;
        let sig = B64URL.decode(sig_b64).map_err(|_| TokenRefusal::Malformed)?;
        if sig.len() != 64 {
            return Err(TokenRefusal::Malformed);
        }
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenRefusal::Malformed)?;
        let pair = self.pair(&claims.kid).ok_or(TokenRefusal::UnknownKey)?;
        let signed = &token[..VERSION.len() + 1 + payload_b64.len()];
        UnparsedPublicKey::new(&ED25519, pair.public_key().as_ref())
            .verify(signed.as_bytes(), &sig)
            .map_err(|_| TokenRefusal::BadSignature)?;
        Ok(claims)
    }
}

/// What a verification found, as counted on `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyResult {
    Valid,
    Revoked,
    Expired,
    /// Signed, but no such confirmation (or it differs from what the token states).
    NotFound,
    Malformed,
    UnknownKey,
    BadSignature,
    Throttled,
}

impl VerifyResult {
    const ALL: [VerifyResult; 8] = [
        VerifyResult::Valid,
        VerifyResult::Revoked,
        VerifyResult::Expired,
        VerifyResult::NotFound,
        VerifyResult::Malformed,
        VerifyResult::UnknownKey,
        VerifyResult::BadSignature,
        VerifyResult::Throttled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            VerifyResult::Valid => "valid",
            VerifyResult::Revoked => "revoked",
            VerifyResult::Expired => "expired",
            VerifyResult::NotFound => "not_found",
            VerifyResult::Malformed => "malformed",
            VerifyResult::UnknownKey => "unknown_key",
            VerifyResult::BadSignature => "bad_signature",
            VerifyResult::Throttled => "throttled",
        }
    }
}

impl From<TokenRefusal> for VerifyResult {
    fn from(r: TokenRefusal) -> Self {
        match r {
            TokenRefusal::Malformed => VerifyResult::Malformed,
            TokenRefusal::UnknownKey => VerifyResult::UnknownKey,
            TokenRefusal::BadSignature => VerifyResult::BadSignature,
        }
    }
}

/// Verifications allowed per client address per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyLimit {
    pub per_address: u32,
    pub window: Duration,
}

impl Default for VerifyLimit {
    /// 120 a minute per address: a desk scanning documents all day stays well under it.
    fn default() -> Self {
        VerifyLimit { per_address: 120, window: Duration::from_secs(60) }
    }
}

/// The verification's run-time state: the per-address limit and the counts.
pub struct VerifyRuntime {
    limit: Mutex<crate::throttle::RateWindows>,
    counts: [AtomicU64; 8],
}

impl Default for VerifyRuntime {
    fn default() -> Self {
        VerifyRuntime {
            limit: Mutex::new(crate::throttle::RateWindows::new(100_000)),
            counts: Default::default(),
        }
    }
}

impl VerifyRuntime {
    /// Takes one verification for the current request's client address; 429 with
    /// `Retry-After` past the limit.
    pub fn admit(&self, limit: VerifyLimit) -> Result<(), ApiError> {
        let key = crate::throttle::client::current()
            .map(crate::throttle::client::ip_key)
            .unwrap_or_else(|| "ip:unknown".into());
        let taken = self.limit.lock().unwrap().take(&key, limit.window, limit.per_address, Instant::now());
        match taken {
            Ok(()) => Ok(()),
            Err(wait) => {
                self.count(VerifyResult::Throttled);
                crate::throttle::client::note_retry_after(wait);
                Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_verifications",
                    format!("Quá nhiều lần xác minh từ địa chỉ này; thử lại sau {} giây", wait.as_secs() + 1),
                    format!(
                        "too many verifications from this address; try again in {} s",
                        wait.as_secs() + 1
                    ),
                ))
            }
        }
    }

    pub fn count(&self, r: VerifyResult) {
        let i = VerifyResult::ALL.iter().position(|x| *x == r).unwrap_or(0);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
    }

    /// How many verifications ended in `r` so far.
    pub fn counted(&self, r: VerifyResult) -> u64 {
        let i = VerifyResult::ALL.iter().position(|x| *x == r).unwrap_or(0);
        self.counts[i].load(Ordering::Relaxed)
    }

    /// The counts in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP dancu_confirmation_verifications_total Residence confirmation verifications by result.\n\
             # TYPE dancu_confirmation_verifications_total counter\n",
        );
        for (r, n) in VerifyResult::ALL.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "dancu_confirmation_verifications_total{{result=\"{}\"}} {}",
                r.code(),
                n.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Refused before any look-up.
    Refused(TokenRefusal),
    /// Signed by this authority, but no such confirmation (or not the one the token states).
    Unknown,
    /// The confirmation, where it stands today.
    Found { standing: Standing, holder_name: String, issued_on: NaiveDate, valid_until: NaiveDate },
}

/// The claims a confirmation's token states (signed with the key it was issued under).
pub fn claims_of(c: &Confirmation) -> Claims {
    Claims {
        id: c.id,
        name: c.content.full_name.clone(),
        issued_on: c.issued_on(),
        valid_until: c.valid_until,
        kid: c.key_id.clone(),
    }
}

/// Checks a token (throttled per client address; 429 past the limit): the signature first,
/// then, only for a token this authority signed, the confirmation it names (an audited read
/// by the public verifier). Counted on `/metrics` by result.
pub async fn check(s: &AppState, token: &str) -> Result<Checked, ApiError> {
    s.verify.admit(s.config.verify_limit)?;
    let claims = match s.config.confirm_keys.verify(token) {
        Ok(c) => c,
        Err(r) => {
            s.verify.count(r.into());
            return Ok(Checked::Refused(r));
        }
    };
    let found = s.registry.verify_confirmation(claims.id).await?;
    let checked = match found {
        Some(c) if claims_of(&c) == claims => Checked::Found {
            standing: c.standing(dancu_store::applications::today()),
            holder_name: c.content.full_name.clone(),
            issued_on: claims.issued_on,
            valid_until: c.valid_until,
        },
        _ => Checked::Unknown,
    };
    s.verify.count(match &checked {
        Checked::Found { standing: Standing::Valid, .. } => VerifyResult::Valid,
        Checked::Found { standing: Standing::Revoked, .. } => VerifyResult::Revoked,
        Checked::Found { standing: Standing::Expired, .. } => VerifyResult::Expired,
        _ => VerifyResult::NotFound,
    });
    Ok(checked)
}

/// The public verification link a confirmation's QR code carries.
pub fn verify_url(base: &str, token: &str) -> String {
    format!("{}/verify?t={token}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(keys: &ConfirmKeys) -> Claims {
        Claims {
            id: 4_503_599_627_370_495,
            name: "Nguyễn Thị Ánh".into(),
            issued_on: NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2027, 12, 3).unwrap(),
            kid: keys.current_kid().into(),
        }
    }

    #[test]
    fn a_signed_token_verifies_and_is_the_same_each_time() {
        let keys = ConfirmKeys::ephemeral();
        let c = claims(&keys);
        let t = keys.sign(&c).unwrap();
        assert_eq!(keys.sign(&c).unwrap(), t, "Ed25519 is deterministic");
        assert!(t.starts_with("v1.") && t.len() < 400, "{t}");
        assert_eq!(keys.verify(&t).unwrap(), c);
    }

    #[test]
    fn forged_altered_unknown_key_and_garbage_are_told_apart() {
        let keys = ConfirmKeys::ephemeral();
        let c = claims(&keys);
        let t = keys.sign(&c).unwrap();
        let (head, sig) = t.rsplit_once('.').unwrap();
        // Altered payload, signature kept.
        let mut other = c.clone();
        other.name = "Trần Văn Giả".into();
        let altered = format!("v1.{}.{sig}", B64URL.encode(serde_json::to_vec(&other).unwrap()));
        assert_eq!(keys.verify(&altered), Err(TokenRefusal::BadSignature));
        // Forged: signed by another key under this server's key id.
        let forger = ConfirmKeys::parse(&key_line(keys.current_kid(), &generate())).unwrap();
        assert_eq!(keys.verify(&forger.sign(&c).unwrap()), Err(TokenRefusal::BadSignature));
        // A key id this server never had.
        let stranger = ConfirmKeys::ephemeral();
        let mut theirs = c.clone();
        theirs.kid = "ed25519-20990101000000-beef".into();
        let stranger = ConfirmKeys::parse(&key_line(&theirs.kid, &generate())).unwrap_or(stranger);
        assert_eq!(keys.verify(&stranger.sign(&theirs).unwrap()), Err(TokenRefusal::UnknownKey));
        // Garbage of every shape.
        for g in [
            "",
            "abc",
            "v1.",
            "v1.a.b",
            "v2.x.y",
            &format!("{head}.!!!"),
            &format!("{head}.{sig}.x"),
            &"v1.".repeat(1000),
        ] {
            assert_eq!(keys.verify(g), Err(TokenRefusal::Malformed), "{g}");
        }
    }

    #[test]
    fn after_a_rotation_older_tokens_still_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("confirm.keys");
        let first = ConfirmKeys::open_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let old = first.sign(&claims(&first)).unwrap();
        let kid = ConfirmKeys::rotate_file(&path).unwrap();
        let keys = ConfirmKeys::open_file(&path).unwrap();
        assert_eq!(keys.current_kid(), kid);
        assert_eq!(keys.verify(&old).unwrap().kid, first.current_kid());
    }
}
