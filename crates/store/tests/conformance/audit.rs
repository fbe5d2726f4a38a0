//! Officers, sessions and the audit log.

use super::*;

pub(crate) async fn officers_and_sessions(h: &Harness) {
    let o = NewOfficer {
        username: "lan".into(),
        display_name: "Nguyễn Thị Lan".into(),
        role: Role::Officer,
        scope: Scope::Commune("00004".into()),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
    };
    let made = h.store.create_officer(&o).await.unwrap();
    assert!(made.active);
    assert_eq!((made.username.as_str(), made.scope.clone()), ("lan", Scope::Commune("00004".into())));
    assert_eq!(rule_of(h.store.create_officer(&o).await), "officer.duplicate_username");
    let admin = h
        .store
        .create_officer(&NewOfficer {
            username: "admin".into(),
            role: Role::Admin,
            scope: Scope::Nation,
            ..o.clone()
        })
        .await
        .unwrap();
    assert_ne!(admin.id, made.id);
    assert_eq!(h.store.get_officer_by_username("lan").await.unwrap().unwrap(), made);
    assert_eq!(h.store.get_officer(admin.id).await.unwrap().unwrap(), admin);
    assert!(h.store.get_officer_by_username("nobody").await.unwrap().is_none());
    assert!(h.store.get_officer(9999).await.unwrap().is_none());
    let all = h.store.list_officers().await.unwrap();
    assert_eq!(all.iter().map(|o| o.username.as_str()).collect::<Vec<_>>(), vec!["admin", "lan"]);
    assert_eq!(all[1].password_hash, o.password_hash);

    let t0 = now();
    let s = Session {
        token_hash: "a".repeat(64),
        officer_id: made.id,
        csrf_token: "csrf".into(),
        created_at: t0,
        expires_at: t0 + Duration::hours(8),
    };
    h.store.create_session(&s).await.unwrap();
    assert_eq!(h.store.get_session(&s.token_hash, t0 + Duration::hours(1)).await.unwrap(), Some(s.clone()));
    assert_eq!(h.store.get_session(&s.token_hash, t0 + Duration::hours(9)).await.unwrap(), None);
    assert_eq!(h.store.get_session(&"b".repeat(64), t0).await.unwrap(), None);
    h.store.delete_session(&s.token_hash).await.unwrap();
    assert_eq!(h.store.get_session(&s.token_hash, t0).await.unwrap(), None);
}

pub(crate) fn entry(actor: &str, action: &str, subject: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: now(),
        actor: actor.into(),
        action: action.into(),
        subject: subject.into(),
        purpose: "xác minh".into(),
        outcome: "ok".into(),
        returned: vec![],
    }
}

pub(crate) async fn audit_chain_appends_lists_and_verifies(h: &Harness) {
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), None);
    let x = "001090000001";
    let first =
        vec![entry("officer:lan", "citizen.read", x), entry("officer:lan", "citizen.search", "name=an")];
    h.store.append_audit(&first).await.unwrap();
    h.store.append_audit(&[]).await.unwrap();
    h.store
        .append_audit(&[entry("officer:hung", "citizen.read", x), entry("officer:hung", "citizen.update", x)])
        .await
        .unwrap();
    h.store.append_audit(&[entry("officer:lan", "citizen.read", "001090000002")]).await.unwrap();

    let of_x = h
        .store
        .list_audit(&AuditFilter { subject: Some(x.into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(of_x.total, 3);
    assert_eq!(of_x.items.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 3, 1]);
    assert_eq!(of_x.items[2].entry, first[0]);
    assert_eq!(of_x.items[2].prev_hash, AUDIT_GENESIS);
    assert_eq!(of_x.items[2].hash, first[0].chain_hash(&h.key, 1, AUDIT_GENESIS));

    let lan = h
        .store
        .list_audit(&AuditFilter {
            actor: Some("officer:lan".into()),
            limit: 2,
            offset: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((lan.total, lan.items.iter().map(|e| e.seq).collect::<Vec<_>>()), (3, vec![2, 1]));
    let all = h.store.list_audit(&AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(all.total, 5);
    for w in all.items.windows(2) {
        assert_eq!(w[0].prev_hash, w[1].hash, "entries are chained");
    }
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), None);

    h.exec("UPDATE audit_log SET purpose = 'tò mò' WHERE seq = 3").await.unwrap();
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), Some(3));
    h.exec("UPDATE audit_log SET purpose = 'xác minh' WHERE seq = 3").await.unwrap();
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), None);
    h.exec("DELETE FROM audit_log WHERE seq = 2").await.unwrap();
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), Some(2));
}

