//! Test harness: starts the real application on port 0 with a fresh database of each
//! backend (SQLite temp file; PostgreSQL fresh database when reachable), with officers of
//! two communes and citizens in each.
#![allow(dead_code)]

use std::sync::Arc;

use dancu_domain::citizen::CitizenDraft;
use dancu_domain::Citizen;
use dancu_store::audit_chain::{AuditKey, CheckpointLog};
use dancu_store::registry::{now, CheckpointPolicy};
use dancu_store::{Change, Database, NewOfficer, Role, Scope, Store};

/// Commune A (Phường Ba Đình, Hà Nội) and commune B (Phường Ngọc Hà, Hà Nội).
pub const COMMUNE_A: &str = "00004";
pub const COMMUNE_B: &str = "00008";
pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub base: String,
    pub backend: &'static str,
    pub store: Arc<dyn Store>,
    pub citizen_a: Citizen,
    pub citizen_b: Citizen,
    /// The running server's state (throttle, hashing pool, metrics).
    pub state: dancu_server::AppState,
    /// The database URL (SQLite: a file in a temporary directory).
    pub url: String,
    /// The audit key's and checkpoints' folder (and the SQLite database's).
    _tmp: tempfile::TempDir,
    _server: tokio::task::JoinHandle<()>,
}

/// Runs each named behaviour, an `async fn(backend: &'static str)`, as two tests:
/// `<name>::sqlite` and `<name>::postgres`. The PostgreSQL test is skipped with a message
/// when the server is unreachable, and fails in CI (`CI=true`).
/// `on_both_backends!(workers = 4; …)` gives each test's runtime 4 worker threads (2 by
/// default).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $crate::common::on_both_backends!(workers = 2; $($name),*);
    };
    (workers = $workers:literal; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
            async fn sqlite() {
                super::$name("sqlite").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
            async fn postgres() {
                if $crate::common::postgres_reachable().await {
                    super::$name("postgres").await
                }
            }
        }
    )*};
}
pub(crate) use on_both_backends;

/// Whether PostgreSQL is reachable. In CI (`CI=true`) an unreachable PostgreSQL is a
/// failure; elsewhere the caller skips, with a message.
pub async fn postgres_reachable() -> bool {
    match pg_admin().await {
        Ok(_) => true,
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL unreachable in CI ({}): {e}", pg_url());
            }
            eprintln!("SKIPPING PostgreSQL: unreachable at {} ({e})", pg_url());
            false
        }
    }
}

/// An answer's status and JSON body.
pub async fn status_body(r: reqwest::Response) -> (u16, serde_json::Value) {
    let s = r.status().as_u16();
    (s, body(r).await)
}

/// The body of an answer as JSON.
pub async fn body(r: reqwest::Response) -> serde_json::Value {
    r.json().await.unwrap()
}

pub fn pg_url() -> String {
    std::env::var("DANCU_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn pg_admin() -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Drops a PostgreSQL test database (closing its connections) from a fresh connection on a
/// thread and runtime of its own, so it also works from `Drop` inside a test's runtime.
pub fn drop_pg_database(url: &str) {
    let name = url[url.rfind('/').unwrap() + 1..].to_string();
    assert!(name.starts_with("dancu_srv_"), "{name}");
    let done = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let admin = pg_admin().await?;
            // The application's background tasks may still be reconnecting: refuse new
            // connections first, and try again if one slipped in.
            let _ = admin.batch_execute(&format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")).await;
            let mut tries = 0;
            loop {
                match admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await {
                    Err(_) if tries < 10 => tries += 1,
                    done => break done,
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        })
    })
    .join();
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("could not drop the test database {url}: {e}"),
        Err(_) => eprintln!("could not drop the test database {url}: the dropping thread panicked"),
    }
}

/// A fresh PostgreSQL database; returns its URL.
pub async fn fresh_pg_database() -> String {
    let admin = pg_admin().await.expect("postgres");
    let name = format!("dancu_srv_{}", dancu_server::auth::random_token()[..12].to_lowercase());
    admin.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let base = pg_url();
    let cut = base.rfind('/').unwrap();
    format!("{}/{}", &base[..cut], name)
}

pub fn draft(
    id: &str,
    family: &str,
    middle: &str,
    given: &str,
    dob: &str,
    sex: &str,
    commune: &str,
) -> CitizenDraft {
    CitizenDraft {
        personal_id: id.into(),
        family_name: family.into(),
        middle_name: middle.into(),
        given_name: given.into(),
        birth_date: dob.into(),
        sex: sex.into(),
        permanent_unit: format!("2025:{commune}"),
        permanent_detail: "Số 5 ngõ 12".into(),
        ..Default::default()
    }
}

/// The server stops and a PostgreSQL test database is dropped when its test ends.
impl Drop for TestApp {
    fn drop(&mut self) {
        self._server.abort();
        if self.url.starts_with("postgres") {
            drop_pg_database(&self.url);
        }
    }
}

