//! Data-quality rules and worklists; deduplication.

use super::*;

/// A record no rule flags: birth place and home town given.
pub(crate) fn complete(pid: &str, name: &str, birth: &str, unit: &str) -> Citizen {
    let mut d = draft(pid, name, birth, unit);
    d.birth_place = unit.into();
    d.hometown = unit.into();
    d.validate(today()).unwrap_or_else(|e| panic!("{pid}: {e:?}"))
}

pub(crate) fn counts_of(summary: &[(&quality::Rule, quality::Counts)], rule: &str) -> (u64, u64, u64, u64) {
    let c = summary.iter().find(|(r, _)| r.code == rule).unwrap().1;
    (c.found, c.fixed, c.failed, c.remaining)
}

pub(crate) async fn open_subjects(s: &dyn Store, scope: &Scope, rule: &str) -> Vec<(String, String)> {
    let page = quality::worklist(s, scope, rule, false, 50, 0).await.unwrap();
    assert_eq!(page.total as usize, page.items.len());
    page.items.into_iter().map(|f| (f.subject, f.detail)).collect()
}

pub(crate) async fn quality_rules_find_fix_and_count(h: &Harness) {
    let s = h.store.as_ref();
    let nation = Scope::Nation;
    let ch = || change("system:test", "dữ liệu kiểm thử");
    // Before any run every rule counts zero and the worklists are empty.
    assert!(quality::latest_run(s).await.unwrap().is_none());
    let zero = quality::summary(s, &nation).await.unwrap();
    assert_eq!(zero.len(), quality::RULES.len());
    assert!(zero.iter().all(|(_, c)| *c == quality::Counts::default()));

    // One record clean, one planted per rule.
    let clean = complete(&id(Sex::Male, 1980, 1), "Lê Văn Sạch", "1980-01-01", BA_DINH);
    let missing = citizen(&id(Sex::Female, 1981, 2), "Phạm Thị Thiếu", "1981-02-02", BA_DINH);
    let head = complete(&id(Sex::Male, 1960, 3), "Vũ Văn Chủ", "1960-03-03", BA_DINH);
    let wife = complete(&id(Sex::Female, 1962, 4), "Đỗ Thị Vợ", "1962-04-04", BA_DINH);
    let dead = complete(&id(Sex::Male, 1950, 5), "Hồ Văn Mất", "1950-05-05", BA_DINH);
    let year = complete(&id(Sex::Male, 1970, 6), "Bùi Văn Năm", "1970-06-06", BA_DINH);
    let sex = complete(&id(Sex::Male, 1971, 7), "Ngô Văn Giới", "1971-07-07", BA_DINH);
    let expired = complete(&id(Sex::Female, 1990, 8), "Đinh Thị Hạn", "1990-08-08", NGOC_HA);
    for c in [&clean, &missing, &head, &wife, &dead, &year, &sex, &expired] {
        s.create_citizen(c, &ch()).await.unwrap();
    }
    let hh = household(
        "HQ1",
        &[(head.personal_id.as_str(), Relation::Head), (wife.personal_id.as_str(), Relation::Spouse)],
    );
    s.create_household(&hh, &ch()).await.unwrap();
    // Cards: one for life (issued at 71) for the man who then dies; one issued at 22 that
    // expired at 25.
    let cards = [
        ImportCard {
            personal_id: dead.personal_id,
            issue_date: NaiveDate::from_ymd_opt(2021, 6, 1).unwrap(),
            unit: "x".into(),
        },
        ImportCard {
            personal_id: expired.personal_id,
            issue_date: NaiveDate::from_ymd_opt(2012, 9, 1).unwrap(),
            unit: "x".into(),
        },
    ];
    assert_eq!(s.import_cards(&cards, &ch()).await.unwrap(), 2);
    let expiry = s.get_cards(&expired.personal_id).await.unwrap()[0].expiry.unwrap();
    assert!(expiry < today());
    // What the application never writes, planted around it (legacy data).
    h.exec(&format!(
        "UPDATE citizens SET relation = 'spouse' WHERE personal_id = '{}';
         UPDATE citizens SET status = 'deceased', death_date = '2025-01-02', current_unit = '{BA_DINH}'
             WHERE personal_id = '{}';
         UPDATE citizens SET birth_year = 1969, birth_date = '1969-06-06' WHERE personal_id = '{}';
         UPDATE citizens SET sex = 'F' WHERE personal_id = '{}';",
        head.personal_id, dead.personal_id, year.personal_id, sex.personal_id
    ))
    .await
    .unwrap();

    let run1 = quality::run(s, "officer:admin", today(), now()).await.unwrap();
    assert_eq!(quality::latest_run(s).await.unwrap(), Some(run1.clone()));
    let pid_of = |c: &Citizen| c.personal_id.to_string();
    assert_eq!(
        open_subjects(s, &nation, "missing_fields").await,
        vec![(pid_of(&missing), "birth_place hometown".to_string())]
    );
    assert_eq!(
        open_subjects(s, &nation, "household_no_head").await,
        vec![("HQ1".into(), "members 2".into())]
    );
    assert_eq!(
        open_subjects(s, &nation, "deceased_active").await,
        vec![(pid_of(&dead), "card residence".into())]
    );
    assert_eq!(
        open_subjects(s, &nation, "card_expired").await,
        vec![(pid_of(&expired), format!("expiry {expiry}"))]
    );
    // The SQL agrees with the domain's check of the number against the record.
    let inconsistent = open_subjects(s, &nation, "id_inconsistent").await;
    assert_eq!(inconsistent.len(), 2);
    for (subject, detail) in &inconsistent {
        let c = s.get_citizen(&pid(subject)).await.unwrap().unwrap().citizen;
        let v = c.personal_id.check_against(&c.birth_date, c.sex).unwrap_err();
        assert_eq!(v.rule, detail, "{subject}");
    }
    let mut flagged: Vec<_> = inconsistent.iter().map(|(p, _)| p.clone()).collect();
    flagged.sort();
    assert_eq!(flagged, vec![pid_of(&year), pid_of(&sex)]);
    let summary = quality::summary(s, &nation).await.unwrap();
    for (rule, c) in &summary {
        let n = if rule.code == "id_inconsistent" { 2 } else { 1 };
        assert_eq!((c.found, c.fixed, c.failed, c.remaining), (n, 0, 0, n), "{}", rule.code);
    }
    // Names come with citizen findings, not household ones.
    let w = quality::worklist(s, &nation, "missing_fields", false, 50, 0).await.unwrap();
    assert_eq!(w.items[0].full_name.as_deref(), Some("Phạm Thị Thiếu"));
    assert_eq!((w.items[0].scope_province.as_str(), w.items[0].scope_commune.as_str()), ("01", "00004"));

    // Scope: the expired card is Ngọc Hà's, everything else Ba Đình's.
    let ba_dinh = Scope::Commune("00004".into());
    let ngoc_ha = Scope::Commune("00008".into());
    assert!(open_subjects(s, &ba_dinh, "card_expired").await.is_empty());
    assert_eq!(open_subjects(s, &ngoc_ha, "card_expired").await.len(), 1);
    assert!(open_subjects(s, &ngoc_ha, "missing_fields").await.is_empty());
    assert_eq!(counts_of(&quality::summary(s, &ngoc_ha).await.unwrap(), "card_expired"), (1, 0, 0, 1));
    assert_eq!(counts_of(&quality::summary(s, &ngoc_ha).await.unwrap(), "missing_fields"), (0, 0, 0, 0));
    assert_eq!(
        counts_of(&quality::summary(s, &Scope::Province("79".into())).await.unwrap(), "card_expired"),
        (0, 0, 0, 0)
    );
    assert!(quality::finding(s, &ngoc_ha, "missing_fields", &pid_of(&missing)).await.unwrap().is_none());
    assert!(quality::finding(s, &ba_dinh, "missing_fields", &pid_of(&missing)).await.unwrap().is_some());

    // Paging.
    let first = quality::worklist(s, &nation, "id_inconsistent", false, 1, 0).await.unwrap();
    let second = quality::worklist(s, &nation, "id_inconsistent", false, 1, 1).await.unwrap();
    assert_eq!((first.total, first.items.len(), second.items.len()), (2, 1, 1));
    assert_ne!(first.items[0].subject, second.items[0].subject);

    // An officer marks the year mismatch impossible to fix: failed, not remaining, at once.
    let mark = quality::Mark {
        reason: "Hồ sơ gốc bị thất lạc".into(), by: "officer:xa".into(), at: now()
    };
    quality::set_mark(s, "id_inconsistent", &pid_of(&year), Some(&mark)).await.unwrap();
    assert_eq!(counts_of(&quality::summary(s, &nation).await.unwrap(), "id_inconsistent"), (2, 0, 1, 1));
    assert_eq!(
        open_subjects(s, &nation, "id_inconsistent").await,
        vec![(pid_of(&sex), "id.sex_mismatch".into())]
    );
    let marked = quality::worklist(s, &nation, "id_inconsistent", true, 50, 0).await.unwrap();
    assert_eq!(marked.items.len(), 1);
    assert_eq!(marked.items[0].mark, Some(mark));

    // Fix two, plant a new one, run again.
    let mut fixed = missing.clone();
    fixed.birth_place = clean.birth_place;
    fixed.hometown = clean.hometown;
    s.update_citizen(&fixed, 1, &ch()).await.unwrap();
    h.exec(&format!("UPDATE citizens SET relation = 'head' WHERE personal_id = '{}'", head.personal_id))
        .await
        .unwrap();
    let late = citizen(&id(Sex::Male, 1999, 9), "Trịnh Văn Mới", "1999-09-09", NGOC_HA);
    s.create_citizen(&late, &ch()).await.unwrap();
    let run2 = quality::run(s, "officer:admin", today(), now()).await.unwrap();
    assert_eq!(run2.id, run1.id + 1);
    let summary = quality::summary(s, &nation).await.unwrap();
    assert_eq!(counts_of(&summary, "missing_fields"), (1, 1, 0, 1));
    assert_eq!(counts_of(&summary, "household_no_head"), (0, 1, 0, 0));
    assert_eq!(counts_of(&summary, "id_inconsistent"), (0, 0, 1, 1));
    assert_eq!(counts_of(&summary, "card_expired"), (0, 0, 0, 1));
    assert_eq!(
        open_subjects(s, &nation, "missing_fields").await,
        vec![(pid_of(&late), "birth_place hometown".into())]
    );
    assert!(open_subjects(s, &nation, "household_no_head").await.is_empty());
    // The fix is counted in the unit it was found in; the new finding in its own.
    assert_eq!(counts_of(&quality::summary(s, &ba_dinh).await.unwrap(), "missing_fields"), (0, 1, 0, 0));
    assert_eq!(counts_of(&quality::summary(s, &ngoc_ha).await.unwrap(), "missing_fields"), (1, 0, 0, 1));
    // History per run, newest first.
    let hist = quality::history(s, &nation, "missing_fields", 10).await.unwrap();
    let rows: Vec<_> =
        hist.iter().map(|r| (r.run_id, r.counts.found, r.counts.fixed, r.counts.remaining)).collect();
    assert_eq!(rows, vec![(run2.id, 1, 1, 1), (run1.id, 1, 0, 1)]);
    let hist = quality::history(s, &ba_dinh, "id_inconsistent", 10).await.unwrap();
    let rows: Vec<_> = hist.iter().map(|r| (r.counts.found, r.counts.failed, r.counts.remaining)).collect();
    assert_eq!(rows, vec![(0, 1, 1), (2, 0, 2)]);
    // Taking the mark back reopens the finding.
    quality::set_mark(s, "id_inconsistent", &pid_of(&year), None).await.unwrap();
    assert_eq!(counts_of(&quality::summary(s, &nation).await.unwrap(), "id_inconsistent"), (0, 0, 0, 2));
    // Only the latest run's findings are kept.
    assert_eq!(h.scalar("SELECT COUNT(DISTINCT run_id) FROM quality_findings").await, 1);
}

