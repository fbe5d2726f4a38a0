//! `/openapi.json`: the document [`crate::api::routes`] builds from the same list as the
//! routes. This module holds what is common to all operations: the title, the bearer
//! security scheme and the error answers.

use std::sync::Arc;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dancu API",
        description = "Population registry of Project 06: officer API and citizen eID registration. \
            Officers authenticate with a bearer token from `POST /api/v1/auth/token`. Errors are JSON \
            `{\"error\": {code, message_vi, message_en, violations[]}}` with stable codes; each \
            violation names its field and rule. Rules that depend on stored data or on several \
            fields at once (a unit code that exists, an ID that matches the birth date, a move the \
            card stage machine allows) answer 422 with their rule even for well-formed requests."
    ),
    components(
        schemas(error::ErrorBody, error::ErrorDetail),
        responses(
            error::BadRequest,
            error::Unauthorized,
            error::Forbidden,
            error::NotFound,
            error::Conflict,
            error::PayloadTooLarge,
            error::UnsupportedMediaType,
            error::Unprocessable,
            error::TooManyRequests,
            error::Unavailable,
        )
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

/// The document, serialised once.
#[derive(Clone)]
pub struct Document(Arc<Vec<u8>>);

impl Document {
    pub fn new(doc: &utoipa::openapi::OpenApi) -> Self {
        let mut json = serde_json::to_value(doc).expect("the OpenAPI document serialises");
        fix_links(&mut json);
        Document(Arc::new(serde_json::to_vec(&json).expect("the OpenAPI document serialises")))
    }

    pub fn serve(&self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0.as_ref().clone()).into_response()
    }
}

/// utoipa 5 writes a Link object's fields in snake case (`operation_id`); OpenAPI names them
/// `operationId`, `operationRef` and `requestBody`, and tools ignore links without them.
fn fix_links(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    let responses = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(|r| r.as_object_mut()))
        .flat_map(|r| r.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(|l| l.as_object_mut()) else { continue };
        for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
            for (snake, camel) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = link.remove(snake) {
                    link.insert(camel.into(), v);
                }
            }
        }
    }
}
