//! The storage traits, one per area, in the style of lldap's handlers: a caller names the
//! narrow trait it needs (`CitizenStore`, `CardStore`, …). [`crate::Store`] bundles them
//! with what concerns the database as a whole, so `Arc<dyn Store>` offers every one.
//! Both backends implement each trait in a file of their own (`sqlite/<area>.rs`,
//! `postgres/<area>.rs`).

mod audit;
mod cards;
mod citizens;
mod households;
mod import;
mod officers;
mod sessions;

pub use audit::AuditStore;
pub use cards::CardStore;
pub use citizens::CitizenStore;
pub use households::HouseholdStore;
pub use import::ImportStore;
pub use officers::OfficerStore;
pub use sessions::SessionStore;
