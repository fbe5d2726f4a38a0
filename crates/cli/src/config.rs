//! Configuration: defaults → optional TOML file (`--config`) → `DANCU_*` environment →
//! command-line flags (clap reads the environment and flags; the file fills what they leave).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

/// Settings a TOML file may hold; every one optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub listen: Option<SocketAddr>,
    pub cookie_secure: Option<bool>,
    pub session_ttl_secs: Option<u64>,
    pub token_ttl_secs: Option<u64>,
    pub max_body_bytes: Option<usize>,
    pub token_secret_file: Option<String>,
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

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    #[arg(long, env = "DANCU_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "DANCU_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Mark cookies Secure (default true; browsers accept Secure cookies on http://localhost).
    #[arg(long, env = "DANCU_COOKIE_SECURE")]
    pub cookie_secure: Option<bool>,
    /// File holding the bearer-token signing secret; created with a random secret if missing.
    #[arg(long, env = "DANCU_TOKEN_SECRET_FILE")]
    pub token_secret_file: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub database_url: String,
    pub listen: SocketAddr,
    pub server: dancu_server::ServerConfig,
}

impl ServeArgs {
    pub fn resolve(self, file: &FileConfig) -> Result<ServeSettings> {
        let database_url =
            self.database_url.or(file.database_url.clone()).unwrap_or_else(default_database_url);
        let listen = self.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".parse().unwrap());
        let mut server = dancu_server::ServerConfig {
            cookie_secure: self.cookie_secure.or(file.cookie_secure).unwrap_or(true),
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
        let secret_file = self
            .token_secret_file
            .or(file.token_secret_file.clone())
            .unwrap_or_else(|| secret_path_for(&database_url));
        server.token_secret = load_or_create_secret(Path::new(&secret_file))?;
        Ok(ServeSettings { database_url, listen, server })
    }
}

/// Next to the SQLite file, or in the working directory for PostgreSQL.
fn secret_path_for(url: &str) -> String {
    match url.strip_prefix("sqlite://") {
        Some(p) => Path::new(p).with_file_name("token.secret").to_string_lossy().into_owned(),
        None => "dancu-token.secret".into(),
    }
}

pub fn load_or_create_secret(path: &Path) -> Result<Vec<u8>> {
    if let Ok(s) = std::fs::read_to_string(path) {
        let s = s.trim();
        anyhow::ensure!(s.len() >= 32, "token secret in {} is shorter than 32 characters", path.display());
        return Ok(s.as_bytes().to_vec());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let secret = dancu_server::auth::random_token();
    write_private(path, &secret).with_context(|| format!("writing token secret {}", path.display()))?;
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
        f.write_all(content.as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, content)
    }
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
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn file_config_rejects_unknown_keys() {
        let e = toml::from_str::<FileConfig>("listen_addr = 1").unwrap_err();
        assert!(e.to_string().contains("listen_addr"));
    }
}
