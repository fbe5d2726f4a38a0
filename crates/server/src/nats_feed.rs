//! Publication of the change feed to NATS JetStream (issue 15, part 3). Each event goes to
//! every partner entitled to it (the `feed` operation, its kinds and units), on the subject
//! `<prefix>.<client_id>.<kind>` (e.g. `dancu.feed.bhxh.citizen.deceased`) with the payload
//! cut to that partner's fields, so NATS permissions per partner (`<prefix>.<client_id>.>`)
//! carry the entitlement. Headers: `Nats-Msg-Id` = `<client_id>:<event id>` (JetStream drops
//! a copy published again within its duplicate window, so two servers publishing, or a
//! restart, never store an event twice) and `Dancu-Event-Id` = the feed position.
//!
//! The publisher keeps no cursor of its own: at start it reads the stream's last message
//! and resumes after its event (that event is published again; the de-duplication drops
//! the copies). Events are published in feed order and acknowledged before the next batch,
//! so each person's order holds in the stream. Every batch is audited per partner.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use dancu_store::partners::{Operation, Partner};

use crate::api::feed::{FeedEvent, SEQUENCE_BATCH};
use crate::AppState;

/// Where the feed is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsFeedConfig {
    /// `nats://host:4222`.
    pub url: String,
    /// The JetStream stream (created if missing) capturing `<prefix>.>`.
    pub stream: String,
    pub prefix: String,
}

/// Events read per batch.
const BATCH: u32 = 2_000;

/// Starts the publisher; it runs until the task is aborted, reconnecting after failures.
pub fn spawn(state: AppState, c: NatsFeedConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pause = Duration::from_millis(200);
        // Kept across reconnections: the stream's last message names the resume point only
        // at start (after a failure here, a later event of the failed batch may be stored
        // while an earlier one is not; resuming from memory publishes the batch again).
        let mut after = None;
        loop {
            match run(&state, &c, &mut after).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, url = %c.url, stream = %c.stream, "feed publication to NATS failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
            }
        }
    })
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The stream's last event id (0 when empty).
async fn last_published(stream: &mut jetstream::stream::Stream) -> Result<i64, BoxError> {
    let last = stream.info().await?.state.last_sequence;
    if last == 0 {
        return Ok(0);
    }
    let m = stream.get_raw_message(last).await?;
    let id = m.headers.get("Dancu-Event-Id").map(|v| v.as_str().to_string()).unwrap_or_default();
    Ok(id.parse().unwrap_or(0))
}

async fn run(s: &AppState, c: &NatsFeedConfig, resume: &mut Option<i64>) -> Result<(), BoxError> {
    let client = async_nats::ConnectOptions::new()
        .name("dancu change feed")
        .connection_timeout(Duration::from_secs(5))
        .connect(&c.url)
        .await?;
    let js = jetstream::new(client);
    let mut stream = js
        .get_or_create_stream(jetstream::stream::Config {
            name: c.stream.clone(),
            subjects: vec![format!("{}.>", c.prefix)],
            ..Default::default()
        })
        .await?;
    let mut after = match *resume {
        Some(a) => a,
        None => last_published(&mut stream).await?.saturating_sub(1),
    };
    *resume = Some(after);
    tracing::info!(url = %c.url, stream = %c.stream, after, "publishing the change feed to NATS JetStream");
    let mut partners: Vec<Arc<Partner>> = Vec::new();
    let mut partners_read = None::<std::time::Instant>;
    loop {
        if partners_read.is_none_or(|t| t.elapsed() > Duration::from_secs(2)) {
            let all = s.registry.partners(&dancu_store::registry::Access::system("nats", "")).await?;
            partners =
                all.into_iter().filter(|p| p.may(Operation::Feed) && !p.suspended).map(Arc::new).collect();
            partners_read = Some(std::time::Instant::now());
        }
        s.registry.feed_sequence(SEQUENCE_BATCH).await?;
        let (batch, next) = s.registry.feed_fan_out(&partners, after, BATCH).await?;
        if next == after {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let mut acks = Vec::with_capacity(batch.len());
        for (i, e) in &batch {
            let p = &partners[*i];
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(
                async_nats::header::NATS_MESSAGE_ID,
                format!("{}:{}", p.client_id, e.position).as_str(),
            );
            headers.insert("Dancu-Event-Id", e.position.to_string().as_str());
            let subject = format!("{}.{}.{}", c.prefix, p.client_id, e.kind.code());
            let body = serde_json::to_vec(&FeedEvent::from(e.clone()))?;
            acks.push(js.publish_with_headers(subject, headers, body.into()).await?);
        }
        for ack in acks {
            ack.await?;
        }
        for (i, p) in partners.iter().enumerate() {
            let mine: Vec<_> = batch.iter().filter(|(j, _)| *j == i).map(|(_, e)| e).collect();
            s.registry.feed_published(&p.client_id, &mine).await?;
        }
        after = next;
        *resume = Some(after);
    }
}
