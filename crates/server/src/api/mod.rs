//! The officer JSON API under `/api/v1`. Bearer tokens (or a web session cookie with its CSRF
//! token in `X-CSRF-Token`) authenticate;
//! every handler that touches personal data goes through the audited registry.
//!
//! Routes and their OpenAPI operations come from one list ([`routes`]): each handler is
//! added with `routes!`, which takes its path and methods from the handler's
//! `#[utoipa::path]`, so a route cannot exist without its documentation, nor the other way
//! round. `routes!` takes only handlers of one path at a time.

pub mod applications;
pub mod auth;
pub mod cards;
pub mod chains;
pub mod citizens;
pub mod confirmations;
pub mod dedup;
pub mod eid;
pub mod feed;
pub mod figures;
pub mod households;
pub mod partner;
pub mod residence;
pub mod tools;

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::Router;
use serde::de::DeserializeOwned;
use utoipa::openapi::{RefOr, Schema};
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::AppState;

/// The JSON API and its OpenAPI document; with `bench_endpoint`, also the look-up
/// benchmark's constant baseline (absent from both otherwise).
pub fn routes(bench_endpoint: bool) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc, _) = build(bench_endpoint);
    (router, doc)
}

/// The component names (`#/components/schemas/…`) that operations registered with two
/// different schemas: two Rust types of one name, of which utoipa keeps the last registered
/// and documents the other's operations with it. Empty when the document is whole.
pub fn schema_clashes() -> Vec<String> {
    build(true).2.into_iter().collect()
}

/// The router being built, with the component schemas its operations have brought so far.
struct Documented {
    router: OpenApiRouter<AppState>,
    seen: BTreeMap<String, serde_json::Value>,
    clashes: BTreeSet<String>,
}

impl Documented {
    fn new(doc: utoipa::openapi::OpenApi) -> Self {
        let mut d =
            Documented { router: OpenApiRouter::new(), seen: BTreeMap::new(), clashes: BTreeSet::new() };
        if let Some(c) = &doc.components {
            d.note(c.schemas.iter());
        }
        d.router = OpenApiRouter::with_openapi(doc);
        d
    }

    /// `OpenApiRouter::routes`, noting each schema the operations bring.
    fn routes(mut self, r: UtoipaMethodRouter<AppState>) -> Self {
        self.note(r.0.iter().map(|(name, schema)| (name, schema)));
        self.router = self.router.routes(r);
        self
    }

    fn note<'a>(&mut self, schemas: impl Iterator<Item = (&'a String, &'a RefOr<Schema>)>) {
        for (name, schema) in schemas {
            let v = serde_json::to_value(schema).unwrap_or_default();
            match self.seen.get(name) {
                None => {
                    self.seen.insert(name.clone(), v);
                }
                Some(before) if *before != v => {
                    self.clashes.insert(name.clone());
                }
                Some(_) => {}
            }
        }
    }
}

