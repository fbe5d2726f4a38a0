//! Registered clients: the in-memory cache every token request and every partner call reads
//! (reloaded every [`super::OidcConfig::reload`], a miss looked up once), the registration
//! rules the CLI and the `/clients` page share, and client authentication at the token
//! endpoint (`client_secret_basic`, `client_secret_post`, `private_key_jwt`, public clients
//! with PKCE). Secrets are 256-bit random; only their SHA-256 is stored and compared in
//! constant time (a high-entropy secret needs no slow hash, and the token endpoint must
//! serve thousands of tokens a second).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use axum::http::{header, HeaderMap};
use base64::Engine;
use dancu_domain::Violation;
use dancu_store::oidc::{OidcClient, OidcStore};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::errors::OAuthError;
use crate::auth::{constant_time_eq, sha256_hex};
use crate::AppState;

/// A cached client with its parsed keys.
pub struct Client {
    pub row: OidcClient,
    pub jwks: Option<JwkSet>,
}

impl Client {
    fn new(row: OidcClient) -> Self {
        let jwks = row.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok());
        Client { row, jwks }
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.row.grant_types.iter().any(|g| g == grant)
    }

    pub fn is_public(&self) -> bool {
        self.row.auth_method == "none"
    }
}

/// Every client, by id.
#[derive(Default)]
pub struct ClientCache {
    map: RwLock<HashMap<String, Arc<Client>>>,
}

impl ClientCache {
    /// Replaces the cache with the stored clients.
    pub async fn refresh(&self, store: &OidcStore) -> dancu_store::Result<()> {
        let all = store.clients().await?;
        let fresh = all.into_iter().map(|c| (c.client_id.clone(), Arc::new(Client::new(c)))).collect();
        *self.map.write().unwrap() = fresh;
        Ok(())
    }

    /// Records one client as just stored (an administrator's change on this server takes
    /// effect at once).
    pub fn put(&self, row: OidcClient) {
        self.map.write().unwrap().insert(row.client_id.clone(), Arc::new(Client::new(row)));
    }

    /// The cached client, if any (no database read).
    pub fn cached(&self, client_id: &str) -> Option<Arc<Client>> {
        self.map.read().unwrap().get(client_id).cloned()
    }

    /// The client, looking up once in the database one registered since the last reload.
    pub async fn get(&self, store: &OidcStore, client_id: &str) -> dancu_store::Result<Option<Arc<Client>>> {
        if let Some(c) = self.cached(client_id) {
            return Ok(Some(c));
        }
        if !valid_client_id(client_id) {
            return Ok(None);
        }
        Ok(store.client(client_id).await?.map(|row| {
            let c = Arc::new(Client::new(row));
            self.map.write().unwrap().insert(client_id.to_string(), c.clone());
            c
        }))
    }
}

/// Client ids are 3–64 characters: letters, digits, `-`, `_`, `.`.
pub fn valid_client_id(id: &str) -> bool {
    (3..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// A new random client secret (256 bits, base64url) and its stored hash.
pub fn new_secret() -> (String, String) {
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    let s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let h = sha256_hex(&s);
    (s, h)
}

/// The grant types a client may be registered with.
pub const GRANTS: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];
/// The token endpoint authentication methods.
pub const AUTH_METHODS: [&str; 4] = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"];
/// Scopes of relying parties (OpenID Connect).
pub const OIDC_SCOPES: [&str; 6] =
    ["openid", "profile", "birthdate", "address", "personal_id", "offline_access"];
/// Scopes of partners (client credentials): the partner API's operations.
pub const PARTNER_SCOPES: [&str; 5] =
    ["partner:verify", "partner:card", "partner:residence", "partner:feed", "partner:civil"];

/// What an administrator registers.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub client_id: Option<String>,
    pub name: String,
    pub auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    /// A JWK Set (JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Defaults to the host of the first redirect URI, else the client id.
    pub sector: Option<String>,
}

fn v(field: &'static str, rule: &'static str, vi: &str, en: &str) -> Violation {
    Violation::new(field, rule, vi, en)
}

