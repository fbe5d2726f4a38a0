//! Fills a database that already holds citizens with COUNT public-service applications
//! (default 1,000,000), by a bulk load, for the work-queue and report benchmarks
//! (`bench/app_queue.sh`; issue 14: an officer's queue over 1,000,000 applications renders
//! in ≤ 50 ms p95; `bench/report.sh`, issue 16: reports over 10,000,000 applications).
//!
//! ```text
//! cargo run --release -p dancu-store --example seed_applications -- URL [COUNT]
//! ```
//!
//! The rows are what the application engine would have stored over the last two years
//! (deterministic, seed fixed):
//! - applicants drawn from the stored citizens; the scope is their residence and the
//!   handling unit follows the service's deciding level (commune, province or ministry);
//! - services of the shipped catalogue, residence, identity-card and civil-status ones
//!   weighted ×5 over the others; channel 60 % online, 35 % desk, 5 % post;
//! - submitted uniformly over the last 730 days, during office hours; the due date is the
//!   service's statutory working days from that day on the shipped calendar;
//! - files submitted in the last 30 days are mostly open (submitted, accepted, in process,
//!   information requested; some already decided); older ones mostly decided (completed
//!   85 %, rejected, not accepted, withdrawn) and 4 % still open, hence overdue; decisions
//!   fall on or before the due date 9 times in 10;
//! - one submission event per application.
//!
//! The load: the schema is migrated through `dancu_store::open` first; then the secondary
//! indexes of `applications` and `application_events` (the ones the schema declares with
//! `CREATE INDEX`, read back from `sqlite_master` / `pg_indexes`) are dropped, the rows go in
//! (SQLite: one prepared insert per row, one transaction per 1,000,000 rows, `synchronous =
//! OFF` and a 2 GB page cache on this connection only; PostgreSQL: binary `COPY`, one
//! transaction per 1,000,000 rows) and the indexes are created again from their own
//! definitions. Constraints (primary keys, unique keys, foreign keys) and triggers stay in
//! place, so every row is checked as the engine's would be and the outbox trigger writes the
//! `application.submitted` event of each application, as it does for the engine. PostgreSQL
//! is vacuumed and analysed at the end (what autovacuum would do after such a load).
//!
//! Prints the commune and the province with the most applications, for the officers the
//! benchmark logs in as.

use std::collections::{HashMap, HashSet};
use std::error::Error;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use dancu_domain::application::AppState;
use dancu_domain::services::{catalogue, Level, Service};
use dancu_domain::WorkingCalendar;
use dancu_store::exec::Cell;
use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

/// splitmix64: a well-mixed deterministic stream of random numbers.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Picks by weight (percent or any integer weights).
    fn pick<T: Copy>(&mut self, choices: &[(T, u64)]) -> T {
        let total: u64 = choices.iter().map(|c| c.1).sum();
        let mut r = self.below(total);
        for (v, w) in choices {
            if r < *w {
                return *v;
            }
            r -= w;
        }
        choices[0].0
    }
}

/// Rows per transaction.
const BATCH: usize = 1_000_000;

/// One application as the engine stores it (`created_by` / `updated_by` are `seed`, the
/// idempotency key `seed-{id}`), with its submission event.
struct App {
    id: i64,
    service: String,
    pid: String,
    channel: &'static str,
    unit: String,
    state: &'static str,
    reason: &'static str,
    submitted: DateTime<Utc>,
    due: String,
    decided: Option<DateTime<Utc>>,
    on_time: Option<i64>,
    province: String,
    commune: String,
    updated: DateTime<Utc>,
    version: i64,
}

const APP_COLS: &str = "id, service_code, personal_id, channel, unit, state, state_reason, submitted_at, \
    due_date, decided_at, on_time, scope_province, scope_commune, created_by, updated_at, updated_by, \
    version, idempotency_key";
const EVENT_COLS: &str = "application_id, seq, from_state, to_state, reason, at, actor";

/// The store's text form of a timestamp on SQLite (`rows::ts_text`).
fn ts_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

