//! The search page: by personal ID or name (marks optional), date of birth and commune,
//! paginated, within the officer's scope.

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::html;

use dancu_domain::units::Commune;
use dancu_domain::{admin_units, fold_key, Violation};
use dancu_store::Scope;

use super::{display, export};
use super::{error_page, lang_choice, layout, page, urlencode, Lang, WebUser};
use crate::api::citizens::SearchParams;
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
    // A refusal keeps the form as typed, with the reason next to its field.
    let mut errors: Vec<Violation> = Vec::new();
    let results = if has_criteria {
        let mut coded = params.clone();
        match commune_code(&p.scope, params.commune.as_deref()) {
            Ok(code) => coded.commune = code,
            Err(v) => errors.push(v),
        }
        match coded.to_query() {
            Ok(q) if errors.is_empty() => {
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
            }
            Ok(_) => None,
            Err(v) => {
                errors.extend(v);
                None
            }
        }
    } else {
        None
    };
    let err = |field: &str| {
        html! { @for v in errors.iter().filter(|v| v.field == field) {
            p.field-error data-testid={"error-" (field)} { (match lang { Lang::Vi => &v.message_vi, Lang::En => &v.message_en }) }
        } }
    };
    let communes = communes_in(&p.scope);
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
                            input #q type="search" name="q" value=(val(&params.q)) placeholder=(lang.t("VD: Nguyen Van An, An 1985", "e.g. Nguyen Van An, An 1985"));
                            (err("q"))
                        }
                        div {
                            label for="birth_date" { (lang.t("Ngày sinh", "Date of birth")) }
                            input #birth_date type="text" name="birth_date" value=(val(&params.birth_date)) placeholder="DD/MM/YYYY";
                            (err("birth_date"))
                        }
                        div {
                            label for="commune" { (lang.t("Xã, phường", "Commune")) }
                            input #commune type="text" name="commune" value=(val(&params.commune)) list="communes" placeholder=(lang.t("Tên hoặc mã xã", "Name or code"));
                            @if !communes.is_empty() {
                                datalist #communes { @for c in &communes { option value=(c.name) {} } }
                            }
                            (err("commune"))
                        }
                        div { button #search-button type="submit" { (lang.t("Tìm", "Search")) } }
                    }
                }
                p { a data-testid="new-birth-link" href="/citizens/new-birth" { (lang.t("Đăng ký khai sinh (cấp số định danh cho trẻ mới sinh)", "Register a newborn (allocate a personal ID)")) } }
            }
            @if let Some(r) = &results {
                section.card {
                    h2 data-testid="result-count" { (lang.t("Kết quả", "Results")) ": " (r.total) }
                    @if !r.items.is_empty() { (export::links(lang, &uri)) }
                    @if r.items.is_empty() {
                        p.muted { (lang.t("Không tìm thấy công dân nào trong phạm vi quản lý.", "No citizen found in your scope.")) }
                        ul.hint data-testid="search-hint" {
                            li { (lang.t("Gõ không dấu cũng được; thứ tự các từ không quan trọng (VD: \"an nguyen\").", "Marks are optional and word order does not matter (e.g. \"an nguyen\").")) }
                            li { (lang.t("Thử chỉ tên và năm sinh (VD: \"An 1985\"), hoặc vài chữ đầu của mỗi từ.", "Try the given name and birth year (e.g. \"An 1985\"), or the first letters of each word.")) }
                            li { (lang.t("Bỏ bớt điều kiện ngày sinh hoặc xã, phường.", "Leave out the date of birth or the commune.")) }
                            li { (lang.t("Người cư trú ngoài đơn vị của bạn không hiện ở đây.", "People living outside your unit are not shown here.")) }
                        }
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

/// The 2025 communes an officer's scope covers, for the commune field's suggestions (none
/// for a nation-wide scope: over 3,000 names would weigh down every page).
fn communes_in(scope: &Scope) -> Vec<&'static Commune> {
    let units = admin_units();
    match scope {
        Scope::Nation => Vec::new(),
        Scope::Province(p) => {
            units.communes_of_province_2025(p).iter().filter_map(|c| units.commune_2025(c)).collect()
        }
        Scope::Commune(c) => units.commune_2025(c).into_iter().collect(),
    }
}

/// The commune field as a 2025 code: a code as typed, or a commune name (marks and the
/// "Xã"/"Phường" prefix optional) that names exactly one commune in the officer's scope.
fn commune_code(scope: &Scope, typed: Option<&str>) -> Result<Option<String>, Violation> {
    let Some(text) = typed.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Some(text.to_string()));
    }
    let want = fold_key(text);
    let units = admin_units();
    let candidates: Vec<&Commune> = match scope {
        Scope::Nation => units
            .provinces_2025()
            .iter()
            .flat_map(|p| units.communes_of_province_2025(&p.code))
            .filter_map(|c| units.commune_2025(c))
            .collect(),
        _ => communes_in(scope),
    };
    let found: Vec<&Commune> = candidates
        .into_iter()
        .filter(|c| {
            let name = fold_key(&c.name);
            name == want || name.strip_prefix(&fold_key(&c.kind)).map(str::trim) == Some(want.as_str())
        })
        .collect();
    match found.as_slice() {
        [one] => Ok(Some(one.code.clone())),
        [] => Err(Violation::new(
            "commune",
            "unit.unknown",
            "Không có xã, phường nào tên như vậy trong phạm vi của bạn",
            "no commune of that name in your scope",
        )),
        _ => Err(Violation::new(
            "commune",
            "unit.ambiguous",
            format!("Có {} xã, phường cùng tên; hãy nhập mã xã", found.len()),
            format!("{} communes have that name; enter the commune code", found.len()),
        )),
    }
}
