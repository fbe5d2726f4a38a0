//! Webhook subscriptions and their deliveries (issue 15, part 3), shared SQL for both
//! backends. A subscription's `cursor` is the feed position up to which its partner's
//! events were handed to `webhook_deliveries`; the hand-over and the cursor's move are one
//! transaction that fails if another server moved the cursor first. A dispatcher claims
//! deliveries under a lease (a token and an expiry; on PostgreSQL `FOR UPDATE SKIP LOCKED`,
//! so two servers never claim the same row), never a person's later event while an earlier
//! one for the same subscription is pending; it then deletes what was delivered, or sets
//! the next attempt, or dead-letters after the limit. The audited entry points are in
//! `registry/feed.rs`.

use serde::Serialize;

use crate::exec::{OwnedRow, Stmt, Val};
use crate::model::Timestamp;
use crate::rows::RowGet;
use crate::{Result, Store, StoreError};

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    pub id: i64,
    pub client_id: String,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    pub active: bool,
    /// The feed position handed over to deliveries so far.
    pub cursor: i64,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// A delivery claimed, dead-lettered or waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub webhook_id: i64,
    pub position: i64,
    pub personal_id: String,
    pub attempts: i64,
    pub next_at: Timestamp,
    pub dead: bool,
    pub last_error: String,
}

const WEBHOOK_COLUMNS: &str = "id, client_id, url, secret, state, cursor, updated_at, updated_by";

fn webhook_row(r: &OwnedRow) -> Result<Webhook> {
    Ok(Webhook {
        id: r.int(0)?,
        client_id: r.text(1)?,
        url: r.text(2)?,
        secret: r.text(3)?,
        active: r.text(4)? == "active",
        cursor: r.int(5)?,
        updated_at: r.ts(6)?,
        updated_by: r.text(7)?,
    })
}

const DELIVERY_COLUMNS: &str = "webhook_id, position, personal_id, attempts, next_at, state, last_error";

fn delivery_row(r: &OwnedRow) -> Result<Delivery> {
    Ok(Delivery {
        webhook_id: r.int(0)?,
        position: r.int(1)?,
        personal_id: r.text(2)?,
        attempts: r.int(3)?,
        next_at: r.ts(4)?,
        dead: r.text(5)? == "dead",
        last_error: r.text(6)?,
    })
}

/// Adds a subscription whose deliveries start after feed position `from`; returns it.
pub async fn create(
    store: &dyn Store,
    client_id: &str,
    url: &str,
    secret: &str,
    from: i64,
    by: &str,
    at: Timestamp,
) -> Result<Webhook> {
    let stmt = Stmt::new(
        "INSERT INTO webhooks (client_id, url, secret, state, cursor, created_at, updated_at, updated_by) \
         VALUES ($1, $2, $3, 'active', $4, $5, $5, $6)",
        vec![
            Val::Text(client_id.into()),
            Val::Text(url.into()),
            Val::Text(secret.into()),
            Val::Int(from),
            Val::Ts(at),
            Val::Text(by.into()),
        ],
    );
    store.exec().transaction(vec![stmt]).await?;
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE client_id = $1 AND url = $2 ORDER BY id DESC LIMIT 1"
            ),
            vec![Val::Text(client_id.into()), Val::Text(url.into())],
        )
        .await?;
    rows.first().map(webhook_row).transpose()?.ok_or(StoreError::NotFound)
}

/// Every subscription (of one partner when given), by id.
pub async fn list(store: &dyn Store, client_id: Option<&str>) -> Result<Vec<Webhook>> {
    let rows = store
        .exec()
        .query(
            &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE ($1 = '' OR client_id = $1) ORDER BY id"),
            vec![Val::Text(client_id.unwrap_or("").into())],
        )
        .await?;
    rows.iter().map(webhook_row).collect()
}

