//! OAuth 2.0 error answers (RFC 6749 §5.2, RFC 6750 §3): `{"error", "error_description"}`
//! with the standard codes, `Cache-Control: no-store`, and for a client that failed to
//! authenticate with HTTP Basic, `WWW-Authenticate`. Every refusal is logged and counted by
//! endpoint and code (`dancu_oauth_refusals_total` on `/metrics`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// An OAuth error answer.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    /// The standard code: `invalid_request`, `invalid_client`, `invalid_grant`,
    /// `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`, …
    pub error: &'static str,
    pub description: String,
    /// Answer `WWW-Authenticate: Basic` (the client tried HTTP Basic).
    pub basic_challenge: bool,
}

/// The body of an OAuth error answer.
#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type` or `invalid_scope`.
    #[schema(pattern = "^[a-z_]+$")]
    pub error: &'static str,
    /// What was wrong, in English, naming the parameter.
    pub error_description: String,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError { status, error, description: description.into(), basic_challenge: false }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    pub fn invalid_client() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed")
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", d)
    }
    pub fn unsupported_grant_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code, refresh_token or client_credentials",
        )
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", d)
    }
    pub fn server_error() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "internal error, please retry")
    }
}

impl From<dancu_store::StoreError> for OAuthError {
    fn from(e: dancu_store::StoreError) -> Self {
        let f = e.log_fields();
        tracing::error!(error = %f.chain, sqlstate = f.sqlstate.as_deref(), "store failure in the OAuth provider");
        OAuthError::server_error()
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut r =
            (self.status, Json(OAuthErrorBody { error: self.error, error_description: self.description }))
                .into_response();
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_challenge {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"dancu\""));
        }
        r
    }
}

/// Refusals counted by endpoint and code.
#[derive(Default)]
pub struct Refusals(Mutex<BTreeMap<(&'static str, &'static str), u64>>);

impl Refusals {
    /// Logs and counts a refusal at `endpoint` (`token`, `authorize`, `userinfo`, `bearer`, …).
    pub fn record(&self, endpoint: &'static str, error: &'static str, client_id: Option<&str>, detail: &str) {
        tracing::info!(target: "dancu::oauth", endpoint, error, client_id, detail, "OAuth request refused");
        *self.0.lock().unwrap().entry((endpoint, error)).or_default() += 1;
    }

    pub fn count(&self, endpoint: &'static str, error: &'static str) -> u64 {
        self.0.lock().unwrap().get(&(endpoint, error)).copied().unwrap_or(0)
    }

    /// The Prometheus lines.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP dancu_oauth_refusals_total OAuth and OIDC refusals by endpoint and error code.\n\
             # TYPE dancu_oauth_refusals_total counter\n",
        );
        for ((e, code), n) in self.0.lock().unwrap().iter() {
            let _ = writeln!(out, "dancu_oauth_refusals_total{{endpoint=\"{e}\",error=\"{code}\"}} {n}");
        }
        out
    }
}