struct Generator {
    citizens: Vec<(String, String, String)>,
    services: Vec<(&'static Service, u64)>,
    weights: Vec<(usize, u64)>,
    cal: &'static WorkingCalendar,
    now: DateTime<Utc>,
    today: NaiveDate,
    rng: Rng,
    ids: HashSet<i64>,
    per_commune: HashMap<String, u64>,
    per_province: HashMap<String, u64>,
}

impl Generator {
    fn next(&mut self) -> App {
        let rng = &mut self.rng;
        let (pid, province, commune) = &self.citizens[rng.below(self.citizens.len() as u64) as usize];
        let service = self.services[rng.pick(&self.weights)].0;
        let unit = match service.level {
            Level::Commune => commune.clone(),
            Level::Province => province.clone(),
            Level::Ministry => "ministry".to_string(),
        };
        let channel = rng.pick(&[("online", 60), ("desk", 35), ("post", 5)]);
        let age_days = rng.below(730) as i64;
        let received: NaiveDate = self.today - Duration::days(age_days);
        // 07:30–17:00 Vietnam time.
        let minute = 450 + rng.below(570) as i64;
        let submitted = Utc.from_utc_datetime(&received.and_hms_opt(0, 0, 0).unwrap()) - Duration::hours(7)
            + Duration::minutes(minute);
        let submitted = submitted.min(self.now);
        let due = service.due_date(self.cal, received);
        let state = if age_days <= 30 {
            rng.pick(&[
                (AppState::Submitted, 30),
                (AppState::Accepted, 20),
                (AppState::InProcess, 30),
                (AppState::InfoRequested, 5),
                (AppState::Completed, 10),
                (AppState::NotAccepted, 3),
                (AppState::Rejected, 2),
            ])
        } else {
            rng.pick(&[
                (AppState::Completed, 85),
                (AppState::Rejected, 4),
                (AppState::NotAccepted, 4),
                (AppState::Withdrawn, 3),
                (AppState::InProcess, 2),
                (AppState::Accepted, 1),
                (AppState::InfoRequested, 1),
            ])
        };
        let (decided, on_time, reason) = if state.is_decision() {
            let on_time = rng.below(10) < 9;
            let day = if on_time {
                let span = (due - received).num_days().max(0);
                received + Duration::days(rng.below(span as u64 + 1) as i64)
            } else {
                due + Duration::days(1 + rng.below(20) as i64)
            };
            let day = day.min(self.today);
            let at = Utc.from_utc_datetime(&day.and_hms_opt(3, 0, 0).unwrap()).max(submitted).min(self.now);
            let reason = if state == AppState::Rejected { "Không đủ điều kiện" } else { "" };
            (Some(at), Some(i64::from(day <= due)), reason)
        } else {
            let reason = match state {
                AppState::NotAccepted => "Hồ sơ chưa đủ giấy tờ",
                AppState::InfoRequested => "Bổ sung giấy tờ chứng minh chỗ ở",
                AppState::Withdrawn => "Công dân rút hồ sơ",
                _ => "",
            };
            let decided = if state.is_open() { None } else { Some(submitted) };
            (decided, None, reason)
        };
        // Random ids, as the engine draws them; drawn again on the rare repeat (the load
        // has no ON CONFLICT to hide one).
        let mut id = (rng.next() >> 11) as i64 + 1;
        while !self.ids.insert(id) {
            id = (rng.next() >> 11) as i64 + 1;
        }
        *self.per_commune.entry(commune.clone()).or_default() += 1;
        *self.per_province.entry(province.clone()).or_default() += 1;
        App {
            id,
            service: service.code.clone(),
            pid: pid.clone(),
            channel,
            unit,
            state: state.code(),
            reason,
            submitted,
            due: due.to_string(),
            decided,
            on_time,
            province: province.clone(),
            commune: commune.clone(),
            updated: decided.unwrap_or(submitted),
            version: if state == AppState::Submitted { 1 } else { 3 },
        }
    }

