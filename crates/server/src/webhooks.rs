//! The webhook dispatcher (issue 15, part 3): one per server. Each round it numbers
//! committed events (the feed sequencer), hands each active subscription's new events to
//! its delivery queue (filtered by the partner's entitlement), claims due deliveries under
//! a lease (two servers on one PostgreSQL never claim the same one, and a person's later
//! event waits while an earlier one for the same subscription is pending), and POSTs each
//! as JSON signed with HMAC-SHA256:
//!
//! `Dancu-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//!
//! with `Dancu-Event-Id` (the feed position) and `Dancu-Event-Kind`. A 2xx answer is a
//! delivery; anything else (or no answer within the timeout) is retried with exponential
//! back-off and full jitter, and dead-lettered after `max_attempts`. docs/FEED.md.

use std::sync::Arc;
use std::time::Duration;

use dancu_store::feed::Event;
use dancu_store::partners::Partner;
use dancu_store::registry::delivery_event;
use dancu_store::webhooks::{Delivery, Webhook};
use hmac::{KeyInit, Mac};
use rand::Rng;
use tokio::task::JoinSet;

use crate::api::feed::{FeedEvent, SEQUENCE_BATCH};
use crate::AppState;

/// The dispatcher's settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Run a dispatcher in this server.
    pub enabled: bool,
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: u32,
    /// The first retry's delay bound; doubled per attempt up to `max_backoff` (full jitter).
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a claimed delivery is this server's (a crashed server's claims expire).
    pub lease: Duration,
    /// The pause between rounds with nothing to do.
    pub poll: Duration,
    /// How long a receiver may take to answer.
    pub timeout: Duration,
    /// Deliveries in flight at once in one round.
    pub concurrency: usize,
    /// Rounds in flight at once: while one round waits for its last deliveries, another
    /// claims and sends. They claim under different leases, as two servers' dispatchers do.
    pub rounds: usize,
}

impl WebhookConfig {
    /// How long one delivery may take: the receiver's timeout, but at most half the lease,
    /// so that a delivery can start while its lease outlasts it (a short lease would
    /// otherwise never let one start).
    pub fn send_timeout(&self) -> Duration {
        self.timeout.min(self.lease / 2)
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            enabled: false,
            max_attempts: 10,
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(600),
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(200),
            timeout: Duration::from_secs(10),
            concurrency: 32,
            rounds: 2,
        }
    }
}

/// The signature header's value for `body` sent at `t` (unix seconds).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delay before attempt `attempts + 1`: uniform in [0, min(max, base · 2^attempts)].
pub fn backoff(c: &WebhookConfig, attempts: u32) -> Duration {
    let cap = c.base_backoff.saturating_mul(1u32 << attempts.min(20)).min(c.max_backoff);
    let ms = cap.as_millis().max(1) as u64;
    Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
}

/// Starts the dispatcher; it runs until the task is aborted (which ends its rounds too).
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder().timeout(state.config.webhooks.send_timeout()).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhook dispatcher not started: no HTTP client");
                return;
            }
        };
        // `config.rounds` loops of rounds, each claiming under its own leases (two servers'
        // dispatchers work the same way); dropped, with their deliveries, when this task is.
        let mut loops = JoinSet::new();
        for i in 0..state.config.webhooks.rounds.max(1) {
            let (state, client) = (state.clone(), client.clone());
            loops.spawn(async move {
                // Staggered, so that one loop claims while the other is sending.
                tokio::time::sleep(state.config.webhooks.poll / 2 * i as u32).await;
                rounds(&state, &client).await
            });
        }
        while loops.join_next().await.is_some() {}
    })
}

async fn rounds(state: &AppState, client: &reqwest::Client) {
    loop {
        let busy = match round(state, client).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %e, "webhook dispatch round failed; retrying");
                false
            }
        };
        if !busy {
            tokio::time::sleep(state.config.webhooks.poll).await;
        }
    }
}

type Error = dancu_store::registry::RegistryError;

/// Deliveries claimed per round for each one in flight at once: a round's fixed work (the
/// sequencer, the hand-overs, the claim, one transaction for what was delivered, one audit
/// entry per partner) is shared by this many deliveries per slot.
const CLAIMS_PER_SLOT: usize = 64;

