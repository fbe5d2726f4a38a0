//! The OpenID Connect provider's discovery, keys and client credentials over HTTP, on SQLite
//! and PostgreSQL: standard metadata, tokens verifiable with the published JWKS, every
//! client-authentication refusal, and the partner bearer check (signature, expiry, issuer,
//! audience, a suspended client).

use crate::common::*;
use dancu_server::oidc::clients::{register, Registration};
use dancu_server::oidc::keys::KeySet;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    discovery_and_jwks_are_standard,
    client_credentials_issue_a_verifiable_token,
    client_authentication_refusals,
    partner_bearer_tokens_are_checked,
);

/// Registers a client straight in the store; returns (client_id, secret).
pub async fn add_client(app: &TestApp, reg: Registration) -> (String, Option<String>) {
    let (row, secret) = register(&reg, "test").unwrap();
    app.state.db.oidc().create_client(&row).await.unwrap();
    (row.client_id, secret)
}

pub fn partner(id: &str) -> Registration {
    Registration {
        client_id: Some(id.into()),
        name: "Bệnh viện Bạch Mai".into(),
        auth_method: "client_secret_basic".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["partner:verify".into(), "partner:card".into()],
        ..Default::default()
    }
}

pub fn portal(id: &str, redirect: &str) -> Registration {
    Registration {
        client_id: Some(id.into()),
        name: "Cổng dịch vụ công".into(),
        auth_method: "client_secret_basic".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into(), "profile".into(), "personal_id".into(), "offline_access".into()],
        redirect_uris: vec![redirect.into()],
        post_logout_redirect_uris: vec![format!("{redirect}/bye")],
        ..Default::default()
    }
}

async fn token_request(
    app: &TestApp,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut r = app.client().post(format!("{}/oauth/token", app.base)).form(form);
    if let Some((id, secret)) = basic {
        r = r.basic_auth(id, Some(secret));
    }
    r.send().await.unwrap()
}

async fn discovery_and_jwks_are_standard(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let d = body(
        app.client().get(format!("{}/.well-known/openid-configuration", app.base)).send().await.unwrap(),
    )
    .await;
    assert_eq!(d["issuer"], app.base.as_str());
    for (k, path) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("userinfo_endpoint", "/oauth/userinfo"),
        ("jwks_uri", "/oauth/jwks"),
        ("end_session_endpoint", "/oauth/logout"),
    ] {
        assert_eq!(d[k], format!("{}{path}", app.base), "{k}");
    }
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["ES256"]));
    assert_eq!(d["acr_values_supported"], json!(["loa:1", "loa:2"]));
    assert_eq!(d["subject_types_supported"], json!(["pairwise"]));
    for g in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(d["grant_types_supported"].as_array().unwrap().contains(&json!(g)), "{g}");
    }
    for m in ["client_secret_basic", "private_key_jwt", "none"] {
        assert!(d["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&json!(m)), "{m}");
    }
    assert!(d["scopes_supported"].as_array().unwrap().contains(&json!("openid")));
    let jwks = body(app.client().get(format!("{}/oauth/jwks", app.base)).send().await.unwrap()).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "EC");
    assert_eq!(keys[0]["crv"], "P-256");
    assert_eq!(keys[0]["alg"], "ES256");
    assert_eq!(keys[0]["kid"], app.state.config.oidc.keys.current_kid().as_str());
    assert!(keys[0].get("d").is_none(), "no private part");
}

