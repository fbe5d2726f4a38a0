//! Appendix tables as provinces type them, and what dancu checks in them (issue 16).
//!
//! - [`sheet`]: XLSX (every sheet, merged regions) and CSV (`,` or `;`) read with each
//!   value's place, so findings name cells in A1 notation;
//! - [`value`]: numbers typed the Vietnamese way (`2.208`, `15,81%`) or the English way;
//! - [`layout`]: where a table's header ends, which columns are counts, rates or labels,
//!   which rows are items, sections, totals;
//! - [`check`]: the consistency check (`dancu report check`): every inconsistency listed;
//! - [`forms`]: the fixed forms agencies submit figures on, and their validation.
//!
//! Pure: no I/O beyond the bytes handed in.

pub mod check;
pub mod forms;
pub mod layout;
pub mod sheet;
pub mod value;

#[cfg(test)]
mod tests;

use dancu_domain::Violation;
use serde::Serialize;

pub use check::check_sheets;
pub use sheet::{read_table, ReadError, Sheet};
pub use value::Value;

/// One finding: the cell (A1 notation on its sheet), the rule, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub sheet: String,
    pub cell: String,
    #[serde(skip)]
    pub row: usize,
    #[serde(skip)]
    pub col: usize,
    pub rule: &'static str,
    pub message_vi: String,
    pub message_en: String,
}

impl Issue {
    /// The finding as the project's error shape, its field the cell.
    pub fn violation(&self) -> Violation {
        Violation::new(self.cell.clone(), self.rule, self.message_vi.clone(), self.message_en.clone())
    }
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}!{}  {}  {} / {}", self.sheet, self.cell, self.rule, self.message_vi, self.message_en)
    }
}
