//! Electronic identity accounts.

use super::*;

pub(crate) fn account(c: &Citizen) -> eid::EidAccount {
    let at = now();
    eid::EidAccount {
        personal_id: c.personal_id,
        level: dancu_identity::eid::Level::One,
        state: dancu_identity::eid::AccountState::Registered,
        phone: "0912345678".into(),
        password_hash: "$argon2id$x".into(),
        totp_secret: "JBSWY3DPEHPK3PXP".into(),
        totp_last_step: None,
        reset_code_hash: None,
        reset_expires_at: None,
        scope_province: "01".into(),
        scope_commune: "00004".into(),
        created_at: at,
        updated_at: at,
        version: 1,
    }
}

pub(crate) fn eid_change(event: &str, actor: &str) -> eid::EidChange {
    eid::EidChange { event: event.into(), reason: format!("lý do {event}"), actor: actor.into(), at: now() }
}

pub(crate) async fn eid_accounts_round_trip_and_keep_history(h: &Harness) {
    use dancu_identity::eid::{AccountState, Actor, Level, Phase};
    let s = h.store.as_ref();
    let c = citizen(&id(Sex::Female, 1991, 21), "Trần Thị Định", "1991-02-03", BA_DINH);
    h.store.create_citizen(&c, &change("a", "b")).await.unwrap();
    assert_eq!(eid::get_account(s, &c.personal_id).await.unwrap(), None);
    let a = account(&c);
    eid::create_account(s, &a, &eid_change("register", "citizen:x")).await.unwrap();
    assert_eq!(eid::get_account(s, &c.personal_id).await.unwrap().unwrap(), a);
    // One account per person.
    let again = eid::create_account(s, &a, &eid_change("register", "citizen:x")).await;
    assert_eq!(rule_of(again), "eid.account_exists");
    // A versioned save with its event; a stale version changes nothing.
    let locked = eid::EidAccount {
        state: AccountState::Locked {
            by: Actor::Officer,
            reason: "nghi giả mạo".into(),
            previous: Phase::Registered,
        },
        totp_last_step: Some(12345),
        reset_expires_at: Some(now()),
        reset_code_hash: Some("abc".into()),
        ..a.clone()
    };
    let saved = eid::save_account(s, &locked, 1, "registered", Some(&eid_change("lock", "officer:lan")))
        .await
        .unwrap();
    assert_eq!(saved.version, 2);
    let read = eid::get_account(s, &c.personal_id).await.unwrap().unwrap();
    assert_eq!(read, saved);
    let stale = eid::save_account(s, &a, 1, "locked", Some(&eid_change("unlock", "officer:lan"))).await;
    assert!(matches!(stale, Err(StoreError::VersionMismatch { .. })), "{stale:?}");
    assert_eq!(eid::get_account(s, &c.personal_id).await.unwrap().unwrap(), saved);
    // Level change, no event.
    let l2 = eid::EidAccount { level: Level::Two, ..saved.clone() };
    eid::save_account(s, &l2, 2, "locked", None).await.unwrap();
    let ev = eid::events(s, &c.personal_id).await.unwrap();
    let summary: Vec<(i64, &str, &str, &str)> =
        ev.iter().map(|e| (e.seq, e.event.as_str(), e.from_state.as_str(), e.to_state.as_str())).collect();
    assert_eq!(summary, vec![(1, "register", "", "registered"), (2, "lock", "registered", "locked")]);
    assert_eq!(ev[1].actor, "officer:lan");
    assert_eq!(eid::get_account(s, &c.personal_id).await.unwrap().unwrap().level, Level::Two);
}

