//! `dancu demo` end to end: it explains the planted rows, writes the same-ID conflicts to a
//! file of their own, seeds cards, applications, eID accounts and quality findings, and
//! serves with the cookie setting given, warning when it is reachable over plain HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn the_demo_explains_its_rows_seeds_every_page_and_serves_the_lan() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dancu"))
        .args(["demo", "--data-dir", d, "--people", "3000", "--no-serve"])
        .env("DANCU_LOG", "warn")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("rows were planted as errors to show the rejects file"), "{err}");
    assert!(err.contains("same-ID conflicts"), "{err}");
    let conflicts = data.join("demo-citizens.conflicts.csv");
    assert!(conflicts.exists(), "{err}");
    let text = std::fs::read_to_string(&conflicts).unwrap();
    assert!(text.lines().skip(1).all(|l| l.contains(",citizen.conflict,")), "{text}");

    // Every page has content: cards (some due or expired), applications at several stages,
    // eID accounts in each state, quality findings.
    let db = rusqlite::Connection::open(data.join("dancu.db")).unwrap();
    assert!(count(&db, "SELECT COUNT(*) FROM cards") > 10);
    let today = chrono::Utc::now().date_naive();
    let due = format!(
        "SELECT COUNT(*) FROM cards WHERE status = 'valid' AND renewal_due_from <= '{}'",
        today + chrono::Duration::days(60)
    );
    assert!(count(&db, &due) > 0, "some cards are due for renewal");
    assert!(count(&db, "SELECT COUNT(DISTINCT stage) FROM card_applications") >= 4);
    assert_eq!(count(&db, "SELECT COUNT(DISTINCT state) FROM eid_accounts"), 4);
    assert!(count(&db, "SELECT COUNT(*) FROM quality_findings") > 0);
    // Public-service applications in every state, some overdue.
    assert_eq!(count(&db, "SELECT COUNT(DISTINCT state) FROM applications"), 8);
    let overdue = format!(
        "SELECT COUNT(*) FROM applications WHERE state IN ('submitted', 'accepted', 'in_process', \
         'info_requested') AND due_date < '{}'",
        dancu_domain::date::vietnam_today(chrono::Utc::now())
    );
    assert!(count(&db, &overdue) > 0, "some applications are overdue");
    // Linked procedures: births and a death done, one birth in the exceptions worklist.
    assert!(count(&db, "SELECT COUNT(*) FROM linked_chains WHERE status = 'done'") >= 2);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM linked_chains WHERE error_rule <> ''"), 1);
    assert!(
        count(&db, "SELECT COUNT(*) FROM outbox WHERE kind IN ('birth.registered', 'death.registered')") >= 2
    );
    drop(db);

    // Served on every interface with --cookie-secure false: a warning about plain HTTP, the
    // LAN address, and cookies a browser on another device keeps.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dancu"))
        .args(["demo", "--data-dir", d, "--listen", "0.0.0.0:0", "--cookie-secure", "false"])
        .env("DANCU_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut port = None;
    let mut banner = String::new();
    // Kept open until the end: the server must not write to a closed pipe.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.by_ref().lines() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if let Some(rest) = line.strip_prefix("dancu demo is running: http://localhost:") {
            port = rest.trim_end_matches('/').parse::<u16>().ok();
        }
        if line.starts_with("API:") {
            break;
        }
    }
    let port = port.unwrap_or_else(|| panic!("no address in {banner}"));
    // The banner comes just before the server starts accepting: retry for a few seconds.
    let resp = (0..60)
        .map(|i| {
            std::thread::sleep(std::time::Duration::from_millis(if i == 0 { 0 } else { 500 }));
            get_login(port)
        })
        .find(|r| r.contains("Set-Cookie") || r.contains("set-cookie"))
        .unwrap_or_default();
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdout);
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    let cookie = resp.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).unwrap_or_default();
    assert!(!cookie.is_empty() && !cookie.contains("Secure"), "{resp} / {err}");
    assert!(err.contains("warning: dancu serves plain HTTP"), "{err}");
    assert!(!err.contains("cookies are marked Secure"), "{err}");
    assert!(banner.contains("From another device on the network: http://") || !has_lan(), "{banner}");
}

/// `GET /login` by hand; what was read (a reset after the answer keeps what came before).
fn get_login(port: u16) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    if s.write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").is_err() {
        return String::new();
    }
    let (mut buf, mut chunk) = (Vec::new(), [0u8; 4096]);
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Whether this machine has a route to a private network (a container may have none).
fn has_lan() -> bool {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    s.connect("10.255.255.255:9").is_ok()
}
