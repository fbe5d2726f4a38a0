//! Secrets at rest. TOTP secrets are stored sealed with ChaCha20-Poly1305 under a server
//! key, bound to the account's personal ID (the associated data), as
//! `v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`. Reset codes are stored as
//! HMAC-SHA-256 under a key derived from the current server key (`h1:<hex>`), so a database
//! copy is not enough to generate codes or to test the 10¹⁰ possible reset codes offline.
//!
//! Keys come from a key file or the environment (see docs/OPERATIONS.md): one key per line,
//! `<id>:<64 hex digits>`, the first line the current key. Older lines only open what they
//! sealed; [`reseal_totp_secrets`] (run at start) re-seals every secret under the current
//! key, and seals secrets stored in plain text by versions before this one. A stored secret
//! that cannot be opened fails closed: the login is refused and the fault logged.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use dancu_domain::PersonalId;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::error::ApiError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// One server key.
#[derive(Clone)]
pub struct SecretKey {
    pub id: String,
    bytes: [u8; 32],
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey").field("id", &self.id).field("bytes", &"<redacted>").finish()
    }
}

/// The server's keys: the first seals, every one opens what it sealed.
#[derive(Clone, Debug)]
pub struct SecretKeys(Vec<SecretKey>);

impl SecretKeys {
    /// One fresh random key (`k1`).
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SecretKeys(vec![SecretKey { id: "k1".into(), bytes }])
    }

    /// A new key file's text: one random key, `k1`.
    pub fn new_file_text() -> String {
        let k = &Self::random().0[0];
        format!("{}:{}\n", k.id, hex::encode(k.bytes))
    }

    /// Parses `<id>:<64 hex>` lines (blank lines and `#` comments ignored); ids are
    /// 1–16 letters or digits and unique.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys: Vec<SecretKey> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, hexkey) =
                line.split_once(':').ok_or_else(|| format!("line {}: expected <id>:<hex>", n + 1))?;
            if id.is_empty() || id.len() > 16 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("line {}: a key id is 1–16 letters or digits", n + 1));
            }
            let raw =
                hex::decode(hexkey.trim()).map_err(|_| format!("line {}: the key is not hex", n + 1))?;
            let bytes: [u8; 32] =
                raw.try_into().map_err(|_| format!("line {}: a key is 32 bytes (64 hex digits)", n + 1))?;
            if keys.iter().any(|k| k.id == id) {
                return Err(format!("line {}: key id {id} appears twice", n + 1));
            }
            keys.push(SecretKey { id: id.to_string(), bytes });
        }
        if keys.is_empty() {
            return Err("no key".into());
        }
        Ok(SecretKeys(keys))
    }

    pub fn current_id(&self) -> &str {
        &self.0[0].id
    }

    fn get(&self, id: &str) -> Option<&SecretKey> {
        self.0.iter().find(|k| k.id == id)
    }
}

/// Why a stored secret could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Not a sealed value (nor a legacy plain secret).
    Malformed,
    /// Sealed under a key id this server does not have.
    UnknownKey(String),
    /// The tag does not verify: corrupt, or moved from another account.
    Corrupt,
}

/// Seals and opens what is stored; held in the application state.
pub struct Secrets {
    keys: SecretKeys,
    reset_mac_key: [u8; 32],
}

impl Secrets {
    pub fn new(keys: SecretKeys) -> Self {
        // A key of its own for reset codes, derived from the current key.
        let mut mac =
            <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&keys.0[0].bytes).expect("any key length");
        mac.update(b"dancu reset-code key v1");
        let reset_mac_key = mac.finalize().into_bytes().into();
        Secrets { keys, reset_mac_key }
    }

    /// Seals a base32 TOTP secret for the account of `id`.
    pub fn seal_totp(&self, id: &PersonalId, base32: &str) -> String {
        let k = &self.keys.0[0];
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&k.bytes));
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload { msg: base32.as_bytes(), aad: id.as_str().as_bytes() },
            )
            .expect("ChaCha20-Poly1305 encryption of a short message");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("v1:{}:{}", k.id, B64.encode(out))
    }

    /// Opens a stored TOTP secret to its base32 text. A legacy plain secret (base32 of 20
    /// bytes, as stored before sealing) is accepted so that it can be re-sealed.
    pub fn open_totp(&self, id: &PersonalId, stored: &str) -> Result<String, OpenError> {
        let Some(rest) = stored.strip_prefix("v1:") else {
            return match dancu_identity::totp::secret_from_base32(stored) {
                Some(raw) if raw.len() == dancu_identity::totp::SECRET_LEN => Ok(stored.to_string()),
                _ => Err(OpenError::Malformed),
            };
        };
        let (kid, body) = rest.split_once(':').ok_or(OpenError::Malformed)?;
        let key = self.keys.get(kid).ok_or_else(|| OpenError::UnknownKey(kid.to_string()))?;
        let raw = B64.decode(body).map_err(|_| OpenError::Malformed)?;
        if raw.len() < 12 + 16 {
            return Err(OpenError::Malformed);
        }
        let (nonce, ct) = raw.split_at(12);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&key.bytes));
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: id.as_str().as_bytes() })
            .map_err(|_| OpenError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| OpenError::Corrupt)
    }

    /// Whether a stored value is sealed under the current key already.
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix("v1:")
            .and_then(|r| r.split_once(':'))
            .is_some_and(|(kid, _)| kid == self.keys.current_id())
    }

    /// The raw TOTP key of an account, failing closed (logged) when it cannot be opened.
    pub fn totp_key(&self, id: &PersonalId, stored: &str) -> Result<Vec<u8>, ApiError> {
        let opened = self.open_totp(id, stored);
        match opened.as_ref().ok().and_then(|b32| dancu_identity::totp::secret_from_base32(b32)) {
            Some(raw) if !raw.is_empty() => Ok(raw),
            _ => {
                tracing::error!(error = ?opened.err(), "stored TOTP secret of an eID account cannot be opened; login refused");
                Err(ApiError::internal())
            }
        }
    }

    /// What is stored of a reset code for `id`: HMAC-SHA-256 of the personal ID and the
    /// code's 10 digits under the server's reset-code key.
    pub fn reset_code_mac(&self, id: &PersonalId, digits: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.reset_mac_key).expect("any key length");
        mac.update(id.as_str().as_bytes());
        mac.update(b":");
        mac.update(digits.as_bytes());
        format!("h1:{}", hex::encode(mac.finalize().into_bytes()))
    }
}

