//! Submitted figures (issue 16, part 3): the unit's officers (an agency's, or the commune's
//! own) enter and submit a month's figures on a fixed form; the province's officers approve
//! them or return them with a reason; the unit corrects and submits again. Figures are
//! aggregates, not personal data: any role reads those of units in its scope. Every change
//! is written ahead in the audit log (`figures.save`, `.submit`, `.approve`, `.return`)
//! under `figures:<unit>:<month>:<form>`; a submission outside the caller's scope answers
//! like a missing one.

use chrono::Datelike;
use dancu_domain::Violation;
use dancu_tables::forms::{self, Entry, Figures};
use dancu_tables::Value;

use super::{now, Access, Outcome, Registry, RegistryError, Result};
use crate::figures::{
    self as fig, ApprovedFigure, FigureEvent, FigureFilter, FigureState, FigureSubmission, FigureValue,
    NewFigures,
};
use crate::model::{Page, Role, Scope};
use crate::StoreError;

/// What a unit saves: the values of one form for one unit and month, checked by the form's
/// rules; `submit` sends them for review at once.
#[derive(Debug, Clone)]
pub struct FigureDraft {
    pub unit: String,
    pub month: String,
    pub form: String,
    pub values: Figures,
    pub submit: bool,
    /// `form` or `upload`.
    pub source: String,
}

/// A submission with its values and history.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FigurePage {
    pub submission: FigureSubmission,
    pub values: Vec<FigureValue>,
    pub history: Vec<FigureEvent>,
}

fn invalid(v: Violation) -> RegistryError {
    RegistryError::Store(StoreError::Invalid(vec![v]))
}

/// A unit's province and commune: a 2025 commune, or a 2025 province (commune empty).
pub fn unit_place(code: &str) -> std::result::Result<(String, String), Violation> {
    let units = dancu_domain::admin_units();
    if let Some(c) = units.commune_2025(code) {
        return Ok((c.province_code.clone(), c.code.clone()));
    }
    if units.province_2025(code).is_some() {
        return Ok((code.to_string(), String::new()));
    }
    Err(Violation::new(
        "unit",
        "figures.unit",
        format!("\"{code}\" không phải mã xã hoặc mã tỉnh theo danh mục 2025"),
        format!("\"{code}\" is not a 2025 commune or province code"),
    ))
}

/// `YYYY-MM`, from 2020 to the current month (Vietnam time).
pub fn check_month(month: &str) -> std::result::Result<(), Violation> {
    let bad = || {
        Violation::new(
            "month",
            "figures.month",
            format!("Tháng \"{month}\" phải có dạng YYYY-MM, từ 2020-01 đến tháng hiện tại"),
            format!("month \"{month}\" must be YYYY-MM, from 2020-01 to the current month"),
        )
    };
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    if !(1..=12).contains(&m) || y < 2020 || (y, m) > (today.year(), today.month()) {
        return Err(bad());
    }
    Ok(())
}

fn subject(unit: &str, month: &str, form: &str) -> String {
    format!("figures:{unit}:{month}:{form}")
}

fn forbidden(rule: &'static str, vi: &str, en: &str) -> RegistryError {
    RegistryError::Forbidden(Violation::new("role", rule, vi, en))
}

impl Registry {
    /// Records an access to figures (aggregates: no personal-record check).
    async fn figures_log(&self, a: &Access, action: &str, subject: &str, outcome: Outcome) -> Result<()> {
        self.audit.record(Self::entry(a, action, subject, outcome)).await
    }

    /// Runs `write` once its attempt is on record, then records how it ended.
    async fn figures_write<T>(
        &self,
        a: &Access,
        action: &str,
        subject: &str,
        write: impl std::future::Future<Output = std::result::Result<T, StoreError>>,
    ) -> Result<T> {
        self.figures_log(a, action, subject, Outcome::Attempt).await?;
        let done = write.await;
        let outcome = if done.is_ok() { Outcome::Ok } else { Outcome::Failed };
        self.audit.record_later(vec![Self::entry(a, action, subject, outcome)]).await;
        Ok(done?)
    }

    /// Units enter figures: administrators, officers and agency officers, within scope.
    fn may_enter(a: &Access) -> Result<()> {
        if matches!(a.role, Role::Admin | Role::Officer | Role::Agency) {
            return Ok(());
        }
        Err(forbidden(
            "figures.role_enter",
            "Tài khoản này không được nhập số liệu",
            "this account may not enter figures",
        ))
    }