/// Verifies `token` with the JWKS the server publishes, as a partner would.
async fn verify_with_jwks(app: &TestApp, token: &str, aud: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        app.client().get(format!("{}/oauth/jwks", app.base)).send().await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("the token's kid is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[aud]);
    v.set_issuer(&[app.base.as_str()]);
    jsonwebtoken::decode::<Value>(token, &key, &v).unwrap().claims
}

async fn client_credentials_issue_a_verifiable_token(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (id, secret) = add_client(app, partner("bv-bachmai")).await;
    let secret = secret.unwrap();
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    // HTTP Basic.
    let r = token_request(app, &[("grant_type", "client_credentials")], Some((&id, &secret))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t = body(r).await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "partner:verify partner:card");
    let expires = t["expires_in"].as_u64().unwrap();
    assert!(expires > 0 && expires <= 600);
    let aud = format!("{}/api/v1/partner", app.base);
    let claims = verify_with_jwks(app, t["access_token"].as_str().unwrap(), &aud).await;
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["scope"], "partner:verify partner:card");
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 600);
    // client_secret_post, with a narrower scope.
    let r = token_request(
        app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "partner:card"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let t2 = body(r).await;
    assert_eq!(t2["scope"], "partner:card");
    assert_ne!(t2["access_token"], t["access_token"]);
    // The extractor's check accepts it and reads its scopes.
    let ct =
        dancu_server::oidc::bearer::verify(&app.state, t2["access_token"].as_str().unwrap()).await.unwrap();
    assert_eq!(ct.client_id, id);
    assert_eq!(ct.scopes, ["partner:card"]);
    assert_eq!(
        dancu_server::oidc::bearer::client_name(&app.state, &id).as_deref(),
        Some("Bệnh viện Bạch Mai")
    );
}

fn error_of(v: &Value) -> &str {
    v["error"].as_str().unwrap_or_default()
}

