//! The server's integration tests, one binary: the real application on SQLite and
//! PostgreSQL (`common`), one behaviour per test, each on a fresh app.

mod common;

mod access_audit;
mod api;
mod applications;
mod applications_browser;
mod browser;
mod card_child_browser;
mod card_law;
mod chains;
mod confirmations;
mod confirmations_browser;
mod decisions;
mod dedup;
mod eid;
mod export;
mod feed;
mod figures;
mod limits;
mod officers;
mod oidc;
mod oidc_flow;
mod oidc_rp;
mod openapi;
mod pages;
mod partner;
mod phone;
mod quality;
mod reconcile;
mod reports;
mod residence;
mod residence_browser;
mod search;
mod security;
mod writes;
mod writes_browser;