pub(crate) async fn eid_lists_counts_sessions_documents(h: &Harness) {
    use dancu_identity::eid::{DocumentKind, Level, VerificationState};
    let s = h.store.as_ref();
    let a1 = citizen(&id(Sex::Male, 1980, 31), "Lê Văn Một", "1980-01-01", BA_DINH);
    let a2 = citizen(&id(Sex::Male, 1981, 32), "Lê Văn Hai", "1981-01-01", NGOC_HA);
    for c in [&a1, &a2] {
        h.store.create_citizen(c, &change("a", "b")).await.unwrap();
    }
    eid::create_account(s, &account(&a1), &eid_change("register", "x")).await.unwrap();
    let mut acc2 = account(&a2);
    acc2.scope_commune = "00008".into();
    acc2.state = dancu_identity::eid::AccountState::Approved;
    eid::create_account(s, &acc2, &eid_change("register", "x")).await.unwrap();

    let all = eid::list_accounts(s, &Scope::Nation, None, None, 10, 0).await.unwrap();
    assert_eq!(all.total, 2);
    let ba_dinh = eid::list_accounts(s, &Scope::Commune("00004".into()), None, None, 10, 0).await.unwrap();
    assert_eq!(ba_dinh.items.iter().map(|i| i.full_name.as_str()).collect::<Vec<_>>(), vec!["Lê Văn Một"]);
    let approved =
        eid::list_accounts(s, &Scope::Province("01".into()), Some("approved"), Some(Level::One), 10, 0)
            .await
            .unwrap();
    assert_eq!((approved.total, approved.items[0].personal_id), (1, a2.personal_id));
    let counts = eid::counts(s, &Scope::Province("01".into())).await.unwrap();
    let got: Vec<(&str, &str, u64)> =
        counts.iter().map(|c| (c.commune.as_str(), c.state.as_str(), c.count)).collect();
    assert_eq!(got, vec![("00004", "registered", 1), ("00008", "approved", 1)]);

    // Login history, newest first.
    eid::record_login(s, &a1.personal_id, now(), "bad_code", "web").await.unwrap();
    eid::record_login(s, &a1.personal_id, now(), "ok", "web").await.unwrap();
    let logins = eid::logins(s, &a1.personal_id, 10).await.unwrap();
    assert_eq!(logins.iter().map(|l| l.outcome.as_str()).collect::<Vec<_>>(), vec!["ok", "bad_code"]);

    // Sessions expire and can be ended.
    let t = now();
    let sess = eid::CitizenSession {
        token_hash: "h1".into(),
        personal_id: a1.personal_id,
        csrf_token: "c".into(),
        created_at: t,
        expires_at: t + Duration::minutes(15),
    };
    eid::create_session(s, &sess).await.unwrap();
    assert_eq!(eid::get_session(s, "h1", t).await.unwrap(), Some(sess.clone()));
    assert_eq!(eid::get_session(s, "h1", t + Duration::minutes(16)).await.unwrap(), None);
    eid::delete_sessions_of(s, &a1.personal_id).await.unwrap();
    assert_eq!(eid::get_session(s, "h1", t).await.unwrap(), None);

    // Documents: linking the same kind again replaces it and keeps when it was first linked.
    let d = eid::EidDocument {
        kind: DocumentKind::SocialInsurance,
        number: "0123456789".into(),
        source_agency: "Bảo hiểm xã hội Việt Nam".into(),
        state: VerificationState::Pending,
        linked_at: t,
        updated_at: t,
        updated_by: "officer:lan".into(),
    };
    eid::put_document(s, &a1.personal_id, &d).await.unwrap();
    let later = eid::EidDocument {
        state: VerificationState::Rejected { reason: "sai số".into() },
        linked_at: t + Duration::hours(1),
        updated_at: t + Duration::hours(1),
        ..d.clone()
    };
    eid::put_document(s, &a1.personal_id, &later).await.unwrap();
    let docs = eid::documents(s, &a1.personal_id).await.unwrap();
    assert_eq!(docs, vec![eid::EidDocument { linked_at: t, ..later }]);
}

pub(crate) async fn cmnd_confirmations_are_numbered(h: &Harness) {
    let s = h.store.as_ref();
    let c = citizen(&id(Sex::Male, 1960, 41), "Đỗ Văn Cũ", "1960-06-06", BA_DINH);
    h.store.create_citizen(&c, &change("a", "b")).await.unwrap();
    let at = now();
    let conf = eid::CmndConfirmation {
        number: String::new(),
        personal_id: c.personal_id,
        cmnd: "012345678".into(),
        full_name: "Đỗ Văn Cũ".into(),
        birth_date: "1960-06-06".into(),
        card_issue: String::new(),
        issued_at: at,
        issued_by: "officer:lan".into(),
        scope_province: "01".into(),
        scope_commune: "00004".into(),
    };
    let first = eid::create_cmnd_confirmation(s, &conf).await.unwrap();
    let second = eid::create_cmnd_confirmation(s, &conf).await.unwrap();
    let year = at.format("%Y");
    assert_eq!(first.number, format!("XN-{year}-{}-1", c.personal_id));
    assert_eq!(second.number, format!("XN-{year}-{}-2", c.personal_id));
    assert_eq!(eid::get_cmnd_confirmation(s, &first.number).await.unwrap(), Some(first.clone()));
    assert_eq!(eid::cmnd_confirmations_of(s, &c.personal_id).await.unwrap().len(), 2);
    assert_eq!(eid::get_cmnd_confirmation(s, "XN-0000-x-1").await.unwrap(), None);
}
