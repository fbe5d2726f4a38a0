//! `dancu demo`: a ready-to-try registry of one province in a data folder (embedded
//! SQLite): generated citizens, demo officer accounts, and the server. A second start
//! reuses the folder.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use dancu_store::registry::{Access, Registry};
use dancu_store::{CitizenQuery, Database, NewOfficer, Officer, Role, Scope};

use crate::config::FileConfig;
use crate::import::{import_into, ImportArgs};

#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Data folder (created if missing, reused if present).
    #[arg(long, default_value = "dancu-data")]
    pub data_dir: PathBuf,
    /// People in the demo province.
    #[arg(long, default_value_t = 50_000)]
    pub people: u64,
    /// 2025 province code of the demo province (24 = Bắc Ninh, which absorbed Bắc Giang).
    #[arg(long, default_value = "24")]
    pub province: String,
    #[arg(long, default_value_t = 2025)]
    pub seed: u64,
    /// Address to listen on (default: the config file's, else 127.0.0.1:8080). Use
    /// 0.0.0.0:8080 to open the demo from other devices on the LAN.
    #[arg(long, env = "DANCU_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// Mark cookies Secure (default true). Over plain http:// from another device, browsers
    /// drop Secure cookies: pass `--cookie-secure false` on a trusted LAN, or use HTTPS.
    #[arg(long, env = "DANCU_COOKIE_SECURE")]
    pub cookie_secure: Option<bool>,
    /// Prepare the data folder and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
    /// The database (default: embedded SQLite in the data folder). A PostgreSQL URL seeds
    /// and serves the same demo there (the page benchmark uses it for both backends).
    #[arg(long)]
    pub database_url: Option<String>,
    /// The OpenID Connect issuer (default: http://localhost:<port>).
    #[arg(long, env = "DANCU_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Redirect URI of the demo portal (relying party) registered by the demo.
    #[arg(long, env = "DANCU_DEMO_RP_REDIRECT", default_value = "http://localhost:8090/callback")]
    pub demo_rp_redirect: String,
    /// Where the demo portal returns after logout.
    #[arg(long, env = "DANCU_DEMO_RP_LOGOUT", default_value = "http://localhost:8090/")]
    pub demo_rp_logout: String,
    /// Address of the demo portal (a relying party that logs citizens in with dancu); `off`
    /// to serve none. Its redirect URI (`--demo-rp-redirect`) must lead to it.
    #[arg(long, env = "DANCU_DEMO_RP_LISTEN", default_value = "127.0.0.1:8090")]
    pub demo_rp_listen: String,
}

impl DemoArgs {
    fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("dancu.db").display()),
        }
    }

    /// The server settings as `serve` resolves them (flags, then the config file: cookies,
    /// session and token lifetimes, limits, key files), on the demo's database; key files
    /// default to the data folder.
    fn settings(&self, file: &FileConfig) -> Result<crate::config::ServeSettings> {
        crate::config::ServeArgs {
            database_url: Some(self.database_url()),
            listen: self.listen,
            cookie_secure: self.cookie_secure,
            ..Default::default()
        }
        .resolve(file)
    }
}

/// Demo accounts: (username, password, display name, role, scope). The two commune
/// officers get the two first communes of the province that have citizens.
pub struct DemoLogin {
    pub username: String,
    pub password: String,
    pub description: String,
}

