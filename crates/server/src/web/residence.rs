//! Residence procedure pages (docs/RESIDENCE.md): the form of each procedure, filled by a
//! citizen on the portal (`/portal/applications/new/{service}`) or by an officer at the
//! desk (`/applications/new/{service}`); the request shown in words on an application; the
//! head's consent (the head in the portal, or an officer recording written consent); a
//! person's residence records; the stays and absences current in an officer's scope.
//! A refused form is shown again with what was typed and each refusal at its field.

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use dancu_domain::application::Channel;
use dancu_domain::residence::{HouseholdChoice, ResidenceKind, ResidenceRequest};
use dancu_domain::{PersonalId, Violation};
use dancu_store::registry::Submission;
use dancu_store::residences::{Consent, Residence};
use dancu_store::Scope;

use super::display;
use super::forms::{self, Problems, Typed};
use super::portal::{nav, portal_error, unauthorized_redirect};
use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, Lang, WebUser};
use crate::api::applications::idempotency_key;
use crate::api::citizens::parse_id;
use crate::citizen_auth::CitizenPrincipal;
use crate::error::ApiError;
use crate::AppState as ServerState;

/// The procedures a citizen submits on the portal, in the order the page lists them.
pub const PORTAL_PROCEDURES: [&str; 7] = dancu_domain::residence::RESIDENCE_SERVICES;

fn field_label(lang: Lang, name: &str) -> &'static str {
    match name {
        "payload.unit" => lang.t("Xã, phường nơi đăng ký", "Commune of the registration"),
        "payload.detail" => lang.t("Số nhà, đường, thôn, xóm", "House number, street, village"),
        "payload.from" => lang.t("Từ ngày", "From"),
        "payload.until" => lang.t("Đến ngày", "Until"),
        "payload.extension" => lang.t("Gia hạn tạm trú hiện có", "Extend the current temporary residence"),
        "payload.destination" => lang.t("Nơi đến", "Destination"),
        "payload.household.choice" => lang.t("Hộ gia đình", "Household"),
        "payload.household.number" => lang.t("Số hộ muốn nhập", "Number of the household to join"),
        "payload.household.relation" => lang.t("Quan hệ với chủ hộ", "Relation to the head"),
        "payload.guests" => {
            lang.t("Số định danh người lưu trú (mỗi dòng một số)", "Guests' personal IDs (one per line)")
        }
        "payload.number" => lang.t("Số hộ", "Household number"),
        "payload.leaving" => lang.t(
            "Số định danh người tách hộ (mỗi dòng một số)",
            "Personal IDs of those who leave (one per line)",
        ),
        "payload.new_head" => lang.t("Chủ hộ mới (số định danh)", "New head (personal ID)"),
        "payload.new_number" => lang.t("Số hộ mới", "New household number"),
        "payload.old_head_relation" => {
            lang.t("Quan hệ của chủ hộ cũ với chủ hộ mới", "Relation of the old head to the new one")
        }
        "personal_id" => lang.t("Số định danh cá nhân người nộp", "Applicant's personal ID"),
        _ => lang.t("Nội dung yêu cầu", "Request"),
    }
}

/// The fields each procedure's form shows.
fn fields_of(service: &str) -> &'static [&'static str] {
    match service {
        "residence_permanent" => &[
            "payload.unit",
            "payload.detail",
            "payload.household.choice",
            "payload.household.number",
            "payload.household.relation",
        ],
        "residence_temporary" => {
            &["payload.unit", "payload.detail", "payload.from", "payload.until", "payload.extension"]
        }
        "residence_absence" => &["payload.from", "payload.until", "payload.destination"],
        "residence_stay" => {
            &["payload.unit", "payload.detail", "payload.from", "payload.until", "payload.guests"]
        }
        "household_split" => &["payload.number", "payload.leaving", "payload.new_head", "payload.new_number"],
        "household_head_change" => &["payload.number", "payload.new_head", "payload.old_head_relation"],
        _ => &[],
    }
}

fn day(
    t: &Typed,
    name: &'static str,
    lang_vi: &'static str,
    lang_en: &'static str,
) -> Result<String, ApiError> {
    display::parse_day((name, lang_vi, lang_en), t.get(name)).map(|d| d.to_string())
}

