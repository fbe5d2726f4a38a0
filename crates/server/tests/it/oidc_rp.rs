//! Conformance with a relying party this project did not write: the `openidconnect` crate
//! (4.x) against dancu's provider, on SQLite and PostgreSQL. The crate reads discovery,
//! builds the authorization request (code, PKCE S256, state, nonce, acr), exchanges the
//! code, and checks the ID token itself (ES256 signature against the JWKS, issuer,
//! audience, nonce, expiry); the test only plays the citizen's browser on the provider's
//! pages. Refusals: a wrong redirect URI, a reused code, a wrong PKCE verifier, an expired
//! or wrong-audience ID token, an unknown client; refresh rotation and reuse; step-up.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse,
};
use reqwest::StatusCode;

use crate::common::*;
use crate::oidc::{add_client, portal};
use crate::oidc_flow::{citizen, code_now, post_page, redirect_query, PW, RP};

on_both_backends!(openidconnect_code_flow_at_level_2, openidconnect_refusals, openidconnect_refresh_rotation,);

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn metadata(app: &TestApp) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http()).await.unwrap()
}

fn client(meta: &CoreProviderMetadata, id: &str, secret: Option<&str>, redirect: &str) -> Client {
    CoreClient::from_provider_metadata(
        meta.clone(),
        ClientId::new(id.into()),
        secret.map(|s| ClientSecret::new(s.into())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap())
}

/// The authorization request the crate builds: (path and query, state, nonce, verifier).
fn request(c: &Client, acr: Option<&str>, scopes: &[&str]) -> (String, CsrfToken, Nonce, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = c
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge);
    for s in scopes {
        req = req.add_scope(Scope::new(s.to_string()));
    }
    if let Some(a) = acr {
        req = req.add_auth_context_value(AuthenticationContextClass::new(a.into()));
    }
    let (url, state, nonce) = req.url();
    (format!("{}?{}", url.path(), url.query().unwrap()), state, nonce, verifier)
}

/// Plays the browser: the login page (password and, when given, the code), step-up and
/// consent pages; returns the redirect's query at the RP.
async fn browse(
    app: &TestApp,
    jar: &mut Jar,
    path: &str,
    code: &str,
) -> std::collections::HashMap<String, String> {
    let id = app.citizen_a.personal_id.to_string();
    let mut r = get(app, jar, path).await;
    for _ in 0..4 {
        if r.status() != StatusCode::OK {
            break;
        }
        let page = r.text().await.unwrap();
        r = if page.contains("oidc-consent") {
            post_page(app, jar, &page, &[("action", "consent")]).await
        } else if page.contains("oidc-step-up") {
            post_page(app, jar, &page, &[("action", "step_up"), ("code", code)]).await
        } else if page.contains("name=\"password\"") {
            post_page(
                app,
                jar,
                &page,
                &[("action", "login"), ("personal_id", &id), ("password", PW), ("code", code)],
            )
            .await
        } else {
            panic!("an unexpected page: {page}");
        };
    }
    redirect_query(&r, RP)
}

/// Code → tokens with the crate, the ID token checked by the crate.
async fn tokens(c: &Client, code: &str, verifier: PkceCodeVerifier) -> CoreTokenResponse {
    c.exchange_code(AuthorizationCode::new(code.into()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap()
}

fn oauth_error<E: std::error::Error + 'static>(
    e: RequestTokenError<E, openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>>,
) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => r.error().to_string(),
        other => format!("{other:?}"),
    }
}

async fn openidconnect_code_flow_at_level_2(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = citizen(app, 2).await;
    let (id, pw) = add_client(app, portal("cong-dvc", RP)).await;
    let meta = metadata(app).await;
    assert_eq!(meta.issuer().as_str(), app.base);
    let c = client(&meta, &id, pw.as_deref(), RP);
    let (path, state, nonce, verifier) = request(&c, Some("loa:2"), &["profile"]);
    let q = browse(app, &mut Jar::default(), &path, &code_now(&secret, 0)).await;
    assert_eq!(&q["state"], state.secret());
    let t = tokens(&c, &q["code"], verifier).await;
    let id_token = t.id_token().expect("an ID token");
    let claims = id_token.claims(&c.id_token_verifier(), &nonce).expect("the crate accepts the ID token");
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("loa:2"));
    assert!(!claims.subject().as_str().contains(app.citizen_a.personal_id.as_str()), "pairwise subject");
    // The access-token hash the crate can check.
    let alg = id_token.signing_alg().unwrap();
    let verifier = c.id_token_verifier();
    let key = id_token.signing_key(&verifier).unwrap();
    let hash = openidconnect::AccessTokenHash::from_token(t.access_token(), alg, key).unwrap();
    assert_eq!(claims.access_token_hash(), Some(&hash));
    let info: CoreUserInfoClaims =
        c.user_info(t.access_token().clone(), None).unwrap().request_async(&http()).await.unwrap();
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.name().and_then(|n| n.get(None)).map(|n| n.as_str()), Some("Nguyễn Văn Ấn"));
}

