//! The household page: its members, the operations on it (add or remove a member, change
//! the head, split the household) and its history with what each version changed. Every
//! operation is made from the version shown; a refused one comes back on the page with what
//! was typed and each violation at its field.

use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use dancu_domain::household::Member;
use dancu_domain::{Household, PersonalId, Relation, Violation};
use dancu_store::registry::Split;
use dancu_store::HouseholdView;

use super::display::{self, Actors};
use super::forms::{self, Problems, Typed, WRITE_PURPOSE};
use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, Lang, WebUser};
use crate::api::citizens::require_reason;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

/// A refused operation: which form, what was typed, why.
struct Failed<'a> {
    op: &'a str,
    typed: &'a Typed,
    problems: &'a Problems,
}

pub async fn household_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(number): Path<String>,
) -> Response {
    render(&s, lang, &uri, &p, &number, None).await
}

async fn render(
    s: &AppState,
    lang: Lang,
    uri: &Uri,
    p: &Principal,
    number: &str,
    failed: Option<Failed<'_>>,
) -> Response {
    let access = p.access(WEB_PURPOSE);
    let h = match s.registry.household(&access, number).await {
        Ok(h) => h,
        Err(e) => return error_page(lang, Some(p), e.into()),
    };
    let history = s.registry.household_history(&access, number).await.unwrap_or_default();
    let actors = Actors::load(
        &s.accounts,
        std::iter::once(h.updated_by.as_str()).chain(history.iter().map(|v| v.changed_by.as_str())),
    )
    .await;
    let status = failed.as_ref().map(|f| f.problems.status()).unwrap_or(StatusCode::OK);
    let body = layout(
        lang,
        &h.number,
        Some(p),
        html! {
            (members_section(lang, &h))
            (operations(lang, p, &h, failed.as_ref()))
            section.card {
                h2 { (lang.t("Lịch sử thay đổi", "Change history")) }
                (super::history::household(lang, &actors, &h, &history))
            }
        },
    );
    page(lang_choice(uri), status, body)
}

fn members_section(lang: Lang, h: &HouseholdView) -> Markup {
    let (l_id, l_name, l_dob, l_rel) = (
        lang.t("Số định danh", "Personal ID"),
        lang.t("Họ và tên", "Full name"),
        lang.t("Ngày sinh", "Date of birth"),
        lang.t("Quan hệ với chủ hộ", "Relation to head"),
    );
    html! {
        section.card {
            h1 { (lang.t("Hộ gia đình", "Household")) " " span data-testid="household-number" { (h.number) } }
            p.muted { (display::commune(&h.scope_commune)) }
            div.table-wrap { table.stack data-testid="members" {
                thead { tr { th { (l_id) } th { (l_name) } th { (l_dob) } th { (l_rel) } } }
                tbody {
                    @for m in &h.members {
                        tr {
                            td data-label=(l_id) { a href=(format!("/citizens/{}", m.personal_id)) { (m.personal_id) } }
                            td data-label=(l_name) { (m.full_name) }
                            td data-label=(l_dob) { (m.birth_date.display_vi()) }
                            td data-label=(l_rel) { (display::relation(lang, m.relation, Some(m.sex))) }
                        }
                    }
                    @if h.members_outside_scope > 0 {
                        tr data-testid="members-outside-scope" {
                            td colspan="4" .muted {
                                (h.members_outside_scope) " "
                                (lang.t("thành viên cư trú ngoài phạm vi quản lý của bạn (không hiển thị, không thay đổi được)",
                                    "member(s) living outside your unit (not shown, cannot be changed)"))
                            }
                        }
                    }
                }
            } }
            p { a.button data-testid="new-birth-link" href=(format!("/citizens/new-birth?household={}", super::urlencode(&h.number))) { (lang.t("Đăng ký khai sinh cho trẻ trong hộ", "Register a newborn in this household")) } }
        }
    }
}