    /// The province reviews: administrators, officers and leaders of a province (or the
    /// nation), never the one who submitted.
    fn may_review(a: &Access, s: &FigureSubmission) -> Result<()> {
        if !matches!(a.role, Role::Admin | Role::Officer | Role::Leader)
            || matches!(a.scope, Scope::Commune(_))
        {
            return Err(forbidden(
                "figures.role_review",
                "Chỉ cán bộ cấp tỉnh được duyệt hoặc trả lại số liệu",
                "only a province's officers approve or return figures",
            ));
        }
        if s.submitted_by.as_deref() == Some(a.actor.as_str()) {
            return Err(forbidden(
                "figures.own_submission",
                "Không được tự duyệt số liệu do chính mình gửi",
                "you may not review figures you submitted yourself",
            ));
        }
        Ok(())
    }

    /// The submission `id` if the caller's scope covers its unit (else not found, audited
    /// as denied).
    async fn scoped_figures(&self, a: &Access, id: i64, action: &str) -> Result<FigureSubmission> {
        match fig::get(self.store.as_ref(), id).await? {
            Some(s) if a.scope.covers(&s.province, &s.commune) => Ok(s),
            Some(s) => {
                self.figures_log(a, action, &subject(&s.unit, &s.month, &s.form), Outcome::Denied).await?;
                Err(RegistryError::NotFound)
            }
            None => Err(RegistryError::NotFound),
        }
    }

    /// Saves a unit's figures for a month (a new submission, or a draft or returned one
    /// replaced whole), and submits them when asked. The values are checked against the
    /// form's rules again here; nothing is stored unless all hold.
    pub async fn save_figures(&self, a: &Access, d: &FigureDraft) -> Result<FigureSubmission> {
        let subj = subject(&d.unit, &d.month, &d.form);
        let action = if d.submit { "figures.submit" } else { "figures.save" };
        if let Err(e) = Self::may_enter(a) {
            self.figures_log(a, action, &subj, Outcome::Denied).await?;
            return Err(e);
        }
        let (province, commune) = unit_place(&d.unit).map_err(invalid)?;
        if !a.scope.covers(&province, &commune) {
            self.figures_log(a, action, &subj, Outcome::Denied).await?;
            return Err(RegistryError::OutOfScope(Violation::new(
                "unit",
                "scope.outside",
                format!("Đơn vị {} nằm ngoài phạm vi quản lý {}", d.unit, a.scope),
                format!("unit {} is outside your scope {}", d.unit, a.scope),
            )));
        }
        check_month(&d.month).map_err(invalid)?;
        let form = forms::form(&d.form).ok_or_else(|| {
            invalid(Violation::new(
                "form",
                "figures.form",
                format!("Không có biểu \"{}\" (services, outreach)", d.form),
                format!("no form \"{}\" (services, outreach)", d.form),
            ))
        })?;
        let entries: Vec<Entry> = d
            .values
            .iter()
            .map(|((row, column), v)| Entry {
                row: row.clone(),
                column: column.clone(),
                value: Value::Number { value: *v as f64, percent: false, decimals: Some(0) },
                place: format!("{row}.{column}"),
            })
            .collect();
        forms::validate(form, &entries, &[]).map_err(|e| RegistryError::Store(StoreError::Invalid(e)))?;
        let existing = fig::find(self.store.as_ref(), &d.unit, &d.month, &d.form).await?;
        if let Some(s) = &existing {
            if !s.state.editable() {
                self.figures_log(a, action, &subj, Outcome::Refused).await?;
                return Err(RegistryError::Store(StoreError::Conflict(Violation::new(
                    "state",
                    "figures.not_editable",
                    format!(
                        "Số liệu tháng {} đã ở trạng thái \"{}\": không sửa được",
                        d.month,
                        s.state.code()
                    ),
                    format!(
                        "the figures of {} are already {}: they cannot be changed",
                        d.month,
                        s.state.code()
                    ),
                ))));
            }
        }
        let n = NewFigures {
            unit: d.unit.clone(),
            province,
            commune,
            month: d.month.clone(),
            form: d.form.clone(),
            values: d
                .values
                .iter()
                .map(|((row, column), v)| FigureValue { row: row.clone(), column: column.clone(), value: *v })
                .collect(),
            state: if d.submit { FigureState::Submitted } else { FigureState::Draft },
            at: now(),
            actor: a.actor.clone(),
            source: d.source.clone(),
        };
        self.figures_write(a, action, &subj, fig::save(self.store.as_ref(), &n, existing.as_ref())).await
    }

    /// Sends a draft (or a returned submission, unchanged) for review.
    pub async fn submit_figures(&self, a: &Access, id: i64, version: i64) -> Result<FigureSubmission> {
        let s = self.scoped_figures(a, id, "figures.submit").await?;
        let subj = subject(&s.unit, &s.month, &s.form);
        if let Err(e) = Self::may_enter(a) {
            self.figures_log(a, "figures.submit", &subj, Outcome::Denied).await?;
            return Err(e);
        }
        let s = FigureSubmission { version, ..s };
        if !s.state.editable() {
            return Err(not_in_state(&s, "submit"));
        }
        let write =
            fig::transition(self.store.as_ref(), &s, "submit", FigureState::Submitted, "", now(), &a.actor);
        self.figures_write(a, "figures.submit", &subj, write).await
    }

