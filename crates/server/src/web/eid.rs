//! Officer pages for electronic identity accounts: the queue (registrations waiting for
//! approval, level-1 accounts to upgrade in person, counts per level and state), one account
//! with its history and the actions it allows, and the old-CMND confirmation document.

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use dancu_domain::{PartialDate, PersonalId, Sex, Violation};
use dancu_identity::eid::{AccountEvent, Actor, DocumentKind, Level, VerificationState};
use dancu_store::eid::{CmndConfirmation, EidCount};
use dancu_store::registry::now;

use super::compare::{self, Row, Side};
use super::display::{self, Actors};
use super::document::{Doc, Issuer, Signer};
use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, Lang, WebUser};
use crate::api::citizens::{parse_id, require_reason};
use crate::auth::Principal;
use crate::citizen_auth::{new_reset_code, RESET_CODE_HOURS};
use crate::error::ApiError;
use crate::AppState;

/// State codes an officer can filter on, with their labels.
const STATES: [(&str, &str, &str); 4] = [
    ("registered", "Chờ phê duyệt", "Waiting for approval"),
    ("approved", "Đã phê duyệt", "Approved"),
    ("activated", "Đã kích hoạt", "Activated"),
    ("locked", "Đã khóa", "Locked"),
];

fn state_label(lang: Lang, code: &str) -> &'static str {
    STATES.iter().find(|s| s.0 == code).map(|s| lang.t(s.1, s.2)).unwrap_or("?")
}

fn level_label(lang: Lang, l: Level) -> &'static str {
    match lang {
        Lang::Vi => l.label_vi(),
        Lang::En => l.label_en(),
    }
}

/// Totals per level and state (rows) over the officer's scope.
fn counts_table(lang: Lang, counts: &[EidCount]) -> Markup {
    let total = |l: Level, st: &str| -> u64 {
        counts.iter().filter(|c| c.level == l && c.state == st).map(|c| c.count).sum()
    };
    html! {
        div.table-wrap { table data-testid="eid-counts" {
            thead { tr { th { (lang.t("Mức", "Level")) } @for s in STATES { th { (lang.t(s.1, s.2)) } } th { (lang.t("Tổng", "Total")) } } }
            tbody {
                @for l in [Level::One, Level::Two] {
                    tr {
                        td { (level_label(lang, l)) }
                        @for s in STATES { td { (total(l, s.0)) } }
                        td { (STATES.iter().map(|s| total(l, s.0)).sum::<u64>()) }
                    }
                }
            }
        } }
    }
}

#[derive(Deserialize)]
pub struct QueueParams {
    state: Option<String>,
    level: Option<String>,
    offset: Option<u64>,
}

