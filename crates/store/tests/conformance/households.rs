//! Households and personal ID allocation.

use super::*;

pub(crate) async fn households_have_one_head_and_members_once(h: &Harness) {
    let ch = change("officer:lan", "seed");
    let a = citizen(&id(Sex::Male, 1960, 1), "Phạm Văn Cha", "1960", NGOC_HA);
    let b = citizen(&id(Sex::Female, 1962, 2), "Lý Thị Mẹ", "1962", NGOC_HA);
    let c = citizen(&id(Sex::Male, 1990, 3), "Phạm Văn Con", "1990", THU_DAU_MOT);
    let d = citizen(&id(Sex::Female, 1991, 4), "Phạm Thị Út", "1991", THU_DAU_MOT);
    for x in [&a, &b, &c, &d] {
        h.store.create_citizen(x, &ch).await.unwrap();
    }
    let (a_id, b_id, c_id, d_id) =
        (a.personal_id.as_str(), b.personal_id.as_str(), c.personal_id.as_str(), d.personal_id.as_str());
    let hh = household("HK001", &[(b_id, Relation::Spouse), (a_id, Relation::Head)]);
    let made = change("officer:lan", "lập hộ");
    let v = h.store.create_household(&hh, &made).await.unwrap();
    assert_eq!(v.head, a.personal_id);
    assert_eq!((v.scope_province.as_str(), v.scope_commune.as_str()), ("01", "00008"));
    assert_eq!(v.version, 1);
    assert_eq!((v.updated_at, v.updated_by.as_str()), (made.at, "officer:lan"));
    assert_eq!(v.members.len(), 2);
    assert_eq!((v.members[0].personal_id, v.members[0].relation), (a.personal_id, Relation::Head));
    assert_eq!(v.members[0].full_name, "Phạm Văn Cha");
    assert_eq!(v.members[1].relation, Relation::Spouse);
    assert_eq!(h.store.get_household("HK001").await.unwrap().unwrap(), v);
    let member = h.store.get_citizen(&b.personal_id).await.unwrap().unwrap();
    assert_eq!((member.household_no.as_deref(), member.relation), (Some("HK001"), Some(Relation::Spouse)));

    // Two heads.
    let two = household("HK002", &[(c_id, Relation::Head), (d_id, Relation::Head)]);
    assert_eq!(rule_of(h.store.create_household(&two, &ch).await), "household.head_count");
    // No head at all.
    let none = household("HK002", &[(c_id, Relation::Child)]);
    assert_eq!(rule_of(h.store.create_household(&none, &ch).await), "household.head_count");
    // A member of another household.
    let taken = household("HK002", &[(c_id, Relation::Head), (b_id, Relation::Spouse)]);
    assert_eq!(rule_of(h.store.create_household(&taken, &ch).await), "household.member_taken");
    // Nothing of the refused household was kept.
    assert!(h.store.get_household("HK002").await.unwrap().is_none());
    // An unknown citizen.
    let ghost = id(Sex::Male, 1999, 99);
    let unknown = household("HK002", &[(c_id, Relation::Head), (ghost.as_str(), Relation::Child)]);
    assert_eq!(rule_of(h.store.create_household(&unknown, &ch).await), "household.member_unknown");
    // The same number twice.
    let dup = household("HK001", &[(c_id, Relation::Head)]);
    assert_eq!(rule_of(h.store.create_household(&dup, &ch).await), "household.duplicate_number");

    let ok = household("HK002", &[(c_id, Relation::Head), (d_id, Relation::Sibling)]);
    let v2 = h.store.create_household(&ok, &ch).await.unwrap();
    assert_eq!((v2.scope_province.as_str(), v2.scope_commune.as_str()), ("79", "25747"));

    // The database itself refuses a second head.
    let raw = h.exec(&format!("UPDATE citizens SET relation = 'head' WHERE personal_id = '{d_id}'")).await;
    assert!(raw.is_err(), "a second head was accepted by the database");
    assert!(h.store.get_household("NOPE").await.unwrap().is_none());
}

