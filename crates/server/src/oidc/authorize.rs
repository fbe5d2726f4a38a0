//! `/oauth/authorize`: the authorization code flow (response type `code`, PKCE S256
//! required, `state`, `nonce`, `acr_values` `loa:1`/`loa:2`, `prompt` `none`/`login`/
//! `consent`, `max_age`). The client and the redirect URI are checked first, by exact match
//! against the registered list: until both are known good nothing is redirected, an error
//! page is shown instead. Later refusals go back to the relying party as standard errors
//! (`invalid_request`, `unsupported_response_type`, `invalid_scope`, `login_required`,
//! `interaction_required`, `consent_required`, `access_denied`), each counted.
//!
//! The pages (login, step-up, consent) post back here with the request's parameters in
//! hidden fields; Vietnamese first, phone width, no script. Their CSP allows the forms to
//! lead to the relying party's origin (browsers apply `form-action` to the redirect).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

use dancu_store::oidc::{AuthCode, OidcSession};
use dancu_store::registry::now;

use super::clients::Client;
use super::session::{self, CSRF_COOKIE};
use crate::auth::{double_submit_ok, random_token, sha256_hex};
use crate::error::ApiError;
use crate::web::{lang_choice, layout, page, Lang};
use crate::AppState;

/// The parameters of an authorization request (query of the GET, hidden fields of the POST).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuthRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub acr_values: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub ui_locales: Option<String>,
    pub login_hint: Option<String>,
}

impl AuthRequest {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("acr_values", &self.acr_values),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("ui_locales", &self.ui_locales),
            ("login_hint", &self.login_hint),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }

    fn prompts(&self) -> Vec<&str> {
        self.prompt.as_deref().unwrap_or("").split(' ').filter(|p| !p.is_empty()).collect()
    }
}

/// What the pages post: the request, the action and its fields.
#[derive(Debug, Default, Deserialize)]
pub struct AuthPost {
    #[serde(flatten)]
    pub req: AuthRequest,
    /// `login`, `step_up`, `consent` or `deny`.
    pub action: Option<String>,
    pub personal_id: Option<String>,
    pub password: Option<String>,
    pub code: Option<String>,
    pub csrf: Option<String>,
}

/// Where errors and codes go, once the client and the redirect URI are known good.
struct Reply {
    redirect_uri: String,
    state: Option<String>,
    issuer: String,
    client_id: String,
}

fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Reply {
    fn to(&self, params: &[(&str, &str)]) -> Response {
        let mut url = self.redirect_uri.clone();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        let mut all: Vec<(&str, &str)> = params.to_vec();
        if let Some(s) = &self.state {
            all.push(("state", s));
        }
        all.push(("iss", &self.issuer));
        for (k, v) in all {
            url.push(sep);
            url.push_str(k);
            url.push('=');
            url.push_str(&query_escape(v));
            sep = '&';
        }
        let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response();
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }

    fn error(&self, state: &AppState, error: &'static str, description: &str) -> Response {
        state.oidc.refusals.record("authorize", error, Some(&self.client_id), description);
        self.to(&[("error", error), ("error_description", description)])
    }

    fn origin(&self) -> String {
        origin_of(&self.redirect_uri)
    }
}

fn origin_of(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else { return String::new() };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    format!("{scheme}://{host}")
}

/// An error page: the request cannot be answered to a redirect URI known to be the client's.
fn error_page(
    state: &AppState,
    lang: Lang,
    uri: &Uri,
    error: &'static str,
    vi: &'static str,
    en: &'static str,
) -> Response {
    state.oidc.refusals.record("authorize", error, None, en);
    let body = layout(
        lang,
        lang.t("Không thể đăng nhập", "Cannot log in"),
        None,
        html! {
            section.card.narrow.error role="alert" {
                h1 { (lang.t("Yêu cầu đăng nhập không hợp lệ", "Invalid login request")) }
                p data-testid="oidc-error" { (lang.t(vi, en)) }
                p.muted { (lang.t("Hãy quay lại ứng dụng và thử lại.", "Go back to the application and try again.")) }
            }
        },
    );
    page(lang_choice(uri), StatusCode::BAD_REQUEST, body)
}

