//! Configuration: defaults → optional TOML file (`--config`) → `DANCU_*` environment →
//! command-line flags (clap reads the environment and flags; the file fills what they leave).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use dancu_store::audit_chain::{write_new_private as write_private, AuditKey, CheckpointLog};
use dancu_store::registry::{AuditWriter, CheckpointPolicy, Registry};
use dancu_store::Database;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

/// Settings a TOML file may hold; every one optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    /// A PostgreSQL streaming replica of `database_url` for reads that tolerate a short lag
    /// (search, partner verification and card look-up, the change feed).
    pub database_replica_url: Option<String>,
    pub listen: Option<SocketAddr>,
    pub cookie_secure: Option<bool>,
    pub session_ttl_secs: Option<u64>,
    pub token_ttl_secs: Option<u64>,
    pub max_body_bytes: Option<usize>,
    pub token_secret_file: Option<String>,
    pub audit_key_file: Option<String>,
    pub audit_checkpoint_file: Option<String>,
    pub audit_checkpoint_secs: Option<u64>,
    /// Also publish audit checkpoints to NATS JetStream at this URL (`nats://host:4222`).
    pub audit_checkpoint_nats_url: Option<String>,
    /// Their subject (default `dancu.audit.checkpoints`).
    pub audit_checkpoint_nats_subject: Option<String>,
    pub secret_key_file: Option<String>,
    pub metrics_token_file: Option<String>,
    pub metrics_listen: Option<SocketAddr>,
    pub hash_slots: Option<usize>,
    pub hash_queue: Option<usize>,
    /// Proxies whose `X-Forwarded-For` names the client (addresses or CIDR ranges).
    pub trusted_proxies: Option<Vec<String>>,
    /// Failed logins allowed per client address per window (`login_ip_window_secs`).
    pub login_ip_failures: Option<u32>,
    pub login_ip_window_secs: Option<u64>,
    /// Failed logins allowed from all clients together per window.
    pub login_global_failures: Option<u32>,
    pub login_global_window_secs: Option<u64>,
    /// Serve the look-up benchmark's constant endpoint (`bench/lookup.sh`); never in production.
    pub bench_endpoint: Option<bool>,
    /// The OpenID Connect issuer (public base URL); default `http://<listen>`.
    pub oidc_issuer: Option<String>,
    /// Directory of the OIDC signing keys; default `oidc-keys` next to the database.
    pub oidc_key_dir: Option<String>,
    /// Lifetime of relying parties' access and ID tokens in seconds (default 300, 1–3600).
    pub oidc_access_token_secs: Option<u64>,
    /// File of the keys that sign residence confirmations' QR codes; default
    /// `confirm.keys` next to the database.
    pub confirm_key_file: Option<String>,
    /// Public confirmation checks allowed per client address per minute (default 120).
    pub verify_per_minute: Option<u32>,
    /// Run the webhook dispatcher in this server (default true; docs/FEED.md).
    pub webhooks: Option<bool>,
    /// Attempts before a webhook delivery is dead-lettered (default 10).
    pub webhook_max_attempts: Option<u32>,
    /// How long a claimed delivery stays this server's, in seconds (default 60): when a
    /// server dies, its claims are delivered by another after this.
    pub webhook_lease_secs: Option<u64>,
    /// How long a linked procedure's run stays one server's, in seconds (default 30): when a
    /// server dies mid-chain, another resumes the chain after this (docs/CHAINS.md).
    pub chain_lease_secs: Option<u64>,
    /// Publish the change feed to NATS JetStream at this URL (`nats://host:4222`; off by
    /// default). Also `DANCU_FEED_NATS_URL`.
    pub feed_nats_url: Option<String>,
    /// The JetStream stream of the feed (default `DANCU_FEED`).
    pub feed_nats_stream: Option<String>,
    /// The subject prefix (default `dancu.feed`): subjects are `<prefix>.<partner>.<kind>`.
    pub feed_nats_prefix: Option<String>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let Some(path) = path else { return Ok(Self::default()) };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
    }
}

pub fn default_database_url() -> String {
    "sqlite://dancu-data/dancu.db".to_string()
}

/// Hides a password in a database URL for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The audit key file named by the configuration file, for commands that take no flag.
static FILE_AUDIT_KEY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
static FILE_CHECKPOINTS: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
static FILE_NATS: std::sync::OnceLock<(Option<String>, Option<String>)> = std::sync::OnceLock::new();

