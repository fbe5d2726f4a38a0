//! The demo's data folder end to end: a population with planted duplicate registrations is
//! imported, `registry-dedup` proposes pairs, and they are mostly the planted ones (checked
//! against the generator's truth file); a second run proposes nothing new.

use std::collections::{HashMap, HashSet};
use std::process::Command;

fn dancu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dancu")).args(args).env("DANCU_LOG", "warn").output().unwrap()
}

#[test]
fn planted_duplicates_are_proposed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = dancu(&["demo", "--no-serve", "--people", "20000", "--data-dir", data]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let db = dir.path().join("dancu.db");
    let c = rusqlite::Connection::open(&db).unwrap();
    let pairs: Vec<(String, String)> = c
        .prepare("SELECT left_id, right_id FROM dedup_candidates")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // Which person each stored personal ID is (first row with that ID in the file).
    let truth: HashMap<String, String> = csv::Reader::from_path(dir.path().join("demo-duplicates-truth.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_string(), r[1].to_string()))
        .collect();
    let stored: HashSet<String> = c
        .prepare("SELECT personal_id FROM citizens")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut person: HashMap<String, String> = HashMap::new();
    let mut rdr = csv::Reader::from_path(dir.path().join("demo-citizens.csv")).unwrap();
    let h = rdr.headers().unwrap().clone();
    let (pi, ri) = (
        h.iter().position(|x| x == "personal_id").unwrap(),
        h.iter().position(|x| x == "record_id").unwrap(),
    );
    for r in rdr.records() {
        let r = r.unwrap();
        if stored.contains(&r[pi]) && !person.contains_key(&r[pi]) {
            person.insert(r[pi].to_string(), truth[&r[ri]].clone());
        }
    }
    let correct = pairs.iter().filter(|(a, b)| person.get(a) == person.get(b)).count();
    assert!(pairs.len() >= 10, "{} pairs", pairs.len());
    assert!(correct * 10 >= pairs.len() * 9, "{correct} of {} pairs are planted duplicates", pairs.len());

    // A second run proposes nothing new.
    let url = format!("sqlite://{}", db.display());
    let out = dancu(&["registry-dedup", "--database-url", &url, "--scope", "province:24"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(" 0 new"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
