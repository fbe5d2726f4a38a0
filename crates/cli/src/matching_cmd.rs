//! `dancu dedup`, `dancu link`, `dancu reconcile`: the matching engine (crates/matching) on
//! CSV files. The mapping file is `--mapping` (docs/MATCHING.md); without it,
//! dancu's own citizen CSV mapping is used.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use dancu_matching::explain::field_headers;
use dancu_matching::{eval, reconcile, Dataset, MatchConfig, Matcher, Truth};

#[derive(clap::Args, Debug, Clone)]
pub struct DedupArgs {
    /// The list to deduplicate.
    #[arg(long)]
    pub input: PathBuf,
    /// Output: `record_id,cluster_id` for every record read.
    #[arg(long)]
    pub out: PathBuf,
    /// Optional output: every predicted pair with its score and per-field evidence.
    #[arg(long)]
    pub pairs: Option<PathBuf>,
    /// `record_id,person_id` file: prints pairwise precision, recall, F1 and blocking recall.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options every matching command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// The column mapping (TOML, docs/MATCHING.md); default: dancu's own citizen CSV.
    #[arg(long, value_name = "MAP.toml")]
    pub mapping: Option<PathBuf>,
    /// Match probability threshold (default: the mapping's `settings.threshold`).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Pairs from this probability up to the threshold are written for clerical review
    /// (default: the mapping's `settings.review_threshold`, else none).
    #[arg(long)]
    pub review: Option<f64>,
    /// Where to write rows and fields that could not be read (`line,column,rule,action`).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct LinkArgs {
    #[arg(long)]
    pub left: PathBuf,
    #[arg(long)]
    pub right: PathBuf,
    /// Output: pairs across the two files with score and per-field evidence.
    #[arg(long)]
    pub out: PathBuf,
    /// Each record in at most one linked pair (the heaviest first).
    #[arg(long)]
    pub one_to_one: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ReconcileArgs {
    /// The sector list (any columns, mapped by --config).
    #[arg(long)]
    pub input: PathBuf,
    /// The registry as a dancu citizen CSV export (docs/CSV.md).
    #[arg(long, required_unless_present = "database_url", conflicts_with = "database_url")]
    pub registry: Option<PathBuf>,
    /// Or the registry database itself (every record not merged into another).
    #[arg(long)]
    pub database_url: Option<String>,
    /// The sector list with `id_check,status,reason,suggested_id,score` appended.
    #[arg(long)]
    pub out: PathBuf,
    /// Counts per unit and category.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `dancu gen --errors independent-…`: the sector list of docs/ERROR_MODEL.md.
pub fn gen_sector(
    cfg: &dancu_gen::GenConfig,
    errors: &str,
    rate: f64,
    out: &Path,
    truth: Option<&Path>,
) -> Result<()> {
    let started = Instant::now();
    let profile = dancu_gen::Profile::by_name(errors).with_context(|| {
        format!("--errors {errors:?}: expected standard, independent-dev or independent-heldout")
    })?;
    let stats = dancu_gen::generate_sector_list_to_path(cfg, &profile, rate, out, truth)?;
    eprintln!("wrote {} in {:.2}s ({})", out.display(), started.elapsed().as_secs_f64(), profile.name);
    eprintln!("{}", stats.describe());
    Ok(())
}

fn load_config(path: Option<&Path>) -> Result<MatchConfig> {
    match path {
        None => Ok(MatchConfig::dancu_default()),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading mapping {}", p.display()))?;
            MatchConfig::from_toml(&text).with_context(|| format!("mapping {}", p.display()))
        }
    }
}

fn threshold(arg: Option<f64>, cfg: &MatchConfig) -> Result<f64> {
    let t = arg.unwrap_or(cfg.settings.threshold);
    anyhow::ensure!(t > 0.0 && t < 1.0, "--threshold: a probability strictly between 0 and 1, got {t}");
    Ok(t)
}

fn review(arg: Option<f64>, cfg: &MatchConfig, threshold: f64) -> Result<Option<f64>> {
    let r = arg.or(cfg.settings.review_threshold);
    if let Some(r) = r {
        anyhow::ensure!(
            r > 0.0 && r < threshold,
            "--review: a probability above 0 and below the threshold {threshold}, got {r}"
        );
    }
    Ok(r)
}

fn report_read(ds: &Dataset, rejects: Option<&Path>, started: Instant) -> Result<()> {
    let dropped = ds.issues.iter().filter(|i| i.dropped).count();
    eprintln!(
        "read {} records ({} rows rejected, {} fields ignored) in {:.2}s",
        ds.len(),
        dropped,
        ds.issues.len() - dropped,
        started.elapsed().as_secs_f64()
    );
    for i in ds.issues.iter().take(5) {
        eprintln!(
            "  line {}: column {}: {} ({})",
            i.line,
            i.column,
            i.rule,
            if i.dropped { "row rejected" } else { "field ignored" }
        );
    }
    let idf = ds.id_fields;
    let pct = |s: Option<f64>| {
        s.map_or("too few rows to judge".to_string(), |s| format!("{:.1} % agree", 100.0 * s))
    };
    if !idf.year_used || (!idf.sex_used && idf.sex_agreement.is_some()) {
        eprintln!(
            "personal IDs: the birth year they encode ({}) and the sex ({}) are read only where most rows agree; \
             birth year {}, sex {}",
            pct(idf.year_agreement),
            pct(idf.sex_agreement),
            if idf.year_used { "read" } else { "not read" },
            if idf.sex_used { "read" } else { "not read" }
        );
    }
    if let Some(p) = rejects {
        dancu_matching::io::write_issues(p, &ds.issues)?;
        eprintln!("issues written to {}", p.display());
    } else if !ds.issues.is_empty() {
        eprintln!("  (use --rejects FILE for the full list)");
    }
    Ok(())
}

fn report_model(m: &Matcher<'_>, stats: &dancu_matching::TrainStats, truth: Option<&Truth>) {
    let recall = truth.map(|t| (m.rule_recall(t), t.true_pairs.max(1)));
    for (r, (name, pairs, oversized)) in stats.blocking.rules.iter().enumerate() {
        let kept = match &recall {
            Some((v, total)) => format!("  keeps {:.4} of true pairs", v[r].1 as f64 / *total as f64),
            None => String::new(),
        };
        eprintln!("  blocking rule {name:<24} {pairs:>11} new pairs  {oversized:>6} oversized blocks{kept}");
    }
    let oversized: u64 = stats.blocking.rules.iter().map(|r| r.2).sum();
    if oversized > 0 {
        let own: Vec<String> = m
            .rules
            .iter()
            .filter_map(|r| {
                r.max_block.filter(|b| *b < m.cfg.settings.max_block).map(|b| format!("{}: {b}", r.name))
            })
            .collect();
        let own = if own.is_empty() { String::new() } else { format!(" ({})", own.join(", ")) };
        eprintln!(
            "warning: {oversized} blocks had more than settings.max_block = {} records{own}; they were compared \
             through a sorted window of {} neighbours, not all against all",
            m.cfg.settings.max_block, m.cfg.settings.window
        );
    }
    eprintln!(
        "compared {} candidate pairs; trained on {} pairs (one block in {}, {} patterns); share of matches among all pairs λ = {:.4e}",
        stats.blocking.pairs, stats.training_pairs, stats.sample_every, stats.distinct_patterns, m.model.lambda
    );
    let cats = &m.cfg.categories;
    for (i, f) in m.model.fields.iter().enumerate() {
        eprintln!("  {:<14} [m from {:<20}] {}", f.name(cats), m.model.m_source[i], m.model.levels_text(i));
    }
}

/// Writes explained pairs: ids, probability, weight, decision, then one column per field.
/// Pairs below `match_weight` are marked `review`.
fn write_pairs(path: &Path, m: &Matcher<'_>, pairs: &[(u32, u32, f32)], match_weight: f64) -> Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    let mut header = vec![
        "left_id".to_string(),
        "right_id".into(),
        "probability".into(),
        "match_weight".into(),
        "decision".into(),
    ];
    header.extend(field_headers(&m.model.fields, &m.cfg.categories));
    w.write_record(&header)?;
    for &(i, j, _) in pairs {
        let e = m.explain(i, j);
        let mut row = vec![
            m.ds.ids[i as usize].to_string(),
            m.ds.ids[j as usize].to_string(),
            format_probability(e.probability),
        ];
        row.push(format!("{:.4}", e.weight));
        row.push(if e.weight >= match_weight { "match" } else { "review" }.to_string());
        row.extend(e.fields.iter().map(dancu_matching::explain::Explanation::cell));
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// A probability with enough digits to rank pairs: near 1 as `1 - 2.3e-9`-style decimals
/// would all print as 1.000000, so twelve significant digits of the distance to 1 are kept.
fn format_probability(p: f64) -> String {
    if p > 0.999 {
        format!("{:.15}", p)
    } else {
        format!("{p:.9}")
    }
}

pub fn dedup(args: &DedupArgs) -> Result<()> {
    let started = Instant::now();
    let cfg = load_config(args.common.mapping.as_deref())?;
    let t = threshold(args.common.threshold, &cfg)?;
    let ds = Dataset::read(&[&args.input], &cfg)?;
    report_read(&ds, args.common.rejects.as_deref(), started)?;
    let truth = args.truth.as_deref().map(|p| Truth::read(p, &ds.ids)).transpose()?;
    let phase = Instant::now();
    let rv = review(args.common.review, &cfg, t)?;
    let (m, result) = dancu_matching::dedup_with_review(&ds, &cfg, t, rv, truth.as_ref());
    report_model(&m, &result.stats, truth.as_ref());
    let clusters = {
        let mut sizes = std::collections::HashMap::<u32, u32>::new();
        for &l in &result.labels {
            *sizes.entry(l).or_default() += 1;
        }
        sizes.values().filter(|&&n| n > 1).count()
    };
    eprintln!(
        "{} pairs at probability ≥ {t}; {} clusters of two or more records; matching took {:.2}s",
        result.pairs.len(),
        clusters,
        phase.elapsed().as_secs_f64()
    );
    let mut w =
        csv::Writer::from_path(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    w.write_record(["record_id", "cluster_id"])?;
    for (i, &l) in result.labels.iter().enumerate() {
        w.write_record([&*ds.ids[i], &*ds.ids[l as usize]])?;
    }
    w.flush()?;
    if let Some(p) = &args.pairs {
        write_pairs(p, &m, &result.pairs, m.threshold_weight(t))?;
    }
    if let Some(truth) = &truth {
        let q = eval::pairwise(&result.labels, truth);
        let compared = result.stats.true_pairs_compared.unwrap_or(0);
        let recall = if truth.true_pairs == 0 { 1.0 } else { compared as f64 / truth.true_pairs as f64 };
        println!("blocking recall: {recall:.4} ({compared} of {} true pairs compared)", truth.true_pairs);
        println!(
            "pairwise precision {:.4}  recall {:.4}  F1 {:.4}  ({} predicted pairs, {} correct, {} true)",
            q.precision, q.recall, q.f1, q.predicted_pairs, q.true_positives, q.true_pairs
        );
    }
    eprintln!("done in {:.2}s", started.elapsed().as_secs_f64());
    Ok(())
}

pub fn link(args: &LinkArgs) -> Result<()> {
    let started = Instant::now();
    let cfg = load_config(args.common.mapping.as_deref())?;
    let t = threshold(args.common.threshold, &cfg)?;
    let ds = Dataset::read(&[&args.left, &args.right], &cfg)?;
    report_read(&ds, args.common.rejects.as_deref(), started)?;
    let rv = review(args.common.review, &cfg, t)?;
    let (m, mut stats) = Matcher::train(&ds, &cfg);
    let tw = m.threshold_weight(t);
    let min_w = rv.map(|r| m.threshold_weight(r).min(tw)).unwrap_or(tw);
    let (mut pairs, blocking, _) = m.scored_pairs(min_w, None);
    if args.one_to_one {
        pairs = Matcher::one_to_one(&pairs);
    }
    stats.blocking = blocking;
    report_model(&m, &stats, None);
    write_pairs(&args.out, &m, &pairs, tw)?;
    eprintln!(
        "{} linked pairs written to {} in {:.2}s",
        pairs.len(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn reconcile(args: &ReconcileArgs) -> Result<()> {
    let started = Instant::now();
    let cfg = load_config(args.common.mapping.as_deref())?;
    let t = threshold(args.common.threshold, &cfg)?;
    let mut loader = dancu_matching::Loader::default();
    // XLSX and `;` lists are read through a `,` copy, which the result file is written from.
    let input = crate::table_input::comma_csv(&args.input)?;
    loader.read_csv(&input.path, &cfg, 0)?;
    let sector_issues = loader.issues.len();
    match (&args.registry, &args.database_url) {
        (Some(path), _) => reconcile::load_registry_csv(&mut loader, path, &cfg)?,
        (None, Some(url)) => {
            let citizens =
                tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
                    let (_store, registry, writer) = crate::config::open_registry(url).await?;
                    let a = dancu_store::registry::Access::system(
                        "reconcile",
                        "đối soát danh sách chuyên ngành với cơ sở dữ liệu dân cư",
                    );
                    let citizens = registry.citizens_for_matching(&a).await;
                    drop(registry);
                    writer.shutdown().await;
                    anyhow::Ok(citizens?)
                })?;
            reconcile::load_registry(&mut loader, citizens.iter().map(|c| c.to_draft()), &cfg);
        }
        (None, None) => anyhow::bail!("--registry FILE or --database-url URL is required"),
    }
    let registry_issues = loader.issues.split_off(sector_issues);
    let ds = Dataset::from_loader(loader, true);
    report_read(&ds, args.common.rejects.as_deref(), started)?;
    if !registry_issues.is_empty() {
        eprintln!("registry: {} rows or fields could not be read", registry_issues.len());
    }
    let results = reconcile::reconcile(&ds, &cfg, t);
    reconcile::write_result(&input.path, &args.out, &results, &ds.issues)?;
    let rejected = ds.issues.iter().filter(|i| i.dropped).count() as u64;
    let summary = reconcile::summary(&results, rejected);
    let mut totals = [0u64; reconcile::STATUSES.len()];
    for c in summary.values() {
        for (t, s) in totals.iter_mut().zip(c.statuses) {
            *t += s;
        }
    }
    for (name, n) in reconcile::STATUSES.iter().zip(totals) {
        eprintln!("  {name:<18} {n}");
    }
    if let Some(p) = &args.summary {
        reconcile::write_summary(p, &summary)?;
    }
    eprintln!("reconciled {} rows in {:.2}s", results.len(), started.elapsed().as_secs_f64());
    Ok(())
}
