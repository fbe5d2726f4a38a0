//! Times a report over a database already filled (bench/report.sh): the monthly report of a
//! unit computed and rendered in all four formats, then the dashboard's work (the report's
//! figures and the 12-month trend) RUNS times, with p50 / p95.
//!
//! ```text
//! cargo run --release -p dancu-report --example report_bench -- URL UNIT PERIOD [RUNS]
//! ```

use std::time::Instant;

use dancu_report::{FixedFigures, Format, Narrative, Period, ReportUnit};
use dancu_store::audit_chain::AuditKey;
use dancu_store::registry::Access;
use dancu_store::Database;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: report_bench URL UNIT PERIOD [RUNS]");
    let unit = ReportUnit::parse(&args.next().expect("UNIT")).map_err(|v| anyhow::anyhow!("{v:?}"))?;
    let period = Period::parse(&args.next().expect("PERIOD")).map_err(|v| anyhow::anyhow!("{v:?}"))?;
    let runs: usize = args.next().map(|r| r.parse().expect("RUNS")).unwrap_or(20);
    let db = Database::open(&url, AuditKey::generate()).await?;
    let (registry, writer) = db.start_registry(256, None);
    let a = Access::system("report-bench", "đo thời gian báo cáo");
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let figures = FixedFigures::default();

    let t = Instant::now();
    let r = dancu_report::build(&registry, &a, &unit, &period, &figures, Narrative::default(), today).await?;
    let computed = t.elapsed();
    let mut sizes = Vec::new();
    for f in Format::ALL {
        sizes.push((f.extension(), dancu_report::render(&r, f)?.len()));
    }
    let total = t.elapsed();
    println!(
        "report {} {}: {} applications; computed in {:.3} s, computed and rendered (docx, pdf, xlsx, html) in {:.3} s; sizes {sizes:?}",
        unit.reference(),
        period,
        r.service_total().received,
        computed.as_secs_f64(),
        total.as_secs_f64()
    );

    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let (r, trend) = tokio::try_join!(
            dancu_report::build(&registry, &a, &unit, &period, &figures, Narrative::default(), today),
            dancu_report::compute::trend(&registry, &a, &unit, &period, None, 12, today)
        )?;
        std::hint::black_box((r.indicators.len(), trend.len()));
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    println!(
        "dashboard work ({runs} runs): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.95),
        pct(1.0)
    );
    drop(registry);
    writer.shutdown().await;
    Ok(())
}
