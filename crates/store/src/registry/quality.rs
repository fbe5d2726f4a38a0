//! The audited paths to data-quality runs and worklists. Worklists name citizens, so they
//! are scoped and audited like a search; counts are not personal data. A run evaluates the
//! whole registry, so only officers with a province or national scope may start one.

use chrono::NaiveDate;
use dancu_domain::Violation;

use super::{now, Access, Outcome, Registry, RegistryError, Result};
use crate::model::{Page, Scope};
use crate::quality::{self, Counts, Finding, Mark, QualityRun, Rule, RuleCounts};
use crate::StoreError;

fn unknown_rule(code: &str) -> RegistryError {
    RegistryError::Store(StoreError::Invalid(vec![Violation::new(
        "rule",
        "quality.rule_unknown",
        format!("Không có quy tắc kiểm tra {code:?}"),
        format!("no data-quality rule {code:?}"),
    )]))
}

fn known(code: &str) -> Result<&'static Rule> {
    quality::rule(code).ok_or_else(|| unknown_rule(code))
}

impl Registry {
    /// Evaluates every rule now (cards expire by Vietnam's `today`). Refused to commune
    /// officers: a run covers the whole registry.
    pub async fn quality_run(&self, a: &Access, today: NaiveDate) -> Result<QualityRun> {
        if let Scope::Commune(_) = a.scope {
            self.log(a, "quality.run", "nation", Outcome::Denied).await?;
            return Err(RegistryError::OutOfScope(Violation::new(
                "scope",
                "quality.run_scope",
                "Chỉ cán bộ cấp tỉnh hoặc trung ương được chạy kiểm tra chất lượng dữ liệu",
                "only province or national officers may start a data-quality run",
            )));
        }
        // Every record is read: a bulk access, recorded before the run.
        self.log(a, "quality.run", &super::bulk_subject(&Scope::Nation), Outcome::Attempt).await?;
        let run = quality::run(self.store.as_ref(), &a.actor, today, now()).await;
        let outcome = if run.is_ok() { Outcome::Ok } else { Outcome::Failed };
        self.log(a, "quality.run", &super::bulk_subject(&Scope::Nation), outcome).await?;
        Ok(run?)
    }

    pub async fn quality_latest_run(&self) -> Result<Option<QualityRun>> {
        Ok(quality::latest_run(self.store.as_ref()).await?)
    }

    /// Every rule's counts in the caller's scope for the latest run.
    pub async fn quality_summary(&self, a: &Access) -> Result<Vec<(&'static Rule, Counts)>> {
        Ok(quality::summary(self.store.as_ref(), &a.scope).await?)
    }

    /// One rule's counts per run in the caller's scope, newest first.
    pub async fn quality_history(&self, a: &Access, rule: &str, limit: u32) -> Result<Vec<RuleCounts>> {
        known(rule)?;
        Ok(quality::history(self.store.as_ref(), &a.scope, rule, limit).await?)
    }

    /// A rule's worklist in the caller's scope (open findings, or with `marked` the ones
    /// marked impossible to fix); audited as `quality.worklist`.
    pub async fn quality_worklist(
        &self,
        a: &Access,
        rule: &str,
        marked: bool,
        limit: u32,
        offset: u64,
    ) -> Result<Page<Finding>> {
        known(rule)?;
        let page = quality::worklist(self.store.as_ref(), &a.scope, rule, marked, limit, offset).await?;
        let subject = format!("{}&rule={rule}&marked={marked}&offset={offset}", a.scope);
        let ids = page.items.iter().map(|f| f.subject.as_str()).filter(|s| s.len() == 12);
        self.log_rows(a, "quality.worklist", &subject, ids).await?;
        Ok(page)
    }

    /// Marks a finding of the latest run in the caller's scope as impossible to fix, with a
    /// reason (`Some`), or takes the mark back (`None`). A finding that is missing or out of
    /// scope answers `NotFound`. Audited under the subject.
    pub async fn quality_mark(
        &self,
        a: &Access,
        rule: &str,
        subject: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        known(rule)?;
        let action = if reason.is_some() { "quality.mark" } else { "quality.unmark" };
        self.writer(a, action, subject).await?;
        let store = self.store.as_ref();
        let found = quality::finding(store, &a.scope, rule, subject).await?;
        self.log(a, action, subject, if found.is_some() { Outcome::Ok } else { Outcome::NotFound }).await?;
        if found.is_none() {
            return Err(RegistryError::NotFound);
        }
        let mark = reason.map(|r| Mark { reason: r.into(), by: a.actor.clone(), at: now() });
        Ok(quality::set_mark(store, rule, subject, mark.as_ref()).await?)
    }
}
