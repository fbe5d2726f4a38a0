//! Validated value types and rules of the population registry.
//!
//! Pure code: no I/O, no async, no database. Values are parsed once at the boundary
//! (`FromStr`, `TryFrom`) and carried as types afterwards.

pub mod application;
pub mod calendar;
pub mod catalog;
pub mod citizen;
pub mod date;
pub mod error;
pub mod household;
pub mod legacy;
pub mod mojibake;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod personal_id;
pub mod residence;
pub mod search_text;
pub mod services;
pub mod text;
pub mod units;
pub mod verify;

pub use calendar::WorkingCalendar;
pub use citizen::{Address, Citizen, LifeStatus, Sex};
pub use date::PartialDate;
pub use error::Violation;
pub use household::{Household, Relation};
pub use personal_id::{CmndNumber, PersonalId};
pub use search_text::{read_search_text, SearchText};
pub use text::{fold_key, nfc, NameParts};
pub use units::{admin_units, UnitList, UnitRef};
