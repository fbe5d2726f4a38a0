//! Bulk imports.

use super::*;

pub(crate) fn row(line: u64, c: Citizen, hh: Option<(&str, Relation)>) -> ImportRow {
    ImportRow { line, citizen: c, household: hh.map(|(n, r)| (n.to_string(), r)) }
}

pub(crate) async fn import_inserts_skips_and_rejects(h: &Harness) {
    let c = |serial: u32, name: &str, unit: &str| citizen(&id(Sex::Male, 1970, serial), name, "1970", unit);
    let ch = change("system:import", "nhập dữ liệu");
    let first = vec![
        row(2, c(1, "Hồ Văn Một", BA_DINH), Some(("H100", Relation::Head))),
        row(3, c(2, "Hồ Văn Hai", BA_DINH), Some(("H100", Relation::Sibling))),
        row(4, c(3, "Hồ Văn Ba", BA_DINH), Some(("H100", Relation::Other))),
        row(5, c(4, "Mai Văn Bốn", THU_DAU_MOT), Some(("H101", Relation::Head))),
        row(6, c(5, "Mai Văn Năm", NGOC_HA), None),
    ];
    let out = h.store.import_batch(&first, &ch).await.unwrap();
    assert_eq!((out.inserted, out.skipped_existing, out.rejected.len()), (5, 0, 0), "{out:?}");
    assert_eq!(h.store.count_citizens().await.unwrap(), 5);
    let got = h.store.get_citizen(&first[1].citizen.personal_id).await.unwrap().unwrap();
    assert_eq!(got.citizen, first[1].citizen);
    assert_eq!((got.household_no.as_deref(), got.relation), (Some("H100"), Some(Relation::Sibling)));
    assert_eq!(
        (got.updated_by.as_str(), got.change_reason.as_str(), got.created_at),
        ("system:import", "nhập dữ liệu", ch.at)
    );
    let h100 = h.store.get_household("H100").await.unwrap().unwrap();
    assert_eq!((h100.head, h100.members.len(), h100.version), (first[0].citizen.personal_id, 3, 1));

    // A re-run adds nothing twice.
    let again = h.store.import_batch(&first, &ch).await.unwrap();
    assert_eq!((again.inserted, again.skipped_existing, again.rejected.len()), (0, 5, 0), "{again:?}");
    assert_eq!(h.store.count_citizens().await.unwrap(), 5);

    let second = vec![
        row(10, c(6, "Hồ Văn Sáu", BA_DINH), Some(("H100", Relation::Head))), // H100 has a head
        row(11, c(7, "Mai Văn Bảy", THU_DAU_MOT), Some(("H101", Relation::Child))),
        row(12, c(8, "Lò Văn Tám", NGOC_HA), Some(("H102", Relation::Head))),
        row(13, c(9, "Lò Văn Chín", NGOC_HA), Some(("H102", Relation::Head))), // second head in the batch
        row(14, c(7, "Mai Văn Bảy", THU_DAU_MOT), Some(("H101", Relation::Child))), // twice in the batch
        row(15, c(10, "Lò Văn Mười", NGOC_HA), Some(("H-1", Relation::Head))), // bad number
        row(16, c(1, "Hồ Văn Một", BA_DINH), Some(("H100", Relation::Head))),  // stored already
    ];
    let out = h.store.import_batch(&second, &ch).await.unwrap();
    assert_eq!((out.inserted, out.skipped_existing), (2, 2), "{out:?}");
    let rejected: Vec<(u64, &str)> = out.rejected.iter().map(|(l, v)| (*l, v.rule)).collect();
    assert_eq!(
        rejected,
        vec![(10, "household.head_count"), (13, "household.head_count"), (15, "household.number_format")]
    );
    assert!(h.store.get_citizen(&second[0].citizen.personal_id).await.unwrap().is_none());
    assert!(h.store.get_citizen(&second[3].citizen.personal_id).await.unwrap().is_none());
    assert_eq!(h.store.get_household("H101").await.unwrap().unwrap().members.len(), 2);
    assert_eq!(h.store.get_household("H102").await.unwrap().unwrap().head, second[2].citizen.personal_id);
    assert_eq!(h.store.get_household("H100").await.unwrap().unwrap().members.len(), 3);
    assert_eq!(h.store.count_citizens().await.unwrap(), 7);
    // Imported records are searchable.
    let r = h.store.search_citizens(&query("ho van"), &Scope::Nation).await.unwrap();
    assert_eq!(r.total, 3);
    let empty = h.store.import_batch(&[], &ch).await.unwrap();
    assert_eq!(empty, ImportOutcome::default());
}