/// Re-seals every TOTP secret not sealed under the current key (legacy plain secrets and
/// secrets sealed under an older key); returns how many changed. Secrets that cannot be
/// opened are logged and left alone (their logins fail closed).
pub async fn reseal_totp_secrets(state: &crate::AppState) -> dancu_store::Result<usize> {
    let mut n = 0;
    for (id, stored) in state.accounts.totp_secrets().await? {
        if state.secrets.is_current(&stored) {
            continue;
        }
        match state.secrets.open_totp(&id, &stored) {
            Ok(b32) => {
                let sealed = state.secrets.seal_totp(&id, &b32);
                if state.accounts.replace_totp_secret(&id, &stored, &sealed).await? {
                    n += 1;
                }
            }
            Err(e) => tracing::error!(error = ?e, "a stored TOTP secret cannot be opened; left as is"),
        }
    }
    if n > 0 {
        tracing::info!(
            count = n,
            key = state.secrets.keys.current_id(),
            "TOTP secrets re-sealed under the current key"
        );
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PersonalId {
        s.parse().unwrap()
    }

    #[test]
    fn sealed_secrets_open_only_for_their_account() {
        let s = Secrets::new(SecretKeys::random());
        let a = id("001085001234");
        let b = id("001190004321");
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let sealed = s.seal_totp(&a, secret);
        assert!(sealed.starts_with("v1:k1:"));
        assert!(!sealed.contains(secret));
        assert_ne!(sealed, s.seal_totp(&a, secret), "a fresh nonce each time");
        assert_eq!(s.open_totp(&a, &sealed).unwrap(), secret);
        assert_eq!(s.open_totp(&b, &sealed), Err(OpenError::Corrupt), "moved to another account");
        // A flipped byte, a truncation, garbage, an unknown key: refused, never an empty key.
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(bytes).unwrap();
        assert!(s.open_totp(&a, &flipped).is_err());
        assert!(s.open_totp(&a, &sealed[..20]).is_err());
        assert_eq!(s.open_totp(&a, "v1:k9:AAAA"), Err(OpenError::UnknownKey("k9".into())));
        assert_eq!(s.open_totp(&a, ""), Err(OpenError::Malformed));
        assert_eq!(s.open_totp(&a, "not base32!"), Err(OpenError::Malformed));
        assert!(s.totp_key(&a, "").is_err());
        assert!(s.totp_key(&a, &flipped).is_err());
        assert_eq!(s.totp_key(&a, &sealed).unwrap().len(), 20);
    }

    #[test]
    fn rotation_opens_old_secrets_and_seals_with_the_new_key() {
        let old = SecretKeys::parse(&SecretKeys::new_file_text()).unwrap();
        let old_line = format!("k1:{}", hex::encode(old.0[0].bytes));
        let a = id("001085001234");
        let sealed_old = Secrets::new(old).seal_totp(&a, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
        let new_key = hex::encode([7u8; 32]);
        let rotated =
            Secrets::new(SecretKeys::parse(&format!("# rotated\nk2:{new_key}\n{old_line}\n")).unwrap());
        assert!(!rotated.is_current(&sealed_old));
        assert_eq!(rotated.open_totp(&a, &sealed_old).unwrap(), "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
        let resealed = rotated.seal_totp(&a, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
        assert!(resealed.starts_with("v1:k2:") && rotated.is_current(&resealed));
    }

    #[test]
    fn key_files_are_checked() {
        assert!(SecretKeys::parse("").is_err());
        assert!(SecretKeys::parse("k1:abcd").is_err());
        assert!(SecretKeys::parse(&format!("k 1:{}", "00".repeat(32))).is_err());
        assert!(SecretKeys::parse(&format!("k1:{0}\nk1:{0}", "00".repeat(32))).is_err());
        assert_eq!(SecretKeys::parse(&format!("\nk7:{}\n", "ab".repeat(32))).unwrap().current_id(), "k7");
    }

    #[test]
    fn reset_codes_are_keyed_and_debug_redacts_keys() {
        let k1 = Secrets::new(SecretKeys::random());
        let k2 = Secrets::new(SecretKeys::random());
        let a = id("001085001234");
        let m = k1.reset_code_mac(&a, "1234567890");
        assert!(m.starts_with("h1:") && m.len() == 3 + 64);
        assert_eq!(m, k1.reset_code_mac(&a, "1234567890"));
        assert_ne!(m, k2.reset_code_mac(&a, "1234567890"), "another server key, another MAC");
        assert_ne!(m, k1.reset_code_mac(&id("001190004321"), "1234567890"));
        let keys = SecretKeys::random();
        let hexkey = hex::encode(keys.0[0].bytes);
        assert!(!format!("{keys:?}").contains(&hexkey));
    }
}
