//! The change feed's audited paths (issue 15, part 3): a partner's pull-feed read (its
//! `feed` entitlement: kinds, units, fields) and the sequencer the servers run. Each read
//! that returns events is one audit entry listing the people in it, filed under each of
//! them, as partner access (`partner.feed`).

use dancu_domain::Violation;

use super::{now, Access, Registry, RegistryError, Result};
use crate::feed::{self, Event};
use crate::model::{Role, Scope, Timestamp};
use crate::partners::{self, Operation, Partner};
use crate::webhooks::{self, Delivery, Webhook};
use crate::StoreError;

/// Events scanned at most per read for one partner (a partner entitled to a few communes
/// skips the rest of the nation's events this many at a time; the cursor still advances).
pub const MAX_SCAN: u32 = 50_000;
/// Events read from the store at a time while scanning.
const CHUNK: u32 = 2_000;

/// A feed read: the events the partner may see (payloads cut to its fields) and the cursor
/// to resume after (the last position scanned, which may be past the last event returned).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    pub events: Vec<Event>,
    pub next: i64,
}

impl Registry {
    /// Gives committed events their feed positions (no personal data is read); whether
    /// there was anything to do.
    pub async fn feed_sequence(&self, max: u32) -> Result<bool> {
        Ok(feed::sequence(self.store.as_ref(), max).await?)
    }

    /// The newest feed position (a number, no personal data).
    pub async fn feed_head(&self) -> Result<i64> {
        Ok(feed::head(self.store.as_ref()).await?)
    }

    /// Up to `limit` events after `after` that the partner is entitled to, reading at most
    /// [`MAX_SCAN`] events. A suspended partner, or one without the `feed` operation, is
    /// refused (audited as denied); a read that returns events is audited with their IDs.
    pub async fn partner_feed(&self, p: &Partner, purpose: &str, after: i64, limit: u32) -> Result<FeedPage> {
        let a = self.partner_gate(p, Operation::Feed, purpose).await?;
        let page = self.feed_page(p, after, limit, true).await?;
        if !page.events.is_empty() {
            self.audit_feed(&a, "partner.feed", after, &page.events).await?;
        }
        Ok(page)
    }

    /// The events of a page for `p`, without the gate or the audit (the webhook dispatcher
    /// audits what it delivers, per delivery); without their payloads (left empty) unless
    /// `payloads` (the hand-over needs only positions and people).
    pub(crate) async fn feed_page(
        &self,
        p: &Partner,
        after: i64,
        limit: u32,
        payloads: bool,
    ) -> Result<FeedPage> {
        let store = self.reads.as_ref();
        let limit = limit.max(1);
        let mut next = after;
        let mut events = Vec::with_capacity(limit.min(CHUNK) as usize);
        let mut scanned = 0u32;
        while scanned < MAX_SCAN && events.len() < limit as usize {
            // No more than the page still needs (each event returned is parsed), but at
            // least a few hundred: a partner that sees few events would read in crumbs.
            let needed = (limit as usize - events.len()).max(256) as u32;
            let want = CHUNK.min(MAX_SCAN - scanned).min(needed);
            let (batch, read, last) = if payloads {
                feed::read_for(store, p, next, want).await?
            } else {
                let heads = feed::read_heads(store, next, want).await?;
                let (n, last) = (heads.len(), heads.last().map_or(next, |e| e.position));
                (heads.into_iter().filter(|e| e.visible_to(p)).collect(), n, last)
            };
            if read == 0 {
                break;
            }
            scanned += read as u32;
            let room = limit as usize - events.len();
            if batch.len() > room {
                // The page is full at its `room`-th event: the cursor stops there.
                next = batch[room - 1].position;
                events.extend(batch.into_iter().take(room));
                break;
            }
            next = last;
            events.extend(batch);
            // A short read reached the newest position: no need to ask again.
            if read < want as usize {
                break;
            }
        }
        Ok(FeedPage { events, next })
    }

    /// One entry for a read or delivery of events, listing the people in it.
    pub(crate) async fn audit_feed(
        &self,
        a: &Access,
        action: &str,
        after: i64,
        events: &[Event],
    ) -> Result<()> {
        let mut ids: Vec<&str> = events.iter().map(|e| e.personal_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        self.log_rows(a, action, &format!("feed:{after}"), ids).await
    }
}

/// The purpose recorded for webhook deliveries.
pub const WEBHOOK_PURPOSE: &str = "giao sự kiện thay đổi qua webhook";

/// The access a delivery to a partner's subscription is audited under.
fn delivery_access(client_id: &str) -> Access {
    Access {
        actor: partners::partner_actor(client_id),
        role: Role::Officer,
        scope: Scope::Nation,
        purpose: WEBHOOK_PURPOSE.into(),
    }
}

/// A subscription's URL: `http://` or `https://`, at most 500 characters, no spaces or
/// control characters.
fn check_url(url: &str) -> Result<()> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 500
        && url.split_once("://").is_some_and(|(_, rest)| !rest.is_empty())
        && !url.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(RegistryError::Store(StoreError::Invalid(vec![Violation::new(
            "url",
            "webhook.url",
            "Địa chỉ phải bắt đầu bằng https:// hoặc http://, tối đa 500 ký tự, không có khoảng trắng",
            "the URL must start with https:// or http://, have at most 500 characters and no spaces",
        )])))
    }
}

