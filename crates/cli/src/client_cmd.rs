//! `dancu client add|list|disable|enable|rotate-secret` (OAuth clients: relying parties and
//! partners) and `dancu oidc rotate-key` (a new current signing key in the key directory).
//! A client secret is printed once, when it is made; only its SHA-256 is stored. Running
//! servers see a change within their reload interval (2 s).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use dancu_server::oidc::clients::{self, Registration};

use crate::config;

#[derive(Subcommand)]
pub enum ClientCmd {
    /// Registers a client and prints its id (and secret, once).
    Add {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        /// Display name (shown to citizens on the consent screen and in "who accessed my data").
        #[arg(long)]
        name: String,
        /// Client id (default: a random `c-…`).
        #[arg(long)]
        id: Option<String>,
        /// client_secret_basic, client_secret_post, private_key_jwt, or none (public, PKCE).
        #[arg(long, default_value = "client_secret_basic")]
        auth_method: String,
        /// authorization_code, refresh_token, client_credentials; repeatable or comma-separated.
        #[arg(long = "grant", value_delimiter = ',', required = true)]
        grants: Vec<String>,
        /// Allowed scopes (openid, profile, birthdate, address, personal_id, offline_access,
        /// partner:verify, partner:card, partner:residence, partner:feed, partner:civil); repeatable.
        #[arg(long = "scope", value_delimiter = ',')]
        scopes: Vec<String>,
        /// Exact redirect URI; repeatable.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Exact URI to return to after logout; repeatable.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// The client's JWK Set (JSON file), for private_key_jwt.
        #[arg(long)]
        jwks_file: Option<PathBuf>,
        /// Sector of the pairwise subject identifiers (default: the first redirect URI's host).
        #[arg(long)]
        sector: Option<String>,
    },
    /// Lists clients: id, state, method, grants, scopes, name (tab-separated).
    List {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Suspends a client: its tokens are refused within the reload interval.
    Disable {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        id: String,
    },
    /// Reactivates a client.
    Enable {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        id: String,
    },
    /// Makes a new secret (printed once); the old one stops working.
    RotateSecret {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        id: String,
    },
}

#[derive(Subcommand)]
pub enum OidcCmd {
    /// Adds a new current signing key; the old one stays published in the JWKS for an hour.
    RotateKey {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        /// The key directory (default: `oidc-keys` next to the database).
        #[arg(long, env = "DANCU_OIDC_KEY_DIR")]
        key_dir: Option<PathBuf>,
    },
}

pub async fn run(cmd: ClientCmd, file_url: Option<String>) -> Result<()> {
    let url_of =
        |u: &Option<String>| u.clone().or(file_url.clone()).unwrap_or_else(config::default_database_url);
    let url = match &cmd {
        ClientCmd::Add { database_url, .. }
        | ClientCmd::List { database_url }
        | ClientCmd::Disable { database_url, .. }
        | ClientCmd::Enable { database_url, .. }
        | ClientCmd::RotateSecret { database_url, .. } => url_of(database_url),
    };
    let db = config::open_database(&url).await?;
    let store = db.oidc();
    let now = dancu_store::registry::now();
    match cmd {
        ClientCmd::Add {
            name,
            id,
            auth_method,
            grants,
            scopes,
            redirect_uris,
            post_logout_redirect_uris,
            jwks_file,
            sector,
            ..
        } => {
            let jwks = match jwks_file {
                Some(p) => {
                    Some(std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?)
                }
                None => None,
            };
            let reg = Registration {
                client_id: id,
                name,
                auth_method,
                redirect_uris,
                post_logout_redirect_uris,
                grant_types: grants,
                scopes,
                jwks,
                sector,
            };
            let (secret, client) = add(&db, &reg, "cli").await?;
            println!("client_id={}", client.client_id);
            if let Some(s) = secret {
                println!("client_secret={s}");
                eprintln!("the secret is shown only now; store it safely");
            }
        }
        ClientCmd::List { .. } => {
            for c in store.clients().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    c.client_id,
                    if c.active { "active" } else { "disabled" },
                    c.auth_method,
                    c.grant_types.join(","),
                    c.scopes.join(","),
                    c.name
                );
            }
        }
        ClientCmd::Disable { id, .. } => {
            store.set_active(&id, false, now).await.map_err(|e| not_found(e, &id))?;
            tracing::info!(client_id = %id, actor = "cli", "client disabled");
            eprintln!("client {id} is disabled");
        }
        ClientCmd::Enable { id, .. } => {
            store.set_active(&id, true, now).await.map_err(|e| not_found(e, &id))?;
            tracing::info!(client_id = %id, actor = "cli", "client enabled");
            eprintln!("client {id} is active");
        }
        ClientCmd::RotateSecret { id, .. } => {
            let c = store.client(&id).await?.with_context(|| format!("no client {id}"))?;
            if !c.auth_method.starts_with("client_secret") {
                bail!("client {id} authenticates with {}, not a secret", c.auth_method);
            }
            let (secret, hash) = clients::new_secret();
            store.set_secret_hash(&id, &hash, now).await?;
            tracing::info!(client_id = %id, actor = "cli", "client secret rotated");
            println!("client_secret={secret}");
        }
    }
    Ok(())
}