    /// The next `n` applications, in id order (closer inserts into the primary key).
    fn batch(&mut self, n: usize) -> Vec<App> {
        let mut apps: Vec<App> = (0..n).map(|_| self.next()).collect();
        apps.sort_unstable_by_key(|a| a.id);
        apps
    }
}

/// Loads into SQLite over its own connection (the store's writer is closed by then).
fn load_sqlite(path: &str, gen: &mut Generator, count: u64, started: Instant) -> rusqlite::Result<()> {
    let mut c = rusqlite::Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(30))?;
    c.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = OFF; PRAGMA cache_size = -2000000; \
         PRAGMA temp_store = MEMORY;",
    )?;
    let indexes: Vec<(String, String)> = c
        .prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name IN ('applications', 'application_events') ORDER BY name",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, _) in &indexes {
        c.execute_batch(&format!("DROP INDEX {name}"))?;
    }
    eprintln!("dropped {} indexes", indexes.len());
    let mut done = 0u64;
    while done < count {
        let n = BATCH.min((count - done) as usize);
        let apps = gen.batch(n);
        let tx = c.transaction()?;
        {
            let mut ins = tx.prepare(&format!(
                "INSERT INTO applications ({APP_COLS}) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'seed', ?14, 'seed', ?15, ?16)"
            ))?;
            let mut ev = tx.prepare(&format!(
                "INSERT INTO application_events ({EVENT_COLS}) VALUES (?1, 1, '', 'submitted', '', ?2, 'seed')"
            ))?;
            for a in &apps {
                ins.execute(rusqlite::params![
                    a.id,
                    a.service,
                    a.pid,
                    a.channel,
                    a.unit,
                    a.state,
                    a.reason,
                    ts_text(&a.submitted),
                    a.due,
                    a.decided.as_ref().map(ts_text),
                    a.on_time,
                    a.province,
                    a.commune,
                    ts_text(&a.updated),
                    a.version,
                    format!("seed-{}", a.id),
                ])?;
                ev.execute(rusqlite::params![a.id, ts_text(&a.submitted)])?;
            }
        }
        tx.commit()?;
        done += n as u64;
        eprintln!("{done} applications in {:.1} s", started.elapsed().as_secs_f64());
    }
    for (name, sql) in &indexes {
        let t = Instant::now();
        c.execute_batch(sql)?;
        eprintln!("index {name} in {:.1} s", t.elapsed().as_secs_f64());
    }
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(())
}

