//! OpenAPI schemas (feature `openapi`) of the store's text codes: the values a field that is
//! kept as text can hold, for the fields of the API's answers (`schema_with`).

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

fn codes(values: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

/// What became of an audited access (`registry::Outcome`).
pub fn audit_outcome() -> Object {
    codes(
        &["ok", "denied", "not_found", "refused", "attempt", "failed"],
        "`ok`; `denied` (outside the caller's scope); `not_found`; `refused` (a rule refused it); \
         `attempt` (recorded before a write) and `failed` (the write did not happen)",
    )
}

const ACCOUNT_STATES: [&str; 4] = ["registered", "approved", "activated", "locked"];

/// An eID account state's code.
pub fn account_state() -> Object {
    codes(&ACCOUNT_STATES, "eID account state")
}

/// An eID account state's code, or empty before the registration.
pub fn account_state_before() -> Object {
    let mut states = vec![""];
    states.extend(ACCOUNT_STATES);
    codes(&states, "eID account state before the event; empty for the registration")
}

/// What happened to an eID account (its history).
pub fn eid_event() -> Object {
    codes(
        &[
            "register",
            "approve",
            "activate",
            "lock",
            "unlock",
            "upgrade_level_2",
            "reset_issued",
            "password_reset",
            "document",
        ],
        "eID account event",
    )
}

/// How an eID login attempt ended.
pub fn login_outcome() -> Object {
    codes(&["ok", "bad_password", "bad_code", "locked", "not_active"], "eID login outcome")
}

/// A candidate pair's status.
pub fn pair_status() -> Object {
    codes(&["open", "merged", "rejected"], "Candidate pair status")
}

/// A 2025 province code (2 digits).
pub fn province_code() -> Object {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9]{2}$")).build()
}

/// A 2025 commune code (5 digits).
pub fn commune_code() -> Object {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9]{5}$")).build()
}

/// An officer's scope: `nation`, `province:NN` or `commune:NNNNN` (2025 codes).
pub const SCOPE_PATTERN: &str = "^(?:nation|province:[0-9]{2}|commune:[0-9]{5})$";
