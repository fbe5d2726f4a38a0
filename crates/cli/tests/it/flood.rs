//! Memory under an anonymous login flood (issue 11): a real `dancu serve` process takes 200
//! concurrent bogus logins and registrations (officer and citizen, made-up but well-formed
//! names and IDs, and malformed ones) and its peak resident memory (`VmHWM`) stays under
//! 300 MB. Before the hashing cap, 200 such logins took the server to 1.43 GB.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::common::on_both_backends;
use crate::serve_proc::{spawn, Server};

const LIMIT_KIB: u64 = 300 * 1024;

/// One HTTP/1.1 request on its own connection; the status code (0 if the connection failed).
fn request(port: u16, method: &str, path: &str, headers: &str, body: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return 0 };
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let head = String::from_utf8_lossy(&out[..out.len().min(32)]).into_owned();
    head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn start(url: &str, dir: &Path) -> (Server, u16) {
    spawn(url, dir, &[])
}

/// The i-th bogus request: (method, path, headers, body).
fn bogus(i: usize) -> (&'static str, String, String, String) {
    let json = "Content-Type: application/json\r\n".to_string();
    let form = "Content-Type: application/x-www-form-urlencoded\r\nCookie: dancu_portal_csrf=f; dancu_login_csrf=f\r\n";
    let pid = format!("0010850{:05}", i);
    match i % 5 {
        0 => (
            "POST",
            "/api/v1/auth/token".into(),
            json,
            format!(r#"{{"username":"nobody{i}","password":"guess-guess-{i}"}}"#),
        ),
        1 => (
            "POST",
            "/api/v1/auth/token".into(),
            json,
            format!(r#"{{"username":"{}","password":"x"}}"#, "y".repeat(60_000)),
        ),
        2 => (
            "POST",
            "/portal/login".into(),
            form.into(),
            format!("personal_id={pid}&password=guess-guess-{i}&code=123456&csrf=f"),
        ),
        3 => (
            "POST",
            "/api/v1/eid/registrations".into(),
            json,
            format!(
                r#"{{"personal_id":"{pid}","full_name":"Nguyễn Văn An","birth_date":"1985-03-15","sex":"Nam","phone":"0912345678","portrait_captured":true,"password":"guess-guess-{i}"}}"#
            ),
        ),
        _ => (
            "POST",
            "/login".into(),
            form.into(),
            format!("username=nobody{i}&password=guess-guess&csrf=f&next=/"),
        ),
    }
}

fn anonymous_login_flood_keeps_memory_bounded(url: &str, dir: &Path) {
    let (server, port) = start(url, dir);
    let pid = server.0.id();
    let threads: Vec<_> = (0..200)
        .map(|i| {
            std::thread::spawn(move || {
                let (method, path, headers, body) = bogus(i);
                request(port, method, &path, &headers, &body)
            })
        })
        .collect();
    let codes: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let hwm = vm_hwm_kib(pid);
    let count = |c: u16| codes.iter().filter(|x| **x == c).count();
    eprintln!(
        "flood on {}: peak RSS {} MiB; 401: {}, 422: {}, 429: {}",
        url.split(':').next().unwrap_or(""),
        hwm / 1024,
        count(401),
        count(422),
        count(429)
    );
    // Every request was answered, none failed the server (a full hashing queue answers 429).
    assert!(codes.iter().all(|c| (200..500).contains(c)), "{codes:?}");
    assert!(hwm < LIMIT_KIB, "peak RSS {} MiB under the flood", hwm / 1024);
    assert_eq!(request(port, "GET", "/healthz", "", ""), 200);
}

on_both_backends!(anonymous_login_flood_keeps_memory_bounded);
