//! A report's figures: the counts of the unit's scopes read through the audited registry,
//! the approved submitted figures, and every indicator, service row and unit row computed
//! from them.

use chrono::NaiveDate;
use dancu_domain::services;
use dancu_store::registry::{Access, Registry};
use dancu_store::report_counts::{ReportCounts, ReportWindow};

use crate::figures::{ApprovedFigure, FigureSource, FORM_OUTREACH};
use crate::indicators::{catalogue, AppCounts, Bucket, Indicator, Value};
use crate::narrative::Narrative;
use crate::period::Period;
use crate::unit::ReportUnit;

/// A row of the per-service table (Appendix I).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub level: &'static str,
    pub counts: AppCounts,
    /// Why files were not accepted, with counts (platform data only).
    pub reasons: Vec<(String, u64)>,
    /// Submitted figures were added to this row.
    pub submitted: bool,
}

/// A row of the per-unit table (Appendix II).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRow {
    pub code: String,
    pub name: String,
    pub counts: AppCounts,
    /// Propaganda sessions, participants and media items submitted by the unit.
    pub outreach: [i64; 3],
}

/// Data-cleaning work by kind (quality rule).
#[derive(Debug, Clone, PartialEq)]
pub struct QualityRow {
    pub rule: String,
    pub name_vi: String,
    pub counts: [i64; 4],
}

/// Everything a rendered report shows.
#[derive(Debug, Clone)]
pub struct Report {
    pub unit: ReportUnit,
    pub period: Period,
    /// The day open files were judged overdue on.
    pub as_of: NaiveDate,
    pub indicators: Vec<(&'static Indicator, Value)>,
    pub services: Vec<ServiceRow>,
    pub units: Vec<UnitRow>,
    /// Submitted figures filed by the province itself (not by a commune): a row of their own.
    pub province_level: Option<UnitRow>,
    pub quality: Vec<QualityRow>,
    pub cards: Vec<(String, i64)>,
    pub narrative: Narrative,
}

impl Report {
    pub fn value(&self, code: &str) -> Option<Value> {
        self.indicators.iter().find(|(i, _)| i.code == code).map(|(_, v)| *v)
    }

