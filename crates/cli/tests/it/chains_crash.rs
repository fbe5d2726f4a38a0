//! Issue 15, reliability: the crash test of the linked procedures. A `dancu serve` process
//! is killed (SIGKILL) again and again while a civil-status partner submits births and
//! deaths and two webhook subscribers consume the change feed. A client whose request
//! failed with the server sends the same registration number again once it is back.
//!
//! After the last restart:
//! - every acknowledged registration exists exactly once, and every chain ends (a chain a
//!   killed server was running is resumed when its lease runs out);
//! - every child has one record under the personal ID its answer gave (no second child
//!   from a retry), every deceased person is marked so with no current residence;
//! - each chain put exactly one event in the feed, every event reached both subscribers
//!   at least once, and an idempotent consumer applied each exactly once in each person's
//!   order.
//!
//! On SQLite and PostgreSQL with one server; `two_servers.rs` runs the same work through
//! two servers on PostgreSQL, one of them killed.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::fresh_pg;
use crate::serve_proc::{call, column, count, json, run, spawn_at, Server};
use crate::subscribers::{check_applied_once, receiver, wait_delivered, Subscribers};

/// The events the chains end with.
pub const CIVIL_KINDS: &str = "birth.registered,death.registered";
const ROUNDS: usize = 3;
const BIRTHS: usize = 10;
const DEATHS: usize = 4;
const PURPOSE: &str = "đăng ký hộ tịch liên thông";

/// The people a civil workload uses: parents (heads of household with a current permanent
/// residence: personal ID, sex, 2025 commune) and people who die (ID, commune), disjoint.
pub struct CivilPeople {
    parents: Vec<(String, String, String)>,
    dying: Vec<(String, String)>,
}

impl CivilPeople {
    /// The parents' personal IDs (alive throughout the work).
    pub fn parents_ids(&self) -> Vec<String> {
        self.parents.iter().map(|p| p.0.clone()).collect()
    }
}