pub(crate) async fn household_updates_keep_history(h: &Harness) {
    let ch = change("officer:lan", "seed");
    let a = citizen(&id(Sex::Male, 1960, 11), "Vũ Văn Một", "1960", BA_DINH);
    let b = citizen(&id(Sex::Female, 1965, 12), "Vũ Thị Hai", "1965", BA_DINH);
    let c = citizen(&id(Sex::Male, 1995, 13), "Vũ Văn Ba", "1995", NGOC_HA);
    for x in [&a, &b, &c] {
        h.store.create_citizen(x, &ch).await.unwrap();
    }
    let (a_id, b_id, c_id) = (a.personal_id.as_str(), b.personal_id.as_str(), c.personal_id.as_str());
    let first = change("officer:lan", "lập hộ");
    h.store
        .create_household(&household("HK9", &[(a_id, Relation::Head), (b_id, Relation::Spouse)]), &first)
        .await
        .unwrap();

    let second = change("officer:hung", "thêm con");
    let v = h
        .store
        .update_household(
            &household("HK9", &[(a_id, Relation::Head), (b_id, Relation::Spouse), (c_id, Relation::Child)]),
            Some(1),
            &second,
        )
        .await
        .unwrap();
    assert_eq!((v.version, v.members.len()), (2, 3));
    assert_eq!(v.updated_by, "officer:hung");

    // The wife becomes the head; the husband leaves.
    let third = change("officer:hung", "đổi chủ hộ");
    let v = h
        .store
        .update_household(&household("HK9", &[(b_id, Relation::Head), (c_id, Relation::Child)]), None, &third)
        .await
        .unwrap();
    assert_eq!((v.version, v.head), (3, b.personal_id));
    assert!(h.store.get_citizen(&a.personal_id).await.unwrap().unwrap().household_no.is_none());

    let hist = h.store.household_history("HK9").await.unwrap();
    assert_eq!(hist.iter().map(|x| x.version).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(hist[1].members.len(), 2);
    assert_eq!(
        (hist[1].changed_by.as_str(), hist[1].reason.as_str(), hist[1].changed_at),
        ("officer:lan", "lập hộ", first.at)
    );
    assert_eq!(hist[0].members.len(), 3);
    assert_eq!((hist[0].changed_by.as_str(), hist[0].changed_at), ("officer:hung", second.at));
    assert!(hist[0].members.iter().any(|m| m.personal_id == c.personal_id && m.relation == Relation::Child));

    let two_heads = household("HK9", &[(b_id, Relation::Head), (c_id, Relation::Head)]);
    assert_eq!(rule_of(h.store.update_household(&two_heads, None, &third).await), "household.head_count");
    let missing = household("HK404", &[(a_id, Relation::Head)]);
    assert!(matches!(h.store.update_household(&missing, None, &third).await, Err(StoreError::NotFound)));
    // A refused update changes nothing.
    let other = household("HK10", &[(a_id, Relation::Head)]);
    h.store.create_household(&other, &ch).await.unwrap();
    let steal = household("HK9", &[(b_id, Relation::Head), (a_id, Relation::Spouse)]);
    assert_eq!(rule_of(h.store.update_household(&steal, None, &third).await), "household.member_taken");
    let still = h.store.get_household("HK9").await.unwrap().unwrap();
    assert_eq!((still.version, still.members.len()), (3, 2));
    // A change made from an older version is refused, not written over the newer one.
    let stale = household("HK9", &[(b_id, Relation::Head)]);
    assert!(matches!(
        h.store.update_household(&stale, Some(2), &third).await,
        Err(StoreError::VersionMismatch { expected: 2, actual: 3 })
    ));
    assert_eq!(h.store.get_household("HK9").await.unwrap().unwrap().members.len(), 2);
}

pub(crate) async fn a_birth_stores_the_child_and_the_household_or_neither(h: &Harness) {
    let ch = change("officer:lan", "seed");
    let mother = citizen(&id(Sex::Female, 1990, 21), "Đỗ Thị Mẹ", "1990", BA_DINH);
    h.store.create_citizen(&mother, &ch).await.unwrap();
    let m_id = mother.personal_id.as_str();
    h.store.create_household(&household("HK20", &[(m_id, Relation::Head)]), &ch).await.unwrap();
    let child = citizen(&id(Sex::Male, 2024, 22), "Đỗ Văn Con", "2024", BA_DINH);
    let with_child =
        household("HK20", &[(m_id, Relation::Head), (child.personal_id.as_str(), Relation::Child)]);
    let born = change("officer:lan", "đăng ký khai sinh");

    // A household that changed since it was read: neither the record nor the member is kept.
    let stale = h.store.register_birth(&child, &with_child, 7, &born).await;
    assert!(matches!(stale, Err(StoreError::VersionMismatch { expected: 7, actual: 1 })), "{stale:?}");
    assert!(h.store.get_citizen(&child.personal_id).await.unwrap().is_none());
    assert_eq!(h.store.get_household("HK20").await.unwrap().unwrap().version, 1);

    let (c, v) = h.store.register_birth(&child, &with_child, 1, &born).await.unwrap();
    assert_eq!((c.household_no.as_deref(), c.relation), (Some("HK20"), Some(Relation::Child)));
    assert_eq!((v.version, v.members.len()), (2, 2));
    assert_eq!(h.store.household_history("HK20").await.unwrap().len(), 1);
}

pub(crate) async fn a_split_stores_both_households_or_neither(h: &Harness) {
    let ch = change("officer:lan", "seed");
    let a = citizen(&id(Sex::Male, 1960, 31), "Hà Văn Cha", "1960", BA_DINH);
    let b = citizen(&id(Sex::Male, 1988, 32), "Hà Văn Con", "1988", BA_DINH);
    let c = citizen(&id(Sex::Female, 1990, 33), "Lê Thị Dâu", "1990", BA_DINH);
    for x in [&a, &b, &c] {
        h.store.create_citizen(x, &ch).await.unwrap();
    }
    let (a_id, b_id, c_id) = (a.personal_id.as_str(), b.personal_id.as_str(), c.personal_id.as_str());
    let all = [(a_id, Relation::Head), (b_id, Relation::Child), (c_id, Relation::ChildInLaw)];
    h.store.create_household(&household("HK30", &all), &ch).await.unwrap();
    let kept = household("HK30", &[(a_id, Relation::Head)]);
    let split = change("officer:lan", "tách hộ");

    // The new number is taken: the old household keeps everyone.
    let other = citizen(&id(Sex::Male, 1970, 34), "Ngô Văn Khác", "1970", BA_DINH);
    h.store.create_citizen(&other, &ch).await.unwrap();
    h.store
        .create_household(&household("HK33", &[(other.personal_id.as_str(), Relation::Head)]), &ch)
        .await
        .unwrap();
    let taken = household("HK33", &[(b_id, Relation::Head), (c_id, Relation::Spouse)]);
    assert_eq!(
        rule_of(h.store.split_household(&kept, 1, &taken, &split).await),
        "household.duplicate_number"
    );
    assert_eq!(h.store.get_household("HK30").await.unwrap().unwrap().members.len(), 3);

    let new = household("HK34", &[(b_id, Relation::Head), (c_id, Relation::Spouse)]);
    let (old, made) = h.store.split_household(&kept, 1, &new, &split).await.unwrap();
    assert_eq!((old.version, old.members.len()), (2, 1));
    assert_eq!((made.head, made.members.len(), made.change_reason.as_str()), (b.personal_id, 2, "tách hộ"));
}

pub(crate) async fn allocated_ids_are_new_and_valid(h: &Harness) {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..5 {
        let id = h.store.allocate_personal_id("01", Sex::Female, 1990).await.unwrap();
        let back = PersonalId::parse_until(id.as_str(), 2026).unwrap();
        assert_eq!((back.sex(), back.birth_year(), back.province_prefix()), (Sex::Female, 1990, "001"));
        assert!(seen.insert(id), "{id} allocated twice");
    }
    let boy = h.store.allocate_personal_id("79", Sex::Male, 2024).await.unwrap();
    assert_eq!((boy.sex(), boy.birth_year(), boy.province_prefix()), (Sex::Male, 2024, "079"));
    assert!(boy.as_str().starts_with("079224"), "{boy}");

    // A number already held (say, by an imported record) is skipped.
    use dancu_domain::personal_id::serial_for;
    let held = PersonalId::compose("01", Sex::Male, 1985, serial_for(0)).unwrap();
    h.store
        .create_citizen(&citizen(held.as_str(), "Đặng Văn Cũ", "1985", BA_DINH), &change("a", "b"))
        .await
        .unwrap();
    let next = h.store.allocate_personal_id("01", Sex::Male, 1985).await.unwrap();
    assert_eq!(next, PersonalId::compose("01", Sex::Male, 1985, serial_for(1)).unwrap());

    assert!(matches!(h.store.allocate_personal_id("03", Sex::Male, 1985).await, Err(StoreError::Invalid(_))));
}
