//! `/openapi.json`, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(title = "dancu API", description = "Population registry of Project 06: officer API and citizen eID registration. Errors are JSON `{\"error\": {code, message_vi, message_en, violations[]}}` with stable codes."),
    paths(
        api::auth::token,
        api::auth::create_officer,
        api::auth::list_officers,
        api::auth::update_officer,
        api::citizens::search,
        api::citizens::read,
        api::citizens::create,
        api::citizens::update,
        api::citizens::history,
        api::citizens::access_log,
        api::cards::create,
        api::cards::list,
        api::cards::read,
        api::cards::transition,
        api::cards::board,
        api::cards::citizen_cards,
        api::cards::due_for_renewal,
        api::dedup::list,
        api::dedup::counts,
        api::dedup::decide,
        api::eid::register,
        api::eid::list,
        api::eid::stats,
        api::eid::read,
        api::eid::event,
        api::eid::reset_code,
        api::eid::document,
        api::eid::confirm_cmnd,
        api::eid::read_confirmation,
        api::households::create,
        api::households::read,
        api::households::update,
        api::households::history,
        api::tools::allocate_id,
        api::tools::explain_id,
        api::tools::unit,
        api::tools::verify_audit,
        api::tools::constant,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
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

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