/// Creates an officer account through the registry (audited as `system:officer-add`, an
/// operator's nation-wide administrator job).
pub async fn add_officer(
    registry: &Registry,
    username: &str,
    display_name: &str,
    role: &str,
    scope: &str,
    password: &str,
) -> Result<Officer> {
    let req = dancu_server::api::auth::NewOfficerRequest {
        username: username.into(),
        display_name: display_name.into(),
        role: role.into(),
        scope: scope.into(),
        password: password.into(),
    };
    let (role, scope): (Role, Scope) = dancu_server::api::auth::validate_officer(&req)
        .map_err(|v| anyhow::anyhow!(v.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; ")))?;
    let pw = password.to_string();
    let hash = tokio::task::spawn_blocking(move || dancu_server::auth::hash_password(&pw)).await?;
    let a = Access { role: Role::Admin, ..Access::system("officer-add", "tạo tài khoản cán bộ") };
    let new = NewOfficer {
        username: username.into(),
        display_name: dancu_domain::nfc(display_name),
        role,
        scope,
        password_hash: hash,
    };
    Ok(registry.create_officer(&a, &new).await?)
}

/// Two communes of the province that hold citizens.
async fn populated_communes(
    registry: &Registry,
    a: &Access,
    province: &str,
) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for code in dancu_domain::admin_units().communes_of_province_2025(province) {
        let q = CitizenQuery { commune: Some(code.clone()), limit: 1, ..Default::default() };
        if registry.search(a, &q).await?.total > 0 {
            let name =
                dancu_domain::admin_units().commune_2025(code).map(|c| c.name.clone()).unwrap_or_default();
            found.push((code.clone(), name));
            if found.len() == 2 {
                break;
            }
        }
    }
    Ok(found)
}

/// Share of demo people registered a second time, with the errors real registrations have,
/// so that the duplicate worklist has real work in it.
const DEMO_DUPLICATES: f64 = 0.02;

/// Writes the demo population with planted duplicates (`dancu gen --duplicates`). A second
/// registration of someone is usually made elsewhere, outside their household, so the
/// duplicates' household columns are cleared (and they are written last); the truth file stays in the data folder.
fn plant_duplicates(cfg: &dancu_gen::GenConfig, csv: &std::path::Path, dir: &std::path::Path) -> Result<()> {
    let raw = dir.join("demo-citizens-raw.csv");
    let truth = dir.join("demo-duplicates-truth.csv");
    dancu_gen::generate_with_duplicates_to_path(cfg, DEMO_DUPLICATES, &raw, Some(&truth))?;
    let mut dups = std::collections::HashSet::new();
    for r in csv::Reader::from_path(&truth)?.records() {
        let r = r?;
        if r.get(0) != r.get(1) {
            dups.insert(r.get(0).unwrap_or_default().to_string());
        }
    }
    let mut rdr = csv::Reader::from_path(&raw)?;
    let header = rdr.headers()?.clone();
    let col = |name: &str| header.iter().position(|h| h == name).with_context(|| format!("column {name}"));
    let (rec, hh, rel) = (col("record_id")?, col("household_no")?, col("relation_to_head")?);
    let mut w = csv::Writer::from_path(csv)?;
    w.write_record(&header)?;
    // Duplicates go last: between a household's rows they would split it for the importer.
    let mut later = Vec::new();
    for r in rdr.records() {
        let r = r?;
        if dups.contains(&r[rec]) {
            let fields: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, f)| if i == hh || i == rel { String::new() } else { f.to_string() })
                .collect();
            later.push(fields);
        } else {
            w.write_record(&r)?;
        }
    }
    for fields in later {
        w.write_record(&fields)?;
    }
    w.flush()?;
    std::fs::remove_file(&raw)?;
    Ok(())
}

/// A level-2 eID account of the demo, for logging in to the demo portal: personal ID and
/// authenticator key (base32). Its ID is kept in the data folder (`demo-eid-level2.txt`);
/// the key is read back from the account on every start.
pub struct DemoEid {
    pub personal_id: String,
    pub totp_secret: String,
}

/// What `prepare` made ready: the logins, a sample citizen for the portal walk-through and
/// the level-2 account.
type Prepared = (Vec<DemoLogin>, Option<String>, Option<DemoEid>);

/// The database, the demo logins, a sample citizen for the portal walk-through and the
/// level-2 account.
pub async fn prepare(
    args: &DemoArgs,
    secrets: &dancu_server::secrets::Secrets,
) -> Result<(Database, Vec<DemoLogin>, Option<String>, Option<DemoEid>)> {
    let started = Instant::now();
    let url = args.database_url();
    let policy = crate::config::checkpoint_policy(&url, std::time::Duration::from_secs(10)).await?;
    let db = Database::open(&url, policy.key.clone()).await?;
    // Every access to personal data below (the import, the first checks, the officer
    // accounts, the communes and the sample citizen for the banner) goes through the
    // registry and is audited as a `system:` job.
    let (registry, writer) = db.start_registry(crate::config::AUDIT_BATCH, Some(policy));
    let prepared = prepare_with(args, &db, &registry, secrets, started).await;
    drop(registry);
    writer.shutdown().await;
    let (logins, sample, eid) = prepared?;
    Ok((db, logins, sample, eid))
}

