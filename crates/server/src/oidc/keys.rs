//! The provider's signing keys (ES256, P-256) and the pairwise-subject secret, kept in a key
//! directory outside the database (created 0600): one PKCS#8 PEM file per key, named by its
//! key id `es256-<UTC yyyymmddHHMMSS>-<hex>`, so the newest sorts last and is current.
//! Rotation (`dancu oidc rotate-key`) adds a new file; a retired key stays in the JWKS for
//! [`RETIRED_KEPT`] after the key that replaced it was made, longer than any token lives.
//! The running server re-reads the directory ([`KeySet::reload`]). Signing uses `ring` with
//! the key pair parsed once (jsonwebtoken parses the PKCS#8 document on every signature);
//! verification uses `jsonwebtoken` with the in-memory public keys, no database round trip.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::de::DeserializeOwned;
use serde::Serialize;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// How long a retired key stays published after its successor was made: longer than the
/// longest token signed with it (tokens live at most 10 minutes).
pub const RETIRED_KEPT: Duration = Duration::from_secs(3600);

/// The pairwise-subject secret's file in the key directory.
pub const PAIRWISE_FILE: &str = "pairwise.key";

struct SigningKey {
    kid: String,
    pair: EcdsaKeyPair,
}

/// A published public key.
#[derive(Clone)]
pub struct PublicKey {
    pub kid: String,
    pub created: DateTime<Utc>,
    x: String,
    y: String,
    decoding: DecodingKey,
}

struct Keys {
    current: Arc<SigningKey>,
    published: Vec<PublicKey>,
    by_kid: HashMap<String, PublicKey>,
    jwks: Arc<serde_json::Value>,
}

/// The signing keys and the pairwise secret; shared by the whole server.
pub struct KeySet {
    dir: Option<PathBuf>,
    keys: RwLock<Arc<Keys>>,
    pairwise: [u8; 32],
    rng: SystemRandom,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet").field("dir", &self.dir).field("current", &self.current_kid()).finish()
    }
}

/// Why keys could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {what}")]
    Bad { path: PathBuf, what: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.to_path_buf(), source }
}

fn new_kid(at: DateTime<Utc>) -> String {
    let mut r = [0u8; 3];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut r);
    format!("es256-{}-{}", at.format("%Y%m%d%H%M%S"), hex::encode(r))
}

fn kid_time(kid: &str) -> Option<DateTime<Utc>> {
    let stamp = kid.strip_prefix("es256-")?.get(..14)?;
    NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M%S").ok().map(|t| t.and_utc())
}

fn pem(der: &[u8]) -> String {
    let b = B64.encode(der);
    let lines: Vec<&str> = b.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"))
}

fn unpem(text: &str) -> Option<Vec<u8>> {
    let body =
        text.trim().strip_prefix("-----BEGIN PRIVATE KEY-----")?.strip_suffix("-----END PRIVATE KEY-----")?;
    let joined: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(joined).ok()
}

fn generate_pkcs8() -> Vec<u8> {
    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .expect("P-256 key generation")
        .as_ref()
        .to_vec()
}

fn load_pair(der: &[u8]) -> Option<EcdsaKeyPair> {
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new()).ok()
}

fn public_of(kid: &str, pair: &EcdsaKeyPair) -> PublicKey {
    let point = pair.public_key().as_ref();
    // Uncompressed SEC1 point: 0x04 ‖ x ‖ y.
    let (x, y) = (B64URL.encode(&point[1..33]), B64URL.encode(&point[33..65]));
    PublicKey {
        kid: kid.to_string(),
        created: kid_time(kid).unwrap_or_else(Utc::now),
        decoding: DecodingKey::from_ec_components(&x, &y).expect("a valid point"),
        x,
        y,
    }
}

/// Writes `text` to `path` readable by the owner only.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Adds a new current key to `dir` (created 0700 if missing); returns its key id.
pub fn rotate(dir: &Path) -> Result<String, KeyError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    let kid = new_kid(Utc::now());
    let path = dir.join(format!("{kid}.pem"));
    write_private(&path, &pem(&generate_pkcs8())).map_err(io(&path))?;
    Ok(kid)
}