/// The test officers' password hash, computed once per test binary (argon2 is slow on
/// purpose; each officer still gets a hash that verifies against `PASSWORD`).
pub fn password_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| dancu_server::auth::hash_password(PASSWORD)).clone()
}

impl TestApp {
    pub async fn start(backend: &'static str) -> TestApp {
        TestApp::start_with(backend, dancu_server::ServerConfig { cookie_secure: true, ..Default::default() })
            .await
    }

    /// Starts with the given server settings.
    pub async fn start_with(backend: &'static str, config: dancu_server::ServerConfig) -> TestApp {
        let tmp = tempfile::tempdir().unwrap();
        let url = match backend {
            "sqlite" => format!("sqlite://{}", tmp.path().join("t.db").display()),
            _ => fresh_pg_database().await,
        };
        let audit = CheckpointPolicy {
            log: CheckpointLog::new(tmp.path().join("audit.checkpoints")),
            key: AuditKey::generate(),
            every: std::time::Duration::from_secs(1),
            mirror: None,
        };
        let db = Database::open(&url, audit.key.clone()).await.unwrap();
        let store = db.raw().clone();
        for (user, role, scope) in [
            ("admin", Role::Admin, Scope::Nation),
            ("xa_a", Role::Officer, Scope::Commune(COMMUNE_A.into())),
            ("xa_b", Role::Officer, Scope::Commune(COMMUNE_B.into())),
            ("tinh01", Role::Officer, Scope::Province("01".into())),
        ] {
            store
                .create_officer(&NewOfficer {
                    username: user.into(),
                    display_name: format!("Cán bộ {user}"),
                    role,
                    scope,
                    password_hash: password_hash(),
                })
                .await
                .unwrap();
        }
        let today = chrono::Utc::now().date_naive();
        let change =
            Change { actor: "test:setup".into(), reason: "dữ liệu kiểm thử".into(), at: now() };
        let citizen_a = draft("001085001234", "Nguyễn", "Văn", "Ấn", "15/03/1985", "Nam", COMMUNE_A)
            .validate(today)
            .unwrap();
        let citizen_b = draft("001190004321", "Trần", "Thị", "Bình", "1990-07-02", "Nữ", COMMUNE_B)
            .validate(today)
            .unwrap();
        store.create_citizen(&citizen_a, &change).await.unwrap();
        store.create_citizen(&citizen_b, &change).await.unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // The OIDC issuer is the test server's own address unless the test chose one.
        let mut config = config;
        if config.oidc.issuer == dancu_server::oidc::DEFAULT_ISSUER {
            config.oidc.issuer = format!("http://localhost:{port}");
        }
        // The same sequence as `dancu serve`: audit check, writer, registry, router.
        let app = dancu_server::Application::build(db, config, audit).await.unwrap();
        let app_state = app.state().clone();
        let server = tokio::spawn(async move {
            app.serve(listener, None, std::future::pending()).await.unwrap();
        });
        TestApp {
            base: format!("http://localhost:{port}"),
            backend,
            store,
            citizen_a,
            citizen_b,
            state: app_state,
            url: url.clone(),
            _tmp: tmp,
            _server: server,
        }
    }

