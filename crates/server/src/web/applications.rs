//! Public-service application pages (hồ sơ): the officer's work queue (soonest due first,
//! overdue marked), an application with its history, documents and the moves its state
//! allows, desk intake; and on the citizen portal, online submission of the residence
//! services and following one's own applications. Forms carry the session's CSRF token.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use dancu_domain::application::{AppState, Channel, Mover};
use dancu_store::applications::{Application, ApplicationEvent};
use dancu_store::registry::{ApplicationFile, Submission};

use super::display::{self, Actors};
use super::list::{self, View};
use super::portal::{nav, portal_error, unauthorized_redirect};
use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, Lang, WebUser};
use crate::api::applications::{idempotency_key, move_args, parse_app_id, queue_filter, QueueParams};
use crate::api::citizens::parse_id;
use crate::citizen_auth::CitizenPrincipal;
use crate::error::ApiError;
use crate::AppState as ServerState;

/// The services a citizen can submit online from the portal (the residence procedures).
pub const PORTAL_SERVICES: [&str; 4] =
    ["residence_permanent", "residence_temporary", "residence_absence", "residence_stay"];

fn due_cell(lang: Lang, a: &Application) -> Markup {
    html! {
        (display::day(&a.due_date))
        @if a.overdue { " " strong.overdue data-testid="overdue" { (lang.t("Quá hạn", "Overdue")) } }
        @if a.on_time == Some(false) { " " span.muted { (lang.t("(giải quyết trễ hạn)", "(decided late)")) } }
    }
}

fn history(lang: Lang, events: &[ApplicationEvent], who: impl Fn(&str) -> String) -> Markup {
    let (l_when, l_from, l_to, l_why, l_by) = (
        lang.t("Thời gian", "When"),
        lang.t("Từ", "From"),
        lang.t("Sang", "To"),
        lang.t("Lý do", "Reason"),
        lang.t("Người thực hiện", "By"),
    );
    html! {
        section.card {
            h2 { (lang.t("Lịch sử xử lý", "History")) }
            div.table-wrap { table.stack data-testid="events" {
                thead { tr { th { (l_when) } th { (l_from) } th { (l_to) } th { (l_why) } th { (l_by) } } }
                tbody { @for e in events {
                    tr {
                        td data-label=(l_when) { (display::time(&e.at)) }
                        td data-label=(l_from) { (display::app_state_code(lang, &e.from_state)) }
                        td data-label=(l_to) { (display::app_state_code(lang, &e.to_state)) }
                        td data-label=(l_why) { (e.reason) }
                        td data-label=(l_by) { (who(&e.actor)) }
                    }
                } }
            } }
        }
    }
}

fn summary(lang: Lang, a: &Application) -> Markup {
    html! {
        dl {
            dt { (lang.t("Dịch vụ", "Service")) } dd data-testid="service" { (display::service(lang, &a.service_code)) }
            dt { (lang.t("Trạng thái", "State")) } dd data-testid="state" { (display::app_state(lang, a.state))
                @if !a.state_reason.is_empty() { ": " (a.state_reason) } }
            dt { (lang.t("Kênh nộp", "Channel")) } dd { (display::channel(lang, a.channel)) }
            dt { (lang.t("Đơn vị giải quyết", "Handling unit")) } dd { (display::handling_unit(lang, &a.unit)) }
            dt { (lang.t("Ngày nộp", "Submitted")) } dd { (display::time(&a.submitted_at)) }
            dt { (lang.t("Hạn trả kết quả", "Due")) } dd data-testid="due" { (due_cell(lang, a)) }
            @if let Some(d) = &a.decided_at { dt { (lang.t("Ngày giải quyết", "Decided")) } dd { (display::time(d))
                @match a.on_time { Some(true) => { " (" (lang.t("đúng hạn", "on time")) ")" } Some(false) => { " (" (lang.t("trễ hạn", "late")) ")" } None => {} } } }
        }
    }
}

