//! Development loop for the matcher on the independent error model's **development**
//! profile (docs/ERROR_MODEL.md): generates a list, deduplicates it and prints where the
//! misses and false matches come from. The held-out profile is deliberately not offered.
//!
//! ```text
//! cargo run --release -p dancu-matching --example dev_eval -- PEOPLE SEED RATE [DUMP]
//! ```
//! DUMP: how many missed and false pairs to print with their evidence (default 0).
//! `THRESHOLD=P` decides at probability P instead of the mapping's threshold; `SWEEP=1`
//! also clusters at several thresholds and prints F1 at each. Every run prints an evidence
//! bound: the true pairs whose only positive evidence is the name (no method can tell them
//! from namesakes) and those with less than 7 bits beyond the name. `ORACLE=1` prints the
//! best pairwise F1 any decision on the model's evidence could reach ([`oracle`]). `LIST=FILE`
//! and `TRUTH=FILE` read another list and its truth instead of generating one (to measure a
//! held-out file: never tune on what that prints).

use std::path::PathBuf;
use std::time::Instant;

use dancu_matching::{dedup, eval, Dataset, MatchConfig, Truth};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let people: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(7);
    let rate: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0.3);
    let dump: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(0);
    let dir = PathBuf::from(std::env::var("DEV_DIR").unwrap_or_else(|_| "/tmp/dancu-dev".into()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = std::env::var("LIST")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.join(format!("dev_{people}_{seed}_{rate}.csv")));
    let truth_path = std::env::var("TRUTH")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.join(format!("dev_{people}_{seed}_{rate}_truth.csv")));
    if !list.exists() {
        let cfg = dancu_gen::GenConfig { people, seed, ..Default::default() };
        dancu_gen::generate_sector_list_to_path(
            &cfg,
            &dancu_gen::Profile::dev(),
            rate,
            &list,
            Some(&truth_path),
        )
        .unwrap();
    }
    let mapping = std::env::var("MAPPING")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/configs/sector.toml").to_string());
    let cfg = MatchConfig::from_toml(&std::fs::read_to_string(&mapping).unwrap()).unwrap();
    let started = Instant::now();
    let ds = Dataset::read(&[&list], &cfg).unwrap();
    let truth = Truth::read(&truth_path, &ds.ids).unwrap();
    println!("personal IDs: {:?}", ds.id_fields);
    let threshold =
        std::env::var("THRESHOLD").ok().and_then(|t| t.parse().ok()).unwrap_or(cfg.settings.threshold);
    let (m, result) = dedup(&ds, &cfg, threshold, Some(&truth));
    let q = eval::pairwise(&result.labels, &truth);
    let n = ds.len() as f64;
    let share = truth.true_pairs as f64 / (n * (n - 1.0) / 2.0);
    println!(
        "{} records, {:.1}s: F1 {:.4} P {:.4} R {:.4}; blocking recall {:.4}; λ {:.3e} (truth {:.3e}, ×{:.2}); threshold {:.2} bits; {} candidate pairs",
        ds.len(),
        started.elapsed().as_secs_f64(),
        q.f1,
        q.precision,
        q.recall,
        result.stats.true_pairs_compared.unwrap_or(0) as f64 / truth.true_pairs.max(1) as f64,
        m.model.lambda,
        share,
        m.model.lambda / share,
        m.threshold_weight(threshold),
        result.stats.blocking.pairs,
    );
    let recall = m.rule_recall(&truth);
    for ((name, pairs, over), (_, kept)) in result.stats.blocking.rules.iter().zip(&recall) {
        let kept = *kept as f64 / truth.true_pairs.max(1) as f64;
        println!("  rule {name:<24} {pairs:>10} pairs {over:>5} oversized, keeps {kept:.4}");
    }
    for (i, f) in m.model.fields.iter().enumerate() {
        println!(
            "  {:<14} [{:<22}] {}",
            f.name(&cfg.categories),
            m.model.m_source[i],
            m.model.levels_text(i)
        );
    }
    println!("  commune lift by full-name band (bits): {:.2?}", m.model.commune_lift);
    for (h, w) in m.model.house_u.iter().zip(&m.model.house) {
        for (i, w) in w.iter().enumerate() {
            if let Some(w) = w {
                let text: Vec<String> = w.iter().map(|x| format!("{x:+.1}")).collect();
                println!("  {:?} {:<14} {}", h.kind, m.model.fields[i].name(&cfg.categories), text.join(" "));
            }
        }
    }
    // Calibration of the scored candidate pairs: predicted probability against the share
    // of true pairs, by weight band.
    let (pairs, _, _) = m.scored_pairs(-1e9, None);
    let tw = m.threshold_weight(threshold);
    let mut bands = std::collections::BTreeMap::<i64, (u64, u64)>::new();
    for &(i, j, w) in &pairs {
        let b = ((w as f64 - tw) / 2.0).floor() as i64;
        let e = bands.entry(b.clamp(-8, 8)).or_default();
        e.0 += 1;
        e.1 += truth.same(i, j) as u64;
    }
    println!("  weight band (bits from threshold): pairs, true share, predicted probability");
    for (b, (c, t)) in &bands {
        let mid = tw + *b as f64 * 2.0 + 1.0;
        println!(
            "    [{:+3}, {:+3}) {c:>9} {:.4} {:.4}",
            b * 2,
            b * 2 + 2,
            *t as f64 / *c as f64,
            m.model.probability(mid)
        );
    }
    // `PATTERNS=1`: calibration by comparison pattern near the threshold (±8 bits): which
    // kinds of pair the model weighs too high or too low.
    if std::env::var("PATTERNS").is_ok() {
        let mut by = std::collections::HashMap::<String, (u64, u64, f64)>::new();
        for &(i, j, w) in &pairs {
            if (w as f64 - tw).abs() > 8.0 {
                continue;
            }
            let e = m.explain(i, j);
            let key: Vec<&str> = e.fields.iter().map(|f| f.level).collect();
            let x = by.entry(key.join(",")).or_default();
            x.0 += 1;
            x.1 += truth.same(i, j) as u64;
            x.2 += m.model.probability(w as f64);
        }
        let mut v: Vec<_> = by.into_iter().collect();
        v.sort_by_key(|b| std::cmp::Reverse(b.1 .0));
        println!("  patterns within 8 bits of the threshold: pairs, true pairs, predicted true pairs");
        for (p, (c, t, pr)) in v.iter().take(30) {
            println!("    {c:>7} {t:>7} {pr:>9.1}  {p}");
        }
    }
    // `LEVELS=1`: calibration by field level near the threshold (±8 bits): a level whose
    // pairs hold more true pairs than predicted is weighed too low.
    if std::env::var("LEVELS").is_ok() {
        let mut by = std::collections::BTreeMap::<(String, &str), (u64, f64, f64, f64)>::new();
        for &(i, j, w) in &pairs {
            if (w as f64 - tw).abs() > 8.0 {
                continue;
            }
            let e = m.explain(i, j);
            let t = truth.same(i, j) as u64 as f64;
            let p = m.model.probability(w as f64);
            for f in &e.fields {
                let x = by.entry((f.field.clone(), f.level)).or_default();
                x.0 += 1;
                x.1 += t;
                x.2 += p;
                x.3 += f.weight;
            }
        }
        println!("  levels within 8 bits of the threshold: pairs, true, predicted, mean weight");
        for ((f, l), (c, t, p, w)) in &by {
            println!("    {f:<12} {l:<26} {c:>8} {t:>8.0} {p:>9.1} {:>+6.2}", w / *c as f64);
        }
    }
    if std::env::var("SWEEP").is_ok() {
        for p in [0.3, 0.5, 0.7, 0.8, 0.9, 0.95] {
            let t = m.threshold_weight(p);
            let kept: Vec<_> = pairs.iter().copied().filter(|x| x.2 as f64 >= t).collect();
            let labels =
                dancu_matching::cluster::cluster(ds.len(), &kept, t, cfg.settings.max_cluster, |i, j| {
                    m.weight(i, j)
                });
            let q = eval::pairwise(&labels, &truth);
            println!(
                "  threshold p {p:.2} ({t:.2} bits): F1 {:.4} P {:.4} R {:.4}",
                q.f1, q.precision, q.recall
            );
        }
    }
    if std::env::var("ORACLE").is_ok() {
        oracle(&m, &pairs, &truth, tw);
    }
    evidence_bound(&m, &ds, &truth, &result.labels);
    if dump == 0 {
        return;
    }
    // Missed true pairs: never compared, or compared and below the threshold.
    let scored: std::collections::HashMap<(u32, u32), f32> =
        pairs.iter().map(|&(i, j, w)| ((i, j), w)).collect();
    let (mut unblocked, mut below, mut split) = (Vec::new(), Vec::new(), 0u64);
    for (i, j) in truth.pairs() {
        if result.labels[i as usize] == result.labels[j as usize] {
            continue;
        }
        match scored.get(&(i, j)) {
            None => unblocked.push((i, j)),
            Some(&w) if (w as f64) < tw => below.push((i, j, w)),
            Some(_) => split += 1,
        }
    }
    println!(
        "missed: {} never compared, {} below threshold, {} above but split by clustering",
        unblocked.len(),
        below.len(),
        split
    );
    let show = |i: u32, j: u32| {
        println!("{}\n{}\n{}", raw(&list, i), raw(&list, j), m.explain(i, j));
    };
    let mut pattern_counts = std::collections::BTreeMap::<String, u64>::new();
    // A pair's comparison levels, field by field.
    let pattern = |i: u32, j: u32| {
        let levels: Vec<String> = m.explain(i, j).fields.iter().map(|f| f.level.to_string()).collect();
        levels.join(",")
    };
    for &(i, j, _) in &below {
        *pattern_counts.entry(pattern(i, j)).or_default() += 1;
    }
    let mut unblocked_counts = std::collections::BTreeMap::<String, u64>::new();
    for &(i, j) in &unblocked {
        *unblocked_counts.entry(pattern(i, j)).or_default() += 1;
    }
    let mut uc: Vec<_> = unblocked_counts.into_iter().collect();
    uc.sort_by_key(|b| std::cmp::Reverse(b.1));
    println!("never-compared patterns:");
    for (p, c) in uc.iter().take(25) {
        println!("  {c:>6} {p}");
    }
    let mut pc: Vec<_> = pattern_counts.into_iter().collect();
    pc.sort_by_key(|b| std::cmp::Reverse(b.1));
    println!(
        "below-threshold patterns ({}):",
        m.model.fields.iter().map(|f| f.name(&cfg.categories)).collect::<Vec<_>>().join(",")
    );
    for (p, c) in pc.iter().take(25) {
        println!("  {c:>6} {p}");
    }
    println!("--- never compared");
    for &(i, j) in unblocked.iter().step_by((unblocked.len() / dump).max(1)).take(dump) {
        show(i, j);
    }
    println!("--- below threshold");
    for &(i, j, _) in below.iter().step_by((below.len() / dump).max(1)).take(dump) {
        show(i, j);
    }
    println!("--- false matches");
    let fps: Vec<_> = result.pairs.iter().filter(|p| !truth.same(p.0, p.1) && p.2 as f64 >= tw).collect();
    let mut fp_counts = std::collections::BTreeMap::<String, u64>::new();
    for p in &fps {
        let e = m.explain(p.0, p.1);
        let key: Vec<String> = e.fields.iter().map(|f| f.level.to_string()).collect();
        *fp_counts.entry(key.join(",")).or_default() += 1;
    }
    let mut fc: Vec<_> = fp_counts.into_iter().collect();
    fc.sort_by_key(|b| std::cmp::Reverse(b.1));
    println!("{} false pairs above threshold; patterns:", fps.len());
    for (p, c) in fc.iter().take(15) {
        println!("  {c:>6} {p}");
    }
    for p in fps.iter().step_by((fps.len() / dump).max(1)).take(dump) {
        show(p.0, p.1);
    }
}