fn build(bench_endpoint: bool) -> (Router<AppState>, utoipa::openapi::OpenApi, BTreeSet<String>) {
    let r = Documented::new(ApiDoc::openapi())
        .routes(routes!(auth::token))
        .routes(routes!(auth::list_officers, auth::create_officer))
        .routes(routes!(auth::update_officer))
        .routes(routes!(citizens::search, citizens::create))
        .routes(routes!(citizens::read, citizens::update))
        .routes(routes!(citizens::history))
        .routes(routes!(citizens::access_log))
        .routes(routes!(cards::citizen_cards))
        .routes(routes!(cards::due_for_renewal))
        .routes(routes!(cards::list, cards::create))
        .routes(routes!(cards::board))
        .routes(routes!(cards::read))
        .routes(routes!(cards::transition))
        .routes(routes!(eid::confirm_cmnd))
        .routes(routes!(eid::read_confirmation))
        .routes(routes!(dedup::list))
        .routes(routes!(dedup::counts))
        .routes(routes!(dedup::decide))
        .routes(routes!(eid::register))
        .routes(routes!(eid::list))
        .routes(routes!(eid::stats))
        .routes(routes!(eid::read))
        .routes(routes!(eid::event))
        .routes(routes!(eid::reset_code))
        .routes(routes!(eid::document))
        .routes(routes!(households::create))
        .routes(routes!(households::read, households::update))
        .routes(routes!(households::history))
        .routes(routes!(tools::allocate_id))
        .routes(routes!(tools::explain_id))
        .routes(routes!(tools::unit))
        .routes(routes!(tools::verify_audit))
        // The OpenID Connect provider's JSON endpoints (its pages are in `oidc::routes`).
        .routes(routes!(crate::oidc::discovery::configuration))
        .routes(routes!(crate::oidc::discovery::jwks))
        .routes(routes!(crate::oidc::token::token))
        .routes(routes!(crate::oidc::userinfo::userinfo, crate::oidc::userinfo::userinfo_post))
        .routes(routes!(partner::verify))
        .routes(routes!(partner::verify_batch))
        .routes(routes!(partner::card_lookup))
        .routes(routes!(partner::stats))
        .routes(routes!(feed::feed))
        .routes(routes!(chains::register_birth))
        .routes(routes!(chains::register_death))
        .routes(routes!(chains::birth_chain))
        .routes(routes!(chains::death_chain))
        .routes(routes!(applications::list, applications::submit))
        .routes(routes!(applications::counts))
        .routes(routes!(applications::read))
        .routes(routes!(applications::transition))
        .routes(routes!(applications::add_document))
        .routes(routes!(applications::consent))
        .routes(routes!(residence::of_citizen))
        .routes(routes!(residence::current))
        .routes(routes!(confirmations::issue, confirmations::list))
        .routes(routes!(confirmations::verify))
        .routes(routes!(confirmations::read))
        .routes(routes!(confirmations::revoke))
        .routes(routes!(figures::list, figures::save))
        .routes(routes!(figures::read))
        .routes(routes!(figures::transition));
    let r = if bench_endpoint { r.routes(routes!(tools::constant)) } else { r };
    let (router, mut doc) = r.router.split_for_parts();
    authenticated_answers(&mut doc);
    (router, doc, r.clashes)
}

/// Every operation behind the `bearer` scheme can answer 401 (no valid token) and 403 (a
/// session cookie without its CSRF header, or a role too low): listed on each, wherever the
/// operation's own list leaves them out.
fn authenticated_answers(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{Ref, RefOr};
    for item in doc.paths.paths.values_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            if !secured {
                continue;
            }
            for (status, name) in [("401", "Unauthorized"), ("403", "Forbidden")] {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
            }
        }
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

/// `Query` whose refusal is a JSON [`ApiError`] (400 `invalid_query`), like every answer.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(ApiError::from(e as QueryRejection)),
        }
    }
}

/// `Path` whose refusal is a JSON [`ApiError`] (400 `invalid_path`).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(ApiError::from(e as PathRejection)),
        }
    }
}

/// Building blocks of the request schemas written by hand: bodies whose fields depend on
/// one of them (`decision`, `event`, `to`, `kind`) are a `oneOf` of variants, each with the
/// fields that variant requires, so that a body the schema calls valid is one the API takes.
pub mod schema {
    use utoipa::openapi::schema::{AdditionalProperties, Object, ObjectBuilder, OneOfBuilder, Schema, Type};
    use utoipa::openapi::RefOr;
    use utoipa::PartialSchema;

    /// A string equal to `value`.
    pub fn constant(value: &str) -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some([value])).build().into()
    }

    /// A string among `values`.
    pub fn one_of_strings(values: &[&str]) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
            .build()
            .into()
    }

    /// A string matching `pattern`.
    pub fn pattern(pattern: &str) -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).build().into()
    }

    /// Any string (`max`: at most so many characters).
    pub fn string(max: Option<usize>) -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).max_length(max).build().into()
    }

    /// Unicode `White_Space`, what `str::trim` removes. A JSON Schema `\s` (ECMA-262) is not
    /// the same set: it lacks U+0085 and has U+FEFF.
    pub const WHITE_SPACE: &str =
        "\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

    /// Text with a character that `trim` keeps.
    pub fn not_blank_pattern() -> String {
        format!("[^{WHITE_SPACE}]")
    }

    /// A reason as `require_reason` takes it: not blank, at most 500 characters.
    pub fn reason() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(not_blank_pattern()))
            .max_length(Some(super::citizens::MAX_REASON_CHARS))
            .build()
            .into()
    }

    pub fn boolean() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Boolean).build().into()
    }

    /// `true` only.
    pub fn truth() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([true])).build().into()
    }

    /// A 64-bit integer.
    pub fn int64() -> RefOr<Schema> {
        i64::schema()
    }

    /// A personal ID.
    pub fn personal_id() -> RefOr<Schema> {
        dancu_domain::openapi::personal_id_schema().into()
    }

    /// One variant: an object with these properties, `required` among them, no others.
    pub fn variant(description: &str, properties: Vec<(&str, RefOr<Schema>)>, required: &[&str]) -> Object {
        let mut o = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(description))
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
        for (name, s) in properties {
            o = o.property(name, s);
        }
        for name in required {
            o = o.required(*name);
        }
        o.build()
    }

    /// Exactly one of `variants`.
    pub fn one_of(description: &str, variants: Vec<Object>) -> RefOr<Schema> {
        let mut b = OneOfBuilder::new().description(Some(description));
        for v in variants {
            b = b.item(v);
        }
        RefOr::T(Schema::OneOf(b.build()))
    }
}

