//! The change feed (issue 15, part 3) on SQLite and PostgreSQL: every change to registry
//! data leaves an event in its own transaction (triggers), the pull feed filters kinds,
//! units and fields by the partner's entitlement, a cursor resumes exactly (page by page
//! gives the same events as one read), a waiting read returns the event written while it
//! waits, refusals have their codes, and reads are audited as partner access. On
//! PostgreSQL, an event whose transaction commits after a later event's is not skipped.

use crate::common::*;
use crate::oidc::partner;
use dancu_domain::LifeStatus;
use dancu_store::feed::EventKind;
use dancu_store::partners::{CardField, Operation, Partner};
use dancu_store::registry::Access;
use dancu_store::{AuditFilter, Change, Role, Scope};
use serde_json::Value;

on_both_backends!(
    feed_filters_by_entitlement,
    a_cursor_resumes_exactly,
    a_waiting_read_gets_the_event,
    feed_refusals_have_codes,
    a_late_commit_is_not_skipped,
);

const PURPOSE: &str = "cấp thẻ bảo hiểm y tế";

async fn entitle_feed(
    app: &TestApp,
    client_id: &str,
    ops: &[Operation],
    kinds: &[EventKind],
    fields: &[CardField],
    units: &[Scope],
) {
    let p = Partner {
        fields: fields.to_vec(),
        units: units.to_vec(),
        feed_kinds: kinds.to_vec(),
        ..entitlement(client_id, ops)
    };
    entitle_partner(app, &p).await;
}

/// A feed client's token (scope `partner:feed` unless another is given).
async fn feed_token(app: &TestApp, client_id: &str, scope: &str) -> String {
    let mut reg = partner(client_id);
    reg.scopes.push("partner:feed".into());
    client_token(app, reg, Some(scope)).await
}

async fn read(app: &TestApp, token: &str, query: &str) -> (u16, Value) {
    status_body(app.api_get(token, &format!("/api/v1/partner/feed?purpose={PURPOSE}&{query}")).await).await
}

fn change() -> Change {
    Change {
        actor: "test:feed".into(), reason: "thay đổi kiểm thử".into(), at: dancu_store::registry::now()
    }
}

/// Renames citizen A and then records their death (two updates, in that order).
async fn rename_then_death(app: &TestApp) {
    let stored = app.store.get_citizen(&app.citizen_a.personal_id).await.unwrap().unwrap();
    let mut c = stored.citizen.clone();
    c.ethnicity = "Tày".into();
    c.name = dancu_domain::text::NameParts::new("Nguyễn", "Văn", "Án").unwrap();
    let stored = app.store.update_citizen(&c, stored.version, &change()).await.unwrap();
    c.status = LifeStatus::Deceased;
    c.death_date = Some("2026-01-02".parse().unwrap());
    app.store.update_citizen(&c, stored.version, &change()).await.unwrap();
}

fn kinds(events: &Value) -> Vec<(String, String)> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_string(), e["personal_id"].as_str().unwrap().to_string()))
        .collect()
}

