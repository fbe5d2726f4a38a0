//! Submitted figures (`/figures`, issue 16 part 3): an agency's or a commune's officers enter
//! a month's figures on a fixed form, one input per cell, or upload the same table as XLSX
//! or CSV (a template to download); a refused entry stays filled, with each violation at its
//! cell (an upload's named by the cell, `D5`), and nothing is stored until all hold. The
//! list pages through the submissions in scope by state; a submission's page shows its
//! values, history and the moves the caller may make (submit; approve, or return with a
//! reason, for the province).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use dancu_domain::{admin_units, Violation};
use dancu_store::figures::{FigureState, FigureSubmission};
use dancu_store::registry::{FigureDraft, FigurePage};
use dancu_store::{Role, Scope};
use dancu_tables::forms::{self, Entry, Form as FigForm, ONLINE_PCT};
use dancu_tables::Value;

use super::display;
use super::forms::{Problems, Typed};
use super::list::{self, View};
use super::{error_page, lang_choice, layout, page, Lang, WebUser};
use crate::api::figures::{list_filter, move_figures, parse_figures_id, ListParams, FIGURES_PURPOSE};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

/// Largest table accepted by upload.
pub const MAX_UPLOAD: usize = 4 * 1024 * 1024;
const PAGE: u32 = 50;

pub fn state_name(lang: Lang, s: FigureState) -> &'static str {
    match s {
        FigureState::Draft => lang.t("Bản nháp", "Draft"),
        FigureState::Submitted => lang.t("Chờ duyệt", "Awaiting review"),
        FigureState::Approved => lang.t("Đã duyệt", "Approved"),
        FigureState::Returned => lang.t("Bị trả lại", "Returned"),
    }
}

fn action_name(lang: Lang, a: &str) -> &'static str {
    match a {
        "save" => lang.t("Lưu nháp", "Saved"),
        "submit" => lang.t("Gửi duyệt", "Submitted"),
        "approve" => lang.t("Duyệt", "Approved"),
        "return" => lang.t("Trả lại", "Returned"),
        _ => lang.t("Khác", "Other"),
    }
}

fn form_name(lang: Lang, f: &FigForm) -> &'static str {
    lang.t(f.name_vi, f.name_en)
}

fn line_name(lang: Lang, l: &forms::Line) -> &str {
    match lang {
        Lang::Vi => &l.name_vi,
        Lang::En => &l.name_en,
    }
}

/// A unit by name: a 2025 commune with its province, or a province.
pub fn unit_name(code: &str) -> String {
    let units = admin_units();
    match units.commune_2025(code) {
        Some(_) => display::commune(code),
        None => units.province_2025(code).map(|p| p.name.clone()).unwrap_or_else(|| code.to_string()),
    }
}

/// The units an officer enters figures for: their commune, or their province and its
/// communes; empty for a nation-wide officer (who types a code).
fn unit_options(scope: &Scope) -> Vec<(String, String)> {
    let units = admin_units();
    match scope {
        Scope::Commune(c) => vec![(c.clone(), unit_name(c))],
        Scope::Province(p) => {
            let mut v = vec![(p.clone(), unit_name(p))];
            let mut communes: Vec<(String, String)> = units
                .communes_of_province_2025(p)
                .iter()
                .filter_map(|c| units.commune_2025(c))
                .map(|c| (c.code.clone(), c.name.clone()))
                .collect();
            communes.sort_by(|a, b| a.1.cmp(&b.1));
            v.extend(communes);
            v
        }
        Scope::Nation => vec![],
    }
}

fn enters(p: &Principal) -> bool {
    matches!(p.role, Role::Admin | Role::Officer | Role::Agency)
}

fn reviews(p: &Principal) -> bool {
    matches!(p.role, Role::Admin | Role::Officer | Role::Leader) && !matches!(p.scope, Scope::Commune(_))
}

fn this_month() -> String {
    let d = dancu_domain::date::vietnam_today(chrono::Utc::now());
    format!("{}", d.format("%Y-%m"))
}

