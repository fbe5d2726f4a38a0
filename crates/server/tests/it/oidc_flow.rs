//! The OpenID Connect authorization code flow over HTTP, on SQLite and PostgreSQL, driven
//! like a browser (cookies kept, redirects read, not followed): login, consent remembered,
//! PKCE, ID-token checks against the JWKS, userinfo by scope through the audited registry,
//! code reuse and refresh-token reuse revoking the login's tokens, step-up to level 2,
//! `prompt=none`, RP-initiated logout, a public client, and every refusal of the
//! authorization request (an unregistered or disguised redirect URI is never redirected to).

use base64::Engine;
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Digest;

use crate::common::*;
use crate::oidc::{add_client, portal};
use dancu_server::oidc::clients::Registration;

on_both_backends!(
    code_flow_with_pkce_and_remembered_consent,
    reuse_of_a_code_or_a_refresh_token_revokes_the_login,
    authorization_request_refusals,
    token_and_userinfo_refusals,
    step_up_to_level_2_and_prompt_none,
    logout_ends_the_session,
    a_public_client_uses_pkce_alone,
);

pub(crate) const PW: &str = "mat-khau-cong-dan-1";
pub(crate) const RP: &str = "https://dvc.example.vn/cb";

/// An activated level-`level` eID account for citizen A: its TOTP secret (base32).
pub(crate) async fn citizen(app: &TestApp, level: i64) -> String {
    let b = json!({
        "personal_id": app.citizen_a.personal_id.to_string(), "full_name": "NGUYỄN VĂN ẤN",
        "birth_date": "15/03/1985", "sex": "Nam", "phone": "0912 345 678",
        "portrait_captured": true, "password": PW,
    });
    let r =
        app.client().post(format!("{}/api/v1/eid/registrations", app.base)).json(&b).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let secret = body(r).await["totp_secret"].as_str().unwrap().to_string();
    app.sql(&format!(
        "UPDATE eid_accounts SET state = 'activated', state_json = '{{\"state\":\"activated\"}}', level = {level} \
         WHERE personal_id = '{}'",
        app.citizen_a.personal_id
    ))
    .await;
    secret
}

pub(crate) fn code_now(secret: &str, offset_steps: i64) -> String {
    let raw = dancu_identity::totp::secret_from_base32(secret).unwrap();
    dancu_identity::totp::generate(&raw, (chrono::Utc::now().timestamp() + offset_steps * 30) as u64)
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn pkce() -> (String, String) {
    let verifier = b64(dancu_server::auth::random_token().as_bytes());
    let challenge = b64(&sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_path(
    client: &str,
    redirect: &str,
    scope: &str,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut u = reqwest::Url::parse("http://x/oauth/authorize").unwrap();
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in [
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect),
            ("scope", scope),
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ] {
            q.append_pair(k, v);
        }
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    format!("{}?{}", u.path(), u.query().unwrap())
}

/// The hidden fields of the page's form, as a form to post back.
fn form_of(page: &str) -> Vec<(String, String)> {
    let re = regex::Regex::new(r#"<input type="hidden" name="([a-z_]+)" value="([^"]*)""#).unwrap();
    re.captures_iter(page)
        .map(|c| (c[1].to_string(), c[2].replace("&amp;", "&").replace("&quot;", "\"")))
        .collect()
}

pub(crate) async fn post_page(
    app: &TestApp,
    jar: &mut Jar,
    page: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut f = form_of(page);
    for (k, v) in extra {
        f.push((k.to_string(), v.to_string()));
    }
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post_form(app, jar, "/oauth/authorize", &pairs).await
}

/// The query of a redirect to the relying party.
pub(crate) fn redirect_query(r: &reqwest::Response, to: &str) -> std::collections::HashMap<String, String> {
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "expected a redirect: {:?}", r.headers());
    let loc = r.headers()[LOCATION].to_str().unwrap();
    assert!(loc.starts_with(&format!("{to}?")), "{loc}");
    reqwest::Url::parse(loc).unwrap().query_pairs().into_owned().collect()
}

/// Logs in on the login page (password, and the code when given) and consents when asked:
/// the code.
async fn login_and_consent(app: &TestApp, jar: &mut Jar, path: &str, code: &str) -> String {
    let r = get(app, jar, path).await;
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("form-action 'self' https://dvc.example.vn"), "{csp}");
    let page = r.text().await.unwrap();
    assert!(page.contains("Cổng dịch vụ công"), "the client is named");
    let id = app.citizen_a.personal_id.to_string();
    let r = post_page(
        app,
        jar,
        &page,
        &[("action", "login"), ("personal_id", &id), ("password", PW), ("code", code)],
    )
    .await;
    if r.status() == StatusCode::FORBIDDEN {
        panic!("refused at {path}: {}", r.text().await.unwrap());
    }
    let r = if r.status() == StatusCode::OK {
        let page = r.text().await.unwrap();
        assert!(page.contains("oidc-consent"), "the consent screen: {page}");
        assert!(!page.contains("oidc-error"), "{page}");
        post_page(app, jar, &page, &[("action", "consent")]).await
    } else {
        r
    };
    let q = redirect_query(&r, RP);
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], app.base);
    q["code"].clone()
}