/// A redirect URI as registered: absolute `https`, or `http` on the local host (a
/// developer's relying party); no fragment, no user info, no control, space or
/// percent-encoded characters (so the exact-match check has only one spelling to match).
pub fn check_redirect_uri(field: &'static str, uri: &str) -> Result<(), Violation> {
    let bad = || {
        v(
            field,
            "redirect_uri.invalid",
            "Địa chỉ chuyển hướng không hợp lệ",
            "not an acceptable redirect URI",
        )
    };
    if uri.len() > 512
        || uri.chars().any(|c| c.is_control() || c.is_whitespace() || c == '%' || c == '#' || c == '\\')
    {
        return Err(bad());
    }
    let rest = if let Some(r) = uri.strip_prefix("https://") {
        r
    } else if let Some(r) = uri.strip_prefix("http://") {
        let host = r.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if !["localhost", "127.0.0.1", "[::1]"].contains(&host) {
            return Err(v(
                field,
                "redirect_uri.https",
                "Địa chỉ chuyển hướng phải dùng https (http chỉ cho máy cục bộ)",
                "a redirect URI must use https (http only on localhost)",
            ));
        }
        r
    } else {
        return Err(bad());
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') || !uri.is_ascii() {
        return Err(bad());
    }
    Ok(())
}

fn host_of(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    Some(rest.split(['/', '?']).next()?.to_string())
}

/// Checks a registration and builds the stored client with a fresh secret (returned once,
/// in clear, when the method uses one).
pub fn register(r: &Registration, created_by: &str) -> Result<(OidcClient, Option<String>), Vec<Violation>> {
    let mut errs = Vec::new();
    let client_id = match &r.client_id {
        Some(id) => id.clone(),
        None => {
            let mut b = [0u8; 9];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
            format!("c-{}", hex::encode(b))
        }
    };
    if !valid_client_id(&client_id) {
        errs.push(v(
            "client_id",
            "client_id.format",
            "Mã ứng dụng gồm 3–64 chữ, số, -, _ hoặc .",
            "3–64 letters, digits, -, _ or .",
        ));
    }
    let name = dancu_domain::nfc(r.name.trim());
    if name.is_empty()
        || name.chars().count() > 100
        || dancu_domain::text::check_no_hidden_chars("name", &name).is_err()
    {
        errs.push(v(
            "name",
            "name.invalid",
            "Tên ứng dụng từ 1 đến 100 ký tự, không có ký tự điều khiển",
            "a name of 1–100 characters without control characters",
        ));
    }
    if !AUTH_METHODS.contains(&r.auth_method.as_str()) {
        errs.push(v(
            "auth_method",
            "auth_method.unknown",
            "Phương thức xác thực không được hỗ trợ",
            "unsupported authentication method",
        ));
    }
    let grants: Vec<String> = dedup(&r.grant_types);
    if grants.is_empty() || grants.iter().any(|g| !GRANTS.contains(&g.as_str())) {
        errs.push(v(
            "grant_types",
            "grant_type.unknown",
            "Loại cấp quyền không hợp lệ",
            "grant types must be among authorization_code, refresh_token, client_credentials",
        ));
    }
    let cc = grants.iter().any(|g| g == "client_credentials");
    let code = grants.iter().any(|g| g == "authorization_code");
    if cc && r.auth_method == "none" {
        errs.push(v(
            "grant_types",
            "client_credentials.public",
            "Ứng dụng công khai không được dùng client_credentials",
            "a public client cannot use client_credentials",
        ));
    }
    if grants.iter().any(|g| g == "refresh_token") && !code {
        errs.push(v(
            "grant_types",
            "refresh_token.alone",
            "refresh_token cần authorization_code",
            "refresh_token needs authorization_code",
        ));
    }
    if code && r.redirect_uris.is_empty() {
        errs.push(v(
            "redirect_uris",
            "redirect_uris.required",
            "Cần ít nhất một địa chỉ chuyển hướng",
            "at least one redirect URI is required",
        ));
    }
    for u in &r.redirect_uris {
        if let Err(e) = check_redirect_uri("redirect_uris", u) {
            errs.push(e);
        }
    }
    for u in &r.post_logout_redirect_uris {
        if let Err(e) = check_redirect_uri("post_logout_redirect_uris", u) {
            errs.push(e);
        }
    }
    let scopes = dedup(&r.scopes);
    let known = |s: &str| OIDC_SCOPES.contains(&s) || PARTNER_SCOPES.contains(&s);
    if scopes.iter().any(|s| !known(s)) {
        errs.push(v("scopes", "scope.unknown", "Phạm vi không được hỗ trợ", "unknown scope"));
    }
    if code && !scopes.iter().any(|s| s == "openid") {
        errs.push(v(
            "scopes",
            "scope.openid",
            "Ứng dụng đăng nhập cần phạm vi openid",
            "a relying party needs the openid scope",
        ));
    }
    let jwks = match (&r.auth_method[..], &r.jwks) {
        ("private_key_jwt", Some(j)) => match serde_json::from_str::<JwkSet>(j) {
            Ok(set) if !set.keys.is_empty() && set.keys.iter().all(|k| DecodingKey::from_jwk(k).is_ok()) => {
                Some(j.clone())
            }
            _ => {
                errs.push(v(
                    "jwks",
                    "jwks.invalid",
                    "Bộ khóa công khai (JWKS) không hợp lệ",
                    "not a usable JWK Set",
                ));
                None
            }
        },
        ("private_key_jwt", None) => {
            errs.push(v(
                "jwks",
                "jwks.required",
                "private_key_jwt cần bộ khóa công khai (JWKS)",
                "private_key_jwt needs the client's JWK Set",
            ));
            None
        }
        _ => None,
    };
    if !errs.is_empty() {
        return Err(errs);
    }
    let (secret, hash) = if r.auth_method.starts_with("client_secret") {
        let (s, h) = new_secret();
        (Some(s), Some(h))
    } else {
        (None, None)
    };
    let sector = r
        .sector
        .clone()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| r.redirect_uris.first().and_then(|u| host_of(u)))
        .unwrap_or_else(|| client_id.clone());
    let now = dancu_store::registry::now();
    let row = OidcClient {
        client_id,
        name,
        auth_method: r.auth_method.clone(),
        secret_hash: hash,
        jwks,
        redirect_uris: r.redirect_uris.clone(),
        post_logout_redirect_uris: r.post_logout_redirect_uris.clone(),
        grant_types: grants,
        scopes,
        sector,
        active: true,
        created_by: created_by.to_string(),
        created_at: now,
        updated_at: now,
    };
    Ok((row, secret))
}

fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v.iter().flat_map(|s| s.split([' ', ','])).map(str::trim).filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// The client credentials a token request carries.
#[derive(Debug, Default, Clone)]
pub struct Credentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

/// Decodes `application/x-www-form-urlencoded` escapes (HTTP Basic credentials are
/// form-encoded, RFC 6749 §2.3.1).
pub fn form_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Authenticates the client of a token request. Unknown clients, wrong secrets and bad
/// assertions all answer `invalid_client` (401) alike.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    form: &Credentials,
) -> Result<Arc<Client>, OAuthError> {
    let basic = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, rest) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
    });
    let fail = |basic_used: bool| OAuthError { basic_challenge: basic_used, ..OAuthError::invalid_client() };
    if let Some(b) = basic {
        // More than one method is a failed authentication (RFC 6749 §2.3), answered like
        // every other: `invalid_client`.
        if form.client_secret.is_some() || form.client_assertion.is_some() {
            return Err(fail(true));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b)
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .ok_or_else(|| fail(true))?;
        let (id, secret) = decoded.split_once(':').ok_or_else(|| fail(true))?;
        let (id, secret) =
            (form_decode(id).ok_or_else(|| fail(true))?, form_decode(secret).ok_or_else(|| fail(true))?);
        if form.client_id.as_deref().is_some_and(|f| f != id) {
            return Err(fail(true));
        }
        return check_secret(state, &id, &secret).await?.ok_or_else(|| fail(true));
    }
    if let Some(assertion) = &form.client_assertion {
        // An assertion of another type cannot authenticate the client.
        if form.client_assertion_type.as_deref() != Some(ASSERTION_TYPE) {
            return Err(fail(false));
        }
        if form.client_secret.is_some() {
            return Err(fail(false));
        }
        return check_assertion(state, form.client_id.as_deref(), assertion)
            .await?
            .ok_or_else(|| fail(false));
    }
    let id = form.client_id.as_deref().ok_or_else(|| fail(false))?;
    if let Some(secret) = &form.client_secret {
        return check_secret(state, id, secret).await?.ok_or_else(|| fail(false));
    }
    // A public client: identified, not authenticated (PKCE binds its code).
    let c = state.oidc.clients.get(&state.db.oidc(), id).await?.ok_or_else(|| fail(false))?;
    if c.is_public() && c.row.active {
        Ok(c)
    } else {
        Err(fail(false))
    }
}

