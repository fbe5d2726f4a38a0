//! OpenAPI schemas (feature `openapi`) of identity values whose JSON form is a code rather
//! than their serde form.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::card::ApplicationKind;

/// An application kind as its stable code (`first_issue`, `renewal.damaged`, …), the form
/// the API writes and reads (`ApplicationKind::code`).
#[derive(Debug)]
pub struct ApplicationKindCode;

impl PartialSchema for ApplicationKindCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ApplicationKind::ALL.map(ApplicationKind::code)))
            .description(Some(
                "Card application kind: first issue (cấp mới), renewal (cấp đổi) with its reason, \
                 or replacement (cấp lại)",
            ))
            .build()
            .into()
    }
}

impl ToSchema for ApplicationKindCode {
    fn name() -> Cow<'static, str> {
        "ApplicationKind".into()
    }
}
