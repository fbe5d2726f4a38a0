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
//! - a token issued by one server is honoured by the other;
//! - births and deaths sent through both servers (a failed send retried on the other with
//!   the same registration number) pass the checks of `chains_crash.rs`.
//!
//! With `DANCU_TEST_PG_PRIMARY_URL` and `DANCU_TEST_PG_REPLICA_URL` (tests/replica/run.sh) the
//! database lives on that primary and both servers read lag-tolerant data from the streaming
//! replica; otherwise on `DANCU_TEST_PG_URL`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use crate::chains_crash::{
    check_civil_events, check_registrations, civil_round, civil_setup, justice_token, send_until_acknowledged,
};
use crate::common::{fresh_pg, psql};
use crate::serve_proc::{call, count, json, run, start_with};
use crate::subscribers::{check_applied_once, receiver, wait_delivered};

const PEOPLE: usize = 300;
const ROUNDS: usize = 3;
const PER_ROUND: usize = 24;
/// Births and deaths a round, through both servers (the crash test of `chains_crash.rs`).
const BIRTHS: usize = 6;
const DEATHS: usize = 2;
/// The event kinds the subscribers are entitled to: every submission and move makes one.
const KINDS: &str = "application.submitted,application.state_changed";

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
    let (secret, civil) = civil_setup(url, dir, &hook_base);
    // Applications are for parents, who stay alive through the deaths.
    let people = civil.parents_ids();
    let citizens_before = count(url, "SELECT COUNT(*) FROM citizens");

    // Short leases, so that a killed server's claims come back within the test; one issuer
    // (the public name both servers stand behind), so that partner tokens hold on both.
    let config = dir.join("serve.toml");
    let settings = "webhook_lease_secs = 2\nchain_lease_secs = 2\noidc_issuer = \"https://dancu.test\"\n";
    std::fs::write(&config, settings).unwrap();
    let mut extra = vec!["--config", config.to_str().unwrap()];
    if let Some(r) = replica {
        extra.extend(["--database-replica-url", r]);
    }
    let (_a, port_a, token) = start_with(url, dir, &extra);
    let (mut b, port_b, token_b) = start_with(url, dir, &extra);
    let port_b = AtomicU16::new(port_b);
    // A token one server issued is honoured by the other.
    let b_now = || port_b.load(Ordering::SeqCst);
    let (status, body) = call(b_now(), "GET", "/api/v1/applications?limit=1", Some(&token), "");
    assert_eq!(status, 200, "server B refused server A's token: {body}");
    let (status, _) = call(port_a, "GET", "/api/v1/applications?limit=1", Some(&token_b), "");
    assert_eq!(status, 200);
    let justice = justice_token(b_now(), &secret);

    // Acknowledged submissions: key → application id; registrations: number → answer.
    let mut acked: HashMap<String, i64> = HashMap::new();
    let mut registered = HashMap::new();
    for round in 0..ROUNDS {
        let jobs: Vec<(String, String)> = (0..PER_ROUND)
            .map(|i| (people[(round * PER_ROUND + i) % people.len()].clone(), format!("r{round}-{i}")))
            .collect();
        let civil_work = civil_round(&civil, round, BIRTHS, DEATHS);
        let (answers, civil_answers) = std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .iter()
                .enumerate()
                .map(|(i, (pid, key))| {
                    let (token, port_b) = (&token, b_now());
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
            // Births and deaths: odd ones through B first; a failed send goes to A.
            let civil_handles: Vec<_> = civil_work
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let (justice, first) = (&justice, if i % 2 == 1 { b_now() } else { port_a });
                    s.spawn(move || {
                        let tries = std::cell::Cell::new(0);
                        let port = || {
                            tries.set(tries.get() + 1);
                            if tries.get() == 1 {
                                first
                            } else {
                                port_a
                            }
                        };
                        (r.1.clone(), send_until_acknowledged(port, justice, r))
                    })
                })
                .collect();
            // Kill server B in the middle of the round (not after the last one).
            if round + 1 < ROUNDS {
                std::thread::sleep(Duration::from_millis(400));
                b.0.kill().unwrap();
                b.0.wait().unwrap();
            }
            let answers: Vec<(String, u16, String)> =
                handles.into_iter().map(|h| h.join().unwrap()).collect();
            let civil: Vec<_> = civil_handles.into_iter().map(|h| h.join().unwrap()).collect();
            (answers, civil)
        });
        for (key, status, body) in answers {
            assert!([200, 201].contains(&status), "{key}: {status} {body}");
            let id = json(&body)["id"].as_i64().unwrap();
            if let Some(first) = acked.insert(key.clone(), id) {
                assert_eq!(first, id, "{key} gave two applications");
            }
        }
        for (no, answer) in civil_answers {
            assert!(registered.insert(no.clone(), answer).is_none(), "{no} answered twice");
        }
        if round + 1 < ROUNDS {
            let (server, port, _) = start_with(url, dir, &extra);
            b = server;
            port_b.store(port, Ordering::SeqCst);
        }
    }
    assert_eq!(acked.len(), ROUNDS * PER_ROUND);

    // Every acknowledged submission exactly once.
    let (status, body) = call(port_a, "GET", "/api/v1/applications?limit=1", Some(&token), "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["total"], acked.len(), "every acknowledged application exactly once");
    assert_eq!(count(url, "SELECT COUNT(*) FROM applications"), acked.len() as i64);
    // Every acknowledged registration exactly once, its chain ended, its event delivered.
    check_registrations(url, &registered, citizens_before);
    check_civil_events(&seen, url, &registered);

    // Every event reaches both subscribers, applied exactly once in each person's order.
    let want = wait_delivered(&seen, url, KINDS, &["/a", "/b"], acked.len());
    check_applied_once(&seen, &["/a", "/b"], &want);
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
