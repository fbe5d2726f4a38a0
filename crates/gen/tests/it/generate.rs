//! Every generated row must pass the domain's own validation, households must be well
//! formed, output must be deterministic, and the population must look like Vietnam's.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use dancu_domain::citizen::{CitizenDraft, CSV_COLUMNS};
use dancu_domain::household::{Household, Member};
use dancu_domain::units::admin_units;
use dancu_domain::{LifeStatus, PersonalId, Relation, Sex, UnitList};
use dancu_gen::{generate, GenConfig, GenError};
use unicode_normalization::is_nfc;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn cfg(people: u64, seed: u64) -> GenConfig {
    GenConfig { people, seed, provinces: Vec::new(), today: today() }
}

fn run(cfg: &GenConfig) -> Vec<u8> {
    let mut out = Vec::new();
    let stats = generate(cfg, &mut out).unwrap();
    assert_eq!(stats.people, cfg.people);
    out
}

fn records(csv: &[u8]) -> Vec<csv::StringRecord> {
    let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(csv);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, CSV_COLUMNS);
    r.records().map(|r| r.unwrap()).collect()
}

#[derive(Default)]
struct Tally {
    n: usize,
    counts: HashMap<&'static str, usize>,
}

impl Tally {
    fn add(&mut self, k: &'static str, yes: bool) {
        if yes {
            *self.counts.entry(k).or_default() += 1;
        }
    }
    fn share(&self, k: &str) -> f64 {
        *self.counts.get(k).unwrap_or(&0) as f64 / self.n as f64
    }
}

