//! The `dancu` command's integration tests, one binary: the command as an operator runs it,
//! on SQLite and PostgreSQL.

mod common;

mod audit;
mod chains_crash;
mod client;
mod demo;
mod demo_portal;
mod demo_report;
mod durability;
mod excel_in;
mod flood;
mod import;
mod officer;
mod partner;
mod registry_dedup;
mod report_check;
mod serve_proc;
mod subscribers;
mod two_servers;
