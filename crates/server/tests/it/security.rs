//! Security regressions (issue 11), on SQLite and PostgreSQL: throttles that hold when the
//! guesses arrive all at once, bounded password hashing, the open-redirect vectors, the eID
//! registration oracle, metrics cardinality and access, cookie-authenticated API writes,
//! token revocation and secrets at rest.

use crate::common::*;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

on_both_backends!(
    registration_is_not_an_oracle,
    the_api_refuses_session_cookies_without_the_csrf_header,
    a_deactivated_officers_token_stops_working_at_once,
    an_officer_changed_in_the_database_loses_the_token_within_seconds,
    a_bad_officer_change_names_its_field,
    totp_secrets_are_sealed_at_rest,
    a_corrupt_or_moved_totp_secret_fails_closed,
    plain_text_totp_secrets_are_sealed_at_start,
    debug_output_of_an_account_redacts_its_secrets,
);
on_both_backends!(
    workers = 4;
    parallel_officer_logins_get_no_token_after_five_failures,
    parallel_totp_guesses_are_throttled,
    parallel_reset_code_guesses_are_throttled,
);

const CITIZEN_PW: &str = "mat-khau-cong-dan-1";
/// Failed attempts a key gets before it is locked (`throttle::FREE_FAILURES`).
const FREE: usize = 5;

/// Runs the requests all at once; returns (status, error code) of each, in order.
async fn burst<F>(requests: Vec<F>) -> Vec<(u16, String)>
where
    F: std::future::Future<Output = Response> + Send + 'static,
{
    burst_after(requests, 0, || true).await
}

