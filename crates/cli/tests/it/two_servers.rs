//! Issue 15, part 4 and its reliability tests: two `dancu serve` processes on one PostgreSQL
//! database work together, and one of them is killed (SIGKILL) again and again while
//! applications are submitted through both and two webhook subscribers consume the change
//! feed.
//!
//! After the last restart:
//! - every acknowledged submission exists exactly once (a client that lost its server
//!   retries the same idempotency key on the other);
//! - every event reached every subscriber at least once, and an idempotent consumer (the
//!   highest event id applied per person) applied each exactly once;
//! - each subscriber saw each person's events in feed order;
//! - no event was ever being delivered to one subscriber twice at the same moment (two
//!   dispatchers never hold the same delivery; a killed server's claims are delivered again
//!   only after their lease ran out);
//! - a token issued by one server is honoured by the other.
//!
//! With `DANCU_TEST_PG_PRIMARY_URL` and `DANCU_TEST_PG_REPLICA_URL` (tests/replica/run.sh) the
//! database lives on that primary and both servers read lag-tolerant data from the streaming
//! replica; otherwise on `DANCU_TEST_PG_URL`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{fresh_pg, psql};
use crate::serve_proc::{call, count, json, personal_ids, run, start_with};

const PEOPLE: usize = 40;
const ROUNDS: usize = 3;
const PER_ROUND: usize = 24;
/// The event kinds the subscribers are entitled to: every submission and move makes one.
const KINDS: &str = "application.submitted,application.state_changed";

/// What a subscriber's endpoint saw.
#[derive(Default)]
struct Seen {
    /// Every delivery in arrival order: (event id, person).
    deliveries: Vec<(i64, String)>,
    /// Deliveries being answered right now, by event id.
    in_flight: HashSet<i64>,
    /// An event id delivered while a delivery of it was still in flight.
    overlapping: Vec<i64>,
}

/// A plain HTTP endpoint for two subscriptions (`/a`, `/b`): it records each delivery,
/// holds it for a moment (so that two dispatchers holding one delivery would overlap) and
/// answers 200.
fn receiver() -> (String, Arc<Mutex<HashMap<String, Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<HashMap<String, Seen>>> = Arc::default();
    let shared = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let seen = shared.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn);
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    return;
                }
                let path = first.split(' ').nth(1).unwrap_or("").to_string();
                let (mut len, mut id) = (0usize, None::<i64>);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if let Some(v) = lower.strip_prefix("dancu-event-id:") {
                        id = v.trim().parse().ok();
                    }
                }
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let person = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["personal_id"].as_str().map(str::to_string))
                    .unwrap_or_default();
                let Some(id) = id else { return };
                {
                    let mut all = seen.lock().unwrap();
                    let s = all.entry(path.clone()).or_default();
                    if !s.in_flight.insert(id) {
                        s.overlapping.push(id);
                    }
                    s.deliveries.push((id, person));
                }
                std::thread::sleep(Duration::from_millis(60));
                seen.lock().unwrap().get_mut(&path).unwrap().in_flight.remove(&id);
                let mut conn = reader.into_inner();
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            });
        }
    });
    (url, seen)
}

