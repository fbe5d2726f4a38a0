//! Measures the due-for-renewal list (`Store::cards_due_for_renewal`) at scale.
//!
//! ```text
//! cargo run --release -p dancu-store --example due_bench -- URL [PEOPLE] [--runs N] [--within DAYS]
//! ```
//!
//! Fills a fresh database with PEOPLE (default 1,000,000) synthetic citizens through
//! `import_batch` (the same rows as `import_bench`) and one card each through
//! `import_cards` (issue dates spread over 2016–2026, never before birth), then times the
//! list for one province and one commune: a page of 50 with its total count, on today's
//! date with a look-ahead of `--within` days (default 60), median of `--runs` (default 5)
//! after one warm-up.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use dancu_domain::admin_units;
use dancu_store::{Change, ImportCard, ImportRow, Scope};

mod synth;
use synth::*;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut total: u64 = 1_000_000;
    let mut runs = 5usize;
    let mut within = 60u32;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|s| s.parse().ok()).expect("--runs N"),
            "--within" => within = args.next().and_then(|s| s.parse().ok()).expect("--within DAYS"),
            _ if url.is_none() => url = Some(a),
            _ => total = a.replace('_', "").parse().expect("PEOPLE"),
        }
    }
    let url = url.expect("usage: due_bench URL [PEOPLE] [--runs N] [--within DAYS]");
    let store =
        dancu_store::open(&url, dancu_store::audit_chain::AuditKey::generate()).await.expect("open store");
    let change = Change {
        actor: "system:bench".into(),
        reason: "due-list benchmark".into(),
        at: dancu_store::registry::now(),
    };
    let synth = Synth::new();
    let batch = 20_000u64;

    let t = Instant::now();
    let deferred = store.begin_import(total).await.expect("begin import");
    let mut start = 0;
    while start < total {
        let end = (start + batch).min(total);
        let rows: Vec<ImportRow> = (start..end).map(|i| synth.row(i)).collect();
        store.import_batch(&rows, &change).await.expect("import batch");
        start = end;
    }
    if deferred {
        store.finish_import().await.expect("finish import");
    }
    let citizens_s = t.elapsed().as_secs_f64();

    let first = NaiveDate::from_ymd_opt(2016, 1, 1).unwrap();
    let t = Instant::now();
    let mut start = 0;
    while start < total {
        let end = (start + batch).min(total);
        let cards: Vec<ImportCard> = (start..end)
            .map(|i| {
                let row = synth.row(i);
                let birth = row.citizen.birth_date.earliest();
                let h = (i * 2_246_822_519) >> 5;
                let issue = (first + chrono::Duration::days((h % 3800) as i64)).max(birth);
                ImportCard { personal_id: row.citizen.personal_id, issue_date: issue, unit: "bench".into() }
            })
            .collect();
        store.import_cards(&cards, &change).await.expect("import cards");
        start = end;
    }
    let cards_s = t.elapsed().as_secs_f64();

    // The province and commune of the first synthetic person.
    let unit = synth.row(0).citizen.permanent.unwrap().unit;
    let commune = unit.code().to_string();
    let u = admin_units();
    let province = u
        .provinces_2025
        .iter()
        .find(|p| u.communes_of_province_2025(&p.code).contains(&commune))
        .map(|p| p.code.clone())
        .expect("province of the commune");
    let on = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let mut line = format!(
        "backend={} people={total} cards={total} citizens_s={citizens_s:.1} cards_s={cards_s:.1} on={on} within_days={within}",
        store.backend()
    );
    for (name, scope) in
        [("province", Scope::Province(province.clone())), ("commune", Scope::Commune(commune.clone()))]
    {
        let warm = store.cards_due_for_renewal(&scope, on, within, 50, 0).await.expect("due list");
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let p = store.cards_due_for_renewal(&scope, on, within, 50, 0).await.expect("due list");
            times.push(t.elapsed());
            assert_eq!(p.total, warm.total);
        }
        line.push_str(&format!(
            " {name}={scope} {name}_total={} {name}_page={} {name}_median_ms={:.2}",
            warm.total,
            warm.items.len(),
            median(times).as_secs_f64() * 1000.0
        ));
    }
    println!("{line}");
}
