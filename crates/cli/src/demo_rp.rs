//! The demo's relying party: a small public-service portal ("Cổng dịch vụ công demo") that
//! logs citizens in with dancu through OpenID Connect, as a real portal would. It is a
//! client of the provider, not part of it: it reads the discovery document, sends the
//! citizen to the authorization endpoint (code flow, PKCE S256, `state`, `nonce`, level 2
//! asked with `acr_values`), exchanges the code with its client secret, checks the ID token
//! (signature against the JWKS, issuer, audience, nonce, expiry) with the `openidconnect`
//! crate, reads userinfo and offers RP-initiated logout. `dancu demo --portal-listen` serves
//! it; the browser test `demo_portal.rs` drives it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context, Result};
use axum::extract::{Query, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreUserInfoClaims};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndSessionUrl,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl,
    Scope, TokenResponse,
};
use serde::Deserialize;

/// The level the demo portal asks for.
pub const DEMO_ACR: &str = "loa:2";

/// What the demo portal needs to know: the provider and its own registration.
#[derive(Debug, Clone)]
pub struct RpConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The redirect URI registered for the portal (its `/callback`, as the browser reaches it).
    pub redirect_uri: String,
    /// Where dancu sends the browser back after logout (registered too).
    pub post_logout_uri: String,
}

/// A login under way (before the callback) or done (after it), by the portal's cookie.
enum Visit {
    Pending { csrf: CsrfToken, nonce: Nonce, verifier: PkceCodeVerifier },
    LoggedIn { name: String, birthdate: Option<String>, sub: String, acr: String, id_token: String },
}

struct Rp {
    config: RpConfig,
    http: openidconnect::reqwest::Client,
    visits: Mutex<HashMap<String, Visit>>,
}

/// Serves the demo portal on `listen` until the process ends.
pub async fn serve(listen: SocketAddr, config: RpConfig) -> Result<()> {
    let http = openidconnect::reqwest::ClientBuilder::new()
        // The provider's redirects are the browser's business, not the portal's.
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()?;
    let rp = Arc::new(Rp { config, http, visits: Mutex::new(HashMap::new()) });
    let app = Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", get(logout))
        .with_state(rp);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("demo portal: binding {listen}"))?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// The client discovery gives: authorization endpoint set, token and userinfo endpoints
/// as the provider announced them.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

impl Rp {
    /// The provider's metadata, read on each login so that a key rotation or a restart of
    /// the provider is seen, as a portal with a short cache would.
    async fn client(&self) -> Result<(Client, Option<EndSessionUrl>)> {
        let issuer = IssuerUrl::new(self.config.issuer.clone())?;
        let meta = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| anyhow!("discovery: {e}"))?;
        let end_session = meta.additional_metadata().end_session_endpoint.clone();
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(RedirectUrl::new(self.config.redirect_uri.clone())?);
        Ok((client, end_session))
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("demo_portal=").map(str::to_string))
}

fn page(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="vi" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) }
                }
                body {
                    header { h1 { "Cổng dịch vụ công (demo)" } p { "Một bên sử dụng (relying party) đăng nhập bằng dancu" } }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
}

async fn home(State(rp): State<Arc<Rp>>, headers: HeaderMap) -> Html<String> {
    let visits = rp.visits.lock().expect("visits lock");
    match cookie(&headers).and_then(|c| visits.get(&c)) {
        Some(Visit::LoggedIn { name, birthdate, sub, acr, .. }) => page(
            "Đã đăng nhập",
            html! {
                p data-testid="greeting" { "Xin chào " strong { (name) } }
                dl {
                    dt { "Mức xác thực" } dd data-testid="acr" { (acr) }
                    dt { "Ngày sinh" } dd { (birthdate.as_deref().unwrap_or("—")) }
                    dt { "Định danh riêng của cổng (sub)" } dd data-testid="sub" { (sub) }
                }
                p { a href="/logout" data-testid="logout" { "Đăng xuất" } }
            },
        ),
        _ => page(
            "Cổng dịch vụ công (demo)",
            html! {
                p { "Đăng nhập bằng tài khoản định danh điện tử mức 2 để nộp hồ sơ." }
                p { a href="/login" data-testid="login" { "Đăng nhập bằng dancu" } }
            },
        ),
    }
}

fn failure(status: StatusCode, what: &str, e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "demo portal: {what}");
    (status, page("Lỗi đăng nhập", html! { p data-testid="error" { (what) ": " (e.to_string()) } p { a href="/" { "Về trang chủ" } } }))
        .into_response()
}