async fn feed_filters_by_entitlement(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    entitle_feed(
        app,
        "bhxh",
        &[Operation::Feed],
        &[EventKind::CitizenCreated, EventKind::CitizenDeceased],
        &[CardField::FullName, CardField::LifeStatus],
        &[Scope::Commune(COMMUNE_A.into())],
    )
    .await;
    let t = feed_token(app, "bhxh", "partner:feed").await;
    rename_then_death(app).await;
    let (s, r) = read(app, &t, "").await;
    assert_eq!(s, 200, "{r}");
    let a = app.citizen_a.personal_id.to_string();
    // B lives outside the partner's commune; the rename is a kind it does not take.
    assert_eq!(
        kinds(&r["events"]),
        [("citizen.created".into(), a.clone()), ("citizen.deceased".into(), a.clone())]
    );
    let created = &r["events"][0];
    assert_eq!(created["commune"], COMMUNE_A);
    let data = created["data"].as_object().unwrap();
    assert_eq!(data["full_name"], "Nguyễn Văn Ấn");
    assert_eq!(data["status"], "alive");
    // Not entitled: date of birth, sex, residence, ethnicity.
    for hidden in ["birth_date", "sex", "permanent_unit", "permanent_detail", "ethnicity", "personal_id"] {
        assert!(!data.contains_key(hidden), "{hidden} in {data:?}");
    }
    // The death carries what changed, cut to the partner's fields.
    let died = r["events"][1]["data"].as_object().unwrap();
    assert_eq!(died["status"], "deceased");
    assert_eq!(died["death_date"], "2026-01-02");
    assert!(!died.contains_key("ethnicity"));
    assert!(r["events"][0]["id"].as_i64().unwrap() < r["events"][1]["id"].as_i64().unwrap());

    // A partner for the whole nation with every kind sees both people and the rename, with
    // the changed fields only.
    entitle_feed(app, "all", &[Operation::Feed], &EventKind::ALL, &CardField::ALL, &[Scope::Nation]).await;
    let t2 = feed_token(app, "all", "partner:feed").await;
    let (_, r) = read(app, &t2, "").await;
    let b = app.citizen_b.personal_id.to_string();
    assert_eq!(
        kinds(&r["events"]),
        [
            ("citizen.created".into(), a.clone()),
            ("citizen.created".into(), b.clone()),
            ("citizen.updated".into(), a.clone()),
            ("citizen.deceased".into(), a.clone()),
        ]
    );
    let renamed = r["events"][2]["data"].as_object().unwrap();
    assert_eq!(renamed["given_name"], "Án");
    assert_eq!(renamed["full_name"], "Nguyễn Văn Án");
    assert!(!renamed.contains_key("family_name"), "unchanged fields are left out: {renamed:?}");
    assert!(!renamed.contains_key("ethnicity"), "no partner field covers ethnicity");

    // Each read is audited as the partner's access, listing the people returned.
    let entries =
        app.store.list_audit(&AuditFilter { limit: 1000, ..Default::default() }).await.unwrap().items;
    let feed_reads: Vec<_> = entries.iter().filter(|e| e.entry.action == "partner.feed").collect();
    assert_eq!(feed_reads.len(), 2);
    let first = feed_reads.iter().find(|e| e.entry.actor == "partner:bhxh").unwrap();
    assert_eq!(first.entry.purpose, PURPOSE);
    assert_eq!(first.entry.returned, [a]);
}

async fn a_cursor_resumes_exactly(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    entitle_feed(app, "all", &[Operation::Feed], &EventKind::ALL, &CardField::ALL, &[Scope::Nation]).await;
    let t = feed_token(app, "all", "partner:feed").await;
    let (_, first) = read(app, &t, "").await;
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    // Nothing new: an empty page and the same cursor.
    let (_, again) = read(app, &t, &format!("after={cursor}")).await;
    assert_eq!(again["events"], Value::Array(vec![]));
    assert_eq!(again["next_cursor"], cursor);
    rename_then_death(app).await;
    let (_, rest) = read(app, &t, &format!("after={cursor}")).await;
    assert_eq!(
        kinds(&rest["events"]).into_iter().map(|k| k.0).collect::<Vec<_>>(),
        ["citizen.updated", "citizen.deceased"]
    );
    // Page by page with limit=1 gives exactly the events of one read, in the same order.
    let (_, all) = read(app, &t, "").await;
    let ids = |v: &Value| v.as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let mut paged = Vec::new();
    let mut after = String::new();
    loop {
        let (s, r) = read(app, &t, &format!("limit=1&after={after}")).await;
        assert_eq!(s, 200);
        if r["events"].as_array().unwrap().is_empty() {
            break;
        }
        assert_eq!(r["events"].as_array().unwrap().len(), 1);
        paged.extend(ids(&r["events"]));
        after = r["next_cursor"].as_str().unwrap().to_string();
    }
    assert_eq!(paged, ids(&all["events"]));
    assert_eq!(paged.len(), 4);
}

async fn a_waiting_read_gets_the_event(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    entitle_feed(app, "all", &[Operation::Feed], &EventKind::ALL, &CardField::ALL, &[Scope::Nation]).await;
    let t = feed_token(app, "all", "partner:feed").await;
    let (_, first) = read(app, &t, "").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let waiting = {
        let client = app.client();
        let url = format!("{}/api/v1/partner/feed?purpose={PURPOSE}&after={cursor}&wait=30", app.base);
        let t = t.clone();
        tokio::spawn(
            async move { client.get(url).bearer_auth(t).send().await.unwrap().json::<Value>().await },
        )
    };
    rename_then_death(app).await;
    let r = waiting.await.unwrap().unwrap();
    let got = kinds(&r["events"]);
    assert!(!got.is_empty(), "{r}");
    assert_eq!(got[0].0, "citizen.updated");
}

