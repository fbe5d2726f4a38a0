//! ID card applications and cards.

use super::*;

pub(crate) fn new_app(personal_id: &str, bio: bool) -> NewCardApplication {
    NewCardApplication {
        personal_id: pid(personal_id),
        kind: ApplicationKind::FirstIssue,
        biometrics_captured: bio,
        reason: "cấp thẻ lần đầu".into(),
        unit: "commune:00004".into(),
    }
}

pub(crate) async fn card_life_cycle_issues_a_card(h: &Harness) {
    let c = citizen(&id(Sex::Male, 1990, 11), "Phạm Văn Thẻ", "1990-03-07", BA_DINH);
    h.store.create_citizen(&c, &change("a", "b")).await.unwrap();
    let s = &h.store;
    let app = s
        .create_card_application(&new_app(c.personal_id.as_str(), true), &change("officer:lan", "x"))
        .await
        .unwrap();
    assert_eq!(app.stage, Stage::Intake { biometrics_captured: true });
    assert_eq!((app.version, app.scope_commune.as_str(), app.scope_province.as_str()), (1, "00004", "01"));
    assert_eq!(s.get_card_application(app.id).await.unwrap().unwrap(), app);
    let hand = Stage::HandedOver { method: HandoverMethod::InPerson };
    for (v, to) in (1..).zip([Stage::SentToProduction, Stage::CardReceived, hand.clone()]) {
        let next =
            s.transition_card_application(app.id, &to, None, v, &change("officer:lan", "")).await.unwrap();
        assert_eq!((next.stage.clone(), next.version), (to, v + 1));
    }
    assert_eq!(s.get_card_application(app.id).await.unwrap().unwrap().stage, hand);
    let hist = s.card_application_history(app.id).await.unwrap();
    let moves: Vec<(i64, StageKind, StageKind)> =
        hist.iter().map(|e| (e.seq, e.from_stage, e.to_stage)).collect();
    assert_eq!(
        moves,
        vec![
            (1, StageKind::Intake, StageKind::SentToProduction),
            (2, StageKind::SentToProduction, StageKind::CardReceived),
            (3, StageKind::CardReceived, StageKind::HandedOver)
        ]
    );
    assert_eq!(hist[0].by, "officer:lan");
    let cards = s.get_cards(&c.personal_id).await.unwrap();
    assert_eq!(cards.len(), 1);
    let card = &cards[0];
    assert_eq!((card.number, card.status, card.application_id), (c.personal_id, CardStatus::Valid, app.id));
    assert_eq!(card.issue_date, dancu_domain::date::vietnam_today(chrono::Utc::now()));
    assert_eq!(card.expiry, card_expiry(&c.birth_date, card.issue_date));
    assert!(card.expiry.is_some());

    // A second card (after a loss) replaces the first.
    let mut again = new_app(c.personal_id.as_str(), true);
    again.kind = ApplicationKind::Replacement { reason: dancu_identity::ReplacementReason::Lost };
    let second = s.create_card_application(&again, &change("officer:lan", "mất thẻ")).await.unwrap();
    for (i, to) in [Stage::SentToProduction, Stage::CardReceived, hand].into_iter().enumerate() {
        s.transition_card_application(second.id, &to, None, i as i64 + 1, &change("o", "")).await.unwrap();
    }
    let cards = s.get_cards(&c.personal_id).await.unwrap();
    let statuses: Vec<(i64, CardStatus)> = cards.iter().map(|c| (c.application_id, c.status)).collect();
    assert_eq!(statuses, vec![(second.id, CardStatus::Valid), (app.id, CardStatus::Revoked)]);

    // No application for a person who does not exist.
    let ghost = s.create_card_application(&new_app(&id(Sex::Male, 1970, 99), true), &change("a", "b")).await;
    assert!(matches!(ghost, Err(StoreError::NotFound)), "{ghost:?}");
}