async fn prepare_with(
    args: &DemoArgs,
    db: &Database,
    registry: &Registry,
    secrets: &dancu_server::secrets::Secrets,
    started: Instant,
) -> Result<Prepared> {
    let province = dancu_domain::admin_units()
        .province_2025(&args.province)
        .with_context(|| format!("--province {}: not a 2025 province code", args.province))?
        .name
        .clone();
    let first_run = db.citizen_count().await? == 0;
    let level2_file = args.data_dir.join("demo-eid-level2.txt");
    if first_run {
        let csv = args.data_dir.join("demo-citizens.csv");
        eprintln!("generating {} people of {province} …", args.people);
        let cfg = dancu_gen::GenConfig {
            people: args.people,
            seed: args.seed,
            provinces: vec![args.province.clone()],
            today: dancu_domain::date::vietnam_today(chrono::Utc::now()),
        };
        plant_duplicates(&cfg, &csv, &args.data_dir)?;
        eprintln!("importing …");
        let report = import_into(
            registry,
            &ImportArgs {
                file: csv.clone(),
                database_url: None,
                rejects: Some(args.data_dir.join("demo-citizens.rejects.csv")),
                batch: 20_000,
                reason: Some("dữ liệu mẫu (demo)".into()),
                append_to_existing_households: false,
            },
            true,
        )
        .await?;
        eprintln!("{report}");
        eprintln!("{}", crate::demo_summary::planted(&report, &csv)?);
        // The first checks read every record: bulk accesses.
        let scope = Scope::Province(args.province.clone());
        let found = crate::registry_dedup::find(registry, "demo", &scope, None, None).await?;
        eprintln!(
            "duplicate check: {} candidate pairs among {} records (the worklist at /dedup)",
            found.new, found.records
        );
    }
    let demo = Access::system("demo", "chuẩn bị tài khoản và ví dụ cho bản trình diễn");
    let communes = populated_communes(registry, &demo, &args.province).await?;
    let mut accounts = vec![
        (
            "admin".to_string(),
            "admin-demo-2025".to_string(),
            "Quản trị hệ thống".to_string(),
            "admin",
            "nation".to_string(),
        ),
        (
            format!("tinh{}", args.province),
            format!("tinh{}-demo-2025", args.province),
            format!("Cán bộ Công an {province}"),
            "officer",
            format!("province:{}", args.province),
        ),
    ];
    for (i, (code, name)) in communes.iter().enumerate() {
        accounts.push((
            format!("xa{}", i + 1),
            format!("xa{}-demo-2025", i + 1),
            format!("Cán bộ Công an {name}"),
            "officer",
            format!("commune:{code}"),
        ));
    }
    let mut logins = Vec::new();
    for (user, pw, name, role, scope) in accounts {
        if db.accounts().officer_by_username(&user).await?.is_none() {
            add_officer(registry, &user, &name, role, &scope, &pw).await?;
        }
        logins.push(DemoLogin {
            username: user,
            password: pw,
            description: format!("{name} ({role}, {scope})"),
        });
    }
    eprintln!("data folder ready in {:.1}s", started.elapsed().as_secs_f64());
    let sample = match communes.first() {
        Some((code, _)) => sample_citizen(registry, &demo, code).await?,
        None => None,
    };
    if first_run {
        for (code, name) in &communes {
            let keep = sample.as_deref().and_then(|s| s.split(' ').next());
            let demo_communes: Vec<&str> = communes.iter().map(|(c, _)| c.as_str()).collect();
            let s = crate::demo_seed::seed(registry, secrets, code, keep, &demo_communes).await?;
            if let Some(id) = s.level2 {
                if !level2_file.exists() {
                    std::fs::write(&level2_file, id.as_str())?;
                }
            }
            eprintln!(
                "{name}: {} cards (some due for renewal or expired), {} card applications, {} eID accounts, \
                 {} public-service applications seeded",
                s.cards, s.applications, s.eid_accounts, s.service_applications
            );
        }
        // After the cards: the quality rules then also find expired cards still marked valid.
        let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
        registry.quality_run(&Access::system("demo", "kiểm tra chất lượng dữ liệu mẫu"), today).await?;
    }
    demo_partner(registry, &args.province).await?;
    if first_run {
        if let Some((code, name)) = communes.first() {
            let keep = sample.as_deref().and_then(|s| s.split(' ').next());
            let n = crate::demo_seed::chains(registry, code, keep).await?;
            eprintln!(
                "{name}: {n} linked procedures (births, a death; one in the exceptions worklist at /chains)"
            );
            let n = crate::demo_seed::figures(registry, code).await?;
            eprintln!(
                "{name}: {n} submissions of figures (approved ones in the reports at /reports; the newest waits at /figures)"
            );
        }
    }
    let eid = demo_eid(registry, secrets, &level2_file).await?;
    Ok((logins, sample, eid))
}

