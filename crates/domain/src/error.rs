//! One error type for every broken rule: which field, which rule (a stable code), and a
//! message in Vietnamese and English.

use serde::Serialize;
use std::fmt;

/// A broken rule on one field. `rule` is a stable machine code (for example `id.length`);
/// integrators match on it, so codes are never renamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Violation {
    pub field: String,
    pub rule: &'static str,
    pub message_vi: String,
    pub message_en: String,
}

impl Violation {
    pub fn new(
        field: impl Into<String>,
        rule: &'static str,
        vi: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Violation { field: field.into(), rule, message_vi: vi.into(), message_en: en.into() }
    }

    /// The same violation reported against another field name (a parser does not know
    /// which field of a record it parses).
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message_en, self.rule)
    }
}

impl std::error::Error for Violation {}