pub(crate) async fn audit_chain_survives_concurrent_writers(h: &Harness) {
    let mut tasks = Vec::new();
    for t in 0..4 {
        let store = h.store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let e = entry(&format!("officer:{t}"), "citizen.read", &format!("{i}"));
                store.append_audit(&[e.clone(), e]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = h.store.list_audit(&AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    assert_eq!(all.total, 80);
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), None);
}

/// Subject and actor listings find every entry, whether the side tables have caught up
/// with it (in the first epoch of 65,536 entries or the second) or it is still in the
/// log's tail. SQLite appends catch up once 2,048 entries lag: every third batch of 1,000
/// here, so 1–69,000 are indexed and the last 1,040 are in the tail. PostgreSQL catches up
/// on a task of its own, so its watermark is wherever that task has got to; after an
/// explicit catch-up it is the head on both.
pub(crate) async fn audit_lookups_cover_indexed_entries_and_the_tail(h: &Harness) {
    let append = |from: i64, to: i64| {
        let batch: Vec<NewAuditEntry> =
            (from..=to).map(|seq| entry(&audit_actor(seq), "citizen.read", &audit_subject(seq))).collect();
        let store = h.store.clone();
        async move { store.append_audit(&batch).await.unwrap() }
    };
    for b in 0..70 {
        append(b * 1000 + 1, b * 1000 + 1000).await;
    }
    append(70_001, 70_040).await;
    let upto = h.scalar("SELECT upto FROM audit_indexed WHERE id = 1").await;
    if h.store.backend() == "sqlite" {
        assert_eq!(upto, 69_000, "entries copied into the side tables");
    } else {
        assert!((0..=70_040).contains(&upto), "watermark {upto} beyond the log");
        // The background catch-up goes on until it is within one lag (256) of the head.
        let mut upto = upto;
        for _ in 0..100 {
            if 70_040 - upto < 256 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            upto = h.scalar("SELECT upto FROM audit_indexed WHERE id = 1").await;
        }
        assert!(70_040 - upto < 256, "background catch-up reached only {upto}");
    }
    check_audit_listings(h, 70_040).await;

    h.store.catch_up_audit().await.unwrap();
    let upto = h.scalar("SELECT upto FROM audit_indexed WHERE id = 1").await;
    assert_eq!(upto, 70_040, "an explicit catch-up copies everything");
    // A new tail, too short to start a catch-up on either backend.
    append(70_041, 70_100).await;
    check_audit_listings(h, 70_100).await;
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), None);
}