fn ids(t: &Typed, name: &str) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for w in t.get(name).split(|c: char| c.is_whitespace() || c == ',' || c == ';').filter(|w| !w.is_empty())
    {
        let id: PersonalId = w.parse().map_err(|v: Violation| ApiError::invalid(vec![v.at(name)]))?;
        out.push(id.to_string());
    }
    Ok(out)
}

/// The request of `service` built from a form's fields (dates typed DD/MM/YYYY), for the
/// registry to check like any other request.
pub fn payload_of(service: &str, t: &Typed) -> Result<Value, ApiError> {
    let unit = || t.get("payload.unit").trim().to_string();
    let detail = || t.get("payload.detail").trim().to_string();
    let from = || day(t, "payload.from", "Từ ngày", "From");
    let until = || day(t, "payload.until", "Đến ngày", "Until");
    Ok(match service {
        "residence_permanent" => {
            let household = if t.get("payload.household.choice") == "join" {
                json!({"choice": "join", "number": t.get("payload.household.number").trim(),
                       "relation": t.get("payload.household.relation")})
            } else {
                json!({"choice": "new"})
            };
            json!({"procedure": "permanent", "unit": unit(), "detail": detail(), "household": household})
        }
        "residence_removal" => json!({"procedure": "permanent_removal"}),
        "residence_temporary" => json!({"procedure": "temporary", "unit": unit(), "detail": detail(),
            "from": from()?, "until": until()?, "extension": t.get("payload.extension") == "true"}),
        "residence_absence" => json!({"procedure": "absence", "from": from()?, "until": until()?,
            "destination": t.get("payload.destination").trim()}),
        "residence_stay" => json!({"procedure": "stay", "unit": unit(), "detail": detail(),
            "from": from()?, "until": until()?, "guests": ids(t, "payload.guests")?}),
        "household_split" => json!({"procedure": "household_split", "number": t.get("payload.number").trim(),
            "leaving": ids(t, "payload.leaving")?, "new_head": t.get("payload.new_head").trim(),
            "new_number": t.get("payload.new_number").trim()}),
        "household_head_change" => {
            json!({"procedure": "head_change", "number": t.get("payload.number").trim(),
            "new_head": t.get("payload.new_head").trim(), "old_head_relation": t.get("payload.old_head_relation")})
        }
        _ => return Err(ApiError::not_found()),
    })
}

fn textarea(lang: Lang, t: &Typed, p: &Problems, name: &str) -> Markup {
    html! {
        div.field {
            label for=(name) { (field_label(lang, name)) }
            textarea #(name) name=(name) rows="3" inputmode="numeric" { (t.get(name)) }
            (p.at(lang, name))
        }
    }
}

/// The inputs of one procedure.
fn inputs(lang: Lang, service: &str, t: &Typed, p: &Problems, communes: &[(String, String)]) -> Markup {
    let relations = forms::relation_options(lang, false);
    let all_relations: Vec<(String, String)> = relations.clone();
    html! {
        @for name in fields_of(service) {
            @match *name {
                "payload.unit" => (forms::commune(lang, t, p, name, field_label(lang, name), communes)),
                "payload.from" | "payload.until" => (forms::date(lang, t, p, name, field_label(lang, name))),
                "payload.extension" => {
                    div.field { label { input type="checkbox" name=(name) value="true" checked[t.get(name) == "true"]; " " (field_label(lang, name)) } }
                }
                "payload.household.choice" => (forms::select(lang, t, p, name, field_label(lang, name), &[
                    ("new".to_string(), lang.t("Lập hộ mới, tôi là chủ hộ", "Found a new household, as its head").to_string()),
                    ("join".to_string(), lang.t("Nhập vào hộ đã có (cần chủ hộ đồng ý)", "Join an existing household (the head must consent)").to_string()),
                ])),
                "payload.household.relation" => (forms::select(lang, t, p, name, field_label(lang, name), &relations)),
                "payload.old_head_relation" => (forms::select(lang, t, p, name, field_label(lang, name), &all_relations)),
                "payload.guests" | "payload.leaving" => (textarea(lang, t, p, name)),
                _ => (forms::text(lang, t, p, name, field_label(lang, name), None)),
            }
        }
        (forms::commune_datalist(communes))
    }
}

