//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0) and `/oauth/jwks`
//! (the published signing keys, current first, retired ones until their tokens expire).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::clients::{OIDC_SCOPES, PARTNER_SCOPES};
use crate::AppState;

/// The provider's metadata.
#[derive(Serialize, ToSchema)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub end_session_endpoint: String,
    pub scopes_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub acr_values_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    pub prompt_values_supported: Vec<&'static str>,
    pub ui_locales_supported: Vec<&'static str>,
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
}

/// The provider's metadata.
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "oauth",
    operation_id = "oidc_discovery",
    responses((status = 200, description = "OpenID Provider metadata", body = Discovery))
)]
pub async fn configuration(State(state): State<AppState>) -> Response {
    let iss = &state.config.oidc.issuer;
    let d = Discovery {
        issuer: iss.clone(),
        authorization_endpoint: format!("{iss}/oauth/authorize"),
        token_endpoint: format!("{iss}/oauth/token"),
        userinfo_endpoint: format!("{iss}/oauth/userinfo"),
        jwks_uri: format!("{iss}/oauth/jwks"),
        end_session_endpoint: format!("{iss}/oauth/logout"),
        scopes_supported: OIDC_SCOPES.iter().chain(PARTNER_SCOPES.iter()).copied().collect(),
        response_types_supported: vec!["code"],
        response_modes_supported: vec!["query"],
        grant_types_supported: vec!["authorization_code", "refresh_token", "client_credentials"],
        subject_types_supported: vec!["pairwise"],
        id_token_signing_alg_values_supported: vec!["ES256"],
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        token_endpoint_auth_signing_alg_values_supported: vec!["ES256", "RS256", "PS256"],
        code_challenge_methods_supported: vec!["S256"],
        acr_values_supported: vec!["loa:1", "loa:2"],
        claims_supported: vec![
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "name",
            "family_name",
            "middle_name",
            "given_name",
            "gender",
            "birthdate",
            "address",
            "personal_id",
        ],
        prompt_values_supported: vec!["none", "login", "consent"],
        ui_locales_supported: vec!["vi", "en"],
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
    };
    Json(d).into_response()
}

/// A JWK (EC P-256 public key).
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    pub x: String,
    pub y: String,
    pub kid: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `ES256`.
    pub alg: String,
}

/// The published signing keys.
#[derive(Serialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// The provider's public signing keys.
#[utoipa::path(
    get,
    path = "/oauth/jwks",
    tag = "oauth",
    operation_id = "oidc_jwks",
    responses((status = 200, description = "JWK Set", body = Jwks))
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let set = state.config.oidc.keys.jwks();
    Json(set.as_ref().clone()).into_response()
}
