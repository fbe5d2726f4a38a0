//! The linked procedures' officer pages (issue 15, parts 1 and 2; docs/CHAINS.md): the board
//! (`/chains`: chains per kind and state in the officer's scope, filtered by kind, state and
//! unit, paged), one chain with its step history (`/chains/{id}`), and the exceptions
//! worklist (`/chains/exceptions`: the failing chains with their reason, and the actions:
//! retry now, resolve with a note, correct a field). A commune officer sees the chains of
//! its commune: where the person lives, else where the event was registered.

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use dancu_domain::Violation;
use dancu_store::chains::{self, Chain, ChainFilter, ChainKind};
use dancu_store::registry::ChainView;
use dancu_store::Scope;
use maud::{html, Markup};
use serde::Deserialize;

use super::display;
use super::list;
use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, urlencode, Lang, WebUser};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

const PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct BoardParams {
    kind: Option<String>,
    state: Option<String>,
    /// A commune (5 digits) or province (2 digits) inside the officer's scope.
    unit: Option<String>,
    offset: Option<u64>,
}

fn kind_words(lang: Lang, k: ChainKind) -> &'static str {
    match k {
        ChainKind::Birth => lang.t("Khai sinh", "Birth"),
        ChainKind::Death => lang.t("Khai tử", "Death"),
    }
}

/// A visible state in words.
pub fn state_words(lang: Lang, s: &str) -> &'static str {
    match s {
        "received" => lang.t("Đã tiếp nhận", "Received"),
        "id_issued" => lang.t("Đã cấp số định danh", "ID issued"),
        "registered" => lang.t("Đã vào CSDL, nhập hộ", "Registered, in the household"),
        "residence_registered" => lang.t("Đã đăng ký thường trú", "Permanent residence registered"),
        "insurance_notified" => lang.t("Đã báo BHXH (cấp thẻ BHYT)", "Social insurance notified"),
        "deceased" => lang.t("Đã ghi đã mất", "Marked deceased"),
        "residence_ended" => lang.t("Đã xoá đăng ký cư trú", "Residence ended"),
        "eid_closed" => lang.t("Đã khoá định danh điện tử, thu hồi thẻ", "eID locked, card revoked"),
        "partners_notified" => lang.t("Đã báo BHXH, LĐTBXH", "Social insurance and labour notified"),
        "failed" => lang.t("Lỗi, chờ xử lý", "Failing, in the worklist"),
        "resolved" => lang.t("Cán bộ đã xử lý", "Resolved by an officer"),
        _ => lang.t("Khác", "Other"),
    }
}

fn outcome_words(lang: Lang, s: &str) -> &'static str {
    match s {
        "done" => lang.t("Xong", "Done"),
        "failed" => lang.t("Lỗi", "Failed"),
        "retry" => lang.t("Thử lại ngay", "Retry now"),
        "resolved" => lang.t("Đã xử lý", "Resolved"),
        "corrected" => lang.t("Sửa thông tin", "Corrected"),
        _ => lang.t("Khác", "Other"),
    }
}

/// The scope a `unit` filter narrows the officer's to (it must lie inside).
fn narrowed(p: &Principal, unit: Option<&str>) -> Result<Scope, ApiError> {
    let Some(u) = unit.map(str::trim).filter(|u| !u.is_empty()) else { return Ok(p.scope.clone()) };
    let units = dancu_domain::admin_units();
    let (scope, province, commune) = match u.len() {
        5 => match units.commune_2025(u) {
            Some(c) => (Scope::Commune(u.into()), c.province_code.clone(), u.to_string()),
            None => (Scope::Nation, String::new(), String::new()),
        },
        2 if units.province_2025(u).is_some() => (Scope::Province(u.into()), u.to_string(), String::new()),
        _ => (Scope::Nation, String::new(), String::new()),
    };
    let inside = match (&p.scope, &scope) {
        (_, Scope::Nation) => false,
        (Scope::Nation, _) => true,
        (Scope::Province(pp), _) => *pp == province,
        (Scope::Commune(c), Scope::Commune(x)) => c == x && !commune.is_empty(),
        (Scope::Commune(_), _) => false,
    };
    if inside {
        Ok(scope)
    } else {
        Err(ApiError::invalid(vec![Violation::new(
            "unit",
            "scope.outside",
            "Đơn vị phải là mã xã (5 chữ số) hoặc tỉnh (2 chữ số) trong phạm vi quản lý",
            "the unit must be a commune (5 digits) or province (2 digits) code inside your scope",
        )]))
    }
}

