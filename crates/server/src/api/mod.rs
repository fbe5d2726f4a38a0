//! The officer JSON API under `/api/v1`. Bearer tokens (or a web session cookie with its CSRF
//! token in `X-CSRF-Token`) authenticate;
//! every handler that touches personal data goes through the audited registry.

pub mod auth;
pub mod cards;
pub mod citizens;
pub mod dedup;
pub mod eid;
pub mod households;
pub mod tools;

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

/// The JSON API; with `bench_endpoint`, also the look-up benchmark's constant baseline.
pub fn routes(bench_endpoint: bool) -> Router<AppState> {
    let r = Router::new()
        .route("/api/v1/auth/token", post(auth::token))
        .route("/api/v1/officers", get(auth::list_officers).post(auth::create_officer))
        .route("/api/v1/officers/{id}", axum::routing::patch(auth::update_officer))
        .route("/api/v1/citizens", get(citizens::search).post(citizens::create))
        .route("/api/v1/citizens/{id}", get(citizens::read).put(citizens::update))
        .route("/api/v1/citizens/{id}/history", get(citizens::history))
        .route("/api/v1/citizens/{id}/access-log", get(citizens::access_log))
        .route("/api/v1/citizens/{id}/cards", get(cards::citizen_cards))
        .route("/api/v1/cards/due-for-renewal", get(cards::due_for_renewal))
        .route("/api/v1/card-applications", get(cards::list).post(cards::create))
        .route("/api/v1/card-applications/board", get(cards::board))
        .route("/api/v1/card-applications/{id}", get(cards::read))
        .route("/api/v1/card-applications/{id}/transitions", post(cards::transition))
        .route("/api/v1/citizens/{id}/cmnd-confirmations", post(eid::confirm_cmnd))
        .route("/api/v1/cmnd-confirmations/{number}", get(eid::read_confirmation))
        .route("/api/v1/dedup/candidates", get(dedup::list))
        .route("/api/v1/dedup/counts", get(dedup::counts))
        .route("/api/v1/dedup/candidates/{id}/decision", post(dedup::decide))
        .route("/api/v1/eid/registrations", post(eid::register))
        .route("/api/v1/eid/accounts", get(eid::list))
        .route("/api/v1/eid/stats", get(eid::stats))
        .route("/api/v1/eid/accounts/{id}", get(eid::read))
        .route("/api/v1/eid/accounts/{id}/events", post(eid::event))
        .route("/api/v1/eid/accounts/{id}/reset-code", post(eid::reset_code))
        .route("/api/v1/eid/accounts/{id}/documents", post(eid::document))
        .route("/api/v1/households", post(households::create))
        .route("/api/v1/households/{number}", get(households::read).put(households::update))
        .route("/api/v1/households/{number}/history", get(households::history))
        .route("/api/v1/personal-ids", post(tools::allocate_id))
        .route("/api/v1/personal-ids/{id}/explain", get(tools::explain_id))
        .route("/api/v1/units/{unit}", get(tools::unit))
        .route("/api/v1/audit/verify", get(tools::verify_audit));
    if bench_endpoint {
        r.route("/api/v1/bench/constant", get(tools::constant))
    } else {
        r
    }
}

/// The declared purpose of an access (`X-Purpose` header or `purpose` query parameter),
/// recorded in the audit log. Officers who do not state one are recorded as "nghiệp vụ"
/// (official duty).
pub fn purpose(headers: &HeaderMap, query: Option<&str>) -> String {
    let raw = query
        .map(str::to_string)
        .or_else(|| headers.get("x-purpose").and_then(|v| v.to_str().ok()).map(str::to_string))
        .unwrap_or_default();
    let p = dancu_domain::nfc(&raw);
    if p.is_empty() {
        "nghiệp vụ".into()
    } else {
        p.chars().take(200).collect()
    }
}
