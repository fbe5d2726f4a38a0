//! The independent error model (docs/ERROR_MODEL.md): a sector list with its truth.

use std::collections::HashMap;

use dancu_gen::{generate_sector_list, GenConfig, Profile, SECTOR_COLUMNS};

fn run(profile: &Profile, seed: u64, people: u64, rate: f64) -> (String, String, dancu_gen::SectorStats) {
    let cfg = GenConfig { people, seed, ..Default::default() };
    let (mut out, mut truth) = (Vec::new(), Vec::new());
    let stats = generate_sector_list(&cfg, profile, rate, &mut out, &mut truth).unwrap();
    (String::from_utf8(out).unwrap(), String::from_utf8(truth).unwrap(), stats)
}

#[test]
fn same_seed_same_bytes_other_seed_other_list() {
    let a = run(&Profile::dev(), 5, 2000, 0.3);
    let b = run(&Profile::dev(), 5, 2000, 0.3);
    assert_eq!(a, b);
    let c = run(&Profile::dev(), 6, 2000, 0.3);
    assert_ne!(a.0, c.0);
    let d = run(&Profile::heldout(), 5, 2000, 0.3);
    assert_ne!(a.0, d.0);
}

#[test]
fn truth_covers_every_record_and_errors_are_drawn() {
    let (list, truth, stats) = run(&Profile::dev(), 11, 5000, 0.3);
    let mut rdr = csv::Reader::from_reader(list.as_bytes());
    assert_eq!(rdr.headers().unwrap().iter().collect::<Vec<_>>(), SECTOR_COLUMNS);
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len() as u64, stats.records);
    let truth_rows: Vec<&str> = truth.lines().skip(1).collect();
    assert_eq!(truth_rows.len(), rows.len());
    let mut per_person: HashMap<&str, u32> = HashMap::new();
    for (r, t) in rows.iter().zip(&truth_rows) {
        let (rid, pid) = t.split_once(',').unwrap();
        assert_eq!(&r[0], rid);
        *per_person.entry(pid).or_default() += 1;
    }
    assert_eq!(per_person.len() as u64, stats.people + stats.hard_negatives);
    let dups = rows.len() - per_person.len();
    assert!(dups > 1000 && dups < 2500, "{dups}");
    for kind in [
        "moved",
        "id_missing",
        "id_transposed",
        "date_missing",
        "date_year_off",
        "date_jan1",
        "sex_missing",
        "name_upper",
        "marks_dropped_some",
        "name_telex",
        "legacy_code",
        "hard_twin",
        "hard_namesake",
    ] {
        assert!(stats.errors.get(kind).copied().unwrap_or(0) > 0, "{kind}: {:?}", stats.errors);
    }
    // A large share of records without an ID.
    let no_id = rows.iter().filter(|r| r[4].is_empty()).count();
    assert!(no_id * 100 / rows.len() > 30, "{no_id}");
}