pub(crate) async fn card_transitions_are_checked(h: &Harness) {
    let c = citizen(&id(Sex::Female, 1995, 12), "Vũ Thị Hồ", "1995-05-05", BA_DINH);
    h.store.create_citizen(&c, &change("a", "b")).await.unwrap();
    let s = &h.store;
    let app =
        s.create_card_application(&new_app(c.personal_id.as_str(), false), &change("o", "x")).await.unwrap();
    let ch = || change("officer:lan", "");
    // A skip is refused and changes nothing.
    let r = s.transition_card_application(app.id, &Stage::CardReceived, Some("vội"), 1, &ch()).await;
    assert_eq!(rule_of(r), "card.stage_skip");
    // No biometrics, no production.
    let r = s.transition_card_application(app.id, &Stage::SentToProduction, None, 1, &ch()).await;
    assert_eq!(rule_of(r), "card.biometrics_missing");
    assert_eq!(s.get_card_application(app.id).await.unwrap().unwrap(), app);
    assert!(s.card_application_history(app.id).await.unwrap().is_empty());
    // Version mismatch.
    let bio = Stage::Intake { biometrics_captured: true };
    let r = s.transition_card_application(app.id, &bio, None, 7, &ch()).await;
    assert!(matches!(r, Err(StoreError::VersionMismatch { expected: 7, actual: 1 })), "{r:?}");
    s.transition_card_application(app.id, &bio, None, 1, &ch()).await.unwrap();
    s.transition_card_application(app.id, &Stage::SentToProduction, None, 2, &ch()).await.unwrap();
    // Going back needs a reason.
    let r = s.transition_card_application(app.id, &bio, None, 3, &ch()).await;
    assert_eq!(rule_of(r), "card.stage_back_without_reason");
    let r = s.transition_card_application(app.id, &bio, Some("  "), 3, &ch()).await;
    assert_eq!(rule_of(r), "card.stage_back_without_reason");
    let back = s.transition_card_application(app.id, &bio, Some("ảnh mờ"), 3, &ch()).await.unwrap();
    assert_eq!((back.stage, back.version), (bio.clone(), 4));
    let hist = s.card_application_history(app.id).await.unwrap();
    assert_eq!(hist.last().unwrap().reason, "ảnh mờ");
    // Cancelled is final.
    let cancel = Stage::Cancelled { reason: "công dân rút hồ sơ".into() };
    let done = s.transition_card_application(app.id, &cancel, None, 4, &ch()).await.unwrap();
    assert_eq!(done.stage, cancel);
    let r = s.transition_card_application(app.id, &Stage::SentToProduction, None, 5, &ch()).await;
    assert_eq!(rule_of(r), "card.terminal");
    assert!(s.get_cards(&c.personal_id).await.unwrap().is_empty());
    assert!(matches!(
        s.transition_card_application(424242, &bio, None, 1, &ch()).await,
        Err(StoreError::NotFound)
    ));
}

pub(crate) async fn card_board_counts_in_scope(h: &Harness) {
    let s = &h.store;
    let a1 = citizen(&id(Sex::Male, 1980, 21), "Đặng Văn Một", "1980", BA_DINH);
    let a2 = citizen(&id(Sex::Male, 1981, 22), "Đặng Văn Hai", "1981", BA_DINH);
    let b = citizen(&id(Sex::Male, 1982, 23), "Đặng Văn Ba", "1982", NGOC_HA);
    let hcm = citizen(&id(Sex::Male, 1983, 24), "Đặng Văn Bốn", "1983", THU_DAU_MOT);
    for c in [&a1, &a2, &b, &hcm] {
        s.create_citizen(c, &change("a", "b")).await.unwrap();
    }
    let mut ids = Vec::new();
    for c in [&a1, &a2, &b, &hcm] {
        ids.push(
            s.create_card_application(&new_app(c.personal_id.as_str(), true), &change("o", "x"))
                .await
                .unwrap()
                .id,
        );
    }
    s.transition_card_application(ids[1], &Stage::SentToProduction, None, 1, &change("o", "")).await.unwrap();
    let count = |board: &[StageCount], k: StageKind| board.iter().find(|c| c.stage == k).unwrap().count;
    let a = Scope::Commune("00004".into());
    let board = s.card_board(&a).await.unwrap();
    assert_eq!(board.len(), StageKind::ALL.len());
    assert_eq!((count(&board, StageKind::Intake), count(&board, StageKind::SentToProduction)), (1, 1));
    let board = s.card_board(&Scope::Province("01".into())).await.unwrap();
    assert_eq!(count(&board, StageKind::Intake), 2);
    let board = s.card_board(&Scope::Nation).await.unwrap();
    assert_eq!((count(&board, StageKind::Intake), count(&board, StageKind::HandedOver)), (3, 0));

    let page = s.list_card_applications(&a, Some(StageKind::Intake), 10, 0).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].personal_id, a1.personal_id);
    let page = s.list_card_applications(&a, None, 10, 0).await.unwrap();
    assert_eq!(page.total, 2);
    let page = s.list_card_applications(&Scope::Province("79".into()), None, 10, 0).await.unwrap();
    assert_eq!((page.total, page.items[0].id), (1, ids[3]));
    let page = s.list_card_applications(&Scope::Nation, None, 2, 2).await.unwrap();
    assert_eq!((page.total, page.items.len()), (4, 2));
}