#[test]
fn twenty_thousand_people_all_valid() {
    let cfg = cfg(20_000, 7);
    let csv = run(&cfg);
    let recs = records(&csv);
    assert_eq!(recs.len(), 20_000);
    let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    let (c_hh, c_rel) = (col("household_no"), col("relation_to_head"));

    let mut ids = HashSet::new();
    let mut cmnds = HashSet::new();
    let mut seen_households = HashSet::new();
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut citizens = Vec::with_capacity(recs.len());
    let mut t = Tally { n: recs.len(), ..Default::default() };
    for (i, rec) in recs.iter().enumerate() {
        assert_eq!(rec.len(), 28, "row {i}");
        for f in rec.iter() {
            assert!(is_nfc(f), "row {i}: {f:?} is not NFC");
        }
        let c = CitizenDraft::from_columns(rec.iter())
            .validate(today())
            .unwrap_or_else(|e| panic!("row {i} {rec:?}: {e:?}"));
        assert!(ids.insert(c.personal_id), "duplicate ID {}", c.personal_id);
        if let Some(cmnd) = c.cmnd {
            assert!(cmnds.insert(cmnd), "duplicate CMND {cmnd}");
        }
        let hh = rec[c_hh].to_string();
        Relation::parse(&rec[c_rel]).unwrap();
        match groups.last_mut() {
            Some((n, rows)) if *n == hh => rows.push(i),
            _ => {
                assert!(seen_households.insert(hh.clone()), "household {hh} is not contiguous");
                groups.push((hh, vec![i]));
            }
        }

        let age = c.birth_date.age_on(today());
        assert!((0..=101).contains(&age), "age {age}");
        t.add("0-14", age < 15);
        t.add("65+", age >= 65);
        t.add("nguyen", c.name.family == "Nguyễn");
        t.add("tran", c.name.family == "Trần");
        t.add("four words", c.name.middle.contains(' '));
        t.add("year only", matches!(c.birth_date, dancu_domain::PartialDate::Year(_)));
        t.add("cmnd", c.cmnd.is_some());
        t.add("deceased", c.status == LifeStatus::Deceased);
        t.add("missing", c.status == LifeStatus::Missing);
        t.add("temporary", c.temporary.is_some());
        t.add("kinh", c.ethnicity == "01");
        t.add("no religion", c.religion == "00");
        t.add("male", c.sex == Sex::Male);
        t.add("born 2025 list", c.birth_place.is_some_and(|u| u.list == UnitList::V2025));
        t.add("father named", !c.father_name.is_empty());
        if c.status == LifeStatus::Deceased {
            assert!(c.death_date.is_some_and(|d| d.earliest() < today()));
        }
        // Nothing happens on `today` itself (a reader a few hours behind would refuse it).
        assert!(c.birth_date.earliest() < today());
        // The ID prefix is the legacy province of the place of birth.
        let bp = c.birth_place.expect("every generated person has a place of birth");
        let prefix = &c.personal_id.province_prefix()[1..];
        match bp.list {
            UnitList::Legacy => assert_eq!(prefix, bp.describe().province_code, "row {i}"),
            UnitList::V2025 => {
                assert!(c.birth_date.earliest() >= NaiveDate::from_ymd_opt(2025, 7, 1).unwrap())
            }
        }
        assert_eq!(c.permanent.as_ref().unwrap().unit.list, UnitList::V2025);
        if let Some(tmp) = &c.temporary {
            assert_ne!(tmp.unit, c.permanent.as_ref().unwrap().unit);
        }
        citizens.push(c);
    }

    // Households: one head, valid numbers, links inside the household.
    let mut size_total = 0;
    for (number, rows) in &groups {
        let members: Vec<Member> = rows
            .iter()
            .map(|&i| Member {
                personal_id: citizens[i].personal_id,
                relation: Relation::parse(&recs[i][c_rel]).unwrap(),
            })
            .collect();
        assert_eq!(members[0].relation, Relation::Head, "{number}: the head comes first");
        Household { number: number.clone(), members }.validate().unwrap();
        size_total += rows.len();
        let head = &citizens[rows[0]];
        for &i in &rows[1..] {
            if &recs[i][c_rel] == "sibling" {
                let c = &citizens[i];
                assert_eq!((&c.father_name, &c.mother_name), (&head.father_name, &head.mother_name));
                assert_eq!(c.name.family, head.name.family);
            }
        }
        let by_id: HashMap<PersonalId, usize> = rows.iter().map(|&i| (citizens[i].personal_id, i)).collect();
        for &i in rows {
            let c = &citizens[i];
            if let Some(s) = c.spouse_id {
                let j = by_id[&s];
                assert_eq!(citizens[j].spouse_id, Some(c.personal_id), "spouses point at each other");
                assert_ne!(citizens[j].sex, c.sex);
            }
            for (pid, pname, sex) in
                [(c.father_id, &c.father_name, Sex::Male), (c.mother_id, &c.mother_name, Sex::Female)]
            {
                if let Some(p) = pid {
                    let p = &citizens[by_id[&p]];
                    assert_eq!(p.sex, sex);
                    assert_eq!(&p.name.full(), pname);
                    assert!(p.birth_date.year() + 15 <= c.birth_date.year(), "parent too young");
                    if let Some(d) = p.death_date {
                        assert!(d.year() >= c.birth_date.year());
                    }
                    if sex == Sex::Male {
                        assert_eq!(p.name.family, c.name.family, "children take the father's family name");
                    }
                }
            }
        }
    }
    let mean_size = size_total as f64 / groups.len() as f64;

    let print = |k: &str| eprintln!("{k:>16}: {:.2} %", 100.0 * t.share(k));
    for k in [
        "0-14",
        "65+",
        "nguyen",
        "tran",
        "four words",
        "year only",
        "cmnd",
        "deceased",
        "missing",
        "temporary",
        "kinh",
        "no religion",
        "male",
        "born 2025 list",
        "father named",
    ] {
        print(k);
    }
    eprintln!("mean household size {mean_size:.2}, {} households", groups.len());

    let within = |k: &str, lo: f64, hi: f64| {
        let s = 100.0 * t.share(k);
        assert!((lo..=hi).contains(&s), "{k}: {s:.2} % not in {lo}..={hi}");
    };
    within("0-14", 20.0, 28.0);
    within("65+", 5.5, 11.0);
    within("nguyen", 35.0, 41.0);
    within("tran", 9.0, 13.0);
    within("four words", 5.0, 15.0);
    within("deceased", 0.6, 1.6);
    within("missing", 0.0, 0.2);
    within("temporary", 3.5, 7.0);
    within("kinh", 83.0, 88.0);
    within("no religion", 83.0, 90.0);
    within("male", 47.0, 53.0);
    within("year only", 1.0, 6.0);
    assert!((3.0..=4.2).contains(&mean_size), "mean household size {mean_size}");
}

