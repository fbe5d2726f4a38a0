//! Report figures (issue 16): aggregate counts, open to every role (a leader included), for
//! a scope inside the caller's; the read is recorded like the other counts.

use dancu_domain::Violation;

use super::{Access, Outcome, Registry, RegistryError, Result};
use crate::report_counts::{self, ReportCounts, ReportWindow};

impl Registry {
    /// Every figure of a report for `w` (its scope must lie in the caller's).
    pub async fn report_counts(&self, a: &Access, w: &ReportWindow) -> Result<ReportCounts> {
        if !a.scope.contains(&w.scope) {
            return Err(out_of_scope());
        }
        let counts = report_counts::report_counts(self.store.as_ref(), w).await?;
        self.audit.record(Self::entry(a, "report.counts", &w.scope.to_string(), Outcome::Ok)).await?;
        Ok(counts)
    }
}

impl Registry {
    /// Applications per month and service for the dashboard's trend (scope checked as above).
    pub async fn report_months(
        &self,
        a: &Access,
        w: &ReportWindow,
        by_commune: bool,
    ) -> Result<Vec<report_counts::MonthFigures>> {
        if !a.scope.contains(&w.scope) {
            return Err(out_of_scope());
        }
        let months = report_counts::month_counts(self.store.as_ref(), w, by_commune).await?;
        self.audit.record(Self::entry(a, "report.months", &w.scope.to_string(), Outcome::Ok)).await?;
        Ok(months)
    }
}

fn out_of_scope() -> RegistryError {
    RegistryError::OutOfScope(Violation::new(
        "unit",
        "report.unit_out_of_scope",
        "Đơn vị báo cáo nằm ngoài phạm vi của tài khoản",
        "the report's unit is outside the caller's scope",
    ))
}
