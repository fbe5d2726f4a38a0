//! Server-rendered officer pages (Vietnamese by default, English with `?lang=en`). No
//! JavaScript is needed; the stylesheet is embedded; every page works on a phone.

mod applications;
mod cards;
mod chains;
mod citizen;
mod clients;
mod compare;
mod confirmations;
mod dedup;
pub mod display;
mod document;
mod eid;
pub mod export;
mod figures;
mod forms;
mod history;
mod household;
mod list;
mod login;
mod officers;
mod partners;
mod portal;
mod qr;
mod quality;
mod reconcile;
mod records;
mod reports;
mod residence;
mod search;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/search") }))
        .route("/static/style.css", get(style))
        .route("/static/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", axum::routing::post(login::logout))
        .route("/search", get(search::search_page))
        .route("/citizens/new-birth", get(records::birth_page).post(records::birth_submit))
        .route("/citizens/{id}", get(citizen::citizen_page))
        .route("/citizens/{id}/edit", get(records::edit_page).post(records::edit_submit))
        .route("/citizens/{id}/address", get(records::address_page).post(records::address_submit))
        .route("/households/{number}", get(household::household_page))
        .route("/households/{number}/{op}", axum::routing::post(household::op_submit))
        .route("/cards", get(cards::board_page).post(cards::intake_submit))
        .route("/cards/due", get(cards::due_page))
        .route("/cards/{id}", get(cards::application_page))
        .route("/cards/{id}/slip", get(cards::slip_page))
        .route("/cards/{id}/transitions", axum::routing::post(cards::move_submit))
        .route("/eid", get(eid::queue_page))
        .route("/eid/accounts/{id}", get(eid::account_page))
        .route("/eid/accounts/{id}/actions", axum::routing::post(eid::action_submit))
        .route("/citizens/{id}/cmnd-confirmation", axum::routing::post(eid::confirm_cmnd_submit))
        .route("/cmnd/{number}", get(eid::confirmation_page))
        .route(
            "/reconcile",
            get(reconcile::form_page)
                .post(reconcile::submit)
                .layer(axum::extract::DefaultBodyLimit::max(reconcile::MAX_UPLOAD)),
        )
        .route("/dedup", get(dedup::list_page))
        .route("/dedup/{id}/{action}", axum::routing::post(dedup::decide_submit))
        .route("/reports", get(reports::dashboard))
        .route("/reports/dashboard", get(reports::dashboard))
        .route("/reports/download", get(reports::download))
        .route("/quality", get(quality::summary_page))
        .route("/quality/runs", axum::routing::post(quality::run_submit))
        .route("/quality/{rule}", get(quality::worklist_page))
        .route("/quality/{rule}/marks", axum::routing::post(quality::mark_submit))
        .route("/officers", get(officers::list_page).post(officers::create_submit))
        .route("/clients", get(clients::list_page).post(clients::create_submit))
        .route("/clients/{id}", axum::routing::post(clients::change_submit))
        .route("/officers/{id}", axum::routing::post(officers::change_submit))
        .route("/officers/{id}/password", axum::routing::post(officers::password_submit))
        .route("/partners", get(partners::list_page).post(partners::entitle_submit))
        .route("/partners/{client_id}/state", axum::routing::post(partners::state_submit))
        .route("/partners/webhooks/{id}/{what}", axum::routing::post(partners::webhook_replay_submit))
        .route("/portal", get(portal::home))
        .route("/portal/login", axum::routing::post(portal::login))
        .route("/portal/logout", axum::routing::post(portal::logout))
        .route("/portal/register", get(portal::register_form).post(portal::register))
        .route("/portal/me", get(portal::me))
        .route("/portal/access", get(portal::access))
        .route("/portal/lock", axum::routing::post(portal::lock))
        .route("/portal/reset", get(portal::reset_form).post(portal::reset))
        .route("/applications", get(applications::queue_page).post(applications::intake_submit))
        .route("/applications/{id}", get(applications::application_page))
        .route("/applications/{id}/transitions", axum::routing::post(applications::move_submit))
        .route("/applications/{id}/consent", axum::routing::post(residence::record_consent))
        .route("/applications/new/{service}", get(residence::desk_form).post(residence::desk_form_submit))
        .route("/residences", get(residence::current_page))
        .route(
            "/portal/applications/new/{service}",
            get(residence::portal_form).post(residence::portal_form_submit),
        )
        .route("/portal/consents", get(residence::portal_consents))
        .route("/portal/consents/{id}", axum::routing::post(residence::portal_consent))
        .route("/portal/applications", get(applications::portal_list).post(applications::portal_submit))
        .route("/portal/applications/{id}", get(applications::portal_application))
        .route("/portal/applications/{id}/transitions", axum::routing::post(applications::portal_move))
        .route("/citizens/{id}/confirmations", axum::routing::post(confirmations::issue_submit))
        .route("/confirmations/{id}", get(confirmations::document_page))
        .route("/confirmations/{id}/pdf", get(confirmations::document_pdf_officer))
        .route("/confirmations/{id}/revoke", axum::routing::post(confirmations::revoke_submit))
        .route("/portal/confirmations", get(confirmations::portal_list).post(confirmations::portal_issue))
        .route("/portal/confirmations/{id}", get(confirmations::portal_document))
        .route("/portal/confirmations/{id}/pdf", get(confirmations::portal_pdf))
        .route("/verify", get(confirmations::verify_page))
        .route("/figures", get(figures::list_page))
        .route("/figures/entry", get(figures::entry_page).post(figures::entry_submit))
        .route(
            "/figures/upload",
            axum::routing::post(figures::upload_submit)
                .layer(axum::extract::DefaultBodyLimit::max(figures::MAX_UPLOAD)),
        )
        .route("/figures/template/{form}", get(figures::template))
        .route("/figures/{id}", get(figures::submission_page))
        .route("/figures/{id}/actions", axum::routing::post(figures::move_submit))
        .route("/chains", get(chains::board_page))
        .route("/chains/exceptions", get(chains::exceptions_page))
        .route("/chains/{id}", get(chains::chain_page))
        .route("/chains/{id}/actions", axum::routing::post(chains::action_submit))
}

