//! ID card pages: the board of what waits at each stage in the officer's scope, the list per
//! stage, an application with its history and the moves it allows, and intake (the form is
//! on the citizen page). Forms carry the session's CSRF token.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use dancu_identity::{ApplicationKind, HandoverMethod, Stage, StageKind};
use dancu_store::{NewCardApplication, StoredCard};

use super::display::{self, Actors};
use super::document::{Doc, Issuer, Signer};
use super::list;
use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, Lang, WebUser};
use crate::api::cards::{due_args, parse_app_id, parse_stage_kind, target_stage, DueParams};
use crate::api::citizens::{parse_id, require_reason};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

/// A stage in words (the English labels are written in lower case, for use in a sentence:
/// a label standing alone starts with a capital).
fn stage_label(lang: Lang, k: StageKind) -> String {
    match lang {
        Lang::Vi => k.label_vi().to_string(),
        Lang::En => capitalised(k.label_en()),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn kind_label(lang: Lang, k: ApplicationKind) -> &'static str {
    match lang {
        Lang::Vi => k.label_vi(),
        Lang::En => k.label_en(),
    }
}

fn stage_text(lang: Lang, s: &Stage) -> String {
    let mut t = stage_label(lang, s.kind());
    match s {
        Stage::Intake { biometrics_captured } => t.push_str(if *biometrics_captured {
            lang.t(" (đã thu nhận sinh trắc)", " (biometrics captured)")
        } else {
            lang.t(" (chưa thu nhận sinh trắc)", " (biometrics not captured)")
        }),
        Stage::HandedOver { method } => t.push_str(&format!(
            " ({})",
            if lang == Lang::Vi { method.label_vi() } else { method.label_en() }
        )),
        _ => {}
    }
    if let Some(r) = s.reason() {
        t.push_str(&format!(": {r}"));
    }
    t
}

#[derive(Deserialize)]
pub struct BoardParams {
    stage: Option<String>,
    offset: Option<u64>,
}

pub async fn board_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    q: Result<Query<BoardParams>, QueryRejection>,
) -> Response {
    let stage_of =
        |q: &BoardParams| q.stage.as_deref().filter(|s| !s.is_empty()).map(parse_stage_kind).transpose();
    let (q, stage) = match list::filtered(q, stage_of) {
        Ok(x) => x,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let access = p.access(WEB_PURPOSE);
    let board = match s.registry.card_board(&access).await {
        Ok(b) => b,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let (list, names) =
        match s.registry.list_card_applications_named(&access, stage, 50, q.offset.unwrap_or(0)).await {
            Ok(l) => l,
            Err(e) => return error_page(lang, Some(&p), e.into()),
        };
    let title = lang.t("Thẻ căn cước", "ID cards");
    let body = layout(
        lang,
        title,
        Some(&p),
        html! {
            section.card {
                h1 { (title) }
                p { a data-testid="due-link" href="/cards/due" { (lang.t("Danh sách đến hạn đổi thẻ", "Due-for-renewal list")) } }
                div.table-wrap { table data-testid="board" {
                    thead { tr { th { (lang.t("Bước", "Stage")) } th { (lang.t("Số hồ sơ", "Applications")) } } }
                    tbody {
                        @for c in &board {
                            tr {
                                td { a href=(format!("/cards?stage={}", c.stage.code())) { (stage_label(lang, c.stage)) } }
                                td data-testid=(format!("board-{}", c.stage.code())) { (c.count) }
                            }
                        }
                    }
                } }
            }
            section.card {
                h2 { (stage.map(|k| stage_label(lang, k)).unwrap_or_else(|| lang.t("Tất cả hồ sơ", "All applications").to_string())) ": " (list.total) }
                @let (l_app, l_name, l_id, l_kind, l_stage, l_upd) = (lang.t("Hồ sơ", "Application"), lang.t("Họ và tên", "Full name"), lang.t("Số định danh", "Personal ID"), lang.t("Loại", "Kind"), lang.t("Bước", "Stage"), lang.t("Cập nhật", "Updated"));
                div.table-wrap { table.stack data-testid="applications" {
                    thead { tr { th { (l_app) } th { (l_name) } th { (l_id) } th { (l_kind) } th { (l_stage) } th { (l_upd) } } }
                    tbody {
                        @for a in &list.items {
                            tr {
                                td data-label=(l_app) { a data-testid="application-link" href=(format!("/cards/{}", a.id)) { "#" (a.id) } }
                                td data-label=(l_name) data-testid="holder-name" { (names.get(&a.personal_id).map(String::as_str).unwrap_or("—")) }
                                td data-label=(l_id) { (a.personal_id) }
                                td data-label=(l_kind) { (kind_label(lang, a.kind)) }
                                td data-label=(l_stage) { (stage_label(lang, a.stage.kind())) }
                                td data-label=(l_upd) { (display::time(&a.updated_at)) }
                            }
                        }
                    }
                } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

fn move_form(
    lang: Lang,
    p: &Principal,
    id: i64,
    version: i64,
    stage: &Stage,
    to: StageKind,
    reason_required: bool,
) -> Markup {
    let action = format!("/cards/{id}/transitions");
    let capture = matches!(stage, Stage::Intake { biometrics_captured: false });
    let label = match (to, capture) {
        (StageKind::Intake, true) => {
            lang.t("Ghi nhận đã thu nhận sinh trắc", "Record biometrics captured").to_string()
        }
        (StageKind::Intake, false) if stage.kind() == StageKind::Intake => {
            lang.t("Hủy ghi nhận sinh trắc", "Undo biometrics capture").to_string()
        }
        _ => format!("{} {}", lang.t("Chuyển sang:", "Move to:"), stage_label(lang, to)),
    };
    html! {
        form.move method="post" action=(action) {
            input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
            input type="hidden" name="to" value=(to.code());
            input type="hidden" name="expected_version" value=(version);
            @if to == StageKind::Intake {
                input type="hidden" name="biometrics_captured" value=(if stage.kind() == StageKind::Intake { capture } else { true });
            }
            @if to == StageKind::HandedOver {
                select name="handover_method" aria-label=(lang.t("Hình thức trả thẻ", "Hand-over method")) {
                    @for m in [HandoverMethod::InPerson, HandoverMethod::Post] {
                        option value=(m.code()) { (if lang == Lang::Vi { m.label_vi() } else { m.label_en() }) }
                    }
                }
            }
            @if reason_required {
                input type="text" name="reason" required placeholder=(lang.t("Lý do", "Reason")) aria-label=(lang.t("Lý do", "Reason"));
            }
            " "
            button type="submit" data-testid=(format!("move-{}", to.code())) { (label) }
        }
    }
}

#[derive(Deserialize)]
pub struct AppParams {
    /// Set on the redirect after intake: the page offers the appointment slip first.
    intake: Option<String>,
}

pub async fn application_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    Query(q): Query<AppParams>,
) -> Response {
    let id = match parse_app_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let (app, events, holder) =
        match s.registry.card_application_with_holder(&p.access(WEB_PURPOSE), id).await {
            Ok(x) => x,
            Err(e) => return error_page(lang, Some(&p), e.into()),
        };
    let slip = format!("/cards/{}/slip", app.id);
    let actors = Actors::load(
        &s.accounts,
        std::iter::once(app.created_by.as_str()).chain(events.iter().map(|e| e.by.as_str())),
    )
    .await;
    let title = format!("{} #{}", lang.t("Hồ sơ cấp thẻ", "Card application"), app.id);
    let body = layout(
        lang,
        &title,
        Some(&p),
        html! {
            @if q.intake.is_some() {
                section.card data-testid="intake-notice" {
                    p { (lang.t("Đã thu nhận hồ sơ. In giấy hẹn trả kết quả và giao cho công dân.", "The application is taken in. Print the appointment slip and give it to the citizen.")) }
                    p { a.button data-testid="slip-link" href=(slip) { (lang.t("In giấy hẹn", "Print the appointment slip")) } }
                }
            }
            section.card {
                h1 { (title) }
                dl {
                    dt { (lang.t("Công dân", "Citizen")) } dd {
                        a data-testid="holder-name" href=(format!("/citizens/{}", app.personal_id)) {
                            (holder.as_ref().map(|h| h.citizen.name.full()).unwrap_or_else(|| app.personal_id.to_string()))
                        }
                        " (" (app.personal_id) ")"
                    }
                    dt { (lang.t("Loại", "Kind")) } dd { (kind_label(lang, app.kind)) }
                    dt { (lang.t("Bước hiện tại", "Current stage")) } dd data-testid="stage" { (stage_text(lang, &app.stage)) }
                    dt { (lang.t("Lý do đề nghị", "Reason")) } dd { (app.intake_reason) }
                    dt { (lang.t("Nơi thu nhận", "Taken in at")) } dd { (display::scope_text(lang, &app.unit)) ", " (actors.name(lang, &app.created_by)) ", " (display::time(&app.created_at)) }
                    dt { (lang.t("Phiên bản", "Version")) } dd { (app.version) }
                }
                @if q.intake.is_none() { p { a href=(slip) { (lang.t("Giấy hẹn trả kết quả", "Appointment slip")) } } }
            }
            @let moves = app.stage.moves();
            @if !moves.is_empty() && p.role.writes_records() {
                section.card data-testid="moves" {
                    h2 { (lang.t("Chuyển bước", "Move")) }
                    @for m in &moves {
                        (move_form(lang, &p, app.id, app.version, &app.stage, m.to, m.reason_required))
                    }
                }
            }
            section.card {
                h2 { (lang.t("Lịch sử xử lý", "History")) }
                @let (l_when, l_from, l_to, l_why, l_by) = (lang.t("Thời gian", "When"), lang.t("Từ", "From"), lang.t("Sang", "To"), lang.t("Lý do", "Reason"), lang.t("Người thực hiện", "By"));
                div.table-wrap { table.stack data-testid="events" {
                    thead { tr { th { (l_when) } th { (l_from) } th { (l_to) } th { (l_why) } th { (l_by) } } }
                    tbody {
                        @for e in &events {
                            tr { td data-label=(l_when) { (display::time(&e.at)) } td data-label=(l_from) { (stage_label(lang, e.from_stage)) } td data-label=(l_to) { (stage_label(lang, e.to_stage)) } td data-label=(l_why) { (e.reason) } td data-label=(l_by) { (actors.name(lang, &e.by)) } }
                        }
                    }
                } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

#[derive(Deserialize)]
pub struct MoveForm {
    csrf: String,
    to: String,
    expected_version: i64,
    reason: Option<String>,
    handover_method: Option<String>,
    biometrics_captured: Option<bool>,
}

pub async fn move_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    let result = async {
        p.check_csrf(&f.csrf)?;
        let id = parse_app_id(&id)?;
        let reason = f.reason.as_deref().map(dancu_domain::nfc).filter(|r| !r.is_empty());
        let to = target_stage(&f.to, reason.as_deref(), f.handover_method.as_deref(), f.biometrics_captured)?;
        s.registry
            .transition_card_application(
                &p.access(WEB_PURPOSE),
                id,
                &to,
                reason.as_deref(),
                f.expected_version,
            )
            .await?;
        Ok::<_, ApiError>(id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/cards/{id}")).into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

#[derive(Deserialize)]
pub struct IntakeForm {
    csrf: String,
    personal_id: String,
    kind: String,
    reason: String,
    biometrics_captured: Option<String>,
}

pub async fn intake_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Form(f): Form<IntakeForm>,
) -> Response {
    let result = async {
        p.check_csrf(&f.csrf)?;
        let n = NewCardApplication {
            personal_id: parse_id(&f.personal_id)?,
            kind: ApplicationKind::from_code(&f.kind)?,
            biometrics_captured: f.biometrics_captured.is_some(),
            reason: require_reason(&f.reason)?,
            unit: p.scope.to_string(),
        };
        Ok::<_, ApiError>(s.registry.create_card_application(&p.access(WEB_PURPOSE), &n).await?.id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/cards/{id}?intake=1")).into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

/// The appointment slip (giấy hẹn trả kết quả) handed over at intake, as a document in the
/// Decree 30/2020 format: the receiving unit, the file's number, the holder, the kind, the
/// intake day and the day the card will be ready (`dancu_identity::appointment_day`: 7
/// working days, Art. 26 of the 2023 Law on Identification), and the receiving officer's
/// signature block.
pub async fn slip_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_app_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let (app, _, holder) = match s.registry.card_application_with_holder(&p.access(WEB_PURPOSE), id).await {
        Ok(x) => x,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let actors = Actors::load(&s.accounts, [app.created_by.as_str()]).await;
    let issuer = Issuer::of_scope_text(&app.unit);
    let intake = dancu_domain::date::vietnam_today(app.created_at);
    let ready = dancu_identity::appointment_day(intake);
    let officer = actors.officer(&app.created_by).map(|o| o.0.to_string()).unwrap_or_default();
    let doc = Doc {
        testid: "appointment-slip",
        number: format!("{}/GH-{}", app.id, issuer.initials()),
        day: intake,
        title: "Giấy hẹn trả kết quả",
        summary: Some(format!("Về việc: {}", app.kind.label_vi().to_lowercase())),
        signer: Signer { capacity: "Cán bộ tiếp nhận".into(), name: officer },
        issuer,
    };
    let (name, birth) = holder
        .as_ref()
        .map(|h| (h.citizen.name.full(), h.citizen.birth_date.display_vi()))
        .unwrap_or_default();
    let unit_name = doc.issuer.name.clone();
    let body = html! {
        p { (unit_name) " đã tiếp nhận hồ sơ đề nghị cấp thẻ căn cước của công dân:" }
        dl.doc-fields {
            dt { "Họ, chữ đệm và tên:" } dd data-testid="slip-holder" { b { (name) } }
            dt { "Ngày, tháng, năm sinh:" } dd { (birth) }
            dt { "Số định danh cá nhân:" } dd { (app.personal_id) }
            dt { "Loại hồ sơ:" } dd data-testid="slip-kind" { (app.kind.label_vi()) }
            dt { "Số hồ sơ:" } dd data-testid="slip-application" { (app.id) }
            dt { "Ngày tiếp nhận:" } dd data-testid="slip-intake" { (display::day(&intake)) }
            dt { "Ngày hẹn trả kết quả:" } dd data-testid="slip-ready" { b { (display::day(&ready)) } }
            dt { "Nơi trả kết quả:" } dd { (unit_name) }
        }
        p { "Thời hạn giải quyết: " (dancu_identity::PROCESSING_WORKING_DAYS) " ngày làm việc kể từ ngày nhận đủ hồ sơ (Điều 26 Luật Căn cước số 26/2023/QH15). "
            "Khi đến nhận thẻ, công dân mang theo giấy hẹn này; có thể đề nghị trả thẻ qua bưu chính." }
    };
    let title = lang.t("Giấy hẹn trả kết quả", "Appointment slip");
    let page_body = layout(
        lang,
        title,
        Some(&p),
        html! {
            nav.doc-actions { a href=(format!("/cards/{}", app.id)) { (lang.t("← Hồ sơ cấp thẻ", "← The application")) } }
            (doc.render(body))
        },
    );
    page(lang_choice(&uri), StatusCode::OK, page_body)
}

/// The citizen page's section: their cards and the intake form.
pub fn citizen_section(lang: Lang, p: &Principal, personal_id: &str, cards: &[StoredCard]) -> Markup {
    html! {
        section.card {
            h2 { (lang.t("Thẻ căn cước", "ID cards")) }
            @let (l_no, l_iss, l_exp, l_st, l_app) = (lang.t("Số thẻ", "Number"), lang.t("Ngày cấp", "Issued"), lang.t("Có giá trị đến", "Valid until"), lang.t("Trạng thái", "Status"), lang.t("Hồ sơ", "Application"));
            div.table-wrap { table.stack data-testid="cards" {
                thead { tr { th { (l_no) } th { (l_iss) } th { (l_exp) } th { (l_st) } th { (l_app) } } }
                tbody {
                    @for c in cards {
                        tr {
                            td data-label=(l_no) { (c.number) }
                            td data-label=(l_iss) { (display::day(&c.issue_date)) }
                            td data-label=(l_exp) data-testid="card-expiry" { (c.expiry.map(|d| display::day(&d)).unwrap_or_else(|| lang.t("Không thời hạn", "No expiry").into())) }
                            td data-label=(l_st) data-testid="card-status" { (if lang == Lang::Vi { c.status.label_vi() } else { c.status.label_en() }) }
                            td data-label=(l_app) { a href=(format!("/cards/{}", c.application_id)) { "#" (c.application_id) } }
                        }
                    }
                }
            } }
            h3 { (lang.t("Thu nhận hồ sơ cấp thẻ", "Take in a card application")) }
            form method="post" action="/cards" data-testid="intake-form" {
                input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
                input type="hidden" name="personal_id" value=(personal_id);
                div.grid {
                    div {
                        label for="kind" { (lang.t("Loại hồ sơ", "Kind")) }
                        select #kind name="kind" {
                            @for k in ApplicationKind::ALL { option value=(k.code()) { (kind_label(lang, k)) } }
                        }
                    }
                    div {
                        label for="intake-reason" { (lang.t("Lý do", "Reason")) }
                        input #intake-reason type="text" name="reason" required;
                    }
                    div {
                        label { input #biometrics type="checkbox" name="biometrics_captured" value="on"; " " (lang.t("Đã thu nhận ảnh và vân tay", "Face and fingerprints captured")) }
                    }
                    div { button #intake-button type="submit" { (lang.t("Thu nhận", "Take in")) } }
                }
            }
        }
    }
}

/// The due-for-renewal list in the officer's scope, 50 a page.
pub async fn due_page(State(s): State<AppState>, lang: Lang, uri: Uri, WebUser(p): WebUser) -> Response {
    let mut q = match Query::<DueParams>::try_from_uri(&super::export::without_format(&uri)) {
        Ok(Query(q)) => q,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    q.limit = Some(q.limit.unwrap_or(50));
    // The form writes the day as people do (DD/MM/YYYY); the shared rules take ISO.
    if let Some(typed) = q.on.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        match display::parse_day(("on", "Ngày", "On"), typed) {
            Ok(d) => q.on = Some(d.to_string()),
            Err(e) => return error_page(lang, Some(&p), e),
        }
    }
    let (on, within, limit) = match due_args(&q) {
        Ok(x) => x,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let offset = q.offset.unwrap_or(0);
    if let Some(f) = super::export::Format::of(&uri) {
        let (r, access) = (&s.registry, &p.access(WEB_PURPOSE));
        let all = super::export::all_pages(|l, o| r.cards_due_for_renewal(access, on, within, l, o));
        return match all.await {
            Ok(items) => super::export::respond(f, &super::export::due_sheet(lang, &items)),
            Err(e) => error_page(lang, Some(&p), e),
        };
    }
    let list = match s.registry.cards_due_for_renewal(&p.access(WEB_PURPOSE), on, within, limit, offset).await
    {
        Ok(l) => l,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let on_text = display::day(&on);
    let link = |offset: u64| {
        format!(
            "/cards/due?on={}&within_days={within}&limit={limit}&offset={offset}",
            super::urlencode(&on_text)
        )
    };
    let title = lang.t("Danh sách đến hạn đổi thẻ", "Due for renewal");
    let body = layout(
        lang,
        title,
        Some(&p),
        html! {
            section.card {
                h1 { (title) }
                p { a href="/cards" { (lang.t("← Bảng hồ sơ thẻ", "← Card board")) } }
                form method="get" action="/cards/due" {
                    label { (lang.t("Ngày (ngày/tháng/năm)", "On (DD/MM/YYYY)")) " "
                        input type="text" name="on" value=(on_text) inputmode="numeric" placeholder="DD/MM/YYYY"
                            pattern="[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}" title=(lang.t("ngày/tháng/năm, ví dụ 07/03/2025", "DD/MM/YYYY, for example 07/03/2025")); }
                    " "
                    label { (lang.t("Trong vòng (ngày)", "Within (days)")) " "
                        input type="number" name="within_days" min="0" max="3650" value=(within); }
                    " "
                    button type="submit" { (lang.t("Xem", "Show")) }
                }
                p data-testid="due-total" {
                    (lang.t("Số thẻ đến hạn: ", "Cards due: ")) (list.total)
                }
                (super::export::links(lang, &uri))
                @let (l_id, l_name, l_dob, l_commune, l_from, l_exp) = (lang.t("Số định danh", "Personal ID"), lang.t("Họ và tên", "Full name"), lang.t("Ngày sinh", "Date of birth"), lang.t("Xã, phường", "Commune"), lang.t("Bắt đầu đổi từ", "Renewal from"), lang.t("Hết hạn", "Expires"));
                div.table-wrap { table.stack data-testid="due-cards" {
                    thead { tr { th { (l_id) } th { (l_name) } th { (l_dob) } th { (l_commune) } th { (l_from) } th { (l_exp) } } }
                    tbody {
                        @for d in &list.items {
                            tr {
                                td data-label=(l_id) { a href=(format!("/citizens/{}", d.personal_id)) { (d.personal_id) } }
                                td data-label=(l_name) { (d.full_name) }
                                td data-label=(l_dob) { (display::stored_date(&d.birth_date)) }
                                td data-label=(l_commune) { (display::commune_short(&d.scope_commune)) }
                                td data-label=(l_from) { (display::day(&d.renewal_due_from)) }
                                td data-label=(l_exp) { (display::day(&d.expiry)) }
                            }
                        }
                    }
                } }
                (list::pager(lang, offset, list.items.len(), list.total, limit.into(), link))
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}