async fn exchange(
    app: &TestApp,
    rp: &(String, Option<String>),
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    let mut req = app.client().post(format!("{}/oauth/token", app.base)).form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", RP),
        ("code_verifier", verifier),
        ("client_id", &rp.0),
    ]);
    if let Some(s) = &rp.1 {
        req = req.basic_auth(&rp.0, Some(s));
    }
    req.send().await.unwrap()
}

async fn refresh(app: &TestApp, rp: &(String, Option<String>), token: &str) -> reqwest::Response {
    app.client()
        .post(format!("{}/oauth/token", app.base))
        .basic_auth(&rp.0, rp.1.as_deref())
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap()
}

async fn userinfo(app: &TestApp, token: &str) -> reqwest::Response {
    app.client().get(format!("{}/oauth/userinfo", app.base)).bearer_auth(token).send().await.unwrap()
}

async fn verify_id_token(app: &TestApp, token: &str, aud: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        app.client().get(format!("{}/oauth/jwks", app.base)).send().await.unwrap().json().await.unwrap();
    let h = jsonwebtoken::decode_header(token).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(h.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[aud]);
    v.set_issuer(&[app.base.as_str()]);
    jsonwebtoken::decode::<Value>(token, &key, &v).unwrap().claims
}

async fn code_flow_with_pkce_and_remembered_consent(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    citizen(app, 1).await;
    let rp = add_client(app, portal("cong-dvc", RP)).await;
    let (verifier, challenge) = pkce();
    let mut jar = Jar::default();
    let path = authorize_path(&rp.0, RP, "openid profile personal_id", &challenge, &[]);
    let code = login_and_consent(app, &mut jar, &path, "").await;
    let r = exchange(app, &rp, &code, &verifier).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t = body(r).await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "openid personal_id profile");
    assert!(t["refresh_token"].is_string());
    let id = verify_id_token(app, t["id_token"].as_str().unwrap(), &rp.0).await;
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["acr"], "loa:1");
    assert_eq!(id["azp"], rp.0.as_str());
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(id["at_hash"], b64(&sha2::Sha256::digest(at.as_bytes())[..16]));
    let sub = id["sub"].as_str().unwrap().to_string();
    assert!(!sub.contains(app.citizen_a.personal_id.as_str()), "pairwise, not the personal ID");
    // Userinfo: claims by scope, read through the audited registry under the client.
    let r = userinfo(app, at).await;
    assert_eq!(r.status(), 200);
    let u = body(r).await;
    assert_eq!(u["sub"], sub.as_str());
    assert_eq!(u["name"], "Nguyễn Văn Ấn");
    assert_eq!(u["gender"], "male");
    assert_eq!(u["personal_id"], app.citizen_a.personal_id.as_str());
    assert!(u.get("birthdate").is_none() && u.get("address").is_none(), "not in scope: {u}");
    let log = app.state.registry.own_access_log(&app.citizen_a.personal_id, 20, 0).await.unwrap();
    let read =
        log.items.iter().find(|e| e.entry.actor == "rp:cong-dvc").expect("the portal's read is audited");
    assert!(read.entry.purpose.contains("Cổng dịch vụ công"), "{}", read.entry.purpose);
    assert!(read.entry.purpose.contains("Số định danh cá nhân"), "scopes in words: {}", read.entry.purpose);
    assert!(!read.entry.purpose.contains("personal_id"), "{}", read.entry.purpose);
    // A second client of another sector sees another subject; without personal_id, no ID.
    let other = add_client(
        app,
        Registration {
            scopes: vec!["openid".into(), "birthdate".into(), "address".into()],
            ..portal("cong-thue", "https://thue.example.vn/cb")
        },
    )
    .await;
    let (v2, c2) = pkce();
    let r = get(
        app,
        &mut jar,
        &authorize_path(&other.0, "https://thue.example.vn/cb", "openid birthdate address", &c2, &[]),
    )
    .await;
    let page = r.text().await.unwrap();
    assert!(page.contains("oidc-consent"), "a new client asks for consent");
    let r = post_page(app, &mut jar, &page, &[("action", "consent")]).await;
    let q = redirect_query(&r, "https://thue.example.vn/cb");
    let r = app
        .client()
        .post(format!("{}/oauth/token", app.base))
        .basic_auth(&other.0, other.1.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("redirect_uri", "https://thue.example.vn/cb"),
            ("code_verifier", &v2),
        ])
        .send()
        .await
        .unwrap();
    let t2 = body(r).await;
    let u2 = body(userinfo(app, t2["access_token"].as_str().unwrap()).await).await;
    assert_ne!(u2["sub"], sub.as_str(), "pairwise per sector");
    assert!(u2.get("personal_id").is_none() && u2.get("name").is_none(), "{u2}");
    assert_eq!(u2["birthdate"], "1985-03-15");
    assert!(u2["address"]["formatted"].as_str().unwrap().contains("Số 5 ngõ 12"));
    // The same scopes again: consent remembered, the session reused: straight back.
    let (v3, c3) = pkce();
    let r = get(
        app,
        &mut jar,
        &authorize_path(&rp.0, RP, "openid profile personal_id", &c3, &[("prompt", "none")]),
    )
    .await;
    let q = redirect_query(&r, RP);
    let t3 = body(exchange(app, &rp, &q["code"], &v3).await).await;
    let id3 = verify_id_token(app, t3["id_token"].as_str().unwrap(), &rp.0).await;
    assert_eq!(id3["sub"], sub.as_str(), "stable per client");
    // Fewer scopes than consented to: no question either.
    let r =
        get(app, &mut jar, &authorize_path(&rp.0, RP, "openid profile", &c3, &[("prompt", "none")])).await;
    assert!(redirect_query(&r, RP).contains_key("code"));
    // More scopes than consented to: asked.
    let r = get(
        app,
        &mut jar,
        &authorize_path(&rp.0, RP, "openid profile personal_id offline_access", &c3, &[("prompt", "none")]),
    )
    .await;
    assert_eq!(redirect_query(&r, RP)["error"], "consent_required");
    // prompt=consent asks again.
    let r = get(
        app,
        &mut jar,
        &authorize_path(&rp.0, RP, "openid profile personal_id", &c3, &[("prompt", "consent")]),
    )
    .await;
    assert!(r.text().await.unwrap().contains("oidc-consent"));
    // Denying sends access_denied back.
    let r = get(
        app,
        &mut jar,
        &authorize_path(&rp.0, RP, "openid profile personal_id", &c3, &[("prompt", "consent")]),
    )
    .await;
    let page = r.text().await.unwrap();
    let r = post_page(app, &mut jar, &page, &[("action", "deny")]).await;
    assert_eq!(redirect_query(&r, RP)["error"], "access_denied");
}