/// The demo partners (OAuth clients registered when the server starts): the hospital
/// (verification and card look-up: name, date of birth, sex, life status, card number and
/// health-insurance card number), Justice (civil registration: the linked birth and death
/// procedures) and social insurance (the change feed's `birth.registered` and
/// `death.registered` events), all for the demo province.
async fn demo_partner(registry: &Registry, province: &str) -> Result<()> {
    use dancu_store::feed::EventKind;
    use dancu_store::partners::{CardField, Operation, Partner};
    let a = Access {
        role: dancu_store::Role::Admin,
        ..Access::system("demo", "đối tác mẫu: bệnh viện, tư pháp, bảo hiểm xã hội")
    };
    let existing: Vec<String> = registry.partners(&a).await?.into_iter().map(|p| p.client_id).collect();
    let partner = |client_id: &str,
                   name: &str,
                   operations: Vec<Operation>,
                   fields: Vec<CardField>,
                   kinds: Vec<EventKind>| {
        Partner {
            client_id: client_id.into(),
            name: name.into(),
            suspended: false,
            rate_per_sec: 2_000,
            burst: 4_000,
            operations,
            fields,
            units: vec![Scope::Province(province.into())],
            feed_kinds: kinds,
            updated_at: dancu_store::registry::now(),
            updated_by: String::new(),
        }
    };
    let all = [
        partner(
            "demo-hospital",
            "Bệnh viện Đa khoa tỉnh (thử nghiệm)",
            vec![Operation::Verify, Operation::CardLookup],
            vec![
                CardField::FullName,
                CardField::DateOfBirth,
                CardField::Sex,
                CardField::LifeStatus,
                CardField::CardNumber,
                CardField::HealthInsuranceNumber,
            ],
            vec![],
        ),
        partner(
            "demo-justice",
            "Sở Tư pháp (hộ tịch, thử nghiệm)",
            vec![Operation::CivilRegistration],
            vec![],
            vec![],
        ),
        partner(
            "demo-insurance",
            "Bảo hiểm xã hội tỉnh (thử nghiệm)",
            vec![Operation::Feed],
            vec![
                CardField::FullName,
                CardField::DateOfBirth,
                CardField::Sex,
                CardField::LifeStatus,
                CardField::Household,
            ],
            vec![EventKind::BirthRegistered, EventKind::DeathRegistered],
        ),
    ];
    for p in all.iter().filter(|p| !existing.contains(&p.client_id)) {
        registry
            .partner_entitle(&a, p)
            .await
            .map_err(|e| anyhow::anyhow!("demo partner {}: {e}", p.client_id))?;
    }
    Ok(())
}

/// The level-2 account named in `file`, with its authenticator key opened.
async fn demo_eid(
    registry: &Registry,
    secrets: &dancu_server::secrets::Secrets,
    file: &std::path::Path,
) -> Result<Option<DemoEid>> {
    let Ok(text) = std::fs::read_to_string(file) else { return Ok(None) };
    let Ok(id) = text.trim().parse::<dancu_domain::PersonalId>() else { return Ok(None) };
    let Some(account) = registry.eid_account_for_authentication(&id).await? else { return Ok(None) };
    let totp_secret =
        secrets.open_totp(&id, &account.totp_secret).map_err(|e| anyhow::anyhow!("demo eID key: {e:?}"))?;
    Ok(Some(DemoEid { personal_id: id.to_string(), totp_secret }))
}

/// A living adult of the first commune with a full date of birth, for the citizen-portal
/// walk-through in the banner (the demo data is synthetic).
async fn sample_citizen(registry: &Registry, a: &Access, commune: &str) -> Result<Option<String>> {
    let q = CitizenQuery { commune: Some(commune.into()), limit: 200, ..Default::default() };
    let page = registry.search(a, &q).await?;
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    Ok(page
        .items
        .iter()
        .find(|c| {
            c.status == dancu_domain::LifeStatus::Alive
                && matches!(c.birth_date, dancu_domain::PartialDate::Full(_))
                && (18..60).contains(&c.birth_date.age_on(today))
        })
        .map(|c| {
            format!(
                "{} · {} · {} · {}",
                c.personal_id,
                c.full_name,
                c.birth_date.display_vi(),
                c.sex.label_vi()
            )
        }))
}

