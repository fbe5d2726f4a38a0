//! The citizen portal (Cổng công dân): level-1 registration, login with password and TOTP,
//! "my information", "who accessed my data", locking one's account, and the password reset
//! with a code an officer issued in person. Vietnamese by default; no JavaScript.
//!
//! Public forms carry a double-submit CSRF token (cookie + hidden field); logged-in forms
//! carry the session's token.

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use dancu_domain::{PersonalId, Violation};
use dancu_identity::eid::{AccountEvent, AccountState, Actor, RegistrationClaim};
use dancu_identity::totp;
use dancu_store::registry::reset_refused;

use super::display::{self, Actors};
use super::login::cookie_header;
use super::{lang_choice, layout, page, Lang};
use crate::auth::{double_submit_ok, hash_password, random_token};
use crate::citizen_auth::{
    check_password, citizen_login, login_key, new_totp_secret, normalize_reset_code, open_session,
    parse_claim, register_citizen, reset_code_ok, CitizenPrincipal, ClaimInput, CITIZEN_COOKIE,
    PORTAL_CSRF_COOKIE, PORTAL_PATH,
};
use crate::error::ApiError;
use crate::AppState;

fn msg(lang: Lang, e: &ApiError) -> String {
    match lang {
        Lang::Vi => e.message_vi.clone(),
        Lang::En => e.message_en.clone(),
    }
}

fn violation_text(lang: Lang, v: &Violation) -> String {
    match lang {
        Lang::Vi => v.message_vi.clone(),
        Lang::En => v.message_en.clone(),
    }
}

/// The portal's navigation (shown to a logged-in citizen).
pub(super) fn nav(lang: Lang, who: &CitizenPrincipal) -> Markup {
    html! {
        nav.portal.card {
            a href="/portal/me" data-testid="nav-me" { (lang.t("Thông tin của tôi", "My information")) }
            " · "
            a href="/portal/access" data-testid="nav-access" { (lang.t("Ai đã truy cập dữ liệu của tôi", "Who accessed my data")) }
            " · "
            a href="/portal/applications" data-testid="nav-applications" { (lang.t("Hồ sơ dịch vụ công", "My applications")) }
            " · "
            a href="/portal/confirmations" data-testid="nav-confirmations" { (lang.t("Giấy xác nhận cư trú", "Residence confirmations")) }
            " · "
            form.inline method="post" action="/portal/logout" {
                input type="hidden" name="csrf" value=(who.csrf);
                button.link type="submit" { (lang.t("Đăng xuất", "Log out")) }
            }
        }
    }
}

fn errors(lang: Lang, e: Option<&ApiError>) -> Markup {
    html! {
        @if let Some(e) = e {
            div.card.error role="alert" data-testid="portal-error" {
                p { (msg(lang, e)) }
                @for v in &e.violations {
                    p { (violation_text(lang, v)) }
                }
            }
        }
    }
}

/// A public form page with a fresh double-submit token.
fn public_page(
    s: &AppState,
    lang: Lang,
    uri: &Uri,
    title: &str,
    status: StatusCode,
    body: impl FnOnce(&str) -> Markup,
) -> Response {
    let csrf = random_token();
    let markup = layout(lang, title, None, body(&csrf));
    let mut resp = page(lang_choice(uri), status, markup);
    resp.headers_mut()
        .append(header::SET_COOKIE, cookie_header(s, PORTAL_CSRF_COOKIE, &csrf, PORTAL_PATH, Some(1800)));
    resp
}

fn public_csrf_ok(headers: &HeaderMap, submitted: &str) -> Result<(), ApiError> {
    if double_submit_ok(headers, PORTAL_CSRF_COOKIE, submitted) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "Biểu mẫu đã hết hạn, hãy thử lại",
            "the form expired; please try again",
        ))
    }
}

// ---- login ----