pub(crate) const STRICT: ImportOptions = ImportOptions { append_to_existing_households: false };
pub(crate) const APPEND: ImportOptions = ImportOptions { append_to_existing_households: true };

pub(crate) fn rejected_rules(out: &ImportOutcome) -> Vec<(u64, &str)> {
    out.rejected.iter().map(|(l, v)| (*l, v.rule)).collect()
}

pub(crate) async fn members(h: &Harness, number: &str) -> Vec<(String, Relation)> {
    let v = h.store.get_household(number).await.unwrap().unwrap();
    v.members.iter().map(|m| (m.personal_id.to_string(), m.relation)).collect()
}

/// A second province whose household numbers collide with stored ones: each colliding
/// group is rejected whole and the stored households are unchanged; appending needs the
/// option and the same head.
pub(crate) async fn import_rejects_colliding_household_groups_whole(h: &Harness) {
    let a = |serial: u32, name: &str| citizen(&id(Sex::Male, 1960, serial), name, "1960", BA_DINH);
    let b = |serial: u32, name: &str| citizen(&id(Sex::Female, 1980, serial), name, "1980", THU_DAU_MOT);
    let ch = change("system:import", "tỉnh thứ nhất");
    let first = vec![
        row(2, a(1, "Đỗ Văn Một"), Some(("HK01", Relation::Head))),
        row(3, a(2, "Đỗ Văn Hai"), Some(("HK01", Relation::Spouse))),
        row(4, a(3, "Đỗ Văn Ba"), Some(("HK01", Relation::Child))),
        row(5, a(4, "Đỗ Văn Bốn"), Some(("HK02", Relation::Head))),
    ];
    let out = h.store.import_batch_with(&first, &ch, &STRICT).await.unwrap();
    assert_eq!((out.inserted, out.skipped_existing, out.rejected.len()), (4, 0, 0), "{out:?}");
    let hk01 = members(h, "HK01").await;

    // The second province, imported with the search indexes dropped as a bulk import does.
    h.store.begin_import(1_000_000).await.unwrap();
    let second = vec![
        row(2, b(1, "Vũ Thị Một"), Some(("HK01", Relation::Head))),
        row(3, b(2, "Vũ Thị Hai"), Some(("HK01", Relation::Spouse))),
        row(4, b(3, "Vũ Thị Ba"), Some(("HK03", Relation::Head))),
        row(5, b(4, "Vũ Thị Bốn"), Some(("HK03", Relation::Child))),
        // HK02 exactly as stored: already present.
        row(6, a(4, "Đỗ Văn Bốn"), Some(("HK02", Relation::Head))),
        // HK02 again with a new member: appending is not asked for.
        row(7, a(4, "Đỗ Văn Bốn"), Some(("HK02", Relation::Head))),
        row(8, b(5, "Vũ Thị Năm"), Some(("HK02", Relation::Child))),
        row(9, b(6, "Vũ Thị Sáu"), None),
    ];
    // Rows 6 to 8 are one group (contiguous, same number).
    let out = h.store.import_batch_with(&second, &change("system:import", "tỉnh thứ hai"), &STRICT).await;
    h.store.finish_import().await.unwrap();
    let out = out.unwrap();
    assert_eq!((out.inserted, out.skipped_existing), (3, 0), "{out:?}");
    assert_eq!(
        rejected_rules(&out),
        vec![
            (2, "household.exists"),
            (3, "household.exists"),
            (6, "household.exists"),
            (7, "household.exists"),
            (8, "household.exists")
        ]
    );
    assert!(out.rejected[0].1.message_en.contains("HK01"), "{:?}", out.rejected[0].1);
    assert_eq!(members(h, "HK01").await, hk01);
    assert_eq!(h.store.get_household("HK01").await.unwrap().unwrap().version, 1);
    assert_eq!(members(h, "HK02").await.len(), 1);
    for c in [&second[0], &second[1], &second[6]] {
        assert!(h.store.get_citizen(&c.citizen.personal_id).await.unwrap().is_none());
    }
    assert_eq!(members(h, "HK03").await.len(), 2);
    assert_eq!(h.store.count_citizens().await.unwrap(), 7);

    // With the option, new members join under the same head; another head is refused whole.
    let third = vec![
        row(2, a(4, "Đỗ Văn Bốn"), Some(("HK02", Relation::Head))),
        row(3, b(5, "Vũ Thị Năm"), Some(("HK02", Relation::Child))),
        row(4, b(7, "Vũ Thị Bảy"), Some(("HK01", Relation::Head))),
        row(5, b(8, "Vũ Thị Tám"), Some(("HK01", Relation::Child))),
    ];
    let out = h.store.import_batch_with(&third, &ch, &APPEND).await.unwrap();
    assert_eq!((out.inserted, out.skipped_existing), (1, 1), "{out:?}");
    assert_eq!(rejected_rules(&out), vec![(4, "household.head_count"), (5, "household.head_count")]);
    assert_eq!(members(h, "HK02").await.len(), 2);
    assert_eq!(members(h, "HK01").await, hk01);
    // The same file again: everything is already present, with or without the option.
    let again = h.store.import_batch_with(&third[..2], &ch, &STRICT).await.unwrap();
    assert_eq!((again.inserted, again.skipped_existing, again.rejected.len()), (0, 2, 0), "{again:?}");
}

