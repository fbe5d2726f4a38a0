//! Due-date throughput of the working-day calendar (issue 14 asks for ≥ 1,000,000 per second).
//!
//! `cargo run --release -p dancu-domain --example working_days_bench [COUNT]`
//! (not `due_bench`: `dancu-store` has an example of that name, for the card due list)
//! Computes COUNT due dates (default 10,000,000) for receipt days spread over 2020–2035 and
//! processing times of 0–30 working days, prints the rate, and checks a sample of due dates
//! against `working_days_between`.

use chrono::{Duration, NaiveDate};
use dancu_domain::WorkingCalendar;
use std::time::Instant;

fn main() {
    let count: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let cal = WorkingCalendar::vietnam();
    let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let span = 16 * 365;
    // Build the table before timing (it is built once per process).
    let _ = cal.add_working_days(start, 1);

    let t = Instant::now();
    let mut checksum: i64 = 0;
    // A cheap deterministic spread of inputs (an LCG), so the loop is not a single date.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..count {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let received = start + Duration::days(((x >> 33) % span) as i64);
        let n = ((x >> 20) % 31) as u32;
        let due = cal.add_working_days(received, n);
        checksum = checksum.wrapping_add(chrono::Datelike::num_days_from_ce(&due) as i64);
    }
    let secs = t.elapsed().as_secs_f64();

    // Spot-check: the due date lies n working days after receipt.
    for i in 0..1000 {
        let received = start + Duration::days(i * 5);
        let n = (i % 31) as u32;
        assert_eq!(cal.working_days_between(received, cal.add_working_days(received, n)), i64::from(n));
    }
    println!("{count} due dates in {secs:.3} s: {:.0} per second (checksum {checksum})", count as f64 / secs);
}
