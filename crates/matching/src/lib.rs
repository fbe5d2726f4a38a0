//! Record linkage for Vietnamese population lists: finding the records of one person within
//! a list (dedup), across two lists (link), and checking a sector agency's list against the
//! registry (reconcile).
//!
//! The pipeline, one module per step:
//! 1. [`config`]: which column holds what, from a TOML mapping;
//! 2. [`io`] + [`record`] + [`normalise`]: rows read as bytes, legacy encodings repaired,
//!    names folded (marks, đ, typing-method artefacts), dates, IDs, phones and units packed;
//! 3. [`blocking`]: candidate pairs from several rules, each pair compared once;
//! 4. [`compare`]: graded levels per field;
//! 5. [`scoring`]: Fellegi–Sunter weights, u from random pairs, m by EM, term-frequency
//!    adjustment of name weights;
//! 6. [`cluster`]: components cut by average linkage so chains do not merge strangers;
//! 7. [`explain`]: per-field evidence of every pair;
//! 8. [`reconcile`]: the sector-list categories and per-unit summary.
//!
//! Everything runs in parallel with rayon; records are small fixed-size structs.

pub mod blocking;
pub mod cluster;
pub mod compare;
pub mod config;
pub mod eval;
pub mod explain;
pub mod fastmap;
pub mod id_fields;
pub mod io;
pub mod normalise;
pub mod reconcile;
pub mod record;
pub mod scoring;
pub mod table;

use fastmap::FastMap;
use std::path::Path;

use compare::{Comparator, Field};
pub use config::MatchConfig;
pub use eval::{PairMetrics, Truth};
pub use explain::Explanation;
pub use io::{Loader, MatchError};
use record::{Issue, Record};
use scoring::Model;

/// Two record indices and the pair's match weight.
type ScoredPair = (u32, u32, f32);

/// Loaded records of one or two sources, with the interned name strings.
#[derive(Debug)]
pub struct Dataset {
    pub records: Vec<Record>,
    pub ids: Vec<Box<str>>,
    pub strings: Vec<Box<str>>,
    pub issues: Vec<Issue>,
    /// Two sources: only pairs across them are compared.
    pub cross: bool,
    /// Whether the list's personal IDs were found to carry the rows' birth year and sex.
    pub id_fields: id_fields::IdFields,
}

impl Dataset {
    /// Reads one file (dedup) or two (link: the first is source 0, the second source 1).
    pub fn read(paths: &[&Path], cfg: &MatchConfig) -> Result<Self, MatchError> {
        let mut loader = Loader::default();
        for (source, p) in paths.iter().enumerate() {
            loader.read_csv(p, cfg, source as u8)?;
        }
        Ok(Self::from_loader(loader, paths.len() > 1))
    }