fn pick_fields(lang: Lang, p: &Principal, t: &Typed, problems: &Problems) -> Markup {
    let units = unit_options(&p.scope);
    html! {
        div.field {
            label for="unit" { (lang.t("Đơn vị", "Unit")) }
            @if units.is_empty() {
                input #unit type="text" name="unit" value=(t.get("unit")) required inputmode="numeric" pattern="[0-9]{2}([0-9]{3})?"
                    placeholder=(lang.t("Mã xã (5 số) hoặc mã tỉnh (2 số)", "Commune (5 digits) or province (2 digits) code"));
            } @else {
                select #unit name="unit" {
                    @for (code, name) in &units { option value=(code) selected[code == t.get("unit")] { (name) } }
                }
            }
            (problems.at(lang, "unit"))
        }
        div.field {
            label for="month" { (lang.t("Tháng báo cáo", "Month")) }
            input #month type="month" name="month" value=(t.get("month")) required;
            (problems.at(lang, "month"))
        }
        div.field {
            label for="form" { (lang.t("Biểu số liệu", "Form")) }
            select #form name="form" {
                @for f in forms::forms() { option value=(f.code) selected[f.code == t.get("form")] { (form_name(lang, f)) } }
            }
        }
    }
}

// ---- the list ----

pub async fn list_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Response {
    let mut f = match list::filtered(q, list_filter) {
        Ok((_, f)) => f,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    f.limit = PAGE;
    let list = match s.registry.list_figures(&p.access(FIGURES_PURPOSE), &f).await {
        Ok(l) => l,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let state_q = f.state.map(|s| format!("&state={}", s.code())).unwrap_or_default();
    let title = lang.t("Số liệu của các đơn vị", "Units' submitted figures");
    let (l_unit, l_month, l_form, l_state, l_when) = (
        lang.t("Đơn vị", "Unit"),
        lang.t("Tháng", "Month"),
        lang.t("Biểu", "Form"),
        lang.t("Trạng thái", "State"),
        lang.t("Cập nhật", "Updated"),
    );
    let mut pick = Typed::default();
    pick.set("month", this_month());
    pick.set("form", "services");
    if let Scope::Commune(c) = &p.scope {
        pick.set("unit", c.clone());
    }
    let body = layout(
        lang,
        title,
        Some(&p),
        html! {
            section.card {
                h1 { (title) }
                (list::views(Some("state-filter"), std::iter::once(View::new("/figures", lang.t("Tất cả", "All"))).chain(
                    FigureState::ALL.into_iter().map(|st| View::new(format!("/figures?state={}", st.code()), state_name(lang, st)))
                )))
                h2 { (lang.t("Số biểu", "Submissions")) ": " span data-testid="total" { (list.total) } }
                div.table-wrap { table.stack data-testid="figures" {
                    thead { tr { th { (l_unit) } th { (l_month) } th { (l_form) } th { (l_state) } th { (l_when) } } }
                    tbody { @for x in &list.items {
                        tr {
                            td data-label=(l_unit) { a data-testid="figures-link" href=(format!("/figures/{}", x.id)) { (unit_name(&x.unit)) } }
                            td data-label=(l_month) { (x.month) }
                            td data-label=(l_form) { (forms::form(&x.form).map(|f| form_name(lang, f)).unwrap_or("")) }
                            td data-label=(l_state) { (state_name(lang, x.state)) }
                            td data-label=(l_when) { (display::time(&x.updated_at)) }
                        }
                    } }
                } }
                (list::pager(lang, list.offset, list.items.len(), list.total, PAGE.into(), |o| format!("/figures?offset={o}{state_q}")))
            }
            @if enters(&p) {
                section.card data-testid="enter" {
                    h2 { (lang.t("Nhập số liệu", "Enter figures")) }
                    form method="get" action="/figures/entry" {
                        (pick_fields(lang, &p, &pick, &Problems::default()))
                        p { button type="submit" data-testid="open-entry" { (lang.t("Mở biểu", "Open the form")) } }
                    }
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

// ---- entry ----

#[derive(Deserialize)]
pub struct EntryParams {
    unit: Option<String>,
    month: Option<String>,
    form: Option<String>,
}

fn cell_name(row: &str, col: &str) -> String {
    format!("v.{row}.{col}")
}

/// The entry page: the table of inputs (typed values, or the stored ones), the upload.
fn entry_body(
    lang: Lang,
    p: &Principal,
    t: &Typed,
    problems: &Problems,
    upload_errors: &[Violation],
    stored: Option<&FigurePage>,
) -> Markup {
    let form = forms::form(t.get("form")).unwrap_or(&forms::forms()[0]);
    let mut columns: Vec<(String, &str)> =
        form.columns.iter().map(|c| (c.code.clone(), line_name(lang, c))).collect();
    if form.code == "services" {
        columns.push((ONLINE_PCT.into(), lang.t("% trực tuyến (không bắt buộc)", "% online (optional)")));
    }
    let csrf = p.csrf.clone().unwrap_or_default();
    let editable = stored.is_none_or(|s| s.submission.state.editable());
    html! {
        section.card {
            h1 { (form_name(lang, form)) }
            p { (unit_name(t.get("unit"))) " · " (t.get("month"))
                @if let Some(s) = stored { " · " a href=(format!("/figures/{}", s.submission.id)) data-testid="stored-state" { (state_name(lang, s.submission.state)) } } }
            @if !editable {
                p.muted data-testid="not-editable" { (lang.t("Số liệu đã gửi hoặc đã duyệt: không sửa được.", "These figures were submitted or approved: they cannot be changed.")) }
            }
            (problems.summary(lang, &[]))
            @if !upload_errors.is_empty() {
                div.form-summary role="alert" data-testid="upload-errors" {
                    p { (lang.t("Tệp tải lên chưa được lưu: sửa các ô sau rồi tải lên lại.", "The upload was not stored: correct these cells and upload again.")) }
                    ul { @for v in upload_errors {
                        li data-testid="upload-error" { b { (v.field) } ": " (match lang { Lang::Vi => &v.message_vi, Lang::En => &v.message_en }) " " span.muted { "(" code { (v.rule) } ")" } }
                    } }
                }
            }
            form method="post" action="/figures/entry" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="unit" value=(t.get("unit"));
                input type="hidden" name="month" value=(t.get("month"));
                input type="hidden" name="form" value=(form.code);
                div.table-wrap { table.stack data-testid="entry" {
                    thead { tr { th { (lang.t("Chỉ tiêu", "Line")) } @for (_, name) in &columns { th { (name) } } } }
                    tbody { @for r in &form.rows {
                        tr {
                            th scope="row" { (line_name(lang, r)) }
                            @for (code, name) in &columns {
                                @let field = cell_name(&r.code, code);
                                td data-label=(name) {
                                    input type="text" inputmode="decimal" name=(field) value=(t.get(&field)) size="7"
                                        aria-label=(format!("{} — {}", line_name(lang, r), name))
                                        aria-invalid=[problems.violations.iter().any(|v| v.field == field).then_some("true")];
                                    (problems.at(lang, &field))
                                }
                            }
                        }
                    } }
                } }
                @if editable {
                    p {
                        button type="submit" name="action" value="save" data-testid="save" { (lang.t("Lưu nháp", "Save draft")) } " "
                        button type="submit" name="action" value="submit" data-testid="submit" { (lang.t("Lưu và gửi duyệt", "Save and submit")) }
                    }
                }
            }
        }
        @if editable {
            section.card data-testid="upload" {
                h2 { (lang.t("Hoặc tải lên bảng XLSX/CSV", "Or upload the table as XLSX/CSV")) }
                p.muted { (lang.t("Dùng tệp mẫu: cột đầu là mã dòng; mỗi cột số liệu ghi mã trong ngoặc. Tệp chỉ được lưu khi mọi ô hợp lệ.",
                    "Use the template: the first column holds the row code; each figure column its code in brackets. The file is stored only when every cell is valid.")) }
                p { a data-testid="template" href=(format!("/figures/template/{}", form.code)) { (lang.t("Tải tệp mẫu (XLSX)", "Download the template (XLSX)")) } }
                form method="post" action="/figures/upload" enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
                    input type="hidden" name="unit" value=(t.get("unit"));
                    input type="hidden" name="month" value=(t.get("month"));
                    input type="hidden" name="form" value=(form.code);
                    label for="table" { (lang.t("Tệp số liệu", "Figures file")) }
                    input #table type="file" name="table" accept=".xlsx,.csv" required;
                    p {
                        button type="submit" name="action" value="save" { (lang.t("Tải lên, lưu nháp", "Upload as draft")) } " "
                        button type="submit" name="action" value="submit" data-testid="upload-submit" { (lang.t("Tải lên và gửi duyệt", "Upload and submit")) }
                    }
                }
            }
        }
    }
}

fn render_entry(
    lang: Lang,
    p: &Principal,
    t: &Typed,
    problems: &Problems,
    upload_errors: &[Violation],
    stored: Option<&FigurePage>,
    status: StatusCode,
) -> Response {
    let body = layout(
        lang,
        lang.t("Nhập số liệu", "Enter figures"),
        Some(p),
        entry_body(lang, p, t, problems, upload_errors, stored),
    );
    (status, body).into_response()
}

/// Checks the unit, month and form typed; the violations if any.
fn check_pick(t: &Typed) -> Vec<Violation> {
    let mut v = Vec::new();
    if let Err(e) = dancu_store::registry::unit_place(t.get("unit").trim()) {
        v.push(e);
    }
    if let Err(e) = dancu_store::registry::check_month(t.get("month").trim()) {
        v.push(e);
    }
    if forms::form(t.get("form")).is_none() {
        v.push(Violation::new("form", "figures.form", "Chưa chọn biểu số liệu", "no form chosen"));
    }
    v
}

pub async fn entry_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Query(q): Query<EntryParams>,
) -> Response {
    let mut t = Typed::default();
    t.set("unit", q.unit.unwrap_or_default().trim());
    t.set("month", q.month.unwrap_or_else(this_month).trim());
    t.set("form", q.form.unwrap_or_else(|| "services".into()).trim());
    let bad = check_pick(&t);
    if !bad.is_empty() {
        return error_page(lang, Some(&p), ApiError::invalid(bad));
    }
    let stored = match s
        .registry
        .find_figures(&p.access(FIGURES_PURPOSE), t.get("unit"), t.get("month"), t.get("form"))
        .await
    {
        Ok(x) => x,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    if let Some(st) = &stored {
        for v in &st.values {
            t.set(&cell_name(&v.row, &v.column), v.value.to_string());
        }
    }
    let body = layout(
        lang,
        lang.t("Nhập số liệu", "Enter figures"),
        Some(&p),
        entry_body(lang, &p, &t, &Problems::default(), &[], stored.as_ref()),
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

/// Saves a draft built from checked values, answering like the entry form.
async fn save_and_go(
    s: &AppState,
    lang: Lang,
    p: &Principal,
    t: &Typed,
    draft: FigureDraft,
    upload: bool,
) -> Response {
    match s.registry.save_figures(&p.access(FIGURES_PURPOSE), &draft).await {
        Ok(saved) => Redirect::to(&format!("/figures/{}", saved.id)).into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            let status = e.status;
            let stored = s
                .registry
                .find_figures(&p.access(FIGURES_PURPOSE), &draft.unit, &draft.month, &draft.form)
                .await
                .ok()
                .flatten();
            let problems = Problems::from_error(e);
            // An upload's values are not in the form's inputs: show the stored ones.
            let t = if upload { &Typed::from_pairs(vec![]) } else { t };
            render_entry(lang, p, t, &problems, &[], stored.as_ref(), status)
        }
    }
}

pub async fn entry_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let t = Typed::from_pairs(pairs);
    if let Err(e) = p.check_csrf(t.get("csrf")) {
        return error_page(lang, Some(&p), e);
    }
    let bad = check_pick(&t);
    if !bad.is_empty() {
        return error_page(lang, Some(&p), ApiError::invalid(bad));
    }
    let form = forms::form(t.get("form")).unwrap();
    let entries: Vec<Entry> =
        t.0.iter()
            .filter_map(|(k, v)| {
                let (row, col) = k.strip_prefix("v.")?.split_once('.')?;
                Some(Entry { row: row.into(), column: col.into(), value: Value::parse(v), place: k.clone() })
            })
            .collect();
    let mut entries = entries;
    entries.sort_by(|a, b| a.place.cmp(&b.place));
    match forms::validate(form, &entries, &[]) {
        Err(violations) => {
            let problems =
                Problems { violations, message: None, status: Some(StatusCode::UNPROCESSABLE_ENTITY) };
            let stored = s
                .registry
                .find_figures(&p.access(FIGURES_PURPOSE), t.get("unit"), t.get("month"), t.get("form"))
                .await
                .ok()
                .flatten();
            render_entry(lang, &p, &t, &problems, &[], stored.as_ref(), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Ok(values) => {
            let draft = FigureDraft {
                unit: t.get("unit").trim().into(),
                month: t.get("month").trim().into(),
                form: form.code.into(),
                values,
                submit: t.get("action") == "submit",
                source: "form".into(),
            };
            save_and_go(&s, lang, &p, &t, draft, false).await
        }
    }
}

pub async fn upload_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    mut m: Multipart,
) -> Response {
    let mut t = Typed::default();
    let mut file: Vec<u8> = Vec::new();
    let mut file_name = String::new();
    loop {
        match m.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                if name == "table" {
                    file_name = field.file_name().unwrap_or("table").to_string();
                }
                match field.bytes().await {
                    Ok(b) if name == "table" => file = b.to_vec(),
                    Ok(b) => t.set(&name, String::from_utf8_lossy(&b).into_owned()),
                    Err(e) => return error_page(lang, Some(&p), unreadable(e.to_string())),
                }
            }
            Ok(None) => break,
            Err(e) => return error_page(lang, Some(&p), unreadable(e.to_string())),
        }
    }
    if let Err(e) = p.check_csrf(t.get("csrf")) {
        return error_page(lang, Some(&p), e);
    }
    let bad = check_pick(&t);
    if !bad.is_empty() {
        return error_page(lang, Some(&p), ApiError::invalid(bad));
    }
    let form = forms::form(t.get("form")).unwrap();
    let stored = s
        .registry
        .find_figures(&p.access(FIGURES_PURPOSE), t.get("unit"), t.get("month"), t.get("form"))
        .await
        .ok()
        .flatten();
    let refuse = |errors: Vec<Violation>| {
        render_entry(
            lang,
            &p,
            &t,
            &Problems::default(),
            &errors,
            stored.as_ref(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    if file.is_empty() {
        return refuse(vec![Violation::new(
            "table",
            "upload.empty",
            "Chưa chọn tệp hoặc tệp rỗng",
            "no file, or an empty one",
        )]);
    }
    let stem = std::path::Path::new(&file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sheets = match dancu_tables::read_table(&file, &stem) {
        Ok(s) => s,
        Err(e) => {
            return refuse(vec![Violation::new("table", "upload.unreadable", e.message_vi, e.message_en)])
        }
    };
    // The sheet named after the form, else the first.
    let sheet = sheets.iter().find(|s| s.name == form.code).unwrap_or(&sheets[0]);
    match forms::validate_upload(form, sheet) {
        Err(errors) => refuse(errors),
        Ok(values) => {
            let draft = FigureDraft {
                unit: t.get("unit").trim().into(),
                month: t.get("month").trim().into(),
                form: form.code.into(),
                values,
                submit: t.get("action") == "submit",
                source: "upload".into(),
            };
            save_and_go(&s, lang, &p, &t, draft, true).await
        }
    }
}

fn unreadable(e: String) -> ApiError {
    ApiError::invalid(vec![Violation::new(
        "table",
        "upload.unreadable",
        format!("Không đọc được tệp tải lên: {e}"),
        format!("unreadable upload: {e}"),
    )])
}

pub async fn template(lang: Lang, WebUser(p): WebUser, Path(code): Path<String>) -> Response {
    let Some(form) = forms::form(&code) else { return error_page(lang, Some(&p), ApiError::not_found()) };
    match forms::template_xlsx(form) {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"dancu-{}.xlsx\"", form.code)),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => error_page(lang, Some(&p), ApiError::internal()),
    }
}

// ---- one submission ----

fn value_table(lang: Lang, f: &FigForm, page: &FigurePage) -> Markup {
    let get = |r: &str, c: &str| {
        page.values.iter().find(|v| v.row == r && v.column == c).map(|v| v.value).unwrap_or(0)
    };
    html! {
        div.table-wrap { table.stack data-testid="values" {
            thead { tr { th { (lang.t("Chỉ tiêu", "Line")) } @for c in &f.columns { th { (line_name(lang, c)) } }
                @if f.code == "services" { th { (lang.t("% trực tuyến", "% online")) } } } }
            tbody { @for r in &f.rows {
                tr {
                    th scope="row" { (line_name(lang, r)) }
                    @for c in &f.columns { td data-label=(line_name(lang, c)) data-testid=(format!("value-{}-{}", r.code, c.code)) { (count(lang, get(&r.code, &c.code))) } }
                    @if f.code == "services" {
                        @let (rec, onl) = (get(&r.code, "received"), get(&r.code, "online"));
                        td data-label=(lang.t("% trực tuyến", "% online")) { @if rec > 0 { (display::percent(lang, onl as f64 / rec as f64)) } @else { "—" } }
                    }
                }
            } }
        } }
    }
}

/// `36.017` / `36,017`.
fn count(lang: Lang, n: i64) -> String {
    dancu_tables::value::fmt_number(n as f64, lang == Lang::Vi)
}

fn moves(lang: Lang, p: &Principal, s: &FigureSubmission) -> Markup {
    let csrf = p.csrf.clone().unwrap_or_default();
    let action = format!("/figures/{}/actions", s.id);
    let can_review = reviews(p)
        && s.state == FigureState::Submitted
        && s.submitted_by.as_deref() != Some(&format!("officer:{}", p.username));
    html! {
        @if enters(p) && s.state.editable() {
            p { a data-testid="edit" href=(format!("/figures/entry?unit={}&month={}&form={}", s.unit, s.month, s.form)) { (lang.t("Sửa số liệu", "Edit the figures")) } }
            form.move method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="version" value=(s.version);
                button type="submit" name="action" value="submit" data-testid="move-submit" { (lang.t("Gửi duyệt", "Submit for review")) }
            }
        }
        @if can_review {
            form.move method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="version" value=(s.version);
                button type="submit" name="action" value="approve" data-testid="move-approve" { (lang.t("Duyệt", "Approve")) }
            }
            form.move method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="version" value=(s.version);
                input #reason type="text" name="reason" required maxlength="1000" placeholder=(lang.t("Lý do trả lại", "Reason for returning")) aria-label=(lang.t("Lý do trả lại", "Reason for returning"));
                " "
                button type="submit" name="action" value="return" data-testid="move-return" { (lang.t("Trả lại", "Return")) }
            }
        }
    }
}

pub async fn submission_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_figures_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let fp = match s.registry.figures_page(&p.access(FIGURES_PURPOSE), id).await {
        Ok(x) => x,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let sub = &fp.submission;
    let Some(form) = forms::form(&sub.form) else { return error_page(lang, Some(&p), ApiError::internal()) };
    let (l_when, l_what, l_to, l_why, l_by) = (
        lang.t("Thời gian", "When"),
        lang.t("Thao tác", "Action"),
        lang.t("Trạng thái mới", "New state"),
        lang.t("Lý do", "Reason"),
        lang.t("Người thực hiện", "By"),
    );
    let body = layout(
        lang,
        form_name(lang, form),
        Some(&p),
        html! {
            section.card {
                h1 { (form_name(lang, form)) }
                dl {
                    dt { (lang.t("Đơn vị", "Unit")) } dd data-testid="unit" { (unit_name(&sub.unit)) }
                    dt { (lang.t("Tháng", "Month")) } dd { (sub.month) }
                    dt { (lang.t("Trạng thái", "State")) } dd data-testid="state" { (state_name(lang, sub.state)) }
                }
                (value_table(lang, form, &fp))
                (moves(lang, &p, sub))
            }
            section.card {
                h2 { (lang.t("Lịch sử", "History")) }
                div.table-wrap { table.stack data-testid="history" {
                    thead { tr { th { (l_when) } th { (l_what) } th { (l_to) } th { (l_why) } th { (l_by) } } }
                    tbody { @for e in &fp.history {
                        tr {
                            td data-label=(l_when) { (display::time(&e.at)) }
                            td data-label=(l_what) { (action_name(lang, &e.action))
                                @if e.source == "upload" { " (" (lang.t("tải tệp", "upload")) ")" } }
                            td data-label=(l_to) { (state_name(lang, e.to_state)) }
                            td data-label=(l_why) { (e.reason) }
                            td data-label=(l_by) { (e.actor.trim_start_matches("officer:")) }
                        }
                    } }
                } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

#[derive(Deserialize)]
pub struct MoveForm {
    csrf: String,
    action: String,
    version: i64,
    reason: Option<String>,
}

pub async fn move_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    let run = async {
        p.check_csrf(&f.csrf)?;
        let id = parse_figures_id(&id)?;
        move_figures(
            &s,
            &p.access(FIGURES_PURPOSE),
            id,
            &f.action,
            f.version,
            f.reason.as_deref().unwrap_or(""),
        )
        .await
    };
    match run.await {
        Ok(sub) => Redirect::to(&format!("/figures/{}", sub.id)).into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}