fn login_page(s: &AppState, lang: Lang, uri: &Uri, id: &str, error: Option<ApiError>) -> Response {
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    public_page(s, lang, uri, lang.t("Cổng công dân", "Citizen portal"), status, |csrf| {
        html! {
            section.card.narrow {
                h1 { (lang.t("Đăng nhập tài khoản định danh điện tử", "Log in with your electronic identity")) }
                (errors(lang, error.as_ref()))
                form method="post" action="/portal/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="personal_id" { (lang.t("Số định danh cá nhân", "Personal ID")) }
                    input #personal_id type="text" name="personal_id" value=(id) inputmode="numeric" autocomplete="username" required;
                    label for="password" { (lang.t("Mật khẩu", "Password")) }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    label for="code" { (lang.t("Mã xác thực (ứng dụng xác thực, 6 chữ số)", "Authenticator code (6 digits)")) }
                    input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                    p { button #portal-login type="submit" { (lang.t("Đăng nhập", "Log in")) } }
                }
                p { a href="/portal/register" data-testid="register-link" { (lang.t("Đăng ký tài khoản mức 1", "Register a level-1 account")) } }
                p { a href="/portal/reset" { (lang.t("Quên mật khẩu (có mã do cán bộ cấp)", "Forgot password (with an officer's code)")) } }
            }
        }
    })
}

pub async fn home(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    who: Option<CitizenPrincipal>,
) -> Response {
    if who.is_some() {
        return Redirect::to("/portal/me").into_response();
    }
    login_page(&s, lang, &uri, "", None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    personal_id: String,
    password: String,
    code: String,
    csrf: String,
}

pub async fn login(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if let Err(e) = public_csrf_ok(&headers, &f.csrf) {
        return login_page(&s, lang, &uri, &f.personal_id, Some(e));
    }
    let account = match citizen_login(&s, &f.personal_id, &f.password, &f.code, "web").await {
        Ok(a) => a,
        Err(e) => return login_page(&s, lang, &uri, &f.personal_id, Some(e)),
    };
    let token = match open_session(&s, &account.personal_id).await {
        Ok(t) => t,
        Err(e) => return login_page(&s, lang, &uri, &f.personal_id, Some(e)),
    };
    let mut resp = Redirect::to("/portal/me").into_response();
    let ttl = s.config.citizen_session_ttl.as_secs();
    resp.headers_mut()
        .append(header::SET_COOKIE, cookie_header(&s, CITIZEN_COOKIE, &token, PORTAL_PATH, Some(ttl)));
    resp
}

pub async fn logout(
    State(s): State<AppState>,
    who: CitizenPrincipal,
    Form(f): Form<super::CsrfForm>,
) -> Response {
    if who.check_csrf(&f.csrf).is_ok() {
        let _ = s.accounts.delete_citizen_session(&who.token_hash).await;
    }
    let mut resp = Redirect::to("/portal").into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, cookie_header(&s, CITIZEN_COOKIE, "", PORTAL_PATH, Some(0)));
    resp
}

// ---- registration ----

#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    personal_id: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    portrait_captured: Option<String>,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
    #[serde(default)]
    csrf: String,
}

fn register_page(s: &AppState, lang: Lang, uri: &Uri, f: &RegisterForm, error: Option<ApiError>) -> Response {
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    public_page(s, lang, uri, lang.t("Đăng ký tài khoản", "Register"), status, |csrf| {
        html! {
            section.card.medium {
                h1 { (lang.t("Đăng ký tài khoản định danh điện tử mức 1", "Register a level-1 electronic identity account")) }
                p.muted { (lang.t("Họ tên, ngày sinh và giới tính phải khớp với Cơ sở dữ liệu quốc gia về dân cư.",
                    "Name, date of birth and sex must match the national population database.")) }
                (errors(lang, error.as_ref()))
                form method="post" action="/portal/register" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="personal_id" { (lang.t("Số định danh cá nhân", "Personal ID")) }
                    input #personal_id type="text" name="personal_id" value=(f.personal_id) inputmode="numeric" required;
                    label for="full_name" { (lang.t("Họ và tên", "Full name")) }
                    input #full_name type="text" name="full_name" value=(f.full_name) required;
                    label for="birth_date" { (lang.t("Ngày sinh (ngày/tháng/năm)", "Date of birth (dd/mm/yyyy)")) }
                    input #birth_date type="text" name="birth_date" value=(f.birth_date) placeholder="07/03/1990" required;
                    label for="sex" { (lang.t("Giới tính", "Sex")) }
                    select #sex name="sex" {
                        option value="Nam" selected[f.sex == "Nam"] { (lang.t("Nam", "Male")) }
                        option value="Nữ" selected[f.sex == "Nữ"] { (lang.t("Nữ", "Female")) }
                    }
                    label for="phone" { (lang.t("Số điện thoại di động", "Mobile number")) }
                    input #phone type="text" name="phone" value=(f.phone) inputmode="tel" required;
                    label { input #portrait_captured type="checkbox" name="portrait_captured" value="on" checked[f.portrait_captured.is_some()]; " " (lang.t("Đã chụp ảnh chân dung trên ứng dụng", "Portrait taken in the app")) }
                    label for="password" { (lang.t("Mật khẩu (ít nhất 10 ký tự)", "Password (at least 10 characters)")) }
                    input #password type="password" name="password" autocomplete="new-password" required;
                    label for="password2" { (lang.t("Nhập lại mật khẩu", "Repeat the password")) }
                    input #password2 type="password" name="password2" autocomplete="new-password" required;
                    p { button #register type="submit" { (lang.t("Đăng ký", "Register")) } }
                }
            }
        }
    })
}