pub(crate) async fn issue(s: &Arc<dyn Store>, c: &Citizen) {
    s.create_citizen(c, &change("a", "b")).await.unwrap();
    let app =
        s.create_card_application(&new_app(c.personal_id.as_str(), true), &change("o", "x")).await.unwrap();
    let hand = Stage::HandedOver { method: HandoverMethod::InPerson };
    for (v, to) in (1..).zip([Stage::SentToProduction, Stage::CardReceived, hand]) {
        s.transition_card_application(app.id, &to, None, v, &change("o", "")).await.unwrap();
    }
}

pub(crate) async fn cards_due_for_renewal_near_a_milestone(h: &Harness) {
    let s = &h.store;
    use chrono::Datelike;
    let issued = dancu_domain::date::vietnam_today(chrono::Utc::now());
    // Turning 25 in a little over two years: a card issued today expires then.
    let year = issued.year() - 23 + 1;
    let near = citizen(&id(Sex::Female, year, 31), "Lý Thị Gần", &format!("{year}-01-15"), BA_DINH);
    let near_hcm = citizen(&id(Sex::Male, year, 32), "Lý Văn Xa", &format!("{year}-01-20"), THU_DAU_MOT);
    // 36 today: the next milestone is 40, years away. 66: no expiry at all.
    let far = citizen(&id(Sex::Male, issued.year() - 36, 33), "Lý Văn Bình", "1990-06-01", NGOC_HA);
    let old = citizen(&id(Sex::Male, issued.year() - 66, 34), "Lý Văn Già", "1960-06-01", BA_DINH);
    for c in [&near, &near_hcm, &far, &old] {
        issue(s, c).await;
    }
    let expiry = card_expiry(&near.birth_date, issued).unwrap();
    assert_eq!(expiry, NaiveDate::from_ymd_opt(year + 25, 1, 15).unwrap());
    let due = expiry - chrono::Duration::days(i64::from(dancu_store::RENEWAL_NOTICE_DAYS));

    // The day the window opens, the near holder is due; the day before, only with look-ahead.
    let page = s.cards_due_for_renewal(&Scope::Nation, due, 0, 50, 0).await.unwrap();
    assert_eq!(page.total, 1);
    let d = &page.items[0];
    assert_eq!(
        (d.personal_id, d.full_name.as_str(), d.birth_date.as_str(), d.expiry, d.renewal_due_from),
        (near.personal_id, "Lý Thị Gần", format!("{year}-01-15").as_str(), expiry, due)
    );
    assert_eq!(d.scope_commune, "00004");
    let before = due - chrono::Duration::days(1);
    assert_eq!(s.cards_due_for_renewal(&Scope::Nation, before, 0, 50, 0).await.unwrap().total, 0);
    let page = s.cards_due_for_renewal(&Scope::Nation, before, 10, 50, 0).await.unwrap();
    let ids: Vec<PersonalId> = page.items.iter().map(|d| d.personal_id).collect();
    assert_eq!(ids, vec![near.personal_id, near_hcm.personal_id]);
    // Scope: the holder's residence.
    let hn = s.cards_due_for_renewal(&Scope::Province("01".into()), before, 10, 50, 0).await.unwrap();
    assert_eq!((hn.total, hn.items[0].personal_id), (1, near.personal_id));
    let hcm = s.cards_due_for_renewal(&Scope::Province("79".into()), before, 10, 50, 0).await.unwrap();
    assert_eq!((hcm.total, hcm.items[0].personal_id), (1, near_hcm.personal_id));
    let ngoc_ha = s.cards_due_for_renewal(&Scope::Commune(NGOC_HA[5..].into()), before, 10, 50, 0).await;
    assert_eq!(ngoc_ha.unwrap().total, 0);
    let ba_dinh = s.cards_due_for_renewal(&Scope::Commune("00004".into()), before, 10, 50, 0).await.unwrap();
    assert_eq!(ba_dinh.total, 1);
    // Paging keeps the total.
    let p2 = s.cards_due_for_renewal(&Scope::Nation, before, 10, 1, 1).await.unwrap();
    assert_eq!((p2.total, p2.items.len(), p2.items[0].personal_id), (2, 1, near_hcm.personal_id));
    // On the expiry day the card is still listed; the day after it is expired, not due.
    assert_eq!(
        s.cards_due_for_renewal(&Scope::Commune("00004".into()), expiry, 0, 50, 0).await.unwrap().total,
        1
    );
    let after = expiry + chrono::Duration::days(1);
    assert_eq!(
        s.cards_due_for_renewal(&Scope::Commune("00004".into()), after, 0, 50, 0).await.unwrap().total,
        0
    );
    // Three years ahead the near holder is listed, the 36-year-old (next milestone 40) is
    // not; ten years ahead both are; the 66-year-old (no expiry) never is.
    let now_list = s.cards_due_for_renewal(&Scope::Nation, issued, 365, 50, 0).await.unwrap();
    assert_eq!(now_list.total, 0);
    let hn = Scope::Province("01".into());
    let listed = |p: Page<DueCard>| p.items.iter().map(|d| d.personal_id).collect::<Vec<_>>();
    let three = listed(s.cards_due_for_renewal(&hn, issued, 3 * 365, 50, 0).await.unwrap());
    assert_eq!(three, vec![near.personal_id]);
    let ten = listed(s.cards_due_for_renewal(&hn, issued, 3650, 50, 0).await.unwrap());
    assert_eq!(ten, vec![near.personal_id, far.personal_id]);
    // A replaced (revoked) card is not listed.
    let mut again = new_app(near.personal_id.as_str(), true);
    again.kind = ApplicationKind::Replacement { reason: dancu_identity::ReplacementReason::Lost };
    let app = s.create_card_application(&again, &change("o", "mất thẻ")).await.unwrap();
    for (v, to) in (1..).zip([Stage::SentToProduction, Stage::CardReceived]) {
        s.transition_card_application(app.id, &to, None, v, &change("o", "")).await.unwrap();
    }
    let hand = Stage::HandedOver { method: HandoverMethod::Post };
    s.transition_card_application(app.id, &hand, None, 3, &change("o", "")).await.unwrap();
    // The new card (same day, same birth) has the same dates: still exactly one line.
    let page = s.cards_due_for_renewal(&Scope::Commune("00004".into()), due, 0, 50, 0).await.unwrap();
    assert_eq!(page.total, 1);

    // A legacy card imported for the 36-year-old, issued at 20 (2010-07-01): it expired at
    // 25 (2015-06-01), so it is not due on 2015-06-02 but is on 2015-05-15.
    let legacy = ImportCard {
        personal_id: far.personal_id,
        issue_date: NaiveDate::from_ymd_opt(2010, 7, 1).unwrap(),
        unit: "commune:00008".into(),
    };
    assert_eq!(s.import_cards(&[legacy], &change("import", "dữ liệu thẻ cũ")).await.unwrap(), 1);
    let on = NaiveDate::from_ymd_opt(2015, 5, 15).unwrap();
    let page = s.cards_due_for_renewal(&Scope::Commune("00008".into()), on, 0, 50, 0).await.unwrap();
    assert_eq!(listed(page), vec![far.personal_id]);
    let on = NaiveDate::from_ymd_opt(2015, 6, 2).unwrap();
    assert_eq!(
        s.cards_due_for_renewal(&Scope::Commune("00008".into()), on, 0, 50, 0).await.unwrap().total,
        0
    );
    // It replaced the card issued today, which is no longer listed ten years ahead.
    let ten = listed(s.cards_due_for_renewal(&hn, issued, 3650, 50, 0).await.unwrap());
    assert_eq!(ten, vec![near.personal_id]);
    let cards = s.get_cards(&far.personal_id).await.unwrap();
    assert_eq!(cards.iter().filter(|c| c.status == CardStatus::Valid).count(), 1);
    // An unknown holder fails the batch, which records nothing.
    let ghost = ImportCard {
        personal_id: pid(&id(Sex::Male, 1970, 98)),
        issue_date: NaiveDate::from_ymd_opt(2010, 7, 1).unwrap(),
        unit: "x".into(),
    };
    let again = ImportCard { personal_id: old.personal_id, ..ghost.clone() };
    let r = s.import_cards(&[again, ghost], &change("import", "x")).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    assert_eq!(s.get_cards(&old.personal_id).await.unwrap().len(), 1);
}