async fn reuse_of_a_code_or_a_refresh_token_revokes_the_login(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    citizen(app, 1).await;
    let rp = add_client(app, portal("cong-dvc", RP)).await;
    let (verifier, challenge) = pkce();
    let mut jar = Jar::default();
    let code =
        login_and_consent(app, &mut jar, &authorize_path(&rp.0, RP, "openid profile", &challenge, &[]), "")
            .await;
    let t = body(exchange(app, &rp, &code, &verifier).await).await;
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(userinfo(app, at).await.status(), 200);
    // The code again: refused, and every token issued from it revoked.
    let r = exchange(app, &rp, &code, &verifier).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(r).await["error"], "invalid_grant");
    assert_eq!(userinfo(app, at).await.status(), StatusCode::UNAUTHORIZED);
    let log = app.state.registry.own_access_log(&app.citizen_a.personal_id, 20, 0).await.unwrap();
    assert!(
        log.items.iter().any(|e| e.entry.actor == "rp:cong-dvc" && e.entry.outcome == "refused"),
        "the refused read is audited"
    );
    let r = refresh(app, &rp, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(body(r).await["error"], "invalid_grant");
    // A new login: refresh rotates; the old refresh token again revokes the family.
    let (verifier, challenge) = pkce();
    let r = get(app, &mut jar, &authorize_path(&rp.0, RP, "openid profile", &challenge, &[])).await;
    let q = redirect_query(&r, RP);
    let t = body(exchange(app, &rp, &q["code"], &verifier).await).await;
    let r1 = t["refresh_token"].as_str().unwrap().to_string();
    let r = refresh(app, &rp, &r1).await;
    assert_eq!(r.status(), 200);
    let t2 = body(r).await;
    let r2 = t2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    assert_eq!(t2["scope"], "openid profile");
    let id = verify_id_token(app, t2["id_token"].as_str().unwrap(), &rp.0).await;
    assert_eq!(id["acr"], "loa:1");
    assert_eq!(userinfo(app, t2["access_token"].as_str().unwrap()).await.status(), 200);
    // Narrower scope on refresh; wider refused.
    let r = app
        .client()
        .post(format!("{}/oauth/token", app.base))
        .basic_auth(&rp.0, rp.1.as_deref())
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &r2), ("scope", "openid birthdate")])
        .send()
        .await
        .unwrap();
    assert_eq!(body(r).await["error"], "invalid_scope");
    let r = refresh(app, &rp, &r1).await;
    assert_eq!(body(r).await["error"], "invalid_grant", "reuse of a rotated token");
    let r = refresh(app, &rp, &r2).await;
    assert_eq!(body(r).await["error"], "invalid_grant", "the family is revoked");
    assert_eq!(userinfo(app, t2["access_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);
    // Another client cannot use this client's refresh token.
    let other = add_client(app, portal("cong-khac", "https://khac.example.vn/cb")).await;
    let r = refresh(app, &other, &r2).await;
    assert_eq!(body(r).await["error"], "invalid_grant");
}

async fn authorization_request_refusals(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let rp = add_client(app, portal("cong-dvc", RP)).await;
    let (_, challenge) = pkce();
    let mut jar = Jar::default();
    // No client, an unknown one, or a redirect URI not registered exactly: an error page,
    // never a redirect.
    let bad_redirects = [
        "https://evil.example.vn/cb",
        "https://dvc.example.vn/cb/",
        "https://DVC.example.vn/cb",
        "https://dvc.example.vn/cb?x=1",
        "https://dvc.example.vn/c%62",
        "https://dvc.example.vn/cb%0d%0aLocation:%20https://evil.example.vn",
        "https://dvc.example.vn/cb\r\nX: y",
        "https://dvc.example.vn/cb#frag",
        "https://dvc.example.vn.evil.vn/cb",
        "//evil.example.vn/cb",
        "",
    ];
    for redirect in bad_redirects {
        let r = get(app, &mut jar, &authorize_path(&rp.0, redirect, "openid", &challenge, &[])).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{redirect:?}");
        assert!(r.headers().get(LOCATION).is_none(), "{redirect:?}");
        assert!(r.text().await.unwrap().contains("oidc-error"));
    }
    for client in ["khong-co", ""] {
        let r = get(app, &mut jar, &authorize_path(client, RP, "openid", &challenge, &[])).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.headers().get(LOCATION).is_none());
    }
    // A repeated parameter cannot be read: an error page.
    let r = get(
        app,
        &mut jar,
        &format!("{}&client_id=other", authorize_path(&rp.0, RP, "openid", &challenge, &[])),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(LOCATION).is_none());
    // With the client and redirect known: standard errors back to the relying party.
    let cases: Vec<(String, &str)> = vec![
        (authorize_path(&rp.0, RP, "openid", "", &[]), "invalid_request"),
        (authorize_path(&rp.0, RP, "openid", &challenge, &[]).replace("S256", "plain"), "invalid_request"),
        (authorize_path(&rp.0, RP, "profile", &challenge, &[]), "invalid_scope"),
        (authorize_path(&rp.0, RP, "openid address", &challenge, &[]), "invalid_scope"),
        (
            authorize_path(&rp.0, RP, "openid", &challenge, &[])
                .replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (authorize_path(&rp.0, RP, "openid", &challenge, &[("prompt", "none")]), "login_required"),
        (authorize_path(&rp.0, RP, "openid", &challenge, &[("prompt", "none login")]), "invalid_request"),
        (authorize_path(&rp.0, RP, "openid", &challenge, &[("max_age", "x")]), "invalid_request"),
    ];
    for (path, want) in cases {
        let r = get(app, &mut jar, &path).await;
        let q = redirect_query(&r, RP);
        assert_eq!(q["error"], want, "{path}");
        assert_eq!(q["state"], "st-1");
    }
    // A partner (client credentials only) cannot start a login.
    let partner = add_client(app, crate::oidc::partner("bv-x")).await;
    let r = get(app, &mut jar, &authorize_path(&partner.0, RP, "openid", &challenge, &[])).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(LOCATION).is_none());
    assert!(app.state.oidc.refusals.count("authorize", "invalid_request") >= 11);
    // A login form posted without its form token is refused, and nothing is logged in.
    let page =
        get(app, &mut jar, &authorize_path(&rp.0, RP, "openid", &challenge, &[])).await.text().await.unwrap();
    let mut fresh = Jar::default();
    let id = app.citizen_a.personal_id.to_string();
    let r = post_page(app, &mut fresh, &page, &[("action", "login"), ("personal_id", &id), ("password", PW)])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(fresh.get("dancu_oidc").is_none());
}

async fn token_and_userinfo_refusals(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    citizen(app, 1).await;
    let rp = add_client(app, portal("cong-dvc", RP)).await;
    let other = add_client(app, portal("cong-khac", RP)).await;
    let (verifier, challenge) = pkce();
    let mut jar = Jar::default();
    let code =
        login_and_consent(app, &mut jar, &authorize_path(&rp.0, RP, "openid profile", &challenge, &[]), "")
            .await;
    // Wrong verifier, missing verifier, wrong redirect URI, another client, a wrong secret.
    let r = exchange(app, &rp, &code, &pkce().0).await;
    assert_eq!(body(r).await["error"], "invalid_grant");
    let r = app
        .client()
        .post(format!("{}/oauth/token", app.base))
        .basic_auth(&rp.0, rp.1.as_deref())
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", RP)])
        .send()
        .await
        .unwrap();
    assert_eq!(body(r).await["error"], "invalid_request");
    let r = app
        .client()
        .post(format!("{}/oauth/token", app.base))
        .basic_auth(&rp.0, rp.1.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://dvc.example.vn/other"),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(body(r).await["error"], "invalid_grant");
    let r = exchange(app, &other, &code, &verifier).await;
    assert_eq!(body(r).await["error"], "invalid_grant");
    let r = exchange(app, &(rp.0.clone(), Some("wrong".into())), &code, &verifier).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(r).await["error"], "invalid_client");
    // None of these spent the code.
    let r = exchange(app, &rp, &code, &verifier).await;
    assert_eq!(r.status(), 200);
    let t = body(r).await;
    // Userinfo: no token, a forged one, an expired one, one for another audience.
    let r = app.client().get(format!("{}/oauth/userinfo", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    let cfg = &app.state.config.oidc;
    let payload = t["access_token"].as_str().unwrap().split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
            .unwrap();
    let mut expired = claims.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 1);
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!(cfg.partner_audience());
    for (what, token) in [
        ("expired", cfg.keys.sign("at+jwt", &expired)),
        ("audience", cfg.keys.sign("at+jwt", &wrong_aud)),
        ("forged", dancu_server::oidc::keys::KeySet::ephemeral().sign("at+jwt", &claims)),
        ("id token", t["id_token"].as_str().unwrap().to_string()),
    ] {
        let r = userinfo(app, &token).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(body(r).await["error"], "invalid_token", "{what}");
    }
    assert_eq!(userinfo(app, t["access_token"].as_str().unwrap()).await.status(), 200);
    // A suspended client's tokens stop working.
    app.state.db.oidc().set_active(&rp.0, false, dancu_store::registry::now()).await.unwrap();
    app.state.oidc.clients.refresh(&app.state.db.oidc()).await.unwrap();
    assert_eq!(userinfo(app, t["access_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);
}

async fn step_up_to_level_2_and_prompt_none(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = citizen(app, 2).await;
    let rp = add_client(app, portal("cong-dvc", RP)).await;
    let mut jar = Jar::default();
    let (verifier, challenge) = pkce();
    // Level 1: the password alone.
    let code =
        login_and_consent(app, &mut jar, &authorize_path(&rp.0, RP, "openid profile", &challenge, &[]), "")
            .await;
    let t = body(exchange(app, &rp, &code, &verifier).await).await;
    assert_eq!(verify_id_token(app, t["id_token"].as_str().unwrap(), &rp.0).await["acr"], "loa:1");
    // Level 2 asked of a level-1 session: prompt=none refuses, else the code is asked.
    let (verifier, challenge) = pkce();
    let loa2 = [("acr_values", "loa:2")];
    let r = get(
        app,
        &mut jar,
        &authorize_path(
            &rp.0,
            RP,
            "openid profile",
            &challenge,
            &[("acr_values", "loa:2"), ("prompt", "none")],
        ),
    )
    .await;
    assert_eq!(redirect_query(&r, RP)["error"], "interaction_required");
    let r = get(app, &mut jar, &authorize_path(&rp.0, RP, "openid profile", &challenge, &loa2)).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("oidc-step-up"), "{page}");
    let r = post_page(app, &mut jar, &page, &[("action", "step_up"), ("code", "000000")]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a wrong code");
    let r = post_page(app, &mut jar, &page, &[("action", "step_up"), ("code", &code_now(&secret, 0))]).await;
    let q = redirect_query(&r, RP);
    let t = body(exchange(app, &rp, &q["code"], &verifier).await).await;
    let id = verify_id_token(app, t["id_token"].as_str().unwrap(), &rp.0).await;
    assert_eq!(id["acr"], "loa:2");
    assert!(id["amr"].as_array().unwrap().contains(&json!("otp")));
    // Now prompt=none at level 2 succeeds.
    let (_, challenge) = pkce();
    let r = get(
        app,
        &mut jar,
        &authorize_path(
            &rp.0,
            RP,
            "openid profile",
            &challenge,
            &[("acr_values", "loa:2"), ("prompt", "none")],
        ),
    )
    .await;
    assert!(redirect_query(&r, RP).contains_key("code"));
    assert_eq!(userinfo(app, t["access_token"].as_str().unwrap()).await.status(), 200);
    // The citizen sees the portal's read, by its name, in "who accessed my data".
    let mut portal = Jar::default();
    get(app, &mut portal, "/portal").await;
    let csrf = portal.get("dancu_portal_csrf").unwrap();
    let id = app.citizen_a.personal_id.to_string();
    let r = post_form(
        app,
        &mut portal,
        "/portal/login",
        &[("personal_id", &id), ("password", PW), ("code", &code_now(&secret, 1)), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = get(app, &mut portal, "/portal/access").await.text().await.unwrap();
    assert!(page.contains("Cổng dịch vụ công"), "{page}");
    assert!(!page.contains("rp:cong-dvc"), "no internal code");
}

async fn logout_ends_the_session(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    citizen(app, 1).await;
    let rp = add_client(app, portal("cong-dvc", RP)).await;
    let mut jar = Jar::default();
    let (verifier, challenge) = pkce();
    let code =
        login_and_consent(app, &mut jar, &authorize_path(&rp.0, RP, "openid", &challenge, &[]), "").await;
    let t = body(exchange(app, &rp, &code, &verifier).await).await;
    let hint = t["id_token"].as_str().unwrap();
    // An unregistered return address: logged out, but not sent there.
    let mut u = reqwest::Url::parse("http://x/oauth/logout").unwrap();
    u.query_pairs_mut()
        .append_pair("id_token_hint", hint)
        .append_pair("post_logout_redirect_uri", "https://evil.example.vn/bye");
    let r = get(app, &mut jar, &format!("/oauth/logout?{}", u.query().unwrap())).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get(LOCATION).is_none());
    assert!(jar.get("dancu_oidc").is_none(), "the session cookie is cleared");
    let r = get(app, &mut jar, &authorize_path(&rp.0, RP, "openid", &challenge, &[("prompt", "none")])).await;
    assert_eq!(redirect_query(&r, RP)["error"], "login_required");
    // Log in again; logout with the registered address returns there with the state.
    let code =
        login_and_consent(app, &mut jar, &authorize_path(&rp.0, RP, "openid", &challenge, &[]), "").await;
    assert!(!code.is_empty());
    let mut u = reqwest::Url::parse("http://x/oauth/logout").unwrap();
    u.query_pairs_mut()
        .append_pair("id_token_hint", hint)
        .append_pair("post_logout_redirect_uri", &format!("{RP}/bye"))
        .append_pair("state", "s 2");
    let r = get(app, &mut jar, &format!("/oauth/logout?{}", u.query().unwrap())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], format!("{RP}/bye?state=s%202"));
    let r = get(app, &mut jar, &authorize_path(&rp.0, RP, "openid", &challenge, &[("prompt", "none")])).await;
    assert_eq!(redirect_query(&r, RP)["error"], "login_required");
    // prompt=login and max_age=0 with a session: the login again, then the consent for new
    // scopes, then the code (the fresh login is not asked for twice).
    login_and_consent(app, &mut jar, &authorize_path(&rp.0, RP, "openid", &challenge, &[]), "").await;
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let scope = if extra.0 == "prompt" { "openid profile" } else { "openid profile personal_id" };
        let path = authorize_path(&rp.0, RP, scope, &challenge, &[extra]);
        let code = login_and_consent(app, &mut jar, &path, "").await;
        assert!(!code.is_empty(), "{extra:?}");
    }
}

async fn a_public_client_uses_pkce_alone(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    citizen(app, 1).await;
    let reg = Registration { auth_method: "none".into(), ..portal("app-vneid", RP) };
    let rp = add_client(app, reg).await;
    assert!(rp.1.is_none(), "no secret");
    let mut jar = Jar::default();
    let (verifier, challenge) = pkce();
    let code =
        login_and_consent(app, &mut jar, &authorize_path(&rp.0, RP, "openid", &challenge, &[]), "").await;
    let r = exchange(app, &rp, &code, "").await;
    assert_eq!(body(r).await["error"], "invalid_grant", "an empty verifier");
    let r = exchange(app, &rp, &code, &verifier).await;
    assert_eq!(r.status(), 200);
    let t = body(r).await;
    // A public client refreshes with its id alone.
    let r = app
        .client()
        .post(format!("{}/oauth/token", app.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", &rp.0),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A public client cannot use client credentials.
    let r = app
        .client()
        .post(format!("{}/oauth/token", app.base))
        .form(&[("grant_type", "client_credentials"), ("client_id", &rp.0)])
        .send()
        .await
        .unwrap();
    assert_eq!(body(r).await["error"], "unauthorized_client");
}
