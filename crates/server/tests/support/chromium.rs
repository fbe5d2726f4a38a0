//! Headless Chromium for the browser tests of the server and of the CLI (included by path
//! from both test crates): Debian's `chromium` and `chromium-driver`, one chromedriver per
//! test, a WebDriver session through fantoccini.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

pub(crate) struct Driver {
    child: Child,
    pub(crate) port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> Option<String> {
    ["/usr/bin/", "/usr/local/bin/", "/usr/lib/chromium/"]
        .iter()
        .map(|d| format!("{d}{name}"))
        .find(|p| std::path::Path::new(p).exists())
}

/// Starts chromedriver, or returns None (a failure in CI) when Chromium is not installed.
pub(crate) fn start_driver() -> Option<Driver> {
    let (Some(driver), Some(_)) = (which("chromedriver"), which("chromium")) else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("chromium and chromium-driver must be installed in CI (the test script installs them)");
        }
        eprintln!("SKIPPING browser tests: chromium/chromedriver not installed (run ./test.sh, which installs them)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Some(Driver { child, port })
}

pub(crate) async fn browser(port: u16) -> Client {
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": which("chromium").unwrap(),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1200,900"]
        }
    });
    let caps = caps.as_object().unwrap().clone();
    for attempt in 0..50 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return c,
            Err(e) if attempt < 49 => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("cannot start a Chromium session: {e}"),
        }
    }
    unreachable!()
}

pub(crate) async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("element {css}"))
}