/// The in-memory database (tests and demos) behaves like a file, through one connection.
#[tokio::test]
pub(crate) async fn in_memory_sqlite_works() {
    let store = dancu_store::open("sqlite::memory:", AuditKey::generate()).await.unwrap();
    let c = citizen(&id(Sex::Male, 1990, 1), "Nguyễn Văn An", "1990", BA_DINH);
    store.create_citizen(&c, &change("a", "b")).await.unwrap();
    assert_eq!(store.get_citizen(&c.personal_id).await.unwrap().unwrap().citizen, c);
    assert_eq!(store.search_citizens(&query("nguyen"), &Scope::Nation).await.unwrap().total, 1);
    let rows = vec![row(
        2,
        citizen(&id(Sex::Male, 1990, 2), "Lê Văn Hai", "1990", NGOC_HA),
        Some(("M1", Relation::Head)),
    )];
    assert_eq!(store.import_batch(&rows, &change("a", "b")).await.unwrap().inserted, 1);
    store.append_audit(&[entry("a", "citizen.read", "x")]).await.unwrap();
    assert_eq!(store.verify_audit_chain().await.unwrap(), None);
    // A second in-memory store is a database of its own.
    let other = dancu_store::open("sqlite::memory:", AuditKey::generate()).await.unwrap();
    assert_eq!(other.count_citizens().await.unwrap(), 0);
}

