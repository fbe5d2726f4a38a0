//! Public-service applications written together (`SqlExec::transaction_combined`): requests
//! that arrive at once share a transaction and each gets its own answer; one that fails
//! (even after a statement that worked) leaves nothing and fails alone.

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
    assert_month_rollup_matches(h).await;
}

/// Writes that arrive together and all succeed are committed as one transaction; on
/// PostgreSQL without a savepoint each (`postgres::exec::run_flat`): every row written
/// carries the one transaction's id, where a savepoint would have given each group a
/// subtransaction id of its own.
pub(crate) async fn good_application_writes_share_one_plain_transaction(h: &Harness) {
    let c = citizen(&id(Sex::Male, 1979, 41), "Phạm Văn Lô", "1979-08-09", BA_DINH);
    h.store.create_citizen(&c, &change("a", "b")).await.unwrap();
    let s = h.store.as_ref();
    let subs: Vec<_> = (0..30).map(|i| submission(&c.personal_id, "passport", &format!("g{i}"))).collect();
    let created: Vec<_> =
        join_all(subs.iter().map(|n| apps::create(s, n))).await.into_iter().map(|a| a.unwrap().0).collect();
    let at = now();
    let moved =
        join_all(created.iter().map(|a| apps::move_to(s, a, AppState::Accepted, "", at, "officer:lan")))
            .await;
    for (a, m) in created.iter().zip(moved) {
        assert_eq!(m.unwrap().version, 2, "application {}", a.id);
    }
    assert_eq!(
        h.scalar("SELECT count(*) FROM applications WHERE state = 'accepted' AND version = 2").await,
        30
    );
    assert_eq!(h.scalar("SELECT count(*) FROM application_events").await, 60);
    if h.store.backend() == "postgres" {
        // The 30 moves in one transaction, the 30 submissions in another.
        assert_eq!(h.scalar("SELECT count(DISTINCT xmin::text) FROM applications").await, 1);
        assert_eq!(h.scalar("SELECT count(DISTINCT xmin::text) FROM application_events").await, 2);
    }
}

