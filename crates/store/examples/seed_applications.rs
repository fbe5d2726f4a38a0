//! Fills a database that already holds citizens with COUNT public-service applications
//! (default 1,000,000), by direct multi-row inserts, for the work-queue benchmark
//! (`bench/app_queue.sh`; issue 14: an officer's queue over 1,000,000 applications renders
//! in ≤ 50 ms p95).
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
//! Prints the commune and the province with the most applications, for the officers the
//! benchmark logs in as.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use dancu_domain::application::AppState;
use dancu_domain::services::{catalogue, Level, Service};
use dancu_domain::WorkingCalendar;
use dancu_store::exec::{Cell, Stmt, Val};

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

const ROWS_PER_INSERT: usize = 400;
const INSERTS_PER_TX: usize = 25;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: seed_applications URL [COUNT]");
    let count: u64 = args.next().map(|a| a.replace('_', "").parse().expect("COUNT")).unwrap_or(1_000_000);
    let store =
        dancu_store::open(&url, dancu_store::audit_chain::AuditKey::generate()).await.expect("open store");
    let exec = store.exec();
    let text = |c: &Cell| match c {
        Cell::Text(s) => s.clone(),
        other => panic!("expected text, got {other:?}"),
    };
    let citizens: Vec<(String, String, String)> = exec
        .query("SELECT personal_id, scope_province, scope_commune FROM citizens ORDER BY personal_id", vec![])
        .await
        .expect("read citizens")
        .iter()
        .map(|r| (text(&r.0[0]), text(&r.0[1]), text(&r.0[2])))
        .collect();
    assert!(!citizens.is_empty(), "no citizens stored: import some first");

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
    let cal = WorkingCalendar::vietnam();
    let now = Utc::now();
    let today = dancu_domain::date::vietnam_today(now);
    let mut rng = Rng(0x00DA_4C00_2026_1204);
    let started = Instant::now();
    let mut per_commune: HashMap<String, u64> = HashMap::new();
    let mut per_province: HashMap<String, u64> = HashMap::new();

    let mut done = 0u64;
    let mut stmts = Vec::new();
    while done < count {
        let n = ROWS_PER_INSERT.min((count - done) as usize);
        let mut apps = Vec::with_capacity(n * 18);
        let mut events = Vec::with_capacity(n * 5);
        let mut app_values = Vec::with_capacity(n);
        let mut event_values = Vec::with_capacity(n);
        for _ in 0..n {
            let (pid, province, commune) = &citizens[rng.below(citizens.len() as u64) as usize];
            let service = services[rng.pick(&weights)].0;
            let unit = match service.level {
                Level::Commune => commune.clone(),
                Level::Province => province.clone(),
                Level::Ministry => "ministry".to_string(),
            };
            let channel = rng.pick(&[("online", 60), ("desk", 35), ("post", 5)]);
            let age_days = rng.below(730) as i64;
            let received: NaiveDate = today - Duration::days(age_days);
            // 07:30–17:00 Vietnam time.
            let minute = 450 + rng.below(570) as i64;
            let submitted = Utc.from_utc_datetime(&received.and_hms_opt(0, 0, 0).unwrap())
                - Duration::hours(7)
                + Duration::minutes(minute);
            let submitted = submitted.min(now);
            let due = service.due_date(cal, received);
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
                let day = day.min(today);
                let at = Utc.from_utc_datetime(&day.and_hms_opt(3, 0, 0).unwrap()).max(submitted).min(now);
                let reason = if state == AppState::Rejected { "Không đủ điều kiện" } else { "" };
                (Val::Ts(at), Val::Int(i64::from(day <= due)), reason)
            } else {
                let reason = match state {
                    AppState::NotAccepted => "Hồ sơ chưa đủ giấy tờ",
                    AppState::InfoRequested => "Bổ sung giấy tờ chứng minh chỗ ở",
                    AppState::Withdrawn => "Công dân rút hồ sơ",
                    _ => "",
                };
                let decided = if state.is_open() { Val::Null } else { Val::Ts(submitted) };
                (decided, Val::Null, reason)
            };
            let id = (rng.next() >> 11) as i64 + 1;
            *per_commune.entry(commune.clone()).or_default() += 1;
            *per_province.entry(province.clone()).or_default() += 1;
            let b = apps.len();
            app_values.push(format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, 'seed', ${}, 'seed', {}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9,
                b + 10,
                b + 11,
                b + 12,
                b + 13,
                b + 14,
                if state == AppState::Submitted { 1 } else { 3 },
                b + 15,
            ));
            let updated = match &decided {
                Val::Ts(t) => Val::Ts(*t),
                _ => Val::Ts(submitted),
            };
            apps.extend([
                Val::Int(id),
                Val::Text(service.code.clone()),
                Val::Text(pid.clone()),
                Val::Text(channel.into()),
                Val::Text(unit),
                Val::Text(state.code().into()),
                Val::Text(reason.into()),
                Val::Ts(submitted),
                Val::Text(due.to_string()),
                decided,
                on_time,
                Val::Text(province.clone()),
                Val::Text(commune.clone()),
                updated,
                Val::Text(format!("seed-{id}")),
            ]);
            let e = events.len();
            event_values.push(format!("(${}, 1, '', 'submitted', '', ${}, 'seed')", e + 1, e + 2));
            events.extend([Val::Int(id), Val::Ts(submitted)]);
        }
        stmts.push(Stmt::new(
            format!(
                "INSERT INTO applications (id, service_code, personal_id, channel, unit, state, state_reason, \
                 submitted_at, due_date, decided_at, on_time, scope_province, scope_commune, created_by, \
                 updated_at, updated_by, version, idempotency_key) VALUES {} ON CONFLICT DO NOTHING",
                app_values.join(", ")
            ),
            apps,
        ));
        stmts.push(Stmt::new(
            format!(
                "INSERT INTO application_events (application_id, seq, from_state, to_state, reason, at, actor) \
                 VALUES {} ON CONFLICT DO NOTHING",
                event_values.join(", ")
            ),
            events,
        ));
        done += n as u64;
        if stmts.len() >= 2 * INSERTS_PER_TX || done >= count {
            exec.transaction(std::mem::take(&mut stmts)).await.expect("insert applications");
            if done % 100_000 < (ROWS_PER_INSERT * INSERTS_PER_TX) as u64 || done >= count {
                eprintln!("{done} applications in {:.1} s", started.elapsed().as_secs_f64());
            }
        }
    }
    let top = |m: &HashMap<String, u64>| {
        let (k, v) = m.iter().max_by_key(|(k, v)| (**v, std::cmp::Reverse((*k).clone()))).unwrap();
        (k.clone(), *v)
    };
    let (commune, nc) = top(&per_commune);
    let (province, np) = top(&per_province);
    println!("seeded {count} applications in {:.1} s", started.elapsed().as_secs_f64());
    println!("BUSIEST_COMMUNE={commune} ({nc} applications)");
    println!("BUSIEST_PROVINCE={province} ({np} applications)");
}
