//! `dancu report`: a Project 06 report for a unit and period, computed from the registry's
//! aggregate counts (and approved submitted figures) and rendered by dancu-report as DOCX,
//! PDF, XLSX or HTML (docs/REPORTS.md). `report` is a command group: its own flags make a
//! report; subcommands sit beside them.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use dancu_domain::Violation;
use dancu_report::{ApprovedFigure, FixedFigures, Format, Narrative, Period, ReportUnit};
use dancu_store::registry::Access;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub what: Option<ReportCmd>,
    #[command(flatten)]
    pub make: MakeArgs,
}

#[derive(Subcommand, Debug)]
pub enum ReportCmd {
    /// Lists the indicator catalogue (data/indicators.csv): code, unit, formula, target.
    Indicators,
    /// Checks an appendix table typed elsewhere (XLSX or CSV): lists every rate that does
    /// not match its counts, total that is not a sum, division by zero, part above its
    /// whole, with the cell and rule. Exit code 1 when any, 0 when none, 2 when unreadable.
    Check(crate::report_check::CheckArgs),
}

#[derive(Args, Debug, Default)]
pub struct MakeArgs {
    /// The unit: nation, a 2025 province (24) or commune (00004), or a legacy province
    /// (legacy:24) or district (legacy:213) for periods before July 2025.
    #[arg(long)]
    pub unit: Option<String>,
    /// YYYY-MM, YYYY-MM/DD (a month with cut-off day DD: from DD of the month before to
    /// DD-1), YYYY-Qn, YYYY-Hn or YYYY.
    #[arg(long)]
    pub period: Option<String>,
    /// docx, pdf, xlsx (the appendices, with formulas) or html.
    #[arg(long)]
    pub format: Option<String>,
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The narrative sections, issuing body and signer (TOML; every field optional).
    #[arg(long)]
    pub narrative: Option<PathBuf>,
    /// Approved submitted figures as CSV (unit,month,form,row,column,value) instead of those
    /// approved in dancu (`/figures`).
    #[arg(long)]
    pub figures: Option<PathBuf>,
    #[arg(long, env = "DANCU_DATABASE_URL")]
    pub database_url: Option<String>,
}

/// `--flag: rule: message` for a refused flag.
fn flag_error(flag: &str, v: Violation) -> anyhow::Error {
    anyhow::anyhow!("--{flag}: {}: {} ({})", v.rule, v.message_vi, v.message_en)
}

fn required(flag: &str, v: &Option<String>) -> anyhow::Result<String> {
    v.clone().ok_or_else(|| {
        flag_error(
            flag,
            Violation::new(
                flag,
                "report.flag_required",
                format!("Thiếu --{flag}"),
                format!("--{flag} is required"),
            ),
        )
    })
}

fn read_figures(path: &PathBuf) -> anyhow::Result<Vec<ApprovedFigure>> {
    let mut r = csv::Reader::from_path(path).with_context(|| format!("--figures: {}", path.display()))?;
    let mut out = Vec::new();
    for (i, row) in r.deserialize::<ApprovedFigure>().enumerate() {
        out.push(row.map_err(|e| anyhow::anyhow!("--figures: line {}: report.figures_csv: {e}", i + 2))?);
    }
    Ok(out)
}

pub async fn run(args: ReportArgs, file_url: Option<String>) -> anyhow::Result<()> {
    match args.what {
        Some(ReportCmd::Indicators) => {
            for i in dancu_report::indicators::catalogue() {
                let target = i.target.map(|t| t.to_string()).unwrap_or_default();
                println!("{}\t{}\t{}\t{}\t{target}\t{}", i.code, i.unit, i.formula_text, i.group, i.name_vi);
            }
            Ok(())
        }
        // Run by `main` before any configuration or runtime (it reads no database).
        Some(ReportCmd::Check(a)) => std::process::exit(crate::report_check::run(&a)),
        None => make(args.make, file_url).await,
    }
}

async fn make(m: MakeArgs, file_url: Option<String>) -> anyhow::Result<()> {
    let unit = ReportUnit::parse(&required("unit", &m.unit)?).map_err(|v| flag_error("unit", v))?;
    let period = Period::parse(&required("period", &m.period)?).map_err(|v| flag_error("period", v))?;
    let format = Format::parse(&required("format", &m.format)?).map_err(|v| flag_error("format", v))?;
    let Some(out) = m.out else {
        bail!("--out: report.flag_required: Thiếu --out (--out is required)");
    };
    let narrative = match &m.narrative {
        None => Narrative::default(),
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("--narrative: {}", p.display()))?;
            Narrative::parse(&text).map_err(|v| flag_error("narrative", v))?
        }
    };
    // Approved figures from the figures store, or (`--figures`) from a CSV instead.
    let given = match &m.figures {
        None => None,
        Some(p) => Some(FixedFigures(read_figures(p)?)),
    };
    let url = m.database_url.or(file_url).unwrap_or_else(crate::config::default_database_url);
    let (_db, registry, writer) = crate::config::open_registry(&url).await?;
    let started = std::time::Instant::now();
    let a = Access::system("report", "báo cáo kết quả Đề án 06");
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let figures: &dyn dancu_report::FigureSource = match &given {
        Some(f) => f,
        None => &registry,
    };
    let report = dancu_report::build(&registry, &a, &unit, &period, figures, narrative, today).await;
    drop(registry);
    writer.shutdown().await;
    let report = report?;
    let bytes = dancu_report::render(&report, format)?;
    std::fs::write(&out, &bytes).with_context(|| format!("--out: {}", out.display()))?;
    eprintln!(
        "{}: {} ({} bytes) in {:.2}s",
        dancu_report::title(&report),
        out.display(),
        bytes.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