/// Someone who can write the database but has not the key: an edited entry with its hash
/// recomputed in the unkeyed form, and a whole history rewritten under another key, both
/// fail verification.
pub(crate) async fn audit_forgery_without_the_key_is_detected(h: &Harness) {
    let x = "001090000001";
    h.store
        .append_audit(&[entry("officer:lan", "citizen.read", x), entry("officer:lan", "citizen.read", x)])
        .await
        .unwrap();
    h.store.append_audit(&[entry("officer:hung", "citizen.read", x)]).await.unwrap();
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), None);
    let all = h.store.list_audit(&AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
    let second = all.items.iter().find(|e| e.seq == 2).unwrap().clone();
    // A forged purpose, rechained with plain SHA-256 and the next entry relinked.
    let mut forged = second.entry.clone();
    forged.purpose = "theo yêu cầu\nofficer:khac".into();
    let other_key = AuditKey::generate();
    let forged_hash = forged.chain_hash(&other_key, 2, &second.prev_hash);
    h.exec(&format!(
        "UPDATE audit_log SET purpose = 'theo yêu cầu' || char(10) || 'officer:khac', hash = '{forged_hash}' WHERE seq = 2; \
         UPDATE audit_log SET prev_hash = '{forged_hash}' WHERE seq = 3;"
    ).replace("char(10)", if h.store.backend() == "sqlite" { "char(10)" } else { "chr(10)" }))
    .await
    .unwrap();
    let report = h.store.verify_audit(&VerifyScope::default()).await.unwrap();
    assert_eq!(report.broken.map(|b| (b.seq, b.kind)), Some((2, BreakKind::Hash)));
}

/// Entries cut off the end of the log (and, on PostgreSQL, the recorded head moved back
/// with them) are found against the newest signed checkpoint.
pub(crate) async fn audit_truncation_is_detected_against_the_checkpoint(h: &Harness) {
    for i in 0..5 {
        h.store.append_audit(&[entry("officer:lan", "citizen.read", &format!("s{i}"))]).await.unwrap();
    }
    let head = h.store.append_audit(&[]).await.unwrap();
    assert_eq!(head.seq, 5);
    let dir = tempfile::tempdir().unwrap();
    let log = CheckpointLog::new(dir.path().join("audit.checkpoints"));
    let cp = Checkpoint {
        seq: head.seq,
        hash: head.hash.clone(),
        keyed_from: h.store.audit_keyed_from().await.unwrap(),
        at: now(),
    };
    log.append(&cp, &h.key).unwrap();
    let latest = log.latest(&h.key).unwrap().unwrap();
    assert_eq!(latest, Checkpoint { at: latest.at, ..cp });
    for tail_only in [false, true] {
        let r =
            h.store.verify_audit(&VerifyScope { checkpoint: Some(latest.clone()), tail_only }).await.unwrap();
        assert!(r.intact(), "{r:?}");
    }
    let head4 = h.store.list_audit(&AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
    let e4 = head4.items.iter().find(|e| e.seq == 4).unwrap();
    let sql = if h.store.backend() == "sqlite" {
        "DELETE FROM audit_log WHERE seq = 5".to_string()
    } else {
        format!(
            "DELETE FROM audit_log WHERE seq = 5; UPDATE audit_head SET seq = 4, hash = '{}' WHERE id = 1",
            e4.hash
        )
    };
    h.exec(&sql).await.unwrap();
    // Without the checkpoint the shorter chain looks whole.
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), None);
    for tail_only in [false, true] {
        let r =
            h.store.verify_audit(&VerifyScope { checkpoint: Some(latest.clone()), tail_only }).await.unwrap();
        assert_eq!(
            r.broken.map(|b| (b.seq, b.kind)),
            Some((5, BreakKind::Truncated)),
            "tail_only {tail_only}"
        );
    }
    // An appended entry reusing number 5 does not hide the cut: it is not the signed one.
    h.store.append_audit(&[entry("officer:lan", "citizen.read", "other")]).await.unwrap();
    let r = h.store.verify_audit(&VerifyScope { checkpoint: Some(latest), tail_only: false }).await.unwrap();
    assert_eq!(r.broken.map(|b| (b.seq, b.kind)), Some((5, BreakKind::CheckpointMismatch)));
}

/// Entries queued out of order keep the log's times in order, and an entry moved back in
/// time by hand breaks the chain there.
pub(crate) async fn audit_times_never_go_backwards(h: &Harness) {
    let late = entry("officer:a", "citizen.read", "x");
    let mut early = entry("officer:b", "citizen.read", "y");
    early.at = late.at - Duration::seconds(3);
    h.store.append_audit(std::slice::from_ref(&late)).await.unwrap();
    h.store.append_audit(&[early]).await.unwrap();
    let all = h.store.list_audit(&AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.items[0].entry.at, late.at, "the later-queued entry takes its predecessor's time");
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), None);
    let sql = if h.store.backend() == "sqlite" {
        "UPDATE audit_log SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = 2"
    } else {
        "UPDATE audit_log SET at = '2020-01-01T00:00:00Z' WHERE seq = 2"
    };
    h.exec(sql).await.unwrap();
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), Some(2));
}