fn check_secret(secret: &str) -> Result<()> {
    if (16..=200).contains(&secret.len()) && secret.chars().all(|c| c.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(RegistryError::Store(StoreError::Invalid(vec![Violation::new(
            "secret",
            "webhook.secret",
            "Khoá ký phải có 16–200 ký tự ASCII in được",
            "the signing secret must have 16–200 printable ASCII characters",
        )])))
    }
}

impl Registry {
    /// Adds a subscription for a partner (administrators; audited): deliveries start after
    /// feed position `from`, or after the newest event when not given.
    pub async fn webhook_add(
        &self,
        a: &Access,
        client_id: &str,
        url: &str,
        secret: &str,
        from: Option<i64>,
    ) -> Result<Webhook> {
        let subject = partners::partner_actor(client_id);
        if let Err(e) = a.require_admin("quản lý webhook của đối tác", "manage partners' webhooks") {
            return self.deny(a, "partner.webhook_add", &subject, e).await;
        }
        check_url(url)?;
        check_secret(secret)?;
        let store = self.store.as_ref();
        if partners::get_partner(store, client_id).await?.is_none() {
            return Err(RegistryError::NotFound);
        }
        let from = match from {
            Some(f) => f.max(0),
            None => feed::head(store).await?,
        };
        let write = webhooks::create(store, client_id, url, secret, from, &a.actor, now());
        self.audited_write(a, "partner.webhook_add", &subject, write).await
    }

    /// Every subscription (of one partner when given; no personal data).
    pub async fn webhooks(&self, _a: &Access, client_id: Option<&str>) -> Result<Vec<Webhook>> {
        Ok(webhooks::list(self.store.as_ref(), client_id).await?)
    }

    /// Waiting and dead-lettered deliveries per subscription (figures).
    pub async fn webhook_backlog(&self) -> Result<Vec<(i64, i64, i64)>> {
        Ok(webhooks::backlog(self.store.as_ref()).await?)
    }