    /// The total row of the per-service table.
    pub fn service_total(&self) -> AppCounts {
        let mut t = AppCounts::default();
        for r in &self.services {
            t.add(&r.counts);
        }
        t
    }
}

/// The window of a period for `scope`, overdue judged on the period's last day or today.
pub fn window(scope: dancu_store::Scope, period: &Period, today: NaiveDate) -> ReportWindow {
    let (from, to) = period.window();
    ReportWindow { scope, from, to, as_of: period.last.min(today) }
}

/// Reads the counts of every scope of `unit` through the registry.
pub async fn read_counts(
    registry: &Registry,
    a: &Access,
    unit: &ReportUnit,
    period: &Period,
    today: NaiveDate,
) -> anyhow::Result<Vec<ReportCounts>> {
    let mut out = Vec::new();
    for scope in unit.scopes() {
        out.push(registry.report_counts(a, &window(scope, period, today)).await?);
    }
    Ok(out)
}

/// Reads the counts and the approved figures, then computes the report.
pub async fn build(
    registry: &Registry,
    a: &Access,
    unit: &ReportUnit,
    period: &Period,
    figures: &dyn FigureSource,
    narrative: Narrative,
    today: NaiveDate,
) -> anyhow::Result<Report> {
    let counts = read_counts(registry, a, unit, period, today).await?;
    let mut units: Vec<String> = unit.communes();
    if matches!(unit.kind, crate::unit::UnitKind::Province | crate::unit::UnitKind::Nation) {
        units.extend(
            dancu_domain::admin_units()
                .provinces_2025()
                .iter()
                .filter(|p| unit.kind == crate::unit::UnitKind::Nation || p.code == unit.code)
                .map(|p| p.code.clone()),
        );
    }
    let approved = figures.approved(&units, &period.months()).await?;
    Ok(compute(
        unit,
        period,
        &counts,
        &approved,
        narrative,
        window(dancu_store::Scope::Nation, period, today).as_of,
    ))
}

/// Computes a report from counts already read (pure: what the tests compare with direct counts).
pub fn compute(
    unit: &ReportUnit,
    period: &Period,
    counts: &[ReportCounts],
    figures: &[ApprovedFigure],
    narrative: Narrative,
    as_of: NaiveDate,
) -> Report {
    let holds = |c: &str| unit.holds(c);
    let holds_sub = |u: &str| unit.holds_submitted(u);
    let whole = Bucket::collect(counts, figures, &holds, &holds_sub);
    let indicators = catalogue().iter().map(|i| (i, i.eval(&whole))).collect();

    let mut services: Vec<ServiceRow> = services::catalogue()
        .iter()
        .filter(|s| s.essential || whole.services.contains_key(&s.code))
        .map(|s| ServiceRow {
            code: s.code.clone(),
            name_vi: s.name_vi.clone(),
            name_en: s.name_en.clone(),
            level: s.level.code(),
            counts: whole.service(&s.code),
            reasons: Vec::new(),
            submitted: whole.submitted_services.contains_key(&s.code),
        })
        .collect();
    for c in counts {
        for r in c.not_accepted.iter().filter(|r| unit.holds(&r.commune)) {
            if let Some(row) = services.iter_mut().find(|s| s.code == r.service_code) {
                match row.reasons.iter_mut().find(|(why, _)| *why == r.reason) {
                    Some((_, n)) => *n += r.count,
                    None => row.reasons.push((r.reason.clone(), r.count)),
                }
            }
        }
    }

    let outreach = |b: &Bucket| {
        let get = |row: &str| {
            b.submitted.get(&(FORM_OUTREACH.into(), row.into(), "count".into())).copied().unwrap_or(0)
        };
        [get("propaganda_sessions"), get("propaganda_participants"), get("media_items")]
    };
    let units = unit
        .children()
        .into_iter()
        .map(|child| {
            let set: std::collections::HashSet<&str> = child.communes.iter().map(String::as_str).collect();
            let in_child = |c: &str| set.contains(c);
            let sub_in_child = |u: &str| set.contains(u) || (u.len() == 2 && child.code == u);
            let b = Bucket::collect(counts, figures, &in_child, &sub_in_child);
            UnitRow { code: child.code, name: child.name, counts: b.all_services(), outreach: outreach(&b) }
        })
        .collect();
    let province_level = match unit.kind {
        crate::unit::UnitKind::Province => {
            let code = unit.code.clone();
            let only_province = |u: &str| u == code;
            let b = Bucket::collect(&[], figures, &|_| false, &only_province);
            (!b.submitted.is_empty()).then(|| UnitRow {
                code: unit.code.clone(),
                name: "Cấp tỉnh".into(),
                counts: b.all_services(),
                outreach: outreach(&b),
            })
        }
        _ => None,
    };

    let quality = dancu_store::quality::RULES
        .iter()
        .map(|r| QualityRow {
            rule: r.code.into(),
            name_vi: r.name_vi.into(),
            counts: whole.quality.get(r.code).copied().unwrap_or_default(),
        })
        .collect();
    let cards =
        ["intake", "sent_to_production", "card_received", "handed_over", "rejected", "error", "cancelled"]
            .iter()
            .map(|s| (s.to_string(), whole.cards.get(*s).copied().unwrap_or(0)))
            .collect();

    Report {
        unit: unit.clone(),
        period: *period,
        as_of,
        indicators,
        services,
        units,
        province_level,
        quality,
        cards,
        narrative,
    }
}

/// The dashboard's trend: received and online applications per month (`MM/YYYY`), for the
/// `n` months ending with the period's month, optionally of one service.
pub async fn trend(
    registry: &Registry,
    a: &Access,
    unit: &ReportUnit,
    period: &Period,
    service: Option<&str>,
    n: u32,
    today: NaiveDate,
) -> anyhow::Result<Vec<(String, i64, i64)>> {
    let months = period.trailing_months(n);
    let (Some(first), Some(last)) = (months.first(), months.last()) else { return Ok(vec![]) };
    let span = Period { first: first.first, ..*last };
    let mut points: Vec<(String, i64, i64)> =
        months.iter().map(|m| (format!("{:02}/{}", m.month, m.year), 0, 0)).collect();
    for scope in unit.scopes() {
        let rows = registry.report_months(a, &window(scope, &span, today), unit.is_legacy()).await?;
        for r in rows {
            if (unit.is_legacy() && !unit.holds(&r.commune)) || service.is_some_and(|s| s != r.service_code) {
                continue;
            }
            let label = r.month.get(5..7).map(|m| format!("{m}/{}", &r.month[..4])).unwrap_or_default();
            if let Some(p) = points.iter_mut().find(|p| p.0 == label) {
                p.1 += i64::try_from(r.received).unwrap_or(i64::MAX);
                p.2 += i64::try_from(r.online).unwrap_or(i64::MAX);
            }
        }
    }
    Ok(points)
}