    /// A second server on this application's database, as `dancu serve` on another machine
    /// would be: its own connection pool, audit writer and in-memory state, the same
    /// settings and keys. Returns its base URL; it serves until the test ends.
    pub async fn second_server(&self) -> String {
        let db = Database::open(&self.url, AuditKey::generate()).await.unwrap();
        let (registry, _writer) = db.start_registry(64, None);
        let state = dancu_server::AppState::new(db, registry, self.state.config.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            dancu_server::serve(listener, state, std::future::pending()).await.unwrap();
            drop(_writer);
        });
        format!("http://localhost:{port}")
    }

    /// Runs SQL on the application's database, around the application (SQLite: the audit
    /// log's file is attached as `audit`).
    pub async fn sql(&self, sql: &str) {
        match self.url.strip_prefix("sqlite://") {
            Some(path) => {
                let c = rusqlite::Connection::open(path).unwrap();
                c.execute("ATTACH DATABASE ?1 AS audit", [dancu_store::sqlite::audit_path(path)]).unwrap();
                c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
                c.execute_batch(sql).unwrap();
            }
            None => {
                let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                client.batch_execute(sql).await.unwrap();
            }
        }
    }

    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }

    /// POSTs a JSON body with an officer's bearer token.
    pub async fn post_json(
        &self,
        token: &str,
        url: impl reqwest::IntoUrl,
        b: &serde_json::Value,
    ) -> reqwest::Response {
        self.client().post(url).bearer_auth(token).json(b).send().await.unwrap()
    }

    /// GETs `path` (from the root) with an officer's bearer token.
    pub async fn api_get(&self, token: &str, path: &str) -> reqwest::Response {
        self.client().get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap()
    }

    /// POSTs a form to `path` (from the root) with an officer's bearer token.
    pub async fn form_post(&self, token: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client().post(format!("{}{path}", self.base)).bearer_auth(token).form(form).send().await.unwrap()
    }

    /// The page at `path` (from the root) with an officer's bearer token, as text.
    pub async fn page_text(&self, token: &str, path: &str) -> String {
        self.api_get(token, path).await.text().await.unwrap()
    }

    /// POSTs to `path` (from the root) with an officer's bearer token and no body.
    pub async fn api_post(&self, token: &str, path: &str) -> reqwest::Response {
        self.client().post(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn token(&self, user: &str) -> String {
        let r = self
            .client()
            .post(format!("{}/api/v1/auth/token", self.base))
            .json(&serde_json::json!({"username": user, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login of {user} on {}", self.backend);
        r.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
    }
}

/// A cookie jar for one browser-like client (the test server marks cookies Secure, which
/// reqwest's jar would not send over plain HTTP).
#[derive(Default)]
pub struct Jar(Vec<(String, String)>);

impl Jar {
    pub fn take(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let s = v.to_str().unwrap();
            let (kv, _) = s.split_once(';').unwrap_or((s, ""));
            let (k, val) = kv.split_once('=').unwrap();
            self.0.retain(|(n, _)| n != k);
            if !val.is_empty() && !s.contains("Max-Age=0") {
                self.0.push((k.to_string(), val.to_string()));
            }
        }
    }
    pub fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

/// A GET with the jar's cookies; keeps the cookies it sets.
pub async fn get(app: &TestApp, jar: &mut Jar, path: &str) -> reqwest::Response {
    let r = app
        .client()
        .get(format!("{}{path}", app.base))
        .header(reqwest::header::COOKIE, jar.header())
        .send()
        .await
        .unwrap();
    jar.take(&r);
    r
}

/// A form POST with the jar's cookies; keeps the cookies it sets.
pub async fn post_form(app: &TestApp, jar: &mut Jar, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let r = app
        .client()
        .post(format!("{}{path}", app.base))
        .header(reqwest::header::COOKIE, jar.header())
        .form(form)
        .send()
        .await
        .unwrap();
    jar.take(&r);
    r
}

// ---- partners ----

/// The administrator's access, for set-up through the registry.
pub fn admin_access() -> dancu_store::registry::Access {
    dancu_store::registry::Access {
        actor: "officer:admin".into(),
        role: Role::Admin,
        scope: Scope::Nation,
        purpose: "x".into(),
    }
}

/// A partner's entitlements: the operations `ops`, nation-wide, no card fields, no feed
/// kinds, at a rate no test reaches; a test sets what else it needs.
pub fn entitlement(
    client_id: &str,
    ops: &[dancu_store::partners::Operation],
) -> dancu_store::partners::Partner {
    dancu_store::partners::Partner {
        client_id: client_id.into(),
        name: format!("Đối tác {client_id}"),
        suspended: false,
        rate_per_sec: 10_000,
        burst: 10_000,
        operations: ops.to_vec(),
        fields: Vec::new(),
        units: vec![Scope::Nation],
        feed_kinds: Vec::new(),
        updated_at: now(),
        updated_by: String::new(),
    }
}

/// Entitles a partner (an administrator's act through the registry); the server sees it at
/// once.
pub async fn entitle_partner(app: &TestApp, p: &dancu_store::partners::Partner) {
    app.state.registry.partner_entitle(&admin_access(), p).await.unwrap();
    app.state.partners.forget(&p.client_id);
}

/// Registers an OAuth client and returns its access token (client credentials), with
/// `scope` if given.
pub async fn client_token(
    app: &TestApp,
    reg: dancu_server::oidc::clients::Registration,
    scope: Option<&str>,
) -> String {
    let (id, secret) = crate::oidc::add_client(app, reg).await;
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let r = app
        .client()
        .post(format!("{}/oauth/token", app.base))
        .basic_auth(&id, secret.as_deref())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    body(r).await["access_token"].as_str().unwrap().to_string()
}

/// POSTs every (url, body) at the same time; the answers in the order given.
pub async fn all_at_once(
    app: &TestApp,
    t: &str,
    reqs: Vec<(String, serde_json::Value)>,
) -> Vec<(reqwest::StatusCode, serde_json::Value)> {
    let mut set = tokio::task::JoinSet::new();
    for (i, (u, b)) in reqs.into_iter().enumerate() {
        let (c, t) = (app.client(), t.to_string());
        set.spawn(async move {
            let r = c.post(u).bearer_auth(t).json(&b).send().await.unwrap();
            (i, r.status(), r.json::<serde_json::Value>().await.unwrap())
        });
    }
    let mut out = set.join_all().await;
    out.sort_by_key(|(i, ..)| *i);
    out.into_iter().map(|(_, st, v)| (st, v)).collect()
}
