//! `dancu partner …`: partner systems' entitlements from the command line (issue 13). A
//! partner is an OAuth client (`dancu client …` registers it); this sets what it may call,
//! which fields a card look-up returns to it, whose records it may ask about, and its rate
//! limit. Every change is an audited nation-wide administrator job (`system:partner-admin`).

use anyhow::Result;
use clap::Subcommand;
use dancu_store::partners::{CardField, Operation, Partner};
use dancu_store::registry::{Access, Registry};
use dancu_store::{Role, Scope};

use crate::config;

#[derive(Subcommand)]
pub enum PartnerCmd {
    /// Creates or replaces a partner's entitlements.
    Entitle {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        /// The partner's OAuth client id.
        client_id: String,
        /// The name citizens see in "who accessed my data".
        #[arg(long)]
        name: String,
        /// Comma-separated: verify, card_lookup, residence_check, feed, civil_registration
        #[arg(long, default_value = "verify")]
        operations: String,
        /// Comma-separated fields a card look-up returns, e.g.
        /// full_name,date_of_birth,sex,health_insurance_number
        #[arg(long, default_value = "")]
        fields: String,
        /// Comma-separated: nation, province:NN, commune:NNNNN (2025 codes)
        #[arg(long, default_value = "nation")]
        units: String,
        /// Comma-separated event kinds its change feed carries (with the `feed` operation),
        /// e.g. citizen.created,citizen.deceased,household.changed (docs/FEED.md)
        #[arg(long, default_value = "")]
        feed_kinds: String,
        /// Requests per second.
        #[arg(long, default_value_t = 50)]
        rate: u32,
        /// Requests allowed at once above the rate.
        #[arg(long, default_value_t = 100)]
        burst: u32,
    },
    /// Lists partners: client id, state, operations, units, rate/burst, name (tab-separated).
    List {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Suspends a partner: its calls are refused at once (within 2 s on other servers).
    Suspend {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        client_id: String,
    },
    /// Resumes a suspended partner.
    Resume {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        client_id: String,
    },
    /// Webhook subscriptions of partners' change feeds (docs/FEED.md).
    Webhook {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        #[command(subcommand)]
        what: WebhookCmd,
    },
}

#[derive(Subcommand)]
pub enum WebhookCmd {
    /// Subscribes a partner's URL; prints the subscription id and its signing secret (shown
    /// once). Deliveries start after the newest event, or after `--from` (a feed position).
    Add {
        client_id: String,
        url: String,
        #[arg(long)]
        from: Option<i64>,
    },
    /// Lists subscriptions: id, partner, state, cursor, waiting, dead letters, URL.
    List,
    /// Pauses deliveries.
    Pause { id: i64 },
    /// Resumes deliveries.
    Resume { id: i64 },
    /// Replays from a feed position (the events after it are delivered again).
    Replay { id: i64, from: i64 },
    /// Lists the dead letters: position, person, attempts, last error.
    Dead { id: i64 },
    /// Puts the dead letters back in the queue.
    ReplayDead { id: i64 },
}

fn admin_job() -> Access {
    Access { role: Role::Admin, ..Access::system("partner-admin", "quản trị đối tác") }
}

/// A comma-separated list, each item parsed (empty items skipped).
fn list<T>(
    s: &str,
    flag: &str,
    parse: impl Fn(&str) -> Result<T, dancu_domain::Violation>,
) -> Result<Vec<T>> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| parse(x).map_err(|v| anyhow::anyhow!("--{flag}: {} ({})", v.message_en, v.rule)))
        .collect()
}

pub async fn run(cmd: PartnerCmd, file_url: Option<String>) -> Result<()> {
    let url = match &cmd {
        PartnerCmd::Entitle { database_url, .. }
        | PartnerCmd::List { database_url }
        | PartnerCmd::Suspend { database_url, .. }
        | PartnerCmd::Resume { database_url, .. }
        | PartnerCmd::Webhook { database_url, .. } => {
            database_url.clone().or(file_url).unwrap_or_else(config::default_database_url)
        }
    };
    let (_db, registry, writer) = config::open_registry(&url).await?;
    let done = apply(&registry, cmd).await;
    drop(registry);
    writer.shutdown().await;
    done
}