fn board_link(kind: Option<&str>, state: Option<&str>, unit: Option<&str>, offset: u64) -> String {
    let mut s = format!("/chains?offset={offset}");
    for (k, v) in [("kind", kind), ("state", state), ("unit", unit)] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            s.push_str(&format!("&{k}={}", urlencode(v)));
        }
    }
    s
}

fn chains_table(lang: Lang, items: &[Chain]) -> Markup {
    let (l_no, l_kind, l_id, l_state, l_unit, l_at) = (
        lang.t("Số đăng ký", "Registration no."),
        lang.t("Loại", "Kind"),
        lang.t("Số định danh", "Personal ID"),
        lang.t("Trạng thái", "State"),
        lang.t("Xã", "Commune"),
        lang.t("Cập nhật", "Updated"),
    );
    html! {
        div.table-wrap { table.stack data-testid="chains" {
            thead { tr { th { (l_no) } th { (l_kind) } th { (l_id) } th { (l_state) } th { (l_unit) } th { (l_at) } } }
            tbody { @for c in items {
                tr data-testid=(format!("chain-{}", c.registration_no)) {
                    td data-label=(l_no) { a href=(format!("/chains/{}", c.id)) { (c.registration_no) } }
                    td data-label=(l_kind) { (kind_words(lang, c.kind)) }
                    td data-label=(l_id) { @if let Some(id) = &c.personal_id { a href=(format!("/citizens/{id}")) { (id) } } }
                    td data-label=(l_state) {
                        span data-testid="state" data-state=(c.state()) { (state_words(lang, c.state())) }
                        @if let Some(e) = &c.error { br; span.muted { (e.message) " (" code { (e.rule) } ")" } }
                    }
                    td data-label=(l_unit) { (display::commune(&c.scope_commune)) }
                    td data-label=(l_at) { (display::time(&c.updated_at)) }
                }
            } }
        } }
    }
}

