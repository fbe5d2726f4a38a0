//! Officer administration (`/officers`): administrators list the accounts in their scope,
//! create one, deactivate or reactivate it, change its role or unit, and reset its password.
//! Every check (administrator role, a scope inside the administrator's own) is the
//! registry's; this page only shows and submits, and refuses with the field and the reason.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use dancu_domain::Violation;
use dancu_store::officer_admin::OfficerChange;
use dancu_store::{NewOfficer, Officer, Role, Scope};
use maud::{html, Markup};
use serde::Deserialize;

use super::{display, error_page, lang_choice, layout, page, Lang, WebUser};
use crate::api::auth::{validate_officer, NewOfficerRequest};
use crate::auth::{hash_password, Principal};
use crate::error::ApiError;
use crate::AppState;

const PURPOSE: &str = "quản trị tài khoản cán bộ";
const PAGE_SIZE: usize = 50;

/// A role in words.
pub fn role_name(lang: Lang, r: Role) -> &'static str {
    match r {
        Role::Admin => lang.t("Quản trị viên", "Administrator"),
        Role::Leader => lang.t("Lãnh đạo (xem số liệu)", "Leader (figures only)"),
        Role::Officer => lang.t("Cán bộ nghiệp vụ", "Officer"),
        Role::Auditor => lang.t("Thanh tra (chỉ xem)", "Auditor (read only)"),
        Role::Agency => lang.t("Cán bộ ngành (nhập số liệu)", "Agency (figures entry)"),
    }
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    q: Option<String>,
    offset: Option<usize>,
}

pub async fn list_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Query(q): Query<ListParams>,
) -> Response {
    match s.registry.list_officers(&p.access(PURPOSE)).await {
        Ok(all) => page(
            lang_choice(&uri),
            StatusCode::OK,
            officers_page(lang, &p, &all, &q, &NewForm::default(), &[]),
        ),
        Err(e) => error_page(lang, Some(&p), e.into()),
    }
}

/// What an administrator sees: the create form (refusals next to their fields) and the
/// accounts matching the filter, a page at a time.
fn officers_page(
    lang: Lang,
    p: &Principal,
    all: &[Officer],
    q: &ListParams,
    typed: &NewForm,
    errors: &[Violation],
) -> Markup {
    let needle = dancu_domain::fold_key(q.q.as_deref().unwrap_or_default());
    let shown: Vec<&Officer> = all
        .iter()
        .filter(|o| {
            needle.is_empty()
                || dancu_domain::fold_key(&o.username).contains(&needle)
                || dancu_domain::fold_key(&o.display_name).contains(&needle)
        })
        .collect();
    let offset = q.offset.unwrap_or(0).min(shown.len());
    let csrf = p.csrf.clone().unwrap_or_default();
    let err = |field: &str| -> Markup {
        html! { @for v in errors.iter().filter(|v| v.field == field) {
            p.field-error data-testid={"error-" (field)} { (match lang { Lang::Vi => &v.message_vi, Lang::En => &v.message_en }) }
        } }
    };
    layout(
        lang,
        lang.t("Tài khoản cán bộ", "Officer accounts"),
        Some(p),
        html! {
            h1 { (lang.t("Tài khoản cán bộ", "Officer accounts")) }
            section.card {
                h2 { (lang.t("Tạo tài khoản", "New account")) }
                form method="post" action="/officers" data-testid="officer-create" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { (lang.t("Tên đăng nhập", "Username")) input name="username" value=(typed.username) required; }
                    (err("username"))
                    label { (lang.t("Họ và tên", "Full name")) input name="display_name" value=(typed.display_name) required; }
                    label { (lang.t("Vai trò", "Role")) (role_select(lang, "role", Role::parse(&typed.role).unwrap_or(Role::Officer))) }
                    (err("role"))
                    (scope_fields(lang, &typed.level, &typed.unit))
                    (err("scope"))
                    label { (lang.t("Mật khẩu ban đầu (tối thiểu 12 ký tự)", "Initial password (at least 12 characters)"))
                        input type="password" name="password" autocomplete="new-password" required; }
                    (err("password"))
                    button type="submit" { (lang.t("Tạo tài khoản", "Create account")) }
                }
            }
            form.search method="get" action="/officers" {
                label { (lang.t("Tìm theo tên", "Find by name")) input name="q" value=(q.q.clone().unwrap_or_default()); }
                button type="submit" { (lang.t("Tìm", "Find")) }
            }
            p data-testid="officer-total" { (lang.t("Số tài khoản: ", "Accounts: ")) (shown.len()) }
            table.stack {
                thead { tr {
                    th { (lang.t("Tên đăng nhập", "Username")) } th { (lang.t("Họ và tên", "Name")) }
                    th { (lang.t("Vai trò", "Role")) } th { (lang.t("Phạm vi", "Unit")) }
                    th { (lang.t("Trạng thái", "State")) } th { (lang.t("Thao tác", "Actions")) }
                } }
                tbody {
                    @for o in shown.iter().skip(offset).take(PAGE_SIZE) {
                        tr data-testid={"officer-" (o.username)} {
                            td data-label=(lang.t("Tên đăng nhập", "Username")) { (o.username) }
                            td data-label=(lang.t("Họ và tên", "Name")) { (o.display_name) }
                            td data-label=(lang.t("Vai trò", "Role")) { (role_name(lang, o.role)) }
                            td data-label=(lang.t("Phạm vi", "Unit")) { (display::scope(lang, &o.scope)) }
                            td data-label=(lang.t("Trạng thái", "State")) {
                                @if o.active { (lang.t("Đang hoạt động", "Active")) } @else { (lang.t("Đã khóa", "Deactivated")) }
                            }
                            td data-label=(lang.t("Thao tác", "Actions")) { (row_actions(lang, &csrf, o)) }
                        }
                    }
                }
            }
            nav.pager {
                @if offset > 0 {
                    a href={"/officers?offset=" (offset.saturating_sub(PAGE_SIZE)) "&q=" (super::urlencode(q.q.as_deref().unwrap_or_default()))} { (lang.t("← Trước", "← Previous")) }
                }
                @if offset + PAGE_SIZE < shown.len() {
                    a href={"/officers?offset=" (offset + PAGE_SIZE) "&q=" (super::urlencode(q.q.as_deref().unwrap_or_default()))} { (lang.t("Sau →", "Next →")) }
                }
            }
        },
    )
}