async fn feed_refusals_have_codes(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    entitle_feed(app, "verifier", &[Operation::Verify], &EventKind::ALL, &[], &[Scope::Nation]).await;
    let t = feed_token(app, "verifier", "partner:feed").await;
    let (s, r) = read(app, &t, "").await;
    assert_eq!((s, r["error"]["code"].as_str()), (403, Some("partner_not_entitled")), "{r}");
    entitle_feed(app, "narrow", &[Operation::Feed], &EventKind::ALL, &[], &[Scope::Nation]).await;
    let t = feed_token(app, "narrow", "partner:verify").await;
    let (s, r) = read(app, &t, "").await;
    assert_eq!((s, r["error"]["code"].as_str()), (403, Some("insufficient_scope")), "{r}");
    entitle_feed(app, "okay", &[Operation::Feed], &EventKind::ALL, &[], &[Scope::Nation]).await;
    let t = feed_token(app, "okay", "partner:feed").await;
    for (q, field) in [("after=zz", "after"), ("limit=0", "limit"), ("wait=31", "wait")] {
        let (s, r) = read(app, &t, q).await;
        assert_eq!(s, 422, "{q}: {r}");
        assert_eq!(r["error"]["violations"][0]["field"], field, "{q}: {r}");
    }
    let r =
        app.client().get(format!("{}/api/v1/partner/feed", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 422, "a purpose is required");
}

/// PostgreSQL: identity values commit out of order. A transaction that wrote an event and
/// commits after a later event's transaction must still reach a reader that has already
/// read past the later event. (SQLite has one writer at a time: the same steps run in order.)
async fn a_late_commit_is_not_skipped(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    entitle_feed(app, "all", &[Operation::Feed], &EventKind::ALL, &CardField::ALL, &[Scope::Nation]).await;
    let t = feed_token(app, "all", "partner:feed").await;
    let (_, first) = read(app, &t, "").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let today = chrono::Utc::now().date_naive();
    let early =
        draft("001070005555", "Phạm", "Văn", "Sớm", "1970-01-01", "Nam", COMMUNE_A).validate(today).unwrap();
    let late =
        draft("001071006666", "Phạm", "Văn", "Muộn", "1971-01-01", "Nam", COMMUNE_A).validate(today).unwrap();
    let open_tx = if backend == "postgres" {
        // The early event's transaction takes its outbox id first and stays open.
        let (client, conn) = tokio_postgres::connect(&app.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client.batch_execute("BEGIN").await.unwrap();
        client
            .batch_execute("UPDATE citizens SET ethnicity = 'Mường' WHERE personal_id = '001085001234'")
            .await
            .unwrap();
        Some(client)
    } else {
        app.store.create_citizen(&early, &change()).await.unwrap();
        None
    };
    app.store.create_citizen(&late, &change()).await.unwrap();
    let (_, r) = read(app, &t, &format!("after={cursor}")).await;
    let seen: Vec<(String, String)> = kinds(&r["events"]);
    let cursor2 = r["next_cursor"].as_str().unwrap().to_string();
    let mut all = seen.clone();
    if let Some(client) = open_tx {
        assert_eq!(seen, [("citizen.created".to_string(), late.personal_id.to_string())]);
        client.batch_execute("COMMIT").await.unwrap();
        let (_, r) = read(app, &t, &format!("after={cursor2}")).await;
        all.extend(kinds(&r["events"]));
        assert_eq!(
            all,
            [
                ("citizen.created".to_string(), late.personal_id.to_string()),
                ("citizen.updated".to_string(), app.citizen_a.personal_id.to_string()),
            ]
        );
    } else {
        assert_eq!(
            all,
            [
                ("citizen.created".to_string(), early.personal_id.to_string()),
                ("citizen.created".to_string(), late.personal_id.to_string()),
            ]
        );
    }
}

// ---------------------------------------------------------------------------------------
// Webhooks

mod hooks {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::http::{HeaderMap, StatusCode};
    use serde_json::Value;

    pub const SECRET: &str = "khoa-ky-webhook-kiem-thu-0123456789";

    /// A receiver: answers 503 while down, 200 when up; keeps what it received while up
    /// (event id, person), counts refusals, and checks every signature.
    #[derive(Default)]
    pub struct Receiver {
        pub up: AtomicBool,
        pub refused: AtomicUsize,
        pub received: Mutex<Vec<(i64, String)>>,
        pub bad_signatures: AtomicUsize,
        /// Deliveries being handled now, by event id (a second one at once is a duplicate).
        pub in_flight: Mutex<std::collections::HashSet<i64>>,
        pub overlaps: AtomicUsize,
        pub slow: AtomicBool,
    }

    pub async fn start(rx: Arc<Receiver>) -> String {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let rx = rx.clone();
                async move {
                    let sig = headers.get("dancu-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
                    let t: i64 = sig
                        .strip_prefix("t=")
                        .and_then(|r| r.split(',').next())
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0);
                    if sig != dancu_server::webhooks::signature(SECRET, t, &body) {
                        rx.bad_signatures.fetch_add(1, Ordering::SeqCst);
                    }
                    if !rx.up.load(Ordering::SeqCst) {
                        rx.refused.fetch_add(1, Ordering::SeqCst);
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let e: Value = serde_json::from_slice(&body).unwrap();
                    let id = e["id"].as_i64().unwrap();
                    if !rx.in_flight.lock().unwrap().insert(id) {
                        rx.overlaps.fetch_add(1, Ordering::SeqCst);
                    }
                    if rx.slow.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    rx.received.lock().unwrap().push((id, e["personal_id"].as_str().unwrap().to_string()));
                    rx.in_flight.lock().unwrap().remove(&id);
                    StatusCode::OK
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/hook", l.local_addr().unwrap().port());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        url
    }

    /// Waits (polling, up to two minutes) until `done` holds.
    pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
        for _ in 0..2400 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never happened: {what}");
    }
}

on_both_backends!(
    webhook_outage_catches_up_in_order,
    webhook_failing_receiver_ends_dead_lettered,
    two_dispatchers_deliver_each_event_once,
);

fn fast_hooks(max_attempts: u32) -> dancu_server::ServerConfig {
    dancu_server::ServerConfig {
        webhooks: dancu_server::webhooks::WebhookConfig {
            enabled: true,
            max_attempts,
            base_backoff: std::time::Duration::from_millis(20),
            max_backoff: std::time::Duration::from_millis(300),
            poll: std::time::Duration::from_millis(20),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn admin() -> Access {
    Access { actor: "officer:admin".into(), role: Role::Admin, scope: Scope::Nation, purpose: "x".into() }
}

/// Creates `n` citizens in commune A and renames every third one: 4n/3 events after the
/// two the test app starts with.
async fn changes(app: &TestApp, n: usize) {
    let today = chrono::Utc::now().date_naive();
    for i in 0..n {
        let id = format!("0010800{:05}", 10_000 + i);
        let c = draft(&id, "Lý", "Văn", "Một", "1980-01-01", "Nam", COMMUNE_A).validate(today).unwrap();
        let stored = app.store.create_citizen(&c, &change()).await.unwrap();
        if i % 3 == 0 {
            let mut c = stored.citizen.clone();
            c.name = dancu_domain::text::NameParts::new("Lý", "Văn", "Hai").unwrap();
            app.store.update_citizen(&c, stored.version, &change()).await.unwrap();
        }
    }
}

/// The feed's event ids and their people, as the nation-wide partner sees them.
async fn all_events(app: &TestApp) -> Vec<(i64, String)> {
    let p = app.state.registry.partner("all").await.unwrap().unwrap();
    app.state.registry.feed_sequence(100_000).await.unwrap();
    let page = app.state.registry.partner_feed(&p, PURPOSE, 0, 100_000).await.unwrap();
    page.events.into_iter().map(|e| (e.position, e.personal_id)).collect()
}

async fn webhook_outage_catches_up_in_order(backend: &'static str) {
    use std::sync::atomic::Ordering;
    let app = &TestApp::start_with(backend, fast_hooks(1_000)).await;
    entitle_feed(app, "all", &[Operation::Feed], &EventKind::ALL, &CardField::ALL, &[Scope::Nation]).await;
    let rx = std::sync::Arc::new(hooks::Receiver::default());
    let url = hooks::start(rx.clone()).await;
    app.state.registry.webhook_add(&admin(), "all", &url, hooks::SECRET, Some(0)).await.unwrap();
    changes(app, 30).await;
    // Down: deliveries are refused and retried.
    hooks::until("refusals", || rx.refused.load(Ordering::SeqCst) >= 10).await;
    assert!(rx.received.lock().unwrap().is_empty());
    rx.up.store(true, Ordering::SeqCst);
    let want = all_events(app).await;
    assert_eq!(want.len(), 2 + 30 + 10);
    hooks::until("catch-up", || rx.received.lock().unwrap().len() >= want.len()).await;
    let got = rx.received.lock().unwrap().clone();
    // Nothing lost, nothing twice.
    let mut ids: Vec<i64> = got.iter().map(|g| g.0).collect();
    ids.sort_unstable();
    assert_eq!(ids, want.iter().map(|w| w.0).collect::<Vec<_>>());
    // Each person's events arrived in feed order.
    let mut last: std::collections::HashMap<&str, i64> = Default::default();
    for (id, person) in &got {
        let prev = last.insert(person.as_str(), *id);
        assert!(prev.is_none_or(|p| p < *id), "{person}: {prev:?} then {id}");
    }
    assert_eq!(rx.bad_signatures.load(Ordering::SeqCst), 0);
    // Each delivery is on the partner's audit record.
    let log = app
        .store
        .list_audit(&AuditFilter { actor: Some("partner:all".into()), limit: 1000, ..Default::default() })
        .await
        .unwrap()
        .items;
    assert!(log.iter().any(|e| e.entry.action == "partner.webhook"
        && e.entry.returned.contains(&app.citizen_b.personal_id.to_string())));
}

async fn webhook_failing_receiver_ends_dead_lettered(backend: &'static str) {
    use std::sync::atomic::Ordering;
    let app = &TestApp::start_with(backend, fast_hooks(3)).await;
    entitle_feed(app, "all", &[Operation::Feed], &EventKind::ALL, &CardField::ALL, &[Scope::Nation]).await;
    let rx = std::sync::Arc::new(hooks::Receiver::default());
    let url = hooks::start(rx.clone()).await;
    let w = app.state.registry.webhook_add(&admin(), "all", &url, hooks::SECRET, Some(0)).await.unwrap();
    // The two events of the starting records fail three times each, then rest as dead letters.
    let backlog = || async { app.state.registry.webhook_backlog().await.unwrap() };
    for _ in 0..2400 {
        if backlog().await == [(w.id, 0, 2)] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(backlog().await, [(w.id, 0, 2)]);
    let refused = rx.refused.load(Ordering::SeqCst);
    assert_eq!(refused, 6, "three attempts each, then no more");
    let dead = app.state.registry.webhook_dead_letters(&admin(), w.id, 100).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().all(|d| d.attempts == 3 && d.last_error == "HTTP 503"), "{dead:?}");
    // The administrators' page shows the subscription with its two dead letters.
    let admin_token = app.token("admin").await;
    let page = app.api_get(&admin_token, "/partners?lang=en").await.text().await.unwrap();
    assert!(page.contains(&format!("data-testid=\"webhook-dead-{}\">2<", w.id)), "{page}");
    assert!(page.contains("Replay dead letters"));
    // Not looping: a while later, still no further attempt.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(rx.refused.load(Ordering::SeqCst), 6);
    // Replayed once the receiver works again: delivered.
    rx.up.store(true, Ordering::SeqCst);
    app.state.registry.webhook_replay_dead(&admin(), w.id).await.unwrap();
    hooks::until("replayed", || rx.received.lock().unwrap().len() == 2).await;
}

async fn two_dispatchers_deliver_each_event_once(backend: &'static str) {
    use std::sync::atomic::Ordering;
    // Webhooks off in the server: the test runs two dispatchers of its own on one database.
    let app = &TestApp::start(backend).await;
    // On PostgreSQL the second dispatcher has its own connection pool and registry, as a
    // second server would; SQLite has one server, so both share it.
    let mut writer = None;
    let second = if backend == "postgres" {
        let db = dancu_store::Database::open(&app.url, dancu_store::audit_chain::AuditKey::generate())
            .await
            .unwrap();
        let (registry, w) = db.start_registry(64, None);
        writer = Some(w);
        dancu_server::AppState::new(db, registry, fast_hooks(1_000))
    } else {
        dancu_server::AppState::new(app.state.db.clone(), app.state.registry.clone(), fast_hooks(1_000))
    };
    let first =
        dancu_server::AppState::new(app.state.db.clone(), app.state.registry.clone(), fast_hooks(1_000));
    entitle_feed(app, "all", &[Operation::Feed], &EventKind::ALL, &CardField::ALL, &[Scope::Nation]).await;
    let rx = std::sync::Arc::new(hooks::Receiver::default());
    rx.up.store(true, Ordering::SeqCst);
    rx.slow.store(true, Ordering::SeqCst);
    let url = hooks::start(rx.clone()).await;
    app.state.registry.webhook_add(&admin(), "all", &url, hooks::SECRET, Some(0)).await.unwrap();
    let d1 = dancu_server::webhooks::spawn(first);
    let d2 = dancu_server::webhooks::spawn(second);
    changes(app, 60).await;
    let want = all_events(app).await;
    hooks::until("all delivered", || rx.received.lock().unwrap().len() >= want.len()).await;
    // Let any duplicate still on its way arrive.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    d1.abort();
    d2.abort();
    let got = rx.received.lock().unwrap().clone();
    let mut ids: Vec<i64> = got.iter().map(|g| g.0).collect();
    ids.sort_unstable();
    assert_eq!(ids, want.iter().map(|w| w.0).collect::<Vec<_>>(), "each event exactly once");
    assert_eq!(rx.overlaps.load(Ordering::SeqCst), 0);
    drop(writer);
}

// ---------------------------------------------------------------------------------------
// NATS JetStream (the development server at 127.0.0.1:4222; each test its own stream)

on_both_backends!(jetstream_gets_every_event_once);

async fn jetstream_gets_every_event_once(backend: &'static str) {
    use async_nats::jetstream;
    let tag = dancu_server::auth::random_token()[..10].to_string();
    let nats = dancu_server::nats_feed::NatsFeedConfig {
        url: "nats://127.0.0.1:4222".into(),
        stream: format!("DANCU_FEED_TEST_{tag}"),
        prefix: format!("dancu.feedtest.{tag}"),
    };
    let js = match async_nats::connect(&nats.url).await {
        Ok(c) => jetstream::new(c),
        Err(e) if std::env::var("CI").is_err() => {
            eprintln!("skipped: no NATS at {}: {e}", nats.url);
            return;
        }
        Err(e) => panic!("NATS at {}: {e}", nats.url),
    };
    let app = &TestApp::start(backend).await;
    entitle_feed(app, "all", &[Operation::Feed], &EventKind::ALL, &CardField::ALL, &[Scope::Nation]).await;
    entitle_feed(
        app,
        "bhxh",
        &[Operation::Feed],
        &[EventKind::CitizenCreated],
        &[CardField::FullName],
        &[Scope::Commune(COMMUNE_B.into())],
    )
    .await;
    // Partners receive what is published while they are entitled: entitled first, then
    // the publisher starts (as `serve` does with `feed_nats_url`).
    let first = dancu_server::nats_feed::spawn(app.state.clone(), nats.clone());
    changes(app, 30).await;
    let want = all_events(app).await;
    // A second publisher (another server, or a restart) publishes the same events again.
    let second = dancu_server::nats_feed::spawn(app.state.clone(), nats.clone());
    let expected = want.len() as u64 + 1; // every event for "all", B's creation for "bhxh"
    let mut stream = None;
    for _ in 0..2400 {
        if let Ok(mut s) = js.get_stream(&nats.stream).await {
            if s.info().await.unwrap().state.messages >= expected {
                stream = Some(s);
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut stream = stream.expect("the events reached the stream");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    second.abort();
    first.abort();
    let info = stream.info().await.unwrap().clone();
    assert_eq!(info.state.messages, expected, "each event once per partner");
    let mut seen = Vec::new();
    for seq in info.state.first_sequence..=info.state.last_sequence {
        let m = stream.get_raw_message(seq).await.unwrap();
        let id = m.headers.get(async_nats::header::NATS_MESSAGE_ID).unwrap().as_str().to_string();
        let e: Value = serde_json::from_slice(&m.payload).unwrap();
        seen.push((m.subject.to_string(), id, e));
    }
    let for_all: Vec<i64> =
        seen.iter().filter(|s| s.1.starts_with("all:")).map(|s| s.2["id"].as_i64().unwrap()).collect();
    assert_eq!(for_all, want.iter().map(|w| w.0).collect::<Vec<_>>(), "in feed order");
    let bhxh: Vec<&(String, String, Value)> = seen.iter().filter(|s| s.1.starts_with("bhxh:")).collect();
    assert_eq!(bhxh.len(), 1);
    assert_eq!(bhxh[0].0, format!("{}.bhxh.citizen.created", nats.prefix));
    assert_eq!(bhxh[0].2["personal_id"], app.citizen_b.personal_id.to_string());
    let data = bhxh[0].2["data"].as_object().unwrap();
    assert!(data.contains_key("full_name") && !data.contains_key("birth_date"), "{data:?}");
    js.delete_stream(&nats.stream).await.unwrap();
}