fn not_found(e: dancu_store::StoreError, id: &str) -> anyhow::Error {
    match e {
        dancu_store::StoreError::NotFound => anyhow::anyhow!("no client {id}"),
        e => e.into(),
    }
}

/// Registers a client (the CLI and the demo); returns its secret, if it has one.
pub async fn add(
    db: &dancu_store::Database,
    reg: &Registration,
    actor: &str,
) -> Result<(Option<String>, dancu_store::oidc::OidcClient)> {
    let (client, secret) = clients::register(reg, actor).map_err(|vs| {
        let lines: Vec<String> =
            vs.iter().map(|v| format!("{}: {} ({})", v.field, v.message_en, v.rule)).collect();
        anyhow::anyhow!("the client was not registered:\n  {}", lines.join("\n  "))
    })?;
    db.oidc().create_client(&client).await.map_err(|e| match e {
        dancu_store::StoreError::Conflict(v) => anyhow::anyhow!("{}: {} ({})", v.field, v.message_en, v.rule),
        e => e.into(),
    })?;
    tracing::info!(client_id = %client.client_id, actor, "client registered");
    Ok((secret, client))
}

pub fn run_oidc(cmd: OidcCmd, file: &config::FileConfig) -> Result<()> {
    match cmd {
        OidcCmd::RotateKey { database_url, key_dir } => {
            let url = database_url.or(file.database_url.clone()).unwrap_or_else(config::default_database_url);
            let dir = key_dir
                .or(file.oidc_key_dir.clone().map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from(config::oidc_key_dir(&url)));
            let kid = dancu_server::oidc::keys::rotate(&dir)?;
            println!("{kid}");
            eprintln!("new signing key {kid} in {}; running servers use it within seconds", dir.display());
            Ok(())
        }
    }
}

/// A demo client as printed in the demo's banner.
pub struct DemoClient {
    pub client_id: String,
    pub secret: String,
    pub what: &'static str,
}

/// Registers the demo's portal (relying party, redirect `redirect`) and hospital partner
/// (client credentials), or on a later start gives each a new secret and the portal the
/// redirect given now. The secrets are printed in the banner (only their hashes are stored).
pub async fn demo_clients(
    db: &dancu_store::Database,
    redirect: &str,
    post_logout: &str,
) -> Result<Vec<DemoClient>> {
    let store = db.oidc();
    let portal = Registration {
        client_id: Some("demo-portal".into()),
        name: "Cổng dịch vụ công (thử nghiệm)".into(),
        auth_method: "client_secret_basic".into(),
        redirect_uris: vec![redirect.to_string()],
        post_logout_redirect_uris: vec![post_logout.to_string()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: ["openid", "profile", "birthdate", "address", "personal_id", "offline_access"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    };
    let hospital = Registration {
        client_id: Some("demo-hospital".into()),
        name: "Bệnh viện Đa khoa tỉnh (thử nghiệm)".into(),
        auth_method: "client_secret_basic".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["partner:verify".into(), "partner:card".into()],
        ..Default::default()
    };
    // The linked procedures (docs/CHAINS.md): Justice sends births and deaths, social
    // insurance reads their events from the change feed.
    let justice = Registration {
        client_id: Some("demo-justice".into()),
        name: "Sở Tư pháp (hộ tịch, thử nghiệm)".into(),
        auth_method: "client_secret_basic".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["partner:civil".into()],
        ..Default::default()
    };
    let insurance = Registration {
        client_id: Some("demo-insurance".into()),
        name: "Bảo hiểm xã hội tỉnh (thử nghiệm)".into(),
        auth_method: "client_secret_basic".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["partner:feed".into()],
        ..Default::default()
    };
    let mut out = Vec::new();
    for (reg, what) in [
        (portal, "demo portal (log in with eID)"),
        (hospital, "demo hospital partner (client credentials)"),
        (justice, "demo civil-status partner, Justice: births and deaths (client credentials)"),
        (insurance, "demo social-insurance partner: birth and death events (client credentials)"),
    ] {
        let id = reg.client_id.clone().expect("named");
        let now = dancu_store::registry::now();
        let secret = match store.client(&id).await? {
            None => add(db, &reg, "system:demo").await?.0.expect("a secret client"),
            Some(_) => {
                if !reg.redirect_uris.is_empty() {
                    for u in reg.redirect_uris.iter().chain(&reg.post_logout_redirect_uris) {
                        clients::check_redirect_uri("redirect_uri", u)
                            .map_err(|v| anyhow::anyhow!("{u}: {} ({})", v.message_en, v.rule))?;
                    }
                    store
                        .set_redirect_uris(&id, &reg.redirect_uris, &reg.post_logout_redirect_uris, now)
                        .await?;
                }
                let (secret, hash) = clients::new_secret();
                store.set_secret_hash(&id, &hash, now).await?;
                secret
            }
        };
        out.push(DemoClient { client_id: id, secret, what });
    }
    Ok(out)
}