const CSS: &str = include_str!("style.css");

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        CSS,
    )
        .into_response()
}

/// The site icon: the red of the header with a white star, as SVG (any size, no raster).
const FAVICON: &str = concat!(
    r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">"##,
    r##"<rect width="32" height="32" rx="6" fill="#8b0000"/>"##,
    r##"<path fill="#ffd700" d="M16 5l3.2 7.6 8.3.6-6.4 5.3 2 8.1L16 22.2 8.9 26.6l2-8.1-6.4-5.3 8.3-.6z"/>"##,
    "</svg>"
);

async fn favicon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], FAVICON)
        .into_response()
}

/// A form whose only field is the session's CSRF token (logout, run, confirm, …).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// Page language: `?lang=` (remembered in a cookie), else the cookie, else Vietnamese.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    pub fn t(self, vi: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
    fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(l) = lang_choice(&parts.uri) {
            return Ok(l);
        }
        Ok(match crate::auth::cookie(&parts.headers, "dancu_lang") {
            Some("en") => Lang::En,
            _ => Lang::Vi,
        })
    }
}

/// A web page's officer, or a redirect to the login page.
pub struct WebUser(pub Principal);

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Principal::from_request_parts(parts, state).await {
            Ok(p) => Ok(WebUser(p)),
            Err(e) if e.status == StatusCode::UNAUTHORIZED => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/search");
                Err(Redirect::to(&format!("/login?next={}", urlencode(next))).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The page frame: header with the officer and language switch, then the content.
pub fn layout(lang: Lang, title: &str, user: Option<&Principal>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — dancu" }
                link rel="stylesheet" href="/static/style.css";
                link rel="icon" type="image/svg+xml" href="/static/favicon.svg";
            }
            body {
                header.top {
                    a.brand href="/search" { "dancu" }
                    span.sub { (lang.t("CSDL quốc gia về dân cư", "National population database")) }
                    nav {
                        @if user.is_none() {
                            a href="/portal" { (lang.t("Cổng công dân", "Citizen portal")) }
                        }
                        @if let Some(u) = user {
                            a data-testid="nav-applications" href="/applications" { (lang.t("Hồ sơ dịch vụ công", "Applications")) }
                            a data-testid="nav-cards" href="/cards" { (lang.t("Thẻ căn cước", "ID cards")) }
                            a data-testid="nav-eid" href="/eid" { (lang.t("Định danh điện tử", "eID")) }
                            a data-testid="nav-chains" href="/chains" { (lang.t("Liên thông", "Linked procedures")) }
                            a data-testid="nav-reports" href="/reports" { (lang.t("Báo cáo", "Reports")) }
                            a data-testid="nav-quality" href="/quality" { (lang.t("Chất lượng dữ liệu", "Data quality")) }
                            a data-testid="nav-dedup" href="/dedup" { (lang.t("Hồ sơ trùng", "Duplicates")) }
                            a data-testid="nav-reconcile" href="/reconcile" { (lang.t("Đối chiếu", "Reconcile")) }
                            a data-testid="nav-figures" href="/figures" { (lang.t("Số liệu đơn vị", "Unit figures")) }
                            @if u.role == dancu_store::Role::Admin {
                                a data-testid="nav-officers" href="/officers" { (lang.t("Cán bộ", "Officers")) }
                                a data-testid="nav-clients" href="/clients" { (lang.t("Ứng dụng liên kết", "Linked applications")) }
                            }
                            a data-testid="nav-partners" href="/partners" { (lang.t("Đối tác", "Partners")) }
                            span.user data-testid="current-user" { (u.username) " · " (display::scope(lang, &u.scope)) }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(u.csrf.clone().unwrap_or_default());
                                button type="submit" { (lang.t("Đăng xuất", "Log out")) }
                            }
                        }
                        @match lang {
                            Lang::Vi => a href="?lang=en" { "English" },
                            Lang::En => a href="?lang=vi" { "Tiếng Việt" },
                        }
                    }
                }
                main { (content) }
            }
        }
    }
}

