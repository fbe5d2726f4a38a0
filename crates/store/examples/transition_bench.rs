//! Measures card stage transitions through the audited registry (scope check, audit entry
//! committed before the answer, the versioned move with its history row, and at hand-over
//! the card issued).
//!
//! ```text
//! cargo run --release -p dancu-store --example transition_bench -- URL [APPLICATIONS] [--concurrency C] [--raw]
//! ```
//!
//! Fills a fresh database with APPLICATIONS (default 20,000) synthetic citizens and one card
//! application each at intake, then moves every application intake → sent to production →
//! card received → handed over, C (default 32) at a time, as C officers would. Prints the
//! transitions per second of each stage and of all three together.

use std::sync::Arc;
use std::time::Instant;

use dancu_identity::{ApplicationKind, HandoverMethod, Stage};
use dancu_store::registry::{Access, AuditSink, Registry};
use dancu_store::{Change, NewCardApplication, Scope};

mod synth;
use synth::*;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut total: u64 = 20_000;
    let mut concurrency = 32usize;
    // `--raw`: call the store directly, without the registry's scope check and audit.
    let mut raw = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--raw" => raw = true,
            "--concurrency" => {
                concurrency = args.next().and_then(|s| s.parse().ok()).expect("--concurrency C")
            }
            _ if url.is_none() => url = Some(a),
            _ => total = a.replace('_', "").parse().expect("APPLICATIONS"),
        }
    }
    let url = url.expect("usage: transition_bench URL [APPLICATIONS] [--concurrency C]");
    let store =
        dancu_store::open(&url, dancu_store::audit_chain::AuditKey::generate()).await.expect("open store");
    let change = Change {
        actor: "system:bench".into(),
        reason: "transition benchmark".into(),
        at: dancu_store::registry::now(),
    };
    let synth = Synth::new();
    fill(store.as_ref(), &synth, total, &change).await;
    let (sink, writer) = AuditSink::start(store.clone(), 256, None);
    let registry = Arc::new(Registry::new(store.clone(), sink));
    let access = Arc::new(Access {
        actor: "officer:bench".into(),
        role: dancu_store::Role::Officer,
        scope: Scope::Nation,
        purpose: "benchmark".into(),
    });

    // Intake (not timed: it is an application, not a transition).
    let mut ids = Vec::with_capacity(total as usize);
    for i in 0..total {
        let n = NewCardApplication {
            personal_id: synth.row(i).citizen.personal_id,
            kind: ApplicationKind::FirstIssue,
            biometrics_captured: true,
            reason: "cấp mới".into(),
            unit: "bench".into(),
        };
        ids.push(store.create_card_application(&n, &change).await.expect("intake").id);
    }
    let ids = Arc::new(ids);

    let mut line =
        format!("backend={} applications={total} concurrency={concurrency} raw={raw}", store.backend());
    let all = Instant::now();
    for (version, to, name) in [
        (1, Stage::SentToProduction, "sent_to_production"),
        (2, Stage::CardReceived, "card_received"),
        (3, Stage::HandedOver { method: HandoverMethod::InPerson }, "handed_over"),
    ] {
        let t = Instant::now();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (registry, access, ids, next, to) =
                (registry.clone(), access.clone(), ids.clone(), next.clone(), to.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&id) = ids.get(i) else { break };
                    registry
                        .transition_card_application(&access, id, &to, None, version)
                        .await
                        .expect("move");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let s = t.elapsed().as_secs_f64();
        line.push_str(&format!(" {name}_per_s={:.0}", total as f64 / s));
    }
    let s = all.elapsed().as_secs_f64();
    line.push_str(&format!(" all_per_s={:.0}", 3.0 * total as f64 / s));
    drop(registry);
    writer.shutdown().await;
    let cards = store.get_cards(&synth.row(0).citizen.personal_id).await.expect("cards");
    assert_eq!(cards.len(), 1, "the hand-over issued the card");
    println!("{line}");
}