/// The error page's texts (Vietnamese, English), in pairs.
const STATIC_TEXTS: &[&str] = &[
    "Thiếu mã ứng dụng (client_id) hoặc ứng dụng không tồn tại, đã bị đình chỉ",
    "missing or unknown client_id, or the client is suspended",
    "Địa chỉ chuyển hướng (redirect_uri) không khớp địa chỉ đã đăng ký của ứng dụng",
    "redirect_uri does not match a URI registered for this client",
    "Tham số của yêu cầu không đọc được (lặp lại hoặc sai định dạng)",
    "the request's parameters cannot be read (repeated or malformed)",
    "Ứng dụng không được đăng ký cho luồng đăng nhập này",
    "this client is not registered for the authorization code flow",
];

/// The client and redirect URI, or the error page.
async fn known_client(
    state: &AppState,
    lang: Lang,
    uri: &Uri,
    req: &AuthRequest,
) -> Result<(Arc<Client>, Reply), Response> {
    let unknown = || error_page(state, lang, uri, "invalid_client", STATIC_TEXTS[0], STATIC_TEXTS[1]);
    let Some(id) = req.client_id.as_deref() else { return Err(unknown()) };
    let client = match state.oidc.clients.get(&state.db.oidc(), id).await {
        Ok(Some(c)) if c.row.active => c,
        Ok(_) => return Err(unknown()),
        Err(e) => return Err(crate::web::error_page(lang, None, e.into())),
    };
    // Exact string match only: no normalisation, no prefix, no default.
    let Some(redirect) =
        req.redirect_uri.as_deref().filter(|r| client.row.redirect_uris.iter().any(|u| u == r))
    else {
        return Err(error_page(state, lang, uri, "invalid_request", STATIC_TEXTS[2], STATIC_TEXTS[3]));
    };
    if !client.allows_grant("authorization_code") {
        return Err(error_page(state, lang, uri, "unauthorized_client", STATIC_TEXTS[6], STATIC_TEXTS[7]));
    }
    let reply = Reply {
        redirect_uri: redirect.to_string(),
        state: req.state.clone(),
        issuer: state.config.oidc.issuer.clone(),
        client_id: client.row.client_id.clone(),
    };
    Ok((client, reply))
}

/// A checked request.
struct Checked {
    scope: String,
    level: i64,
    challenge: String,
}