#[test]
fn same_seed_same_bytes_other_seed_differs() {
    let a = run(&cfg(3_000, 42));
    let b = run(&cfg(3_000, 42));
    assert!(a == b, "same seed must give byte-identical output");
    let c = run(&cfg(3_000, 43));
    assert!(a != c);
    // Another seed also hands out other ID numbers.
    let ids = |csv: &[u8]| -> HashSet<String> { records(csv).iter().map(|r| r[0].to_string()).collect() };
    let (ia, ic) = (ids(&a), ids(&c));
    assert!(ia.intersection(&ic).count() < 30, "{} shared IDs", ia.intersection(&ic).count());
}

#[test]
fn stops_exactly_and_keeps_the_head() {
    for n in [0u64, 1, 2, 3, 5, 17, 101] {
        let csv = run(&cfg(n, n));
        let recs = records(&csv);
        assert_eq!(recs.len() as u64, n);
        if let Some(first) = recs.first() {
            assert_eq!(&first[27], "head");
        }
        let mut heads: HashMap<String, usize> = HashMap::new();
        for r in &recs {
            CitizenDraft::from_columns(r.iter()).validate(today()).unwrap();
            *heads.entry(r[26].to_string()).or_default() += (&r[27] == "head") as usize;
        }
        assert!(heads.values().all(|&h| h == 1));
        // Links to members cut off by the limit are dropped, not left dangling.
        let ids: HashSet<&str> = recs.iter().map(|r| &r[0]).collect();
        for r in &recs {
            for c in [18, 20, 22] {
                assert!(r[c].is_empty() || ids.contains(&r[c]), "dangling {}", &r[c]);
            }
        }
    }
}

#[test]
fn provinces_restrict_residence() {
    let mut c = cfg(2_000, 5);
    c.provinces = vec!["79".into(), "01".into()];
    let recs = records(&run(&c));
    let units = admin_units();
    let mut seen = HashSet::new();
    for r in &recs {
        for col in [12, 14] {
            if r[col].is_empty() {
                continue;
            }
            let code = r[col].strip_prefix("2025:").unwrap();
            let p = &units.commune_2025(code).unwrap().province_code;
            assert!(p == "79" || p == "01", "{code} is in province {p}");
            seen.insert(p.clone());
        }
    }
    assert_eq!(seen.len(), 2);

    c.provinces = vec!["02".into()]; // Hà Giang: a legacy province, not a 2025 one
    assert!(matches!(generate(&c, Vec::new()), Err(GenError::UnknownProvince(p)) if p == "02"));
}

#[test]
fn newborns_after_the_reform_use_the_2025_list() {
    let csv = run(&cfg(20_000, 11));
    let reform = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
    let mut n = 0;
    for r in records(&csv) {
        let c = CitizenDraft::from_columns(r.iter()).validate(today()).unwrap();
        let bp = c.birth_place.unwrap();
        if c.birth_date.earliest() >= reform {
            assert_eq!(bp.list, UnitList::V2025);
            n += 1;
        } else {
            assert_eq!(bp.list, UnitList::Legacy);
        }
    }
    assert!(n > 50, "{n} people born since July 2025");
}

#[test]
fn the_example_in_docs_csv_md_is_valid() {
    let doc = include_str!("../../../../docs/CSV.md");
    let block = doc.split("```csv\n").nth(1).unwrap().split("```").next().unwrap();
    let recs = records(block.as_bytes());
    assert_eq!(recs.len(), 4);
    let mut members = Vec::new();
    for r in &recs {
        let c = CitizenDraft::from_columns(r.iter()).validate(today()).unwrap_or_else(|e| panic!("{e:?}"));
        members.push(Member { personal_id: c.personal_id, relation: Relation::parse(&r[27]).unwrap() });
    }
    Household { number: recs[0][26].to_string(), members }.validate().unwrap();
}
