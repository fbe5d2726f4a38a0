//! `--duplicates`: the original rows are the rows of a plain run plus `record_id` and
//! `phone`; the duplicates come at about the asked rate, in the stream, with every kind of
//! error; the truth file covers every record; everything is deterministic.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use dancu_domain::citizen::CSV_COLUMNS;
use dancu_gen::{generate, generate_with_duplicates, ErrorKind, GenConfig, GenError, GenStats};
use unicode_normalization::is_nfc;

fn cfg(people: u64, seed: u64) -> GenConfig {
    GenConfig { people, seed, provinces: Vec::new(), today: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap() }
}

fn run(cfg: &GenConfig, rate: f64) -> (Vec<u8>, Vec<u8>, GenStats) {
    let (mut out, mut truth) = (Vec::new(), Vec::new());
    let stats = generate_with_duplicates(cfg, rate, &mut out, &mut truth).unwrap();
    (out, truth, stats)
}

fn records(csv: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(csv);
    let header = r.headers().unwrap().iter().map(String::from).collect();
    (header, r.records().map(|r| r.unwrap()).collect())
}

fn truth_map(truth: &[u8]) -> Vec<(String, String)> {
    let (header, rows) = records(truth);
    assert_eq!(header, ["record_id", "person_id"]);
    rows.iter().map(|r| (r[0].to_string(), r[1].to_string())).collect()
}

#[test]
fn originals_are_the_plain_rows_and_truth_covers_every_record() {
    let cfg = cfg(20_000, 11);
    let mut plain = Vec::new();
    generate(&cfg, &mut plain).unwrap();
    let (out, truth, stats) = run(&cfg, 0.1);
    assert_eq!(stats.people, 20_000);

    let (header, rows) = records(&out);
    let mut expected: Vec<String> = CSV_COLUMNS.iter().map(|c| c.to_string()).collect();
    expected.extend(["record_id".into(), "phone".into()]);
    assert_eq!(header, expected);
    assert_eq!(rows.len() as u64, stats.records);
    assert!(rows.iter().all(|r| r.len() == 30));

    let truth = truth_map(&truth);
    assert_eq!(truth.len(), rows.len());
    let ids: Vec<&str> = rows.iter().map(|r| &r[28]).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "record ids are unique");
    for (row, (rid, _)) in rows.iter().zip(&truth) {
        assert_eq!(&row[28], rid, "truth rows follow the file order");
    }
    let person: HashMap<&str, &str> = truth.iter().map(|(r, p)| (r.as_str(), p.as_str())).collect();
    for (rid, pid) in &truth {
        assert_eq!(person[pid.as_str()], pid, "{rid}: person {pid} is an original record");
    }

    // The originals, without the two extra columns, are byte for byte the plain output.
    let plain_lines: Vec<&[u8]> = plain.split(|&b| b == b'\n').skip(1).filter(|l| !l.is_empty()).collect();
    let mut originals = Vec::new();
    for (line, (rid, pid)) in out.split(|&b| b == b'\n').skip(1).filter(|l| !l.is_empty()).zip(&truth) {
        if rid == pid {
            let cut = line.len() - line.iter().rev().position(|&b| b == b',').unwrap() - 1;
            let cut = cut - line[..cut].iter().rev().position(|&b| b == b',').unwrap() - 1;
            originals.push(&line[..cut]);
        }
    }
    assert_eq!(originals, plain_lines);

    // Phones: 10 digits, a mobile prefix; some people have none.
    let phones: Vec<&str> = rows.iter().map(|r| &r[29]).collect();
    let with = phones.iter().filter(|p| !p.is_empty()).count();
    assert!(with > rows.len() / 2 && with < rows.len(), "{with} phones");
    for p in phones.iter().filter(|p| !p.is_empty()) {
        assert!(p.len() == 10 && p.bytes().all(|b| b.is_ascii_digit()), "{p}");
        assert!(matches!(&p[..2], "03" | "05" | "07" | "08" | "09"), "{p}");
    }
}

