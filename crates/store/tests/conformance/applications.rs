//! Public-service applications written together (`SqlExec::transaction_combined`): requests
//! that arrive at once share a transaction, each under its own savepoint, and each gets its
//! own answer; one that fails (even after a statement that worked) leaves nothing and
//! fails alone.

use super::*;
use dancu_domain::application::{AppState, Channel};
use dancu_store::applications::{self as apps, NewApplication};
use dancu_store::exec::{Stmt, Val};
use futures_util::future::join_all;

fn submission(p: &PersonalId, service: &str, key: &str) -> NewApplication {
    NewApplication {
        service_code: service.into(),
        personal_id: *p,
        channel: Channel::Desk,
        unit: "00004".into(),
        due_date: today(),
        idempotency_key: key.into(),
        scope_province: "01".into(),
        scope_commune: "00004".into(),
        at: now(),
        actor: "officer:lan".into(),
        payload: serde_json::json!({}),
        consent_from: None,
    }
}

fn event(app: i64, seq: i64) -> Stmt {
    Stmt::new(
        "INSERT INTO application_events (application_id, seq, from_state, to_state, reason, at, actor) \
         VALUES ($1, $2, 'submitted', 'accepted', '', $3, 'officer:lan')",
        vec![Val::Int(app), Val::Int(seq), Val::Ts(now())],
    )
}

pub(crate) async fn concurrent_application_writes_are_answered_each_alone(h: &Harness) {
    let c = citizen(&id(Sex::Female, 1985, 21), "Lê Thị Hồ Sơ", "1985-02-03", BA_DINH);
    h.store.create_citizen(&c, &change("a", "b")).await.unwrap();
    let s = h.store.as_ref();
    let p = c.personal_id;
    let (first, new) = apps::create(s, &submission(&p, "birth", "dup")).await.unwrap();
    assert!(new);

    // 50 submissions at once (one batch: the test's runtime has one thread, so all are
    // queued before the writer runs): 47 new ones, two retries of "dup" that give back the
    // first application, and "dup" reused for another service, refused.
    let mut subs: Vec<NewApplication> =
        (0..47).map(|i| submission(&p, "passport", &format!("k{i}"))).collect();
    subs.insert(10, submission(&p, "birth", "dup"));
    subs.insert(20, submission(&p, "death", "dup"));
    subs.insert(30, submission(&p, "birth", "dup"));
    let answers = join_all(subs.iter().map(|n| apps::create(s, n))).await;
    let mut created = Vec::new();
    for (i, a) in answers.into_iter().enumerate() {
        match i {
            10 | 30 => {
                let (app, new) = a.unwrap();
                assert_eq!((app.id, new), (first.id, false), "retry {i}");
            }
            20 => assert_eq!(rule_of(a), "application.idempotency_key_reused"),
            _ => {
                let (app, new) = a.unwrap_or_else(|e| panic!("submission {i}: {e}"));
                assert!(new, "submission {i}");
                let stored = apps::get(s, app.id).await.unwrap().expect("stored before the answer");
                assert_eq!((stored.service_code.as_str(), stored.version), ("passport", 1));
                created.push(app);
            }
        }
    }
    assert_eq!(created.len(), 47);
    assert_eq!(h.scalar("SELECT count(*) FROM applications").await, 48);
    assert_eq!(h.scalar("SELECT count(*) FROM application_events").await, 48);

    // 49 moves at once and, among them, a group whose first statement works and whose
    // second breaks the events' key: nothing of it stays, and the others are unaffected.
    // The second move of `first` from version 1 comes after the first one: stale.
    let mut moves: Vec<(&apps::Application, AppState, &str)> =
        created.iter().map(|a| (a, AppState::Accepted, "")).collect();
    moves.insert(5, (&first, AppState::Accepted, ""));
    moves.insert(25, (&first, AppState::NotAccepted, "không thuộc thẩm quyền"));
    let at = now();
    let (moved, broken) = tokio::join!(
        join_all(moves.iter().map(|(a, to, why)| apps::move_to(s, a, *to, why, at, "officer:lan"))),
        s.exec().transaction_combined(vec![event(created[3].id, 90), event(created[3].id, 90)]),
    );
    assert!(broken.is_err(), "a duplicate key fails its own transaction");
    for (i, m) in moved.into_iter().enumerate() {
        if i == 25 {
            assert_eq!(rule_of(m), "application.stale_version");
        } else {
            let m = m.unwrap_or_else(|e| panic!("move {i}: {e}"));
            assert_eq!((m.state, m.version), (AppState::Accepted, 2), "move {i}");
        }
    }
    assert_eq!(h.scalar("SELECT count(*) FROM application_events WHERE seq = 90").await, 0);
    assert_eq!(
        h.scalar("SELECT count(*) FROM applications WHERE state = 'accepted' AND version = 2").await,
        48
    );
    assert_eq!(h.scalar("SELECT count(*) FROM application_events").await, 96);
    let history = apps::events(s, first.id).await.unwrap();
    let steps: Vec<_> = history.iter().map(|e| e.to_state.as_str()).collect();
    assert_eq!(steps, ["submitted", "accepted"]);
}