/// The best pairwise F1 (pairs above the threshold, before clustering) that any decision
/// could reach on the evidence the model extracts: candidate pairs are grouped into cells by
/// their comparison levels and their weight (half-bit bands), and the cells are taken in the
/// order of their true share. Cross-fitted, so that small cells do not score by luck: the
/// order is read from one half of the pairs and applied to the other, and the two halves'
/// figures are averaged; a cell's share is shrunk towards the model's own prediction, so a
/// cell of a few pairs keeps about the model's place. What the oracle cannot find needs
/// evidence the comparison does not extract (or the records do not hold); pairs blocking
/// never proposed count as missed.
fn oracle(m: &dancu_matching::Matcher<'_>, pairs: &[(u32, u32, f32)], truth: &Truth, tw: f64) {
    type Cells = std::collections::HashMap<(String, i64), [(u64, u64, f64); 2]>;
    let mut cells = Cells::new();
    let (mut model_tp, mut model_p) = (0u64, 0u64);
    for &(i, j, w) in pairs {
        let t = truth.same(i, j) as u64;
        if w as f64 >= tw {
            model_p += 1;
            model_tp += t;
        }
        // Far below the threshold no cell holds enough true pairs to be taken.
        if (w as f64) < tw - 16.0 {
            continue;
        }
        let levels: Vec<&str> = m.explain(i, j).fields.iter().map(|f| f.level).collect();
        // By a hash of the pair: record numbers of one person's rows follow a pattern.
        let half = (dancu_matching::scoring::SplitMix((i as u64) << 32 | j as u64).next_u64() >> 63) as usize;
        let c = cells.entry((levels.join(","), (w as f64 * 2.0).floor() as i64)).or_default();
        c[half].0 += 1;
        c[half].1 += t;
        c[half].2 += m.model.probability(w as f64);
    }
    let f1 = |tp: u64, p: u64, t: f64| 2.0 * tp as f64 / (p as f64 + t);
    const SHRINK: f64 = 10.0;
    let mut best = [0.0f64; 2];
    for (learn, apply) in [(0, 1), (1, 0)] {
        // A cell's true share in the learning half, shrunk towards the model's prediction
        // (the mean over both halves: no labels) by SHRINK pairs' worth; a cell the learning
        // half lacks keeps the model's prediction.
        let share = |c: &[(u64, u64, f64); 2]| {
            let predicted = (c[0].2 + c[1].2) / (c[0].0 + c[1].0) as f64;
            (c[learn].1 as f64 + predicted * SHRINK) / (c[learn].0 as f64 + SHRINK)
        };
        let mut order: Vec<&[(u64, u64, f64); 2]> = cells.values().collect();
        // Higher share first; ties in a fixed order.
        order.sort_by(|a, b| share(b).total_cmp(&share(a)).then(b[learn].0.cmp(&a[learn].0)));
        let (mut tp, mut p) = (0u64, 0u64);
        for c in order {
            tp += c[apply].1;
            p += c[apply].0;
            best[apply] = best[apply].max(f1(tp, p, truth.true_pairs as f64 / 2.0));
        }
    }
    // True pairs blocking never proposed, and those of them the model would weigh above the
    // threshold: what better blocking alone could add.
    let (mut unblocked, mut above) = (0u64, 0u64);
    for (i, j) in truth.pairs() {
        if pairs.binary_search_by_key(&(i, j), |p| (p.0, p.1)).is_err() {
            unblocked += 1;
            above += (m.weight(i, j) >= tw) as u64;
        }
    }
    println!(
        "oracle on the model's evidence: pairwise F1 {:.4} (halves {:.4} / {:.4}); the model's own pairwise F1 before clustering {:.4}; {unblocked} true pairs never compared, {above} of them above the threshold if they were",
        (best[0] + best[1]) / 2.0,
        best[0],
        best[1],
        f1(model_tp, model_p, truth.true_pairs as f64)
    );
}

