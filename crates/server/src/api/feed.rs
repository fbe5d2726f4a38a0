//! The pull feed (issue 15, part 3): `GET /api/v1/partner/feed?after=CURSOR&limit=N&wait=S`.
//! A partner with the `feed` operation and the `partner:feed` scope reads the registry's
//! change events it is entitled to (its feed kinds and units; payloads cut to its fields)
//! in feed order, which keeps each person's order. The cursor is opaque (`f1.` and the
//! feed position in hexadecimal); a read resumes exactly after it. With `wait`, an empty
//! read waits up to that many seconds for events (long polling). Each read that returns
//! events is audited as partner access listing the people in it; refusals are audited
//! and counted as the other partner operations' are (docs/FEED.md).

use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dancu_domain::Violation;
use dancu_store::feed::{Event, EventKind};
use dancu_store::partners::Operation;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::partner::{admitted, count, purposed, refuse, registry_refusal, Admitted, PartnerRefusals};
use crate::error::ApiError;
use crate::oidc::bearer::ClientToken;
use crate::AppState;

/// The most events one read returns.
pub const MAX_LIMIT: u32 = 5_000;
/// The longest wait a read may ask for, in seconds.
pub const MAX_WAIT: u32 = 30;
/// How often a waiting read looks again.
const POLL: Duration = Duration::from_millis(100);
/// Events the sequencer numbers per run at most.
pub const SEQUENCE_BATCH: u32 = 20_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// Why the partner reads (recorded; the people see it in "who accessed my data").
    #[param(min_length = 3, max_length = 200)]
    pub purpose: Option<String>,
    /// The cursor a previous read returned (`next_cursor`); from the start when absent.
    #[param(pattern = "^f1\\.[0-9a-f]{1,15}$", example = "f1.0")]
    pub after: Option<String>,
    /// Events at most (1–5000, default 500).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
    /// Seconds to wait for events when there are none yet (0–30, default 0).
    #[param(minimum = 0, maximum = 30)]
    pub wait: Option<u32>,
}

purposed!(FeedParams);

/// One change event.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedEvent {
    /// The event's id: its feed position, unique and increasing (an idempotent consumer
    /// keeps the highest it applied per person).
    pub id: i64,
    pub kind: EventKind,
    #[schema(pattern = "^[0-9]{12}$")]
    pub personal_id: String,
    /// The person's 2025 province and commune codes when it happened.
    pub province: String,
    pub commune: String,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// The changed fields the partner is entitled to (docs/FEED.md lists them by kind).
    #[schema(value_type = Object)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

impl From<Event> for FeedEvent {
    fn from(e: Event) -> Self {
        FeedEvent {
            id: e.position,
            kind: e.kind,
            personal_id: e.personal_id,
            province: e.province,
            commune: e.commune,
            occurred_at: e.occurred_at,
            data: e.payload,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedResponse {
    pub events: Vec<FeedEvent>,
    /// Where the next read resumes (past events the partner may not see, too).
    #[schema(pattern = "^f1\\.[0-9a-f]{1,15}$")]
    pub next_cursor: String,
}

/// The cursor for feed position `p`.
pub fn cursor(p: i64) -> String {
    format!("f1.{p:x}")
}

/// The feed position a cursor stands for.
pub fn parse_cursor(raw: Option<&str>) -> Result<i64, Violation> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else { return Ok(0) };
    raw.strip_prefix("f1.")
        .filter(|h| {
            (1..=15).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .ok_or_else(|| {
            Violation::new(
                "after",
                "feed.cursor",
                "Con trỏ không hợp lệ: dùng next_cursor của lần đọc trước",
                "invalid cursor: use the next_cursor of a previous read",
            )
        })
}

fn bounded(field: &str, v: Option<u32>, default: u32, min: u32, max: u32) -> Result<u32, Violation> {
    let v = v.unwrap_or(default);
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(Violation::new(
            field,
            "feed.range",
            format!("{field} phải từ {min} đến {max}"),
            format!("{field} must be between {min} and {max}"),
        ))
    }
}

/// Reads the partner's change feed after a cursor, in feed order (each person's events in
/// the order they happened), waiting up to `wait` seconds when there is nothing yet.
#[utoipa::path(get, path = "/api/v1/partner/feed", operation_id = "partner_feed", params(FeedParams),
    security(("bearer" = [])), tag = "partner",
    responses((status = 200, body = FeedResponse), PartnerRefusals))]
pub async fn feed(
    State(s): State<AppState>,
    token: ClientToken,
    q: Result<Query<FeedParams>, QueryRejection>,
) -> Response {
    let op = Operation::Feed;
    let Admitted { input: q, partner: p, purpose } = match admitted(&s, &token, op, q).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let parsed = (|| {
        Ok::<_, Violation>((
            parse_cursor(q.after.as_deref())?,
            bounded("limit", q.limit, 500, 1, MAX_LIMIT)?,
            bounded("wait", q.wait, 0, 0, MAX_WAIT)?,
        ))
    })();
    let (mut after, limit, wait) = match parsed {
        Ok(x) => x,
        Err(v) => {
            refuse(&s, &p.client_id, op, &purpose, "validation_failed").await;
            return ApiError::invalid(vec![v]).into_response();
        }
    };
    let deadline = Instant::now() + Duration::from_secs(wait.into());
    loop {
        if let Err(e) = s.registry.feed_sequence(SEQUENCE_BATCH).await {
            return ApiError::from(e).into_response();
        }
        let page = match s.registry.partner_feed(&p, &purpose, after, limit).await {
            Ok(page) => page,
            Err(e) => return registry_refusal(&s, &p, op, &purpose, e).into_response(),
        };
        let now = Instant::now();
        if !page.events.is_empty() || now >= deadline {
            let outcome = if page.events.is_empty() { "not_found" } else { "found" };
            count(&s, &p.client_id, op, &purpose, &[(outcome, 1)]);
            let n = page.events.len();
            let body = FeedResponse {
                next_cursor: cursor(page.next),
                events: page.events.into_iter().map(FeedEvent::from).collect(),
            };
            return json_sized(&body, 256 + n * 512);
        }
        after = page.next;
        tokio::time::sleep(POLL.min(deadline - now)).await;
    }
}

/// `Json(body)`, serialized into a buffer of `capacity` bytes to start with: a page of
/// thousands of events grew axum's 128-byte buffer a doubling at a time.
fn json_sized<T: Serialize>(body: &T, capacity: usize) -> Response {
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, body) {
        Ok(()) => ([(axum::http::header::CONTENT_TYPE, "application/json")], buf).into_response(),
        Err(_) => Json(body).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_others() {
        for p in [0, 1, 255, 1 << 40, i64::MAX >> 4] {
            assert_eq!(parse_cursor(Some(&cursor(p))), Ok(p));
        }
        assert_eq!(parse_cursor(None), Ok(0));
        for bad in ["f1.", "f1.G", "f2.10", "10", "f1.-1", "f1.0000000000000000"] {
            assert_eq!(parse_cursor(Some(bad)).unwrap_err().rule, "feed.cursor", "{bad}");
        }
    }
}
