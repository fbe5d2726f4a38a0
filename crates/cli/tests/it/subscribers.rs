//! Webhook subscribers for the crash tests: a plain HTTP endpoint that records every
//! delivery, and the checks the issue asks of what it saw: every event reached every
//! subscriber at least once, an idempotent consumer applied each exactly once in each
//! person's order, and no event was being delivered to one subscriber twice at once.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::serve_proc::column;

/// What a subscriber's endpoint saw.
#[derive(Default)]
pub struct Seen {
    /// Every delivery in arrival order: (event id, person).
    pub deliveries: Vec<(i64, String)>,
    /// Deliveries being answered right now, by event id.
    in_flight: HashSet<i64>,
    /// An event id delivered while a delivery of it was still in flight.
    pub overlapping: Vec<i64>,
}

pub type Subscribers = Arc<Mutex<HashMap<String, Seen>>>;

/// A plain HTTP endpoint for any number of subscriptions (one path each, e.g. `/a`, `/b`):
/// it records each delivery, holds it for a moment (so that two dispatchers holding one
/// delivery would overlap) and answers 200. Returns its base URL.
pub fn receiver() -> (String, Subscribers) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Subscribers = Arc::default();
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

/// The feed positions of events of `kinds` (comma-separated), read around dancu.
pub fn events(url: &str, kinds: &str) -> BTreeSet<i64> {
    let kinds: Vec<String> = kinds.split(',').map(|k| format!("'{k}'")).collect();
    let sql = format!(
        "SELECT position FROM outbox WHERE position IS NOT NULL AND kind IN ({}) ORDER BY position",
        kinds.join(",")
    );
    column(url, &sql).iter().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Waits until every event of `kinds` in the database reached every one of `paths`, and
/// returns those events (at least `at_least` of them).
pub fn wait_delivered(
    seen: &Subscribers,
    url: &str,
    kinds: &str,
    paths: &[&str],
    at_least: usize,
) -> BTreeSet<i64> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let want = events(url, kinds);
        let done = {
            let all = seen.lock().unwrap();
            paths.iter().all(|p| {
                let got: HashSet<i64> =
                    all.get(*p).map(|s| s.deliveries.iter().map(|d| d.0).collect()).unwrap_or_default();
                want.iter().all(|id| got.contains(id))
            })
        };
        if done && want.len() >= at_least {
            return want;
        }
        assert!(
            Instant::now() < deadline,
            "events not delivered to {paths:?} within 120 s: {} of at least {at_least} in the feed",
            want.len()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Each subscriber in `paths`: no delivery overlapped another of the same event, and an
/// idempotent consumer (applying an event when its id is above the person's last) applied
/// exactly `want`, each once, in each person's order. Returns the persons each event was
/// about (from the first subscriber).
pub fn check_applied_once(seen: &Subscribers, paths: &[&str], want: &BTreeSet<i64>) -> HashMap<i64, String> {
    let all = seen.lock().unwrap();
    let mut persons = HashMap::new();
    for path in paths {
        let s = &all[*path];
        assert!(s.overlapping.is_empty(), "{path}: delivered twice at the same moment: {:?}", s.overlapping);
        let mut last: HashMap<&str, i64> = HashMap::new();
        let mut applied = BTreeSet::new();
        for (id, person) in &s.deliveries {
            persons.entry(*id).or_insert_with(|| person.clone());
            let seen_before = last.get(person.as_str()).copied().unwrap_or(0);
            if *id > seen_before {
                assert!(applied.insert(*id), "{path}: event {id} applied twice");
                last.insert(person.as_str(), *id);
            }
        }
        // Only the kinds asked for count; a subscription may carry more.
        let applied: BTreeSet<i64> = applied.intersection(want).copied().collect();
        assert_eq!(&applied, want, "{path}: every event applied exactly once, in each person's order");
        let extra = s.deliveries.len() - want.len().min(s.deliveries.len());
        eprintln!(
            "{path}: {} deliveries of {} events ({extra} again after a kill)",
            s.deliveries.len(),
            want.len()
        );
    }
    persons
}
