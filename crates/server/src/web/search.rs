//! The search page: by personal ID or name (marks optional), date of birth and commune,
//! paginated, within the officer's scope.

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::html;

use super::{display, export};
use super::{error_page, lang_choice, layout, page, urlencode, Lang, WebUser};
use crate::api::citizens::SearchParams;
use crate::error::ApiError;
use crate::AppState;
use dancu_store::CitizenQuery;

pub const WEB_PURPOSE: &str = "tra cứu nghiệp vụ (web)";

pub async fn page_handler(
    s: AppState,
    lang: Lang,
    uri: Uri,
    user: WebUser,
    params: SearchParams,
) -> Response {
    let p = &user.0;
    let has_criteria = [&params.q, &params.name, &params.birth_date, &params.commune, &params.household]
        .iter()
        .any(|v| v.as_deref().is_some_and(|s| !s.trim().is_empty()));
    let results = if has_criteria {
        let q = match params.to_query() {
            Ok(q) => q,
            Err(v) => return error_page(lang, Some(p), ApiError::invalid(v)),
        };
        if let Some(f) = export::Format::of(&uri) {
            let access = p.access(WEB_PURPOSE);
            let all = export::all_pages(|limit, offset| {
                let q = CitizenQuery { limit, offset, ..q.clone() };
                let (r, access) = (&s.registry, &access);
                async move { r.search(access, &q).await }
            });
            return match all.await {
                Ok(items) => export::respond(f, &export::search_sheet(lang, &items)),
                Err(e) => error_page(lang, Some(p), e),
            };
        }
        match s.registry.search(&p.access(WEB_PURPOSE), &q).await {
            Ok(r) => Some(r),
            Err(e) => return error_page(lang, Some(p), e.into()),
        }
    } else {
        None
    };
    let val = |o: &Option<String>| o.clone().unwrap_or_default();
    let body = layout(
        lang,
        lang.t("Tìm kiếm công dân", "Search citizens"),
        Some(p),
        html! {
            section.card {
                h1 { (lang.t("Tìm kiếm công dân", "Search citizens")) }
                form method="get" action="/search" role="search" {
                    div.grid {
                        div {
                            label for="q" { (lang.t("Số định danh hoặc họ tên", "Personal ID or name")) }
                            input #q type="search" name="q" value=(val(&params.q)) placeholder=(lang.t("VD: Nguyen Van An", "e.g. Nguyen Van An"));
                        }
                        div {
                            label for="birth_date" { (lang.t("Ngày sinh", "Date of birth")) }
                            input #birth_date type="text" name="birth_date" value=(val(&params.birth_date)) placeholder="DD/MM/YYYY";
                        }
                        div {
                            label for="commune" { (lang.t("Mã xã (2025)", "Commune code (2025)")) }
                            input #commune type="text" name="commune" value=(val(&params.commune)) inputmode="numeric";
                        }
                        div { button #search-button type="submit" { (lang.t("Tìm", "Search")) } }
                    }
                }
            }
            @if let Some(r) = &results {
                section.card {
                    h2 data-testid="result-count" { (lang.t("Kết quả", "Results")) ": " (r.total) }
                    @if !r.items.is_empty() { (export::links(lang, &uri)) }
                    @if r.items.is_empty() {
                        p.muted { (lang.t("Không tìm thấy công dân nào trong phạm vi quản lý.", "No citizen found in your scope.")) }
                    } @else {
                        @let (l_id, l_name, l_dob, l_sex, l_commune) = (lang.t("Số định danh", "Personal ID"), lang.t("Họ và tên", "Full name"), lang.t("Ngày sinh", "Date of birth"), lang.t("Giới tính", "Sex"), lang.t("Xã/phường", "Commune"));
                        div.table-wrap {
                            table.stack data-testid="results" {
                                thead { tr { th { (l_id) } th { (l_name) } th { (l_dob) } th { (l_sex) } th { (l_commune) } } }
                                tbody {
                                    @for c in &r.items {
                                        tr {
                                            td data-label=(l_id) { a href=(format!("/citizens/{}", c.personal_id)) { (c.personal_id) } }
                                            td data-label=(l_name) { a.name href=(format!("/citizens/{}", c.personal_id)) { (c.full_name) }
                                                @if c.status != dancu_domain::LifeStatus::Alive { " " span.badge.deceased { (display::life_status(lang, c.status)) } } }
                                            td data-label=(l_dob) { (c.birth_date.display_vi()) }
                                            td data-label=(l_sex) { (display::sex(lang, c.sex)) }
                                            td data-label=(l_commune) { (display::commune_short(&c.scope_commune)) }
                                        }
                                    }
                                }
                            }
                        }
                        div.pager {
                            @if r.offset > 0 {
                                a rel="prev" href=(pager_link(&params, r.offset.saturating_sub(r.limit as u64))) { "← " (lang.t("Trang trước", "Previous")) }
                            }
                            span.muted { (r.offset + 1) "–" (r.offset + r.items.len() as u64) " / " (r.total) }
                            @if r.offset + (r.items.len() as u64) < r.total {
                                a rel="next" href=(pager_link(&params, r.offset + r.limit as u64)) { (lang.t("Trang sau", "Next")) " →" }
                            }
                        }
                    }
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

fn pager_link(p: &SearchParams, offset: u64) -> String {
    let mut s = format!("/search?offset={offset}");
    for (k, v) in [
        ("q", &p.q),
        ("birth_date", &p.birth_date),
        ("commune", &p.commune),
        ("household", &p.household),
        ("name", &p.name),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            s.push_str(&format!("&{k}={}", urlencode(v)));
        }
    }
    s
}

pub async fn search_page(State(s): State<AppState>, lang: Lang, uri: Uri, user: WebUser) -> Response {
    // `format` (a download) is the page's, not the search's.
    match Query::<SearchParams>::try_from_uri(&export::without_format(&uri)) {
        Ok(Query(params)) => page_handler(s, lang, uri, user, params).await,
        Err(e) => error_page(lang, Some(&user.0), e.into()),
    }
}
