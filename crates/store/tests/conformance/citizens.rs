//! Citizens: migrations, create, read, update with history, search.

use super::*;

pub(crate) async fn migrate_twice_is_a_no_op(h: &Harness) {
    assert_eq!(h.store.migrate().await.unwrap(), Vec::<i64>::new());
    assert_eq!(h.store.migrate().await.unwrap(), Vec::<i64>::new());
    h.store.ping().await.unwrap();
    assert_eq!(h.store.count_citizens().await.unwrap(), 0);
}

/// Every applied migration is recorded with the SHA-256 of its file; a database migrated
/// before checksums gets them on the next start; an applied migration whose file no longer
/// matches (here: its recorded checksum changed) stops the start, naming the version.
pub(crate) async fn migrations_are_checksummed_and_edits_refused(h: &Harness) {
    use sha2::Digest;
    let (dir, url) = match &h.raw {
        Raw::Sqlite(path) => ("sqlite", format!("sqlite://{}", path.display())),
        Raw::Pg { url, .. } => ("postgres", url.clone()),
    };
    let file =
        std::fs::read(format!("{}/migrations/{dir}/0001_init.sql", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let sum = hex::encode(sha2::Sha256::digest(&file));
    let with_sum = format!("SELECT count(*) FROM schema_migrations WHERE version = 1 AND checksum = '{sum}'");
    let missing = "SELECT count(*) FROM schema_migrations WHERE checksum IS NULL";
    assert_eq!(h.scalar(&with_sum).await, 1);
    assert_eq!(h.scalar(missing).await, 0);
    assert!(h.scalar("SELECT count(*) FROM schema_migrations").await >= 7);

    // A database from before checksums: the column is added and filled on the next start.
    h.exec("ALTER TABLE schema_migrations DROP COLUMN checksum").await.unwrap();
    assert_eq!(h.store.migrate().await.unwrap(), Vec::<i64>::new());
    assert_eq!(h.scalar(&with_sum).await, 1);
    assert_eq!(h.scalar(missing).await, 0);

    // Migration 3 as applied no longer matches its file: refused, by migrate and by open.
    let forged = "0".repeat(64);
    h.exec(&format!("UPDATE schema_migrations SET checksum = '{forged}' WHERE version = 3")).await.unwrap();
    let err = h.store.migrate().await.unwrap_err().to_string();
    assert!(err.contains("migration 3 (card_renewal) was edited"), "{err}");
    assert!(err.contains(&forged), "{err}");
    let err = dancu_store::open(&url, h.key.clone()).await.map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("migration 3 (card_renewal) was edited"), "{err}");
    // Nothing was overwritten.
    let kept = format!("SELECT count(*) FROM schema_migrations WHERE version = 3 AND checksum = '{forged}'");
    assert_eq!(h.scalar(&kept).await, 1);
}

pub(crate) async fn create_get_and_duplicate(h: &Harness) {
    let c = citizen(&id(Sex::Male, 1990, 1), "Nguyễn Văn An", "1990-03-07", BA_DINH);
    let ch = change("officer:lan", "đăng ký mới");
    let stored = h.store.create_citizen(&c, &ch).await.unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!((stored.scope_province.as_str(), stored.scope_commune.as_str()), ("01", "00004"));

    let got = h.store.get_citizen(&c.personal_id).await.unwrap().unwrap();
    assert_eq!(got, stored);
    assert_eq!(got.citizen, c);
    assert_eq!(got.created_at, ch.at);
    assert_eq!(got.updated_by, "officer:lan");
    assert_eq!(got.change_reason, "đăng ký mới");
    assert_eq!(got.household_no, None);

    let again = h.store.create_citizen(&c, &change("officer:lan", "lần hai")).await;
    assert_eq!(rule_of(again), "citizen.duplicate_id");
    assert!(h.store.get_citizen(&pid(&id(Sex::Male, 1990, 2))).await.unwrap().is_none());
    assert_eq!(h.store.count_citizens().await.unwrap(), 1);
}

pub(crate) async fn full_record_round_trips(h: &Harness) {
    let father = id(Sex::Male, 1930, 7);
    let mut d = draft(&id(Sex::Female, 1955, 3), "Lê Thị Thuỷ", "1955-11", NGOC_HA);
    d.other_names = "Bà Ba".into();
    d.birth_place = "legacy:00004".into();
    d.hometown = BA_DINH.into();
    d.ethnicity = "02".into();
    d.religion = "01".into();
    d.temporary_unit = THU_DAU_MOT.into();
    d.temporary_detail = "Khu phố 2".into();
    d.current_unit = BA_DINH.into();
    d.current_detail = "Ngõ 5".into();
    d.father_id = father.clone();
    d.father_name = "Lê Văn Bảy".into();
    d.mother_name = "Phạm Thị Tám".into();
    d.spouse_id = id(Sex::Male, 1950, 9);
    d.cmnd = "012345678".into();
    d.status = "deceased".into();
    d.death_date = "2020-01-02".into();
    let c = d.validate(today()).unwrap();
    h.store.create_citizen(&c, &change("system:test", "full")).await.unwrap();
    let got = h.store.get_citizen(&c.personal_id).await.unwrap().unwrap();
    assert_eq!(got.citizen, c);
    // The current residence decides the scope.
    assert_eq!((got.scope_province.as_str(), got.scope_commune.as_str()), ("01", "00004"));
    let y = h
        .store
        .create_citizen(&citizen(&id(Sex::Male, 1940, 1), "Đỗ An", "1940", NGOC_HA), &change("a", "b"))
        .await;
    assert_eq!(y.unwrap().citizen.birth_date, PartialDate::Year(1940));
}

pub(crate) async fn update_keeps_history_and_checks_version(h: &Harness) {
    let c = citizen(&id(Sex::Female, 1992, 5), "Trần Thị Mai", "1992-08-15", BA_DINH);
    let first = change("officer:lan", "đăng ký");
    h.store.create_citizen(&c, &first).await.unwrap();

    let mut moved = c.to_draft();
    moved.permanent_unit = THU_DAU_MOT.into();
    moved.given_name = "Mây".into();
    let moved = moved.validate(today()).unwrap();
    let second = change("officer:hung", "chuyển hộ khẩu");
    let v2 = h.store.update_citizen(&moved, 1, &second).await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.citizen, moved);
    assert_eq!((v2.scope_province.as_str(), v2.scope_commune.as_str()), ("79", "25747"));
    assert_eq!(v2.updated_by, "officer:hung");
    assert_eq!(v2.updated_at, second.at);
    assert_eq!(v2.created_at, first.at);

    let stale = h.store.update_citizen(&c, 1, &change("officer:x", "cũ")).await;
    assert!(matches!(stale, Err(StoreError::VersionMismatch { expected: 1, actual: 2 })), "{stale:?}");

    let third = change("officer:lan", "sửa tên");
    h.store.update_citizen(&c, 2, &third).await.unwrap();
    let hist = h.store.citizen_history(&c.personal_id).await.unwrap();
    assert_eq!(hist.iter().map(|v| v.version).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(hist[1].citizen, c);
    assert_eq!((hist[1].changed_by.as_str(), hist[1].reason.as_str()), ("officer:lan", "đăng ký"));
    assert_eq!(hist[1].changed_at, first.at);
    assert_eq!(hist[0].citizen, moved);
    assert_eq!((hist[0].changed_by.as_str(), hist[0].reason.as_str()), ("officer:hung", "chuyển hộ khẩu"));
    assert_eq!(hist[0].changed_at, second.at);

    let now = h.store.get_citizen(&c.personal_id).await.unwrap().unwrap();
    assert_eq!((now.version, now.citizen.clone()), (3, c.clone()));

    let ghost = citizen(&id(Sex::Male, 1970, 1), "Hà Văn Ma", "1970", BA_DINH);
    assert!(matches!(h.store.update_citizen(&ghost, 1, &third).await, Err(StoreError::NotFound)));
}

/// Citizens shared by the search checks.
pub(crate) async fn seed_search(h: &Harness) -> Vec<Citizen> {
    let people = [
        citizen(&id(Sex::Male, 1980, 1), "Nguyễn Văn An", "1980-01-02", BA_DINH),
        citizen(&id(Sex::Male, 1985, 2), "Nguyễn Văn Bình", "1985", NGOC_HA),
        citizen(&id(Sex::Female, 1980, 3), "Nguyễn Thị Hoà", "1980-05", THU_DAU_MOT),
        citizen(&id(Sex::Male, 1980, 4), "Trần Văn An", "1980-01-02", BA_DINH),
        citizen(&id(Sex::Female, 1990, 5), "Nguyễn Vân Anh", "1990-12-31", BA_DINH),
        citizen(&id(Sex::Male, 1991, 6), "Nguyễn Văn An", "1991-04-04", THU_DAU_MOT),
    ];
    let ch = change("system:test", "seed");
    for c in &people {
        h.store.create_citizen(c, &ch).await.unwrap();
    }
    people.to_vec()
}

pub(crate) async fn search_by_name_year_date_commune(h: &Harness) {
    let p = seed_search(h).await;
    let nation = Scope::Nation;

    let r = h.store.search_citizens(&query("nguyen van"), &nation).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Văn An", "Nguyễn Văn An", "Nguyễn Vân Anh", "Nguyễn Văn Bình"]);
    assert_eq!(r.total, 4);
    // Same order for equal names: by personal ID.
    assert!(r.items[0].personal_id < r.items[1].personal_id);
    // Marks and case do not matter.
    let r2 = h.store.search_citizens(&query("  NGUYỄN   Văn "), &nation).await.unwrap();
    assert_eq!(r2.total, 4);
    let r = h.store.search_citizens(&query("nguyen van an"), &nation).await.unwrap();
    assert_eq!(r.total, 3, "{:?}", names(&r));
    let r = h.store.search_citizens(&query("nguyen thi hoa"), &nation).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Thị Hoà"]);
    assert_eq!(r.items[0].birth_date, PartialDate::YearMonth(1980, 5));
    assert_eq!(r.items[0].sex, Sex::Female);
    assert_eq!(r.items[0].scope_commune, "25747");

    let by_year = CitizenQuery { birth_year: Some(1980), limit: 10, ..Default::default() };
    let r = h.store.search_citizens(&by_year, &nation).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Thị Hoà", "Nguyễn Văn An", "Trần Văn An"]);

    let by_date =
        CitizenQuery { birth_date: Some("1980-01-02".parse().unwrap()), limit: 10, ..Default::default() };
    let r = h.store.search_citizens(&by_date, &nation).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Văn An", "Trần Văn An"]);

    let name_and_year = CitizenQuery { birth_year: Some(1991), ..query("nguyen van an") };
    let r = h.store.search_citizens(&name_and_year, &nation).await.unwrap();
    assert_eq!(r.items.len(), 1);
    assert_eq!(r.items[0].personal_id, p[5].personal_id);

    let by_commune = CitizenQuery { commune: Some("00004".into()), limit: 10, ..Default::default() };
    let r = h.store.search_citizens(&by_commune, &nation).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Văn An", "Nguyễn Vân Anh", "Trần Văn An"]);

    let by_id = CitizenQuery { personal_id: Some(p[3].personal_id), limit: 10, ..Default::default() };
    let r = h.store.search_citizens(&by_id, &nation).await.unwrap();
    assert_eq!(names(&r), vec!["Trần Văn An"]);

    let none = h.store.search_citizens(&query("zzz"), &nation).await.unwrap();
    assert_eq!((none.total, none.items.len()), (0, 0));
}

pub(crate) async fn search_respects_scope_and_pages(h: &Harness) {
    let p = seed_search(h).await;
    let ba_dinh = Scope::Commune("00004".into());
    let r = h.store.search_citizens(&query("nguyen"), &ba_dinh).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Văn An", "Nguyễn Vân Anh"]);
    assert!(r.items.iter().all(|s| s.scope_commune == "00004"));
    // Asking for another commune inside a commune scope finds nothing.
    let other = CitizenQuery { commune: Some("00008".into()), limit: 10, ..Default::default() };
    assert_eq!(h.store.search_citizens(&other, &ba_dinh).await.unwrap().total, 0);
    // Nor does asking for an out-of-scope person by ID or by household.
    let by_id = CitizenQuery { personal_id: Some(p[2].personal_id), limit: 10, ..Default::default() };
    assert_eq!(h.store.search_citizens(&by_id, &ba_dinh).await.unwrap().total, 0);

    let hcm = Scope::Province("79".into());
    let r = h.store.search_citizens(&query("nguyen"), &hcm).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Thị Hoà", "Nguyễn Văn An"]);
    let hanoi = Scope::Province("01".into());
    let r = h.store.search_citizens(&query("nguyen"), &hanoi).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Văn An", "Nguyễn Vân Anh", "Nguyễn Văn Bình"]);

    // Pages.
    let all = h.store.search_citizens(&query("nguyen"), &Scope::Nation).await.unwrap();
    assert_eq!(all.total, 5);
    let mut paged = Vec::new();
    for offset in [0, 2, 4] {
        let q = CitizenQuery { limit: 2, offset, ..query("nguyen") };
        let page = h.store.search_citizens(&q, &Scope::Nation).await.unwrap();
        assert_eq!((page.total, page.limit, page.offset), (5, 2, offset));
        paged.extend(page.items);
    }
    assert_eq!(paged, all.items);
    let past = CitizenQuery { limit: 2, offset: 10, ..query("nguyen") };
    let page = h.store.search_citizens(&past, &Scope::Nation).await.unwrap();
    assert_eq!((page.total, page.items.len()), (5, 0));

    // By household, within scope.
    let hh = household(
        "HN0001",
        &[(p[0].personal_id.as_str(), Relation::Head), (p[4].personal_id.as_str(), Relation::Child)],
    );
    h.store.create_household(&hh, &change("officer:lan", "lập hộ")).await.unwrap();
    let by_hh = CitizenQuery { household_no: Some("HN0001".into()), limit: 10, ..Default::default() };
    let r = h.store.search_citizens(&by_hh, &ba_dinh).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Văn An", "Nguyễn Vân Anh"]);
    assert!(r.items.iter().all(|s| s.household_no.as_deref() == Some("HN0001")));
    assert_eq!(h.store.search_citizens(&by_hh, &hcm).await.unwrap().total, 0);
}

/// Name words match the start of any word of the name, in any order: the family name last,
/// the given name alone with a birth year, the first letters of each word.
pub(crate) async fn name_words_match_in_any_order_and_in_part(h: &Harness) {
    seed_search(h).await;
    let nation = Scope::Nation;
    let words = |w: &[&str], year: Option<i32>| CitizenQuery {
        name_words: w.iter().map(|s| s.to_string()).collect(),
        birth_year: year,
        limit: 10,
        ..Default::default()
    };
    let r = h.store.search_citizens(&words(&["an", "nguyen"], None), &nation).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Văn An", "Nguyễn Văn An", "Nguyễn Vân Anh"]);
    let r = h.store.search_citizens(&words(&["an"], Some(1980)), &nation).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Văn An", "Trần Văn An"]);
    let r = h.store.search_citizens(&words(&["ng", "v", "bi"], None), &nation).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Văn Bình"]);
    // A word matches the start of a word only: "uyen" is inside "nguyen", not at its start.
    let r = h.store.search_citizens(&words(&["uyen"], None), &nation).await.unwrap();
    assert_eq!(r.total, 0);
    // Beyond a commune the words go through the family- and given-name indexes: a province
    // sees its own people, pages follow the name order.
    let hanoi = Scope::Province("01".into());
    let r = h.store.search_citizens(&words(&["an"], None), &hanoi).await.unwrap();
    assert_eq!(names(&r), vec!["Nguyễn Văn An", "Nguyễn Vân Anh", "Trần Văn An"]);
    let page2 = CitizenQuery { offset: 2, limit: 2, ..words(&["an"], None) };
    let r = h.store.search_citizens(&page2, &nation).await.unwrap();
    assert_eq!((names(&r), r.total), (vec!["Nguyễn Vân Anh", "Trần Văn An"], 4));
    // A word that only starts a middle name is still found, by reading the scope.
    let r = h.store.search_citizens(&words(&["van"], None), &nation).await.unwrap();
    assert_eq!(r.total, 5, "{:?}", names(&r));
    let r = h.store.search_citizens(&words(&["van", "thi"], None), &nation).await.unwrap();
    assert_eq!(r.total, 0);
}