fn is_b64url(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check(client: &Client, req: &AuthRequest) -> Result<Checked, (&'static str, String)> {
    match req.response_type.as_deref() {
        Some("code") => {}
        None => return Err(("invalid_request", "response_type is required".into())),
        Some(_) => return Err(("unsupported_response_type", "only response_type=code is supported".into())),
    }
    let asked: Vec<&str> = req.scope.as_deref().unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect();
    if !asked.contains(&"openid") {
        return Err(("invalid_scope", "scope must include openid".into()));
    }
    if let Some(bad) = asked.iter().find(|s| !client.row.scopes.iter().any(|c| c == *s)) {
        return Err(("invalid_scope", format!("scope {bad} is not granted to this client")));
    }
    let mut scopes: Vec<&str> = asked.clone();
    scopes.sort();
    scopes.dedup();
    if req.code_challenge_method.as_deref() != Some("S256") {
        return Err(("invalid_request", "PKCE is required: code_challenge_method must be S256".into()));
    }
    let challenge = req.code_challenge.as_deref().unwrap_or("");
    if challenge.len() != 43 || !is_b64url(challenge) {
        return Err((
            "invalid_request",
            "code_challenge must be the base64url SHA-256 of the verifier (43 characters)".into(),
        ));
    }
    for (name, v, max) in [("state", &req.state, 512), ("nonce", &req.nonce, 256)] {
        if let Some(v) = v {
            if v.len() > max || v.chars().any(char::is_control) {
                return Err(("invalid_request", format!("{name} is too long or has control characters")));
            }
        }
    }
    let prompts = req.prompts();
    if prompts.iter().any(|p| !["none", "login", "consent", "select_account"].contains(p)) {
        return Err(("invalid_request", "prompt must be none, login or consent".into()));
    }
    if prompts.contains(&"none") && prompts.len() > 1 {
        return Err(("invalid_request", "prompt=none cannot be combined".into()));
    }
    if let Some(m) = &req.max_age {
        if m.parse::<u32>().is_err() {
            return Err(("invalid_request", "max_age must be a whole number of seconds".into()));
        }
    }
    let acr: Vec<&str> =
        req.acr_values.as_deref().unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect();
    let level = if acr.contains(&"loa:2") && !acr.contains(&"loa:1") { 2 } else { 1 };
    Ok(Checked { scope: scopes.join(" "), level, challenge: challenge.to_string() })
}

/// What the citizen just did on a page of this request.
#[derive(Default, Clone, Copy, PartialEq)]
struct Done {
    logged_in: bool,
    consented: bool,
}

/// `GET /oauth/authorize`.
pub async fn authorize_get(
    State(state): State<AppState>,
    lang: Lang,
    uri: Uri,
    headers: HeaderMap,
    q: Result<Query<AuthRequest>, QueryRejection>,
) -> Response {
    let Ok(Query(req)) = q else {
        return error_page(&state, lang, &uri, "invalid_request", STATIC_TEXTS[4], STATIC_TEXTS[5]);
    };
    let lang = ui_lang(lang, &req);
    let sess = match session::current(&state, &headers).await {
        Ok(s) => s,
        Err(e) => return crate::web::error_page(lang, None, e),
    };
    flow(&state, lang, &uri, req, sess, Done::default(), None).await
}

fn ui_lang(lang: Lang, req: &AuthRequest) -> Lang {
    match req.ui_locales.as_deref().and_then(|l| l.split(' ').next()) {
        Some(l) if l.starts_with("en") => Lang::En,
        Some(l) if l.starts_with("vi") => Lang::Vi,
        _ => lang,
    }
}

/// `POST /oauth/authorize`: the pages' forms.
pub async fn authorize_post(
    State(state): State<AppState>,
    lang: Lang,
    uri: Uri,
    headers: HeaderMap,
    f: Result<Form<AuthPost>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = f else {
        return error_page(&state, lang, &uri, "invalid_request", STATIC_TEXTS[4], STATIC_TEXTS[5]);
    };
    let lang = ui_lang(lang, &f.req);
    let (_client, reply) = match known_client(&state, lang, &uri, &f.req).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let sess = match session::current(&state, &headers).await {
        Ok(s) => s,
        Err(e) => return crate::web::error_page(lang, None, e),
    };
    let csrf = f.csrf.as_deref().unwrap_or("");
    let session_csrf_ok = sess
        .as_ref()
        .is_some_and(|(t, _)| crate::auth::constant_time_eq(session::csrf_of(t).as_bytes(), csrf.as_bytes()));
    match f.action.as_deref() {
        Some("login") => {
            if !double_submit_ok(&headers, CSRF_COOKIE, csrf) {
                let e = expired_form();
                return flow(&state, lang, &uri, f.req, None, Done::default(), Some(e)).await;
            }
            let need_code = check_level(&f.req) == 2;
            let id = f.personal_id.as_deref().unwrap_or("");
            let pw = f.password.as_deref().unwrap_or("");
            let code = f.code.as_deref().unwrap_or("");
            match session::login(&state, id, pw, code, need_code).await {
                Ok((account, level)) => {
                    let token = match session::open(&state, &account.personal_id, level).await {
                        Ok(t) => t,
                        Err(e) => return crate::web::error_page(lang, None, e),
                    };
                    let s = state.db.oidc().session(&sha256_hex(&token), now()).await.ok().flatten();
                    let done = Done { logged_in: true, consented: false };
                    // The fresh login answers `prompt=login` and `max_age`: the next pages
                    // (step-up, consent) must not ask for it again.
                    let mut req = f.req;
                    req.prompt = req
                        .prompt
                        .map(|p| {
                            p.split(' ')
                                .filter(|x| !x.is_empty() && *x != "login")
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .filter(|p| !p.is_empty());
                    req.max_age = None;
                    let mut r =
                        flow(&state, lang, &uri, req, s.map(|s| (token.clone(), s)), done, None).await;
                    let (k, v) = session::session_cookie(&state, &token);
                    r.headers_mut().append(k, v);
                    r
                }
                Err(e) => {
                    state.oidc.refusals.record("authorize", "login_failed", Some(&reply.client_id), e.code);
                    let mut req = f.req;
                    req.login_hint = Some(id.chars().filter(char::is_ascii_digit).take(12).collect());
                    flow(&state, lang, &uri, req, None, Done::default(), Some(e)).await
                }
            }
        }
        Some("step_up") if session_csrf_ok => {
            let (token, s) = sess.expect("checked");
            match session::step_up(&state, &s.personal_id, f.code.as_deref().unwrap_or("")).await {
                Ok(()) => {
                    // A new session at level 2 replaces the old one.
                    let _ = state.db.oidc().delete_session(&s.token_hash).await;
                    let new = match session::open(&state, &s.personal_id, 2).await {
                        Ok(t) => t,
                        Err(e) => return crate::web::error_page(lang, None, e),
                    };
                    let ns = state.db.oidc().session(&sha256_hex(&new), now()).await.ok().flatten();
                    let done = Done { logged_in: true, consented: false };
                    let mut r =
                        flow(&state, lang, &uri, f.req, ns.map(|s| (new.clone(), s)), done, None).await;
                    let (k, v) = session::session_cookie(&state, &new);
                    r.headers_mut().append(k, v);
                    r
                }
                Err(e) => {
                    state.oidc.refusals.record("authorize", "step_up_failed", Some(&reply.client_id), e.code);
                    flow(&state, lang, &uri, f.req, Some((token, s)), Done::default(), Some(e)).await
                }
            }
        }
        Some("consent") if session_csrf_ok => {
            let (token, s) = sess.expect("checked");
            let Ok(checked) = check(&_client, &f.req) else {
                return flow(&state, lang, &uri, f.req, Some((token, s)), Done::default(), None).await;
            };
            if let Err(e) =
                state.db.oidc().grant_consent(&s.personal_id, &reply.client_id, &checked.scope, now()).await
            {
                return crate::web::error_page(lang, None, e.into());
            }
            let done = Done { logged_in: false, consented: true };
            flow(&state, lang, &uri, f.req, Some((token, s)), done, None).await
        }
        Some("deny") if session_csrf_ok || double_submit_ok(&headers, CSRF_COOKIE, csrf) => {
            reply.error(&state, "access_denied", "the citizen declined")
        }
        _ => {
            let e = expired_form();
            flow(&state, lang, &uri, f.req, sess, Done::default(), Some(e)).await
        }
    }
}

fn check_level(req: &AuthRequest) -> i64 {
    let acr: Vec<&str> = req.acr_values.as_deref().unwrap_or("").split(' ').collect();
    if acr.contains(&"loa:2") && !acr.contains(&"loa:1") {
        2
    } else {
        1
    }
}

fn expired_form() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "Biểu mẫu đã hết hạn, hãy thử lại",
        "the form expired; please try again",
    )
}

/// The flow from a request and the session: pages while something is missing, else a code.
async fn flow(
    state: &AppState,
    lang: Lang,
    uri: &Uri,
    req: AuthRequest,
    sess: Option<(String, OidcSession)>,
    done: Done,
    error: Option<ApiError>,
) -> Response {
    let (client, reply) = match known_client(state, lang, uri, &req).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let checked = match check(&client, &req) {
        Ok(c) => c,
        Err((code, d)) => return reply.error(state, code, &d),
    };
    let prompts = req.prompts();
    let none = prompts.contains(&"none");
    let mut sess = sess;
    // prompt=login and max_age ask for a fresh login.
    if prompts.contains(&"login") && !done.logged_in {
        sess = None;
    }
    if let (Some(m), Some((_, s))) = (req.max_age.as_deref().and_then(|m| m.parse::<i64>().ok()), &sess) {
        if !done.logged_in && (m == 0 || (now() - s.auth_time).num_seconds() > m) {
            sess = None;
        }
    }
    let Some((token, s)) = sess else {
        if none {
            return reply.error(state, "login_required", "the citizen is not logged in");
        }
        return login_page(state, lang, uri, &req, &client, &reply, checked.level, error);
    };
    if s.level < checked.level {
        if none {
            return reply.error(
                state,
                "interaction_required",
                "level 2 (loa:2) needs the authenticator code",
            );
        }
        return step_up_page(state, lang, uri, &req, &client, &reply, &token, error);
    }
    let remembered =
        match state.db.oidc().has_consent(&s.personal_id, &client.row.client_id, &checked.scope).await {
            Ok(r) => r,
            Err(e) => return crate::web::error_page(lang, None, e.into()),
        };
    if !done.consented && (!remembered || prompts.contains(&"consent")) {
        if none {
            return reply.error(state, "consent_required", "the citizen has not consented to these scopes");
        }
        return consent_page(lang, uri, &req, &client, &reply, &token, &checked.scope, error);
    }
    // Issue the code.
    let code = random_token();
    let cfg = &state.config.oidc;
    let c = AuthCode {
        code_hash: sha256_hex(&code),
        family_id: random_token(),
        client_id: client.row.client_id.clone(),
        personal_id: s.personal_id,
        redirect_uri: reply.redirect_uri.clone(),
        scope: checked.scope.clone(),
        nonce: req.nonce.clone(),
        acr: format!("loa:{}", s.level),
        auth_time: s.auth_time,
        code_challenge: checked.challenge.clone(),
        expires_at: now() + chrono::Duration::from_std(cfg.code_ttl).expect("small"),
        used_at: None,
    };
    if let Err(e) = state.db.oidc().create_code(&c).await {
        return crate::web::error_page(lang, None, e.into());
    }
    with_csp(reply.to(&[("code", &code)]), &reply.origin())
}

/// The pages' CSP: as everywhere, plus the relying party's origin for `form-action`.
fn with_csp(mut r: Response, rp_origin: &str) -> Response {
    let csp = format!("default-src 'self'; frame-ancestors 'none'; form-action 'self' {rp_origin}");
    if let Ok(v) = HeaderValue::from_str(&csp) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

fn hidden(req: &AuthRequest) -> Markup {
    html! {
        @for (k, v) in req.pairs() {
            input type="hidden" name=(k) value=(v);
        }
    }
}

fn msg(lang: Lang, e: &ApiError) -> &str {
    match lang {
        Lang::Vi => &e.message_vi,
        Lang::En => &e.message_en,
    }
}

fn errors(lang: Lang, e: Option<&ApiError>) -> Markup {
    html! {
        @if let Some(e) = e {
            div.card.error role="alert" data-testid="oidc-error" { p { (msg(lang, e)) } }
        }
    }
}

fn client_banner(lang: Lang, client: &Client) -> Markup {
    html! {
        p data-testid="oidc-client" {
            (lang.t("Ứng dụng", "Application")) " " b { (client.row.name) } " "
            (lang.t("yêu cầu đăng nhập bằng tài khoản định danh điện tử của bạn.", "asks you to log in with your electronic identity."))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn login_page(
    state: &AppState,
    lang: Lang,
    uri: &Uri,
    req: &AuthRequest,
    client: &Client,
    reply: &Reply,
    level: i64,
    error: Option<ApiError>,
) -> Response {
    let csrf = random_token();
    let hint = req.login_hint.as_deref().unwrap_or("");
    let body = layout(
        lang,
        lang.t("Đăng nhập", "Log in"),
        None,
        html! {
            section.card.narrow {
                h1 { (lang.t("Đăng nhập bằng định danh điện tử", "Log in with your electronic identity")) }
                (client_banner(lang, client))
                @if level == 2 {
                    p data-testid="oidc-level" { (lang.t("Yêu cầu mức 2: cần mật khẩu và mã xác thực.", "Level 2 requested: password and authenticator code.")) }
                }
                (errors(lang, error.as_ref()))
                form method="post" action="/oauth/authorize" {
                    (hidden(req))
                    input type="hidden" name="csrf" value=(csrf);
                    label for="personal_id" { (lang.t("Số định danh cá nhân", "Personal ID")) }
                    input #personal_id type="text" name="personal_id" value=(hint) inputmode="numeric" autocomplete="username" required;
                    label for="password" { (lang.t("Mật khẩu", "Password")) }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    label for="code" {
                        (lang.t("Mã xác thực (6 chữ số)", "Authenticator code (6 digits)"))
                        @if level < 2 { " " span.muted { (lang.t("— không bắt buộc ở mức 1", "— optional at level 1")) } }
                    }
                    @if level == 2 {
                        input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                    } @else {
                        input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code";
                    }
                    p {
                        button #oidc-login type="submit" name="action" value="login" { (lang.t("Đăng nhập", "Log in")) }
                        " "
                        button.link #oidc-deny type="submit" name="action" value="deny" formnovalidate { (lang.t("Hủy", "Cancel")) }
                    }
                }
            }
        },
    );
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let mut r = with_csp(page(lang_choice(uri), status, body), &reply.origin());
    r.headers_mut().append(header::SET_COOKIE, session::cookie_header(state, CSRF_COOKIE, &csrf, 1800));
    r
}

#[allow(clippy::too_many_arguments)]
fn step_up_page(
    _state: &AppState,
    lang: Lang,
    uri: &Uri,
    req: &AuthRequest,
    client: &Client,
    reply: &Reply,
    token: &str,
    error: Option<ApiError>,
) -> Response {
    let body = layout(
        lang,
        lang.t("Xác thực mức 2", "Level 2 verification"),
        None,
        html! {
            section.card.narrow {
                h1 { (lang.t("Cần xác thực mức 2", "Level 2 verification needed")) }
                (client_banner(lang, client))
                p { (lang.t("Ứng dụng yêu cầu mức 2. Hãy nhập mã trong ứng dụng xác thực của bạn.", "The application asks for level 2. Enter the code from your authenticator app.")) }
                (errors(lang, error.as_ref()))
                form method="post" action="/oauth/authorize" {
                    (hidden(req))
                    input type="hidden" name="csrf" value=(session::csrf_of(token));
                    label for="code" { (lang.t("Mã xác thực (6 chữ số)", "Authenticator code (6 digits)")) }
                    input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                    p {
                        button #oidc-step-up type="submit" name="action" value="step_up" { (lang.t("Xác thực", "Verify")) }
                        " "
                        button.link #oidc-deny type="submit" name="action" value="deny" formnovalidate { (lang.t("Hủy", "Cancel")) }
                    }
                }
            }
        },
    );
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    with_csp(page(lang_choice(uri), status, body), &reply.origin())
}

#[allow(clippy::too_many_arguments)]
fn consent_page(
    lang: Lang,
    uri: &Uri,
    req: &AuthRequest,
    client: &Client,
    reply: &Reply,
    token: &str,
    scope: &str,
    error: Option<ApiError>,
) -> Response {
    let body = layout(
        lang,
        lang.t("Đồng ý chia sẻ thông tin", "Share your information"),
        None,
        html! {
            section.card.narrow {
                h1 { (lang.t("Đồng ý chia sẻ thông tin", "Share your information")) }
                p data-testid="oidc-client" {
                    (lang.t("Ứng dụng", "The application")) " " b { (client.row.name) } " "
                    (lang.t("muốn nhận các thông tin sau từ Cơ sở dữ liệu quốc gia về dân cư:", "asks for the following from the National Population Database:"))
                }
                (errors(lang, error.as_ref()))
                ul data-testid="oidc-scopes" {
                    @for s in scope.split(' ') {
                        li { (crate::web::display::oauth_scope(lang, s)) }
                    }
                }
                p.muted { (lang.t("Mỗi lần ứng dụng đọc thông tin sẽ hiện trong mục “Ai đã truy cập dữ liệu của tôi”. Lựa chọn của bạn được ghi nhớ cho ứng dụng này.", "Each read by the application appears under “Who accessed my data”. Your choice is remembered for this application.")) }
                form method="post" action="/oauth/authorize" {
                    (hidden(req))
                    input type="hidden" name="csrf" value=(session::csrf_of(token));
                    p {
                        button #oidc-consent type="submit" name="action" value="consent" { (lang.t("Đồng ý", "Allow")) }
                        " "
                        button.link #oidc-deny type="submit" name="action" value="deny" { (lang.t("Từ chối", "Deny")) }
                    }
                }
            }
        },
    );
    with_csp(
        page(lang_choice(uri), error.as_ref().map_or(StatusCode::OK, |e| e.status), body),
        &reply.origin(),
    )
}