/// Loads into PostgreSQL by binary COPY (row triggers and constraints fire as for inserts).
async fn load_postgres(
    url: &str,
    gen: &mut Generator,
    count: u64,
    started: Instant,
) -> Result<(), Box<dyn Error>> {
    let (mut client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    // Secondary indexes only: those behind a primary key or unique constraint stay.
    let indexes: Vec<(String, String)> = client
        .query(
            "SELECT i.indexname::text, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() \
             AND i.tablename IN ('applications', 'application_events') AND NOT EXISTS \
             (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass) \
             ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (name, _) in &indexes {
        client.batch_execute(&format!("DROP INDEX {name}")).await?;
    }
    eprintln!("dropped {} indexes", indexes.len());
    let app_types = [
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::TEXT,
        Type::INT8,
        Type::TEXT,
    ];
    let event_types =
        [Type::INT8, Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TIMESTAMPTZ, Type::TEXT];
    let mut done = 0u64;
    while done < count {
        let n = BATCH.min((count - done) as usize);
        let apps = gen.batch(n);
        let tx = client.transaction().await?;
        {
            let sink = tx.copy_in(&format!("COPY applications ({APP_COLS}) FROM STDIN BINARY")).await?;
            let w = BinaryCopyInWriter::new(sink, &app_types);
            pin_mut!(w);
            for a in &apps {
                let key = format!("seed-{}", a.id);
                let row: [&(dyn ToSql + Sync); 18] = [
                    &a.id,
                    &a.service,
                    &a.pid,
                    &a.channel,
                    &a.unit,
                    &a.state,
                    &a.reason,
                    &a.submitted,
                    &a.due,
                    &a.decided,
                    &a.on_time,
                    &a.province,
                    &a.commune,
                    &"seed",
                    &a.updated,
                    &"seed",
                    &a.version,
                    &key,
                ];
                w.as_mut().write(&row).await?;
            }
            w.finish().await?;
        }
        {
            let sink =
                tx.copy_in(&format!("COPY application_events ({EVENT_COLS}) FROM STDIN BINARY")).await?;
            let w = BinaryCopyInWriter::new(sink, &event_types);
            pin_mut!(w);
            for a in &apps {
                let row: [&(dyn ToSql + Sync); 7] =
                    [&a.id, &1i64, &"", &"submitted", &"", &a.submitted, &"seed"];
                w.as_mut().write(&row).await?;
            }
            w.finish().await?;
        }
        tx.commit().await?;
        done += n as u64;
        eprintln!("{done} applications in {:.1} s", started.elapsed().as_secs_f64());
    }
    client.batch_execute("SET maintenance_work_mem = '1GB'").await?;
    for (name, sql) in &indexes {
        let t = Instant::now();
        client.batch_execute(sql).await?;
        eprintln!("index {name} in {:.1} s", t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    client.batch_execute("VACUUM (ANALYZE) applications, application_events, outbox").await?;
    eprintln!("vacuum analyze in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: seed_applications URL [COUNT]");
    let count: u64 = args.next().map(|a| a.replace('_', "").parse().expect("COUNT")).unwrap_or(1_000_000);
    // Opening migrates the schema; the load itself runs on a connection of its own.
    let store = dancu_store::open(&url, dancu_store::audit_chain::AuditKey::generate()).await?;
    let text = |c: &Cell| match c {
        Cell::Text(s) => s.clone(),
        other => panic!("expected text, got {other:?}"),
    };
    let citizens: Vec<(String, String, String)> = store
        .exec()
        .query("SELECT personal_id, scope_province, scope_commune FROM citizens ORDER BY personal_id", vec![])
        .await?
        .iter()
        .map(|r| (text(&r.0[0]), text(&r.0[1]), text(&r.0[2])))
        .collect();
    assert!(!citizens.is_empty(), "no citizens stored: import some first");
    drop(store);

    let services: Vec<(&Service, u64)> = catalogue()
        .iter()
        .map(|s| {
            let heavy = s.code.starts_with("residence_")
                || s.code.starts_with("card_")
                || ["birth", "death", "marriage", "judicial_record"].contains(&s.code.as_str());
            (s, if heavy { 5 } else { 1 })
        })
        .collect();
    let weights: Vec<(usize, u64)> = services.iter().enumerate().map(|(i, (_, w))| (i, *w)).collect();
    let now = Utc::now();
    let mut gen = Generator {
        citizens,
        services,
        weights,
        cal: WorkingCalendar::vietnam(),
        now,
        today: dancu_domain::date::vietnam_today(now),
        rng: Rng(0x00DA_4C00_2026_1204),
        ids: HashSet::with_capacity(count as usize),
        per_commune: HashMap::new(),
        per_province: HashMap::new(),
    };
    let started = Instant::now();
    if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = rest.split_once('?').map_or(rest, |(p, _)| p);
        load_sqlite(path, &mut gen, count, started)?;
    } else {
        load_postgres(&url, &mut gen, count, started).await?;
    }
    let top = |m: &HashMap<String, u64>| {
        let (k, v) = m.iter().max_by_key(|(k, v)| (**v, std::cmp::Reverse((*k).clone()))).unwrap();
        (k.clone(), *v)
    };
    let (commune, nc) = top(&gen.per_commune);
    let (province, np) = top(&gen.per_province);
    let secs = started.elapsed().as_secs_f64();
    println!("seeded {count} applications in {secs:.1} s ({:.0} rows/s)", count as f64 / secs);
    println!("BUSIEST_COMMUNE={commune} ({nc} applications)");
    println!("BUSIEST_PROVINCE={province} ({np} applications)");
    Ok(())
}
