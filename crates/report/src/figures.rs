//! Figures submitted by agencies that run services outside dancu (electricity, tax,
//! education …) and the propaganda and training counts. The submission, validation and
//! approval workflow is the `figures` side's (crates/tables); a report reads only the
//! approved rows, through [`FigureSource`].

use async_trait::async_trait;

/// The two forms: `services` (a row per service code of `data/services.csv`; columns
/// received, online, on_time, overdue, not_accepted) and `outreach` (rows
/// propaganda_sessions, propaganda_participants, training_courses, trained_people,
/// media_items; the column `count`).
pub const FORM_SERVICES: &str = "services";
pub const FORM_OUTREACH: &str = "outreach";
pub const SERVICE_COLUMNS: [&str; 5] = ["received", "online", "on_time", "overdue", "not_accepted"];
pub const OUTREACH_ROWS: [&str; 5] =
    ["propaganda_sessions", "propaganda_participants", "training_courses", "trained_people", "media_items"];

/// One approved figure: the figures store's own row type (`unit` is the submitting 2025
/// commune or province, `month` is `YYYY-MM`).
pub use dancu_store::figures::ApprovedFigure;

/// Where approved figures come from (the figures store at run time; a list in tests).
#[async_trait]
pub trait FigureSource: Send + Sync {
    /// The approved figures of `units` (2025 codes; empty = every unit) for `months`.
    async fn approved(&self, units: &[String], months: &[String]) -> anyhow::Result<Vec<ApprovedFigure>>;
}

/// A fixed list (tests, and reports without submitted figures).
#[derive(Debug, Clone, Default)]
pub struct FixedFigures(pub Vec<ApprovedFigure>);

#[async_trait]
impl FigureSource for FixedFigures {
    async fn approved(&self, units: &[String], months: &[String]) -> anyhow::Result<Vec<ApprovedFigure>> {
        Ok(self
            .0
            .iter()
            .filter(|f| (units.is_empty() || units.contains(&f.unit)) && months.contains(&f.month))
            .cloned()
            .collect())
    }
}

/// The figures store (migration 0025): the approved submissions. Figures are aggregates an
/// agency typed, not personal data, so reading them is not an audited access.
#[async_trait]
impl FigureSource for dancu_store::registry::Registry {
    async fn approved(&self, units: &[String], months: &[String]) -> anyhow::Result<Vec<ApprovedFigure>> {
        Ok(self.approved_figures(units, months).await?)
    }
}