pub async fn run(args: DemoArgs, file: &FileConfig) -> Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    crate::config::keep_pg_files_in(&args.data_dir);
    let settings = args.settings(file)?;
    let secrets = dancu_server::secrets::Secrets::new(settings.server.secret_keys.clone());
    let (db, logins, sample, eid) = prepare(&args, &secrets).await?;
    if args.no_serve {
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    let port = listener.local_addr()?.port();
    let metrics_token_file =
        file.metrics_token_file.as_ref().map_or(args.data_dir.join("metrics.token"), PathBuf::from);
    let mut config = settings.server;
    config.oidc.issuer = match args.oidc_issuer.clone().or(file.oidc_issuer.clone()) {
        Some(i) => i.trim_end_matches('/').to_string(),
        None => format!("http://localhost:{port}"),
    };
    let oauth = crate::client_cmd::demo_clients(&db, &args.demo_rp_redirect, &args.demo_rp_logout).await?;
    for line in crate::demo_summary::network_notes(settings.listen, config.cookie_secure) {
        eprintln!("{line}");
    }
    let mut banner = format!("\ndancu demo is running: http://localhost:{port}/\n");
    for url in crate::demo_summary::lan_addresses(settings.listen, port) {
        banner.push_str(&format!("From another device on the network: {url}\n"));
    }
    banner.push_str("\nDemo logins (username / password):\n");
    for l in &logins {
        banner.push_str(&format!("  {:<8} / {:<20} {}\n", l.username, l.password, l.description));
    }
    banner.push_str(&format!(
        "\nCitizen portal: http://localhost:{port}/portal — register a level-1 account with a demo \
         citizen's data, approve it as xa1 (menu “Định danh điện tử”), then log in with the \
         authenticator code.\n"
    ));
    if let Some(s) = sample {
        banner.push_str(&format!("  for example: {s}\n"));
    }
    banner.push_str(&format!(
        "\nLog in with dancu (OpenID Connect): issuer {iss} (discovery: {iss}/.well-known/openid-configuration).\n",
        iss = config.oidc.issuer
    ));
    for c in &oauth {
        banner.push_str(&format!("  {}: client_id {} / client_secret {}\n", c.what, c.client_id, c.secret));
    }
    banner.push_str(&format!(
        "  the portal's redirect URI is {}; a partner token: curl -u demo-hospital:<secret> -d grant_type=client_credentials {}/oauth/token\n",
        args.demo_rp_redirect, config.oidc.issuer
    ));
    banner.push_str(&format!(
        "  linked procedures (docs/CHAINS.md): with demo-justice's token, POST {iss}/api/v1/partner/births \
         (the child's personal ID comes back in the answer); demo-insurance reads the events at \
         GET {iss}/api/v1/partner/feed; officers see the board at http://localhost:{port}/chains\n",
        iss = config.oidc.issuer
    ));
    let rp_listen = match args.demo_rp_listen.as_str() {
        "off" => None,
        a => Some(a.parse::<std::net::SocketAddr>().with_context(|| format!("--demo-rp-listen {a}"))?),
    };
    if let (Some(listen), Some(portal)) = (rp_listen, oauth.iter().find(|c| c.client_id == "demo-portal")) {
        let rp = crate::demo_rp::RpConfig {
            issuer: config.oidc.issuer.clone(),
            client_id: portal.client_id.clone(),
            client_secret: portal.secret.clone(),
            redirect_uri: args.demo_rp_redirect.clone(),
            post_logout_uri: args.demo_rp_logout.clone(),
        };
        tokio::spawn(async move {
            if let Err(e) = crate::demo_rp::serve(listen, rp).await {
                eprintln!("warning: the demo portal is not served: {e:#}");
            }
        });
        banner.push_str(&format!(
            "\nDemo portal (relying party, asks for level 2): http://{listen}/ — “Đăng nhập bằng dancu”.\n"
        ));
    }
    if let Some(e) = &eid {
        banner.push_str(&format!(
            "  level-2 eID account: log in as {} / {} with the authenticator key {} (current code: dancu id totp {})\n",
            e.personal_id,
            crate::demo_seed::SEEDED_PASSWORD,
            e.totp_secret,
            e.totp_secret
        ));
    }
    banner.push_str(
        "\nAPI: http://localhost:{port}/openapi.json · /metrics with the bearer token in {metrics} · Stop with Ctrl-C.\n"
            .replace("{port}", &port.to_string())
            .replace("{metrics}", &metrics_token_file.display().to_string())
            .as_str(),
    );
    let audit =
        crate::config::checkpoint_policy(&args.database_url(), settings.audit_checkpoint_every).await?;
    let app = dancu_server::Application::build(db, config, audit).await?;
    // A closed stdout (piped into a pager that quit) must not stop the server.
    let _ = writeln!(std::io::stdout(), "{banner}");
    app.serve(listener, None, crate::serve::shutdown_signal()).await?;
    Ok(())
}
