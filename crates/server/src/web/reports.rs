//! `/reports` (and `/reports/dashboard`): the Project 06 dashboard. Filters unit, period and
//! service; headline figures against their targets; SVG charts drawn here (trend over the
//! last 12 months, units ranked by online share against the target, the online share per
//! service); the per-service table; download links for the report as DOCX, PDF, XLSX and
//! HTML (`/reports/download`). Figures are aggregate, so every role sees them (a leader
//! included), but only for units inside the officer's scope: a commune officer sees the
//! commune, a province officer the province and its communes.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

use dancu_domain::Violation;
use dancu_report::indicators::{fmt_count, rate};
use dancu_report::{charts, Format, Narrative, Period, Report, ReportUnit};
use dancu_store::registry::RegistryError;
use dancu_store::Scope;

use super::{error_page, lang_choice, layout, page, urlencode, Lang, WebUser};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

const PURPOSE: &str = "báo cáo, chỉ đạo điều hành Đề án 06";

#[derive(Deserialize, Default)]
pub struct Filters {
    unit: Option<String>,
    period: Option<String>,
    service: Option<String>,
    format: Option<String>,
}

fn today() -> chrono::NaiveDate {
    dancu_domain::date::vietnam_today(chrono::Utc::now())
}

/// The officer's own unit: the default filter.
fn own_unit(p: &Principal) -> String {
    match &p.scope {
        Scope::Nation => "nation".into(),
        Scope::Province(c) | Scope::Commune(c) => c.clone(),
    }
}

/// The filters read and checked: unit inside the scope, a valid period and service.
fn resolve(p: &Principal, f: &Filters) -> Result<(ReportUnit, Period, Option<String>), ApiError> {
    let unit_text = f.unit.clone().filter(|u| !u.trim().is_empty()).unwrap_or_else(|| own_unit(p));
    let unit = ReportUnit::parse(&unit_text)?;
    if !unit.within(&p.scope) {
        return Err(RegistryError::OutOfScope(Violation::new(
            "unit",
            "report.unit_out_of_scope",
            "Đơn vị báo cáo nằm ngoài phạm vi của tài khoản",
            "the report's unit is outside your scope",
        ))
        .into());
    }
    let t = today();
    let period = match f.period.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Period::parse(s)?,
        None => Period::parse(&format!("{}", t.format("%Y-%m")))?,
    };
    let service = f.service.clone().filter(|s| !s.is_empty());
    if let Some(s) = &service {
        if dancu_domain::services::service(s).is_none() {
            return Err(Violation::new(
                "service",
                "service.unknown",
                "Không có thủ tục này",
                "no such service",
            )
            .into());
        }
    }
    Ok((unit, period, service))
}

fn failure(e: anyhow::Error) -> ApiError {
    match e.downcast::<RegistryError>() {
        Ok(r) => r.into(),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "report failed");
            ApiError::internal()
        }
    }
}

async fn report(s: &AppState, p: &Principal, unit: &ReportUnit, period: &Period) -> Result<Report, ApiError> {
    dancu_report::build(
        &s.registry,
        &p.access(PURPOSE),
        unit,
        period,
        &s.registry,
        Narrative::default(),
        today(),
    )
    .await
    .map_err(failure)
}

fn kpi(label: &str, value: String, note: Option<String>, ok: Option<bool>) -> Markup {
    let class = match ok {
        Some(true) => "kpi ok",
        Some(false) => "kpi missed",
        None => "kpi",
    };
    html! { div class=(class) { div.kpi-label { (label) } div.kpi-value { (value) } @if let Some(n) = note { div.muted { (n) } } } }
}

fn indicator_kpi(lang: Lang, r: &Report, code: &str) -> Markup {
    let Some((ind, v)) = r.indicators.iter().find(|(i, _)| i.code == code) else { return html! {} };
    let note = ind.target.map(|t| {
        let t = if ind.unit == "%" { format!("{t}%") } else { t.to_string() };
        format!("{}: {t}", lang.t("Chỉ tiêu", "Target"))
    });
    kpi(lang.t(&ind.name_vi, &ind.name_en), v.display(), note, ind.meets(v))
}