/// Key files in `dir`, oldest first: (kid, PKCS#8 DER).
fn read_dir_keys(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, KeyError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = e.map_err(io(dir))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(kid) = name.strip_suffix(".pem") else { continue };
        if kid_time(kid).is_none() {
            return Err(KeyError::Bad {
                path: path.clone(),
                what: "not named es256-<yyyymmddHHMMSS>-<hex>.pem".into(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let der = unpem(&text).filter(|d| load_pair(d).is_some()).ok_or_else(|| KeyError::Bad {
            path: path.clone(),
            what: "not a PKCS#8 P-256 private key (PEM)".into(),
        })?;
        out.push((kid.to_string(), der));
    }
    out.sort();
    Ok(out)
}

fn build(keys: Vec<(String, Vec<u8>)>, now: DateTime<Utc>) -> Keys {
    let pairs: Vec<(String, EcdsaKeyPair)> =
        keys.into_iter().filter_map(|(kid, der)| load_pair(&der).map(|p| (kid, p))).collect();
    let publics: Vec<PublicKey> = pairs.iter().map(|(kid, p)| public_of(kid, p)).collect();
    // A retired key is published until RETIRED_KEPT after its successor was made.
    let kept = chrono::Duration::from_std(RETIRED_KEPT).expect("small");
    let mut published: Vec<PublicKey> = publics
        .iter()
        .enumerate()
        .filter(|(i, _)| publics.get(i + 1).is_none_or(|next| next.created + kept > now))
        .map(|(_, k)| k.clone())
        .collect();
    published.reverse(); // current first
    let (kid, pair) = pairs.into_iter().next_back().expect("at least one key");
    let jwks = serde_json::json!({
        "keys": published.iter().map(|k| serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": k.x, "y": k.y, "kid": k.kid, "use": "sig", "alg": "ES256",
        })).collect::<Vec<_>>()
    });
    Keys {
        current: Arc::new(SigningKey { kid, pair }),
        by_kid: published.iter().map(|k| (k.kid.clone(), k.clone())).collect(),
        published,
        jwks: Arc::new(jwks),
    }
}

impl KeySet {
    /// One fresh key and pairwise secret in memory (tests; a server without a key
    /// directory: its tokens die with it).
    pub fn ephemeral() -> Self {
        let kid = new_kid(Utc::now());
        let mut pairwise = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut pairwise);
        KeySet {
            dir: None,
            keys: RwLock::new(Arc::new(build(vec![(kid, generate_pkcs8())], Utc::now()))),
            pairwise,
            rng: SystemRandom::new(),
        }
    }

    /// Opens the key directory, creating it with a first key and the pairwise secret if
    /// there are none.
    pub fn open_dir(dir: &Path) -> Result<Self, KeyError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        if read_dir_keys(dir)?.is_empty() {
            rotate(dir)?;
        }
        let pw_path = dir.join(PAIRWISE_FILE);
        let text = match std::fs::read_to_string(&pw_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut k = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut k);
                let t = format!("{}\n", hex::encode(k));
                write_private(&pw_path, &t).map_err(io(&pw_path))?;
                t
            }
            Err(e) => return Err(KeyError::Io { path: pw_path, source: e }),
        };
        let pairwise: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| KeyError::Bad { path: pw_path.clone(), what: "expected 64 hex digits".into() })?;
        let keys = build(read_dir_keys(dir)?, Utc::now());
        Ok(KeySet {
            dir: Some(dir.to_path_buf()),
            keys: RwLock::new(Arc::new(keys)),
            pairwise,
            rng: SystemRandom::new(),
        })
    }

    /// Re-reads the key directory (a key added by `dancu oidc rotate-key` becomes current,
    /// retired keys leave the JWKS in time). Without a directory, only the retirement.
    pub fn reload(&self) -> Result<(), KeyError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let keys = read_dir_keys(dir)?;
        if keys.is_empty() {
            return Err(KeyError::Bad { path: dir.clone(), what: "no key left".into() });
        }
        *self.keys.write().unwrap() = Arc::new(build(keys, Utc::now()));
        Ok(())
    }

    fn snapshot(&self) -> Arc<Keys> {
        self.keys.read().unwrap().clone()
    }

    pub fn current_kid(&self) -> String {
        self.snapshot().current.kid.clone()
    }

    /// Key ids published in the JWKS, current first.
    pub fn published_kids(&self) -> Vec<String> {
        self.snapshot().published.iter().map(|k| k.kid.clone()).collect()
    }

    /// The JWK Set document.
    pub fn jwks(&self) -> Arc<serde_json::Value> {
        self.snapshot().jwks.clone()
    }

    /// The pairwise-subject secret.
    pub fn pairwise_secret(&self) -> &[u8; 32] {
        &self.pairwise
    }

    /// Signs `claims` as a compact JWS (ES256, header `typ` and the current `kid`).
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> String {
        let keys = self.snapshot();
        let header = serde_json::json!({"alg": "ES256", "typ": typ, "kid": keys.current.kid});
        let mut out = B64URL.encode(serde_json::to_vec(&header).expect("header serialises"));
        out.push('.');
        out.push_str(&B64URL.encode(serde_json::to_vec(claims).expect("claims serialise")));
        let sig = keys.current.pair.sign(&self.rng, out.as_bytes()).expect("ECDSA signing");
        out.push('.');
        out.push_str(&B64URL.encode(sig.as_ref()));
        out
    }

    /// Verifies a token signed by one of the published keys (by `kid`): signature, `exp`
    /// (no leeway: the same clock signed it), `iss` and, when given, `aud`.
    pub fn verify<T: DeserializeOwned>(&self, token: &str, issuer: &str, aud: Option<&str>) -> Option<T> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::ES256 {
            return None;
        }
        let keys = self.snapshot();
        let key = keys.by_kid.get(header.kid.as_deref()?)?;
        let mut v = Validation::new(Algorithm::ES256);
        v.leeway = 0;
        v.set_issuer(&[issuer]);
        v.set_required_spec_claims(&["exp", "iss"]);
        match aud {
            Some(a) => v.set_audience(&[a]),
            None => v.validate_aud = false,
        }
        jsonwebtoken::decode::<T>(token, &key.decoding, &v).ok().map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_retired_key_published_then_drops_it() {
        let dir = tempfile_dir();
        let set = KeySet::open_dir(&dir).unwrap();
        let first = set.current_kid();
        let token = set.sign("JWT", &serde_json::json!({"iss": "i", "exp": Utc::now().timestamp() + 60}));
        // kids carry seconds: make the next one later.
        std::thread::sleep(Duration::from_millis(1100));
        let second = rotate(&dir).unwrap();
        set.reload().unwrap();
        assert_eq!(set.current_kid(), second);
        assert_eq!(set.published_kids(), [second.clone(), first.clone()]);
        let claims: serde_json::Value = set.verify(&token, "i", None).expect("the retired key verifies");
        assert_eq!(claims["iss"], "i");
        // Past the retirement window, only the current key is published.
        let later = build(read_dir_keys(&dir).unwrap(), Utc::now() + chrono::Duration::hours(2));
        assert_eq!(later.published.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(), [second]);
        assert!(set.verify::<serde_json::Value>(&token, "other", None).is_none(), "wrong issuer");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let set = KeySet::ephemeral();
        let t =
            set.sign("JWT", &serde_json::json!({"iss": "i", "exp": Utc::now().timestamp() + 60, "sub": "a"}));
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        parts[1] = B64URL.encode(br#"{"iss":"i","exp":99999999999,"sub":"b"}"#);
        assert!(set.verify::<serde_json::Value>(&parts.join("."), "i", None).is_none());
        let expired = set.sign("JWT", &serde_json::json!({"iss": "i", "exp": Utc::now().timestamp() - 1}));
        assert!(set.verify::<serde_json::Value>(&expired, "i", None).is_none());
        assert!(set.verify::<serde_json::Value>(&t, "i", None).is_some());
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("dancu-keys-{}", new_kid(Utc::now())));
        d
    }
}
