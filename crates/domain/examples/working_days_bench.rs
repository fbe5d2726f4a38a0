//! Due-date throughput of the working-day calendar (issue 14 asks for ≥ 1,000,000 per second).
//!
//! `cargo run --release -p dancu-domain --example working_days_bench [COUNT] [RUNS]`
//! (`bench/due_dates.sh` runs it; not `due_bench`: `dancu-store` has an example of that
//! name, for the card due list).
//!
//! Inputs are what the application engine computes at submission: a receipt day and a
//! service of the shipped catalogue (`data/services.csv`), its statutory processing time in
//! working days, through `Service::due_date`. Receipt days are spread uniformly over
//! 2020-01-01 … 2035-12-31 (weekends and holidays included: a file received by post on a
//! Sunday counts from then), services are drawn uniformly from the catalogue. The inputs
//! are generated before the clock starts, so only the due-date computation is timed. Each
//! of RUNS runs (default 5) computes COUNT due dates (default 10,000,000); the rate of every
//! run and their median are printed. A sample of due dates is then checked against
//! `working_days_between`, and against a day-by-day walk over the holiday rules.

use chrono::{Datelike, Duration, NaiveDate};
use dancu_domain::calendar::is_weekend;
use dancu_domain::services::{catalogue, Service};
use dancu_domain::WorkingCalendar;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5).max(1);
    let cal = WorkingCalendar::vietnam();
    let services: Vec<&Service> = catalogue().iter().collect();
    let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let span = (NaiveDate::from_ymd_opt(2035, 12, 31).unwrap() - start).num_days() as u64 + 1;

    // A deterministic spread of inputs (an LCG), generated before timing.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let inputs: Vec<(NaiveDate, &Service)> = (0..count)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let received = start + Duration::days(((x >> 33) % span) as i64);
            let service = services[((x >> 17) % services.len() as u64) as usize];
            (received, service)
        })
        .collect();
    // The calendar table is built once per process, before the first use.
    let _ = cal.add_working_days(start, 1);
    let (min_days, max_days) =
        services.iter().fold((u32::MAX, 0), |(lo, hi), s| (lo.min(s.working_days), hi.max(s.working_days)));
    println!(
        "{count} due dates per run, {runs} runs; receipt days 2020-01-01..2035-12-31, {} services \
         of {min_days}-{max_days} working days",
        services.len()
    );

    let mut rates = Vec::with_capacity(runs);
    for run in 1..=runs {
        let t = Instant::now();
        let mut checksum: i64 = 0;
        for (received, service) in &inputs {
            let due = service.due_date(cal, black_box(*received));
            checksum = checksum.wrapping_add(due.num_days_from_ce() as i64);
        }
        let secs = t.elapsed().as_secs_f64();
        black_box(checksum);
        let rate = count as f64 / secs;
        println!("run {run}: {secs:.3} s, {rate:.0} due dates per second (checksum {checksum})");
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];

    // Spot-checks: the due date lies n working days after receipt, by the table and by a
    // day-by-day walk over the rules.
    for (received, service) in inputs.iter().step_by((count / 2000).max(1)) {
        let due = service.due_date(cal, *received);
        let n = i64::from(service.working_days);
        assert_eq!(cal.working_days_between(*received, due), n, "{received} + {n}");
        let mut d = *received;
        let mut left = n;
        while left > 0 {
            d += Duration::days(1);
            let working = match cal.holiday(d) {
                Some(kind) => !kind.is_day_off(),
                None => !is_weekend(d),
            };
            if working {
                left -= 1;
            }
        }
        assert_eq!(due, d, "{received} + {n}");
    }
    println!("MEDIAN {median:.0} due dates per second (target ≥ 1,000,000)");
}