/// A record's version as the caller saw it (optimistic locking) in a JSON body: a whole
/// number whatever its spelling (`811797.0` too, as [`whole`] reads it). Every version field
/// of a request is one, so none can miss that reading. It is documented as an `integer`
/// (int64): a field of a derived schema says `#[schema(value_type = i64)]` (without it the
/// derive does not compile, `Version` having no schema of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(pub i64);

impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        whole::i64(d).map(Version)
    }
}

/// Whole numbers in JSON bodies: JSON Schema (and OpenAPI 3.1) counts `5.0` as an integer,
/// so the API takes a number with a zero fraction wherever it takes an integer.
pub mod whole {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};

    fn from_number<E: Error>(n: serde_json::Number) -> Result<i64, E> {
        if let Some(i) = n.as_i64() {
            return Ok(i);
        }
        // 2⁶³, exact as an f64: [-2⁶³, 2⁶³) holds exactly the whole floats an i64 holds.
        const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
        match n.as_f64() {
            Some(f) if f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&f) => Ok(f as i64),
            _ => Err(E::custom(format!("invalid value: {n}, expected a 64-bit integer"))),
        }
    }

    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        from_number(serde_json::Number::deserialize(d)?)
    }

    pub fn i32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        let n = from_number(serde_json::Number::deserialize(d)?)?;
        i32::try_from(n)
            .map_err(|_| D::Error::custom(format!("invalid value: {n}, expected a 32-bit integer")))
    }

    #[cfg(test)]
    mod tests {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(deserialize_with = "super::i64")]
            v: i64,
        }

        fn v(json: &str) -> Result<i64, serde_json::Error> {
            serde_json::from_str::<T>(json).map(|t| t.v)
        }

        #[test]
        fn whole_floats_are_integers_and_fractions_are_not() {
            assert_eq!(v(r#"{"v": 7}"#).unwrap(), 7);
            assert_eq!(v(r#"{"v": 16679504.0}"#).unwrap(), 16679504);
            assert_eq!(v(r#"{"v": -3e2}"#).unwrap(), -300);
            assert!(v(r#"{"v": 1.5}"#).is_err());
            assert!(v(r#"{"v": 1e19}"#).is_err());
            assert!(v(r#"{"v": "7"}"#).is_err());
        }

        #[derive(serde::Deserialize)]
        struct Versions {
            v: super::super::Version,
            #[serde(default)]
            o: Option<super::super::Version>,
        }

        #[test]
        fn versions_are_whole_whatever_their_spelling() {
            let r = |json: &str| serde_json::from_str::<Versions>(json).map(|t| (t.v.0, t.o.map(|o| o.0)));
            assert_eq!(r(r#"{"v": 811797.0}"#).unwrap(), (811797, None));
            assert_eq!(r(r#"{"v": 3, "o": 4.0}"#).unwrap(), (3, Some(4)));
            assert_eq!(r(r#"{"v": 3, "o": null}"#).unwrap(), (3, None));
            assert!(r(r#"{"v": 1.5}"#).is_err());
            assert!(r(r#"{"v": 3, "o": 0.5}"#).is_err());
            assert!(r(r#"{"v": "7"}"#).is_err());
        }
    }
}
