//! `dancu registry-dedup`: runs the matching engine over the registry (a province or the
//! whole country; pairs across provinces are found when the scope holds both) and stores new
//! candidate pairs with their evidence for officers to merge or reject. Pairs decided before
//! are never proposed again.

use anyhow::{Context, Result};
use dancu_matching::io::Loader;
use dancu_matching::reconcile::load_drafts;
use dancu_matching::{Dataset, MatchConfig};
use dancu_store::dedup::{Evidence, NewCandidate};
use dancu_store::registry::{Access, Registry};
use dancu_store::Scope;

#[derive(clap::Args, Debug)]
pub struct RegistryDedupArgs {
    #[arg(long, env = "DANCU_DATABASE_URL")]
    pub database_url: Option<String>,
    /// nation (default), province:NN or commune:NNNNN (2025 codes).
    #[arg(long, default_value = "nation")]
    pub scope: String,
    /// Match probability from which a pair is proposed (default: the mapping's threshold).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Least total weight (bits) of a proposed pair; default log2(records) + log2(odds of the
    /// threshold), see `find`.
    #[arg(long)]
    pub min_weight: Option<f64>,
}

/// What a run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub records: usize,
    pub pairs: usize,
    pub new: u64,
}

/// Finds candidate pairs among the records in `scope` and stores the new ones. The records
/// are read through the registry, as one audited bulk access by `system:<job>`.
pub async fn find(
    registry: &Registry,
    job: &str,
    scope: &Scope,
    threshold: Option<f64>,
    min_weight: Option<f64>,
) -> Result<Found> {
    let a = Access {
        scope: scope.clone(),
        ..Access::system(job, "tìm hồ sơ trùng lặp trong cơ sở dữ liệu dân cư (làm sạch dữ liệu)")
    };
    let citizens = registry.citizens_for_matching(&a).await.context("reading the registry")?;
    let records = citizens.len();
    let pairs = tokio::task::spawn_blocking(move || -> Result<Vec<NewCandidate>> {
        let cfg = MatchConfig::dancu_default();
        let t = threshold.unwrap_or(cfg.settings.threshold);
        anyhow::ensure!(t > 0.0 && t < 1.0, "--threshold: a probability strictly between 0 and 1, got {t}");
        let mut loader = Loader::default();
        load_drafts(&mut loader, citizens.iter().map(|c| c.to_draft()), &cfg, 0);
        let ds = Dataset::from_loader(loader, false);
        if ds.len() < 2 {
            return Ok(Vec::new());
        }
        // EM needs duplicates to learn from, which a registry mostly lacks: the m
        // probabilities are a conservative prior instead (`Matcher::use_prior_m`).
        let (mut m, _) = dancu_matching::Matcher::train(&ds, &cfg);
        m.use_prior_m();
        // Two records picked at random are the same person about once in N: a pair must
        // carry evidence that overcomes that prior (log2 N bits) and still reach the
        // threshold's odds.
        let min_weight = min_weight.unwrap_or((ds.len() as f64).log2() + (t / (1.0 - t)).log2());
        let (pairs, _, _) = m.scored_pairs(min_weight, None);
        pairs
            .iter()
            .map(|&(i, j, _)| (i, j, m.explain(i, j)))
            .filter(|(_, _, e)| plausible(e))
            .map(|(i, j, e)| {
                Ok(NewCandidate {
                    left: ds.ids[i as usize].parse().map_err(|v| anyhow::anyhow!("{v:?}"))?,
                    right: ds.ids[j as usize].parse().map_err(|v| anyhow::anyhow!("{v:?}"))?,
                    weight: e.weight,
                    probability: e.probability,
                    evidence: e
                        .fields
                        .iter()
                        .map(|f| Evidence {
                            field: f.field.clone(),
                            level: f.level.to_string(),
                            weight: f.weight,
                        })
                        .collect(),
                })
            })
            .collect()
    })
    .await??;
    let new = registry.dedup_add_candidates(&a, &pairs).await?;
    Ok(Found { records, pairs: pairs.len(), new })
}

/// A registry duplicate must at least share a given name and a compatible birth date.
/// Trained on a registry with few duplicates, the model can take people who live together
/// (same family name and address) for one person; officers should not get those pairs.
fn plausible(e: &dancu_matching::Explanation) -> bool {
    !e.fields.iter().any(|f| (f.field == "given_name" || f.field == "birth_date") && f.level == "different")
}

pub async fn run(args: &RegistryDedupArgs, url: &str) -> Result<()> {
    let scope: Scope = args.scope.parse().map_err(|v| anyhow::anyhow!("--scope: {v:?}"))?;
    let (_db, registry, writer) = crate::config::open_registry(url).await?;
    let started = std::time::Instant::now();
    let f = find(&registry, "registry-dedup", &scope, args.threshold, args.min_weight).await;
    drop(registry);
    writer.shutdown().await;
    let f = f?;
    eprintln!(
        "{} records in {scope}: {} candidate pairs, {} new, in {:.1}s",
        f.records,
        f.pairs,
        f.new,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