pub async fn dashboard(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Query(f): Query<Filters>,
) -> Response {
    let (unit, period, service) = match resolve(&p, &f) {
        Ok(v) => v,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let access = p.access(PURPOSE);
    let (r, trend) = match tokio::try_join!(report(&s, &p, &unit, &period), async {
        dancu_report::compute::trend(&s.registry, &access, &unit, &period, service.as_deref(), 12, today())
            .await
            .map_err(failure)
    }) {
        Ok(v) => v,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let target = dancu_report::indicators::indicator("apps_online_share").and_then(|i| i.target);
    let mut ranking: Vec<(String, Option<f64>)> =
        r.units.iter().map(|u| (u.name.clone(), rate(u.counts.online, u.counts.received))).collect();
    ranking.sort_by(|a, b| b.1.unwrap_or(-1.0).total_cmp(&a.1.unwrap_or(-1.0)).then(a.0.cmp(&b.0)));
    let services: Vec<(String, Option<f64>)> = r
        .services
        .iter()
        .filter(|x| service.as_ref().is_none_or(|s| *s == x.code))
        .map(|x| (x.name_vi.clone(), rate(x.counts.online, x.counts.received)))
        .collect();
    let query = |format: &str| {
        format!(
            "/reports/download?unit={}&period={}&format={format}",
            urlencode(&unit.reference()),
            urlencode(&period.to_string())
        )
    };
    let total = r.service_total();
    let selected = |code: &str| service.as_deref() == Some(code);
    let body = layout(
        lang,
        lang.t("Báo cáo Đề án 06", "Project 06 reports"),
        Some(&p),
        html! {
            section.card {
                h1 { (lang.t("Báo cáo, chỉ đạo điều hành Đề án 06", "Project 06 dashboard")) }
                form.grid method="get" action="/reports" data-testid="report-filters" {
                    label { (lang.t("Đơn vị", "Unit"))
                        input name="unit" value=(unit.reference()) list="report-units" data-testid="filter-unit";
                        datalist #report-units {
                            option value=(own_unit(&p)) {}
                            @for c in unit.children() { option value=(c.code) { (c.name) } }
                        }
                    }
                    label { (lang.t("Kỳ báo cáo", "Period")) " (YYYY-MM, YYYY-MM/16, YYYY-Qn, YYYY-Hn, YYYY)"
                        input name="period" value=(period.to_string()) data-testid="filter-period";
                    }
                    label { (lang.t("Thủ tục", "Service"))
                        select name="service" data-testid="filter-service" {
                            option value="" { (lang.t("Tất cả", "All")) }
                            @for x in dancu_domain::services::catalogue().iter().filter(|x| x.essential) {
                                option value=(x.code) selected[selected(&x.code)] { (lang.t(&x.name_vi, &x.name_en)) }
                            }
                        }
                    }
                    button type="submit" { (lang.t("Xem", "Show")) }
                }
                p data-testid="report-scope" { strong { (r.unit.name) } " · " (period.label_vi()) }
                p.downloads data-testid="report-downloads" { (lang.t("Tải báo cáo", "Download")) ": "
                    @for fmt in Format::ALL { a href=(query(fmt.extension())) data-format=(fmt.extension()) { (fmt.extension().to_uppercase()) } " " }
                }
            }
            section.card {
                div.kpis data-testid="report-kpis" {
                    (kpi(lang.t("Hồ sơ tiếp nhận", "Applications received"), fmt_count(total.received), None, None))
                    (indicator_kpi(lang, &r, "apps_online_share"))
                    (indicator_kpi(lang, &r, "apps_on_time_share"))
                    (indicator_kpi(lang, &r, "apps_overdue"))
                    (indicator_kpi(lang, &r, "cards_handed_over"))
                    (indicator_kpi(lang, &r, "eid_registered"))
                    (indicator_kpi(lang, &r, "quality_remaining"))
                }
            }
            section.card data-testid="chart-trend" {
                (PreEscaped(charts::trend(&trend, lang.t("Hồ sơ 12 tháng gần nhất", "Applications over the last 12 months"))))
            }
            section.card data-testid="chart-ranking" {
                (PreEscaped(charts::bars(&ranking, target, lang.t("Xếp hạng đơn vị theo tỷ lệ trực tuyến", "Units ranked by online share"))))
            }
            section.card data-testid="chart-services" {
                (PreEscaped(charts::bars(&services, target, lang.t("Tỷ lệ trực tuyến theo thủ tục", "Online share per service"))))
            }
            section.card {
                div.table-wrap data-testid="report-services" {
                    (PreEscaped(dancu_report::html::table(&dancu_report::content::service_table(&r), "stack")))
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

pub async fn download(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Query(f): Query<Filters>,
) -> Response {
    let made = async {
        let (unit, period, _) = resolve(&p, &f)?;
        let format = Format::parse(f.format.as_deref().unwrap_or(""))?;
        let r = report(&s, &p, &unit, &period).await?;
        let bytes = dancu_report::render(&r, format).map_err(failure)?;
        let name = format!(
            "bao-cao-de-an-06-{}-{}.{}",
            unit.reference().replace(':', "-"),
            period.to_string().replace('/', "-"),
            format.extension()
        );
        Ok::<_, ApiError>((format, name, bytes))
    };
    match made.await {
        Ok((format, name, bytes)) => (
            [
                (header::CONTENT_TYPE, format.media_type().to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}
