//! Citizen detail (identity, residence, family, household, change history, access log)
//! and the household page.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::{html, Markup};

use dancu_domain::{catalog, Address, PersonalId};

use dancu_store::registry::CitizenPage;

use super::display::{self, Actors};
use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, Lang, WebUser};
use crate::error::ApiError;
use crate::AppState;

fn address(lang: Lang, a: &Option<Address>) -> Markup {
    match a {
        None => html! { span.muted { (lang.t("Không có", "None")) } },
        Some(a) => html! {
            @if !a.detail.is_empty() { (a.detail) ", " }
            (display::unit(lang, &a.unit))
            @if let Ok(now) = a.unit.to_2025() {
                @if now != a.unit { br; span.muted { (lang.t("Nay là: ", "Now: ")) (display::unit(lang, &now)) } }
            }
        },
    }
}

fn person_link(id: &Option<PersonalId>, name: &str) -> Markup {
    html! {
        @if let Some(id) = id { a href=(format!("/citizens/{id}")) { (if name.is_empty() { id.to_string() } else { name.to_string() }) } " (" (id) ")" }
        @else if !name.is_empty() { (name) }
        @else { "—" }
    }
}

pub async fn citizen_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
) -> Response {
    let id: PersonalId = match id.parse() {
        Ok(id) => id,
        Err(v) => return error_page(lang, Some(&p), ApiError::invalid(vec![v])),
    };
    let access = p.access(WEB_PURPOSE);
    // One audited read for the whole page (record, history, cards, access log).
    let CitizenPage { stored, history, cards, accesses, merged_into } =
        match s.registry.citizen_page(&access, &id, 20).await {
            Ok(page) => page,
            Err(e) => return error_page(lang, Some(&p), e.into()),
        };
    let c = &stored.citizen;
    let actors = Actors::load(
        &s.accounts,
        std::iter::once(stored.updated_by.as_str())
            .chain(history.iter().map(|v| v.changed_by.as_str()))
            .chain(accesses.iter().map(|a| a.entry.actor.as_str())),
    )
    .await;
    let body = layout(
        lang,
        &c.name.full(),
        Some(&p),
        html! {
            @if let Some(k) = merged_into {
                section.card.error data-testid="merged-into" {
                    (lang.t("Hồ sơ này đã được gộp vào ", "This record was merged into "))
                    a href=(format!("/citizens/{k}")) { (k) }
                }
            }
            (identity_section(lang, c))
            (residence_section(lang, c))
            section.card {
                h2 { (lang.t("Gia đình và hộ", "Family and household")) }
                dl {
                    dt { (lang.t("Cha", "Father")) } dd { (person_link(&c.father_id, &c.father_name)) }
                    dt { (lang.t("Mẹ", "Mother")) } dd { (person_link(&c.mother_id, &c.mother_name)) }
                    dt { (lang.t("Vợ/chồng", "Spouse")) } dd { (person_link(&c.spouse_id, "")) }
                    dt { (lang.t("Hộ gia đình", "Household")) } dd {
                        @if let Some(h) = &stored.household_no {
                            a data-testid="household-link" href=(format!("/households/{h}")) { (h) }
                            @if let Some(r) = stored.relation { " — " (display::relation(lang, r, Some(c.sex))) }
                        } @else { "—" }
                    }
                }
            }
            (super::cards::citizen_section(lang, &p, c.personal_id.as_str(), &cards))
            section.card {
                h2 { (lang.t("Lịch sử thay đổi", "Change history")) }
                @let (l_ver, l_when, l_by, l_why) = (lang.t("Phiên bản", "Version"), lang.t("Thời gian", "When"), lang.t("Người thực hiện", "By"), lang.t("Lý do", "Reason"));
                div.table-wrap { table.stack data-testid="history" {
                    thead { tr { th { (l_ver) } th { (l_when) } th { (l_by) } th { (l_why) } } }
                    tbody {
                        tr { td data-label=(l_ver) { (stored.version) " (" (lang.t("hiện tại", "current")) ")" } td data-label=(l_when) { (display::time(&stored.updated_at)) } td data-label=(l_by) { (actors.name(lang, &stored.updated_by)) } td data-label=(l_why) { (stored.change_reason) } }
                        @for v in &history {
                            tr { td data-label=(l_ver) { (v.version) } td data-label=(l_when) { (display::time(&v.changed_at)) } td data-label=(l_by) { (actors.name(lang, &v.changed_by)) } td data-label=(l_why) { (v.reason) } }
                        }
                    }
                } }
            }
            (eid_links(lang, &p, c))
            (access_section(lang, &actors, &accesses))
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

/// Identity fields of a record (officer page and citizen portal).
pub(super) fn identity_section(lang: Lang, c: &dancu_domain::Citizen) -> Markup {
    html! {
        section.card {
            h1 data-testid="citizen-name" { (c.name.full()) }
            dl {
                dt { (lang.t("Số định danh cá nhân", "Personal ID")) } dd data-testid="personal-id" { (c.personal_id) }
                dt { (lang.t("Ngày sinh", "Date of birth")) } dd data-testid="birth-date" { (c.birth_date.display_vi()) }
                dt { (lang.t("Giới tính", "Sex")) } dd { (display::sex(lang, c.sex)) }
                dt { (lang.t("Tên gọi khác", "Other names")) } dd { (if c.other_names.is_empty() { "—" } else { &c.other_names }) }
                dt { (lang.t("Dân tộc", "Ethnicity")) } dd { (catalog::ethnicity_name(&c.ethnicity).unwrap_or(&c.ethnicity)) }
                dt { (lang.t("Tôn giáo", "Religion")) } dd { (catalog::religion_name(&c.religion).unwrap_or(&c.religion)) }
                dt { (lang.t("Quốc tịch", "Nationality")) } dd { (display::nationality(lang, &c.nationality)) }
                dt { (lang.t("Nơi đăng ký khai sinh", "Birth registered in")) } dd { (c.birth_place.map(|u| display::unit(lang, &u)).unwrap_or_else(|| "—".into())) }
                dt { (lang.t("Quê quán", "Hometown")) } dd { (c.hometown.map(|u| display::unit(lang, &u)).unwrap_or_else(|| "—".into())) }
                dt { (lang.t("Số CMND cũ", "Old CMND number")) } dd { (c.cmnd.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
                dt { (lang.t("Tình trạng", "Status")) } dd data-testid="status" { (display::life_status(lang, c.status))
                    @if let Some(d) = c.death_date { " (" (d.display_vi()) ")" } }
            }
        }
    }
}

/// Residence of a record (officer page and citizen portal).
pub(super) fn residence_section(lang: Lang, c: &dancu_domain::Citizen) -> Markup {
    html! {
        section.card {
            h2 { (lang.t("Cư trú", "Residence")) }
            dl {
                dt { (lang.t("Nơi thường trú", "Permanent residence")) } dd data-testid="permanent" { (address(lang, &c.permanent)) }
                dt { (lang.t("Nơi tạm trú", "Temporary residence")) } dd { (address(lang, &c.temporary)) }
                dt { (lang.t("Nơi ở hiện tại", "Current residence")) } dd { (address(lang, &c.current)) }
            }
        }
    }
}

/// The audit entries about a record: who read or changed it, why and when.
pub(super) fn access_section(lang: Lang, actors: &Actors, accesses: &[dancu_store::AuditEntry]) -> Markup {
    let (l_when, l_who, l_what, l_why) = (
        lang.t("Thời gian", "When"),
        lang.t("Người truy cập", "Who"),
        lang.t("Thao tác", "Action"),
        lang.t("Mục đích", "Purpose"),
    );
    html! {
        section.card {
            h2 { (lang.t("Nhật ký truy cập hồ sơ", "Who accessed this record")) }
            div.table-wrap { table.stack data-testid="access-log" {
                thead { tr { th { (l_when) } th { (l_who) } th { (l_what) } th { (l_why) } } }
                tbody {
                    @for a in accesses {
                        tr {
                            td data-label=(l_when) { (display::time_s(&a.entry.at)) }
                            td data-label=(l_who) { (actors.name(lang, &a.entry.actor)) }
                            td data-label=(l_what) { (display::action(lang, &a.entry.action)) }
                            td data-label=(l_why) { (display::purpose(lang, &a.entry.purpose)) }
                        }
                    }
                }
            } }
        }
    }
}

/// Links to the electronic identity account and the old-CMND confirmation service.
fn eid_links(lang: Lang, p: &crate::auth::Principal, c: &dancu_domain::Citizen) -> Markup {
    html! {
        section.card {
            h2 { (lang.t("Định danh điện tử và xác nhận", "Electronic identity and confirmations")) }
            p { a data-testid="eid-link" href=(format!("/eid/accounts/{}", c.personal_id)) { (lang.t("Tài khoản định danh điện tử", "Electronic identity account")) } }
            @if c.cmnd.is_some() {
                form method="post" action=(format!("/citizens/{}/cmnd-confirmation", c.personal_id)) {
                    input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
                    button type="submit" data-testid="cmnd-confirm" { (lang.t("Cấp giấy xác nhận số CMND cũ", "Issue old-CMND confirmation")) }
                }
            }
        }
    }
}

pub async fn household_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(number): Path<String>,
) -> Response {
    let access = p.access(WEB_PURPOSE);
    let h = match s.registry.household(&access, &number).await {
        Ok(h) => h,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let history = s.registry.household_history(&access, &number).await.unwrap_or_default();
    let actors = Actors::load(
        &s.accounts,
        std::iter::once(h.updated_by.as_str()).chain(history.iter().map(|v| v.changed_by.as_str())),
    )
    .await;
    let (l_id, l_name, l_dob, l_rel) = (
        lang.t("Số định danh", "Personal ID"),
        lang.t("Họ và tên", "Full name"),
        lang.t("Ngày sinh", "Date of birth"),
        lang.t("Quan hệ với chủ hộ", "Relation to head"),
    );
    let body = layout(
        lang,
        &h.number,
        Some(&p),
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
                                    (lang.t("thành viên cư trú ngoài phạm vi quản lý của bạn (không hiển thị)",
                                        "member(s) living outside your unit (not shown)"))
                                }
                            }
                        }
                    }
                } }
            }
            section.card {
                h2 { (lang.t("Lịch sử thay đổi", "Change history")) }
                p { (lang.t("Phiên bản hiện tại", "Current version")) ": " (h.version) " — " (actors.name(lang, &h.updated_by)) ", " (display::time(&h.updated_at)) }
                ul { @for v in &history { li { (v.version) ": " (actors.name(lang, &v.changed_by)) ", " (display::time(&v.changed_at)) " — " (v.reason) " (" (v.members.len()) " " (lang.t("thành viên", "members")) ")" } } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}