/// Records the configuration file's audit settings for [`open_store`] and [`audit_files`].
pub fn remember_audit_files(file: &FileConfig) {
    let _ = FILE_AUDIT_KEY.set(file.audit_key_file.clone());
    let _ = FILE_CHECKPOINTS.set(file.audit_checkpoint_file.clone());
    let _ =
        FILE_NATS.set((file.audit_checkpoint_nats_url.clone(), file.audit_checkpoint_nats_subject.clone()));
}

/// The NATS URL and subject audit checkpoints are mirrored to, if configured:
/// `DANCU_AUDIT_CHECKPOINT_NATS_URL` / `_SUBJECT`, else the configuration file.
fn nats_mirror_settings() -> Option<(String, String)> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (file_url, file_subject) = FILE_NATS.get().cloned().unwrap_or_default();
    let url = env("DANCU_AUDIT_CHECKPOINT_NATS_URL").or(file_url)?;
    let subject = env("DANCU_AUDIT_CHECKPOINT_NATS_SUBJECT")
        .or(file_subject)
        .unwrap_or_else(|| crate::nats_checkpoints::DEFAULT_SUBJECT.into());
    Some((url, subject))
}

/// The audit key file and checkpoint log for `database_url`: `DANCU_AUDIT_KEY_FILE` and
/// `DANCU_AUDIT_CHECKPOINT_FILE`, else the configuration file, else `audit.key` and
/// `audit.checkpoints` beside the SQLite file (`dancu-<database>-audit.*` in the working
/// directory for PostgreSQL, [`path_for`]). Every command resolves them the same way, so all append under one key.
pub fn audit_files(database_url: &str) -> (PathBuf, PathBuf) {
    let pick = |env: &str, file: &std::sync::OnceLock<Option<String>>, name: &str| -> PathBuf {
        std::env::var(env)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| file.get().cloned().flatten())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(path_for(database_url, name)))
    };
    (
        pick("DANCU_AUDIT_KEY_FILE", &FILE_AUDIT_KEY, "audit.key"),
        pick("DANCU_AUDIT_CHECKPOINT_FILE", &FILE_CHECKPOINTS, "audit.checkpoints"),
    )
}

/// Opens the database with the audit key (created on first use; see [`audit_files`]).
pub async fn open_database(database_url: &str) -> Result<Database> {
    let (key_file, _) = audit_files(database_url);
    let key = AuditKey::load_or_create(&key_file)?;
    Ok(Database::open(database_url, key).await?)
}

/// The audit key (created on first use) and the checkpoint log of `database_url`'s store,
/// signed at most once per `every` while entries are appended, and mirrored to NATS when
/// configured (an unreachable NATS is an error: the operator asked for the copy).
pub async fn checkpoint_policy(database_url: &str, every: Duration) -> Result<CheckpointPolicy> {
    let (key_file, _) = audit_files(database_url);
    policy_with_key(database_url, every, AuditKey::load_or_create(&key_file)?).await
}

/// [`checkpoint_policy`] with a key already read (`audit verify` never creates one).
pub async fn policy_with_key(database_url: &str, every: Duration, key: AuditKey) -> Result<CheckpointPolicy> {
    let (_, checkpoints) = audit_files(database_url);
    let mirror: Option<std::sync::Arc<dyn dancu_store::registry::CheckpointMirror>> =
        match nats_mirror_settings() {
            Some((url, subject)) => Some(std::sync::Arc::new(
                crate::nats_checkpoints::NatsCheckpoints::connect(&url, &subject).await?,
            )),
            None => None,
        };
    Ok(CheckpointPolicy { log: CheckpointLog::new(checkpoints), key, every, mirror })
}

/// Audit entries a command-line job commits together at most.
pub const AUDIT_BATCH: usize = 512;