async fn login(State(rp): State<Arc<Rp>>) -> Response {
    let (client, _) = match rp.client().await {
        Ok(c) => c,
        Err(e) => return failure(StatusCode::BAD_GATEWAY, "Không đọc được cấu hình của dancu", e),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("birthdate".into()))
        .add_auth_context_value(AuthenticationContextClass::new(DEMO_ACR.into()))
        .set_pkce_challenge(challenge)
        .url();
    let key = CsrfToken::new_random().secret().clone();
    rp.visits.lock().expect("visits lock").insert(key.clone(), Visit::Pending { csrf, nonce, verifier });
    (
        StatusCode::SEE_OTHER,
        [
            (LOCATION, url.to_string()),
            (SET_COOKIE, format!("demo_portal={key}; Path=/; HttpOnly; SameSite=Lax")),
        ],
    )
        .into_response()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(State(rp): State<Arc<Rp>>, headers: HeaderMap, Query(q): Query<Callback>) -> Response {
    let Some(key) = cookie(&headers) else {
        return failure(StatusCode::BAD_REQUEST, "Phiên đăng nhập không còn", "no portal cookie");
    };
    let pending = rp.visits.lock().expect("visits lock").remove(&key);
    let Some(Visit::Pending { csrf, nonce, verifier }) = pending else {
        return failure(StatusCode::BAD_REQUEST, "Phiên đăng nhập không còn", "no login under way");
    };
    if let Some(err) = q.error {
        let what = format!("{err} {}", q.error_description.unwrap_or_default());
        return failure(StatusCode::FORBIDDEN, "dancu từ chối đăng nhập", what);
    }
    if q.state.as_deref() != Some(csrf.secret().as_str()) {
        return failure(StatusCode::BAD_REQUEST, "Tham số state không khớp", "state mismatch");
    }
    let Some(code) = q.code else {
        return failure(StatusCode::BAD_REQUEST, "Thiếu mã cấp quyền", "no code");
    };
    match finish(&rp, code, nonce, verifier).await {
        Ok(visit) => {
            rp.visits.lock().expect("visits lock").insert(key, visit);
            (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response()
        }
        Err(e) => failure(StatusCode::BAD_GATEWAY, "Không hoàn tất được đăng nhập", e),
    }
}

/// Code → tokens → checked ID token → userinfo.
async fn finish(rp: &Rp, code: String, nonce: Nonce, verifier: PkceCodeVerifier) -> Result<Visit> {
    let (client, _) = rp.client().await?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))?
        .set_pkce_verifier(verifier)
        .request_async(&rp.http)
        .await
        .map_err(|e| anyhow!("token: {e}"))?;
    let id_token = tokens.id_token().ok_or_else(|| anyhow!("no ID token"))?;
    let claims = id_token.claims(&client.id_token_verifier(), &nonce)?;
    let acr = claims.auth_context_ref().map(|a| a.to_string()).unwrap_or_default();
    if acr != DEMO_ACR {
        return Err(anyhow!("asked for {DEMO_ACR}, got {acr:?}"));
    }
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)?
        .request_async(&rp.http)
        .await
        .map_err(|e| anyhow!("userinfo: {e}"))?;
    if info.subject() != claims.subject() {
        return Err(anyhow!("userinfo is about someone else"));
    }
    let name = info.name().and_then(|n| n.get(None)).map(|n| n.to_string()).unwrap_or_default();
    let birthdate = info.birthdate().map(|b| b.to_string());
    Ok(Visit::LoggedIn {
        name,
        birthdate,
        sub: claims.subject().to_string(),
        acr,
        id_token: id_token.to_string(),
    })
}

async fn logout(State(rp): State<Arc<Rp>>, headers: HeaderMap) -> Response {
    let visit = cookie(&headers).and_then(|c| rp.visits.lock().expect("visits lock").remove(&c));
    let Some(Visit::LoggedIn { id_token, .. }) = visit else {
        return (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response();
    };
    let end_session = match rp.client().await {
        Ok((_, Some(e))) => e,
        Ok((_, None)) => return (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response(),
        Err(e) => return failure(StatusCode::BAD_GATEWAY, "Không đọc được cấu hình của dancu", e),
    };
    let Ok(hint) = id_token.parse::<openidconnect::core::CoreIdToken>() else {
        return (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response();
    };
    let Ok(back) = PostLogoutRedirectUrl::new(rp.config.post_logout_uri.clone()) else {
        return (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response();
    };
    let url = LogoutRequest::from(end_session)
        .set_id_token_hint(&hint)
        .set_client_id(ClientId::new(rp.config.client_id.clone()))
        .set_post_logout_redirect_uri(back)
        .http_get_url();
    (StatusCode::SEE_OTHER, [(LOCATION, url.to_string())]).into_response()
}
