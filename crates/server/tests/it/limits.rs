//! Login limits beyond the per-key throttle (issue 11), on SQLite and PostgreSQL: a lock
//! shared by two servers on one database, failures per client address and in all (429 with
//! `Retry-After` and a stable code), `X-Forwarded-For` believed from trusted proxies only;
//! and garbled (mojibake) names refused with their repair.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{body, draft, on_both_backends, TestApp, COMMUNE_A, PASSWORD};
use dancu_server::throttle::Limits;

on_both_backends!(
    a_lock_is_shared_by_two_servers_on_one_database,
    a_parallel_burst_over_two_servers_gets_five_checks,
    an_address_gets_a_bounded_number_of_failures,
    forwarded_for_counts_only_from_a_trusted_proxy,
    all_clients_together_get_a_bounded_number_of_failures,
    garbled_names_are_refused_with_their_repair,
);

/// An officer login through the API, optionally claiming to be `forwarded_for`.
async fn login(app_base: &str, user: &str, password: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{app_base}/api/v1/auth/token"))
        .json(&json!({"username": user, "password": password}));
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

/// A second server on `app`'s database: its own state, throttle memory and listener.
async fn second_server(app: &TestApp) -> (String, tokio::task::JoinHandle<()>) {
    let db =
        dancu_store::Database::open(&app.url, dancu_store::audit_chain::AuditKey::generate()).await.unwrap();
    let (registry, writer) = db.start_registry(16, None);
    let state = dancu_server::AppState::new(db, registry, dancu_server::ServerConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let task = tokio::spawn(async move {
        let _writer = writer;
        dancu_server::serve(listener, state, std::future::pending()).await.unwrap();
    });
    (base, task)
}

async fn a_lock_is_shared_by_two_servers_on_one_database(backend: &'static str) {
    let app = TestApp::start(backend).await;
    let (other, task) = second_server(&app).await;
    for i in 0..5 {
        let r = login(&app.base, "xa_a", &format!("wrong-password-{i}"), None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{backend}: failure {i}");
    }
    // The other server never saw these failures, yet refuses the right password.
    let r = login(&other, "xa_a", PASSWORD, None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{backend}");
    let retry: u64 = r.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=31).contains(&retry), "Retry-After {retry}");
    assert_eq!(body(r).await["error"]["code"], "login_locked");
    // Another officer is not affected on either server.
    assert_eq!(login(&other, "xa_b", PASSWORD, None).await.status(), StatusCode::OK);
    task.abort();
}

async fn a_parallel_burst_over_two_servers_gets_five_checks(backend: &'static str) {
    let app = TestApp::start(backend).await;
    let (other, task) = second_server(&app).await;
    // 20 wrong passwords at once, alternately through each server: taking an attempt is one
    // conditional update in the shared table, so both servers together check five.
    let bases = [app.base.clone(), other.clone()];
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..20 {
        burst.spawn(login_owned(bases[i % 2].clone(), format!("wrong-password-{i}")));
    }
    let answers: Vec<u16> = burst.join_all().await;
    let checked = answers.iter().filter(|s| **s == 401).count();
    assert!(checked <= 5, "{backend}: {checked} checks: {answers:?}");
    assert!(answers.iter().all(|s| *s == 401 || *s == 429), "{answers:?}");
    for base in &bases {
        assert_eq!(login(base, "xa_a", PASSWORD, None).await.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    task.abort();
}

async fn login_owned(base: String, password: String) -> u16 {
    login(&base, "xa_a", &password, None).await.status().as_u16()
}

async fn an_address_gets_a_bounded_number_of_failures(backend: &'static str) {
    let limits = Limits { ip_failures: 3, ..Limits::default() };
    let config = dancu_server::ServerConfig { login_limits: limits, ..Default::default() };
    let app = TestApp::start_with(backend, config).await;
    // Three failures, each for another username: no key is locked.
    for i in 0..3 {
        let r = login(&app.base, &format!("guess{i}"), "wrong-password", None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // The fourth from the same address is refused, even for a real officer's right password.
    let r = login(&app.base, "xa_a", PASSWORD, None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{backend}");
    assert!(r.headers().contains_key(RETRY_AFTER));
    let v = body(r).await;
    assert_eq!(v["error"]["code"], "too_many_failures_from_address");
    assert!(v["error"]["message_vi"].as_str().unwrap().contains("địa chỉ này"), "{v}");
    // No proxy is trusted by default: a forged X-Forwarded-For does not help.
    let r = login(&app.base, "xa_a", PASSWORD, Some("198.51.100.1")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn forwarded_for_counts_only_from_a_trusted_proxy(backend: &'static str) {
    let config = dancu_server::ServerConfig {
        login_limits: Limits { ip_failures: 2, ..Limits::default() },
        trusted_proxies: "127.0.0.1, ::1".parse().unwrap(),
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    for i in 0..2 {
        let r = login(&app.base, &format!("guess{i}"), "wrong-password", Some("203.0.113.7")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = login(&app.base, "guess9", "wrong-password", Some("203.0.113.7")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{backend}");
    // Another client behind the same proxy is not refused.
    let r = login(&app.base, "xa_a", PASSWORD, Some("203.0.113.8")).await;
    assert_eq!(r.status(), StatusCode::OK, "{backend}");
}

async fn all_clients_together_get_a_bounded_number_of_failures(backend: &'static str) {
    let config = dancu_server::ServerConfig {
        login_limits: Limits { global_failures: 3, ..Limits::default() },
        trusted_proxies: "127.0.0.1, ::1".parse().unwrap(),
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    for i in 0..3 {
        let ip = format!("192.0.2.{i}");
        assert_eq!(login(&app.base, "guess", "wrong-password", Some(&ip)).await.status(), 401);
    }
    let r = login(&app.base, "xa_a", "wrong-password", Some("192.0.2.99")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{backend}");
    let retry: u64 = r.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(retry <= Duration::from_secs(61).as_secs());
    assert_eq!(body(r).await["error"]["code"], "too_many_failures");
}

async fn garbled_names_are_refused_with_their_repair(backend: &'static str) {
    let app = TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let url = format!("{}/api/v1/citizens", app.base);
    // TCVN3 read as Windows-1252: "Nguyễn Văn An".
    let d = draft("001085007777", "NguyÔn", "V¨n", "An", "1985-03-15", "Nam", COMMUNE_A);
    let r = app.post_json(&t, &url, &json!({"citizen": d, "reason": "khai sinh"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{backend}");
    let v = body(r).await;
    let violations = v["error"]["violations"].as_array().unwrap();
    let family = violations.iter().find(|x| x["field"] == "family_name").expect("family_name named");
    assert_eq!(family["rule"], "text.mojibake");
    assert!(family["message_vi"].as_str().unwrap().contains("Nguyễn"), "{family}");
    // VNI in an address detail, on update.
    let mut d = draft("001085007777", "Nguyễn", "Văn", "Ấn", "1985-03-15", "Nam", COMMUNE_A);
    let r = app.post_json(&t, &url, &json!({"citizen": d, "reason": "khai sinh"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    d.permanent_detail = "Soá 5 phoá Haøng Baøi".into();
    let r = app
        .client()
        .put(format!("{url}/001085007777"))
        .bearer_auth(&t)
        .json(&json!({"citizen": d, "expected_version": 1, "reason": "sửa địa chỉ"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{backend}");
    let v = body(r).await;
    assert_eq!(v["error"]["violations"][0]["field"], "permanent_detail", "{v}");
    assert_eq!(v["error"]["violations"][0]["rule"], "text.mojibake");
    assert!(v["error"]["violations"][0]["message_en"].as_str().unwrap().contains("Số 5 phố Hàng Bài"), "{v}");
}