pub async fn get(store: &dyn Store, id: i64) -> Result<Option<Webhook>> {
    let rows = store
        .exec()
        .query(&format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"), vec![Val::Int(id)])
        .await?;
    rows.first().map(webhook_row).transpose()
}

/// Pauses or resumes a subscription; `NotFound` if there is none.
pub async fn set_active(store: &dyn Store, id: i64, active: bool, by: &str, at: Timestamp) -> Result<()> {
    let stmt = Stmt::new(
        "UPDATE webhooks SET state = $2, updated_by = $3, updated_at = $4 WHERE id = $1",
        vec![
            Val::Int(id),
            Val::Text(if active { "active" } else { "paused" }.into()),
            Val::Text(by.into()),
            Val::Ts(at),
        ],
    )
    .expect_rows(1, StoreError::NotFound);
    store.exec().transaction(vec![stmt]).await
}

/// Replays from feed position `from`: the subscription's events after it are handed over
/// again (those still pending are not doubled).
pub async fn replay_from(store: &dyn Store, id: i64, from: i64, by: &str, at: Timestamp) -> Result<()> {
    let stmt = Stmt::new(
        "UPDATE webhooks SET cursor = $2, updated_by = $3, updated_at = $4 WHERE id = $1",
        vec![Val::Int(id), Val::Int(from), Val::Text(by.into()), Val::Ts(at)],
    )
    .expect_rows(1, StoreError::NotFound);
    store.exec().transaction(vec![stmt]).await
}

/// Hands events (`(position, personal_id)`, in feed order) to deliveries and moves the
/// cursor from `old` to `new`, in one transaction; `Conflict` if the cursor moved meanwhile.
pub async fn hand_over(
    store: &dyn Store,
    id: i64,
    old: i64,
    new: i64,
    events: &[(i64, String)],
    at: Timestamp,
) -> Result<()> {
    let mut stmts = Vec::with_capacity(events.len() + 1);
    stmts.push(
        Stmt::new(
            "UPDATE webhooks SET cursor = $3 WHERE id = $1 AND cursor = $2",
            vec![Val::Int(id), Val::Int(old), Val::Int(new)],
        )
        .expect_rows(
            1,
            StoreError::Conflict(dancu_domain::Violation::new(
                "cursor",
                "webhook.cursor_moved",
                "Con trỏ của đăng ký đã được máy chủ khác chuyển",
                "another server moved the subscription's cursor",
            )),
        ),
    );
    // Multi-row inserts, 500 rows a statement (a hand-over of thousands of events was as
    // many round trips).
    for chunk in events.chunks(500) {
        let mut params = vec![Val::Int(id), Val::Ts(at)];
        let rows: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, (position, pid))| {
                params.push(Val::Int(*position));
                params.push(Val::Text(pid.clone()));
                format!("($1, ${}, ${}, 'pending', 0, $2, '')", 3 + 2 * i, 4 + 2 * i)
            })
            .collect();
        stmts.push(Stmt::new(
            format!(
                "INSERT INTO webhook_deliveries (webhook_id, position, personal_id, state, attempts, next_at, \
                 last_error) VALUES {} ON CONFLICT (webhook_id, position) DO NOTHING",
                rows.join(", ")
            ),
            params,
        ));
    }
    store.exec().transaction(stmts).await
}

/// Claims up to `limit` deliveries due at `now` for `lease_until`, under `token`: never one
/// leased by another dispatcher whose lease has not expired, never a person's later event
/// while an earlier one of the same subscription is pending.
pub async fn claim(
    store: &dyn Store,
    token: &str,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> Result<Vec<Delivery>> {
    let lock = if store.backend() == "postgres" { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_token = $1, lease_until = $2 \
         WHERE (webhook_id, position) IN (\
           SELECT d.webhook_id, d.position FROM webhook_deliveries d \
           WHERE d.state = 'pending' AND d.next_at <= $3 AND (d.lease_until IS NULL OR d.lease_until < $3) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id \
               AND e.personal_id = d.personal_id AND e.state = 'pending' AND e.position < d.position) \
           ORDER BY d.position LIMIT $4{lock})"
    );
    store
        .exec()
        .transaction(vec![Stmt::new(
            sql,
            vec![Val::Text(token.into()), Val::Ts(lease_until), Val::Ts(now), Val::Int(limit.into())],
        )])
        .await?;
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE lease_token = $1 AND state = 'pending' \
                 ORDER BY position"
            ),
            vec![Val::Text(token.into())],
        )
        .await?;
    rows.iter().map(delivery_row).collect()
}

