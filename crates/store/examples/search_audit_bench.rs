//! Measures what per-citizen audit costs a search (issue 10): a search returning a page of
//! 50 citizens through `Registry::search` (one entry for the query and one under each of the
//! 50 citizens, committed together before the answer), against the same search with only
//! the query's entry, as the registry audited searches before. Both run in the same process
//! on the same database, in alternating rounds.
//!
//! ```text
//! cargo run --release -p dancu-store --example search_audit_bench -- URL [CITIZENS] [--searches N] [--concurrency C] [--rounds R]
//! ```
//!
//! Prints searches per second of each mode per round, their medians and the ratio.

use std::sync::Arc;
use std::time::Instant;

use dancu_store::registry::{now, Access, AuditSink, Registry};
use dancu_store::{Change, CitizenQuery, NewAuditEntry, Role, Scope, Store};

mod synth;
use synth::*;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut url, mut total, mut searches, mut concurrency, mut rounds) =
        (None, 20_000u64, 2_000usize, 8usize, 5);
    while let Some(a) = args.next() {
        let mut num = || args.next().and_then(|s| s.parse().ok()).expect("a number");
        match a.as_str() {
            "--searches" => searches = num(),
            "--concurrency" => concurrency = num(),
            "--rounds" => rounds = num(),
            _ if url.is_none() => url = Some(a),
            _ => total = a.replace('_', "").parse().expect("CITIZENS"),
        }
    }
    let url =
        url.expect("usage: search_audit_bench URL [CITIZENS] [--searches N] [--concurrency C] [--rounds R]");
    let store = dancu_store::open(&url, dancu_store::audit_chain::AuditKey::generate()).await.expect("open");
    let change = Change { actor: "system:bench".into(), reason: "search benchmark".into(), at: now() };
    let synth = Synth::new();
    fill(store.as_ref(), &synth, total, &change).await;
    let (sink, writer) = AuditSink::start(store.clone(), 512, None);
    let registry = Arc::new(Registry::new(store.clone(), sink.clone()));
    let access = Arc::new(Access {
        actor: "officer:bench".into(),
        role: Role::Officer,
        scope: Scope::Nation,
        purpose: "benchmark".into(),
    });
    // Pages of 50 from a common family name, at changing offsets.
    let family = dancu_domain::fold_key(&synth.row(0).citizen.name.family);
    let query = move |i: usize| CitizenQuery {
        name_key: Some(family.clone()),
        limit: 50,
        offset: (i % 10) as u64 * 50,
        ..Default::default()
    };
    let check = registry.search(&access, &query(0)).await.expect("search");
    assert_eq!(check.items.len(), 50, "the benchmark needs pages of 50 (more citizens)");
    println!(
        "{} citizens, {} matching the query; {searches} searches per round, {concurrency} at a time",
        total, check.total
    );

    let (mut per_citizen, mut query_only) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for per_row in [true, false] {
            let started = Instant::now();
            let mut tasks = Vec::new();
            for t in 0..concurrency {
                let (registry, access, store, sink, query) =
                    (registry.clone(), access.clone(), store.clone(), sink.clone(), query.clone());
                tasks.push(tokio::spawn(async move {
                    for i in (t..searches).step_by(concurrency) {
                        let q = query(i);
                        if per_row {
                            registry.search(&access, &q).await.expect("search");
                        } else {
                            baseline(store.as_ref(), &sink, &access, &q).await;
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.expect("task");
            }
            let rate = searches as f64 / started.elapsed().as_secs_f64();
            println!(
                "round {round} {}: {rate:.0} searches/s",
                if per_row { "per-citizen audit" } else { "query-only audit" }
            );
            if per_row {
                per_citizen.push(rate)
            } else {
                query_only.push(rate)
            }
        }
    }
    let (a, b) = (median(&mut per_citizen), median(&mut query_only));
    println!(
        "median: per-citizen audit {a:.0}/s, query-only audit {b:.0}/s; time per search ratio {:.2}",
        b / a
    );
    drop(registry);
    drop(sink);
    writer.shutdown().await;
}

/// The search as audited before issue 10: the store's scoped search and one entry for the
/// query, committed before the answer.
async fn baseline(store: &dyn Store, sink: &AuditSink, a: &Access, q: &CitizenQuery) {
    store.search_citizens(q, &a.scope).await.expect("search");
    let e = NewAuditEntry {
        at: now(),
        actor: a.actor.clone(),
        action: "citizen.search".into(),
        subject: format!("name={}", q.name_key.as_deref().unwrap_or_default()),
        purpose: a.purpose.clone(),
        outcome: "ok".into(),
        returned: vec![],
    };
    sink.record(e).await.expect("audit");
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}