/// A personal ID stored with other data is a conflict; the same row again is already
/// present; a new household whose head conflicts is rejected whole.
pub(crate) async fn import_refuses_conflicts_and_counts_exact_repeats(h: &Harness) {
    let c = |serial: u32, name: &str| citizen(&id(Sex::Male, 1985, serial), name, "1985", NGOC_HA);
    let ch = change("system:import", "nhập");
    let lone = row(2, c(1, "Trịnh Văn Một"), None);
    let out = h.store.import_batch_with(std::slice::from_ref(&lone), &ch, &STRICT).await.unwrap();
    assert_eq!(out.inserted, 1);
    let again = h.store.import_batch_with(std::slice::from_ref(&lone), &ch, &STRICT).await.unwrap();
    assert_eq!((again.inserted, again.skipped_existing, again.rejected.len()), (0, 1, 0));

    let other = row(3, c(1, "Trịnh Văn Khác"), None);
    let out = h.store.import_batch_with(std::slice::from_ref(&other), &ch, &STRICT).await.unwrap();
    assert_eq!((out.inserted, out.skipped_existing), (0, 0));
    assert_eq!(rejected_rules(&out), vec![(3, "citizen.conflict")]);
    assert!(out.rejected[0].1.message_en.contains("given_name"), "{:?}", out.rejected[0].1);
    let stored = h.store.get_citizen(&lone.citizen.personal_id).await.unwrap().unwrap();
    assert_eq!((stored.citizen, stored.version), (lone.citizen.clone(), 1));

    let batch = vec![
        // A new household whose head is the stored person with other data: refused whole.
        row(4, c(1, "Trịnh Văn Khác"), Some(("HK20", Relation::Head))),
        row(5, c(2, "Trịnh Văn Hai"), Some(("HK20", Relation::Child))),
        // A new household with a conflicting member: the member alone is refused.
        row(6, c(3, "Trịnh Văn Ba"), Some(("HK21", Relation::Head))),
        row(7, c(1, "Trịnh Văn Một"), Some(("HK21", Relation::Child))),
        // Repeated in the batch: once the same (present), once with other data.
        row(8, c(4, "Trịnh Văn Bốn"), None),
        row(9, c(4, "Trịnh Văn Bốn"), None),
        row(10, c(4, "Trịnh Văn Tư"), None),
    ];
    let out = h.store.import_batch_with(&batch, &ch, &STRICT).await.unwrap();
    assert_eq!((out.inserted, out.skipped_existing), (2, 1), "{out:?}");
    assert_eq!(
        rejected_rules(&out),
        vec![
            (4, "citizen.conflict"),
            (5, "household.head_refused"),
            (7, "citizen.conflict"),
            (10, "citizen.conflict")
        ]
    );
    assert!(h.store.get_household("HK20").await.unwrap().is_none());
    assert!(h.store.get_citizen(&batch[1].citizen.personal_id).await.unwrap().is_none());
    assert_eq!(members(h, "HK21").await, vec![(batch[2].citizen.personal_id.to_string(), Relation::Head)]);
    let stored = h.store.get_citizen(&lone.citizen.personal_id).await.unwrap().unwrap();
    assert_eq!((stored.household_no, stored.version), (None, 1));
    assert_eq!(h.store.count_citizens().await.unwrap(), 3);
}