fn known(service: &str) -> Result<(), ApiError> {
    if ResidenceRequest::is_residence_service(service) {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

/// Where a procedure form posts and what it offers: the portal's (the citizen applies for
/// themself) or the desk's (the officer names the applicant).
#[derive(Clone, Copy)]
struct FormSite<'a> {
    action: &'a str,
    csrf: &'a str,
    communes: &'a [(String, String)],
    with_applicant: bool,
}

fn form_page(lang: Lang, service: &str, site: &FormSite<'_>, t: &Typed, p: &Problems) -> Markup {
    let FormSite { action, csrf, communes, with_applicant } = *site;
    let mut shown: Vec<&str> = fields_of(service).to_vec();
    if with_applicant {
        shown.push("personal_id");
    }
    html! {
        section.card data-testid="procedure-form" {
            h1 { (display::service(lang, service)) }
            (p.summary(lang, &shown))
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="idempotency_key" value=(if t.get("idempotency_key").is_empty() { crate::auth::random_token() } else { t.get("idempotency_key").to_string() });
                @if with_applicant { (forms::text(lang, t, p, "personal_id", field_label(lang, "personal_id"), None)) }
                (inputs(lang, service, t, p, communes))
                p { button type="submit" data-testid="procedure-submit" { (lang.t("Nộp hồ sơ", "Submit")) } }
            }
        }
    }
}

fn typed_of(pairs: Vec<(String, String)>, communes: &[(String, String)]) -> (Typed, Vec<Violation>) {
    let mut t = Typed::from_pairs(pairs);
    let v = forms::resolve_communes(&mut t, &["payload.unit"], communes);
    (t, v)
}

// ---- the portal ----

fn nation_communes() -> Vec<(String, String)> {
    forms::commune_options(&Scope::Nation)
}