/// One round; returns how many deliveries it attempted.
pub async fn round(s: &AppState, client: &reqwest::Client) -> Result<usize, Error> {
    let c = &s.config.webhooks;
    let r = &s.registry;
    r.feed_sequence(SEQUENCE_BATCH).await?;
    let system = dancu_store::registry::Access::system("webhooks", "giao sự kiện qua webhook");
    let hooks = r.webhooks(&system, None).await?;
    if hooks.is_empty() {
        return Ok(0);
    }
    let mut partners: std::collections::HashMap<String, Option<Arc<Partner>>> = Default::default();
    for w in hooks.iter().filter(|w| w.active) {
        if !partners.contains_key(&w.client_id) {
            partners.insert(w.client_id.clone(), r.partner(&w.client_id).await?.map(Arc::new));
        }
        if let Some(Some(p)) = partners.get(&w.client_id) {
            // No more than a round claims: the rest waits in the outbox, cheap to read.
            r.webhook_hand_over(w, p, (c.concurrency * CLAIMS_PER_SLOT) as u32).await?;
        }
    }
    let token = crate::auth::random_token();
    let until = chrono::Utc::now() + c.lease;
    let claimed = r.webhook_claim(&token, until, (c.concurrency * CLAIMS_PER_SLOT) as u32).await?;
    let n = claimed.len();
    let by_id: std::collections::HashMap<i64, Webhook> = hooks.into_iter().map(|w| (w.id, w)).collect();
    // The round's events, read once for every subscriber (one query per 500 positions).
    let positions: Vec<i64> = claimed.iter().map(|d| d.position).collect();
    let events = r.webhook_events(&positions).await?;
    let mut tasks = JoinSet::new();
    let mut done: std::collections::HashMap<String, Vec<Delivery>> = Default::default();
    let mut dropped = Vec::new();
    let mut queue = claimed.into_iter();
    loop {
        while tasks.len() < c.concurrency.max(1) {
            // A delivery starts only while its lease outlasts the receiver's timeout, so
            // another server never claims one this server may still be sending; the rest
            // wait for their lease to expire.
            if chrono::Utc::now() + c.send_timeout() >= until {
                break;
            }
            let Some(d) = queue.next() else { break };
            let Some(w) = by_id.get(&d.webhook_id).cloned() else { continue };
            let Some(Some(p)) = partners.get(&w.client_id).cloned() else { continue };
            let Some(event) = events.get(&d.position).and_then(|e| delivery_event(&p, e)) else {
                dropped.push(d);
                continue;
            };
            let client = client.clone();
            tasks.spawn(async move {
                let res = post(&client, &w, event).await;
                (w, d, res)
            });
        }
        let Some(joined) = tasks.join_next().await else { break };
        let Ok((w, d, res)) = joined else { continue };
        match res {
            Ok(()) => done.entry(w.client_id.clone()).or_default().push(d),
            Err(why) => {
                let attempts = u32::try_from(d.attempts).unwrap_or(u32::MAX).saturating_add(1);
                let dead = attempts >= c.max_attempts;
                let next = chrono::Utc::now() + backoff(c, attempts - 1);
                if dead {
                    tracing::warn!(webhook = w.id, position = d.position, error = %why, "webhook delivery dead-lettered");
                }
                r.webhook_failed(&d, &token, next, dead, &why).await?;
            }
        }
    }
    r.webhook_drop(&dropped, &token).await?;
    for (client_id, delivered) in done {
        r.webhook_delivered(&client_id, &delivered, &token).await?;
    }
    Ok(n)
}

/// POSTs one event; `Err` with the reason unless the receiver answered 2xx.
async fn post(client: &reqwest::Client, w: &Webhook, e: Event) -> Result<(), String> {
    let kind = e.kind.code();
    let id = e.position;
    let body = serde_json::to_vec(&FeedEvent::from(e)).map_err(|e| e.to_string())?;
    let t = chrono::Utc::now().timestamp();
    let r = client
        .post(&w.url)
        .header("content-type", "application/json")
        .header("dancu-signature", signature(&w.secret, t, &body))
        .header("dancu-event-id", id.to_string())
        .header("dancu-event-kind", kind)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", r.status().as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_time_and_body() {
        // RFC 4231-style check against an independent computation with ring.
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"0123456789abcdef0123");
        let tag = ring::hmac::sign(&key, b"1700000000.{\"id\":1}");
        assert_eq!(
            signature("0123456789abcdef0123", 1_700_000_000, b"{\"id\":1}"),
            format!("t=1700000000,v1={}", hex::encode(tag.as_ref()))
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = WebhookConfig {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..Default::default()
        };
        for attempts in 0..30 {
            let cap =
                Duration::from_millis(100).saturating_mul(1 << attempts.min(20)).min(Duration::from_secs(1));
            for _ in 0..50 {
                assert!(backoff(&c, attempts) <= cap);
            }
        }
    }
}
