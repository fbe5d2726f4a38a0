//! Measures `Store::import_batch` throughput.
//!
//! ```text
//! cargo run --release -p dancu-store --example import_bench -- URL [ROWS] [--batch N] [--csv FILE]
//! ```
//!
//! Without `--csv` it synthesises ROWS valid records (default 1,000,000): distinct personal
//! IDs composed from the 63 legacy province codes, birth years, both sexes and the serial
//! permutation; names from a fixed list; every 2025 commune; households of four. With
//! `--csv` it reads a file in the `dancu gen` format (header row, `CSV_COLUMNS` order)
//! instead. Timed: `begin_import` (unless `--no-defer`), every `import_batch`, and
//! `finish_import` (the index rebuild); building the rows is reported apart.

use std::time::{Duration, Instant};

use dancu_domain::citizen::{CitizenDraft, CSV_COLUMNS};
use dancu_domain::Relation;
use dancu_store::{Change, ImportRow};

mod synth;
use synth::*;

fn read_csv(path: &str) -> Vec<ImportRow> {
    let today = chrono::Utc::now().date_naive();
    let mut r = csv::ReaderBuilder::new().has_headers(true).from_path(path).expect("open CSV");
    let mut rows = Vec::new();
    let mut bad = 0u64;
    let rel_col = CSV_COLUMNS.iter().position(|c| *c == "relation_to_head").unwrap();
    for rec in r.records() {
        let rec = rec.expect("CSV record");
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let draft = CitizenDraft::from_columns(rec.iter());
        let Ok(citizen) = draft.validate(today) else {
            bad += 1;
            continue;
        };
        let no = rec.get(rel_col - 1).unwrap_or("").trim();
        let household = if no.is_empty() {
            None
        } else {
            match Relation::parse(rec.get(rel_col).unwrap_or("")) {
                Ok(rel) => Some((no.to_string(), rel)),
                Err(_) => {
                    bad += 1;
                    continue;
                }
            }
        };
        rows.push(ImportRow { line, citizen, household });
    }
    if bad > 0 {
        eprintln!("{bad} invalid CSV rows left out");
    }
    rows
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut total: u64 = 1_000_000;
    let mut batch: usize = 20_000;
    let mut csv_path = None;
    let mut defer = true;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--batch" => batch = args.next().and_then(|s| s.parse().ok()).expect("--batch N"),
            "--csv" => csv_path = Some(args.next().expect("--csv FILE")),
            "--no-defer" => defer = false,
            _ if url.is_none() => url = Some(a),
            _ => total = a.replace('_', "").parse().expect("ROWS"),
        }
    }
    let url = url.expect("usage: import_bench URL [ROWS] [--batch N] [--csv FILE]");
    let store =
        dancu_store::open(&url, dancu_store::audit_chain::AuditKey::generate()).await.expect("open store");
    let change = Change {
        actor: "system:bench".into(),
        reason: "import benchmark".into(),
        at: dancu_store::registry::now(),
    };

    let wall = Instant::now();
    let mut build = Duration::ZERO;
    let mut import = Duration::ZERO;
    let (mut inserted, mut skipped, mut rejected) = (0u64, 0u64, 0usize);
    let csv_rows = csv_path.as_deref().map(|p| {
        let t = Instant::now();
        let rows = read_csv(p);
        build += t.elapsed();
        total = rows.len() as u64;
        rows
    });
    let synth = Synth::new();
    let t = Instant::now();
    let deferred = defer && store.begin_import(total).await.expect("begin import");
    import += t.elapsed();
    let mut start = 0u64;
    while start < total {
        let end = (start + batch as u64).min(total);
        let t = Instant::now();
        let owned: Vec<ImportRow>;
        let rows: &[ImportRow] = match &csv_rows {
            Some(all) => &all[start as usize..end as usize],
            None => {
                owned = (start..end).map(|i| synth.row(i)).collect();
                &owned
            }
        };
        build += t.elapsed();
        let t = Instant::now();
        let out = store.import_batch(rows, &change).await.expect("import batch");
        import += t.elapsed();
        inserted += out.inserted;
        skipped += out.skipped_existing;
        rejected += out.rejected.len();
        start = end;
    }
    let t = Instant::now();
    store.finish_import().await.expect("finish import");
    let finish = t.elapsed();
    import += finish;
    let t = Instant::now();
    let count = store.count_citizens().await.expect("count");
    let count_time = t.elapsed();
    println!(
        "backend={} rows={total} batch={batch} inserted={inserted} skipped={skipped} rejected={rejected} \
         deferred_indexes={deferred} import_s={:.2} (index rebuild {:.2}s) rows_per_s={:.0} build_s={:.2} \
         wall_s={:.2} stored={count} (count {:.2}s)",
        store.backend(),
        import.as_secs_f64(),
        finish.as_secs_f64(),
        total as f64 / import.as_secs_f64(),
        build.as_secs_f64(),
        wall.elapsed().as_secs_f64(),
        count_time.as_secs_f64(),
    );
}