async fn client_authentication_refusals(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (id, secret) = add_client(app, partner("bv-choray")).await;
    let secret = secret.unwrap();
    let (rp, rp_secret) = add_client(app, portal("cong-dvc", "https://dvc.example.vn/cb")).await;
    let cc = [("grant_type", "client_credentials")];
    // Wrong secret, unknown client, no credentials: invalid_client 401, alike.
    for (who, s) in [(id.as_str(), "wrong"), ("khong-co", secret.as_str()), (id.as_str(), "")] {
        let r = token_request(app, &cc, Some((who, s))).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{who}");
        assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"dancu\"");
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(error_of(&body(r).await), "invalid_client");
    }
    let r = token_request(app, &cc, None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = token_request(
        app,
        &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", "x")],
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("www-authenticate").is_none());
    // Two methods at once: a failed authentication like any other.
    let r = token_request(
        app,
        &[("grant_type", "client_credentials"), ("client_secret", &secret)],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&body(r).await), "invalid_client");
    // No grant type; an unknown one.
    let r = token_request(app, &[("scope", "partner:card")], Some((&id, &secret))).await;
    assert_eq!(
        (r.status(), error_of(&body(r).await).to_string()),
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
    let r = token_request(app, &[("grant_type", "password")], Some((&id, &secret))).await;
    assert_eq!(error_of(&body(r).await), "unsupported_grant_type");
    // A scope beyond the client's.
    let r = token_request(
        app,
        &[("grant_type", "client_credentials"), ("scope", "partner:feed")],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(
        (r.status(), error_of(&body(r).await).to_string()),
        (StatusCode::BAD_REQUEST, "invalid_scope".into())
    );
    let r = token_request(
        app,
        &[("grant_type", "client_credentials"), ("scope", "openid")],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(error_of(&body(r).await), "invalid_scope");
    // A relying party is not registered for client credentials.
    let r = token_request(app, &cc, Some((&rp, rp_secret.as_deref().unwrap()))).await;
    assert_eq!(
        (r.status(), error_of(&body(r).await).to_string()),
        (StatusCode::BAD_REQUEST, "unauthorized_client".into())
    );
    // Not a form.
    let r = app
        .client()
        .post(format!("{}/oauth/token", app.base))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(&body(r).await), "invalid_request");
    // A suspended client is refused at once on this server after a reload.
    app.state.db.oidc().set_active(&id, false, dancu_store::registry::now()).await.unwrap();
    app.state.oidc.clients.refresh(&app.state.db.oidc()).await.unwrap();
    let r = token_request(app, &cc, Some((&id, &secret))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Every refusal is counted.
    assert!(app.state.oidc.refusals.count("token", "invalid_client") >= 6);
    let metrics_token = app.state.config.metrics_token.clone().unwrap();
    let m =
        app.client().get(format!("{}/metrics", app.base)).bearer_auth(metrics_token).send().await.unwrap();
    let text = m.text().await.unwrap();
    assert!(
        text.contains("dancu_oauth_refusals_total{endpoint=\"token\",error=\"invalid_scope\"} 2"),
        "{text}"
    );
}

async fn partner_bearer_tokens_are_checked(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (id, secret) = add_client(app, partner("bv-hue")).await;
    let r = token_request(app, &[("grant_type", "client_credentials")], Some((&id, &secret.unwrap()))).await;
    let good = body(r).await["access_token"].as_str().unwrap().to_string();
    let verify = |t: String| async move { dancu_server::oidc::bearer::verify(&app.state, &t).await };
    assert!(verify(good.clone()).await.is_ok());
    let cfg = &app.state.config.oidc;
    let now = chrono::Utc::now().timestamp();
    let claims = |aud: &str, iss: &str, exp: i64| {
        json!({"iss": iss, "sub": id, "client_id": id, "aud": aud, "scope": "partner:verify",
               "iat": now, "exp": exp, "jti": "j1"})
    };
    let aud = cfg.partner_audience();
    // Signed by the server's key but expired, for another audience, from another issuer.
    for (what, c) in [
        ("expired", claims(&aud, &cfg.issuer, now - 1)),
        ("audience", claims(&format!("{}/oauth/userinfo", cfg.issuer), &cfg.issuer, now + 60)),
        ("issuer", claims(&aud, "https://evil.example", now + 60)),
    ] {
        let t = cfg.keys.sign("at+jwt", &c);
        let e = verify(t).await.expect_err(what);
        assert_eq!(e.error.code, "invalid_token", "{what}");
    }
    // Signed by a key the server does not have; tampered; not a JWT.
    let forged = KeySet::ephemeral().sign("at+jwt", &claims(&aud, &cfg.issuer, now + 60));
    assert!(verify(forged).await.is_err());
    let mut parts: Vec<&str> = good.split('.').collect();
    let other = cfg.keys.sign("at+jwt", &claims(&aud, &cfg.issuer, now + 600));
    parts[1] = other.split('.').nth(1).unwrap();
    assert!(verify(parts.join(".")).await.is_err(), "payload swapped under another signature");
    assert!(verify("not-a-token".into()).await.is_err());
    // A suspended client's token stops working after the reload.
    app.state.db.oidc().set_active(&id, false, dancu_store::registry::now()).await.unwrap();
    assert!(verify(good.clone()).await.is_ok(), "still cached");
    app.state.oidc.clients.refresh(&app.state.db.oidc()).await.unwrap();
    assert!(verify(good.clone()).await.is_err());
}

on_both_backends!(clients_page_registers_suspends_and_rotates, private_key_jwt_authenticates_a_partner);

/// The administrators' `/clients` page: registration with refusals at their fields, the
/// secret shown once and working at once, suspension and a new secret; officers are refused.
async fn clients_page_registers_suspends_and_rotates(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let admin = app.token("admin").await;
    let officer = app.token("xa_a").await;
    let url = format!("{}/clients", app.base);
    let r = app.client().get(&url).bearer_auth(&officer).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let partner_form = [
        ("csrf", ""),
        ("name", "Bảo hiểm xã hội"),
        ("client_id", "bhxh"),
        ("kind", "partner"),
        ("auth_method", "client_secret_basic"),
        ("scope", "partner:verify"),
        ("scope", "partner:card"),
    ];
    let r = app.client().post(&url).bearer_auth(&officer).form(&partner_form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A portal with an http redirect off localhost and no openid scope: both named.
    let bad = [
        ("csrf", ""),
        ("name", "Cổng thử"),
        ("kind", "rp"),
        ("auth_method", "client_secret_basic"),
        ("redirect_uris", "http://portal.example.vn/cb"),
        ("scope", "profile"),
    ];
    let r = app.client().post(&url).bearer_auth(&admin).form(&bad).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("https") && page.contains("openid"), "{page}");
    assert!(page.contains("Cổng thử"), "typed values kept");
    // The partner: its secret shown once, usable at once.
    let r = app.client().post(&url).bearer_auth(&admin).form(&partner_form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let page = r.text().await.unwrap();
    let secret = regex::Regex::new(r#"data-testid="client-secret-value">([A-Za-z0-9_-]{43})<"#)
        .unwrap()
        .captures(&page)
        .unwrap()[1]
        .to_string();
    let cc = |secret: String| async move {
        app.client()
            .post(format!("{}/oauth/token", app.base))
            .basic_auth("bhxh", Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(cc(secret.clone()).await, StatusCode::OK);
    let listed = app.client().get(&url).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
    assert!(listed.contains("Bảo hiểm xã hội") && !listed.contains(&secret), "the secret is not shown again");
    // Registering the same id again is refused.
    let r = app.client().post(&url).bearer_auth(&admin).form(&partner_form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Suspended: refused at once on this server; reactivated: works again.
    let admin = &admin;
    let change = |action: &'static str| async move {
        app.client()
            .post(format!("{}/clients/bhxh", app.base))
            .bearer_auth(admin)
            .form(&[("csrf", ""), ("action", action)])
            .send()
            .await
            .unwrap()
    };
    assert_eq!(change("disable").await.status(), StatusCode::OK);
    assert_eq!(cc(secret.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(change("enable").await.status(), StatusCode::OK);
    assert_eq!(cc(secret.clone()).await, StatusCode::OK);
    // A new secret: the old one stops working.
    let page = change("rotate").await.text().await.unwrap();
    let fresh = regex::Regex::new(r#"data-testid="client-secret-value">([A-Za-z0-9_-]{43})<"#)
        .unwrap()
        .captures(&page)
        .unwrap()[1]
        .to_string();
    assert_eq!(cc(secret).await, StatusCode::UNAUTHORIZED);
    assert_eq!(cc(fresh).await, StatusCode::OK);
}

/// A partner registered with its JWK Set authenticates with a signed assertion (ES256);
/// a replayed, expired, wrongly addressed or foreign-signed assertion is refused.
async fn private_key_jwt_authenticates_a_partner(backend: &'static str) {
    use base64::Engine;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let app = &TestApp::start(backend).await;
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let point = pair.public_key().as_ref();
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "x": b64(&point[1..33]), "y": b64(&point[33..65])}]});
    let reg = Registration {
        auth_method: "private_key_jwt".into(),
        jwks: Some(jwks.to_string()),
        ..partner("thue")
    };
    let (id, secret) = add_client(app, reg).await;
    assert!(secret.is_none());
    let key = jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref());
    let sign = |claims: Value, kid: &str, key: &jsonwebtoken::EncodingKey| {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, &claims, key).unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let token_url = format!("{}/oauth/token", app.base);
    let claims = |jti: &str, aud: &str, exp: i64| json!({"iss": id, "sub": id, "aud": aud, "jti": jti, "exp": exp, "iat": now});
    let send = |assertion: String| {
        let url = token_url.clone();
        async move {
            app.client()
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", &assertion),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let good = sign(claims("a1", &token_url, now + 60), "k1", &key);
    let r = send(good.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["scope"], "partner:verify partner:card");
    // The issuer as audience is accepted too.
    assert_eq!(send(sign(claims("a2", &app.base, now + 60), "k1", &key)).await.status(), 200);
    let other = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    for (what, a) in [
        ("replayed", good),
        ("expired", sign(claims("a3", &token_url, now - 120), "k1", &key)),
        ("audience", sign(claims("a4", "https://evil.example/token", now + 60), "k1", &key)),
        (
            "foreign key",
            sign(
                claims("a5", &token_url, now + 60),
                "k1",
                &jsonwebtoken::EncodingKey::from_ec_der(other.as_ref()),
            ),
        ),
        ("unknown kid", sign(claims("a6", &token_url, now + 60), "k9", &key)),
    ] {
        let r = send(a).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(body(r).await["error"], "invalid_client", "{what}");
    }
    // Its registration is for assertions only: no secret works.
    let r = app
        .client()
        .post(&token_url)
        .basic_auth(&id, Some("x"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