/// The raw CSV line of record `i` (line i + 2: the header is line 1).
fn raw(path: &std::path::Path, i: u32) -> String {
    use std::io::BufRead;
    let f = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    f.lines().nth(i as usize + 1).map(|l| l.unwrap()).unwrap_or_default()
}

/// An upper bound on what any method can find: true pairs whose only positive evidence is
/// the name (every other field missing or disagreeing). Among them, those whose full name
/// (its words, in any order) is also carried by a record of another person cannot be told
/// apart from that namesake by anything in the two records.
fn evidence_bound(m: &dancu_matching::Matcher<'_>, ds: &Dataset, truth: &Truth, labels: &[u32]) {
    let key = |i: u32| {
        let mut w: Vec<u32> = ds.records[i as usize].name_tokens().to_vec();
        w.sort_unstable();
        w
    };
    // Persons per full-name key (two persons are enough).
    let mut persons: std::collections::HashMap<Vec<u32>, (u32, bool)> = std::collections::HashMap::new();
    for i in 0..ds.len() as u32 {
        let p = truth.person[i as usize];
        let e = persons.entry(key(i)).or_insert((p, false));
        if e.0 != p {
            e.1 = true;
        }
    }
    let names: Vec<String> = m.model.fields.iter().map(|f| f.name(&m.cfg.categories)).collect();
    let is_name = |n: &str| matches!(n, "family_name" | "given_name" | "middle_name");
    let (mut total, mut name_only, mut shared, mut name_only_found, mut found) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut weak, mut weak_found) = (0u64, 0u64);
    for (i, j) in truth.pairs() {
        total += 1;
        let e = m.explain(i, j);
        let same = labels[i as usize] == labels[j as usize];
        found += same as u64;
        let other: f64 = e
            .fields
            .iter()
            .zip(&names)
            .filter(|(f, n)| !is_name(n) && f.weight > 0.0)
            .map(|(f, _)| f.weight)
            .sum();
        if other < 7.0 {
            weak += 1;
            weak_found += same as u64;
        }
        if other > 0.0 {
            continue;
        }
        name_only += 1;
        name_only_found += same as u64;
        if key(i) == key(j) && persons[&key(i)].1 || key(i) != key(j) {
            shared += 1;
        }
    }
    let t = total.max(1) as f64;
    println!(
        "evidence bound: {total} true pairs; {name_only} ({:.4}) carry no evidence beyond the name ({name_only_found} of them found); \
         {shared} ({:.4}) of those have a name also carried by another person or differing names; recall found {:.4}",
        name_only as f64 / t,
        shared as f64 / t,
        found as f64 / t
    );
    println!(
        "  {weak} ({:.4}) carry less than 7 bits of evidence beyond the name (sex, province, a partial date…; {weak_found} of them found)",
        weak as f64 / t
    );
}