/// The feed positions of the entitled kinds, read around dancu.
fn events(url: &str) -> BTreeSet<i64> {
    let kinds: Vec<String> = KINDS.split(',').map(|k| format!("'{k}'")).collect();
    let o = std::process::Command::new("psql")
        .arg(url)
        .args([
            "-tAc",
            &format!(
                "SELECT position FROM outbox WHERE position IS NOT NULL AND kind IN ({}) ORDER BY position",
                kinds.join(",")
            ),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect()
}

fn submission(pid: &str, key: &str) -> String {
    format!(r#"{{"personal_id":"{pid}","service_code":"judicial_record","idempotency_key":"{key}"}}"#)
}

fn two_servers_share_the_work_and_survive_kills(url: &str, replica: Option<&str>, dir: &Path) {
    let csv = dir.join("people.csv");
    let people_arg = PEOPLE.to_string();
    run(
        dir,
        &["gen", "--people", &people_arg, "--province", "24", "--seed", "15", "--out", csv.to_str().unwrap()],
    );
    run(dir, &["import", "citizens", csv.to_str().unwrap(), "--database-url", url]);
    #[rustfmt::skip]
    run(dir, &["officer", "add", "--database-url", url, "--username", "can-bo", "--display-name", "Cán bộ",
        "--role", "officer", "--scope", "nation"]);
    #[rustfmt::skip]
    run(dir, &["partner", "entitle", "--database-url", url, "bhxh", "--name", "Bảo hiểm xã hội",
        "--operations", "feed", "--feed-kinds", KINDS]);
    let (hook_base, seen) = receiver();
    for path in ["a", "b"] {
        #[rustfmt::skip]
        run(dir, &["partner", "webhook", "--database-url", url, "add", "bhxh", &format!("{hook_base}/{path}"),
            "--from", "0"]);
    }
    let people = personal_ids(&csv);

    // Short leases, so that a killed server's claims come back within the test.
    let config = dir.join("serve.toml");
    std::fs::write(&config, "webhook_lease_secs = 2\n").unwrap();
    let mut extra = vec!["--config", config.to_str().unwrap()];
    if let Some(r) = replica {
        extra.extend(["--database-replica-url", r]);
    }
    let (_a, port_a, token) = start_with(url, dir, &extra);
    let (mut b, mut port_b, token_b) = start_with(url, dir, &extra);
    // A token one server issued is honoured by the other.
    let (status, body) = call(port_b, "GET", "/api/v1/applications?limit=1", Some(&token), "");
    assert_eq!(status, 200, "server B refused server A's token: {body}");
    let (status, _) = call(port_a, "GET", "/api/v1/applications?limit=1", Some(&token_b), "");
    assert_eq!(status, 200);

    // Acknowledged submissions: key → application id.
    let mut acked: HashMap<String, i64> = HashMap::new();
    for round in 0..ROUNDS {
        let jobs: Vec<(String, String)> = (0..PER_ROUND)
            .map(|i| (people[(round * PER_ROUND + i) % people.len()].clone(), format!("r{round}-{i}")))
            .collect();
        let answers: Vec<(String, u16, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .iter()
                .enumerate()
                .map(|(i, (pid, key))| {
                    let (token, port_b) = (&token, port_b);
                    s.spawn(move || {
                        // Half through each server; a refused connection (the server is
                        // being killed) is retried with the same key on the other one.
                        let (first, other) = if i % 2 == 0 { (port_a, port_b) } else { (port_b, port_a) };
                        let mut answer =
                            call(first, "POST", "/api/v1/applications", Some(token), &submission(pid, key));
                        if answer.0 == 0 {
                            answer = call(
                                other,
                                "POST",
                                "/api/v1/applications",
                                Some(token),
                                &submission(pid, key),
                            );
                        }
                        if answer.0 == 201 && i % 3 == 0 {
                            let app = json(&answer.1);
                            let path = format!("/api/v1/applications/{}/transitions", app["id"]);
                            let to = format!(r#"{{"to":"accepted","expected_version":{}}}"#, app["version"]);
                            let _ = call(other, "POST", &path, Some(token), &to);
                        }
                        (key.clone(), answer.0, answer.1)
                    })
                })
                .collect();
            // Kill server B in the middle of the round (not after the last one).
            if round + 1 < ROUNDS {
                std::thread::sleep(Duration::from_millis(400));
                b.0.kill().unwrap();
                b.0.wait().unwrap();
            }
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (key, status, body) in answers {
            assert!([200, 201].contains(&status), "{key}: {status} {body}");
            let id = json(&body)["id"].as_i64().unwrap();
            if let Some(first) = acked.insert(key.clone(), id) {
                assert_eq!(first, id, "{key} gave two applications");
            }
        }
        if round + 1 < ROUNDS {
            let (server, port, _) = start_with(url, dir, &extra);
            b = server;
            port_b = port;
        }
    }
    assert_eq!(acked.len(), ROUNDS * PER_ROUND);

    // Every acknowledged submission exactly once.
    let (status, body) = call(port_a, "GET", "/api/v1/applications?limit=1", Some(&token), "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["total"], acked.len(), "every acknowledged application exactly once");
    assert_eq!(count(url, "SELECT COUNT(*) FROM applications"), acked.len() as i64);

    // Every event reaches both subscribers.
    let deadline = Instant::now() + Duration::from_secs(90);
    let want = loop {
        let want = events(url);
        let done = {
            let all = seen.lock().unwrap();
            ["/a", "/b"].iter().all(|p| {
                let got: HashSet<i64> =
                    all.get(*p).map(|s| s.deliveries.iter().map(|d| d.0).collect()).unwrap_or_default();
                want.iter().all(|id| got.contains(id))
            })
        };
        if done && !want.is_empty() {
            break want;
        }
        assert!(Instant::now() < deadline, "events not delivered to both subscribers within 90 s");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(want.len() >= acked.len(), "a submitted event per application: {} < {}", want.len(), acked.len());

    let all = seen.lock().unwrap();
    for path in ["/a", "/b"] {
        let s = &all[path];
        assert!(s.overlapping.is_empty(), "{path}: delivered twice at the same moment: {:?}", s.overlapping);
        // An idempotent consumer: applies an event when its id is above the person's last.
        let mut last: HashMap<&str, i64> = HashMap::new();
        let mut applied = BTreeSet::new();
        for (id, person) in &s.deliveries {
            let seen_before = last.get(person.as_str()).copied().unwrap_or(0);
            if *id > seen_before {
                assert!(applied.insert(*id), "{path}: event {id} applied twice");
                last.insert(person.as_str(), *id);
            }
        }
        assert_eq!(applied, want, "{path}: every event applied exactly once, in each person's order");
        let extra = s.deliveries.len() - want.len();
        eprintln!(
            "{path}: {} deliveries of {} events ({extra} again after a kill)",
            s.deliveries.len(),
            want.len()
        );
    }
    drop(all);
    drop(b);
}

#[test]
fn two_servers_share_the_work_and_survive_kills_postgres() {
    let pair = (std::env::var("DANCU_TEST_PG_PRIMARY_URL"), std::env::var("DANCU_TEST_PG_REPLICA_URL"));
    let dir = tempfile::tempdir().unwrap();
    if let (Ok(primary), Ok(replica)) = pair {
        // The pair of tests/replica/run.sh: a database of this test's own on the primary,
        // read by both servers through the replica.
        let name = format!("dancu_two_{}", std::process::id());
        assert!(psql(&primary, &format!("CREATE DATABASE {name}")), "CREATE DATABASE on {primary}");
        let at = |u: &str| format!("{}/{name}", &u[..u.rfind('/').unwrap()]);
        let (url, replica_url) = (at(&primary), at(&replica));
        two_servers_share_the_work_and_survive_kills(&url, Some(&replica_url), dir.path());
        psql(&primary, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        return;
    }
    let Some(db) = fresh_pg("two") else { return };
    two_servers_share_the_work_and_survive_kills(&db.url, None, dir.path());
}