/// Registers Justice (`tuphap`, civil registration nation-wide) and subscribes social
/// insurance (`bhxh`, entitled to the chains' events) at `/c` and `/d` of `hook_base`.
/// Returns Justice's client secret and the people.
pub fn civil_setup(url: &str, dir: &Path, hook_base: &str) -> (String, CivilPeople) {
    #[rustfmt::skip]
    let out = run(dir, &["client", "add", "--database-url", url, "--id", "tuphap", "--name", "Sở Tư pháp",
        "--auth-method", "client_secret_post", "--grant", "client_credentials", "--scope", "partner:civil"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let secret = stdout.lines().find_map(|l| l.strip_prefix("client_secret=")).unwrap().to_string();
    #[rustfmt::skip]
    run(dir, &["partner", "entitle", "--database-url", url, "tuphap", "--name", "Sở Tư pháp",
        "--operations", "civil_registration", "--rate", "1000", "--burst", "1000"]);
    #[rustfmt::skip]
    run(dir, &["partner", "entitle", "--database-url", url, "bhxh-ho-tich", "--name", "Bảo hiểm xã hội",
        "--operations", "feed", "--feed-kinds", CIVIL_KINDS]);
    for path in ["c", "d"] {
        #[rustfmt::skip]
        run(dir, &["partner", "webhook", "--database-url", url, "add", "bhxh-ho-tich",
            &format!("{hook_base}/{path}"), "--from", "0"]);
    }
    let split = |l: &String| l.split('|').map(str::to_string).collect::<Vec<_>>();
    let parents: Vec<_> = column(
        url,
        "SELECT c.personal_id || '|' || c.sex || '|' || c.scope_commune FROM citizens c \
         WHERE c.relation = 'head' AND c.status = 'alive' AND EXISTS (SELECT 1 FROM residences r \
         WHERE r.personal_id = c.personal_id AND r.kind = 'permanent' AND r.ended_on IS NULL) \
         ORDER BY c.personal_id",
    )
    .iter()
    .map(split)
    .map(|v| (v[0].clone(), v[1].clone(), v[2].clone()))
    .collect();
    let dying: Vec<_> = column(
        url,
        "SELECT personal_id || '|' || scope_commune FROM citizens \
         WHERE status = 'alive' AND (relation IS NULL OR relation <> 'head') ORDER BY personal_id",
    )
    .iter()
    .map(split)
    .map(|v| (v[0].clone(), v[1].clone()))
    .collect();
    (secret, CivilPeople { parents, dying })
}

/// Justice's token from the server at `port` (the secret sent in the form).
pub fn justice_token(port: u16, secret: &str) -> String {
    let enc: String = secret
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    let body =
        format!("grant_type=client_credentials&scope=partner%3Acivil&client_id=tuphap&client_secret={enc}");
    let (status, answer) = crate::serve_proc::call_form(port, "/oauth/token", &body);
    assert_eq!(status, 200, "{answer}");
    json(&answer)["access_token"].as_str().unwrap().to_string()
}

/// One registration to send: (path, registration number, body).
pub type Registration = (&'static str, String, String);

/// Round `round`'s registrations: births into distinct parents' households and deaths of
/// other people, none used by another round.
pub fn civil_round(people: &CivilPeople, round: usize, births: usize, deaths: usize) -> Vec<Registration> {
    let day = (chrono::Utc::now().date_naive() - chrono::Duration::days(2)).to_string();
    let mut out = Vec::new();
    for i in 0..births {
        let (parent, sex, commune) = &people.parents[round * births + i];
        let no = format!("KS-{round}/{i}");
        let (father, mother) = if sex == "M" { (parent.as_str(), "") } else { ("", parent.as_str()) };
        let body = serde_json::json!({
            "purpose": PURPOSE, "registration_no": no, "family_name": "Trần", "middle_name": "Minh",
            "given_name": "Khôi", "sex": if i % 2 == 0 { "Nam" } else { "Nữ" }, "birth_date": day,
            "birth_place": format!("2025:{commune}"), "father_id": father, "mother_id": mother,
            "household_of": parent,
        });
        out.push(("/api/v1/partner/births", no, body.to_string()));
    }
    for i in 0..deaths {
        let (person, commune) = &people.dying[round * deaths + i];
        let no = format!("KT-{round}/{i}");
        let body = serde_json::json!({
            "purpose": PURPOSE, "registration_no": no, "personal_id": person, "death_date": day,
            "death_place": format!("2025:{commune}"),
        });
        out.push(("/api/v1/partner/deaths", no, body.to_string()));
    }
    out
}

/// Sends that failed with their server and were sent again (printed by the tests, to show
/// that the kills hit requests in flight).
pub static RETRIED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sends one registration to whichever server `ports()` names, again and again while the
/// connection fails (the server is being killed or restarted), with the same number.
/// Returns the acknowledged answer.
pub fn send_until_acknowledged(ports: impl Fn() -> u16, token: &str, r: &Registration) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = call(ports(), "POST", r.0, Some(token), &r.2);
        match status {
            200 | 201 => return json(&body),
            0 | 503 => {
                RETRIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            _ => panic!("{}: {status} {body}", r.1),
        }
        assert!(Instant::now() < deadline, "{}: no server answered within 120 s", r.1);
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// What the acknowledged answers said, checked against the database once every chain ended:
/// each registration exactly once, each child once under the ID it was given, each
/// deceased marked so without a current residence, and one event per chain.
pub fn check_registrations(url: &str, acked: &HashMap<String, serde_json::Value>, citizens_before: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(url, "SELECT COUNT(*) FROM linked_chains WHERE status <> 'done'") > 0 {
        let stuck = column(url, "SELECT registration_no || ' ' || step || ' ' || error_rule || ' ' || error_message FROM linked_chains WHERE status <> 'done'");
        assert!(Instant::now() < deadline, "chains not ended within 120 s: {stuck:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(
        count(url, "SELECT COUNT(*) FROM linked_chains"),
        acked.len() as i64,
        "every registration once"
    );
    let resumed = "SELECT COUNT(DISTINCT chain_id) FROM linked_chain_steps WHERE actor LIKE '%chains%'";
    eprintln!("{} chains resumed by the worker after a kill", count(url, resumed));
    let mut births = 0;
    for (no, answer) in acked {
        let id = answer["personal_id"].as_str().unwrap_or_else(|| panic!("{no}: no personal ID: {answer}"));
        let stored =
            column(url, &format!("SELECT personal_id FROM linked_chains WHERE registration_no = '{no}'"));
        assert_eq!(stored, vec![id.to_string()], "{no}: the answer's ID is the chain's");
        if no.starts_with("KS-") {
            births += 1;
            assert_eq!(count(url, &format!("SELECT COUNT(*) FROM citizens WHERE personal_id = '{id}'")), 1);
            let sql = format!(
                "SELECT COUNT(*) FROM residences WHERE personal_id = '{id}' AND kind = 'permanent' AND ended_on IS NULL"
            );
            assert_eq!(count(url, &sql), 1, "{no}: the child's permanent residence");
        } else {
            let sql =
                format!("SELECT COUNT(*) FROM citizens WHERE personal_id = '{id}' AND status = 'deceased'");
            assert_eq!(count(url, &sql), 1, "{no}: marked deceased");
            let sql =
                format!("SELECT COUNT(*) FROM residences WHERE personal_id = '{id}' AND ended_on IS NULL");
            assert_eq!(count(url, &sql), 0, "{no}: no current residence");
        }
    }
    assert_eq!(count(url, "SELECT COUNT(*) FROM citizens"), citizens_before + births, "no second child");
    let kinds: Vec<String> = CIVIL_KINDS.split(',').map(|k| format!("'{k}'")).collect();
    let sql = format!("SELECT COUNT(*) FROM outbox WHERE kind IN ({})", kinds.join(","));
    assert_eq!(count(url, &sql), acked.len() as i64, "one event per chain");
}

/// Every chain event reached `/c` and `/d` and was applied exactly once, in order; each
/// event names the person its chain was about.
pub fn check_civil_events(seen: &Subscribers, url: &str, acked: &HashMap<String, serde_json::Value>) {
    let want = wait_delivered(seen, url, CIVIL_KINDS, &["/c", "/d"], acked.len());
    let persons = check_applied_once(seen, &["/c", "/d"], &want);
    let named: BTreeSet<&str> = want.iter().map(|id| persons[id].as_str()).collect();
    let answered: BTreeSet<&str> = acked.values().map(|a| a["personal_id"].as_str().unwrap()).collect();
    assert_eq!(named, answered, "an event for every acknowledged registration's person");
}

fn births_and_deaths_survive_kills(url: &str, dir: &Path) {
    let csv = dir.join("people.csv");
    run(dir, &["gen", "--people", "400", "--province", "24", "--seed", "16", "--out", csv.to_str().unwrap()]);
    run(dir, &["import", "citizens", csv.to_str().unwrap(), "--database-url", url]);
    let (hook_base, seen) = receiver();
    let (secret, people) = civil_setup(url, dir, &hook_base);
    assert!(people.parents.len() >= ROUNDS * BIRTHS, "{} parents", people.parents.len());
    assert!(people.dying.len() >= ROUNDS * DEATHS);
    let citizens_before = count(url, "SELECT COUNT(*) FROM citizens");

    // Short leases, so that a killed server's chains and deliveries come back in the test.
    let config = dir.join("serve.toml");
    std::fs::write(&config, "webhook_lease_secs = 2\nchain_lease_secs = 2\n").unwrap();
    let extra = ["--config", config.to_str().unwrap()];
    let port = crate::serve_proc::free_port();
    let mut server: Server = spawn_at(url, dir, port, &extra);
    let token = justice_token(port, &secret);

    let mut acked = HashMap::new();
    for round in 0..ROUNDS {
        let work = civil_round(&people, round, BIRTHS, DEATHS);
        let answers: Vec<(String, serde_json::Value)> = std::thread::scope(|s| {
            let handles: Vec<_> = work
                .iter()
                .map(|r| {
                    let token = &token;
                    s.spawn(move || (r.1.clone(), send_until_acknowledged(|| port, token, r)))
                })
                .collect();
            // Kill the server in the middle of the round, then start it again on its port.
            std::thread::sleep(Duration::from_millis(150 + 100 * round as u64));
            server.0.kill().unwrap();
            server.0.wait().unwrap();
            server = spawn_at(url, dir, port, &extra);
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (no, answer) in answers {
            assert!(acked.insert(no.clone(), answer).is_none(), "{no} answered twice");
        }
    }
    eprintln!("{} sends retried after a kill", RETRIED.load(std::sync::atomic::Ordering::Relaxed));
    check_registrations(url, &acked, citizens_before);
    check_civil_events(&seen, url, &acked);
    drop(server);
}

mod births_and_deaths_survive_kills {
    use super::*;

    #[test]
    fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("dancu.db").display());
        births_and_deaths_survive_kills(&url, dir.path());
    }

    #[test]
    fn postgres() {
        let Some(db) = fresh_pg("chaincrash") else { return };
        let dir = tempfile::tempdir().unwrap();
        births_and_deaths_survive_kills(&db.url, dir.path());
    }
}