/// The four operations, each its own form; the refused one shows its problems.
fn operations(lang: Lang, p: &Principal, h: &HouseholdView, failed: Option<&Failed>) -> Markup {
    // A read-only role would only be refused (and audited as denied): no forms to offer.
    if !p.role.writes_records() {
        return html! {};
    }
    let empty = (Typed::default(), Problems::default());
    let for_op = |op: &str| match failed {
        Some(f) if f.op == op => (f.typed, f.problems),
        _ => (&empty.0, &empty.1),
    };
    let action = |op: &str| format!("/households/{}/{op}", super::urlencode(&h.number));
    let people: Vec<(String, String)> = h
        .members
        .iter()
        .filter(|m| m.relation != Relation::Head)
        .map(|m| (m.personal_id.to_string(), format!("{} ({})", m.full_name, m.personal_id)))
        .collect();
    let version = h.version.to_string();
    let hidden = html! { (forms::csrf(p)) input type="hidden" name="expected_version" value=(version); };
    html! {
        section.card.household-ops data-testid="household-ops" {
            h2 { (lang.t("Thao tác với hộ", "Household operations")) }
            details open[failed.is_some_and(|f| f.op == "members")] {
                summary data-testid="op-members" { (lang.t("Thêm thành viên", "Add a member")) }
                @let (t, e) = for_op("members");
                (e.summary(lang, &["add_personal_id", "add_relation", "add_reason"]))
                form method="post" action=(action("members")) data-testid="add-member-form" {
                    (hidden)
                    div.grid {
                        (forms::text(lang, t, e, "add_personal_id", lang.t("Số định danh", "Personal ID"), None))
                        (forms::select(lang, t, e, "add_relation", lang.t("Quan hệ với chủ hộ", "Relation to the head"), &forms::relation_options(lang, false)))
                        (forms::reason_named(lang, t, e, "add_reason"))
                    }
                    button #add-submit type="submit" { (lang.t("Thêm vào hộ", "Add to the household")) }
                }
            }
            @if !people.is_empty() {
                details open[failed.is_some_and(|f| f.op == "remove")] {
                    summary data-testid="op-remove" { (lang.t("Xóa thành viên khỏi hộ", "Remove a member")) }
                    @let (t, e) = for_op("remove");
                    (e.summary(lang, &["remove_member", "remove_reason"]))
                    form method="post" action=(action("remove")) data-testid="remove-member-form" {
                        (hidden)
                        div.grid {
                            (forms::select(lang, t, e, "remove_member", lang.t("Thành viên", "Member"), &people))
                            (forms::reason_named(lang, t, e, "remove_reason"))
                        }
                        button #remove-submit type="submit" { (lang.t("Xóa khỏi hộ", "Remove from the household")) }
                    }
                }
                details open[failed.is_some_and(|f| f.op == "head")] {
                    summary data-testid="op-head" { (lang.t("Thay đổi chủ hộ", "Change the head")) }
                    @let (t, e) = for_op("head");
                    (e.summary(lang, &["head_new", "head_old_relation", "head_reason"]))
                    form method="post" action=(action("head")) data-testid="change-head-form" {
                        (hidden)
                        div.grid {
                            (forms::select(lang, t, e, "head_new", lang.t("Chủ hộ mới", "New head"), &people))
                            (forms::select(lang, t, e, "head_old_relation", lang.t("Quan hệ của chủ hộ cũ với chủ hộ mới", "The former head's relation to the new head"), &forms::relation_options(lang, false)))
                            (forms::reason_named(lang, t, e, "head_reason"))
                        }
                        button #head-submit type="submit" { (lang.t("Đổi chủ hộ", "Change the head")) }
                    }
                }
                details open[failed.is_some_and(|f| f.op == "split")] {
                    summary data-testid="op-split" { (lang.t("Tách hộ", "Split the household")) }
                    @let (t, e) = for_op("split");
                    (e.summary(lang, &["split_leave", "split_new_number", "split_new_head", "split_reason"]))
                    form method="post" action=(action("split")) data-testid="split-form" {
                        (hidden)
                        fieldset {
                            legend { (lang.t("Thành viên chuyển sang hộ mới, và quan hệ với chủ hộ mới", "Members who leave for the new household, and their relation to its head")) }
                            @for (id, words) in &people {
                                @let rel = format!("rel_{id}");
                                div.split-member {
                                    label { input type="checkbox" name="leave" value=(id) data-testid=(format!("leave-{id}")) checked[t.0.contains_key(&format!("leave_{id}"))]; " " (words) }
                                    select name=(rel) aria-label=(lang.t("Quan hệ với chủ hộ mới", "Relation to the new head")) {
                                        @for (value, w) in forms::relation_options(lang, false) {
                                            option value=(value) selected[t.get(&rel) == value] { (w) }
                                        }
                                    }
                                }
                            }
                            (e.at(lang, "split_leave"))
                        }
                        div.grid {
                            (forms::text(lang, t, e, "split_new_number", lang.t("Số hộ mới", "New household number"), None))
                            (forms::select(lang, t, e, "split_new_head", lang.t("Chủ hộ mới", "Head of the new household"), &people))
                            (forms::reason_named(lang, t, e, "split_reason"))
                        }
                        button #split-submit type="submit" { (lang.t("Tách hộ", "Split")) }
                    }
                }
            }
        }
    }
}

/// The submitted form: single values by name; each member ticked to leave as `leave_<id>`.
fn typed(pairs: Vec<(String, String)>) -> Typed {
    let mut t = Typed::default();
    for (k, v) in pairs {
        if k == "leave" {
            t.set(&format!("leave_{v}"), "on");
        } else {
            t.set(&k, v);
        }
    }
    t
}