/// A merge moves every reference to the kept record and can be undone exactly; a rejected
/// pair is never proposed again.
pub(crate) async fn dedup_merge_moves_references_and_undoes(h: &Harness) {
    use dancu_store::dedup::{self, Evidence, NewCandidate};
    let s = h.store.as_ref();
    let ch = change("officer:lan", "seed");
    let kept = citizen(&id(Sex::Male, 1960, 61), "Phạm Văn Gộp", "1960-04-05", BA_DINH);
    let dup = citizen(&id(Sex::Male, 1960, 62), "Pham Van Gop", "1960-05-04", BA_DINH);
    let mut child = citizen(&id(Sex::Female, 1990, 63), "Phạm Thị Con", "1990", BA_DINH);
    child.father_id = Some(dup.personal_id);
    let other = citizen(&id(Sex::Male, 1961, 64), "Phạm Văn Khác", "1961", BA_DINH);
    for c in [&kept, &dup, &child, &other] {
        h.store.create_citizen(c, &ch).await.unwrap();
    }
    let hh = household(
        "HKD01",
        &[(dup.personal_id.as_str(), Relation::Head), (child.personal_id.as_str(), Relation::Child)],
    );
    h.store.create_household(&hh, &ch).await.unwrap();
    let app = h.store.create_card_application(&new_app(dup.personal_id.as_str(), true), &ch).await.unwrap();

    let ev = vec![Evidence { field: "name".into(), level: "exact".into(), weight: 9.5 }];
    let pairs = vec![
        NewCandidate {
            left: dup.personal_id,
            right: kept.personal_id,
            weight: 21.0,
            probability: 0.99,
            evidence: ev.clone(),
        },
        NewCandidate {
            left: kept.personal_id,
            right: other.personal_id,
            weight: 8.0,
            probability: 0.9,
            evidence: ev.clone(),
        },
    ];
    assert_eq!(dedup::add_candidates(s, &pairs, now()).await.unwrap(), 2);
    assert_eq!(dedup::add_candidates(s, &pairs, now()).await.unwrap(), 0, "stored once, in either order");
    let page = dedup::list(s, &Scope::Commune("00004".into()), Some("open"), 10, 0).await.unwrap();
    assert_eq!(page.total, 2);
    let first = &page.items[0];
    assert_eq!((first.weight, first.evidence.clone()), (21.0, ev.clone()));
    assert_eq!(dedup::list(s, &Scope::Commune("00008".into()), None, 10, 0).await.unwrap().total, 0);

    // Reject the weaker pair: never proposed again.
    let weak = page.items[1].id;
    dedup::reject(s, weak, "officer:lan", "hai người khác nhau", now()).await.unwrap();
    assert_eq!(rule_of(dedup::reject(s, weak, "officer:lan", "x", now()).await), "dedup.decided");
    assert_eq!(dedup::add_candidates(s, &pairs[1..], now()).await.unwrap(), 0);

    // Merge, keeping `kept`.
    let bad_keep = dedup::merge(s, first.id, &other.personal_id, "officer:lan", now()).await;
    assert_eq!(rule_of(bad_keep), "dedup.keep");
    let mg = dedup::merge(s, first.id, &kept.personal_id, "officer:lan", now()).await.unwrap();
    assert_eq!((mg.kept, mg.merged), (kept.personal_id, dup.personal_id));
    let c = s.get_citizen(&child.personal_id).await.unwrap().unwrap();
    assert_eq!(c.citizen.father_id, Some(kept.personal_id));
    assert_eq!(s.get_card_application(app.id).await.unwrap().unwrap().personal_id, kept.personal_id);
    let k = s.get_citizen(&kept.personal_id).await.unwrap().unwrap();
    assert_eq!((k.household_no.as_deref(), k.relation), (Some("HKD01"), Some(Relation::Head)));
    let d = s.get_citizen(&dup.personal_id).await.unwrap().unwrap();
    assert_eq!(d.household_no, None, "the merged record is kept, out of the household");
    assert_eq!(dedup::merged_into(s, &dup.personal_id).await.unwrap(), Some(kept.personal_id));
    let counts = dedup::counts(s, &Scope::Province("01".into()), None).await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].found, counts[0].merged, counts[0].rejected, counts[0].remaining), (2, 1, 1, 0));
    assert_eq!(rule_of(dedup::merge(s, first.id, &kept.personal_id, "o", now()).await), "dedup.decided");

    // Undo: everything back, the pair open again.
    dedup::undo(s, first.id, "officer:admin", now()).await.unwrap();
    let c = s.get_citizen(&child.personal_id).await.unwrap().unwrap();
    assert_eq!(c.citizen.father_id, Some(dup.personal_id));
    assert_eq!(s.get_card_application(app.id).await.unwrap().unwrap().personal_id, dup.personal_id);
    let d = s.get_citizen(&dup.personal_id).await.unwrap().unwrap();
    assert_eq!((d.household_no.as_deref(), d.relation), (Some("HKD01"), Some(Relation::Head)));
    assert_eq!(s.get_citizen(&kept.personal_id).await.unwrap().unwrap().household_no, None);
    assert_eq!(dedup::merged_into(s, &dup.personal_id).await.unwrap(), None);
    assert_eq!(dedup::get(s, first.id).await.unwrap().unwrap().status, "open");
    assert_eq!(rule_of(dedup::undo(s, first.id, "o", now()).await), "dedup.not_merged");
    assert_eq!(dedup::citizens_in(s, &Scope::Commune("00004".into())).await.unwrap().len(), 4);
}