    /// The province approves submitted figures: reports read them from now on.
    pub async fn approve_figures(&self, a: &Access, id: i64, version: i64) -> Result<FigureSubmission> {
        self.review(a, id, version, "approve", FigureState::Approved, "").await
    }

    /// The province returns submitted figures with a reason; the unit corrects them.
    pub async fn return_figures(
        &self,
        a: &Access,
        id: i64,
        version: i64,
        reason: &str,
    ) -> Result<FigureSubmission> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 1000 {
            return Err(invalid(Violation::new(
                "reason",
                "figures.reason_required",
                "Cần ghi lý do trả lại (1–1000 ký tự)",
                "a reason for returning is required (1–1000 characters)",
            )));
        }
        self.review(a, id, version, "return", FigureState::Returned, reason).await
    }

    async fn review(
        &self,
        a: &Access,
        id: i64,
        version: i64,
        what: &str,
        to: FigureState,
        reason: &str,
    ) -> Result<FigureSubmission> {
        let action = format!("figures.{what}");
        let s = self.scoped_figures(a, id, &action).await?;
        let subj = subject(&s.unit, &s.month, &s.form);
        if let Err(e) = Self::may_review(a, &s) {
            self.figures_log(a, &action, &subj, Outcome::Denied).await?;
            return Err(e);
        }
        let s = FigureSubmission { version, ..s };
        if s.state != FigureState::Submitted {
            return Err(not_in_state(&s, what));
        }
        let write = fig::transition(self.store.as_ref(), &s, what, to, reason, now(), &a.actor);
        self.figures_write(a, &action, &subj, write).await
    }

    /// A submission with its values and history, for a caller whose scope covers its unit.
    pub async fn figures_page(&self, a: &Access, id: i64) -> Result<FigurePage> {
        let submission = self.scoped_figures(a, id, "figures.read").await?;
        Ok(FigurePage {
            values: fig::values(self.store.as_ref(), id).await?,
            history: fig::events(self.store.as_ref(), id).await?,
            submission,
        })
    }

    /// The submission of a unit, month and form, if any and in scope.
    pub async fn find_figures(
        &self,
        a: &Access,
        unit: &str,
        month: &str,
        form: &str,
    ) -> Result<Option<FigurePage>> {
        match fig::find(self.store.as_ref(), unit, month, form).await? {
            Some(s) if a.scope.covers(&s.province, &s.commune) => self.figures_page(a, s.id).await.map(Some),
            _ => Ok(None),
        }
    }

    /// The submissions of units in the caller's scope (filters: state, form, month).
    pub async fn list_figures(&self, a: &Access, f: &FigureFilter) -> Result<Page<FigureSubmission>> {
        let mut f = f.clone();
        match &a.scope {
            Scope::Nation => {}
            Scope::Province(p) => f.province = Some(p.clone()),
            Scope::Commune(c) => f.commune = Some(c.clone()),
        }
        Ok(fig::list(self.store.as_ref(), &f).await?)
    }

    /// The approved values of these units (2025 communes or provinces) and months
    /// (`YYYY-MM`): what reports add up. Aggregates only, so not audited per read.
    pub async fn approved_figures(&self, units: &[String], months: &[String]) -> Result<Vec<ApprovedFigure>> {
        Ok(fig::approved(self.store.as_ref(), units, months).await?)
    }
}

fn not_in_state(s: &FigureSubmission, what: &str) -> RegistryError {
    RegistryError::Store(StoreError::Conflict(Violation::new(
        "state",
        "figures.transition_not_allowed",
        format!("Không thể {what} số liệu đang ở trạng thái \"{}\"", s.state.code()),
        format!("cannot {what} figures that are {}", s.state.code()),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_2025_communes_or_provinces() {
        assert_eq!(unit_place("00004").unwrap(), ("01".to_string(), "00004".to_string()));
        assert_eq!(unit_place("01").unwrap(), ("01".to_string(), String::new()));
        assert_eq!(unit_place("99999").unwrap_err().rule, "figures.unit");
        assert_eq!(unit_place("").unwrap_err().rule, "figures.unit");
    }

    #[test]
    fn months_from_2020_to_now() {
        assert!(check_month("2025-07").is_ok());
        for bad in ["2025-7", "2025-13", "2019-12", "2025/07", "abcd-ef", "9999-01", ""] {
            assert_eq!(check_month(bad).unwrap_err().rule, "figures.month", "{bad}");
        }
        let now = dancu_domain::date::vietnam_today(chrono::Utc::now());
        assert!(check_month(&now.format("%Y-%m").to_string()).is_ok());
    }
}