/// The board: counts per kind and state, then the filtered chains.
pub async fn board_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Query(q): Query<BoardParams>,
) -> Response {
    let run = async {
        let scope = narrowed(&p, q.unit.as_deref())?;
        let kind = q.kind.as_deref().filter(|k| !k.is_empty()).map(|k| {
            ChainKind::parse(k).ok_or_else(|| {
                ApiError::invalid(vec![Violation::new(
                    "kind",
                    "chain.kind",
                    "Loại: birth hoặc death",
                    "kind: birth or death",
                )])
            })
        });
        let kind = kind.transpose()?;
        let state = q.state.clone().filter(|s| !s.is_empty());
        if let Some(st) = &state {
            if !chains::states(kind).contains(&st.as_str()) {
                return Err(ApiError::invalid(vec![Violation::new(
                    "state",
                    "chain.state",
                    "Trạng thái không hợp lệ",
                    "unknown state",
                )]));
            }
        }
        let a = dancu_store::registry::Access { scope, ..p.access(WEB_PURPOSE) };
        let counts = s.registry.chains_counts(&a).await?;
        let f = ChainFilter { kind, state: state.clone(), limit: PAGE, offset: q.offset.unwrap_or(0) };
        // A leader's account sees the figures only, not the people in them.
        let list = if p.role.reads_records() {
            s.registry.chains_list(&a, &f).await?
        } else {
            dancu_store::Page { items: Vec::new(), total: 0, limit: PAGE, offset: 0 }
        };
        Ok::<_, ApiError>((counts, list, kind, state))
    };
    let (counts, list, kind, state) = match run.await {
        Ok(x) => x,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let unit = q.unit.clone().unwrap_or_default();
    let title = lang.t("Thủ tục liên thông", "Linked procedures");
    let body = layout(
        lang,
        title,
        Some(&p),
        html! {
            section.card data-testid="chain-board" {
                h1 { (title) }
                p.muted { (lang.t(
                    "Khai sinh: cấp số định danh → vào CSDL, nhập hộ → thường trú → báo BHXH. Khai tử: ghi đã mất → xoá cư trú → khoá định danh điện tử, thu hồi thẻ → báo BHXH, LĐTBXH.",
                    "Birth: ID issued → registered, in the household → permanent residence → social insurance. Death: marked deceased → residence ended → eID locked, card revoked → social insurance and labour.")) }
                p { a data-testid="exceptions-link" href="/chains/exceptions" { (lang.t("Danh sách lỗi cần xử lý", "Exceptions worklist")) } }
                @for k in ChainKind::ALL {
                    h2 { (kind_words(lang, k)) }
                    div.table-wrap { table.stack data-testid=(format!("counts-{}", k.code())) {
                        thead { tr { th { (lang.t("Trạng thái", "State")) } th { (lang.t("Số chuỗi", "Chains")) } } }
                        tbody { @for st in chains::states(Some(k)) {
                            @let n = counts.iter().find(|(ck, cs, _)| *ck == k && cs == st).map(|c| c.2).unwrap_or(0);
                            tr {
                                td data-label=(lang.t("Trạng thái", "State")) { a href=(board_link(Some(k.code()), Some(st), Some(&unit), 0)) { (state_words(lang, st)) } }
                                td data-label=(lang.t("Số chuỗi", "Chains")) data-testid=(format!("count-{}-{st}", k.code())) { (n) }
                            }
                        } }
                    } }
                }
                form method="get" action="/chains" {
                    label { (lang.t("Loại", "Kind"))
                        select name="kind" {
                            option value="" { (lang.t("Tất cả", "All")) }
                            @for k in ChainKind::ALL { option value=(k.code()) selected[kind == Some(k)] { (kind_words(lang, k)) } }
                        }
                    }
                    label { (lang.t("Trạng thái", "State"))
                        select name="state" {
                            option value="" { (lang.t("Tất cả", "All")) }
                            @for st in chains::states(None) { option value=(st) selected[state.as_deref() == Some(st)] { (state_words(lang, st)) } }
                        }
                    }
                    label { (lang.t("Mã xã hoặc tỉnh", "Commune or province code")) input name="unit" value=(unit) inputmode="numeric"; }
                    button type="submit" { (lang.t("Lọc", "Filter")) }
                }
                p { (lang.t("Số chuỗi", "Chains")) ": " strong data-testid="total" { (list.total) } }
                (chains_table(lang, &list.items))
                (list::pager(lang, list.offset, list.items.len(), list.total, PAGE.into(), |o| board_link(kind.map(|k| k.code()), state.as_deref(), Some(&unit), o)))
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

/// The fields an officer may correct (as the registry allows them at the chain's step).
fn correctable(c: &Chain) -> &'static [&'static str] {
    match (c.kind, c.step.as_str()) {
        (ChainKind::Birth, "received") => &[
            "household_of",
            "father_id",
            "mother_id",
            "birth_place",
            "id_province",
            "family_name",
            "middle_name",
            "given_name",
        ],
        (ChainKind::Birth, _) => {
            &["household_of", "father_id", "mother_id", "family_name", "middle_name", "given_name"]
        }
        (ChainKind::Death, "received") => &["personal_id", "death_date", "death_place"],
        (ChainKind::Death, _) => &["death_place"],
    }
}

/// The actions on a running chain: retry now, resolve with a note, correct a field.
fn actions(lang: Lang, p: &Principal, c: &Chain) -> Markup {
    let csrf = p.csrf.clone().unwrap_or_default();
    let to = format!("/chains/{}/actions", c.id);
    html! {
        @if c.status == "running" {
            div.actions data-testid=(format!("actions-{}", c.id)) {
                form.inline method="post" action=(to) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="action" value="retry";
                    button type="submit" data-testid="retry" { (lang.t("Thử lại ngay", "Retry now")) }
                }
                form method="post" action=(to) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="action" value="resolve";
                    label { (lang.t("Ghi chú xử lý", "Resolution note")) input name="note" required minlength="3" maxlength="500"; }
                    button type="submit" data-testid="resolve" { (lang.t("Đánh dấu đã xử lý", "Resolve")) }
                }
                form method="post" action=(to) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="action" value="correct";
                    label { (lang.t("Trường cần sửa", "Field to correct"))
                        select name="field" { @for f in correctable(c) { option value=(f) { (f) } } }
                    }
                    label { (lang.t("Giá trị đúng", "Correct value")) input name="value" required maxlength="100"; }
                    label { (lang.t("Ghi chú", "Note")) input name="note" maxlength="500"; }
                    button type="submit" data-testid="correct" { (lang.t("Sửa và thử lại", "Correct and retry")) }
                }
            }
        }
    }
}

/// The exceptions worklist: failing chains in scope, with their reason and the actions.
pub async fn exceptions_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Query(q): Query<BoardParams>,
) -> Response {
    let run = async {
        let scope = narrowed(&p, q.unit.as_deref())?;
        let a = dancu_store::registry::Access { scope, ..p.access(WEB_PURPOSE) };
        let f = ChainFilter {
            kind: None,
            state: Some("failed".into()),
            limit: PAGE,
            offset: q.offset.unwrap_or(0),
        };
        Ok::<_, ApiError>(s.registry.chains_list(&a, &f).await?)
    };
    let list = match run.await {
        Ok(l) => l,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let title = lang.t("Thủ tục liên thông: lỗi cần xử lý", "Linked procedures: exceptions");
    let body = layout(
        lang,
        title,
        Some(&p),
        html! {
            section.card data-testid="chain-exceptions" {
                h1 { (title) }
                p.muted { (lang.t(
                    "Bước lỗi được tự động thử lại với thời gian chờ tăng dần cho đến khi thành công hoặc cán bộ xử lý.",
                    "A failing step is retried automatically, waiting longer each time, until it passes or an officer resolves it.")) }
                p { (lang.t("Số chuỗi lỗi", "Failing chains")) ": " strong data-testid="total" { (list.total) } }
                @for c in &list.items {
                    article.card data-testid=(format!("exception-{}", c.registration_no)) {
                        h2 { a href=(format!("/chains/{}", c.id)) { (kind_words(lang, c.kind)) " " (c.registration_no) } }
                        @if let Some(e) = &c.error {
                            p { b { (lang.t("Bước", "Step")) } ": " (state_words(lang, &e.step)) }
                            p data-testid="reason" { b { (lang.t("Lý do", "Reason")) } ": " (e.message) " " span.muted { "(" (display::field(lang, &e.field)) ", " code { (e.rule) } ")" } }
                        }
                        p.muted { (lang.t("Số lần thử", "Attempts")) ": " (c.attempts) " · " (lang.t("Thử lại lúc", "Next attempt")) ": " (display::time(&c.next_at)) }
                        (actions(lang, &p, c))
                    }
                }
                (list::pager(lang, list.offset, list.items.len(), list.total, PAGE.into(), |o| format!("/chains/exceptions?offset={o}")))
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

fn chain_card(lang: Lang, p: &Principal, v: &ChainView) -> Markup {
    let c = &v.chain;
    html! {
        section.card data-testid="chain" {
            h1 { (kind_words(lang, c.kind)) " " (c.registration_no) }
            p { (lang.t("Trạng thái", "State")) ": " strong data-testid="state" data-state=(c.state()) { (state_words(lang, c.state())) } }
            @if let Some(id) = &c.personal_id { p { (lang.t("Số định danh", "Personal ID")) ": " a href=(format!("/citizens/{id}")) { (id) } } }
            p.muted { (lang.t("Cơ quan gửi", "Sent by")) ": " (c.client_id) " · " (lang.t("Tiếp nhận", "Received")) ": " (display::time(&c.received_at)) }
            @if let Some(e) = &c.error {
                p.error data-testid="reason" { (e.message) " (" code { (e.rule) } ")" }
            }
            @if !c.note.is_empty() { p { (lang.t("Ghi chú", "Note")) ": " (c.note) } }
            h2 { (lang.t("Các bước", "Steps")) }
            ol data-testid="steps" { @for st in &v.steps {
                li { (display::time_s(&st.at)) " — " (state_words(lang, &st.step)) ": " (outcome_words(lang, &st.outcome))
                     @if !st.detail.is_empty() { " · " (st.detail) } span.muted { " (" (st.actor) ")" } }
            } }
            (actions(lang, p, c))
        }
    }
}

/// One chain with its history and, while it runs, the actions.
pub async fn chain_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<i64>,
) -> Response {
    let v = match s.registry.chain_detail(&p.access(WEB_PURPOSE), id).await {
        Ok(v) => v,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let body =
        layout(lang, lang.t("Thủ tục liên thông", "Linked procedure"), Some(&p), chain_card(lang, &p, &v));
    page(lang_choice(&uri), StatusCode::OK, body)
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: String,
}

/// Retry now, resolve with a note, or correct a field; back to the chain.
pub async fn action_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Response {
    let run = async {
        p.check_csrf(&f.csrf)?;
        let correction = (f.action == "correct").then_some((f.field.as_str(), f.value.as_str()));
        s.registry.chain_act(&p.access(WEB_PURPOSE), id, &f.action, &f.note, correction).await?;
        Ok::<_, ApiError>(())
    };
    match run.await {
        Ok(()) => Redirect::to(&format!("/chains/{id}")).into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}