/// Names a violation after the field of the operation's form that shows it.
fn at_form(op: &str, mut p: Problems) -> Problems {
    for v in &mut p.violations {
        let field = match (op, v.field.as_str()) {
            (_, "reason") => "reason",
            ("members", "members" | "personal_id") => "personal_id",
            ("members", "relation") => "relation",
            ("split", "leaving") => "leave",
            ("split", "new_number" | "household_no") => "new_number",
            ("split", "new_head") => "new_head",
            _ => continue,
        };
        let prefix = if op == "members" { "add" } else { op };
        v.field = format!("{prefix}_{field}");
    }
    p
}

/// Runs one operation: the member list or split it asks for, from the version shown.
async fn apply(s: &AppState, p: &Principal, number: &str, op: &str, t: &Typed) -> Result<(), ApiError> {
    p.check_csrf(t.get("csrf"))?;
    let prefix = if op == "members" { "add" } else { op };
    let reason = require_reason(t.get(&format!("{prefix}_reason")))?;
    let expected: i64 = t.get("expected_version").parse().map_err(|_| {
        Violation::new(
            "expected_version",
            "version.required",
            "Thiếu phiên bản của hộ; hãy mở lại trang",
            "the household version is missing; open the page again",
        )
    })?;
    let access = p.access(WRITE_PURPOSE);
    let h = s.registry.household(&access, number).await?;
    let mut members: Vec<Member> =
        h.members.iter().map(|m| Member { personal_id: m.personal_id, relation: m.relation }).collect();
    let id = |field: &str| -> Result<PersonalId, ApiError> {
        t.get(field).trim().parse::<PersonalId>().map_err(|v| ApiError::invalid(vec![v.at(field)]))
    };
    let relation = |field: &str| forms::relation(t, field).map_err(|v| ApiError::invalid(vec![v]));
    match op {
        "members" => {
            members.push(Member { personal_id: id("add_personal_id")?, relation: relation("add_relation")? })
        }
        "remove" => {
            let gone = id("remove_member")?;
            if !members.iter().any(|m| m.personal_id == gone) {
                return Err(Violation::new(
                    "remove_member",
                    "household.member_unknown",
                    "Người này không phải thành viên của hộ",
                    "this person is not a member of the household",
                )
                .into());
            }
            members.retain(|m| m.personal_id != gone);
        }
        "head" => {
            let (new, old_rel) = (id("head_new")?, relation("head_old_relation")?);
            for m in &mut members {
                if m.personal_id == new {
                    m.relation = Relation::Head;
                } else if m.relation == Relation::Head {
                    m.relation = old_rel;
                }
            }
        }
        _ => return split(s, p, &h, t, expected, &reason).await,
    }
    let hh = Household { number: h.number.clone(), members };
    s.registry.update_household(&access, &hh, Some(expected), &reason).await?;
    Ok(())
}

async fn split(
    s: &AppState,
    p: &Principal,
    h: &HouseholdView,
    t: &Typed,
    expected: i64,
    reason: &str,
) -> Result<(), ApiError> {
    let head: Option<PersonalId> = t.opt("split_new_head").and_then(|v| v.parse().ok());
    let mut leaving = Vec::new();
    for m in &h.members {
        if t.0.contains_key(&format!("leave_{}", m.personal_id)) {
            let relation = if Some(m.personal_id) == head {
                Relation::Head
            } else {
                let field = format!("rel_{}", m.personal_id);
                forms::relation(t, &field).map_err(|v| ApiError::invalid(vec![v.at("split_leave")]))?
            };
            leaving.push(Member { personal_id: m.personal_id, relation });
        }
    }
    if !leaving.iter().any(|m| m.relation == Relation::Head) && !leaving.is_empty() {
        return Err(Violation::new(
            "split_new_head",
            "household.head_count",
            "Chủ hộ mới phải là một trong các thành viên tách đi",
            "the new head must be one of the members who leave",
        )
        .into());
    }
    let sp = Split {
        number: h.number.clone(),
        expected_version: expected,
        new_number: t.get("split_new_number").trim().to_string(),
        leaving,
    };
    s.registry.split_household(&p.access(WRITE_PURPOSE), &sp, reason).await?;
    Ok(())
}

pub async fn op_submit(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path((number, op)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    if !["members", "remove", "head", "split"].contains(&op.as_str()) {
        return error_page(lang, Some(&p), ApiError::not_found());
    }
    let t = typed(pairs);
    match apply(&s, &p, &number, &op, &t).await {
        Ok(()) if op == "split" => {
            Redirect::to(&format!("/households/{}", super::urlencode(t.get("split_new_number").trim())))
                .into_response()
        }
        Ok(()) => Redirect::to(&format!("/households/{}", super::urlencode(&number))).into_response(),
        Err(e) if e.code == "csrf" || e.status == StatusCode::NOT_FOUND => error_page(lang, Some(&p), e),
        Err(e) => {
            let problems = at_form(&op, Problems::from_error(e));
            render(&s, lang, &uri, &p, &number, Some(Failed { op: &op, typed: &t, problems: &problems }))
                .await
        }
    }
}