fn role_select(lang: Lang, name: &str, current: Role) -> Markup {
    html! {
        select name=(name) {
            @for r in Role::ALL {
                option value=(r.code()) selected[r == current] { (role_name(lang, r)) }
            }
        }
    }
}

/// A scope as two plain fields: the level and the 2025 unit code (no internal notation).
pub(super) fn scope_fields(lang: Lang, level: &str, unit: &str) -> Markup {
    html! {
        label { (lang.t("Cấp quản lý", "Level"))
            select name="level" {
                option value="commune" selected[level == "commune" || level.is_empty()] { (lang.t("Xã, phường", "Commune")) }
                option value="province" selected[level == "province"] { (lang.t("Tỉnh, thành phố", "Province")) }
                option value="nation" selected[level == "nation"] { (lang.t("Toàn quốc", "Whole country")) }
            }
        }
        label { (lang.t("Mã đơn vị (2025)", "Unit code (2025)")) input name="unit" value=(unit) inputmode="numeric"; }
    }
}

fn row_actions(lang: Lang, csrf: &str, o: &Officer) -> Markup {
    let (level, unit) = match &o.scope {
        Scope::Nation => ("nation", String::new()),
        Scope::Province(p) => ("province", p.clone()),
        Scope::Commune(c) => ("commune", c.clone()),
    };
    html! {
        details {
            summary { (lang.t("Sửa", "Change")) }
            form method="post" action={"/officers/" (o.id)} data-testid={"officer-change-" (o.username)} {
                input type="hidden" name="csrf" value=(csrf);
                label { (lang.t("Vai trò", "Role")) (role_select(lang, "role", o.role)) }
                (scope_fields(lang, level, &unit))
                label.check { input type="checkbox" name="active" value="on" checked[o.active]; (lang.t("Đang hoạt động", "Active")) }
                button type="submit" { (lang.t("Lưu", "Save")) }
            }
            form method="post" action={"/officers/" (o.id) "/password"} data-testid={"officer-password-" (o.username)} {
                input type="hidden" name="csrf" value=(csrf);
                label { (lang.t("Mật khẩu mới", "New password"))
                    input type="password" name="password" autocomplete="new-password" required; }
                button type="submit" { (lang.t("Đặt lại mật khẩu", "Reset password")) }
            }
        }
    }
}

