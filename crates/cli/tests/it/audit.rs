//! `dancu audit verify` as an operator runs it, offline: an intact log passes; entries cut
//! off the end, an edited entry, or a missing key fail with a clear message; `serve` refuses
//! to start on a broken chain. The bulk reads of `dancu quality` are audited and signed.
//! On SQLite and PostgreSQL.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{fresh_pg, psql};

fn dancu(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dancu"))
        .args(args)
        .env("DANCU_LOG", "warn")
        .env("DANCU_AUDIT_KEY_FILE", dir.join("audit.key"))
        .env("DANCU_AUDIT_CHECKPOINT_FILE", dir.join("audit.checkpoints"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Runs SQL on the test database, around dancu.
fn sql(url: &str, statements: &str) {
    match url.strip_prefix("sqlite://") {
        Some(path) => {
            let c = rusqlite::Connection::open(path).unwrap();
            c.execute("ATTACH DATABASE ?1 AS audit", [format!("{path}-audit")]).unwrap();
            c.execute_batch(statements).unwrap();
        }
        None => assert!(psql(url, statements), "{statements}"),
    }
}

fn check(url: &str, dir: &Path) {
    let csv = dir.join("people.csv");
    let o = dancu(dir, &["gen", "--people", "300", "--province", "24", "--out", csv.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = dancu(dir, &["import", "citizens", csv.to_str().unwrap(), "--database-url", url]);
    assert!(o.status.success(), "{}", text(&o));
    // The import (six entries: begin, one batch and finish, each written ahead with its
    // outcome) and two bulk reads; each job signs the head when it ends.
    for _ in 0..2 {
        let o = dancu(dir, &["quality", "--database-url", url]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = dancu(dir, &["audit", "verify", "--database-url", url]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("intact"), "{}", text(&o));
    assert!(text(&o).contains("newest signed checkpoint: entry 10"), "{}", text(&o));

    // Someone with the database but not the key edits an entry.
    sql(url, "UPDATE audit_log SET purpose = 'kiểm tra' WHERE seq = 2");
    let o = dancu(dir, &["audit", "verify", "--database-url", url, "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["broken"]["seq"], 2);
    assert_eq!(report["broken"]["kind"], "hash");
    sql(url, "UPDATE audit_log SET purpose = 'nhập dữ liệu từ tệp people.csv' WHERE seq = 2");
    let o = dancu(dir, &["audit", "verify", "--database-url", url]);
    assert!(o.status.success(), "{}", text(&o));

    // The last entries are cut off (on PostgreSQL the recorded head too).
    cut_after_entry_2(url);
    let o = dancu(dir, &["audit", "verify", "--database-url", url]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("BROKEN at entry 3: the log ends before the latest signed checkpoint"),
        "{}",
        text(&o)
    );

    // Without the key there is nothing to verify with: an error, not a new key.
    std::fs::rename(dir.join("audit.key"), dir.join("audit.key.away")).unwrap();
    let o = dancu(dir, &["audit", "verify", "--database-url", url]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("audit.key"), "{}", text(&o));
    assert!(!dir.join("audit.key").exists());
}

#[test]
fn audit_verify_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    check(&url, dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["audit.key.away", "audit.checkpoints"] {
            let mode = std::fs::metadata(dir.path().join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
}

#[test]
fn audit_verify_on_postgres() {
    let Some(db) = fresh_pg("audit") else { return };
    let dir = tempfile::tempdir().unwrap();
    check(&db.url, dir.path());
}

/// Deletes every audit entry after the second (on PostgreSQL the recorded head too).
fn cut_after_entry_2(url: &str) {
    if url.starts_with("sqlite") {
        sql(url, "DELETE FROM audit_log WHERE seq > 2");
    } else {
        sql(url, "DELETE FROM audit_log WHERE seq > 2; UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2)");
    }
}

/// NATS for the checkpoint mirror: `DANCU_TEST_NATS_URL`, default the local server. None
/// (a failure in CI) when unreachable.
fn nats_url() -> Option<String> {
    let url = std::env::var("DANCU_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let addr = url.trim_start_matches("nats://").to_string();
    if std::net::TcpStream::connect(&addr).is_ok() {
        return Some(url);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("NATS unreachable in CI at {url}");
    }
    eprintln!("SKIPPING the NATS checkpoint mirror: unreachable at {url}");
    None
}

/// Checkpoints mirrored to NATS JetStream still catch a truncation after someone rewrote
/// both the database and the checkpoint file.
fn check_nats_mirror(url: &str, dir: &Path, nats: &str) {
    let subject = format!("dancu.test.checkpoints.{}", rand::random::<u32>());
    let with_nats = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dancu"))
            .args(args)
            .env("DANCU_LOG", "warn")
            .env("DANCU_AUDIT_KEY_FILE", dir.join("audit.key"))
            .env("DANCU_AUDIT_CHECKPOINT_FILE", dir.join("audit.checkpoints"))
            .env("DANCU_AUDIT_CHECKPOINT_NATS_URL", nats)
            .env("DANCU_AUDIT_CHECKPOINT_NATS_SUBJECT", &subject)
            .output()
            .unwrap()
    };
    let csv = dir.join("people.csv");
    let o = dancu(dir, &["gen", "--people", "200", "--province", "24", "--out", csv.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    for args in [
        &["import", "citizens", csv.to_str().unwrap(), "--database-url", url][..],
        &["quality", "--database-url", url],
    ] {
        let o = with_nats(args);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = with_nats(&["audit", "verify", "--database-url", url]);
    assert!(o.status.success() && text(&o).contains(&subject), "{}", text(&o));
    let last = text(&o)
        .split("entries checked (1–")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert!(last > 2, "{}", text(&o));

    // The end of the log and the checkpoint file are both rewritten.
    cut_after_entry_2(url);
    std::fs::remove_file(dir.join("audit.checkpoints")).unwrap();
    // Without the mirror nothing is left to notice it ...
    let o = dancu(dir, &["audit", "verify", "--database-url", url]);
    assert!(o.status.success(), "{}", text(&o));
    // ... with it, the cut is found.
    let o = with_nats(&["audit", "verify", "--database-url", url]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("BROKEN at entry 3: the log ends before the latest signed checkpoint"),
        "{}",
        text(&o)
    );
}

/// Checkpoints mirrored to NATS JetStream, on each backend.
fn checkpoints_mirrored_to_nats(url: &str, dir: &Path) {
    let Some(nats) = nats_url() else { return };
    check_nats_mirror(url, dir, &nats);
}

crate::common::on_both_backends!(checkpoints_mirrored_to_nats);