/// The database and a registry for a command-line job: every access to personal data
/// (imports, matching and quality runs, officer creation) goes through the registry and is
/// audited. Drop the registry, then `writer.shutdown()`, which flushes the entries and
/// signs the chain's head into the checkpoint log.
pub async fn open_registry(database_url: &str) -> Result<(Database, Registry, AuditWriter)> {
    let policy = checkpoint_policy(database_url, Duration::from_secs(10)).await?;
    let db = Database::open(database_url, policy.key.clone()).await?;
    let (registry, writer) = db.start_registry(AUDIT_BATCH, Some(policy));
    Ok((db, registry, writer))
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct ServeArgs {
    #[arg(long, env = "DANCU_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A PostgreSQL streaming replica of the database for reads that tolerate a short lag
    /// (search, partner verification and card look-up, the change feed); writes stay on the
    /// primary.
    #[arg(long, env = "DANCU_DATABASE_REPLICA_URL")]
    pub database_replica_url: Option<String>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "DANCU_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Mark cookies Secure (default true; browsers accept Secure cookies on http://localhost).
    #[arg(long, env = "DANCU_COOKIE_SECURE")]
    pub cookie_secure: Option<bool>,
    /// File holding the bearer-token signing secret; created with a random secret if missing.
    #[arg(long, env = "DANCU_TOKEN_SECRET_FILE")]
    pub token_secret_file: Option<String>,
    /// File of the keys that seal TOTP secrets and key reset codes (`<id>:<64 hex>` lines,
    /// the first current); created with a random key (mode 0600) if missing.
    #[arg(long, env = "DANCU_SECRET_KEY_FILE")]
    pub secret_key_file: Option<String>,
    /// The keys themselves instead of a file, from `DANCU_SECRET_KEYS` only (never a flag):
    /// `<id>:<hex>`, comma-separated, current first.
    #[arg(skip)]
    pub secret_keys: Option<String>,
    /// Serve /metrics (without a token) on this address only, not on the main listener.
    #[arg(long, env = "DANCU_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// File holding the bearer token /metrics asks for on the main listener; created with a
    /// random token (mode 0600) if missing.
    #[arg(long, env = "DANCU_METRICS_TOKEN_FILE")]
    pub metrics_token_file: Option<String>,
    /// Serve `GET /api/v1/bench/constant`, the look-up benchmark's baseline (off by default).
    #[arg(long, env = "DANCU_BENCH_ENDPOINT")]
    pub bench_endpoint: Option<bool>,
    /// Proxies whose `X-Forwarded-For` names the client, comma-separated addresses or CIDR
    /// ranges (default: none; the socket's peer is the client).
    #[arg(long, env = "DANCU_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// The OpenID Connect issuer: the public base URL relying parties reach this server at
    /// (default `http://<listen>`).
    #[arg(long, env = "DANCU_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Directory of the OIDC signing keys and the pairwise-subject secret (created 0700 with a
    /// first key if missing; default `oidc-keys` next to the database).
    #[arg(long, env = "DANCU_OIDC_KEY_DIR")]
    pub oidc_key_dir: Option<String>,
    /// File of the Ed25519 keys that sign residence confirmations' QR codes (`<kid> <key>`
    /// lines, the last current; created 0600 with one key if missing; default `confirm.keys`
    /// next to the database).
    #[arg(long, env = "DANCU_CONFIRM_KEY_FILE")]
    pub confirm_key_file: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub database_url: String,
    pub database_replica_url: Option<String>,
    /// How often the audit writer signs a checkpoint while entries are appended.
    pub audit_checkpoint_every: Duration,
    pub listen: SocketAddr,
    /// A listener of its own for /metrics, if configured.
    pub metrics_listen: Option<SocketAddr>,
    pub server: dancu_server::ServerConfig,
}

impl ServeArgs {
    pub fn resolve(self, file: &FileConfig) -> Result<ServeSettings> {
        let database_url =
            self.database_url.or(file.database_url.clone()).unwrap_or_else(default_database_url);
        let database_replica_url = self.database_replica_url.clone().or(file.database_replica_url.clone());
        let listen = self.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".parse().unwrap());
        let mut server = dancu_server::ServerConfig {
            cookie_secure: self.cookie_secure.or(file.cookie_secure).unwrap_or(true),
            bench_endpoint: self.bench_endpoint.or(file.bench_endpoint).unwrap_or(false),
            ..Default::default()
        };
        if let Some(s) = file.session_ttl_secs {
            server.session_ttl = Duration::from_secs(s);
        }
        if let Some(s) = file.token_ttl_secs {
            server.token_ttl = Duration::from_secs(s);
        }
        if let Some(b) = file.max_body_bytes {
            server.max_body_bytes = b;
        }
        if let Some(n) = file.hash_slots {
            server.hash_slots = n.max(1);
        }
        if let Some(n) = file.hash_queue {
            server.hash_queue = n;
        }
        let proxies = self.trusted_proxies.clone().or(file.trusted_proxies.as_ref().map(|v| v.join(",")));
        if let Some(list) = proxies {
            server.trusted_proxies = list.parse().map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
        }
        let l = &mut server.login_limits;
        l.ip_failures = file.login_ip_failures.unwrap_or(l.ip_failures).max(1);
        l.global_failures = file.login_global_failures.unwrap_or(l.global_failures).max(1);
        if let Some(s) = file.login_ip_window_secs {
            l.ip_window = Duration::from_secs(s.max(1));
        }
        if let Some(s) = file.login_global_window_secs {
            l.global_window = Duration::from_secs(s.max(1));
        }
        let secret_file = self
            .token_secret_file
            .or(file.token_secret_file.clone())
            .unwrap_or_else(|| path_for(&database_url, "token.secret"));
        server.token_secret = load_or_create_secret(Path::new(&secret_file))?;
        let env_keys = std::env::var("DANCU_SECRET_KEYS").ok().filter(|k| !k.trim().is_empty());
        server.secret_keys = match self.secret_keys.or(env_keys) {
            Some(keys) => dancu_server::secrets::SecretKeys::parse(&keys.replace(',', "\n"))
                .map_err(|e| anyhow::anyhow!("DANCU_SECRET_KEYS: {e}"))?,
            None => {
                let f = self
                    .secret_key_file
                    .or(file.secret_key_file.clone())
                    .unwrap_or_else(|| path_for(&database_url, "secrets.key"));
                load_or_create_keys(Path::new(&f))?
            }
        };
        let metrics_listen = self.metrics_listen.or(file.metrics_listen);
        let token_file = self.metrics_token_file.or(file.metrics_token_file.clone());
        server.metrics_token = match (&metrics_listen, token_file) {
            // A separate listener and no token file: /metrics only there.
            (Some(_), None) => None,
            (_, f) => Some(load_or_create_token(Path::new(
                &f.unwrap_or_else(|| path_for(&database_url, "metrics.token")),
            ))?),
        };
        let issuer =
            self.oidc_issuer.or(file.oidc_issuer.clone()).unwrap_or_else(|| format!("http://{listen}"));
        server.oidc.issuer = issuer.trim_end_matches('/').to_string();
        if let Some(secs) = file.oidc_access_token_secs {
            server.oidc.access_token_ttl = Duration::from_secs(secs.clamp(1, 3600));
        }
        let key_dir =
            self.oidc_key_dir.or(file.oidc_key_dir.clone()).unwrap_or_else(|| oidc_key_dir(&database_url));
        server.oidc.keys = std::sync::Arc::new(
            dancu_server::oidc::keys::KeySet::open_dir(Path::new(&key_dir)).context("OIDC signing keys")?,
        );
        let confirm_file = self
            .confirm_key_file
            .or(file.confirm_key_file.clone())
            .unwrap_or_else(|| confirm_key_file(&database_url));
        server.confirm_keys = std::sync::Arc::new(
            dancu_server::confirm::ConfirmKeys::open_file(Path::new(&confirm_file))
                .map_err(|e| anyhow::anyhow!("confirmation signing keys: {e}"))?,
        );
        if let Some(n) = file.verify_per_minute {
            server.verify_limit.per_address = n.max(1);
        }
        server.webhooks.enabled = file.webhooks.unwrap_or(true);
        if let Some(secs) = file.webhook_lease_secs {
            server.webhooks.lease = Duration::from_secs(secs.clamp(1, 3600));
        }
        if let Some(secs) = file.chain_lease_secs {
            server.chains.timing.lease = Duration::from_secs(secs.clamp(1, 3600));
        }
        if let Some(n) = file.webhook_max_attempts {
            server.webhooks.max_attempts = n.max(1);
        }
        let nats_url = std::env::var("DANCU_FEED_NATS_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .or(file.feed_nats_url.clone());
        server.nats_feed = nats_url.map(|url| dancu_server::nats_feed::NatsFeedConfig {
            url,
            stream: file.feed_nats_stream.clone().unwrap_or_else(|| "DANCU_FEED".into()),
            prefix: file.feed_nats_prefix.clone().unwrap_or_else(|| "dancu.feed".into()),
        });
        let audit_checkpoint_every = Duration::from_secs(file.audit_checkpoint_secs.unwrap_or(10).max(1));
        Ok(ServeSettings {
            database_url,
            database_replica_url,
            audit_checkpoint_every,
            listen,
            metrics_listen,
            server,
        })
    }
}

/// The default OIDC key directory of a database.
pub fn oidc_key_dir(url: &str) -> String {
    path_for(url, "oidc-keys")
}

/// The default file of a database's confirmation signing keys.
pub fn confirm_key_file(url: &str) -> String {
    path_for(url, "confirm.keys")
}

/// Where [`path_for`] keeps a PostgreSQL database's files when not in the working directory:
/// the demo's data directory ([`keep_pg_files_in`]).
static PG_FILE_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Keeps the files of a PostgreSQL database (keys, secrets, audit checkpoints) in `dir`
/// instead of the working directory: `dancu demo --data-dir D --database-url postgres://…`
/// leaves nothing outside `D`. Called once, before any path is resolved.
pub fn keep_pg_files_in(dir: &Path) {
    let _ = PG_FILE_DIR.set(dir.to_path_buf());
}

/// A file kept beside the database: next to the SQLite file, or in the working directory (the
/// demo's data directory) for PostgreSQL, named after the database (`dancu-<database>-<name>`), so that two databases
/// served from one directory never share an audit checkpoint log. A file of the earlier
/// name (`dancu-<name>`) is still used where it exists and the new one does not.
fn path_for(url: &str, name: &str) -> String {
    match url.strip_prefix("sqlite://") {
        Some(p) => Path::new(p).with_file_name(name).to_string_lossy().into_owned(),
        None => {
            let dir = PG_FILE_DIR.get().map_or(Path::new(""), |d| d.as_path());
            let at = |f: String| dir.join(f).to_string_lossy().into_owned();
            let legacy = at(format!("dancu-{name}"));
            let named = at(format!("dancu-{}-{name}", pg_database_name(url)));
            if Path::new(&legacy).exists() && !Path::new(&named).exists() {
                legacy
            } else {
                named
            }
        }
    }
}

/// The database a PostgreSQL URL names (`postgres://user@host:5432/db?…` → `db`), with
/// anything but letters, digits, `-` and `_` replaced, for a file name.
fn pg_database_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let db = rest.split_once('/').map_or("postgres", |(_, d)| d);
    let db = db.split(['?', '#']).next().filter(|d| !d.is_empty()).unwrap_or("postgres");
    db.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// Reads the sealing keys, or creates the file with one random key (mode 0600).
pub fn load_or_create_keys(path: &Path) -> Result<dancu_server::secrets::SecretKeys> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let t = dancu_server::secrets::SecretKeys::new_file_text();
            write_private(path, &t).with_context(|| format!("writing secret key file {}", path.display()))?;
            t
        }
        Err(e) => return Err(e).with_context(|| format!("reading secret key file {}", path.display())),
    };
    dancu_server::secrets::SecretKeys::parse(&text)
        .map_err(|e| anyhow::anyhow!("secret key file {}: {e}", path.display()))
}

