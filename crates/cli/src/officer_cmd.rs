//! `dancu officer …`: officer accounts from the command line, for the first administrator
//! and for operators without a browser. Every change goes through the registry as an
//! audited nation-wide administrator job (`system:officer-admin`), like the web page's.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use dancu_store::officer_admin::OfficerChange;
use dancu_store::registry::{Access, Registry};
use dancu_store::{Officer, Role, Scope};

use crate::{config, demo};

#[derive(Subcommand)]
pub enum OfficerCmd {
    /// Creates an officer account. The password is never a flag (it would show in the
    /// process list): it comes from DANCU_OFFICER_PASSWORD, else a prompt on a terminal
    /// (asked twice), else the first line of standard input.
    Add {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        /// admin, leader (aggregate figures only), officer, auditor (read only), or agency (enters figures only)
        #[arg(long, default_value = "officer")]
        role: String,
        /// nation, province:NN or commune:NNNNN (2025 codes)
        #[arg(long)]
        scope: String,
    },
    /// Lists officer accounts: username, role, scope, state, name (tab-separated).
    List {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Deactivates an account: its tokens and sessions stop working at once.
    Disable {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        username: String,
    },
    /// Reactivates an account.
    Enable {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        username: String,
    },
    /// Changes an account's role and/or scope (its tokens and sessions end).
    Change {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        username: String,
        /// admin, leader, officer, auditor or agency
        #[arg(long)]
        role: Option<String>,
        /// nation, province:NN or commune:NNNNN (2025 codes)
        #[arg(long)]
        scope: Option<String>,
    },
    /// Sets a new password (read like `add`'s); the account's tokens and sessions end.
    ResetPassword {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        username: String,
    },
}

fn admin_job() -> Access {
    Access { role: Role::Admin, ..Access::system("officer-admin", "quản trị tài khoản cán bộ") }
}

async fn find(registry: &Registry, username: &str) -> Result<Officer> {
    let all = registry.list_officers(&admin_job()).await?;
    all.into_iter().find(|o| o.username == username).with_context(|| format!("no officer named {username}"))
}

pub async fn run(cmd: OfficerCmd, file_url: Option<String>) -> Result<()> {
    let url_of =
        |u: &Option<String>| u.clone().or(file_url.clone()).unwrap_or_else(config::default_database_url);
    // Read before the database is opened, so a refused password leaves nothing open.
    let password = match &cmd {
        OfficerCmd::Add { .. } | OfficerCmd::ResetPassword { .. } => Some(read_officer_password()?),
        _ => None,
    };
    let url = match &cmd {
        OfficerCmd::Add { database_url, .. }
        | OfficerCmd::List { database_url }
        | OfficerCmd::Disable { database_url, .. }
        | OfficerCmd::Enable { database_url, .. }
        | OfficerCmd::Change { database_url, .. }
        | OfficerCmd::ResetPassword { database_url, .. } => url_of(database_url),
    };
    let (_db, registry, writer) = config::open_registry(&url).await?;
    let done = apply(&registry, cmd, password.as_deref()).await;
    drop(registry);
    writer.shutdown().await;
    done
}

async fn apply(registry: &Registry, cmd: OfficerCmd, password: Option<&str>) -> Result<()> {
    let password = password.unwrap_or_default();
    match cmd {
        OfficerCmd::Add { username, display_name, role, scope, .. } => {
            let o = demo::add_officer(registry, &username, &display_name, &role, &scope, password).await?;
            eprintln!("created officer {} (id {}, {}, {})", o.username, o.id, o.role.code(), o.scope);
        }
        OfficerCmd::List { .. } => {
            for o in registry.list_officers(&admin_job()).await? {
                let state = if o.active { "active" } else { "disabled" };
                println!("{}\t{}\t{}\t{}\t{}", o.username, o.role.code(), o.scope, state, o.display_name);
            }
        }
        OfficerCmd::Disable { username, .. } => set_active(registry, &username, false).await?,
        OfficerCmd::Enable { username, .. } => set_active(registry, &username, true).await?,
        OfficerCmd::Change { username, role, scope, .. } => {
            let role = match role.as_deref() {
                Some(r) => Some(Role::parse(r).with_context(|| {
                    format!("--role {r}: must be admin, leader, officer, auditor or agency")
                })?),
                None => None,
            };
            let scope = match scope.as_deref() {
                Some(s) => Some(s.parse::<Scope>().map_err(|v| anyhow::anyhow!("--scope: {v}"))?),
                None => None,
            };
            if role.is_none() && scope.is_none() {
                bail!("nothing to change: give --role and/or --scope");
            }
            let o = find(registry, &username).await?;
            let o = registry
                .update_officer(&admin_job(), o.id, &OfficerChange { active: None, role, scope })
                .await?;
            eprintln!("officer {} is now {} in {}", o.username, o.role.code(), o.scope);
        }
        OfficerCmd::ResetPassword { username, .. } => {
            if let Some(v) = dancu_server::api::auth::officer_password_rule(password) {
                bail!("{}: {} ({})", v.field, v.message_en, v.rule);
            }
            let o = find(registry, &username).await?;
            let pw = password.to_string();
            let hash = tokio::task::spawn_blocking(move || dancu_server::auth::hash_password(&pw)).await?;
            registry.reset_officer_password(&admin_job(), o.id, &hash).await?;
            eprintln!("officer {}: password reset; their sessions and tokens ended", o.username);
        }
    }
    Ok(())
}

async fn set_active(registry: &Registry, username: &str, active: bool) -> Result<()> {
    let o = find(registry, username).await?;
    let change = OfficerChange { active: Some(active), ..Default::default() };
    let o = registry.update_officer(&admin_job(), o.id, &change).await?;
    eprintln!("officer {} is now {}", o.username, if o.active { "active" } else { "disabled" });
    Ok(())
}

/// A password: `DANCU_OFFICER_PASSWORD`, else a prompt without echo on a terminal (asked
/// twice), else the first line of standard input. Never a flag.
fn read_officer_password() -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    if let Ok(p) = std::env::var("DANCU_OFFICER_PASSWORD") {
        if !p.is_empty() {
            return Ok(p);
        }
    }
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("Mật khẩu / password: ")?;
        let again = rpassword::prompt_password("Nhập lại / repeat: ")?;
        anyhow::ensure!(p == again, "the two passwords differ");
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(
        !p.is_empty(),
        "no password: set DANCU_OFFICER_PASSWORD, type it at the prompt, or pipe it on standard input"
    );
    Ok(p)
}