/// Renders a page, storing the language choice when `?lang=` was given.
pub fn page(parts_lang: Option<Lang>, status: StatusCode, markup: Markup) -> Response {
    let mut resp = (status, markup).into_response();
    if let Some(l) = parts_lang {
        if let Ok(v) =
            HeaderValue::from_str(&format!("dancu_lang={}; Path=/; Max-Age=31536000; SameSite=Lax", l.code()))
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Error page for web handlers.
pub fn error_page(lang: Lang, user: Option<&Principal>, e: ApiError) -> Response {
    let msg = match lang {
        Lang::Vi => e.message_vi.clone(),
        Lang::En => e.message_en.clone(),
    };
    let body = layout(
        lang,
        lang.t("Lỗi", "Error"),
        user,
        html! {
            section.card.error role="alert" {
                h1 { (lang.t("Không thực hiện được", "Could not complete the request")) }
                p data-testid="error" { (msg) }
                @for v in &e.violations {
                    p { b { (display::field(lang, &v.field)) } ": " (match lang { Lang::Vi => &v.message_vi, Lang::En => &v.message_en }) " " span.muted { "(" (lang.t("mã lỗi", "error code")) " " code { (v.rule) } ")" } }
                }
                p { a href="/search" { (lang.t("Về trang tìm kiếm", "Back to search")) } }
            }
        },
    );
    (e.status, body).into_response()
}

/// Whether `?lang=` was given on this request (to remember it).
pub fn lang_choice(uri: &axum::http::Uri) -> Option<Lang> {
    uri.query().and_then(|q| {
        q.split('&').find_map(|kv| match kv {
            "lang=en" => Some(Lang::En),
            "lang=vi" => Some(Lang::Vi),
            _ => None,
        })
    })
}
