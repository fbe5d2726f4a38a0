//! `dancu gen` and `dancu import citizens` as a user runs them: bad rows go to the rejects
//! file with line, field and rule; a re-run adds nothing twice; a file that breaks midway
//! keeps every batch stored before; on SQLite and PostgreSQL.

use std::path::Path;
use std::process::Command;

use crate::common::on_both_backends;

/// Runs dancu in a working folder of this test process: with a PostgreSQL URL the audit
/// key and checkpoints default to the working folder, which must not be the source tree.
fn dancu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dancu"))
        .args(args)
        .current_dir(work_dir())
        .env("DANCU_LOG", "warn")
        .output()
        .unwrap()
}

fn work_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("dancu-import-tests-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn import(csv: &Path, url: &str, rejects: &Path) -> (bool, String) {
    let out = dancu(&[
        "import",
        "citizens",
        csv.to_str().unwrap(),
        "--database-url",
        url,
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    )
}

on_both_backends!(
    bad_rows_go_to_the_rejects_file,
    a_rerun_adds_nothing_twice,
    a_file_with_unknown_columns_is_refused,
    colliding_household_numbers_are_rejected_whole,
);

/// A valid row in the 28 columns of docs/CSV.md.
fn row(id: &str, dob: &str, sex: &str) -> String {
    format!("{id},Lê,Văn,Cường,,{dob},{sex},,,01,00,VN,2025:00004,Số 3 phố Hàng Bài,,,,,,,,,,,alive,,,")
}

/// 3,000 generated people of Hà Nội, then bad rows planted after them: a bad ID, an
/// impossible date, a short row. Returns the file and its header.
fn with_bad_rows(dir: &Path) -> (std::path::PathBuf, String) {
    let csv = dir.join("people.csv");
    let out = dancu(&[
        "gen",
        "--people",
        "3000",
        "--seed",
        "7",
        "--out",
        csv.to_str().unwrap(),
        "--province",
        "01",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3001);

    // Plant bad rows after the generated ones: broken copies of a valid row.
    let header = lines[0].clone();
    let bad_id: Vec<String> = row("12345", "1990-05-04", "M").split(',').map(str::to_string).collect();
    let bad_date: Vec<String> =
        row("001190009999", "1990-02-30", "F").split(',').map(str::to_string).collect();
    assert_eq!(bad_id.len(), 28);
    lines.push(bad_id.join(","));
    lines.push(bad_date.join(","));
    lines.push("001090000001,Lê,Văn".into());
    let with_bad = dir.join("with-bad.csv");
    std::fs::write(&with_bad, lines.join("\n") + "\n").unwrap();
    (with_bad, header)
}

/// Imports the file with bad rows; returns the rejects file.
fn import_with_bad_rows(url: &str, dir: &Path) -> std::path::PathBuf {
    let (with_bad, _) = with_bad_rows(dir);
    let rejects = dir.join("rejects.csv");
    let (ok, report) = import(&with_bad, url, &rejects);
    assert!(ok, "{report}");
    assert!(report.contains("3003 rows: 3000 imported, 0 already present, 3 rejected"), "{report}");
    rejects
}

fn bad_rows_go_to_the_rejects_file(url: &str, dir: &Path) {
    let rejects = import_with_bad_rows(url, dir);
    let rej = std::fs::read_to_string(&rejects).unwrap();
    let rej: Vec<&str> = rej.lines().collect();
    assert_eq!(rej.len(), 4, "{rej:?}");
    assert!(rej[1].starts_with("3002,personal_id,id.length"), "{}", rej[1]);
    assert!(rej[2].starts_with("3003,birth_date,date.invalid_day"), "{}", rej[2]);
    assert!(rej[3].starts_with("3004,row,csv.field_count"), "{}", rej[3]);
}

/// Re-running the same file adds nothing twice.
fn a_rerun_adds_nothing_twice(url: &str, dir: &Path) {
    let rejects = import_with_bad_rows(url, dir);
    let (ok, report) = import(&dir.join("with-bad.csv"), url, &rejects);
    assert!(ok, "{report}");
    assert!(report.contains("0 imported, 3000 already present, 3 rejected"), "{report}");
}

/// A file with an unknown column is refused before anything is stored.
fn a_file_with_unknown_columns_is_refused(url: &str, dir: &Path) {
    let (_, header) = with_bad_rows(dir);
    let good = row("001090000001", "1990-05-04", "M");
    let rejects = dir.join("rejects.csv");
    let wrong = dir.join("wrong.csv");
    std::fs::write(&wrong, header.replace("cmnd", "cmnd_old") + "\n" + &good + "\n").unwrap();
    let (ok, report) = import(&wrong, url, &rejects);
    assert!(!ok);
    assert!(
        report.contains("unknown columns [\"cmnd_old\"]") && report.contains("missing columns [\"cmnd\"]"),
        "{report}"
    );
}

/// A crash mid-import (the process killed) keeps every batch committed before it, and
/// re-running the file completes it without storing anything twice (SQLite).
#[test]
fn a_killed_import_keeps_every_committed_batch() {
    let dir = tempfile::tempdir().unwrap();
    // A crash mid-import (the process killed) keeps every batch committed before it, and
    // re-running the file completes it without storing anything twice.
    let big = dir.path().join("big.csv");
    let out = dancu(&["gen", "--people", "60000", "--seed", "8", "--out", big.to_str().unwrap()]);
    assert!(out.status.success());
    let db = dir.path().join("crash.db");
    let url = format!("sqlite://{}", db.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_dancu"))
        .args(["import", "citizens", big.to_str().unwrap(), "--database-url", &url, "--batch", "1000"])
        .current_dir(work_dir())
        .env("DANCU_LOG", "warn")
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = std::time::Instant::now();
    let stored_before_kill = loop {
        let n = if db.exists() { rt.block_on(async { stored(&url).await }) } else { 0 };
        if n >= 2000 || started.elapsed().as_secs() > 60 {
            child.kill().unwrap();
            break n;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let _ = child.wait();
    assert!(stored_before_kill >= 2000, "the import never committed a batch");
    let kept = rt.block_on(async { stored(&url).await });
    assert!(kept >= stored_before_kill, "rows were lost by the crash: {kept} < {stored_before_kill}");
    // The killed run's rejects are in the partial file, whole rows only, never under the
    // final name.
    let partial = dir.path().join("big.csv.rejects.csv.partial");
    assert!(!dir.path().join("big.csv.rejects.csv").exists());
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_path(&partial).unwrap();
    let width = rdr.headers().unwrap().len();
    assert!(rdr.records().all(|r| r.unwrap().len() >= width));
    let (ok, report) = import(&big, &url, &dir.path().join("r3.csv"));
    assert!(ok, "{report}");
    assert!(dir.path().join("r3.csv").exists() && !dir.path().join("r3.csv.partial").exists());
    let nums: Vec<u64> = report
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(3)
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(nums[0], 60_000, "{report}");
    assert_eq!(nums[1] + nums[2], 60_000, "imported + already present = all rows: {report}");
    assert_eq!(nums[2], kept, "{report}");
    assert_eq!(rt.block_on(async { stored(&url).await }), 60_000);
}

async fn stored(url: &str) -> u64 {
    dancu_store::open(url, dancu_store::audit_chain::AuditKey::generate())
        .await
        .unwrap()
        .count_citizens()
        .await
        .unwrap()
}

/// Two provinces generated separately number their households alike (`HK0000000001` …).
/// Importing the second into a database holding the first rejects every colliding
/// household group whole (`household.exists` on each of its rows) and leaves the first
/// province's households as they were; groups with new numbers are imported. With
/// `--append-to-existing-households` the colliding groups are still refused whole (another
/// head). On SQLite and PostgreSQL.
fn colliding_household_numbers_are_rejected_whole(url: &str, dir: &Path) {
    let gen = |people: &str, seed: &str, province: &str, name: &str| {
        let path = dir.join(name);
        let out = dancu(&[
            "gen",
            "--people",
            people,
            "--seed",
            seed,
            "--out",
            path.to_str().unwrap(),
            "--province",
            province,
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        path
    };
    let first = gen("400", "11", "01", "hanoi.csv");
    let second = gen("800", "12", "79", "hcm.csv");
    // Household number → personal IDs in file order, per file.
    let households = |path: &Path| {
        let mut rdr = csv::Reader::from_path(path).unwrap();
        let h = rdr.headers().unwrap().clone();
        let col = |n: &str| h.iter().position(|c| c == n).unwrap();
        let (pid, no, rel) = (col("personal_id"), col("household_no"), col("relation_to_head"));
        let mut map: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
        for r in rdr.records() {
            let r = r.unwrap();
            map.entry(r[no].to_string()).or_default().push((r[pid].to_string(), r[rel].to_string()));
        }
        map
    };
    let (ha, hb) = (households(&first), households(&second));
    let colliding: Vec<&String> = hb.keys().filter(|n| ha.contains_key(*n)).collect();
    let colliding_rows: usize = colliding.iter().map(|n| hb[*n].len()).sum();
    let new_rows: usize = hb.iter().filter(|(n, _)| !ha.contains_key(*n)).map(|(_, m)| m.len()).sum();
    assert!(colliding.len() > 50 && new_rows > 0, "{} colliding, {new_rows} new rows", colliding.len());

    let rejects = dir.join("rejects.csv");
    let (ok, report) = import(&first, url, &rejects);
    assert!(ok && report.contains("400 rows: 400 imported, 0 already present, 0 rejected"), "{report}");
    let (ok, report) = import(&second, url, &rejects);
    assert!(ok, "{report}");
    let want = format!("800 rows: {new_rows} imported, 0 already present, {colliding_rows} rejected");
    assert!(report.contains(&want), "{want}: {report}");
    // Every row of every colliding group is in the rejects file, with the rule.
    let mut rdr = csv::Reader::from_path(&rejects).unwrap();
    let mut rejected: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in rdr.records() {
        let r = r.unwrap();
        assert_eq!(&r[2], "household.exists", "{r:?}");
        assert!(r[4].contains("already exists"), "{r:?}");
        rejected.entry(r[5 + 26].to_string()).or_default().push(r[5].to_string());
    }
    assert_eq!(rejected.len(), colliding.len());
    for n in &colliding {
        let ids: Vec<String> = hb[*n].iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(rejected[*n], ids, "household {n}");
    }
    // The first province's households are unchanged: same members, same relations,
    // never updated.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = dancu_store::open(url, dancu_store::audit_chain::AuditKey::generate()).await.unwrap();
        for (n, members) in &ha {
            let h = store.get_household(n).await.unwrap().unwrap();
            let got: Vec<(String, String)> = h
                .members
                .iter()
                .map(|m| (m.personal_id.to_string(), m.relation.code().to_string()))
                .collect();
            let mut want = members.clone();
            want.sort();
            let mut got = got;
            got.sort();
            assert_eq!(got, want, "household {n}");
            assert_eq!(h.version, 1, "household {n}");
        }
        assert_eq!(store.count_citizens().await.unwrap() as usize, 400 + new_rows);
    });

    // Again, asking to append: the colliding groups have another head, still refused
    // whole; the imported ones are already present.
    let out = dancu(&[
        "import",
        "citizens",
        second.to_str().unwrap(),
        "--database-url",
        url,
        "--rejects",
        rejects.to_str().unwrap(),
        "--append-to-existing-households",
    ]);
    let report = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    let want = format!("800 rows: 0 imported, {new_rows} already present, {colliding_rows} rejected");
    assert!(report.contains(&want), "{want}: {report}");
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(text.lines().skip(1).filter(|l| l.contains(",household.head_count,")).count(), colliding_rows);
    assert_eq!(stored_sync(url), 400 + new_rows as u64);
}

fn stored_sync(url: &str) -> u64 {
    tokio::runtime::Runtime::new().unwrap().block_on(stored(url))
}