    /// A subscription's dead letters (position, person, attempts, last error): personal IDs,
    /// so audited as a listing for administrators.
    pub async fn webhook_dead_letters(&self, a: &Access, id: i64, limit: u32) -> Result<Vec<Delivery>> {
        let what = format!("webhook:{id}:dead");
        if let Err(e) = a.require_admin("xem thư lỗi của webhook", "see webhook dead letters") {
            return self.deny(a, "partner.webhook_dead_letters", &what, e).await;
        }
        let dead = webhooks::deliveries(self.store.as_ref(), id, true, limit).await?;
        let mut ids: Vec<&str> = dead.iter().map(|d| d.personal_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        self.log_rows(a, "partner.webhook_dead_letters", &what, ids).await?;
        Ok(dead)
    }

    /// Pauses or resumes a subscription (administrators; audited).
    pub async fn webhook_set_active(&self, a: &Access, id: i64, active: bool) -> Result<()> {
        let action = if active { "partner.webhook_resume" } else { "partner.webhook_pause" };
        let subject = format!("webhook:{id}");
        if let Err(e) = a.require_admin("quản lý webhook của đối tác", "manage partners' webhooks") {
            return self.deny(a, action, &subject, e).await;
        }
        let write = webhooks::set_active(self.store.as_ref(), id, active, &a.actor, now());
        match self.audited_write(a, action, &subject, write).await {
            Err(RegistryError::Store(StoreError::NotFound)) => Err(RegistryError::NotFound),
            other => other,
        }
    }

    /// Replays a subscription from feed position `from` (administrators; audited).
    pub async fn webhook_replay(&self, a: &Access, id: i64, from: i64) -> Result<()> {
        let subject = format!("webhook:{id}");
        if let Err(e) = a.require_admin("phát lại webhook", "replay webhooks") {
            return self.deny(a, "partner.webhook_replay", &subject, e).await;
        }
        let write = webhooks::replay_from(self.store.as_ref(), id, from.max(0), &a.actor, now());
        match self.audited_write(a, "partner.webhook_replay", &subject, write).await {
            Err(RegistryError::Store(StoreError::NotFound)) => Err(RegistryError::NotFound),
            other => other,
        }
    }

    /// Puts a subscription's dead letters back in the queue (administrators; audited).
    pub async fn webhook_replay_dead(&self, a: &Access, id: i64) -> Result<()> {
        let subject = format!("webhook:{id}");
        if let Err(e) = a.require_admin("phát lại thư lỗi", "replay dead letters") {
            return self.deny(a, "partner.webhook_replay_dead", &subject, e).await;
        }
        let write = webhooks::replay_dead(self.store.as_ref(), id, now());
        self.audited_write(a, "partner.webhook_replay_dead", &subject, write).await
    }

    /// The dispatcher's hand-over: the partner's next events after the subscription's
    /// cursor become deliveries (a suspended partner, or one without `feed`, gets none).
    /// Returns how many; 0 too when another server moved the cursor first.
    pub async fn webhook_hand_over(&self, w: &Webhook, p: &Partner, max: u32) -> Result<usize> {
        if p.suspended || !p.may(Operation::Feed) || !w.active {
            return Ok(0);
        }
        let page = self.feed_page(p, w.cursor, max, false).await?;
        if page.next == w.cursor {
            return Ok(0);
        }
        let events: Vec<(i64, String)> =
            page.events.iter().map(|e| (e.position, e.personal_id.clone())).collect();
        match webhooks::hand_over(self.store.as_ref(), w.id, w.cursor, page.next, &events, now()).await {
            Ok(()) => Ok(events.len()),
            Err(StoreError::Conflict(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Claims deliveries due now under a lease until `until`.
    pub async fn webhook_claim(&self, token: &str, until: Timestamp, limit: u32) -> Result<Vec<Delivery>> {
        Ok(webhooks::claim(self.store.as_ref(), token, now(), until, limit).await?)
    }

    /// The events at these feed positions (those claimed in a round), by position, as
    /// stored: [`delivery_event`] cuts each to a subscriber's entitlement.
    pub async fn webhook_events(&self, positions: &[i64]) -> Result<std::collections::HashMap<i64, Event>> {
        let mut sorted = positions.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let found = feed::read_at(self.store.as_ref(), &sorted).await?;
        Ok(found.into_iter().map(|e| (e.position, e)).collect())
    }

    /// Records deliveries the receiver took: gone from the queue (one transaction), and one
    /// audit entry for the partner listing the people whose events it received.
    pub async fn webhook_delivered(&self, client_id: &str, done: &[Delivery], token: &str) -> Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<&str> = done.iter().map(|d| d.personal_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let first = done.iter().map(|d| d.position).min().unwrap_or(0);
        let a = delivery_access(client_id);
        self.log_rows(&a, "partner.webhook", &format!("feed:{}", first - 1), ids).await?;
        let keys: Vec<(i64, i64)> = done.iter().map(|d| (d.webhook_id, d.position)).collect();
        Ok(webhooks::delivered(self.store.as_ref(), &keys, token).await?)
    }

    /// A failed attempt: retried at `next_at`, or dead-lettered.
    pub async fn webhook_failed(
        &self,
        d: &Delivery,
        token: &str,
        next_at: Timestamp,
        dead: bool,
        error: &str,
    ) -> Result<()> {
        Ok(webhooks::failed(self.store.as_ref(), d, token, next_at, dead, error).await?)
    }

    /// Deliveries whose events the partner may no longer see: dropped without sending.
    pub async fn webhook_drop(&self, dropped: &[Delivery], token: &str) -> Result<()> {
        let keys: Vec<(i64, i64)> = dropped.iter().map(|d| (d.webhook_id, d.position)).collect();
        Ok(webhooks::delivered(self.store.as_ref(), &keys, token).await?)
    }
}

/// The event a delivery carries, cut to the partner's fields (`None` if the partner may no
/// longer see it: its entitlement changed since the hand-over, or it was suspended).
pub fn delivery_event(p: &Partner, e: &Event) -> Option<Event> {
    (e.visible_to(p) && !p.suspended && p.may(Operation::Feed))
        .then(|| Event { payload: e.payload_for(p), ..e.clone() })
}

/// The purpose recorded for publication to NATS JetStream.
pub const NATS_PURPOSE: &str = "phát sự kiện thay đổi qua NATS JetStream";

impl Registry {
    /// The publisher's batch: up to `limit` events after `after`, each with the partners
    /// (indexes into `partners`) that may see it and its payload cut to each one's fields;
    /// and the last position read. Partners suspended or without `feed` get nothing.
    pub async fn feed_fan_out(
        &self,
        partners: &[std::sync::Arc<Partner>],
        after: i64,
        limit: u32,
    ) -> Result<(Vec<(usize, Event)>, i64)> {
        let events = feed::read(self.store.as_ref(), after, limit).await?;
        let next = events.last().map_or(after, |e| e.position);
        let mut out = Vec::new();
        for e in &events {
            for (i, p) in partners.iter().enumerate() {
                if !p.suspended && p.may(Operation::Feed) && e.visible_to(p) {
                    out.push((i, Event { payload: e.payload_for(p), ..e.clone() }));
                }
            }
        }
        Ok((out, next))
    }

    /// One audit entry for events published to a partner's subjects, listing the people.
    pub async fn feed_published(&self, client_id: &str, events: &[&Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let a = Access {
            actor: partners::partner_actor(client_id),
            role: Role::Officer,
            scope: Scope::Nation,
            purpose: NATS_PURPOSE.into(),
        };
        let mut ids: Vec<&str> = events.iter().map(|e| e.personal_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let first = events.iter().map(|e| e.position).min().unwrap_or(1);
        self.log_rows(&a, "partner.nats", &format!("feed:{}", first - 1), ids).await
    }
}