/// Reads the /metrics bearer token, or creates the file with a random one (mode 0600).
pub fn load_or_create_token(path: &Path) -> Result<String> {
    String::from_utf8(load_or_create_secret(path)?).context("metrics token is not text")
}

pub fn load_or_create_secret(path: &Path) -> Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(s) => {
            let s = s.trim();
            anyhow::ensure!(s.len() >= 32, "the secret in {} is shorter than 32 characters", path.display());
            return Ok(s.as_bytes().to_vec());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let secret = dancu_server::auth::random_token();
    write_private(path, &secret).with_context(|| format!("writing token secret {}", path.display()))?;
    Ok(secret.into_bytes())
}

pub fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("DANCU_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn postgres_files_are_named_after_the_database() {
        assert_eq!(
            super::pg_database_name("postgres://postgres@127.0.0.1:5432/dancu_x?sslmode=disable"),
            "dancu_x"
        );
        assert_eq!(super::pg_database_name("postgresql://h/a.b"), "a_b");
        assert_eq!(super::pg_database_name("postgres://h"), "postgres");
    }

    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_are_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("d/x.db").display());
        let args = ServeArgs {
            database_url: Some(url),
            database_replica_url: None,
            listen: None,
            cookie_secure: None,
            token_secret_file: None,
            secret_key_file: None,
            secret_keys: None,
            metrics_listen: None,
            metrics_token_file: None,
            bench_endpoint: None,
            trusted_proxies: None,
            oidc_issuer: None,
            oidc_key_dir: None,
            confirm_key_file: None,
        };
        let s = args.clone().resolve(&FileConfig::default()).unwrap();
        for name in ["token.secret", "secrets.key", "metrics.token", "confirm.keys"] {
            let mode =
                std::fs::metadata(dir.path().join("d").join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
        // A second start reads the same secrets.
        let again = args.clone().resolve(&FileConfig::default()).unwrap();
        assert_eq!(s.server.token_secret, again.server.token_secret);
        assert_eq!(s.server.metrics_token, again.server.metrics_token);
        assert_eq!(s.server.confirm_keys.current_kid(), again.server.confirm_keys.current_kid());
        // The OIDC key directory: private, with its key and pairwise secret, reused.
        let keys = dir.path().join("d/oidc-keys");
        assert_eq!(std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(keys.join("pairwise.key")).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(s.server.oidc.keys.current_kid(), again.server.oidc.keys.current_kid());
        assert_eq!(s.server.oidc.keys.pairwise_secret(), again.server.oidc.keys.pairwise_secret());
        assert_eq!(s.server.oidc.issuer, "http://127.0.0.1:8080");
        let (a, b) = (s.server.secret_keys, again.server.secret_keys);
        let id: dancu_domain::PersonalId = "001085001234".parse().unwrap();
        let sealed =
            dancu_server::secrets::Secrets::new(a).seal_totp(&id, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
        assert!(dancu_server::secrets::Secrets::new(b).open_totp(&id, &sealed).is_ok());
        // With a metrics listener and no token file, /metrics is not on the main listener.
        let sep = ServeArgs { metrics_listen: Some("127.0.0.1:9100".parse().unwrap()), ..args.clone() };
        assert_eq!(sep.resolve(&FileConfig::default()).unwrap().server.metrics_token, None);
        // Keys from the environment instead of the file.
        let env = ServeArgs {
            secret_keys: Some(format!("k2:{},k1:{}", "11".repeat(32), "22".repeat(32))),
            ..args.clone()
        };
        assert_eq!(env.resolve(&FileConfig::default()).unwrap().server.secret_keys.current_id(), "k2");
        let bad = ServeArgs { secret_keys: Some("k1:00".into()), ..args };
        assert!(bad.resolve(&FileConfig::default()).is_err());
    }

    #[test]
    fn login_limits_and_trusted_proxies_come_from_file_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("x.db").display());
        let file: FileConfig = toml::from_str(
            "trusted_proxies = [\"10.0.0.0/8\"]\nlogin_ip_failures = 7\nlogin_global_window_secs = 30",
        )
        .unwrap();
        let args = ServeArgs {
            database_url: Some(url),
            database_replica_url: None,
            listen: None,
            cookie_secure: None,
            token_secret_file: None,
            secret_key_file: None,
            secret_keys: None,
            metrics_listen: None,
            metrics_token_file: None,
            bench_endpoint: None,
            trusted_proxies: None,
            oidc_issuer: None,
            oidc_key_dir: None,
            confirm_key_file: None,
        };
        let s = args.clone().resolve(&file).unwrap().server;
        assert_eq!(s.trusted_proxies, "10.0.0.0/8".parse().unwrap());
        assert_eq!(s.login_limits.ip_failures, 7);
        assert_eq!(s.login_limits.global_window, Duration::from_secs(30));
        let none = args.clone().resolve(&FileConfig::default()).unwrap().server;
        assert!(none.trusted_proxies.is_empty(), "no proxy is trusted by default");
        // The flag or `DANCU_TRUSTED_PROXIES` wins over the file; a bad entry is named.
        let env = ServeArgs { trusted_proxies: Some("192.0.2.1, ::1".into()), ..args.clone() };
        assert_eq!(env.resolve(&file).unwrap().server.trusted_proxies, "192.0.2.1,::1".parse().unwrap());
        let bad = ServeArgs { trusted_proxies: Some("proxy.local".into()), ..args };
        assert!(bad.resolve(&file).unwrap_err().to_string().contains("proxy.local"));
    }

    #[test]
    fn file_config_rejects_unknown_keys() {
        let e = toml::from_str::<FileConfig>("listen_addr = 1").unwrap_err();
        assert!(e.to_string().contains("listen_addr"));
    }
}