pub async fn register_form(State(s): State<AppState>, lang: Lang, uri: Uri) -> Response {
    register_page(&s, lang, &uri, &RegisterForm::default(), None)
}

fn claim_of(f: &RegisterForm) -> Result<RegistrationClaim, ApiError> {
    parse_claim(&ClaimInput {
        personal_id: &f.personal_id,
        full_name: &f.full_name,
        birth_date: &f.birth_date,
        sex: &f.sex,
        phone: &f.phone,
        portrait_captured: f.portrait_captured.is_some(),
        password: &f.password,
        password2: Some(&f.password2),
    })
}

pub async fn register(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    headers: HeaderMap,
    Form(f): Form<RegisterForm>,
) -> Response {
    if let Err(e) = public_csrf_ok(&headers, &f.csrf) {
        return register_page(&s, lang, &uri, &f, Some(e));
    }
    let claim = match claim_of(&f) {
        Ok(c) => c,
        Err(e) => return register_page(&s, lang, &uri, &f, Some(e)),
    };
    let (account, secret) = match register_citizen(&s, &claim, &f.password).await {
        Ok(r) => r,
        Err(e) => return register_page(&s, lang, &uri, &f, Some(e)),
    };
    let uri_otp = totp::provisioning_uri(
        &totp::secret_from_base32(&secret).unwrap_or_default(),
        account.personal_id.as_str(),
        "dancu",
    );
    let body = layout(
        lang,
        lang.t("Đã đăng ký", "Registered"),
        None,
        html! {
            section.card.medium data-testid="registered" {
                h1 { (lang.t("Đã tiếp nhận đăng ký", "Registration received")) }
                p { (lang.t("Tài khoản mức 1 đang chờ phê duyệt. Khi được phê duyệt, bạn đăng nhập bằng số định danh, mật khẩu và mã xác thực.",
                    "Your level-1 account is waiting for approval. Once approved, log in with your personal ID, password and authenticator code.")) }
                h2 { (lang.t("Khóa ứng dụng xác thực", "Authenticator key")) }
                p { (lang.t("Nhập khóa này vào ứng dụng xác thực (Google Authenticator, Microsoft Authenticator…). Khóa chỉ hiện một lần.",
                    "Enter this key in an authenticator app. It is shown only once.")) }
                @if let Some(qr) = super::qr::svg(&uri_otp, lang.t("Mã QR của khóa xác thực", "QR code of the authenticator key")) {
                    p { (lang.t("Quét mã QR bằng ứng dụng xác thực, hoặc chạm vào liên kết trên điện thoại có ứng dụng:", "Scan the QR code with the authenticator app, or tap the link on the phone that has the app:")) }
                    (qr)
                }
                p { a.wrap-any href=(uri_otp) data-testid="totp-link" { (lang.t("Thêm vào ứng dụng xác thực", "Add to the authenticator app")) } }
                p { (lang.t("Hoặc nhập khóa bằng tay:", "Or type the key by hand:")) }
                p { code.secret data-testid="totp-secret" { (secret) } }
                p { a href="/portal" { (lang.t("Về trang đăng nhập", "Go to login")) } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::CREATED, body)
}

// ---- my information ----

pub(super) fn unauthorized_redirect() -> Response {
    Redirect::to("/portal").into_response()
}

pub async fn me(State(s): State<AppState>, lang: Lang, uri: Uri, who: Option<CitizenPrincipal>) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    let rec = match s.registry.own_record(&who.personal_id).await {
        Ok(r) => r,
        Err(e) => return portal_error(lang, e.into()),
    };
    let residences = match s.registry.own_residences(&who.personal_id).await {
        Ok(r) => r,
        Err(e) => return portal_error(lang, e.into()),
    };
    let c = &rec.citizen.citizen;
    let acc = &rec.account;
    let body = layout(
        lang,
        lang.t("Thông tin của tôi", "My information"),
        None,
        html! {
            (nav(lang, &who))
            section.card data-testid="account" {
                h2 { (lang.t("Tài khoản định danh điện tử", "Electronic identity account")) }
                dl {
                    dt { (lang.t("Mức", "Level")) } dd data-testid="eid-level" { (display::level(lang, acc.level)) }
                    dt { (lang.t("Trạng thái", "State")) } dd data-testid="eid-state" { (display::account_state(lang, &acc.state)) }
                    dt { (lang.t("Số điện thoại", "Phone")) } dd { (acc.phone) }
                }
                @match &acc.state {
                    AccountState::Locked { by: Actor::Citizen, .. } => {
                        form method="post" action="/portal/lock" {
                            input type="hidden" name="csrf" value=(who.csrf);
                            input type="hidden" name="action" value="unlock";
                            button #unlock type="submit" { (lang.t("Mở khóa tài khoản", "Unlock my account")) }
                        }
                    }
                    AccountState::Locked { .. } => {}
                    _ => {
                        form method="post" action="/portal/lock" {
                            input type="hidden" name="csrf" value=(who.csrf);
                            input type="hidden" name="action" value="lock";
                            label for="reason" { (lang.t("Lý do khóa (ví dụ: mất điện thoại)", "Reason (for example: phone lost)")) }
                            input #reason type="text" name="reason" required;
                            p { button #lock type="submit" { (lang.t("Khóa tài khoản của tôi", "Lock my account")) } }
                        }
                    }
                }
            }
            (super::citizen::identity_section(lang, c))
            (super::citizen::residence_section(lang, c))
            (super::residence::records_table(lang, &residences))
            section.card {
                h2 { (lang.t("Thẻ căn cước", "ID card")) }
                @if rec.cards.is_empty() { p.muted { (lang.t("Chưa có thẻ", "No card")) } }
                ul { @for card in &rec.cards {
                    li data-testid="card" { (card.number) " — " (lang.t("cấp ngày", "issued")) " " (display::day(&card.issue_date)) ", "
                        (lang.t("hết hạn", "expires")) " " (card.expiry.map(|d| display::day(&d)).unwrap_or_else(|| lang.t("không thời hạn", "never").into()))
                        " (" (lang.t(card.status.label_vi(), card.status.label_en())) ")" }
                } }
            }
            section.card {
                h2 { (lang.t("Giấy tờ tích hợp", "Integrated documents")) }
                @if rec.documents.is_empty() { p.muted { (lang.t("Chưa có giấy tờ tích hợp", "No integrated documents")) } }
                ul { @for d in &rec.documents {
                    li { (display::document_kind(lang, d.kind)) ": " (d.number) " — " (d.source_agency) " (" (display::verification(lang, &d.state)) ")" }
                } }
            }
            section.card {
                h2 { (lang.t("Lần đăng nhập gần đây", "Recent logins")) }
                ul { @for l in &rec.logins { li { (display::time(&l.at)) " — " (display::login_outcome(lang, &l.outcome)) " (" (display::login_client(lang, &l.client)) ")" } } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

pub(super) fn portal_error(lang: Lang, e: ApiError) -> Response {
    let body = layout(
        lang,
        lang.t("Lỗi", "Error"),
        None,
        html! {
            (errors(lang, Some(&e)))
            p { a href="/portal" { (lang.t("Về cổng công dân", "Back to the portal")) } }
        },
    );
    (e.status, body).into_response()
}

#[derive(Deserialize)]
pub struct PageParams {
    offset: Option<u64>,
}

/// "Who accessed my data": every audited access to the record, with purpose and time.
pub async fn access(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    who: Option<CitizenPrincipal>,
    Query(q): Query<PageParams>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    let offset = q.offset.unwrap_or(0);
    let log = match s.registry.own_access_log(&who.personal_id, 50, offset).await {
        Ok(l) => l,
        Err(e) => return portal_error(lang, e.into()),
    };
    let own = dancu_store::registry::citizen_actor(&who.personal_id);
    let actors = Actors::load(&s.accounts, log.items.iter().map(|a| a.entry.actor.as_str()))
        .await
        .with_clients(log.items.iter().map(|a| a.entry.actor.as_str()), |id| {
            crate::oidc::bearer::client_name(&s, id)
        })
        .with_partners(&s.registry, log.items.iter().map(|a| a.entry.actor.as_str()))
        .await;
    let (l_when, l_who, l_what, l_why, l_out) = (
        lang.t("Thời gian", "When"),
        lang.t("Người truy cập", "Who"),
        lang.t("Thao tác", "Action"),
        lang.t("Mục đích", "Purpose"),
        lang.t("Kết quả", "Outcome"),
    );
    let body = layout(
        lang,
        lang.t("Ai đã truy cập dữ liệu của tôi", "Who accessed my data"),
        None,
        html! {
            (nav(lang, &who))
            section.card {
                h1 { (lang.t("Ai đã truy cập dữ liệu của tôi", "Who accessed my data")) }
                p.muted { (lang.t("Mọi lần cán bộ hoặc cơ quan đọc, tìm kiếm hay thay đổi hồ sơ của bạn đều được ghi lại.",
                    "Every read, search or change of your record by an officer or agency is recorded.")) }
                div.table-wrap { table.stack data-testid="access-log" {
                    thead { tr { th { (l_when) } th { (l_who) } th { (l_what) } th { (l_why) } th { (l_out) } } }
                    tbody {
                        @for a in &log.items {
                            tr {
                                td data-label=(l_when) { (display::time(&a.entry.at)) }
                                td data-label=(l_who) { @if a.entry.actor == own { (lang.t("Bạn", "You")) } @else { (actors.name(lang, &a.entry.actor)) } }
                                td data-label=(l_what) { (display::action(lang, &a.entry.action)) }
                                td data-label=(l_why) { (display::purpose(lang, &a.entry.purpose)) }
                                td data-label=(l_out) { (display::outcome(lang, &a.entry.outcome)) }
                            }
                        }
                    }
                } }
                div.pager {
                    @if offset > 0 { a href=(format!("/portal/access?offset={}", offset.saturating_sub(50))) { (lang.t("← Trước", "← Previous")) } }
                    @if offset + 50 < log.total { a href=(format!("/portal/access?offset={}", offset + 50)) { (lang.t("Sau →", "Next →")) } }
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

#[derive(Deserialize)]
pub struct LockForm {
    csrf: String,
    action: String,
    #[serde(default)]
    reason: String,
}

pub async fn lock(
    State(s): State<AppState>,
    lang: Lang,
    who: Option<CitizenPrincipal>,
    Form(f): Form<LockForm>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    if let Err(e) = who.check_csrf(&f.csrf) {
        return portal_error(lang, e);
    }
    let event = match f.action.as_str() {
        "lock" => AccountEvent::Lock { by: Actor::Citizen, reason: f.reason },
        _ => AccountEvent::Unlock { by: Actor::Citizen, reason: f.reason },
    };
    match s.registry.eid_citizen_event(&who.personal_id, &event).await {
        // Locking ends the sessions, this one included: back to the login page.
        Ok(a) if a.state.is_locked() => Redirect::to("/portal").into_response(),
        Ok(_) => Redirect::to("/portal/me").into_response(),
        Err(e) => portal_error(lang, e.into()),
    }
}

// ---- password reset with an officer's code ----

#[derive(Deserialize, Default)]
pub struct ResetForm {
    #[serde(default)]
    personal_id: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

fn reset_page(s: &AppState, lang: Lang, uri: &Uri, f: &ResetForm, error: Option<ApiError>) -> Response {
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    public_page(s, lang, uri, lang.t("Đặt lại mật khẩu", "Reset password"), status, |csrf| {
        html! {
            section.card.narrow {
                h1 { (lang.t("Đặt lại mật khẩu", "Reset your password")) }
                p.muted { (lang.t("Mang thẻ căn cước đến cơ quan công an để cán bộ xác minh và cấp mã đặt lại (hiệu lực 24 giờ).",
                    "Bring your ID card to a police office; the officer checks it and gives you a reset code (valid 24 hours).")) }
                (errors(lang, error.as_ref()))
                form method="post" action="/portal/reset" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="personal_id" { (lang.t("Số định danh cá nhân", "Personal ID")) }
                    input #personal_id type="text" name="personal_id" value=(f.personal_id) required;
                    label for="code" { (lang.t("Mã đặt lại do cán bộ cấp", "Reset code from the officer")) }
                    input #code type="text" name="code" required;
                    label for="password" { (lang.t("Mật khẩu mới", "New password")) }
                    input #password type="password" name="password" autocomplete="new-password" required;
                    p { button #reset type="submit" { (lang.t("Đặt lại", "Reset")) } }
                }
            }
        }
    })
}

pub async fn reset_form(State(s): State<AppState>, lang: Lang, uri: Uri) -> Response {
    reset_page(&s, lang, &uri, &ResetForm::default(), None)
}

pub async fn reset(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    headers: HeaderMap,
    Form(f): Form<ResetForm>,
) -> Response {
    if let Err(e) = public_csrf_ok(&headers, &f.csrf) {
        return reset_page(&s, lang, &uri, &f, Some(e));
    }
    if let Err(v) = check_password(&f.password) {
        return reset_page(&s, lang, &uri, &f, Some(ApiError::invalid(vec![v])));
    }
    let refused = || ApiError::invalid(vec![reset_refused()]);
    // A malformed personal ID or code cannot match anything: refused before any work.
    let (Ok(id), Some(_)) = (f.personal_id.trim().parse::<PersonalId>(), normalize_reset_code(&f.code))
    else {
        return reset_page(&s, lang, &uri, &f, Some(refused()));
    };
    // The attempt is taken before the code is checked, so parallel guesses cannot pass the
    // lock together; a wrong code leaves it counted.
    let attempt = match s.login_throttle.begin(&format!("reset:{id}")).await {
        Ok(a) => a,
        Err(e) => return reset_page(&s, lang, &uri, &f, Some(e)),
    };
    let account = match s.registry.eid_account_for_authentication(&id).await {
        Ok(a) => a,
        Err(e) => {
            attempt.refund().await;
            return reset_page(&s, lang, &uri, &f, Some(e.into()));
        }
    };
    // The code (cheap) is checked before the new password is hashed (argon2, bounded pool).
    if !account.as_ref().is_some_and(|a| reset_code_ok(&s, a, &f.code)) {
        return reset_page(&s, lang, &uri, &f, Some(refused()));
    }
    let pw = f.password.clone();
    let hash = match s.hasher.run(move || hash_password(&pw)).await {
        Ok(h) => h,
        Err(e) => {
            attempt.refund().await;
            return reset_page(&s, lang, &uri, &f, Some(e));
        }
    };
    let secret = new_totp_secret();
    let check = |a: &dancu_store::eid::EidAccount| reset_code_ok(&s, a, &f.code);
    let sealed = s.secrets.seal_totp(&id, &secret);
    match s.registry.eid_complete_reset(&id, check, hash, sealed).await {
        Ok(_) => {
            attempt.success().await;
            s.login_throttle.clear(&login_key(&id)).await;
            let body = layout(
                lang,
                lang.t("Đã đặt lại mật khẩu", "Password reset"),
                None,
                html! {
                    section.card.medium {
                        h1 { (lang.t("Đã đặt lại mật khẩu", "Your password was reset")) }
                        p { (lang.t("Khóa ứng dụng xác thực mới (khóa cũ không còn dùng được):", "New authenticator key (the old one no longer works):")) }
                        p { code.secret data-testid="totp-secret" { (secret) } }
                        p { a href="/portal" { (lang.t("Đăng nhập", "Log in")) } }
                    }
                },
            );
            page(lang_choice(&uri), StatusCode::OK, body)
        }
        Err(e) => reset_page(&s, lang, &uri, &f, Some(e.into())),
    }
}