pub(crate) fn audit_subject(seq: i64) -> String {
    format!("s{}", seq % 7)
}

pub(crate) fn audit_actor(seq: i64) -> String {
    format!("officer:{}", seq % 3)
}

/// Pages of subject, actor and subject-and-actor listings over entries 1..=`last`, checked
/// against the entries the test wrote ([`audit_subject`], [`audit_actor`]).
pub(crate) async fn check_audit_listings(h: &Harness, last: i64) {
    let (subject, actor) = (audit_subject, audit_actor);
    type Pick = Box<dyn Fn(i64) -> bool>;
    let cases: Vec<(AuditFilter, Pick)> = vec![
        // The oldest page: entries of the first epoch.
        (
            AuditFilter { subject: Some("s3".into()), limit: 1000, offset: 9000, ..Default::default() },
            Box::new(move |s| subject(s) == "s3"),
        ),
        // The newest page: the tail, then the second epoch.
        (
            AuditFilter { actor: Some("officer:1".into()), limit: 1000, offset: 0, ..Default::default() },
            Box::new(move |s| actor(s) == "officer:1"),
        ),
        (
            AuditFilter {
                subject: Some("s2".into()),
                actor: Some("officer:2".into()),
                limit: 1000,
                offset: 2500,
                ..Default::default()
            },
            Box::new(move |s| subject(s) == "s2" && actor(s) == "officer:2"),
        ),
    ];
    for (f, pick) in cases {
        let all: Vec<i64> = (1..=last).filter(|&s| pick(s)).rev().collect();
        let want: Vec<i64> = all.iter().copied().skip(f.offset as usize).take(f.limit as usize).collect();
        let page = h.store.list_audit(&f).await.unwrap();
        assert_eq!(page.total as usize, all.len(), "{f:?}");
        assert_eq!(page.items.iter().map(|e| e.seq).collect::<Vec<_>>(), want, "{f:?}");
    }
}

/// One entry for a listing, filed under every ID it returned: found by each of them while
/// in the log's tail and after the side tables caught up (once, not twice), chained with
/// the IDs (an ID removed from the entry breaks the chain), and not found by an ID it did
/// not return.
pub(crate) async fn listing_entries_are_filed_under_each_returned_id(h: &Harness) {
    let (a, b, other) = ("001090000011", "001090000012", "001090000013");
    let mut search = entry("officer:lan", "citizen.search", "name=an");
    search.returned = vec![a.into(), b.into()];
    h.store.append_audit(&[entry("officer:lan", "citizen.read", a), search.clone()]).await.unwrap();
    let of = |id: &str| {
        let f = AuditFilter { subject: Some(id.into()), limit: 10, ..Default::default() };
        let store = h.store.clone();
        async move { store.list_audit(&f).await.unwrap() }
    };
    for round in ["tail", "indexed"] {
        let of_a = of(a).await;
        assert_eq!(of_a.items.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 1], "{round}");
        let back = &of_a.items[0].entry;
        assert_eq!((&back.subject, &back.returned), (&search.subject, &search.returned), "{round}");
        assert_eq!(of(b).await.items.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2], "{round}");
        assert_eq!(of(other).await.total, 0, "{round}");
        h.store.catch_up_audit().await.unwrap();
    }
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), None);
    h.exec(&format!("UPDATE audit_log SET returned = '[\"{a}\"]' WHERE seq = 2")).await.unwrap();
    assert_eq!(h.store.verify_audit_chain().await.unwrap(), Some(2));
}