#[test]
fn rate_is_honoured_and_duplicates_are_interleaved() {
    for rate in [0.05, 0.1, 0.3] {
        let (out, truth, stats) = run(&cfg(30_000, 3), rate);
        let extra = (stats.records - stats.people) as f64 / stats.people as f64;
        assert!((extra - rate).abs() < rate * 0.12 + 0.003, "rate {rate}: {extra}");
        let truth = truth_map(&truth);
        let per_person = truth.iter().fold(HashMap::new(), |mut m, (_, p)| {
            *m.entry(p.clone()).or_insert(0u32) += 1;
            m
        });
        assert!(per_person.values().any(|&n| n == 3), "some people have two duplicates");
        assert!(per_person.values().all(|&n| n <= 3));
        // Duplicates are spread through the file, each not long after its original.
        let pos: HashMap<&str, usize> = truth.iter().enumerate().map(|(i, (r, _))| (r.as_str(), i)).collect();
        let dups: Vec<usize> = truth.iter().filter(|(r, p)| r != p).map(|(r, _)| pos[r.as_str()]).collect();
        assert!(dups.iter().filter(|&&i| i < truth.len() / 2).count() > dups.len() / 3);
        for (r, p) in truth.iter().filter(|(r, p)| r != p) {
            let gap = pos[r.as_str()] - pos[p.as_str()];
            assert!((1..4000).contains(&gap), "{r} is {gap} rows after {p}");
        }
        let _ = out;
    }
    let mut sink = Vec::new();
    assert!(matches!(
        generate_with_duplicates(&cfg(10, 1), 1.5, &mut sink, std::io::sink()),
        Err(GenError::DuplicateRate(_))
    ));
}

#[test]
fn deterministic() {
    let a = run(&cfg(5_000, 9), 0.2);
    let b = run(&cfg(5_000, 9), 0.2);
    assert!(a.0 == b.0 && a.1 == b.1 && a.2 == b.2);
    let c = run(&cfg(5_000, 10), 0.2);
    assert!(a.0 != c.0);
}

#[test]
fn every_error_kind_occurs() {
    let (out, truth, stats) = run(&cfg(20_000, 5), 0.3);
    for k in ErrorKind::ALL {
        assert!(stats.errors[k as usize] > 10, "{:?}: {}", k, stats.errors[k as usize]);
    }
    // Usually one to three errors per duplicate.
    let dups = stats.records - stats.people;
    let errors: u64 = stats.errors.iter().sum();
    let mean = errors as f64 / dups as f64;
    assert!((1.5..2.2).contains(&mean), "{mean} errors per duplicate");

    // And they show in the file: compare each duplicate with its original.
    let (_, rows) = records(&out);
    let truth = truth_map(&truth);
    let by_rid: HashMap<&str, &csv::StringRecord> = rows.iter().map(|r| (&r[28], r)).collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut see = |k: &'static str, yes: bool| {
        if yes {
            *seen.entry(k).or_default() += 1;
        }
    };
    for (rid, pid) in truth.iter().filter(|(r, p)| r != p) {
        let (d, o) = (by_rid[rid.as_str()], by_rid[pid.as_str()]);
        let (id, fam, mid, giv, birth, unit) = (&d[0], &d[1], &d[2], &d[3], &d[5], &d[12]);
        see("given_first", fam == &o[3] && giv == &o[1] && fam != giv);
        see("missing_middle", mid.is_empty() && !o[2].is_empty());
        see("extra_middle", mid.split(' ').count() > o[2].split(' ').filter(|w| !w.is_empty()).count());
        see("telex", giv.contains("Dd") || fam.starts_with("Dd") || giv.ends_with(['s', 'f', 'r', 'x', 'j']));
        let slip = |a: &str, b: &str| {
            a != b
                && is_nfc(a)
                && a.is_ascii() == b.is_ascii()
                && a.chars().count().abs_diff(b.chars().count()) <= 1
        };
        see("typo", slip(giv, &o[3]) || slip(fam, &o[1]));
        see(
            "swap_day_month",
            birth.len() == 10 && o[5].len() == 10 && birth[..4] == o[5][..4] && birth != &o[5],
        );
        see("year_only", birth.len() == 4 && o[5].len() == 10);
        see("id_missing", id.is_empty());
        see("id_cmnd", id.len() == 9);
        see(
            "id_wrong_digit",
            id.len() == 12 && id.bytes().zip(o[0].bytes()).filter(|(a, b)| a != b).count() == 1,
        );
        see("legacy_address", unit.starts_with("legacy:") && o[12].starts_with("2025:"));
        see("phone_changed", d[29] != o[29]);
        see("drop_marks", fam.is_ascii() && !o[1].is_ascii());
        see("nfd", !is_nfc(fam) || !is_nfc(giv));
        see("legacy_encoding", fam.chars().chain(giv.chars()).any(|c| "¶¬¨ÔÕÒÓ¹©®".contains(c)));
    }
    for k in ErrorKind::ALL {
        assert!(seen.get(k.code()).copied().unwrap_or(0) > 5, "{} not seen in the file: {seen:?}", k.code());
    }

    // A legacy address names a legacy commune that maps to the original 2025 commune alone.
    let units = dancu_domain::units::admin_units();
    for r in rows.iter().filter(|r| r[12].starts_with("legacy:")).take(200) {
        let conv = units.convert_legacy(&r[12][7..]);
        assert!(matches!(conv, dancu_domain::units::Conversion::One(_)), "{}", &r[12]);
    }
}
