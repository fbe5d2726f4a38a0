//! OAuth client administration (`/clients`): administrators register relying parties
//! (portals that log citizens in) and partners (agency systems with client credentials),
//! suspend and reactivate them, and make a new secret. A secret is shown once, on the page
//! that made it; only its SHA-256 is stored. The registration rules are
//! `oidc::clients::register`'s, shared with `dancu client add`; refusals are shown next to
//! their fields. A change takes effect at once on this server (the client cache is updated)
//! and within the reload interval on the others.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use dancu_domain::Violation;
use dancu_store::oidc::OidcClient;
use dancu_store::Role;
use maud::{html, Markup};

use super::{display, error_page, lang_choice, layout, page, Lang, WebUser};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::oidc::clients::{self, Registration, OIDC_SCOPES, PARTNER_SCOPES};
use crate::AppState;

/// The refusal for anyone but an administrator.
fn not_admin(lang: Lang, p: &Principal) -> Option<Response> {
    (p.role != Role::Admin).then(|| error_page(lang, Some(p), ApiError::forbidden()))
}

/// The fields of a posted form, repeated names kept (the scope check boxes).
fn fields(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Some((clients::form_decode(k)?, clients::form_decode(v)?))
        })
        .collect()
}

fn one(f: &[(String, String)], name: &str) -> String {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// What was typed, kept on a refusal.
#[derive(Default)]
struct Typed {
    name: String,
    client_id: String,
    kind: String,
    auth_method: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    scopes: Vec<String>,
    jwks: String,
    sector: String,
}

pub async fn list_page(State(s): State<AppState>, lang: Lang, uri: Uri, WebUser(p): WebUser) -> Response {
    if let Some(r) = not_admin(lang, &p) {
        return r;
    }
    render(&s, lang, &uri, &p, StatusCode::OK, &Typed::default(), &[], None).await
}

#[allow(clippy::too_many_arguments)]
async fn render(
    s: &AppState,
    lang: Lang,
    uri: &Uri,
    p: &Principal,
    status: StatusCode,
    typed: &Typed,
    errors: &[Violation],
    made: Option<(&str, &str)>,
) -> Response {
    match s.db.oidc().clients().await {
        Ok(all) => page(lang_choice(uri), status, clients_page(lang, p, &all, typed, errors, made)),
        Err(e) => error_page(lang, Some(p), e.into()),
    }
}

fn clients_page(
    lang: Lang,
    p: &Principal,
    all: &[OidcClient],
    typed: &Typed,
    errors: &[Violation],
    made: Option<(&str, &str)>,
) -> Markup {
    let csrf = p.csrf.clone().unwrap_or_default();
    let err = |field: &str| -> Markup {
        html! { @for v in errors.iter().filter(|v| v.field == field) {
            p.field-error role="alert" { (match lang { Lang::Vi => &v.message_vi, Lang::En => &v.message_en }) }
        } }
    };
    let kind = if typed.kind.is_empty() { "rp" } else { typed.kind.as_str() };
    let method =
        if typed.auth_method.is_empty() { "client_secret_basic" } else { typed.auth_method.as_str() };
    layout(
        lang,
        lang.t("Ứng dụng liên kết", "Linked applications"),
        Some(p),
        html! {
            h1 { (lang.t("Ứng dụng liên kết", "Linked applications")) }
            p.muted { (lang.t(
                "Cổng dịch vụ đăng nhập công dân bằng định danh điện tử, và hệ thống đối tác tra cứu, đối chiếu dữ liệu.",
                "Portals that log citizens in with their electronic identity, and partner systems that verify and look up data.")) }
            @if let Some((id, secret)) = made {
                section.card data-testid="client-secret" {
                    h2 { (lang.t("Mã bí mật mới", "New secret")) }
                    p { (lang.t("Ứng dụng", "Application")) " " b { (id) } ". "
                        (lang.t("Mã bí mật chỉ hiện một lần; hãy chuyển cho đơn vị quản lý ứng dụng qua kênh an toàn.",
                                "The secret is shown only now; hand it to the application's operator over a safe channel.")) }
                    p { code data-testid="client-secret-value" { (secret) } }
                }
            }
            section.card {
                h2 { (lang.t("Danh sách", "List")) }
                table.stack {
                    thead { tr {
                        th { (lang.t("Tên", "Name")) }
                        th { (lang.t("Mã ứng dụng", "Client ID")) }
                        th { (lang.t("Loại", "Kind")) }
                        th { (lang.t("Xác thực", "Authentication")) }
                        th { (lang.t("Quyền", "Permissions")) }
                        th { (lang.t("Địa chỉ chuyển hướng", "Redirect addresses")) }
                        th { (lang.t("Trạng thái", "State")) }
                        th { (lang.t("Thao tác", "Actions")) }
                    } }
                    tbody {
                        @for c in all {
                            tr data-testid="client-row" {
                                td data-label=(lang.t("Tên", "Name")) { (c.name) }
                                td data-label=(lang.t("Mã ứng dụng", "Client ID")) { code { (c.client_id) } }
                                td data-label=(lang.t("Loại", "Kind")) { (display::oauth_kind(lang, &c.grant_types)) }
                                td data-label=(lang.t("Xác thực", "Authentication")) { (display::oauth_auth_method(lang, &c.auth_method)) }
                                td data-label=(lang.t("Quyền", "Permissions")) {
                                    @for sc in &c.scopes { (display::oauth_scope(lang, sc)) br; }
                                }
                                td data-label=(lang.t("Địa chỉ chuyển hướng", "Redirect addresses")) {
                                    // Shown as copyable fields: an address is data to copy exactly.
                                    @for u in &c.redirect_uris {
                                        input type="text" readonly value=(u) aria-label=(lang.t("Địa chỉ chuyển hướng", "Redirect address"));
                                    }
                                }
                                td data-label=(lang.t("Trạng thái", "State")) {
                                    @if c.active { (lang.t("Đang hoạt động", "Active")) } @else { (lang.t("Đã đình chỉ", "Suspended")) }
                                }
                                td data-label=(lang.t("Thao tác", "Actions")) {
                                    form.inline method="post" action=(format!("/clients/{}", c.client_id)) {
                                        input type="hidden" name="csrf" value=(csrf);
                                        @if c.active {
                                            button type="submit" name="action" value="disable" { (lang.t("Đình chỉ", "Suspend")) }
                                        } @else {
                                            button type="submit" name="action" value="enable" { (lang.t("Kích hoạt lại", "Reactivate")) }
                                        }
                                        @if c.auth_method.starts_with("client_secret") {
                                            " "
                                            button type="submit" name="action" value="rotate" { (lang.t("Cấp mã bí mật mới", "New secret")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card {
                h2 { (lang.t("Đăng ký ứng dụng", "Register an application")) }
                @if errors.iter().any(|v| !["name", "client_id", "redirect_uris", "post_logout_redirect_uris", "scopes", "jwks"].contains(&v.field.as_str())) {
                    div.error role="alert" { @for v in errors { p { (match lang { Lang::Vi => &v.message_vi, Lang::En => &v.message_en }) } } }
                }
                form method="post" action="/clients" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="name" { (lang.t("Tên hiển thị (công dân thấy tên này)", "Display name (citizens see it)")) }
                    input #name type="text" name="name" value=(typed.name) required;
                    (err("name"))
                    label for="client_id" { (lang.t("Mã ứng dụng (để trống: tự tạo)", "Client ID (empty: generated)")) }
                    input #client_id type="text" name="client_id" value=(typed.client_id);
                    (err("client_id"))
                    label for="kind" { (lang.t("Loại", "Kind")) }
                    select #kind name="kind" {
                        option value="rp" selected[kind == "rp"] { (lang.t("Cổng đăng nhập bằng định danh điện tử", "Portal (log in with eID)")) }
                        option value="partner" selected[kind == "partner"] { (lang.t("Hệ thống đối tác", "Partner system")) }
                    }
                    label for="auth_method" { (lang.t("Cách xác thực", "Authentication")) }
                    select #auth_method name="auth_method" {
                        @for m in clients::AUTH_METHODS {
                            option value=(m) selected[method == m] { (display::oauth_auth_method(lang, m)) }
                        }
                    }
                    label for="redirect_uris" { (lang.t("Địa chỉ chuyển hướng (mỗi dòng một địa chỉ, khớp chính xác)", "Redirect addresses (one per line, exact match)")) }
                    textarea #redirect_uris name="redirect_uris" rows="2" { (typed.redirect_uris) }
                    (err("redirect_uris"))
                    label for="post_logout_redirect_uris" { (lang.t("Địa chỉ quay về sau khi đăng xuất (mỗi dòng một địa chỉ)", "Addresses to return to after logout (one per line)")) }
                    textarea #post_logout_redirect_uris name="post_logout_redirect_uris" rows="2" { (typed.post_logout_redirect_uris) }
                    (err("post_logout_redirect_uris"))
                    fieldset {
                        legend { (lang.t("Quyền", "Permissions")) }
                        @for sc in OIDC_SCOPES.iter().chain(PARTNER_SCOPES.iter()) {
                            label.check {
                                input type="checkbox" name="scope" value=(sc) checked[typed.scopes.iter().any(|t| t == sc)];
                                " " (display::oauth_scope(lang, sc))
                            }
                        }
                    }
                    (err("scopes"))
                    (err("grant_types"))
                    label for="jwks" { (lang.t("Bộ khóa công khai JWKS (chỉ khi xác thực bằng khóa riêng)", "Public JWK Set (only for private-key authentication)")) }
                    textarea #jwks name="jwks" rows="3" { (typed.jwks) }
                    (err("jwks"))
                    label for="sector" { (lang.t("Nhóm định danh riêng (để trống: tên miền của địa chỉ chuyển hướng)", "Subject sector (empty: the redirect address's host)")) }
                    input #sector type="text" name="sector" value=(typed.sector);
                    p { button #client-create type="submit" { (lang.t("Đăng ký", "Register")) } }
                }
            }
        },
    )
}

pub async fn create_submit(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    body: Bytes,
) -> Response {
    if let Some(r) = not_admin(lang, &p) {
        return r;
    }
    let f = fields(&body);
    if let Err(e) = p.check_csrf(&one(&f, "csrf")) {
        return error_page(lang, Some(&p), e);
    }
    let typed = Typed {
        name: one(&f, "name"),
        client_id: one(&f, "client_id").trim().to_string(),
        kind: one(&f, "kind"),
        auth_method: one(&f, "auth_method"),
        redirect_uris: one(&f, "redirect_uris"),
        post_logout_redirect_uris: one(&f, "post_logout_redirect_uris"),
        scopes: f.iter().filter(|(k, _)| k == "scope").map(|(_, v)| v.clone()).collect(),
        jwks: one(&f, "jwks"),
        sector: one(&f, "sector"),
    };
    let grants: Vec<String> = if typed.kind == "partner" {
        vec!["client_credentials".into()]
    } else {
        vec!["authorization_code".into(), "refresh_token".into()]
    };
    let reg = Registration {
        client_id: Some(typed.client_id.clone()).filter(|c| !c.is_empty()),
        name: typed.name.clone(),
        auth_method: typed.auth_method.clone(),
        redirect_uris: lines(&typed.redirect_uris),
        post_logout_redirect_uris: lines(&typed.post_logout_redirect_uris),
        grant_types: grants,
        scopes: typed.scopes.clone(),
        jwks: Some(typed.jwks.trim().to_string()).filter(|j| !j.is_empty()),
        sector: Some(typed.sector.trim().to_string()).filter(|j| !j.is_empty()),
    };
    let actor = format!("officer:{}", p.username);
    let (row, secret) = match clients::register(&reg, &actor) {
        Ok(x) => x,
        Err(errs) => {
            s.oidc.refusals.record("clients", "invalid_registration", None, &p.username);
            return render(&s, lang, &uri, &p, StatusCode::UNPROCESSABLE_ENTITY, &typed, &errs, None).await;
        }
    };
    if let Err(e) = s.db.oidc().create_client(&row).await {
        return match e {
            dancu_store::StoreError::Conflict(v) => {
                render(&s, lang, &uri, &p, StatusCode::CONFLICT, &typed, &[v], None).await
            }
            e => error_page(lang, Some(&p), e.into()),
        };
    }
    tracing::info!(client_id = %row.client_id, actor = %actor, "client registered");
    s.oidc.clients.put(row.clone());
    let shown = secret.unwrap_or_else(|| lang.t("(không dùng mã bí mật)", "(no secret)").to_string());
    render(&s, lang, &uri, &p, StatusCode::CREATED, &Typed::default(), &[], Some((&row.client_id, &shown)))
        .await
}

pub async fn change_submit(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(r) = not_admin(lang, &p) {
        return r;
    }
    let f = fields(&body);
    if let Err(e) = p.check_csrf(&one(&f, "csrf")) {
        return error_page(lang, Some(&p), e);
    }
    let store = s.db.oidc();
    let now = dancu_store::registry::now();
    let mut made = None;
    let done = match one(&f, "action").as_str() {
        "disable" => store.set_active(&id, false, now).await,
        "enable" => store.set_active(&id, true, now).await,
        "rotate" => {
            let (secret, hash) = clients::new_secret();
            made = Some(secret);
            match store.client(&id).await {
                Ok(Some(c)) if c.auth_method.starts_with("client_secret") => {
                    store.set_secret_hash(&id, &hash, now).await
                }
                Ok(_) => Err(dancu_store::StoreError::NotFound),
                Err(e) => Err(e),
            }
        }
        _ => {
            return error_page(
                lang,
                Some(&p),
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "Thao tác không hợp lệ",
                    "unknown action",
                ),
            )
        }
    };
    if let Err(e) = done {
        return error_page(lang, Some(&p), e.into());
    }
    tracing::info!(client_id = %id, actor = %p.username, action = %one(&f, "action"), "client changed");
    if let Ok(Some(c)) = store.client(&id).await {
        s.oidc.clients.put(c);
    }
    render(
        &s,
        lang,
        &uri,
        &p,
        StatusCode::OK,
        &Typed::default(),
        &[],
        made.as_deref().map(|m| (id.as_str(), m)),
    )
    .await
}