/// Deliveries the receivers took, `(webhook_id, position)`: gone (those whose lease is
/// still `token`), in one transaction.
pub async fn delivered(store: &dyn Store, done: &[(i64, i64)], token: &str) -> Result<()> {
    if done.is_empty() {
        return Ok(());
    }
    // One statement per subscription and 500 positions (one per delivery was a round trip
    // each, thousands per round).
    let mut by_hook: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for (webhook_id, position) in done {
        by_hook.entry(*webhook_id).or_default().push(*position);
    }
    let mut stmts = Vec::new();
    for (webhook_id, positions) in by_hook {
        for chunk in positions.chunks(500) {
            let mut params = vec![Val::Int(webhook_id), Val::Text(token.into())];
            let marks: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, position)| {
                    params.push(Val::Int(*position));
                    format!("${}", 3 + i)
                })
                .collect();
            stmts.push(Stmt::new(
                format!(
                    "DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND lease_token = $2 AND position IN ({})",
                    marks.join(", ")
                ),
                params,
            ));
        }
    }
    store.exec().transaction(stmts).await
}

/// A failed attempt: the next one at `next_at`, or dead-lettered (`next_at` ignored).
pub async fn failed(
    store: &dyn Store,
    d: &Delivery,
    token: &str,
    next_at: Timestamp,
    dead: bool,
    error: &str,
) -> Result<()> {
    let error: String = error.chars().take(500).collect();
    let stmt = Stmt::new(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, next_at = $4, state = $5, last_error = $6, \
         lease_token = NULL, lease_until = NULL WHERE webhook_id = $1 AND position = $2 AND lease_token = $3",
        vec![
            Val::Int(d.webhook_id),
            Val::Int(d.position),
            Val::Text(token.into()),
            Val::Ts(next_at),
            Val::Text(if dead { "dead" } else { "pending" }.into()),
            Val::Text(error),
        ],
    );
    store.exec().transaction(vec![stmt]).await
}

/// A subscription's deliveries: dead-lettered ones (`dead`) or those waiting.
pub async fn deliveries(store: &dyn Store, webhook_id: i64, dead: bool, limit: u32) -> Result<Vec<Delivery>> {
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND state = $2 \
                 ORDER BY position LIMIT $3"
            ),
            vec![
                Val::Int(webhook_id),
                Val::Text(if dead { "dead" } else { "pending" }.into()),
                Val::Int(limit.into()),
            ],
        )
        .await?;
    rows.iter().map(delivery_row).collect()
}

/// Puts a subscription's dead letters back in the queue, due now with a fresh count.
pub async fn replay_dead(store: &dyn Store, webhook_id: i64, at: Timestamp) -> Result<()> {
    let stmt = Stmt::new(
        "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_at = $2, lease_token = NULL, \
         lease_until = NULL WHERE webhook_id = $1 AND state = 'dead'",
        vec![Val::Int(webhook_id), Val::Ts(at)],
    );
    store.exec().transaction(vec![stmt]).await
}

/// Waiting and dead-lettered deliveries per subscription: `(webhook_id, pending, dead)`.
pub async fn backlog(store: &dyn Store) -> Result<Vec<(i64, i64, i64)>> {
    let rows = store
        .exec()
        .query(
            "SELECT webhook_id, sum(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), \
             sum(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) FROM webhook_deliveries GROUP BY webhook_id",
            vec![],
        )
        .await?;
    rows.iter().map(|r| Ok((r.int(0)?, r.int(1)?, r.int(2)?))).collect()
}