    pub fn from_loader(loader: Loader, cross: bool) -> Self {
        let (strings, mut records) = canonical_symbols(loader.interner.strings(), loader.records);
        // Sex values are interned as `m` / `f` (record::Interner::category).
        let sym = |s: &str| strings.binary_search_by(|x| x.as_ref().cmp(s)).ok().map(|i| i as record::Sym);
        let sex = loader.sex_category.map(|k| (k, sym("m").unwrap_or(0), sym("f").unwrap_or(0)));
        let id_fields = id_fields::check(&mut records, sex);
        Dataset { records, ids: loader.ids, strings, issues: loader.issues, cross, id_fields }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Renumbers the interned strings in sorted order. The reading threads hand out symbols in
/// the order they meet new words, which varies from run to run; blocking keys, the training
/// sample and the order inside oversized blocks depend on the symbols, so without this the
/// same file could give another model on another run or thread count. Symbols handed out
/// but never stored (empty strings: two threads that meet a new word at once each draw a
/// number, and one is kept) are dropped: were they kept, they would sort first and shift
/// every symbol by their number, which also varies from run to run.
fn canonical_symbols(strings: Vec<Box<str>>, mut records: Vec<Record>) -> (Vec<Box<str>>, Vec<Record>) {
    use rayon::prelude::*;
    let mut order: Vec<u32> =
        (1..strings.len() as u32).filter(|&s| !strings[s as usize].is_empty()).collect();
    order.par_sort_unstable_by(|&a, &b| strings[a as usize].cmp(&strings[b as usize]));
    let mut remap = vec![0u32; strings.len()];
    for (new, &old) in order.iter().enumerate() {
        remap[old as usize] = new as u32 + 1;
    }
    let mut sorted: Vec<Box<str>> = Vec::with_capacity(strings.len());
    sorted.push("".into());
    let mut strings: Vec<Option<Box<str>>> = strings.into_iter().map(Some).collect();
    for &old in &order {
        sorted.push(strings[old as usize].take().unwrap_or_default());
    }
    let map = |s: &mut record::Sym| *s = remap.get(*s as usize).copied().unwrap_or(0);
    records.par_iter_mut().for_each(|r| {
        r.names.iter_mut().for_each(map);
        r.cats.iter_mut().for_each(map);
        map(&mut r.province_text);
        map(&mut r.commune_text);
    });
    records.par_iter_mut().for_each(|r| r.sound_names = blocking::sound_names(r, &sorted));
    (sorted, records)
}

/// The fields a mapping makes comparable.
pub fn fields_for(cfg: &MatchConfig) -> Vec<Field> {
    let has = |k: &str| cfg.column(k).is_some();
    let mut f = vec![Field::FamilyName, Field::GivenName, Field::MiddleName];
    // The place and the address detail are one field when the list gives unit codes, or
    // names its communes and gives personal IDs: a household's shared address then counts
    // once, and the household and namesake contexts (scoring::HouseU), read off its levels
    // from pairs whose IDs differ, work for lists that name their communes as well as for
    // coded ones. Without codes or IDs no context can be read, and the two fields stay
    // apart, each compared more finely (the detail by its words): on FEBRL, whose suburbs
    // and streets are each rare, joining them cost F1 (0.9909 → 0.9889, 0.9930 → 0.9898).
    let place = has("unit") || ((has("province") || has("commune")) && has("personal_id"));
    if place && has("address_detail") {
        f.push(Field::Address);
    }
    let separate_address = !(place && has("address_detail"));
    for (key, field) in [
        ("birth_date", Field::BirthDate),
        ("personal_id", Field::PersonalId),
        ("cmnd", Field::Cmnd),
        ("unit", Field::Unit),
        ("address_detail", Field::Detail),
        ("postcode", Field::Postcode),
        ("phone", Field::Phone),
    ] {
        if has(key) && (separate_address || !matches!(field, Field::Unit | Field::Detail)) {
            f.push(field);
        }
    }
    // Place names are compared on their own only without unit codes and without an address
    // detail; otherwise they are the fall-back of the unit comparison
    // (compare::location_level).
    if (has("province") || has("commune")) && !has("unit") && separate_address {
        f.push(Field::Place);
    }
    f.extend((0..cfg.categories.len()).map(|i| Field::Category(i as u8)));
    f
}

/// Lists larger than this many records train on a sample of the blocks.
const TRAIN_SAMPLE_RECORDS: usize = 250_000;

/// Counts from training and scoring, for the report.
#[derive(Debug, Clone, Default)]
pub struct TrainStats {
    /// Pairs the training sample compared, and the sampling rate (one block in …).
    pub training_pairs: u64,
    pub sample_every: u64,
    /// The full blocking run of the scoring pass.
    pub blocking: blocking::BlockStats,
    pub distinct_patterns: usize,
    /// True pairs that blocking compared (with a truth file).
    pub true_pairs_compared: Option<u64>,
}

/// A trained matcher over a dataset.
#[derive(Debug)]
pub struct Matcher<'a> {
    pub ds: &'a Dataset,
    pub cmp: Comparator<'a>,
    pub model: Model,
    pub rules: Vec<blocking::Rule>,
    pub cfg: &'a MatchConfig,
}

impl<'a> Matcher<'a> {
    /// Estimates u from random pairs and m, λ by EM over the blocked candidate pairs (a
    /// sample of the blocks in large lists: EM needs pattern counts, not every pair).
    pub fn train(ds: &'a Dataset, cfg: &'a MatchConfig) -> (Self, TrainStats) {
        let fields = fields_for(cfg);
        let cmp = Comparator { fields: fields.clone(), strings: &ds.strings };
        let rules = blocking::rules_for(&fields, &cfg.settings.blocking);
        let s = &cfg.settings;
        let u = scoring::estimate_u(&ds.records, &cmp, s.u_sample_pairs, ds.cross);
        let n = fields.len();
        let nr = rules.len();
        // Pattern counts over all candidate pairs (index nr) and per rule that blocks the pair.
        let walk = blocking::Walk {
            max_block: s.max_block,
            window: s.window,
            cross: ds.cross,
            sample_every: (ds.len() / TRAIN_SAMPLE_RECORDS).max(1) as u64,
        };
        let (patterns, bstats) = blocking::visit(
            &ds.records,
            &rules,
            walk,
            || vec![FastMap::<u64, u64>::default(); nr + 1],
            |acc, i, j| {
                let (a, b) = (&ds.records[i as usize], &ds.records[j as usize]);
                let p = cmp.compare(a, b).pattern(n);
                *acc[nr].entry(p).or_default() += 1;
                for (r, rule) in rules.iter().enumerate() {
                    if rule.shared(a, b) {
                        *acc[r].entry(p).or_default() += 1;
                    }
                }
            },
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    for (k, v) in y {
                        *x.entry(k).or_default() += v;
                    }
                }
                a
            },
        );
        let sessions: Vec<scoring::Session<'_>> = rules
            .iter()
            .zip(&patterns)
            .map(|(r, p)| scoring::Session { name: r.name, patterns: p, involves: r.involves })
            .collect();
        // All pairs, in the units of the sampled counts (one block in `sample_every`).
        let all_pairs = if ds.cross {
            let left = ds.records.iter().filter(|r| r.source == 0).count() as f64;
            left * (ds.len() as f64 - left)
        } else {
            let n = ds.len() as f64;
            n * (n - 1.0) / 2.0
        } / walk.sample_every as f64;
        let (m, lambda, m_source, house) =
            scoring::train_sessions(&fields, &sessions, &patterns[nr], &u, all_pairs);
        let mut model = scoring::model(fields, m, u, &ds.records, ds.strings.len(), m_source, &house);
        model.lambda = lambda;
        let stats = TrainStats {
            training_pairs: bstats.pairs,
            sample_every: walk.sample_every,
            distinct_patterns: patterns[nr].len(),
            ..Default::default()
        };
        (Matcher { ds, cmp, model, rules, cfg }, stats)
    }

    /// The match weight of any two records.
    pub fn weight(&self, i: u32, j: u32) -> f64 {
        self.model.weight(&self.cmp.compare(&self.ds.records[i as usize], &self.ds.records[j as usize]))
    }

    pub fn explain(&self, i: u32, j: u32) -> Explanation {
        let c = self.cmp.compare(&self.ds.records[i as usize], &self.ds.records[j as usize]);
        Explanation::new(&self.model, &c, &self.cfg.categories)
    }

    /// Candidate pairs with a weight at or above `min_weight`, sorted; the blocking counts;
    /// with a truth file, how many true pairs blocking compared.
    pub fn scored_pairs(
        &self,
        min_weight: f64,
        truth: Option<&Truth>,
    ) -> (Vec<(u32, u32, f32)>, blocking::BlockStats, u64) {
        let s = &self.cfg.settings;
        let walk = blocking::Walk {
            max_block: s.max_block,
            window: s.window,
            cross: self.ds.cross,
            sample_every: 1,
        };
        let ((mut pairs, mut true_compared), stats) = blocking::visit(
            &self.ds.records,
            &self.rules,
            walk,
            || (Vec::new(), Vec::new()),
            |acc: &mut (Vec<ScoredPair>, Vec<(u32, u32)>), i, j| {
                let w = self.weight(i, j);
                if w >= min_weight {
                    acc.0.push((i, j, w as f32));
                }
                if truth.is_some_and(|t| t.same(i, j)) {
                    acc.1.push((i, j));
                }
            },
            |mut a, b| {
                a.0.extend(b.0);
                a.1.extend(b.1);
                a
            },
        );
        // A pair met in the window of an oversized block may be met again by a later rule.
        pairs.sort_unstable_by_key(|p| (p.0, p.1));
        pairs.dedup_by_key(|p| (p.0, p.1));
        true_compared.sort_unstable();
        true_compared.dedup();
        (pairs, stats, true_compared.len() as u64)
    }

    /// Replaces the m probabilities EM learned by a conservative prior (per field: 0.9 for
    /// the strongest agreement, 0.09 spread over the intermediate levels, 0.01 for a
    /// disagreement), keeping u from random pairs and the term-frequency adjustment. For a
    /// list with almost no duplicates, such as a registry that has been cleaned before, EM has
    /// nothing to learn from and settles on people who live together as its "matches"
    /// (measured on 885,401 registry records: an exact birth date weighed −4.4 bits).
    pub fn use_prior_m(&mut self) {
        let m = self
            .model
            .fields
            .iter()
            .map(|f| {
                let n = f.levels().len();
                (0..n)
                    .map(|l| match (l, n) {
                        (0, _) => 0.9,
                        (_, 2) => 0.1,
                        (l, n) if l == n - 1 => 0.01,
                        _ => 0.09 / (n - 2) as f64,
                    })
                    .collect()
            })
            .collect();
        let sources = vec!["prior"; self.model.fields.len()];
        let lambda = self.model.lambda;
        self.model = scoring::model(
            self.model.fields.clone(),
            m,
            self.model.u.clone(),
            &self.ds.records,
            self.ds.strings.len(),
            sources,
            &self.model.house_u,
        );
        self.model.lambda = lambda;
    }

    /// Per blocking rule, how many true pairs share one of its keys (with a truth file).
    pub fn rule_recall(&self, truth: &Truth) -> Vec<(&'static str, u64)> {
        let mut counts = vec![0u64; self.rules.len()];
        for (i, j) in truth.pairs() {
            let (a, b) = (&self.ds.records[i as usize], &self.ds.records[j as usize]);
            if (self.ds.cross && a.source == b.source) || a.n_names == 0 || b.n_names == 0 {
                continue;
            }
            for (r, rule) in self.rules.iter().enumerate() {
                if rule.shared(a, b) {
                    counts[r] += 1;
                }
            }
        }
        self.rules.iter().map(|r| r.name).zip(counts).collect()
    }

    /// Link one-to-one: each record in at most one pair, the heaviest pairs first (ties by
    /// record index, so the result does not depend on the order pairs were found in).
    pub fn one_to_one(pairs: &[(u32, u32, f32)]) -> Vec<(u32, u32, f32)> {
        let mut order: Vec<&(u32, u32, f32)> = pairs.iter().collect();
        order.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
        let mut used = std::collections::HashSet::new();
        let mut kept: Vec<(u32, u32, f32)> = Vec::new();
        for &&(i, j, w) in &order {
            if used.contains(&i) || used.contains(&j) {
                continue;
            }
            used.insert(i);
            used.insert(j);
            kept.push((i, j, w));
        }
        kept.sort_unstable_by_key(|p| (p.0, p.1));
        kept
    }

    /// The weight at which a pair reaches the configured match probability.
    pub fn threshold_weight(&self, probability: f64) -> f64 {
        self.model.weight_for(probability)
    }
}