/// The scope of the two plain fields, or the violation naming `scope`.
pub(super) fn scope_of(level: &str, unit: &str) -> Result<Scope, Violation> {
    let unit = unit.trim();
    let text = match level {
        "nation" => "nation".to_string(),
        "province" | "commune" => format!("{level}:{unit}"),
        _ => String::new(),
    };
    text.parse::<Scope>().map_err(|_| {
        Violation::new(
            "scope",
            "officer.scope",
            "Chọn cấp quản lý và nhập mã đơn vị năm 2025 (tỉnh 2 chữ số, xã 5 chữ số)",
            "choose the level and enter the 2025 unit code (province 2 digits, commune 5 digits)",
        )
    })
}

#[derive(Deserialize, Default)]
pub struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    password: String,
}

/// Creates an account; a refusal shows the form again, filled in, with each reason next to
/// its field (the password is never sent back).
pub async fn create_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Form(f): Form<NewForm>,
) -> Response {
    if let Err(e) = p.check_csrf(&f.csrf) {
        return error_page(lang, Some(&p), e);
    }
    let scope = scope_of(&f.level, &f.unit);
    let req = NewOfficerRequest {
        username: f.username.trim().to_string(),
        display_name: f.display_name.trim().to_string(),
        role: f.role.clone(),
        scope: scope.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        password: f.password.clone(),
    };
    let mut errs: Vec<Violation> = validate_officer(&req).err().unwrap_or_default();
    if let Err(v) = &scope {
        errs.retain(|e| e.field != "scope");
        errs.push(v.clone());
    }
    let created = if errs.is_empty() {
        let pw = f.password.clone();
        match s.hasher.run(move || hash_password(&pw)).await {
            Ok(hash) => {
                let new = NewOfficer {
                    username: req.username.clone(),
                    display_name: dancu_domain::nfc(&req.display_name),
                    role: Role::parse(&req.role).unwrap_or(Role::Officer),
                    scope: scope.clone().unwrap_or(Scope::Nation),
                    password_hash: hash,
                };
                s.registry.create_officer(&p.access(PURPOSE), &new).await.map_err(ApiError::from)
            }
            Err(e) => Err(e),
        }
    } else {
        Err(ApiError::invalid(errs))
    };
    match created {
        Ok(_) => Redirect::to("/officers").into_response(),
        Err(e) if !e.violations.is_empty() => {
            let all = s.registry.list_officers(&p.access(PURPOSE)).await.unwrap_or_default();
            let body = officers_page(lang, &p, &all, &ListParams::default(), &f, &e.violations);
            (StatusCode::UNPROCESSABLE_ENTITY, body).into_response()
        }
        Err(e) => error_page(lang, Some(&p), e),
    }
}

#[derive(Deserialize)]
pub struct ChangeForm {
    csrf: String,
    role: String,
    level: String,
    #[serde(default)]
    unit: String,
    /// A checkbox: present when ticked.
    active: Option<String>,
}

/// Changes an account's role, unit or state; its tokens and sessions end at once.
pub async fn change_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(id): Path<i64>,
    Form(f): Form<ChangeForm>,
) -> Response {
    let run = async {
        p.check_csrf(&f.csrf)?;
        let role = Role::parse(&f.role).ok_or_else(|| {
            ApiError::invalid(vec![Violation::new(
                "role",
                "officer.role",
                "Vai trò không hợp lệ",
                "unknown role",
            )])
        })?;
        let scope = scope_of(&f.level, &f.unit).map_err(|v| ApiError::invalid(vec![v]))?;
        let change = OfficerChange { active: Some(f.active.is_some()), role: Some(role), scope: Some(scope) };
        s.registry.update_officer(&p.access(PURPOSE), id, &change).await?;
        s.revocation.current(&s.accounts, id).await?;
        Ok::<_, ApiError>(())
    };
    match run.await {
        Ok(()) => Redirect::to("/officers").into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    password: String,
}

/// Sets a new password the administrator hands over in person; the officer's tokens and
/// sessions end.
pub async fn password_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(id): Path<i64>,
    Form(f): Form<PasswordForm>,
) -> Response {
    let run = async {
        p.check_csrf(&f.csrf)?;
        // Checked again by the registry; here it spares a hash for a refused request.
        p.require_admin()?;
        if let Some(v) = crate::api::auth::officer_password_rule(&f.password) {
            return Err(ApiError::invalid(vec![v]));
        }
        let pw = f.password.clone();
        let hash = s.hasher.run(move || hash_password(&pw)).await?;
        s.registry.reset_officer_password(&p.access(PURPOSE), id, &hash).await?;
        s.revocation.current(&s.accounts, id).await?;
        Ok::<_, ApiError>(())
    };
    match run.await {
        Ok(()) => Redirect::to("/officers").into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}