async fn apply(registry: &Registry, cmd: PartnerCmd) -> Result<()> {
    match cmd {
        PartnerCmd::Entitle {
            client_id, name, operations, fields, units, feed_kinds, rate, burst, ..
        } => {
            let p = Partner {
                client_id,
                name,
                suspended: false,
                rate_per_sec: rate,
                burst,
                operations: list(&operations, "operations", Operation::parse)?,
                fields: list(&fields, "fields", CardField::parse)?,
                units: list(&units, "units", |s| s.parse::<Scope>())?,
                feed_kinds: list(&feed_kinds, "feed-kinds", dancu_store::feed::EventKind::parse)?,
                updated_at: dancu_store::registry::now(),
                updated_by: String::new(),
            };
            let p = registry.partner_entitle(&admin_job(), &p).await.map_err(describe)?;
            eprintln!("partner {} ({}) entitled: {}", p.client_id, p.name, codes(&p));
        }
        PartnerCmd::List { .. } => {
            for p in registry.partners(&admin_job()).await? {
                let state = if p.suspended { "suspended" } else { "active" };
                let units: Vec<String> = p.units.iter().map(Scope::to_string).collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}/{}\t{}",
                    p.client_id,
                    state,
                    codes(&p),
                    units.join(","),
                    p.rate_per_sec,
                    p.burst,
                    p.name
                );
            }
        }
        PartnerCmd::Suspend { client_id, .. } => {
            registry.partner_set_suspended(&admin_job(), &client_id, true).await.map_err(describe)?;
            eprintln!("partner {client_id} is suspended");
        }
        PartnerCmd::Resume { client_id, .. } => {
            registry.partner_set_suspended(&admin_job(), &client_id, false).await.map_err(describe)?;
            eprintln!("partner {client_id} is active");
        }
        PartnerCmd::Webhook { what, .. } => webhook(registry, what).await?,
    }
    Ok(())
}

async fn webhook(registry: &Registry, cmd: WebhookCmd) -> Result<()> {
    let a = admin_job();
    match cmd {
        WebhookCmd::Add { client_id, url, from } => {
            let secret = dancu_server::auth::random_token();
            let w = registry.webhook_add(&a, &client_id, &url, &secret, from).await.map_err(describe)?;
            println!("{}\t{secret}", w.id);
            eprintln!(
                "webhook {} for {client_id}: deliveries after feed position {}; the secret above signs them \
                 (Dancu-Signature) and is not shown again",
                w.id, w.cursor
            );
        }
        WebhookCmd::List => {
            let backlog = registry.webhook_backlog().await?;
            for w in registry.webhooks(&a, None).await? {
                let (pending, dead) = backlog.iter().find(|b| b.0 == w.id).map_or((0, 0), |b| (b.1, b.2));
                let state = if w.active { "active" } else { "paused" };
                println!("{}\t{}\t{state}\t{}\t{pending}\t{dead}\t{}", w.id, w.client_id, w.cursor, w.url);
            }
        }
        WebhookCmd::Pause { id } | WebhookCmd::Resume { id } => {
            let active = matches!(cmd, WebhookCmd::Resume { .. });
            registry.webhook_set_active(&a, id, active).await.map_err(describe)?;
            eprintln!("webhook {id} is {}", if active { "active" } else { "paused" });
        }
        WebhookCmd::Replay { id, from } => {
            registry.webhook_replay(&a, id, from).await.map_err(describe)?;
            eprintln!("webhook {id} replays the events after feed position {from}");
        }
        WebhookCmd::Dead { id } => {
            for d in registry.webhook_dead_letters(&a, id, 10_000).await.map_err(describe)? {
                println!("{}\t{}\t{}\t{}", d.position, d.personal_id, d.attempts, d.last_error);
            }
        }
        WebhookCmd::ReplayDead { id } => {
            registry.webhook_replay_dead(&a, id).await.map_err(describe)?;
            eprintln!("webhook {id}: dead letters queued again");
        }
    }
    Ok(())
}

fn codes(p: &Partner) -> String {
    let ops: Vec<&str> = p.operations.iter().map(|o| o.code()).collect();
    ops.join(",")
}

fn describe(e: dancu_store::registry::RegistryError) -> anyhow::Error {
    use dancu_store::registry::RegistryError;
    match e {
        RegistryError::NotFound => anyhow::anyhow!("no such partner"),
        RegistryError::Store(dancu_store::StoreError::Invalid(vs)) => {
            let lines: Vec<String> =
                vs.iter().map(|v| format!("{}: {} ({})", v.field, v.message_en, v.rule)).collect();
            anyhow::anyhow!(lines.join("; "))
        }
        other => anyhow::Error::new(other).context("partner change refused"),
    }
}