/// Sends the first `first` requests at once, waits (up to 2 s) until `locked()` says the
/// throttle has locked the key, then sends the rest at once while the first are still in
/// flight; returns (status, error code) of each, in order.
async fn burst_after<F>(requests: Vec<F>, first: usize, locked: impl Fn() -> bool) -> Vec<(u16, String)>
where
    F: std::future::Future<Output = Response> + Send + 'static,
{
    let mut handles = Vec::new();
    for (i, r) in requests.into_iter().enumerate() {
        if i == first && first > 0 {
            let start = std::time::Instant::now();
            while !locked() && start.elapsed() < std::time::Duration::from_secs(2) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
        handles.push(tokio::spawn(r));
    }
    let mut out = Vec::new();
    for h in handles {
        let r = h.await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        let code = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
            .unwrap_or_else(|| {
                // An HTML page: its error, briefly.
                if text.contains("quá nhiều lần") {
                    "login_locked".into()
                } else if text.contains("đang bận") {
                    "busy".into()
                } else {
                    text.split("role=\"alert\"").nth(1).unwrap_or(&text).chars().take(120).collect()
                }
            });
        out.push((status, code));
    }
    out
}

/// At most `FREE` requests of a burst were checked; every other one was refused as locked.
fn assert_at_most_free_checked(answers: &[(u16, String)], what: &str) {
    let checked = answers.iter().filter(|(s, _)| *s != 429).count();
    assert!(checked <= FREE, "{what}: {checked} guesses were checked in one burst: {answers:?}");
    for (s, code) in answers {
        if *s == 429 {
            assert!(code.contains("login_locked"), "{what}: {code}");
        }
    }
}

async fn new_officer(app: &TestApp, username: &str) {
    app.store
        .create_officer(&dancu_store::NewOfficer {
            username: username.into(),
            display_name: "Cán bộ thử".into(),
            role: dancu_store::Role::Officer,
            scope: dancu_store::Scope::Commune(COMMUNE_A.into()),
            password_hash: password_hash(),
        })
        .await
        .unwrap();
}

async fn parallel_officer_logins_get_no_token_after_five_failures(backend: &'static str) {
    let app = TestApp::start(backend).await;
    new_officer(&app, "burst").await;
    let url = format!("{}/api/v1/auth/token", app.base);
    let requests: Vec<_> = (0..30)
        .map(|i| {
            let pw = if i == 20 { PASSWORD.to_string() } else { format!("wrong-password-{i}") };
            app.client().post(&url).json(&json!({"username": "burst", "password": pw})).send()
        })
        .map(|f| async move { f.await.unwrap() })
        .collect();
    let throttle = app.state.clone();
    let answers =
        burst_after(requests, 20, move || throttle.login_throttle.locked_for("officer:burst").is_some())
            .await;
    assert_at_most_free_checked(&answers, backend);
    // The right password was the 21st: after five failures it gets no token.
    assert_eq!(answers[20].0, 429, "{backend}: the right password was checked after the lock: {answers:?}");
    // And the username stays locked, the right password included.
    let r = app
        .client()
        .post(&url)
        .json(&json!({"username": "BURST", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{backend}: keys are normalised");
}

/// Registers citizen A, has commune A's officer approve the account; returns the TOTP secret.
async fn registered_and_approved(app: &TestApp) -> String {
    let r = app
        .client()
        .post(format!("{}/api/v1/eid/registrations", app.base))
        .json(&json!({
            "personal_id": app.citizen_a.personal_id.to_string(),
            "full_name": "Nguyễn Văn Ấn",
            "birth_date": "15/03/1985",
            "sex": "Nam",
            "phone": "0912 345 678",
            "portrait_captured": true,
            "password": CITIZEN_PW,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let secret = body(r).await["totp_secret"].as_str().unwrap().to_string();
    let t = app.token("xa_a").await;
    let r = app
        .client()
        .post(format!("{}/api/v1/eid/accounts/{}/events", app.base, app.citizen_a.personal_id))
        .bearer_auth(&t)
        .json(&json!({"event": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    secret
}

/// A portal CSRF cookie and its value (double submit), from one GET of `path`.
async fn portal_csrf(app: &TestApp, path: &str) -> String {
    let r = app.client().get(format!("{}{path}", app.base)).send().await.unwrap();
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("dancu_portal_csrf="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("portal CSRF cookie")
}

/// A portal form posted with its double-submit CSRF cookie, as a browser sends it.
fn portal_post(
    app: &TestApp,
    path: &str,
    csrf: &str,
    form: &[(&str, &str)],
) -> impl std::future::Future<Output = reqwest::Result<Response>> + use<> {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("csrf", csrf));
    app.client()
        .post(format!("{}{path}", app.base))
        .header(COOKIE, format!("dancu_portal_csrf={csrf}"))
        .form(&fields)
        .send()
}

fn code_now(secret: &str) -> String {
    let raw = dancu_identity::totp::secret_from_base32(secret).unwrap();
    dancu_identity::totp::generate(&raw, chrono::Utc::now().timestamp() as u64)
}

async fn parallel_totp_guesses_are_throttled(backend: &'static str) {
    let app = TestApp::start(backend).await;
    let secret = registered_and_approved(&app).await;
    let id = app.citizen_a.personal_id.to_string();

    // 30 portal logins at once with the right password: 29 wrong codes, the right one 21st.
    let csrf = portal_csrf(&app, "/portal").await;
    let good = code_now(&secret);
    let requests: Vec<_> = (0..30)
        .map(|i| {
            let code = if i == 20 {
                good.clone()
            } else {
                format!("{:06}", (good.parse::<u32>().unwrap() + 1 + i) % 1_000_000)
            };
            portal_post(
                &app,
                "/portal/login",
                &csrf,
                &[("personal_id", &id), ("password", CITIZEN_PW), ("code", &code)],
            )
        })
        .map(|f| async move { f.await.unwrap() })
        .collect();
    let throttle = app.state.clone();
    let key = format!("citizen:{id}");
    let answers = burst_after(requests, 20, move || throttle.login_throttle.locked_for(&key).is_some()).await;
    assert_at_most_free_checked(&answers, &format!("{backend} TOTP"));
    assert_ne!(answers[20].0, 303, "{backend}: the right code logged in after the lock: {answers:?}");
}

async fn parallel_reset_code_guesses_are_throttled(backend: &'static str) {
    let app = TestApp::start(backend).await;
    registered_and_approved(&app).await;
    let id = app.citizen_a.personal_id.to_string();

    // An officer issues a reset code; 30 guesses at once, the right code 21st.
    let t = app.token("xa_a").await;
    let r = app
        .client()
        .post(format!("{}/api/v1/eid/accounts/{id}/reset-code", app.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let code = body(r).await["code"].as_str().unwrap().to_string();
    let csrf = portal_csrf(&app, "/portal/reset").await;
    let requests: Vec<_> = (0..30)
        .map(|i| {
            let guess = if i == 20 { code.clone() } else { format!("{:05}-{:05}", i, 99_999 - i) };
            let form = [("personal_id", id.as_str()), ("code", &guess), ("password", "mat-khau-moi-2026")];
            portal_post(&app, "/portal/reset", &csrf, &form)
        })
        .map(|f| async move { f.await.unwrap() })
        .collect();
    let throttle = app.state.clone();
    let key = format!("reset:{id}");
    let answers = burst_after(requests, 20, move || throttle.login_throttle.locked_for(&key).is_some()).await;
    assert_at_most_free_checked(&answers, &format!("{backend} reset"));
    assert_eq!(answers[20].0, 429, "{backend}: the right reset code was checked after the lock: {answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_hashing_is_bounded_under_an_anonymous_flood() {
    let backend = "sqlite";
    let config = dancu_server::ServerConfig { hash_slots: 2, hash_queue: 4, ..Default::default() };
    let app = TestApp::start_with(backend, config).await;
    let url = format!("{}/api/v1/auth/token", app.base);
    // 120 logins at once, each for another made-up username.
    let requests: Vec<_> = (0..120)
        .map(|i| {
            app.client()
                .post(&url)
                .json(&json!({"username": format!("nobody{i}"), "password": "guess-guess-guess"}))
                .send()
        })
        .map(|f| async move { f.await.unwrap() })
        .collect();
    let answers = burst(requests).await;
    assert!(app.state.hasher.peak() <= 2, "peak {} hashes at once", app.state.hasher.peak());
    let busy = answers.iter().filter(|(s, c)| *s == 429 && c == "busy").count();
    let refused = answers.iter().filter(|(s, c)| *s == 401 && c == "invalid_credentials").count();
    assert_eq!(busy + refused, 120, "{answers:?}");
    assert!(busy > 0, "a full queue answers 429 at once");
    // Malformed input is refused before any hashing (and takes no throttle entry).
    let before = app.state.login_throttle.len();
    for name in ["x", &"y".repeat(65_000), "a b c", "xã-1"] {
        let r = app
            .client()
            .post(&url)
            .json(&json!({"username": name, "password": "guess-guess-guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.state.login_throttle.len(), before);
    // The queue drained: a real login works.
    app.token("xa_a").await;
}

fn location(r: &Response) -> String {
    r.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// The login form's CSRF cookie value.
async fn login_csrf(app: &TestApp) -> String {
    let r = app.client().get(format!("{}/login", app.base)).send().await.unwrap();
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("dancu_login_csrf="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("login CSRF cookie")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_redirects_only_to_local_paths() {
    let app = TestApp::start("sqlite").await;
    let vectors = [
        "/\t/evil.com",
        "/%09/evil.com",
        "//evil.com",
        "/\\evil.com",
        "/\\/evil.com",
        "https://evil.com/",
        "/\r\nSet-Cookie: a=b",
        "/\u{1}x",
        "/\u{7f}",
        "/%2F%2Fevil.com",
        "/search\u{0}",
        "/ évil",
    ];
    for next in vectors {
        // The form page keeps only a local path in its hidden field, and never fails.
        let r =
            app.client().get(format!("{}/login", app.base)).query(&[("next", next)]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{next:?}");
        let page = r.text().await.unwrap();
        assert!(page.contains(r#"name="next" value="/search""#), "{next:?}: {page}");
        // A successful login with it goes to the default page.
        let csrf = login_csrf(&app).await;
        let r = app
            .client()
            .post(format!("{}/login", app.base))
            .header(COOKIE, format!("dancu_login_csrf={csrf}"))
            .form(&[("username", "xa_a"), ("password", PASSWORD), ("csrf", &csrf), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location(&r), "/search", "{next:?}");
    }
    // A local path is kept.
    let csrf = login_csrf(&app).await;
    let r = app
        .client()
        .post(format!("{}/login", app.base))
        .header(COOKIE, format!("dancu_login_csrf={csrf}"))
        .form(&[
            ("username", "xa_a"),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("next", "/cards?stage=intake"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/cards?stage=intake");
}

async fn registration_is_not_an_oracle(backend: &'static str) {
    let app = TestApp::start(backend).await;
    let good = json!({
        "personal_id": app.citizen_a.personal_id.to_string(),
        "full_name": "Nguyễn Văn Ấn",
        "birth_date": "15/03/1985",
        "sex": "Nam",
        "phone": "0912 345 678",
        "portrait_captured": true,
        "password": CITIZEN_PW,
    });
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    // A deceased holder (its own ID, so its throttle count is its own).
    let mut d = draft("001060002222", "Lê", "Văn", "Mất", "1960-01-01", "Nam", COMMUNE_A);
    d.status = "deceased".into();
    d.death_date = "2020-01-01".into();
    let dead = d.validate(chrono::Utc::now().date_naive()).unwrap();
    let change =
        dancu_store::Change { actor: "test".into(), reason: "test".into(), at: dancu_store::registry::now() };
    app.store.create_citizen(&dead, &change).await.unwrap();
    let deceased = json!({
        "personal_id": "001060002222", "full_name": "Lê Văn Mất", "birth_date": "01/01/1960", "sex": "Nam",
        "phone": "0912 345 678", "portrait_captured": true, "password": CITIZEN_PW,
    });
    let cases = [
        ("wrong name", with("full_name", json!("Nguyễn Văn Anh"))),
        ("wrong birth date", with("birth_date", json!("16/03/1985"))),
        ("wrong sex", with("sex", json!("Nữ"))),
        ("wrong name and birth date", with("full_name", json!("Trần Văn Khác"))),
        ("unknown ID", with("personal_id", json!("001085009999"))),
        ("deceased", deceased),
    ];
    let mut answers = Vec::new();
    for (what, b) in &cases {
        let r =
            app.client().post(format!("{}/api/v1/eid/registrations", app.base)).json(b).send().await.unwrap();
        answers.push((what, r.status().as_u16(), r.text().await.unwrap()));
    }
    let (_, status, first) = &answers[0];
    assert_eq!(*status, 422, "{first}");
    let v: Value = serde_json::from_str(first).unwrap();
    assert_eq!(v["error"]["violations"][0]["rule"], "eid.claim_mismatch", "{first}");
    for (what, s, text) in &answers {
        assert_eq!((*s, text), (*status, first), "{backend}: {what} answers differently");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_labels_are_bounded_and_the_endpoint_needs_its_token() {
    let app = TestApp::start("sqlite").await;
    let c = app.client();
    let url = format!("{}/metrics", app.base);
    // Without the token, or with a wrong one: refused.
    assert_eq!(c.get(&url).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(c.get(&url).bearer_auth("wrong").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let token = app.state.config.metrics_token.clone().unwrap();
    let scrape = || async { c.get(&url).bearer_auth(&token).send().await.unwrap().text().await.unwrap() };
    let before = scrape().await;
    // 400 requests with made-up methods and made-up paths.
    for i in 0..400 {
        let method = reqwest::Method::from_bytes(format!("M{i}X").as_bytes()).unwrap();
        let r = c.request(method, format!("{}/made/up/{i}", app.base)).send().await.unwrap();
        assert!(r.status().is_client_error());
        let r = c
            .request(reqwest::Method::GET, format!("{}/api/v1/citizens/{i:012}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let after = scrape().await;
    assert!(!after.contains("M1X") && !after.contains("/made/up"), "{after}");
    assert!(after.contains(r#"method="OTHER",route="unmatched""#), "{after}");
    let methods: std::collections::BTreeSet<&str> = after
        .lines()
        .filter_map(|l| l.split("method=\"").nth(1))
        .filter_map(|r| r.split('"').next())
        .collect();
    for m in &methods {
        assert!(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER"].contains(m), "{m}");
    }
    // The label sets grew by a handful, not by hundreds.
    assert!(
        after.lines().count() < before.lines().count() + 60,
        "{} → {} lines",
        before.lines().count(),
        after.lines().count()
    );
    assert!(app.state.metrics.series() <= 4, "{} series", app.state.metrics.series());
    // The citizen gauge comes from the refresh task, not from the scrape.
    assert!(after.contains("dancu_citizens 2"), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_served_on_a_listener_of_their_own() {
    let config = dancu_server::ServerConfig { metrics_token: None, ..Default::default() };
    let app = TestApp::start_with("sqlite", config).await;
    // Not on the main listener.
    let r = app.client().get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(dancu_server::serve_metrics(listener, app.state.clone(), std::future::pending()));
    let r = app.client().get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("dancu_uptime_seconds"));
    let r = app.client().get(format!("http://127.0.0.1:{port}/api/v1/officers")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Logs `user` in through the web form; returns the session cookie and its CSRF token.
async fn web_session(app: &TestApp, user: &str) -> (String, String) {
    let csrf = login_csrf(app).await;
    let r = app
        .client()
        .post(format!("{}/login", app.base))
        .header(COOKIE, format!("dancu_login_csrf={csrf}"))
        .form(&[("username", user), ("password", PASSWORD), ("csrf", &csrf), ("next", "/search")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("dancu_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("session cookie");
    let page = app
        .client()
        .get(format!("{}/search", app.base))
        .header(COOKIE, format!("dancu_session={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page.find(r#"name="csrf" value=""#).expect("logout form token") + 19;
    (session, page[at..at + 64].to_string())
}

async fn the_api_refuses_session_cookies_without_the_csrf_header(backend: &'static str) {
    let app = TestApp::start(backend).await;
    let (session, csrf) = web_session(&app, "xa_a").await;
    let id = app.citizen_a.personal_id.to_string();
    let c = app.client();
    // The two body-less POSTs, and a read: refused with the cookie alone.
    for (method, path) in [
        (reqwest::Method::POST, format!("/api/v1/citizens/{id}/cmnd-confirmations")),
        (reqwest::Method::POST, format!("/api/v1/eid/accounts/{id}/reset-code")),
        (reqwest::Method::GET, format!("/api/v1/citizens/{id}")),
    ] {
        let url = format!("{}{path}", app.base);
        let r = c
            .request(method.clone(), &url)
            .header(COOKIE, format!("dancu_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{backend} {method} {path}");
        assert_eq!(body(r).await["error"]["code"], "csrf");
        let r = c
            .request(method.clone(), &url)
            .header(COOKIE, format!("dancu_session={session}"))
            .header("x-csrf-token", "0".repeat(64))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{backend} {method} {path} with a wrong token");
        // With the session's token in the header it goes through to the handler.
        let r = c
            .request(method.clone(), &url)
            .header(COOKIE, format!("dancu_session={session}"))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), StatusCode::FORBIDDEN, "{backend} {method} {path}");
        assert_ne!(r.status(), StatusCode::UNAUTHORIZED, "{backend} {method} {path}");
    }
    // Bearer tokens need no such header.
    let t = app.token("xa_a").await;
    let r = c.get(format!("{}/api/v1/citizens/{id}", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn officer_id(app: &TestApp, username: &str) -> i64 {
    app.store.get_officer_by_username(username).await.unwrap().unwrap().id
}

/// Polls until `token` is refused; returns how long it took.
async fn refused_within(app: &TestApp, token: &str, limit: std::time::Duration) -> std::time::Duration {
    let start = std::time::Instant::now();
    loop {
        let r = app
            .client()
            .get(format!("{}/api/v1/eid/stats", app.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::UNAUTHORIZED {
            return start.elapsed();
        }
        assert_eq!(r.status(), StatusCode::OK);
        assert!(start.elapsed() < limit, "the token still works after {:?}", start.elapsed());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Through the API: the change takes effect at once on this server.
async fn a_deactivated_officers_token_stops_working_at_once(backend: &'static str) {
    let app = TestApp::start(backend).await;
    let admin = app.token("admin").await;
    let c = app.client();
    new_officer(&app, "rev1").await;
    let t1 = app.token("rev1").await;
    let id1 = officer_id(&app, "rev1").await;
    let r = c.get(format!("{}/api/v1/eid/stats", app.base)).bearer_auth(&t1).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .patch(format!("{}/api/v1/officers/{id1}", app.base))
        .bearer_auth(&t1)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "only administrators");
    let r = c
        .patch(format!("{}/api/v1/officers/{id1}", app.base))
        .bearer_auth(&admin)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["active"], false);
    refused_within(&app, &t1, std::time::Duration::from_millis(50)).await;
    // Reactivated: the old token stays dead, a new login works.
    let r = c
        .patch(format!("{}/api/v1/officers/{id1}", app.base))
        .bearer_auth(&admin)
        .json(&json!({"active": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    refused_within(&app, &t1, std::time::Duration::from_millis(50)).await;
    app.token("rev1").await;
}

/// Changed behind the server's back (another server, or the database): the token stops
/// working within seconds.
async fn an_officer_changed_in_the_database_loses_the_token_within_seconds(backend: &'static str) {
    let app = TestApp::start(backend).await;
    new_officer(&app, "rev2").await;
    let t2 = app.token("rev2").await;
    let id2 = officer_id(&app, "rev2").await;
    let change = dancu_store::officer_admin::OfficerChange {
        scope: Some(dancu_store::Scope::Commune(COMMUNE_B.into())),
        ..Default::default()
    };
    dancu_store::officer_admin::update(app.store.as_ref(), id2, &change).await.unwrap();
    let took = refused_within(&app, &t2, std::time::Duration::from_secs(6)).await;
    eprintln!("{backend}: re-scoped officer's token refused after {took:?}");
    new_officer(&app, "rev3").await;
    let t3 = app.token("rev3").await;
    let id3 = officer_id(&app, "rev3").await;
    let change = dancu_store::officer_admin::OfficerChange { active: Some(false), ..Default::default() };
    dancu_store::officer_admin::update(app.store.as_ref(), id3, &change).await.unwrap();
    refused_within(&app, &t3, std::time::Duration::from_secs(6)).await;
}

async fn a_bad_officer_change_names_its_field(backend: &'static str) {
    let app = TestApp::start(backend).await;
    let admin = app.token("admin").await;
    let c = app.client();
    new_officer(&app, "rev3").await;
    let id3 = officer_id(&app, "rev3").await;
    let r = c
        .patch(format!("{}/api/v1/officers/{id3}", app.base))
        .bearer_auth(&admin)
        .json(&json!({"scope": "province:99x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn stored_secret(app: &TestApp) -> String {
    let rows = app
        .store
        .exec()
        .query(
            "SELECT totp_secret FROM eid_accounts WHERE personal_id = $1",
            vec![dancu_store::exec::Val::Text(app.citizen_a.personal_id.to_string())],
        )
        .await
        .unwrap();
    match &rows[0].0[0] {
        dancu_store::exec::Cell::Text(s) => s.clone(),
        other => panic!("{other:?}"),
    }
}

async fn set_stored_secret(app: &TestApp, value: &str) {
    app.store
        .exec()
        .transaction(vec![dancu_store::exec::Stmt::new(
            "UPDATE eid_accounts SET totp_secret = $2 WHERE personal_id = $1",
            vec![
                dancu_store::exec::Val::Text(app.citizen_a.personal_id.to_string()),
                dancu_store::exec::Val::Text(value.into()),
            ],
        )])
        .await
        .unwrap();
}

/// A portal login with the right password and the current code; its status.
async fn portal_login_status(app: &TestApp, secret: &str, step_offset: i64) -> u16 {
    let csrf = portal_csrf(app, "/portal").await;
    let raw = dancu_identity::totp::secret_from_base32(secret).unwrap();
    let code =
        dancu_identity::totp::generate(&raw, (chrono::Utc::now().timestamp() + step_offset * 30) as u64);
    let id = app.citizen_a.personal_id.to_string();
    portal_post(
        app,
        "/portal/login",
        &csrf,
        &[("personal_id", &id), ("password", CITIZEN_PW), ("code", &code)],
    )
    .await
    .unwrap()
    .status()
    .as_u16()
}

async fn totp_secrets_are_sealed_at_rest(backend: &'static str) {
    let app = TestApp::start(backend).await;
    let secret = registered_and_approved(&app).await;
    let stored = stored_secret(&app).await;
    assert!(stored.starts_with("v1:k1:"), "{backend}: {stored}");
    assert!(!stored.contains(&secret));
    if backend == "sqlite" {
        // Not in any of the database files, in base32 or raw.
        let raw = dancu_identity::totp::secret_from_base32(&secret).unwrap();
        let db = app.url.strip_prefix("sqlite://").unwrap().to_string();
        app.store.ping().await.unwrap();
        for f in [db.clone(), format!("{db}-wal"), format!("{db}-audit"), format!("{db}-audit-wal")] {
            let Ok(bytes) = std::fs::read(&f) else { continue };
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{f} holds the secret");
            assert!(!bytes.windows(raw.len()).any(|w| w == raw.as_slice()), "{f} holds the raw key");
        }
    }
    // The sealed secret works.
    assert_eq!(portal_login_status(&app, &secret, 0).await, 303, "{backend}");
}

/// A corrupt or moved secret fails closed: refused, never checked against an empty key.
async fn a_corrupt_or_moved_totp_secret_fails_closed(backend: &'static str) {
    let app = TestApp::start(backend).await;
    let secret = registered_and_approved(&app).await;
    let stored = stored_secret(&app).await;
    let mut corrupt = stored.clone().into_bytes();
    let i = corrupt.len() - 5;
    corrupt[i] = if corrupt[i] == b'A' { b'B' } else { b'A' };
    for bad in [String::from_utf8(corrupt).unwrap(), String::new(), "v1:k9:AAAA".into(), "garbage".into()] {
        set_stored_secret(&app, &bad).await;
        let status = portal_login_status(&app, &secret, 1).await;
        assert!(status >= 400, "{backend}: a login with a corrupt secret {bad:?} answered {status}");
    }
}

/// A secret stored in plain text by an older version is sealed at start.
async fn plain_text_totp_secrets_are_sealed_at_start(backend: &'static str) {
    let app = TestApp::start(backend).await;
    let secret = registered_and_approved(&app).await;
    set_stored_secret(&app, &secret).await;
    assert_eq!(dancu_server::secrets::reseal_totp_secrets(&app.state).await.unwrap(), 1);
    let resealed = stored_secret(&app).await;
    assert!(resealed.starts_with("v1:") && !resealed.contains(&secret));
    assert_eq!(portal_login_status(&app, &secret, 1).await, 303, "{backend}");
}

async fn debug_output_of_an_account_redacts_its_secrets(backend: &'static str) {
    let app = TestApp::start(backend).await;
    registered_and_approved(&app).await;
    let resealed = stored_secret(&app).await;
    let account =
        dancu_store::eid::get_account(app.store.as_ref(), &app.citizen_a.personal_id).await.unwrap().unwrap();
    let dbg = format!("{account:?}");
    assert!(
        !dbg.contains(&resealed) && !dbg.contains(&account.password_hash) && dbg.contains("<redacted>"),
        "{dbg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_codes_are_stored_as_keyed_macs() {
    let app = TestApp::start("sqlite").await;
    registered_and_approved(&app).await;
    let t = app.token("xa_a").await;
    let id = app.citizen_a.personal_id;
    let r = app
        .client()
        .post(format!("{}/api/v1/eid/accounts/{id}/reset-code", app.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let code = body(r).await["code"].as_str().unwrap().to_string();
    let account = dancu_store::eid::get_account(app.store.as_ref(), &id).await.unwrap().unwrap();
    let stored = account.reset_code_hash.unwrap();
    assert!(stored.starts_with("h1:"), "{stored}");
    // Not the unsalted SHA-256 of the code (which a database copy could brute-force).
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    for plain in [code.as_str(), digits.as_str()] {
        assert!(!stored.contains(&dancu_server::auth::sha256_hex(plain)));
    }
    assert_eq!(stored, app.state.secrets.reset_code_mac(&id, &digits));
}