pub async fn portal_form(
    lang: Lang,
    uri: Uri,
    who: Option<CitizenPrincipal>,
    Path(service): Path<String>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    if let Err(e) = known(&service) {
        return portal_error(lang, e);
    }
    let communes = nation_communes();
    let action = format!("/portal/applications/new/{service}");
    let body = layout(
        lang,
        &display::service(lang, &service),
        None,
        html! { (nav(lang, &who)) (form_page(lang, &service, &FormSite { action: &action, csrf: &who.csrf, communes: &communes, with_applicant: false }, &Typed::default(), &Problems::default())) },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

pub async fn portal_form_submit(
    State(s): State<ServerState>,
    lang: Lang,
    who: Option<CitizenPrincipal>,
    Path(service): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    if let Err(e) = known(&service) {
        return portal_error(lang, e);
    }
    let communes = nation_communes();
    let (t, unresolved) = typed_of(pairs, &communes);
    let result = async {
        who.check_csrf(t.get("csrf"))?;
        if !unresolved.is_empty() {
            return Err(ApiError::invalid(unresolved));
        }
        let sub = Submission {
            personal_id: who.personal_id,
            service_code: service.clone(),
            channel: Channel::Online,
            idempotency_key: idempotency_key(t.opt("idempotency_key"))?,
            received_on: None,
            payload: Some(payload_of(&service, &t)?),
        };
        Ok::<_, ApiError>(s.registry.submit_own_application(&sub).await?.0.id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/portal/applications/{id}")).into_response(),
        Err(e) => {
            let p = Problems::from_error(e);
            let status = p.status();
            let action = format!("/portal/applications/new/{service}");
            let body = layout(
                lang,
                &display::service(lang, &service),
                None,
                html! { (nav(lang, &who)) (form_page(lang, &service, &FormSite { action: &action, csrf: &who.csrf, communes: &communes, with_applicant: false }, &t, &p)) },
            );
            page(None, status, body)
        }
    }
}

/// The portal's list of procedures, each linking to its form.
pub fn procedure_links(lang: Lang, base: &str) -> Markup {
    html! {
        ul data-testid="procedures" { @for code in PORTAL_PROCEDURES {
            li { a data-testid=(format!("procedure-{code}")) href=(format!("{base}/{code}")) { (display::service(lang, code)) } }
        } }
    }
}

/// The consents a head is asked for, each with its button.
pub async fn portal_consents(
    State(s): State<ServerState>,
    lang: Lang,
    uri: Uri,
    who: Option<CitizenPrincipal>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    let waiting = match s.registry.consents_waiting(&who.personal_id).await {
        Ok(w) => w,
        Err(e) => return portal_error(lang, e.into()),
    };
    let title = lang.t("Yêu cầu nhập hộ chờ tôi đồng ý", "Requests to join my household");
    let body = layout(
        lang,
        title,
        None,
        html! {
            (nav(lang, &who))
            section.card data-testid="consents" {
                h1 { (title) }
                @if waiting.is_empty() { p.muted { (lang.t("Không có yêu cầu nào", "No requests")) } }
                @for a in &waiting {
                    form method="post" action=(format!("/portal/consents/{}", a.id)) {
                        input type="hidden" name="csrf" value=(who.csrf);
                        p { (lang.t("Hồ sơ", "Application")) " #" (a.id) ": " (a.personal_id) " — " (request_words(lang, &a.payload)) }
                        button type="submit" data-testid=(format!("consent-{}", a.id)) { (lang.t("Tôi đồng ý cho nhập hộ", "I consent")) }
                    }
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn portal_consent(
    State(s): State<ServerState>,
    lang: Lang,
    who: Option<CitizenPrincipal>,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    let result = async {
        who.check_csrf(&f.csrf)?;
        let id = crate::api::applications::parse_app_id(&id)?;
        s.registry.own_consent(&who.personal_id, id).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/portal/consents").into_response(),
        Err(e) => portal_error(lang, e),
    }
}

// ---- officers ----

#[derive(Deserialize)]
pub struct ApplicantParam {
    personal_id: Option<String>,
}

pub async fn desk_form(
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(service): Path<String>,
    Query(q): Query<ApplicantParam>,
) -> Response {
    if let Err(e) = known(&service) {
        return error_page(lang, Some(&p), e);
    }
    let communes = forms::commune_options(&p.scope);
    let mut t = Typed::default();
    t.set("personal_id", q.personal_id.unwrap_or_default());
    let action = format!("/applications/new/{service}");
    let csrf = p.csrf.clone().unwrap_or_default();
    let body = layout(
        lang,
        &display::service(lang, &service),
        Some(&p),
        form_page(
            lang,
            &service,
            &FormSite { action: &action, csrf: &csrf, communes: &communes, with_applicant: true },
            &t,
            &Problems::default(),
        ),
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

pub async fn desk_form_submit(
    State(s): State<ServerState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(service): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(e) = known(&service) {
        return error_page(lang, Some(&p), e);
    }
    let communes = forms::commune_options(&p.scope);
    let (t, unresolved) = typed_of(pairs, &communes);
    let result = async {
        p.check_csrf(t.get("csrf"))?;
        if !unresolved.is_empty() {
            return Err(ApiError::invalid(unresolved));
        }
        let sub = Submission {
            personal_id: parse_id(t.get("personal_id").trim())?,
            service_code: service.clone(),
            channel: Channel::Desk,
            idempotency_key: idempotency_key(t.opt("idempotency_key"))?,
            received_on: None,
            payload: Some(payload_of(&service, &t)?),
        };
        Ok::<_, ApiError>(s.registry.submit_application(&p.access(WEB_PURPOSE), &sub).await?.0.id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/applications/{id}")).into_response(),
        Err(e) => {
            let pr = Problems::from_error(e);
            let status = pr.status();
            let action = format!("/applications/new/{service}");
            let csrf = p.csrf.clone().unwrap_or_default();
            let body = layout(
                lang,
                &display::service(lang, &service),
                Some(&p),
                form_page(
                    lang,
                    &service,
                    &FormSite { action: &action, csrf: &csrf, communes: &communes, with_applicant: true },
                    &t,
                    &pr,
                ),
            );
            page(None, status, body)
        }
    }
}

pub async fn record_consent(
    State(s): State<ServerState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let result = async {
        p.check_csrf(&f.csrf)?;
        let id = crate::api::applications::parse_app_id(&id)?;
        s.registry.record_written_consent(&p.access(WEB_PURPOSE), id).await?;
        Ok::<_, ApiError>(id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/applications/{id}")).into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

/// The request of an application in words, with the consent it waits for (officer page).
pub fn request_card(
    lang: Lang,
    payload: &Value,
    consent_from: Option<&PersonalId>,
    consents: &[Consent],
    consent_action: Option<(&str, &str)>,
) -> Markup {
    if payload.as_object().is_none_or(|o| o.is_empty()) {
        return html! {};
    }
    html! {
        section.card data-testid="request" {
            h2 { (lang.t("Nội dung yêu cầu", "Request")) }
            p { (request_words(lang, payload)) }
            @if let Some(head) = consent_from {
                @let given = consents.iter().find(|c| &c.personal_id == head);
                p data-testid="consent" {
                    (lang.t("Ý kiến chủ hộ", "Head's consent")) " (" (head) "): "
                    @match given {
                        Some(c) => { strong { (lang.t("đã đồng ý", "given")) } " — " (display::time(&c.given_at)) " ("
                            (if c.method == "portal" { lang.t("trên cổng dịch vụ công", "on the portal") } else { lang.t("bằng văn bản tại bộ phận một cửa", "in writing at the desk") }) ")" }
                        None => { strong.overdue { (lang.t("chưa có", "not yet given")) } }
                    }
                }
                @if let (None, Some((action, csrf))) = (given, consent_action) {
                    form method="post" action=(action) {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" data-testid="record-consent" { (lang.t("Ghi nhận chủ hộ đồng ý bằng văn bản", "Record the head's written consent")) }
                    }
                }
            }
        }
    }
}

/// A request in one sentence of words.
pub fn request_words(lang: Lang, payload: &Value) -> String {
    let Ok(r) = serde_json::from_value::<ResidenceRequest>(payload.clone()) else {
        return lang.t("(không có nội dung)", "(no request)").to_string();
    };
    let place = |u: &dancu_domain::UnitRef, d: &str| format!("{d}, {}", display::unit(lang, u));
    let days =
        |f: &chrono::NaiveDate, u: &chrono::NaiveDate| format!("{} – {}", display::day(f), display::day(u));
    match r {
        ResidenceRequest::Permanent { unit, detail, household } => {
            let h = match household {
                HouseholdChoice::New => lang.t("lập hộ mới", "new household").to_string(),
                HouseholdChoice::Join { number, relation } => format!(
                    "{} {number} ({})",
                    lang.t("nhập hộ", "join household"),
                    display::relation(lang, relation, None)
                ),
            };
            format!("{}: {}; {h}", lang.t("Thường trú tại", "Permanent residence at"), place(&unit, &detail))
        }
        ResidenceRequest::PermanentRemoval {} => {
            lang.t("Xóa đăng ký thường trú", "Remove the permanent residence").into()
        }
        ResidenceRequest::Temporary { unit, detail, from, until, extension } => format!(
            "{}: {}; {}{}",
            lang.t("Tạm trú tại", "Temporary residence at"),
            place(&unit, &detail),
            days(&from, &until),
            if extension { lang.t(" (gia hạn)", " (extension)") } else { "" }
        ),
        ResidenceRequest::Absence { from, until, destination } => {
            format!(
                "{}: {destination}; {}",
                lang.t("Tạm vắng, nơi đến", "Absence, destination"),
                days(&from, &until)
            )
        }
        ResidenceRequest::Stay { unit, detail, from, until, guests } => format!(
            "{}: {}; {}; {} {}",
            lang.t("Lưu trú tại", "Stay at"),
            place(&unit, &detail),
            days(&from, &until),
            guests.len(),
            lang.t("người", "guest(s)")
        ),
        ResidenceRequest::HouseholdSplit { number, leaving, new_number, .. } => format!(
            "{} {number}: {} {} → {} {new_number}",
            lang.t("Tách hộ", "Split household"),
            leaving.len(),
            lang.t("người", "person(s)"),
            lang.t("hộ mới", "new household"),
        ),
        ResidenceRequest::HeadChange { number, new_head, .. } => {
            format!(
                "{} {number}: {new_head}",
                lang.t("Thay đổi chủ hộ của hộ", "Change the head of household")
            )
        }
    }
}

/// A person's residence records as a table (citizen page, portal).
pub fn records_table(lang: Lang, records: &[Residence]) -> Markup {
    let (l_kind, l_place, l_period, l_state, l_app) = (
        lang.t("Loại", "Kind"),
        lang.t("Nơi cư trú", "Place"),
        lang.t("Thời hạn", "Period"),
        lang.t("Tình trạng", "Status"),
        lang.t("Thủ tục", "Procedure"),
    );
    html! {
        section.card data-testid="residences" {
            h2 { (lang.t("Thông tin cư trú", "Residence")) }
            @if records.is_empty() { p.muted { (lang.t("Chưa có thông tin cư trú", "No residence recorded")) } }
            div.table-wrap { table.stack {
                thead { tr { th { (l_kind) } th { (l_place) } th { (l_period) } th { (l_state) } th { (l_app) } } }
                tbody { @for r in records {
                    tr data-testid=(format!("residence-{}", r.kind.code())) {
                        td data-label=(l_kind) { (match lang { Lang::Vi => r.kind.label_vi(), Lang::En => r.kind.label_en() }) }
                        td data-label=(l_place) { (r.detail) ", " (r.unit.parse::<dancu_domain::UnitRef>().map(|u| display::unit(lang, &u)).unwrap_or_default()) }
                        td data-label=(l_period) { (display::day(&r.valid_from)) " – " (r.valid_until.map(|d| display::day(&d)).unwrap_or_default()) }
                        td data-label=(l_state) { (status_words(lang, r)) }
                        td data-label=(l_app) { @if let Some(a) = r.application_id { "#" (a) } @else { (source_words(lang, &r.source)) } }
                    }
                } }
            } }
        }
    }
}

fn status_words(lang: Lang, r: &Residence) -> String {
    if r.current {
        return lang.t("Đang có hiệu lực", "Current").into();
    }
    let why = match r.end_reason.as_str() {
        "replaced" => lang.t("thay bằng nơi mới", "replaced"),
        "removed" => lang.t("đã xóa", "removed"),
        "extended" => lang.t("đã gia hạn", "extended"),
        _ => lang.t("hết hạn", "expired"),
    };
    match r.ended_on {
        Some(d) => format!("{} {} ({why})", lang.t("Hết hiệu lực từ", "Ended on"), display::day(&d)),
        None => lang.t("Hết thời hạn", "Period over").into(),
    }
}

fn source_words(lang: Lang, s: &str) -> &'static str {
    match s {
        "migration" => lang.t("Chuyển từ dữ liệu cũ", "Carried over from earlier data"),
        _ => lang.t("Cán bộ cập nhật", "Recorded by an officer"),
    }
}

#[derive(Deserialize)]
pub struct KindParams {
    kind: Option<String>,
    offset: Option<u64>,
}

/// The stays (or absences) current in the officer's scope.
pub async fn current_page(
    State(s): State<ServerState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Query(q): Query<KindParams>,
) -> Response {
    let kind = match q.kind.as_deref().unwrap_or("stay") {
        "absence" => ResidenceKind::Absence,
        "temporary" => ResidenceKind::Temporary,
        _ => ResidenceKind::Stay,
    };
    let list =
        match s.registry.current_residences(&p.access(WEB_PURPOSE), kind, 50, q.offset.unwrap_or(0)).await {
            Ok(l) => l,
            Err(e) => return error_page(lang, Some(&p), e.into()),
        };
    let title = match kind {
        ResidenceKind::Absence => lang.t("Người đang tạm vắng", "People declared absent"),
        ResidenceKind::Temporary => lang.t("Người đang tạm trú", "People in temporary residence"),
        _ => lang.t("Người đang lưu trú trên địa bàn", "People staying in the area"),
    };
    let (l_id, l_place, l_period) =
        (lang.t("Số định danh", "Personal ID"), lang.t("Nơi", "Place"), lang.t("Thời hạn", "Period"));
    let body = layout(
        lang,
        title,
        Some(&p),
        html! {
            section.card data-testid="current-residences" {
                h1 { (title) }
                p {
                    a href="/residences?kind=stay" { (lang.t("Lưu trú", "Stays")) } " · "
                    a href="/residences?kind=temporary" { (lang.t("Tạm trú", "Temporary")) } " · "
                    a href="/residences?kind=absence" { (lang.t("Tạm vắng", "Absences")) }
                }
                p { (lang.t("Số người", "People")) ": " strong data-testid="total" { (list.total) } }
                div.table-wrap { table.stack {
                    thead { tr { th { (l_id) } th { (l_place) } th { (l_period) } } }
                    tbody { @for r in &list.items {
                        tr {
                            td data-label=(l_id) { a href=(format!("/citizens/{}", r.personal_id)) { (r.personal_id) } }
                            td data-label=(l_place) { (r.detail) ", " (display::commune(&r.commune)) }
                            td data-label=(l_period) { (display::day(&r.valid_from)) " – " (r.valid_until.map(|d| display::day(&d)).unwrap_or_default()) }
                        }
                    } }
                } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}