async fn openidconnect_refusals(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = citizen(app, 2).await;
    let (id, pw) = add_client(app, portal("cong-dvc", RP)).await;
    let meta = metadata(app).await;
    let c = client(&meta, &id, pw.as_deref(), RP);
    let mut jar = Jar::default();

    // A redirect URI the client did not register: an error page, never a redirect.
    let wrong = client(&meta, &id, pw.as_deref(), "https://dvc.example.vn/cb/../evil");
    let (path, ..) = request(&wrong, None, &["profile"]);
    let r = get(app, &mut jar, &path).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(reqwest::header::LOCATION).is_none());
    // An unknown client: the same at the authorization endpoint, invalid_client at the token one.
    let unknown = client(&meta, "khong-co", Some("x"), RP);
    let (path, ..) = request(&unknown, None, &["profile"]);
    let r = get(app, &mut jar, &path).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(reqwest::header::LOCATION).is_none());

    let (path, _, nonce, verifier) = request(&c, Some("loa:2"), &["profile"]);
    let q = browse(app, &mut jar, &path, &code_now(&secret, 0)).await;
    let e = unknown
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().clone()))
        .request_async(&http())
        .await
        .unwrap_err();
    assert_eq!(oauth_error(e), "invalid_client");
    // A wrong PKCE verifier.
    let e = c
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(PkceCodeChallenge::new_random_sha256().1)
        .request_async(&http())
        .await
        .unwrap_err();
    assert_eq!(oauth_error(e), "invalid_grant");
    // The right one, once; the same code again is refused.
    let t = tokens(&c, &q["code"], PkceCodeVerifier::new(verifier.secret().clone())).await;
    let e = c
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap_err();
    assert_eq!(oauth_error(e), "invalid_grant");
    // The crate refuses the ID token for another audience, after its expiry, with another nonce.
    let id_token = t.id_token().unwrap();
    let other = client(&meta, "cong-khac", Some("x"), RP);
    assert!(id_token.claims(&other.id_token_verifier(), &nonce).is_err(), "wrong audience");
    let later = c.id_token_verifier().set_time_fn(|| chrono::Utc::now() + chrono::Duration::hours(2));
    assert!(id_token.claims(&later, &nonce).is_err(), "expired");
    assert!(id_token.claims(&c.id_token_verifier(), &Nonce::new("another".into())).is_err(), "nonce");
    // The reused code revoked what it gave: userinfo refuses the access token.
    let r = app
        .client()
        .get(format!("{}/oauth/userinfo", app.base))
        .bearer_auth(t.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn openidconnect_refresh_rotation(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = citizen(app, 2).await;
    let (id, pw) = add_client(app, portal("cong-dvc", RP)).await;
    let meta = metadata(app).await;
    let c = client(&meta, &id, pw.as_deref(), RP);
    let mut jar = Jar::default();
    // Level 1 first (password alone), then level 2 asked from that session: step-up.
    let (path, _, _, verifier) = request(&c, None, &["profile", "offline_access"]);
    let q = browse(app, &mut jar, &path, "").await;
    let t = tokens(&c, &q["code"], verifier).await;
    let first = t.refresh_token().expect("a refresh token").clone();
    let (path, _, nonce, verifier) = request(&c, Some("loa:2"), &["profile"]);
    let q = browse(app, &mut jar, &path, &code_now(&secret, 0)).await;
    let t2 = tokens(&c, &q["code"], verifier).await;
    let claims = t2.id_token().unwrap().claims(&c.id_token_verifier(), &nonce).unwrap();
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("loa:2"), "stepped up");
    // Rotation: a new refresh token; the old one refused, and the family with it.
    let r: CoreTokenResponse =
        c.exchange_refresh_token(&first).unwrap().request_async(&http()).await.unwrap();
    let second = r.refresh_token().expect("rotated").clone();
    assert_ne!(second.secret(), first.secret());
    let e = c.exchange_refresh_token(&first).unwrap().request_async(&http()).await.unwrap_err();
    assert_eq!(oauth_error(e), "invalid_grant");
    let e = c
        .exchange_refresh_token(&RefreshToken::new(second.secret().clone()))
        .unwrap()
        .request_async(&http())
        .await
        .unwrap_err();
    assert_eq!(oauth_error(e), "invalid_grant", "reuse revoked the family");
}