pub async fn queue_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Query(q): Query<QueueParams>,
) -> Response {
    let access = p.access(WEB_PURPOSE);
    let state = q.state.as_deref().filter(|s| STATES.iter().any(|x| x.0 == *s)).unwrap_or("registered");
    let level = match q.level.as_deref() {
        Some("1") => Some(Level::One),
        Some("2") => Some(Level::Two),
        _ => None,
    };
    let offset = q.offset.unwrap_or(0);
    let (counts, list) = match tokio::try_join!(
        s.registry.eid_counts(&access),
        s.registry.eid_list(&access, Some(state), level, 50, offset)
    ) {
        Ok(r) => r,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let body = layout(
        lang,
        lang.t("Định danh điện tử", "Electronic identity"),
        Some(&p),
        html! {
            section.card {
                h1 { (lang.t("Tài khoản định danh điện tử", "Electronic identity accounts")) }
                (counts_table(lang, &counts))
            }
            section.card {
                nav.tabs {
                    @for st in STATES {
                        a href=(format!("/eid?state={}", st.0)) data-testid=(format!("tab-{}", st.0)) { (lang.t(st.1, st.2)) }
                        " "
                    }
                    a href="/eid?state=activated&level=1" { (lang.t("Mức 1 chờ nâng mức 2", "Level 1, to upgrade")) }
                }
                h2 { (state_label(lang, state)) @if let Some(l) = level { " · " (level_label(lang, l)) } " (" (list.total) ")" }
                @let (l_id, l_name, l_level, l_commune, l_upd) = (lang.t("Số định danh", "Personal ID"), lang.t("Họ và tên", "Full name"), lang.t("Mức", "Level"), lang.t("Xã", "Commune"), lang.t("Cập nhật", "Updated"));
                div.table-wrap { table.stack data-testid="eid-queue" {
                    thead { tr { th { (l_id) } th { (l_name) } th { (l_level) } th { (l_commune) } th { (l_upd) } } }
                    tbody {
                        @for a in &list.items {
                            tr {
                                td data-label=(l_id) { a href=(format!("/eid/accounts/{}", a.personal_id)) { (a.personal_id) } }
                                td data-label=(l_name) { (a.full_name) }
                                td data-label=(l_level) { (level_label(lang, a.level)) }
                                td data-label=(l_commune) { (display::commune_short(&a.scope_commune)) }
                                td data-label=(l_upd) { (display::time(&a.updated_at)) }
                            }
                        }
                    }
                } }
                div.pager {
                    @if offset > 0 { a href=(format!("/eid?state={state}&offset={}", offset.saturating_sub(50))) { (lang.t("← Trước", "← Previous")) } }
                    @if offset + 50 < list.total { a href=(format!("/eid?state={state}&offset={}", offset + 50)) { (lang.t("Sau →", "Next →")) } }
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

fn action_form(p: &Principal, id: &PersonalId, action: &str, version: i64, inner: Markup) -> Markup {
    html! {
        form method="post" action=(format!("/eid/accounts/{id}/actions")) {
            input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
            input type="hidden" name="action" value=(action);
            input type="hidden" name="version" value=(version);
            (inner)
        }
    }
}

pub async fn account_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let v = match s.registry.eid_view(&p.access(WEB_PURPOSE), &id).await {
        Ok(v) => v,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let actors = Actors::load(&s.accounts, v.events.iter().map(|e| e.actor.as_str())).await;
    account_markup(lang, &uri, &p, &v, &actors, None)
}

/// What the citizen claimed at registration next to the registry record, the differences
/// marked (a name spelt without marks, a date of birth more or less precise than the
/// record's); the registry's status and residence, which the claim does not state, beside.
fn claim_section(lang: Lang, v: &dancu_store::registry::EidView) -> Markup {
    let Some(rec) = &v.record else { return html! {} };
    let c = &rec.citizen;
    let claimed_date = v.claim.as_ref().map(|k| {
        k.birth_date.parse::<PartialDate>().map(|d| d.display_vi()).unwrap_or_else(|_| k.birth_date.clone())
    });
    let claimed_sex = v.claim.as_ref().map(|k| {
        Sex::parse(&k.sex).map(|s| display::sex(lang, s).to_string()).unwrap_or_else(|_| k.sex.clone())
    });
    let residence = c.current.as_ref().or(c.temporary.as_ref()).or(c.permanent.as_ref());
    let rows = [
        Row {
            label: lang.t("Họ và tên", "Full name").into(),
            left: v.claim.as_ref().map(|k| k.full_name.clone()),
            right: Some(c.name.full()),
        },
        Row {
            label: lang.t("Ngày sinh", "Date of birth").into(),
            left: claimed_date,
            right: Some(c.birth_date.display_vi()),
        },
        Row {
            label: lang.t("Giới tính", "Sex").into(),
            left: claimed_sex,
            right: Some(display::sex(lang, c.sex).into()),
        },
        Row {
            label: lang.t("Số điện thoại", "Phone").into(),
            left: Some(v.claim.as_ref().map_or_else(|| v.account.phone.clone(), |k| k.phone.clone())),
            right: None,
        },
        Row {
            label: lang.t("Ảnh chân dung", "Portrait").into(),
            left: v.claim.as_ref().map(|k| {
                let words = if k.portrait_captured {
                    lang.t("Đã chụp trên ứng dụng", "Taken in the app")
                } else {
                    lang.t("Chưa chụp", "Not taken")
                };
                words.to_string()
            }),
            right: None,
        },
        Row {
            label: lang.t("Tình trạng", "Status").into(),
            left: None,
            right: Some(display::life_status(lang, c.status).into()),
        },
        Row {
            label: lang.t("Nơi cư trú", "Residence").into(),
            left: None,
            right: residence.map(|a| {
                if a.detail.is_empty() {
                    display::unit(lang, &a.unit)
                } else {
                    format!("{}, {}", a.detail, display::unit(lang, &a.unit))
                }
            }),
        },
    ];
    let claim_head = lang.t("Công dân khai khi đăng ký", "Claimed at registration");
    let record_head = lang.t("Hồ sơ trong CSDL quốc gia về dân cư", "The population database's record");
    let left = Side { label: claim_head.into(), head: html! { (claim_head) } };
    let right = Side {
        label: record_head.into(),
        head: html! { a href=(format!("/citizens/{}", c.personal_id)) { (record_head) } },
    };
    html! {
        section.card data-testid="eid-claim" {
            h2 { (lang.t("Thông tin đăng ký và hồ sơ dân cư", "Registration and registry record")) }
            @match &v.claim {
                Some(k) => p.muted { (lang.t("Đăng ký lúc ", "Registered ")) (display::time(&k.claimed_at)) ". "
                    (lang.t("Thông tin khác nhau được đánh dấu; đăng ký chỉ được nhận khi họ tên (không kể dấu), ngày sinh và giới tính khớp với hồ sơ.",
                        "Differences are marked; a registration is taken only when the name (marks aside), date of birth and sex match the record.")) },
                None => p.muted { (lang.t("Tài khoản không do công dân tự đăng ký trên cổng: không có thông tin khai.", "The account was not self-registered on the portal: there is no claim.")) },
            }
            (compare::table(lang, "claim-vs-record", &left, &right, &rows))
        }
    }
}

fn account_markup(
    lang: Lang,
    uri: &Uri,
    p: &Principal,
    v: &dancu_store::registry::EidView,
    actors: &Actors,
    notice: Option<Markup>,
) -> Response {
    let a = &v.account;
    let id = &a.personal_id;
    let body = layout(
        lang,
        &v.full_name,
        Some(p),
        html! {
            @if let Some(n) = notice { section.card data-testid="notice" { (n) } }
            section.card {
                h1 { (v.full_name) " — " (id) }
                p { a href=(format!("/citizens/{id}")) { (lang.t("Hồ sơ dân cư", "Registry record")) } }
                dl {
                    dt { (lang.t("Mức", "Level")) } dd data-testid="eid-level" { (level_label(lang, a.level)) }
                    dt { (lang.t("Trạng thái", "State")) } dd data-testid="eid-state" { (display::account_state(lang, &a.state)) }
                    dt { (lang.t("Số điện thoại", "Phone")) } dd { (a.phone) }
                    dt { (lang.t("Đăng ký lúc", "Registered")) } dd { (display::time(&a.created_at)) }
                }
            }
            (claim_section(lang, v))
            @if p.role.writes_records() { section.card data-testid="eid-actions" {
                h2 { (lang.t("Xử lý", "Actions")) }
                @if a.state.code() == "registered" {
                    (action_form(p, id, "approve", a.version, html! { button #approve type="submit" { (lang.t("Phê duyệt", "Approve")) } }))
                }
                @if a.level == Level::One && !a.state.is_locked() {
                    (action_form(p, id, "upgrade", a.version, html! {
                        label { input type="checkbox" name="biometrics_verified" value="on"; " " (lang.t("Đã đối chiếu ảnh chân dung và vân tay trực tiếp", "Face and fingerprints verified in person")) }
                        button #upgrade type="submit" { (lang.t("Nâng lên mức 2", "Upgrade to level 2")) }
                    }))
                }
                @if a.state.is_locked() {
                    (action_form(p, id, "unlock", a.version, html! {
                        label for="unlock-reason" { (lang.t("Lý do mở khóa", "Reason to unlock")) }
                        input #unlock-reason type="text" name="reason" required;
                        button #unlock type="submit" { (lang.t("Mở khóa", "Unlock")) }
                    }))
                } @else {
                    (action_form(p, id, "lock", a.version, html! {
                        label for="lock-reason" { (lang.t("Lý do khóa", "Reason to lock")) }
                        input #lock-reason type="text" name="reason" required;
                        button #lock type="submit" { (lang.t("Khóa tài khoản", "Lock the account")) }
                    }))
                }
                // A reset code is valid in every state (the registry takes it in each).
                (action_form(p, id, "reset", a.version, html! {
                    p.muted { (lang.t("Chỉ cấp mã sau khi đã kiểm tra thẻ căn cước của công dân trực tiếp.", "Issue a code only after checking the citizen's ID card in person.")) }
                    button #issue-reset type="submit" { (lang.t("Cấp mã đặt lại mật khẩu", "Issue a password-reset code")) }
                }))
            } }
            section.card {
                h2 { (lang.t("Giấy tờ tích hợp", "Integrated documents")) }
                @let (l_kind, l_no, l_ag, l_ver) = (lang.t("Loại", "Kind"), lang.t("Số", "Number"), lang.t("Cơ quan", "Agency"), lang.t("Xác thực", "Verification"));
                div.table-wrap { table.stack data-testid="documents" {
                    thead { tr { th { (l_kind) } th { (l_no) } th { (l_ag) } th { (l_ver) } th {} } }
                    tbody { @for d in &v.documents {
                        tr {
                            td data-label=(l_kind) { (display::document_kind(lang, d.kind)) } td data-label=(l_no) { (d.number) } td data-label=(l_ag) { (d.source_agency) } td data-label=(l_ver) { (display::verification(lang, &d.state)) }
                            td { @if d.state == VerificationState::Pending && p.role.writes_records() {
                                (action_form(p, id, "verify", a.version, html! {
                                    input type="hidden" name="kind" value=(d.kind.code());
                                    button type="submit" { (lang.t("Xác thực", "Verify")) }
                                }))
                                (action_form(p, id, "reject", a.version, html! {
                                    input type="hidden" name="kind" value=(d.kind.code());
                                    input type="text" name="reason" placeholder=(lang.t("Lý do từ chối", "Reason")) required;
                                    button type="submit" { (lang.t("Từ chối", "Reject")) }
                                }))
                            } }
                        }
                    } }
                } }
                @if p.role.writes_records() { (action_form(p, id, "document", a.version, html! {
                    div.grid {
                        div { label for="kind" { (lang.t("Loại giấy tờ", "Kind")) }
                            select #kind name="kind" { @for k in DocumentKind::ALL { option value=(k.code()) { (display::document_kind(lang, k)) } } } }
                        div { label for="number" { (lang.t("Số", "Number")) } input #number type="text" name="number" required; }
                        div { label for="agency" { (lang.t("Cơ quan cung cấp (để trống: mặc định)", "Source agency (blank: default)")) } input #agency type="text" name="agency"; }
                        div { button type="submit" { (lang.t("Tích hợp", "Link")) } }
                    }
                })) }
            }
            section.card {
                h2 { (lang.t("Lịch sử tài khoản", "Account history")) }
                @let (l_ev, l_st, l_by, l_why, l_when) = (lang.t("Sự kiện", "Event"), lang.t("Trạng thái", "State"), lang.t("Người thực hiện", "By"), lang.t("Lý do", "Reason"), lang.t("Thời gian", "When"));
                div.table-wrap { table.stack data-testid="eid-history" {
                    thead { tr { th { "#" } th { (l_ev) } th { (l_st) } th { (l_by) } th { (l_why) } th { (l_when) } } }
                    tbody { @for e in &v.events {
                        tr { td data-label="#" { (e.seq) } td data-label=(l_ev) { (display::eid_event(lang, &e.event)) }
                            td data-label=(l_st) { (display::eid_state(lang, &e.from_state)) " → " (display::eid_state(lang, &e.to_state)) }
                            td data-label=(l_by) { (actors.name(lang, &e.actor)) } td data-label=(l_why) { (e.reason) } td data-label=(l_when) { (display::time(&e.at)) } }
                    } }
                } }
                h2 { (lang.t("Đăng nhập gần đây", "Recent logins")) }
                ul { @for l in &v.logins { li { (display::time(&l.at)) " — " (display::login_outcome(lang, &l.outcome)) } } }
            }
        },
    );
    page(lang_choice(uri), StatusCode::OK, body)
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: String,
    action: String,
    version: Option<i64>,
    #[serde(default)]
    reason: String,
    biometrics_verified: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    number: String,
    agency: Option<String>,
}

fn parse_kind(code: Option<&str>) -> Result<DocumentKind, ApiError> {
    code.and_then(DocumentKind::from_code).ok_or_else(|| {
        Violation::new("kind", "eid.document_kind", "Loại giấy tờ không hợp lệ", "unknown document kind")
            .into()
    })
}

pub async fn action_submit(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let run = async {
        p.check_csrf(&f.csrf)?;
        let id = parse_id(&id)?;
        let access = p.access(WEB_PURPOSE);
        let r = &s.registry;
        let mut notice = None;
        match f.action.as_str() {
            "approve" => {
                r.eid_officer_event(&access, &id, &AccountEvent::Approve, f.version).await?;
            }
            "lock" | "unlock" => {
                let reason = require_reason(&f.reason)?;
                let ev = if f.action == "lock" {
                    AccountEvent::Lock { by: Actor::Officer, reason }
                } else {
                    AccountEvent::Unlock { by: Actor::Officer, reason }
                };
                r.eid_officer_event(&access, &id, &ev, f.version).await?;
            }
            "upgrade" => {
                let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
                r.eid_upgrade_level2(&access, &id, f.biometrics_verified.is_some(), today, f.version).await?;
            }
            "reset" => {
                let code = new_reset_code();
                let expires = now() + chrono::Duration::hours(RESET_CODE_HOURS);
                r.eid_issue_reset(
                    &access,
                    &id,
                    crate::citizen_auth::reset_code_hash(&s, &id, &code),
                    expires,
                )
                .await?;
                notice = Some(html! {
                    p { (lang.t("Mã đặt lại mật khẩu (đọc cho công dân; hiệu lực 24 giờ, chỉ hiện một lần):", "Reset code (read it to the citizen; valid 24 hours, shown once):")) }
                    p { code.big-code data-testid="reset-code" { (code) } }
                });
            }
            "document" => {
                let kind = parse_kind(f.kind.as_deref())?;
                r.eid_link_document(&access, &id, kind, &f.number, f.agency.as_deref()).await?;
            }
            "verify" | "reject" => {
                let kind = parse_kind(f.kind.as_deref())?;
                let to = if f.action == "verify" {
                    VerificationState::Verified
                } else {
                    VerificationState::Rejected { reason: f.reason.clone() }
                };
                r.eid_document_state(&access, &id, kind, to).await?;
            }
            _ => {
                return Err(ApiError::from(Violation::new(
                    "action",
                    "eid.action_unknown",
                    "Thao tác không hợp lệ",
                    "unknown action",
                )))
            }
        }
        Ok::<_, ApiError>((id, notice))
    };
    match run.await {
        Ok((id, None)) => Redirect::to(&format!("/eid/accounts/{id}")).into_response(),
        Ok((id, Some(n))) => match s.registry.eid_view(&p.access(WEB_PURPOSE), &id).await {
            Ok(v) => {
                let actors = Actors::load(&s.accounts, v.events.iter().map(|e| e.actor.as_str())).await;
                account_markup(lang, &uri, &p, &v, &actors, Some(n))
            }
            Err(e) => error_page(lang, Some(&p), e.into()),
        },
        Err(e) => error_page(lang, Some(&p), e),
    }
}

// ---- old CMND confirmation ----

pub async fn confirm_cmnd_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    Form(f): Form<super::CsrfForm>,
) -> Response {
    let run = async {
        p.check_csrf(&f.csrf)?;
        let id = parse_id(&id)?;
        Ok::<_, ApiError>(s.registry.confirm_cmnd(&p.access(WEB_PURPOSE), &id).await?)
    };
    match run.await {
        Ok(c) => Redirect::to(&format!("/cmnd/{}", c.number)).into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

/// The confirmation as a printable document in the Decree 30/2020 format, issued by the
/// police of the issuing officer's unit (the holder's commune if the officer is not known).
pub fn confirmation_markup(c: &CmndConfirmation, actors: &Actors) -> Markup {
    let officer = actors.officer(&c.issued_by);
    let issuer = match officer {
        Some((_, scope)) => Issuer::of_scope(scope),
        None => Issuer::of_commune(&c.scope_commune),
    };
    let doc = Doc {
        testid: "cmnd-confirmation",
        number: format!("{}/{}", c.number, issuer.initials()),
        day: dancu_domain::date::vietnam_today(c.issued_at),
        title: "Giấy xác nhận số Chứng minh nhân dân",
        summary: None,
        signer: Signer {
            capacity: "Cán bộ xác nhận".into(),
            name: officer.map(|o| o.0.to_string()).unwrap_or_default(),
        },
        issuer,
    };
    let unit = display::commune(&c.scope_commune);
    doc.render(html! {
        p { (doc.issuer.name) " xác nhận:" }
        dl.doc-fields {
            dt { "Họ, chữ đệm và tên:" } dd { b { (c.full_name) } }
            dt { "Ngày, tháng, năm sinh:" } dd { (display::stored_date(&c.birth_date)) }
            dt { "Số định danh cá nhân:" } dd { b { (c.personal_id) } }
            @if !c.card_issue.is_empty() { dt { "Thẻ căn cước:" } dd { "số " (c.card_issue) } }
            dt { "Nơi cư trú:" } dd { (unit) }
            dt { "Số Chứng minh nhân dân đã được cấp:" } dd { b data-testid="confirmed-cmnd" { (c.cmnd) } }
        }
        p { "Số Chứng minh nhân dân và số định danh cá nhân nêu trên là của cùng một công dân. "
            "Giấy xác nhận số " span data-testid="confirmation-number" { (c.number) } " tra cứu lại được theo số này." }
    })
}

pub async fn confirmation_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(number): Path<String>,
) -> Response {
    let c = match s.registry.cmnd_confirmation(&p.access(WEB_PURPOSE), &number).await {
        Ok(c) => c,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let actors = Actors::load(&s.accounts, [c.issued_by.as_str()]).await;
    let body = layout(lang, &c.number, Some(&p), confirmation_markup(&c, &actors));
    page(lang_choice(&uri), StatusCode::OK, body)
}
