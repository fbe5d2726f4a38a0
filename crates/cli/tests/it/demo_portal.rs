//! "Log in with dancu" as a citizen meets it, in headless Chromium, on SQLite and
//! PostgreSQL: `dancu demo` serves the registry and its demo portal (a relying party built on
//! the `openidconnect` crate, `demo_rp.rs`); the demo's level-2 citizen opens the portal,
//! chooses "Đăng nhập bằng dancu", logs in on dancu's page with the password and the
//! authenticator code, consents, and arrives back at the portal greeted by name at level 2
//! (`loa:2`, checked by the portal from the signed ID token). Logging out at the portal ends
//! the dancu session too (RP-initiated logout): the next login asks for the password again.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::Locator;

#[path = "../../../server/tests/support/chromium.rs"]
mod chromium;
use chromium::{browser, start_driver, wait_for};

use crate::common::fresh_pg;

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The banner's level-2 login line: (personal ID, password, authenticator key).
fn level2_login(banner: &str) -> (String, String, String) {
    let line = banner.lines().find(|l| l.contains("log in as ")).unwrap_or_else(|| panic!("{banner}"));
    let rest = line.split("log in as ").nth(1).unwrap();
    let words: Vec<&str> = rest.split_whitespace().collect();
    // "<id> / <password> with the authenticator key <key> (…"
    (words[0].into(), words[2].into(), words[7].into())
}

fn code_now(key: &str) -> String {
    let raw = dancu_identity::totp::secret_from_base32(key).unwrap();
    dancu_identity::totp::generate(&raw, chrono::Utc::now().timestamp() as u64)
}

#[test]
fn sqlite() {
    run(None);
}

#[test]
fn postgres() {
    let Some(db) = fresh_pg("demoportal") else { return };
    run(Some(&db.url));
}

fn run(database_url: Option<&str>) {
    let Some(driver) = start_driver() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (port, rp_port) = (free_port(), free_port());
    let rp = format!("http://127.0.0.1:{rp_port}");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dancu"));
    cmd.args(["demo", "--people", "600", "--cookie-secure", "false"])
        .args(["--data-dir", dir.path().join("data").to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--oidc-issuer", &format!("http://127.0.0.1:{port}")])
        .args(["--demo-rp-listen", &format!("127.0.0.1:{rp_port}")])
        .args(["--demo-rp-redirect", &format!("{rp}/callback"), "--demo-rp-logout", &format!("{rp}/")])
        .env("DANCU_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let demo = Demo(child);
    let mut banner = String::new();
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("API:") {
            break;
        }
    }
    // Keep reading so that the server never writes to a closed pipe.
    std::thread::spawn(move || for _ in lines {});
    let (id, password, key) = level2_login(&banner);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let c = browser(driver.port).await;
        let result = walk(&c, &rp, &id, &password, &key).await;
        c.close().await.unwrap();
        result
    });
    drop(demo);
    // Keys, secrets and audit checkpoints of a PostgreSQL database stay in the data
    // directory, not in the working directory the demo was started from.
    if database_url.is_some() {
        let left: Vec<String> = std::fs::read_dir(".")
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.contains("demoportal"))
            .collect();
        assert!(left.is_empty(), "the demo left files outside its data directory: {left:?}");
    }
}

async fn walk(c: &fantoccini::Client, rp: &str, id: &str, password: &str, key: &str) {
    // The portal's own page, then dancu's login page.
    for _ in 0..50 {
        if c.goto(&format!("{rp}/")).await.is_ok()
            && c.find(Locator::Css("[data-testid=login]")).await.is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_for(c, "[data-testid=login]").await.click().await.unwrap();
    let page = wait_for(c, "#oidc-login").await;
    let body = c.source().await.unwrap();
    assert!(body.contains("Cổng dịch vụ công (thử nghiệm)"), "dancu names the portal: {body}");
    wait_for(c, "#personal_id").await.send_keys(id).await.unwrap();
    wait_for(c, "#password").await.send_keys(password).await.unwrap();
    wait_for(c, "#code").await.send_keys(&code_now(key)).await.unwrap();
    page.click().await.unwrap();
    // Consent, then back at the portal, logged in at level 2.
    wait_for(c, "#oidc-consent").await.click().await.unwrap();
    let greeting = wait_for(c, "[data-testid=greeting]").await.text().await.unwrap();
    assert!(greeting.starts_with("Xin chào"), "{greeting}");
    assert!(greeting.len() > "Xin chào ".len() + 3, "the citizen's name: {greeting}");
    assert_eq!(wait_for(c, "[data-testid=acr]").await.text().await.unwrap(), "loa:2");
    let sub = wait_for(c, "[data-testid=sub]").await.text().await.unwrap();
    assert!(!sub.contains(id), "a pairwise subject, not the personal ID");
    // Logout at the portal ends the session at dancu: logging in again asks for the password.
    wait_for(c, "[data-testid=logout]").await.click().await.unwrap();
    wait_for(c, "[data-testid=login]").await.click().await.unwrap();
    wait_for(c, "#password").await;
}