fn move_form(lang: Lang, action: &str, csrf: &str, version: i64, to: AppState) -> Markup {
    html! {
        form.move method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="to" value=(to.code());
            input type="hidden" name="expected_version" value=(version);
            @if to.needs_reason() {
                input id=(format!("reason-{}", to.code())) type="text" name="reason" required placeholder=(lang.t("Lý do", "Reason")) aria-label=(lang.t("Lý do", "Reason"));
            }
            " "
            button type="submit" data-testid=(format!("move-{}", to.code())) { (lang.t("Chuyển sang:", "Move to:")) " " (display::app_state(lang, to)) }
        }
    }
}

fn service_options(lang: Lang, codes: &[&str]) -> Markup {
    html! { @for c in codes { option value=(c) { (display::service(lang, c)) } } }
}

// ---- officer pages ----

pub async fn queue_page(
    State(s): State<ServerState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    q: Result<Query<QueueParams>, QueryRejection>,
) -> Response {
    let (q, mut f) = match list::filtered(q, queue_filter) {
        Ok(x) => x,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    // The queue is the work to do: open applications, unless every state is asked for.
    f.open_only = q.open.unwrap_or(true);
    let list = match s.registry.list_applications(&p.access(WEB_PURPOSE), &f, 50, q.offset.unwrap_or(0)).await
    {
        Ok(l) => l,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let all: Vec<&str> = dancu_domain::services::catalogue().iter().map(|s| s.code.as_str()).collect();
    let title = lang.t("Hồ sơ dịch vụ công", "Public-service applications");
    let (l_app, l_svc, l_state, l_due, l_id) = (
        lang.t("Hồ sơ", "Application"),
        lang.t("Dịch vụ", "Service"),
        lang.t("Trạng thái", "State"),
        lang.t("Hạn trả kết quả", "Due"),
        lang.t("Số định danh", "Personal ID"),
    );
    let body = layout(
        lang,
        title,
        Some(&p),
        html! {
            section.card {
                h1 { (title) }
                (list::views(None, [
                    View::new("/applications", lang.t("Đang giải quyết", "Open")),
                    View::new("/applications?open=false", lang.t("Tất cả, kể cả đã kết thúc", "All, decided ones included")).testid("all-link"),
                    View::new("/applications?overdue=true", lang.t("Chỉ hồ sơ quá hạn", "Overdue only")).testid("overdue-link"),
                ].into_iter().chain(AppState::OPEN.into_iter().map(|st| View::new(format!("/applications?state={}", st.code()), display::app_state(lang, st))))))
                h2 { (lang.t("Số hồ sơ", "Applications")) ": " span data-testid="total" { (list.total) } }
                div.table-wrap { table.stack data-testid="queue" {
                    thead { tr { th { (l_app) } th { (l_svc) } th { (l_id) } th { (l_state) } th { (l_due) } } }
                    tbody { @for a in &list.items {
                        tr.late[a.overdue] {
                            td data-label=(l_app) { a data-testid="application-link" href=(format!("/applications/{}", a.id)) { "#" (a.id) } }
                            td data-label=(l_svc) { (display::service(lang, &a.service_code)) }
                            td data-label=(l_id) { (a.personal_id) }
                            td data-label=(l_state) { (display::app_state(lang, a.state)) }
                            td data-label=(l_due) { (due_cell(lang, a)) }
                        }
                    } }
                } }
            }
            @if p.role.writes_records() {
                section.card data-testid="intake" {
                    h2 { (lang.t("Tiếp nhận hồ sơ tại bộ phận một cửa", "Take in an application at the desk")) }
                    form method="post" action="/applications" {
                        input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
                        input type="hidden" name="idempotency_key" value=(crate::auth::random_token());
                        label for="personal_id" { (lang.t("Số định danh cá nhân", "Personal ID")) }
                        input #personal_id type="text" name="personal_id" required inputmode="numeric" pattern="[0-9]{12}";
                        label for="service_code" { (lang.t("Dịch vụ công", "Service")) }
                        select #service_code name="service_code" { (service_options(lang, &all)) }
                        label for="channel" { (lang.t("Kênh nộp", "Channel")) }
                        select #channel name="channel" {
                            @for c in [Channel::Desk, Channel::Post] { option value=(c.code()) { (display::channel(lang, c)) } }
                        }
                        p { button type="submit" data-testid="intake-submit" { (lang.t("Tiếp nhận", "Take in")) } }
                    }
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

#[derive(Deserialize)]
pub struct IntakeForm {
    csrf: String,
    personal_id: String,
    service_code: String,
    channel: Option<String>,
    idempotency_key: Option<String>,
}

pub async fn intake_submit(
    State(s): State<ServerState>,
    lang: Lang,
    WebUser(p): WebUser,
    Form(f): Form<IntakeForm>,
) -> Response {
    if dancu_domain::residence::ResidenceRequest::is_residence_service(f.service_code.trim()) {
        let to = format!("/applications/new/{}?personal_id={}", f.service_code.trim(), f.personal_id.trim());
        return Redirect::to(&to).into_response();
    }
    let result = async {
        p.check_csrf(&f.csrf)?;
        let sub = Submission {
            personal_id: parse_id(f.personal_id.trim())?,
            service_code: f.service_code.trim().to_string(),
            channel: Channel::from_code(f.channel.as_deref().unwrap_or("desk"))?,
            idempotency_key: idempotency_key(f.idempotency_key.as_deref())?,
            received_on: None,
            payload: None,
        };
        let (app, _) = s.registry.submit_application(&p.access(WEB_PURPOSE), &sub).await?;
        Ok::<_, ApiError>(app.id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/applications/{id}")).into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

pub async fn application_page(
    State(s): State<ServerState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_app_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let ApplicationFile { application: a, events, documents, consents } =
        match s.registry.application(&p.access(WEB_PURPOSE), id).await {
            Ok(f) => f,
            Err(e) => return error_page(lang, Some(&p), e.into()),
        };
    let actors = Actors::load(&s.accounts, events.iter().map(|e| e.actor.as_str())).await;
    let title = format!("{} #{}", lang.t("Hồ sơ", "Application"), a.id);
    let action = format!("/applications/{}/transitions", a.id);
    let csrf = p.csrf.clone().unwrap_or_default();
    let moves = a.state.allowed_for(Mover::Officer);
    let consent_action = format!("/applications/{}/consent", a.id);
    let body = layout(
        lang,
        &title,
        Some(&p),
        html! {
            section.card {
                h1 { (title) }
                p { (lang.t("Công dân", "Citizen")) ": " a href=(format!("/citizens/{}", a.personal_id)) { (a.personal_id) } }
                (summary(lang, &a))
            }
            (super::residence::request_card(lang, &a.payload, a.consent_from.as_ref(), &consents,
                p.role.writes_records().then_some((consent_action.as_str(), csrf.as_str()))))
            @if !moves.is_empty() && p.role.writes_records() {
                section.card data-testid="moves" {
                    h2 { (lang.t("Xử lý", "Actions")) }
                    @for to in &moves { (move_form(lang, &action, &csrf, a.version, *to)) }
                }
            }
            section.card {
                h2 { (lang.t("Giấy tờ kèm theo", "Documents")) }
                @if documents.is_empty() { p.muted { (lang.t("Chưa có giấy tờ", "No documents")) } }
                ul { @for d in &documents {
                    li { (dancu_domain::application::document_kind_name(&d.kind, lang == Lang::Vi).unwrap_or(lang.t("Giấy tờ khác", "Other document"))) " — " (d.size) " " (lang.t("byte", "bytes"))
                        @if d.reused { " (" (lang.t("dùng lại bản đã số hóa", "reused, already digitised")) ")" } }
                } }
            }
            (history(lang, &events, |actor| actors.name(lang, actor)))
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
}

pub async fn move_submit(
    State(s): State<ServerState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    let result = async {
        p.check_csrf(&f.csrf)?;
        let id = parse_app_id(&id)?;
        let (to, reason) = move_args(&f.to, f.reason.as_deref())?;
        s.registry
            .transition_application(&p.access(WEB_PURPOSE), id, to, &reason, f.expected_version)
            .await?;
        Ok::<_, ApiError>(id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/applications/{id}")).into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

// ---- citizen portal ----

pub async fn portal_list(
    State(s): State<ServerState>,
    lang: Lang,
    uri: Uri,
    who: Option<CitizenPrincipal>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    let list = match s.registry.own_applications(&who.personal_id, 50, 0).await {
        Ok(l) => l,
        Err(e) => return portal_error(lang, e.into()),
    };
    let title = lang.t("Hồ sơ dịch vụ công của tôi", "My applications");
    let body = layout(
        lang,
        title,
        None,
        html! {
            (nav(lang, &who))
            section.card {
                h1 { (title) }
                @if list.items.is_empty() { p.muted { (lang.t("Chưa có hồ sơ", "No applications yet")) } }
                ul data-testid="my-applications" { @for a in &list.items {
                    li { a href=(format!("/portal/applications/{}", a.id)) { (display::service(lang, &a.service_code)) }
                        " — " (display::app_state(lang, a.state)) " — " (lang.t("hạn", "due")) " " (due_cell(lang, a)) }
                } }
            }
            section.card data-testid="submit" {
                h2 { (lang.t("Nộp hồ sơ trực tuyến", "Apply online")) }
                (super::residence::procedure_links(lang, "/portal/applications/new"))
                p { a href="/portal/consents" data-testid="consents-link" { (lang.t("Yêu cầu nhập hộ chờ tôi đồng ý", "Requests to join my household")) } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

#[derive(Deserialize)]
pub struct PortalSubmitForm {
    csrf: String,
    service_code: String,
    idempotency_key: Option<String>,
}

pub async fn portal_submit(
    State(s): State<ServerState>,
    lang: Lang,
    who: Option<CitizenPrincipal>,
    Form(f): Form<PortalSubmitForm>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    if PORTAL_SERVICES.contains(&f.service_code.as_str()) {
        // A residence procedure needs its request: its own form asks for it.
        return Redirect::to(&format!("/portal/applications/new/{}", f.service_code)).into_response();
    }
    let result = async {
        who.check_csrf(&f.csrf)?;
        if !PORTAL_SERVICES.contains(&f.service_code.as_str()) {
            return Err(ApiError::from(dancu_domain::Violation::new(
                "service_code",
                "application.not_online",
                "Thủ tục này chưa nộp trực tuyến được trên cổng",
                "this procedure cannot be submitted on the portal yet",
            )));
        }
        let sub = Submission {
            personal_id: who.personal_id,
            service_code: f.service_code.clone(),
            channel: Channel::Online,
            idempotency_key: idempotency_key(f.idempotency_key.as_deref())?,
            received_on: None,
            payload: None,
        };
        let (app, _) = s.registry.submit_own_application(&sub).await?;
        Ok(app.id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/portal/applications/{id}")).into_response(),
        Err(e) => portal_error(lang, e),
    }
}

pub async fn portal_application(
    State(s): State<ServerState>,
    lang: Lang,
    uri: Uri,
    who: Option<CitizenPrincipal>,
    Path(id): Path<String>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    let file = match parse_app_id(&id) {
        Ok(id) => s.registry.own_application(&who.personal_id, id).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let ApplicationFile { application: a, events, consents, .. } = match file {
        Ok(f) => f,
        Err(e) => return portal_error(lang, e),
    };
    let me = dancu_store::registry::citizen_actor(&who.personal_id);
    let moves = a.state.allowed_for(Mover::Citizen);
    let action = format!("/portal/applications/{}/transitions", a.id);
    let title = format!("{} #{}", lang.t("Hồ sơ", "Application"), a.id);
    let body = layout(
        lang,
        &title,
        None,
        html! {
            (nav(lang, &who))
            section.card { h1 { (title) } (summary(lang, &a)) }
            (super::residence::request_card(lang, &a.payload, a.consent_from.as_ref(), &consents, None))
            @if !moves.is_empty() {
                section.card data-testid="moves" { @for to in &moves { (move_form(lang, &action, &who.csrf, a.version, *to)) } }
            }
            (history(lang, &events, |actor| if actor == me { lang.t("Bạn", "You").to_string() } else { lang.t("Cán bộ xử lý", "Handling officer").to_string() }))
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

pub async fn portal_move(
    State(s): State<ServerState>,
    lang: Lang,
    who: Option<CitizenPrincipal>,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    let result = async {
        who.check_csrf(&f.csrf)?;
        let id = parse_app_id(&id)?;
        let (to, reason) = move_args(&f.to, f.reason.as_deref())?;
        s.registry.own_transition(&who.personal_id, id, to, &reason, f.expected_version).await?;
        Ok::<_, ApiError>(id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/portal/applications/{id}")).into_response(),
        Err(e) => portal_error(lang, e),
    }
}