/// The result of deduplication.
#[derive(Debug)]
pub struct DedupResult {
    /// Per record: the index of the first record of its cluster.
    pub labels: Vec<u32>,
    /// Predicted matching pairs (weight at or above the threshold).
    pub pairs: Vec<(u32, u32, f32)>,
    pub stats: TrainStats,
}

/// Deduplicates a dataset: train, score candidate pairs, cluster.
pub fn dedup<'a>(
    ds: &'a Dataset,
    cfg: &'a MatchConfig,
    threshold: f64,
    truth: Option<&Truth>,
) -> (Matcher<'a>, DedupResult) {
    dedup_with_review(ds, cfg, threshold, None, truth)
}

/// [`dedup`], keeping in `pairs` also the pairs from the review probability up to the
/// threshold (they are not clustered: an officer decides them).
pub fn dedup_with_review<'a>(
    ds: &'a Dataset,
    cfg: &'a MatchConfig,
    threshold: f64,
    review: Option<f64>,
    truth: Option<&Truth>,
) -> (Matcher<'a>, DedupResult) {
    let (m, mut stats) = Matcher::train(ds, cfg);
    let tw = m.threshold_weight(threshold);
    let min_w = review.map(|r| m.threshold_weight(r).min(tw)).unwrap_or(tw);
    let (pairs, blocking, true_compared) = m.scored_pairs(min_w, truth);
    stats.blocking = blocking;
    stats.true_pairs_compared = truth.map(|_| true_compared);
    let labels = cluster::cluster(ds.len(), &pairs, tw, cfg.settings.max_cluster, |i, j| m.weight(i, j));
    (m, DedupResult { labels, pairs, stats })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symbol drawn but never stored (an empty string at its number) takes no place in the
    /// sorted numbering: the same words get the same symbols whether or not a run left gaps.
    #[test]
    fn canonical_symbols_skip_gaps() {
        let rec = |names: [u32; 2]| {
            let mut r = Record { n_names: 2, ..Default::default() };
            r.names[..2].copy_from_slice(&names);
            r
        };
        let with_gap: Vec<Box<str>> = ["", "b", "", "a"].map(Into::into).to_vec();
        let without: Vec<Box<str>> = ["", "a", "b"].map(Into::into).to_vec();
        let (s1, r1) = canonical_symbols(with_gap, vec![rec([1, 3])]);
        let (s2, r2) = canonical_symbols(without, vec![rec([2, 1])]);
        assert_eq!(s1, s2);
        assert_eq!(&s1[..], &["".into(), "a".into(), "b".into()] as &[Box<str>]);
        assert_eq!(r1[0].names[..2], [2, 1]);
        assert_eq!(r1[0].names[..2], r2[0].names[..2]);
    }
}