async fn check_secret(state: &AppState, id: &str, secret: &str) -> Result<Option<Arc<Client>>, OAuthError> {
    let given = sha256_hex(secret);
    let Some(c) = state.oidc.clients.get(&state.db.oidc(), id).await? else { return Ok(None) };
    let ok = c.row.active
        && c.row.auth_method.starts_with("client_secret")
        && c.row.secret_hash.as_deref().is_some_and(|h| constant_time_eq(h.as_bytes(), given.as_bytes()));
    Ok(ok.then_some(c))
}

#[derive(serde::Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    jti: String,
    exp: i64,
}

async fn check_assertion(
    state: &AppState,
    form_id: Option<&str>,
    assertion: &str,
) -> Result<Option<Arc<Client>>, OAuthError> {
    let Ok(header) = jsonwebtoken::decode_header(assertion) else { return Ok(None) };
    // The issuer names the client; read it unverified to find its keys, then verify.
    let Some(id) = unverified_iss(assertion) else { return Ok(None) };
    if form_id.is_some_and(|f| f != id) {
        return Ok(None);
    }
    let Some(c) = state.oidc.clients.get(&state.db.oidc(), &id).await? else { return Ok(None) };
    if !c.row.active || c.row.auth_method != "private_key_jwt" {
        return Ok(None);
    }
    let Some(set) = &c.jwks else { return Ok(None) };
    let jwk = match &header.kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    };
    let Some(key) = jwk.and_then(|k| DecodingKey::from_jwk(k).ok()) else { return Ok(None) };
    if !matches!(header.alg, Algorithm::ES256 | Algorithm::RS256 | Algorithm::PS256) {
        return Ok(None);
    }
    let cfg = &state.config.oidc;
    let mut v = Validation::new(header.alg);
    v.leeway = 30;
    v.set_audience(&[cfg.token_endpoint(), cfg.issuer.clone()]);
    v.set_issuer(&[&id]);
    v.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let Ok(data) = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &v) else { return Ok(None) };
    let claims = data.claims;
    if claims.sub != id || claims.iss != id || claims.jti.is_empty() {
        return Ok(None);
    }
    // An assertion is used once.
    if !state.oidc.assertions.first_use(&id, &claims.jti, claims.exp) {
        return Ok(None);
    }
    Ok(Some(c))
}

fn unverified_iss(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_string)
}

/// `jti`s of client assertions seen, until they expire (replay protection).
#[derive(Default)]
pub struct AssertionReplay(Mutex<HashMap<(String, String), i64>>);

impl AssertionReplay {
    /// Whether this is the first use of `(client, jti)`; remembers it until `exp`.
    pub fn first_use(&self, client: &str, jti: &str, exp: i64) -> bool {
        let mut m = self.0.lock().unwrap();
        if m.len() > 100_000 {
            let now = chrono::Utc::now().timestamp();
            m.retain(|_, e| *e >= now - 60);
        }
        m.insert((client.to_string(), jti.to_string()), exp).is_none()
    }

    pub fn prune(&self) {
        let now = chrono::Utc::now().timestamp();
        self.0.lock().unwrap().retain(|_, e| *e >= now - 60);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_have_one_spelling() {
        assert!(check_redirect_uri("r", "https://portal.example.vn/cb").is_ok());
        assert!(check_redirect_uri("r", "http://localhost:9000/cb").is_ok());
        assert!(check_redirect_uri("r", "http://127.0.0.1/cb?x=1").is_ok());
        for bad in [
            "http://portal.example.vn/cb",
            "https://portal.example.vn/c%62",
            "https://portal.example.vn/cb#x",
            "https://a@portal.example.vn/cb",
            "https://portal.example.vn/c\nb",
            "https://portal.example.vn/c b",
            "javascript:alert(1)",
            "https:///cb",
            "http://localhost.evil.vn/cb",
        ] {
            assert!(check_redirect_uri("r", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(form_decode("%zz"), None);
    }
}
