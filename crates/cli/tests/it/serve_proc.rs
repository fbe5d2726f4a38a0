//! A real `dancu serve` process for the tests that kill one (SIGKILL) and start another on
//! the same files: its command, its start (waiting for /readyz, then an officer token),
//! plain HTTP/1.1 calls on their own connections, and counts read around dancu with SQL.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const PASSWORD: &str = "mat-khau-ben-vung-2026";

/// Kills the server when the test ends, however it ends.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn dancu(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dancu"));
    c.current_dir(dir)
        .env("DANCU_LOG", "warn")
        .env("DANCU_AUDIT_KEY_FILE", dir.join("audit.key"))
        .env("DANCU_AUDIT_CHECKPOINT_FILE", dir.join("audit.checkpoints"))
        .env("DANCU_TOKEN_SECRET_FILE", dir.join("token.secret"));
    c
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    let o = dancu(dir).args(args).env("DANCU_OFFICER_PASSWORD", PASSWORD).output().unwrap();
    assert!(
        o.status.success(),
        "dancu {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.1 request on its own connection: the status (0 if the connection failed) and
/// the body.
pub fn call(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    send(port, method, path, &format!("{auth}Content-Type: application/json\r\n"), body)
}

/// A form POST (`application/x-www-form-urlencoded`) on its own connection.
pub fn call_form(port: u16, path: &str, body: &str) -> (u16, String) {
    send(port, "POST", path, "Content-Type: application/x-www-form-urlencoded\r\n", body)
}

fn send(port: u16, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return (0, String::new()) };
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// Starts `dancu serve` on a free port and waits until it answers /readyz.
pub fn spawn(url: &str, dir: &Path, extra: &[&str]) -> (Server, u16) {
    let port = free_port();
    (spawn_at(url, dir, port, extra), port)
}

/// Starts `dancu serve` on `port` (a killed server's, say) and waits until it answers /readyz.
pub fn spawn_at(url: &str, dir: &Path, port: u16, extra: &[&str]) -> Server {
    let child = dancu(dir)
        .args(["serve", "--database-url", url, "--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    while call(port, "GET", "/readyz", None, "").0 != 200 {
        assert!(Instant::now() < deadline, "dancu serve did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// The personal IDs of a `dancu gen` file, in order.
pub fn personal_ids(csv: &Path) -> Vec<String> {
    std::fs::read_to_string(csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

pub fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

pub fn start(url: &str, dir: &Path) -> (Server, u16, String) {
    start_with(url, dir, &[])
}

/// [`start`] with more `dancu serve` arguments.
pub fn start_with(url: &str, dir: &Path, extra: &[&str]) -> (Server, u16, String) {
    let (server, port) = spawn(url, dir, extra);
    let (status, body) = call(
        port,
        "POST",
        "/api/v1/auth/token",
        None,
        &format!(r#"{{"username":"can-bo","password":"{PASSWORD}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let token = json(&body)["access_token"].as_str().unwrap().to_string();
    (server, port, token)
}

/// A number read with SQL from the database (the audit log included), around dancu.
pub fn count(url: &str, sql: &str) -> i64 {
    let rows = column(url, sql);
    rows.first().and_then(|v| v.trim().parse().ok()).unwrap_or_else(|| panic!("{sql}: {rows:?}"))
}

/// The first column of every row a query returns, as text, read around dancu (the audit
/// log attached on SQLite).
pub fn column(url: &str, sql: &str) -> Vec<String> {
    match url.strip_prefix("sqlite://") {
        Some(path) => {
            let path = path.split('?').next().unwrap();
            let c = rusqlite::Connection::open(path).unwrap();
            c.execute("ATTACH DATABASE ?1 AS audit", [format!("{path}-audit")]).unwrap();
            let mut q = c.prepare(sql).unwrap();
            let rows = q.query_map([], |r| {
                Ok(match r.get_ref(0)? {
                    rusqlite::types::ValueRef::Null => String::new(),
                    rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                    rusqlite::types::ValueRef::Real(f) => f.to_string(),
                    v => String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned(),
                })
            });
            rows.unwrap().map(|r| r.unwrap()).collect()
        }
        None => {
            let o = Command::new("psql").arg(url).args(["-tAc", sql]).output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
        }
    }
}