/// The month rollup (`application_month_counts`, migration 0028) holds, per province,
/// Vietnam month, service and channel, exactly the direct count of the applications.
async fn assert_month_rollup_matches(h: &Harness) {
    let month = if h.store.backend() == "postgres" {
        "to_char(submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM')"
    } else {
        "strftime('%Y-%m', submitted_at, '+7 hours')"
    };
    let rows = |sql: String| async move {
        let rows = h.store.exec().query(&sql, vec![]).await.unwrap();
        rows.into_iter().map(|r| format!("{:?}", r.0)).collect::<Vec<_>>()
    };
    let direct = rows(format!(
        "SELECT scope_province, {month}, service_code, channel, COUNT(*) FROM applications \
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    ))
    .await;
    // PostgreSQL keeps signed deltas (migration 0030): a key's rows sum to its count, before
    // and after they are folded into one.
    let summed = "SELECT scope_province, month, service_code, channel, CAST(SUM(received) AS BIGINT) \
         FROM application_month_counts GROUP BY 1, 2, 3, 4 HAVING SUM(received) <> 0 ORDER BY 1, 2, 3, 4";
    assert_eq!(rows(summed.into()).await, direct);
    dancu_store::report_counts::compact_month_counts(h.store.as_ref()).await.unwrap();
    assert_eq!(rows(summed.into()).await, direct);
    let keys = "SELECT count(*) FROM (SELECT 1 FROM application_month_counts \
         GROUP BY scope_province, month, service_code, channel HAVING count(*) > 1) k";
    assert_eq!(h.scalar(keys).await, 0);
    assert_eq!(h.scalar("SELECT count(*) FROM application_month_counts WHERE received < 0").await, 0);
}

pub(crate) async fn application_month_rollup_equals_direct_counts(h: &Harness) {
    use chrono::TimeZone;
    use dancu_store::report_counts::{month_counts, month_direct, ReportWindow};
    let c = citizen(&id(Sex::Male, 1990, 31), "Trần Văn Cuộn", "1990-05-06", BA_DINH);
    h.store.create_citizen(&c, &change("a", "b")).await.unwrap();
    let s = h.store.as_ref();
    let p = c.personal_id;
    // From 23:30 on 30 June in Vietnam (16:30 UTC): submissions on both sides of month ends.
    let base = chrono::Utc.with_ymd_and_hms(2025, 6, 30, 16, 30, 0).unwrap();
    let mut subs = Vec::new();
    for i in 0..60usize {
        let mut n = submission(&p, ["birth", "passport", "death"][i % 3], &format!("r{i}"));
        n.channel = [Channel::Online, Channel::Desk, Channel::Post][i / 3 % 3];
        n.scope_province = ["01", "79"][i / 9 % 2].into();
        n.at = base + Duration::minutes(23 * i as i64) + Duration::days((i as i64 % 4) * 17);
        subs.push(n);
    }
    // A retried key gives back the first application, a key reused for another service is
    // refused: neither counts again.
    subs.push(submission(&p, "birth", "r0"));
    subs.push(submission(&p, "death", "r0"));
    let answers = join_all(subs.iter().map(|n| apps::create(s, n))).await;
    let created: Vec<_> = answers.into_iter().take(60).map(|a| a.unwrap().0).collect();
    assert_month_rollup_matches(h).await;

    // State moves (the engine's only update) leave the counts as they are.
    let at = now();
    for (i, a) in created.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let to = if i % 4 == 0 { AppState::Accepted } else { AppState::NotAccepted };
        apps::move_to(
            s,
            a,
            to,
            if to == AppState::NotAccepted { "thiếu giấy tờ" } else { "" },
            at,
            "officer:lan",
        )
        .await
        .unwrap();
    }
    assert_month_rollup_matches(h).await;
    // Counted columns changed and rows removed by hand: the counts follow.
    let (a, b, d) = (created[1].id, created[2].id, created[3].id);
    h.exec(&format!(
        "UPDATE applications SET channel = 'online' WHERE id = {a}; \
         UPDATE applications SET scope_province = '79', service_code = 'marriage' WHERE id = {b}; \
         UPDATE applications SET state = 'in_process', channel = 'post' WHERE id IN ({a}, {d}); \
         DELETE FROM application_events WHERE application_id = {d}; DELETE FROM applications WHERE id = {d};"
    ))
    .await
    .unwrap();
    assert_month_rollup_matches(h).await;

    // An every-state queue's total of a province or the nation comes from the rollup: the
    // number of applications it stands for, with or without a service.
    for scope in [Scope::Nation, Scope::Province("01".into()), Scope::Province("79".into())] {
        for service in [None, Some("birth"), Some("marriage")] {
            let f = apps::QueueFilter { service_code: service.map(Into::into), ..Default::default() };
            let total = apps::list(s, &scope, &f, 1, 0).await.unwrap().total;
            let province = match &scope {
                Scope::Province(p) => format!(" AND scope_province = '{p}'"),
                _ => String::new(),
            };
            let service = service.map(|c| format!(" AND service_code = '{c}'")).unwrap_or_default();
            let direct =
                h.scalar(&format!("SELECT count(*) FROM applications WHERE TRUE{province}{service}")).await;
            assert_eq!(total as i64, direct, "{scope:?} {f:?}");
        }
    }

    // The trend's reader: the rollup for whole months of a province or the nation, the
    // same rows as the direct aggregate.
    let from = chrono::Utc.with_ymd_and_hms(2025, 5, 31, 17, 0, 0).unwrap();
    let to = chrono::Utc.with_ymd_and_hms(2025, 11, 30, 17, 0, 0).unwrap();
    for scope in [Scope::Nation, Scope::Province("01".into()), Scope::Province("79".into())] {
        let w = ReportWindow { scope, from, to, as_of: today() };
        let rolled = month_counts(s, &w, false).await.unwrap();
        assert!(!rolled.is_empty());
        assert_eq!(rolled, month_direct(s, &w, false).await.unwrap(), "{:?}", w.scope);
    }
}
