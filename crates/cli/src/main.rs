//! The `dancu` command: serve, demo, migrate, gen, import, officer, id.

mod client_cmd;
mod config;
mod demo;
mod demo_rp;
mod demo_seed;
mod demo_summary;
mod import;
mod matching_cmd;
mod nats_checkpoints;
mod officer_cmd;
mod partner_cmd;
mod registry_dedup;
mod rejects;
mod report_check;
mod report_cmd;
mod serve;
mod table_input;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "dancu", version, about = "Population registry of Project 06 (Đề án 06)")]
struct Cli {
    /// TOML configuration file (settings: docs/OPERATIONS.md).
    #[arg(long, global = true, env = "DANCU_CONFIG")]
    config: Option<PathBuf>,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "DANCU_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP server.
    Serve(config::ServeArgs),
    /// Runs the database migrations and exits.
    Migrate {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Writes a deterministic synthetic population as CSV (docs/CSV.md).
    Gen {
        #[arg(long)]
        people: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        /// Only this 2025 province (2-digit code); repeatable. Default: the whole country.
        #[arg(long = "province")]
        provinces: Vec<String>,
        /// Extra records of the same people with realistic errors: RATE extra records per
        /// person (0–1, e.g. 0.1). Adds the columns record_id and phone (docs/CSV.md).
        #[arg(long, value_name = "RATE")]
        duplicates: Option<f64>,
        /// With --duplicates: write record_id,person_id for every record to FILE.
        #[arg(long, value_name = "FILE", requires = "duplicates")]
        truth: Option<PathBuf>,
        /// Error model of the duplicates: `standard` (dancu's own, citizen CSV) or the
        /// independent one as a sector list, `independent-dev` / `independent-heldout`
        /// (docs/ERROR_MODEL.md).
        #[arg(long, default_value = "standard", requires = "duplicates")]
        errors: String,
    },
    /// Imports data files.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Creates a data folder with a demo province, officers, and starts the server.
    Demo(demo::DemoArgs),
    /// Officer accounts.
    Officer {
        #[command(subcommand)]
        what: officer_cmd::OfficerCmd,
    },
    /// Partner systems' entitlements (verification, card look-up).
    Partner {
        #[command(subcommand)]
        what: partner_cmd::PartnerCmd,
    },
    /// OAuth clients: relying parties (portals) and partners (agency systems).
    Client {
        #[command(subcommand)]
        what: client_cmd::ClientCmd,
    },
    /// The OpenID Connect provider's keys.
    Oidc {
        #[command(subcommand)]
        what: client_cmd::OidcCmd,
    },
    /// Personal ID tools.
    Id {
        #[command(subcommand)]
        what: IdCmd,
    },
    /// Finds records of the same person in one list (--mapping: the columns, docs/MATCHING.md).
    Dedup(matching_cmd::DedupArgs),
    /// Finds records of the same person across two lists.
    Link(matching_cmd::LinkArgs),
    /// Checks a sector list against the registry: ID problems, disagreements, probable IDs.
    Reconcile(matching_cmd::ReconcileArgs),
    /// Finds probable duplicates in the registry and stores them for officers to decide.
    RegistryDedup(registry_dedup::RegistryDedupArgs),
    /// The audit log: `dancu audit verify` checks the keyed chain and the signed checkpoints.
    Audit {
        #[command(subcommand)]
        what: AuditCmd,
    },
    /// Project 06 reports: `dancu report --unit CODE --period PERIOD --format docx|pdf|xlsx|html
    /// --out FILE` (docs/REPORTS.md); `dancu report indicators` lists the catalogue; `dancu
    /// report check FILE.xlsx|csv` checks an appendix table typed elsewhere.
    Report(report_cmd::ReportArgs),
    /// Runs the data-quality rules over the whole registry (the worklists at /quality).
    Quality {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Recomputes the whole audit chain with the audit key and compares it with the newest
    /// signed checkpoint. Works offline (no server needed). Exit code 0 when intact, 2 when
    /// broken, 1 on any other failure (a missing key, an edited checkpoint file).
    Verify {
        #[arg(long, env = "DANCU_DATABASE_URL")]
        database_url: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Streams a citizen CSV into the database; bad rows go to a rejects file.
    Citizens(import::ImportArgs),
}

#[derive(Subcommand)]
enum IdCmd {
    /// Validates a personal ID number and explains its parts.
    Check { number: String },
    /// Parses a chip-card QR payload (6, 7 or 8+ fields; repairs legacy-encoded text).
    ParseQr { payload: String },
    /// Prints the current authenticator code (TOTP, RFC 6238) of a base32 key, as an
    /// authenticator app would: for the demo's level-2 account.
    Totp { secret: String },
}

/// mimalloc instead of glibc's allocator: under the look-up benchmark glibc's malloc and
/// free took about a tenth of the server's CPU (SQLite page buffers, request buffers).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches)?;
    config::init_logging(cli.log_json);
    // Matching commands take their column mapping from --mapping; the server settings
    // (--config, DANCU_CONFIG) are not read.
    let config_given =
        |m: &clap::ArgMatches| m.value_source("config") == Some(clap::parser::ValueSource::CommandLine);
    let config_given = config_given(&matches) || matches.subcommand().is_some_and(|(_, m)| config_given(m));
    match &cli.command {
        Command::Dedup(_) | Command::Link(_) | Command::Reconcile(_) if config_given => {
            anyhow::bail!("--config is the server settings file; give the column mapping with --mapping FILE (docs/MATCHING.md)")
        }
        Command::Dedup(a) => return matching_cmd::dedup(a),
        Command::Link(a) => return matching_cmd::link(a),
        Command::Reconcile(a) => return matching_cmd::reconcile(a),
        Command::Report(report_cmd::ReportArgs { what: Some(report_cmd::ReportCmd::Check(a)), .. }) => {
            std::process::exit(report_check::run(a))
        }
        Command::Gen { people, seed, out, provinces, duplicates: Some(rate), truth, errors }
            if errors != "standard" =>
        {
            // A fixed generation date, so that a data set is the same on any day.
            let cfg = dancu_gen::GenConfig {
                people: *people,
                seed: *seed,
                provinces: provinces.clone(),
                ..Default::default()
            };
            return matching_cmd::gen_sector(&cfg, errors, *rate, out, truth.as_deref());
        }
        _ => {}
    }
    let file = config::FileConfig::load(cli.config.as_deref())?;
    config::remember_audit_files(&file);
    match cli.command {
        Command::Gen { people, seed, out, provinces, duplicates, truth, .. } => {
            let started = std::time::Instant::now();
            let cfg = dancu_gen::GenConfig { people, seed, provinces, today: chrono_today() };
            let stats = match duplicates {
                Some(rate) => {
                    dancu_gen::generate_with_duplicates_to_path(&cfg, rate, &out, truth.as_deref())?
                }
                None => dancu_gen::generate_to_path(&cfg, &out)?,
            };
            eprintln!(
                "wrote {} people in {} households to {} in {:.2}s",
                stats.people,
                stats.households,
                out.display(),
                started.elapsed().as_secs_f64()
            );
            if duplicates.is_some() {
                eprintln!("{}", dancu_gen::describe_duplicates(&stats));
            }
            Ok(())
        }
        Command::Id { what: IdCmd::Check { number } } => id_check(&number),
        Command::Id { what: IdCmd::Totp { secret } } => {
            let key = dancu_identity::totp::secret_from_base32(&secret)
                .ok_or_else(|| anyhow::anyhow!("secret: not a base32 authenticator key"))?;
            println!("{}", dancu_identity::totp::generate(&key, chrono::Utc::now().timestamp() as u64));
            Ok(())
        }
        Command::Id { what: IdCmd::ParseQr { payload } } => {
            match dancu_identity::qr::parse_detailed(&payload) {
                Ok(p) => {
                    print!("{}", p.explain());
                    Ok(())
                }
                Err(v) => {
                    println!("không đọc được mã QR / unreadable QR payload");
                    println!("  trường / field: {}; quy tắc / rule: {}", v.field, v.rule);
                    println!("  {}", v.message_vi);
                    println!("  {}", v.message_en);
                    std::process::exit(1)
                }
            }
        }
        other => runtime()?.block_on(run_async(other, file)),
    }
}

fn chrono_today() -> chrono::NaiveDate {
    dancu_domain::date::vietnam_today(chrono::Utc::now())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    // A bounded blocking pool: SQLite work runs there, and hundreds of idle threads (each
    // with its own malloc arena) only add memory.
    Ok(tokio::runtime::Builder::new_multi_thread().max_blocking_threads(64).enable_all().build()?)
}

async fn run_async(cmd: Command, file: config::FileConfig) -> Result<()> {
    match cmd {
        Command::Serve(args) => serve::run(args.resolve(&file)?).await,
        Command::Migrate { database_url } => {
            let url = database_url.or(file.database_url.clone()).unwrap_or_else(config::default_database_url);
            let db = config::open_database(&url).await?;
            eprintln!("migrations up to date on {} ({})", config::redact(&url), db.backend());
            Ok(())
        }
        Command::Import { what: ImportWhat::Citizens(args) } => {
            let url = args
                .database_url
                .clone()
                .or(file.database_url.clone())
                .unwrap_or_else(config::default_database_url);
            let report = import::run(&args, &url, true).await?;
            eprintln!("{report}");
            Ok(())
        }
        Command::Demo(args) => demo::run(args, &file).await,
        Command::Quality { database_url } => {
            let url = database_url.or(file.database_url.clone()).unwrap_or_else(config::default_database_url);
            let (_db, registry, writer) = config::open_registry(&url).await?;
            let started = std::time::Instant::now();
            let a = dancu_store::registry::Access::system("quality", "kiểm tra chất lượng dữ liệu dân cư");
            let run = async {
                anyhow::Ok((
                    registry.quality_run(&a, chrono_today()).await?,
                    registry.quality_summary(&a).await?,
                ))
            }
            .await;
            drop(registry);
            writer.shutdown().await;
            let (run, summary) = run?;
            for (rule, c) in summary {
                eprintln!("  {:<20} {c:?}", rule.code);
            }
            eprintln!("quality run {} in {:.1}s", run.id, started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Audit { what: AuditCmd::Verify { database_url, json } } => {
            let url = database_url.or(file.database_url.clone()).unwrap_or_else(config::default_database_url);
            audit_verify(&url, json).await
        }
        Command::RegistryDedup(args) => {
            let url = args
                .database_url
                .clone()
                .or(file.database_url.clone())
                .unwrap_or_else(config::default_database_url);
            registry_dedup::run(&args, &url).await
        }
        Command::Officer { what } => officer_cmd::run(what, file.database_url.clone()).await,
        Command::Partner { what } => partner_cmd::run(what, file.database_url.clone()).await,
        Command::Report(args) => report_cmd::run(args, file.database_url.clone()).await,
        Command::Client { what } => client_cmd::run(what, file.database_url.clone()).await,
        Command::Oidc { what } => client_cmd::run_oidc(what, &file),
        Command::Gen { .. }
        | Command::Id { .. }
        | Command::Dedup(_)
        | Command::Link(_)
        | Command::Reconcile(_) => unreachable!("handled without a runtime"),
    }
}

/// `dancu audit verify`: never creates a key (a made-up key would only report every entry
/// as forged).
async fn audit_verify(url: &str, json: bool) -> Result<()> {
    use dancu_store::audit_chain::AuditKey;
    let (key_file, checkpoints) = config::audit_files(url);
    let key = AuditKey::load(&key_file)?;
    let db = dancu_store::Database::open(url, key.clone()).await?;
    let policy = config::policy_with_key(url, std::time::Duration::from_secs(10), key).await?;
    let report = db.verify_audit(&policy, false).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "audit log of {}: {} entries checked (1–{})",
            config::redact(url),
            report.checked,
            report.last_seq
        );
        match report.checkpoint_seq {
            Some(seq) => println!("  newest signed checkpoint: entry {seq} ({})", checkpoints.display()),
            None => println!(
                "  no checkpoint in {}: entries cut off the end cannot be detected",
                checkpoints.display()
            ),
        }
        if let Some(m) = &policy.mirror {
            println!("  checkpoints also read from {} (the newer counts)", m.describe());
        }
        if report.keyed_from > 1 {
            println!("  entries before {} predate the audit key (unkeyed form)", report.keyed_from);
        }
        match report.broken {
            None => println!("nguyên vẹn / intact"),
            Some(b) => println!("BỊ PHÁ VỠ / BROKEN at entry {}: {}", b.seq, b.kind.describe()),
        }
    }
    if report.broken.is_some() {
        std::process::exit(2);
    }
    Ok(())
}

fn id_check(number: &str) -> Result<()> {
    match number.parse::<dancu_domain::PersonalId>() {
        Ok(id) => {
            let e = id.explain();
            println!("{id}: hợp lệ / valid");
            println!(
                "  tỉnh đăng ký khai sinh / birth registered in: {} ({})",
                e.province_name, e.province_code
            );
            println!("  giới tính / sex: {} / {}", e.sex.label_vi(), e.sex.label_en());
            println!("  năm sinh / birth year: {} (thế kỷ / century {})", e.birth_year, e.century);
            println!("  số ngẫu nhiên / serial: {}", e.serial);
            Ok(())
        }
        Err(v) => {
            println!("{number}: không hợp lệ / invalid");
            println!("  quy tắc / rule: {}", v.rule);
            println!("  {}", v.message_vi);
            println!("  {}", v.message_en);
            std::process::exit(1)
        }
    }
}