pub(crate) async fn bulk_import_defers_and_restores_indexes(h: &Harness) {
    assert_eq!(h.search_indexes().await, 4);
    // Small imports keep the indexes.
    assert!(!h.store.begin_import(5_000).await.unwrap());
    assert_eq!(h.search_indexes().await, 4);
    assert!(h.store.begin_import(1_000_000).await.unwrap());
    assert_eq!(h.search_indexes().await, 0);
    let ch = change("system:import", "bulk");
    let rows: Vec<ImportRow> = (0..50)
        .map(|i| {
            let c = citizen(
                &id(Sex::Female, 1975, i),
                "Đinh Thị Hạnh",
                "1975",
                if i % 2 == 0 { BA_DINH } else { NGOC_HA },
            );
            row(
                i as u64 + 2,
                c,
                Some((&format!("B{}", i / 5), if i % 5 == 0 { Relation::Head } else { Relation::Child })),
            )
        })
        .collect();
    let out = h.store.import_batch(&rows, &ch).await.unwrap();
    assert_eq!((out.inserted, out.rejected.len()), (50, 0));
    // Searches work without the indexes, only slower.
    let scoped = Scope::Commune("00004".into());
    assert_eq!(h.store.search_citizens(&query("dinh thi"), &scoped).await.unwrap().total, 25);
    h.store.finish_import().await.unwrap();
    assert_eq!(h.search_indexes().await, 4);
    assert_eq!(h.store.search_citizens(&query("dinh thi"), &scoped).await.unwrap().total, 25);
    assert_eq!(h.store.get_household("B3").await.unwrap().unwrap().members.len(), 5);
    h.store.finish_import().await.unwrap();

    if let Raw::Pg { .. } = h.raw {
        // The household foreign key, dropped for the import, is back.
        let fk = h.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'citizens_household_fk'").await;
        assert_eq!(fk, 1);
    }

    // An import that never finished is repaired by migrate (run on every open), after a
    // warning naming what was missing.
    assert!(h.store.begin_import(1_000_000).await.unwrap());
    assert_eq!(h.search_indexes().await, 0);
    let log = crate::captured_log(h.store.migrate()).await;
    assert!(
        log.contains("deferred indexes missing: citizens_name, citizens_scope_name, citizens_given, citizens_household"),
        "{log}"
    );
    assert_eq!(h.search_indexes().await, 4);
}