/// Moves made together share transactions: refused ones (a stale version, a skipped stage)
/// leave nothing, allowed ones all land, each exactly once.
pub(crate) async fn concurrent_transitions_commit_only_allowed_moves(h: &Harness) {
    let mut apps = Vec::new();
    for i in 0..12 {
        let c = citizen(
            &id(Sex::Male, 1970 + i, 500 + i as u32),
            "Ngô Văn Cùng",
            &format!("{}-01-01", 1970 + i),
            BA_DINH,
        );
        h.store.create_citizen(&c, &change("a", "b")).await.unwrap();
        apps.push(
            h.store
                .create_card_application(&new_app(c.personal_id.as_str(), true), &change("o", "x"))
                .await
                .unwrap()
                .id,
        );
    }
    let mut tasks = Vec::new();
    for &app in &apps {
        for to in [
            Stage::SentToProduction,
            Stage::SentToProduction,
            Stage::HandedOver { method: HandoverMethod::InPerson },
        ] {
            let s = h.store.clone();
            tasks.push(tokio::spawn(async move {
                s.transition_card_application(app, &to, None, 1, &change("officer:lan", "")).await
            }));
        }
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(a) => {
                assert_eq!((a.stage, a.version), (Stage::SentToProduction, 2));
                ok += 1;
            }
            Err(StoreError::VersionMismatch { .. }) | Err(StoreError::Invalid(_)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, apps.len(), "exactly one move per application lands");
    for &app in &apps {
        let a = h.store.get_card_application(app).await.unwrap().unwrap();
        assert_eq!((a.stage, a.version), (Stage::SentToProduction, 2));
        assert_eq!(h.store.card_application_history(app).await.unwrap().len(), 1);
    }
    // A move outside the caller's scope is refused with the holder for the audit log.
    let app = h.store.get_card_application(apps[0]).await.unwrap().unwrap();
    let other = Scope::Commune("00008".into());
    let r = h
        .store
        .transition_card_application_in(apps[0], &Stage::CardReceived, None, 2, &change("o", ""), &other)
        .await;
    assert!(
        matches!(&r, Err(StoreError::OutOfScope { subject }) if *subject == app.personal_id.to_string()),
        "{r:?}"
    );
    assert_eq!(h.store.get_card_application(apps[0]).await.unwrap().unwrap(), app);
    // A move of an application that does not exist is refused alone.
    let ghost =
        h.store.transition_card_application(-5, &Stage::SentToProduction, None, 1, &change("o", "")).await;
    assert!(matches!(ghost, Err(StoreError::NotFound)), "{ghost:?}");
}
