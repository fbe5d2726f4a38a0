//! Issue 14, bad input: every submission the API acknowledged is durable before the answer,
//! and a crash right after never loses it; a retried idempotency key gives one application.
//!
//! A real `dancu serve` process takes concurrent submissions (and moves of some of them)
//! from many connections, a few keys sent twice at once; the moment the last answer is in,
//! the process is killed with SIGKILL (no shutdown, no flush). A new process on the same
//! database must then show every acknowledged application exactly once, in the state the
//! last acknowledged answer gave, with the audit entry of each acknowledged request on
//! record and the audit chain intact; retrying every key gives back the same application
//! (200, not 201) and stores nothing new. On SQLite (WAL, `synchronous=NORMAL`, and
//! `synchronous=FULL` through the URL) and PostgreSQL.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::common::fresh_pg;
use crate::serve_proc::{call, count, dancu, json, personal_ids, run, start};

/// Concurrent submissions (distinct keys), plus DOUBLED keys sent twice at the same time.
const SUBMISSIONS: usize = 48;
const DOUBLED: usize = 8;

fn submission(pid: &str, key: &str) -> String {
    format!(r#"{{"personal_id":"{pid}","service_code":"judicial_record","idempotency_key":"{key}"}}"#)
}

/// What a client was told: application id → (personal ID, key, version, the answer).
type Acknowledged = HashMap<i64, (String, String, i64, Value)>;

fn acknowledged_submissions_survive_a_kill(url: &str, dir: &Path) {
    let csv = dir.join("people.csv");
    run(dir, &["gen", "--people", "60", "--province", "24", "--seed", "14", "--out", csv.to_str().unwrap()]);
    run(dir, &["import", "citizens", csv.to_str().unwrap(), "--database-url", url]);
    run(
        dir,
        &[
            "officer",
            "add",
            "--database-url",
            url,
            "--username",
            "can-bo",
            "--display-name",
            "Cán bộ một cửa",
            "--role",
            "officer",
            "--scope",
            "nation",
        ],
    );
    let people = personal_ids(&csv);
    assert!(people.len() >= 20, "{people:?}");

    let (mut server, port, token) = start(url, dir);
    // Every request at once, each on its own connection: SUBMISSIONS distinct keys, and
    // DOUBLED keys sent twice at the same moment.
    let mut jobs: Vec<(String, String)> =
        (0..SUBMISSIONS).map(|i| (people[i % people.len()].clone(), format!("nop-{i}"))).collect();
    for i in 0..DOUBLED {
        let twice = (people[(i * 7) % people.len()].clone(), format!("hai-lan-{i}"));
        jobs.push(twice.clone());
        jobs.push(twice);
    }
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(pid, key)| {
                let token = &token;
                s.spawn(move || {
                    let (status, body) =
                        call(port, "POST", "/api/v1/applications", Some(token), &submission(pid, key));
                    // Half of the new ones are accepted at once, the answer awaited too.
                    if status == 201 && key.ends_with(['0', '2', '4', '6', '8']) {
                        let app = json(&body);
                        let path = format!("/api/v1/applications/{}/transitions", app["id"]);
                        let moved = call(
                            port,
                            "POST",
                            &path,
                            Some(token),
                            &format!(r#"{{"to":"accepted","expected_version":{}}}"#, app["version"]),
                        );
                        if moved.0 == 200 {
                            return moved;
                        }
                    }
                    (status, body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // The last answer is in: kill at once (SIGKILL, nothing flushed).
    server.0.kill().unwrap();
    server.0.wait().unwrap();

    let mut acked = Acknowledged::new();
    let mut by_key: HashMap<String, i64> = HashMap::new();
    for ((pid, key), (status, body)) in jobs.iter().zip(&answers) {
        assert!([200, 201].contains(status), "{key}: {status} {body}");
        let app = json(body);
        let id = app["id"].as_i64().unwrap();
        // The same key twice at once: one application.
        if let Some(first) = by_key.insert(key.clone(), id) {
            assert_eq!(first, id, "{key} gave two applications");
        }
        let entry = (pid.clone(), key.clone(), app["version"].as_i64().unwrap(), app);
        let kept = acked.entry(id).or_insert_with(|| entry.clone());
        if entry.2 > kept.2 {
            *kept = entry;
        }
    }
    assert_eq!(acked.len(), SUBMISSIONS + DOUBLED);
    assert!(acked.values().any(|a| a.3["state"] == "accepted"), "some applications were accepted");

    // A new process on the same files.
    let (_server, port, token) = start(url, dir);
    for (id, (pid, key, _, answer)) in &acked {
        let (status, body) = call(port, "GET", &format!("/api/v1/applications/{id}"), Some(&token), "");
        assert_eq!(status, 200, "acknowledged application {id} lost: {body}");
        let app = json(&body);
        // Stored as answered: every field of the last acknowledged answer.
        for (field, value) in answer.as_object().unwrap() {
            assert_eq!(&app[field], value, "{id}: {field}");
        }
        // Retried after the crash: the same application, nothing new.
        let (status, body) = call(port, "POST", "/api/v1/applications", Some(&token), &submission(pid, key));
        assert_eq!(status, 200, "{key}: {body}");
        assert_eq!(json(&body)["id"], *id);
    }
    let (status, body) = call(port, "GET", "/api/v1/applications?limit=100", Some(&token), "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["total"], acked.len(), "every acknowledged application exactly once");
    assert_eq!(count(url, "SELECT COUNT(*) FROM applications"), acked.len() as i64);
    // Each acknowledged write's audit entry was committed before it ran.
    let accepted = acked.values().filter(|a| a.3["state"] == "accepted").count() as i64;
    let attempts = |action: &str| {
        count(
            url,
            &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND outcome = 'attempt'"),
        )
    };
    assert!(attempts("application.submit") >= (SUBMISSIONS + 2 * DOUBLED) as i64);
    assert!(attempts("application.transition") >= accepted);
    drop(_server);
    let o = dancu(dir).args(["audit", "verify", "--database-url", url]).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success() && text.contains("intact"), "{text}");
}

mod acknowledged_submissions_survive_a_kill {
    use super::*;

    #[test]
    fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        acknowledged_submissions_survive_a_kill(&url, dir.path())
    }

    #[test]
    fn sqlite_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?synchronous=full", dir.path().join("t.db").display());
        acknowledged_submissions_survive_a_kill(&url, dir.path())
    }

    #[test]
    fn postgres() {
        let Some(db) = fresh_pg("durable") else { return };
        let dir = tempfile::tempdir().unwrap();
        acknowledged_submissions_survive_a_kill(&db.url, dir.path())
    }
}

#[test]
fn an_unknown_sqlite_url_option_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?synchronus=full", dir.path().join("t.db").display());
    let o = dancu(dir.path()).args(["officer", "list", "--database-url", &url]).output().unwrap();
    assert!(!o.status.success());
    let text = String::from_utf8_lossy(&o.stderr);
    assert!(text.contains("synchronus=full") && text.contains("synchronous=normal|full"), "{text}");
}
