//! Citizen detail (identity, residence, family, household, change history, access log)
//! and the household page.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use maud::{html, Markup};

use dancu_domain::{catalog, Address, PersonalId, UnitRef};

use dancu_store::registry::CitizenPage;

use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, Lang, WebUser};
use crate::error::ApiError;
use crate::AppState;

fn unit_text(u: &UnitRef) -> String {
    format!("{} ({})", u.describe(), u)
}

fn address(lang: Lang, a: &Option<Address>) -> Markup {
    match a {
        None => html! { span.muted { (lang.t("Không có", "None")) } },
        Some(a) => html! {
            @if !a.detail.is_empty() { (a.detail) ", " }
            (unit_text(&a.unit))
            @if let Ok(now) = a.unit.to_2025() {
                @if now != a.unit { br; span.muted { (lang.t("Nay là: ", "Now: ")) (unit_text(&now)) } }
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
                            @if let Some(r) = stored.relation { " — " (r.label_vi()) }
                        } @else { "—" }
                    }
                }
            }
            (super::cards::citizen_section(lang, &p, c.personal_id.as_str(), &cards))
            section.card {
                h2 { (lang.t("Lịch sử thay đổi", "Change history")) }
                div.table-wrap { table data-testid="history" {
                    thead { tr { th { (lang.t("Phiên bản", "Version")) } th { (lang.t("Thời gian", "When")) } th { (lang.t("Người thực hiện", "By")) } th { (lang.t("Lý do", "Reason")) } } }
                    tbody {
                        tr { td { (stored.version) " (" (lang.t("hiện tại", "current")) ")" } td { (stored.updated_at.format("%d/%m/%Y %H:%M")) } td { (stored.updated_by) } td { (stored.change_reason) } }
                        @for v in &history {
                            tr { td { (v.version) } td { (v.changed_at.format("%d/%m/%Y %H:%M")) } td { (v.changed_by) } td { (v.reason) } }
                        }
                    }
                } }
            }
            (eid_links(lang, &p, c))
            (access_section(lang, &accesses))
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
                dt { (lang.t("Giới tính", "Sex")) } dd { (match lang { Lang::Vi => c.sex.label_vi(), Lang::En => c.sex.label_en() }) }
                dt { (lang.t("Tên gọi khác", "Other names")) } dd { (if c.other_names.is_empty() { "—" } else { &c.other_names }) }
                dt { (lang.t("Dân tộc", "Ethnicity")) } dd { (catalog::ethnicity_name(&c.ethnicity).unwrap_or(&c.ethnicity)) }
                dt { (lang.t("Tôn giáo", "Religion")) } dd { (catalog::religion_name(&c.religion).unwrap_or(&c.religion)) }
                dt { (lang.t("Quốc tịch", "Nationality")) } dd { (c.nationality) }
                dt { (lang.t("Nơi đăng ký khai sinh", "Birth registered in")) } dd { (c.birth_place.map(|u| unit_text(&u)).unwrap_or_else(|| "—".into())) }
                dt { (lang.t("Quê quán", "Hometown")) } dd { (c.hometown.map(|u| unit_text(&u)).unwrap_or_else(|| "—".into())) }
                dt { (lang.t("Số CMND cũ", "Old CMND number")) } dd { (c.cmnd.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
                dt { (lang.t("Tình trạng", "Status")) } dd data-testid="status" { (c.status.label_vi())
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
pub(super) fn access_section(lang: Lang, accesses: &[dancu_store::AuditEntry]) -> Markup {
    html! {
        section.card {
            h2 { (lang.t("Nhật ký truy cập hồ sơ", "Who accessed this record")) }
            div.table-wrap { table data-testid="access-log" {
                thead { tr { th { (lang.t("Thời gian", "When")) } th { (lang.t("Người truy cập", "Who")) } th { (lang.t("Thao tác", "Action")) } th { (lang.t("Mục đích", "Purpose")) } } }
                tbody {
                    @for a in accesses {
                        tr { td { (a.entry.at.format("%d/%m/%Y %H:%M:%S")) } td { (a.entry.actor) } td { (a.entry.action) } td { (a.entry.purpose) } }
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
    let body = layout(
        lang,
        &h.number,
        Some(&p),
        html! {
            section.card {
                h1 { (lang.t("Hộ gia đình", "Household")) " " span data-testid="household-number" { (h.number) } }
                p.muted { (dancu_domain::admin_units().commune_2025(&h.scope_commune).map(|c| format!("{}, {}", c.name, c.province_name)).unwrap_or_default()) }
                div.table-wrap { table data-testid="members" {
                    thead { tr { th { (lang.t("Số định danh", "Personal ID")) } th { (lang.t("Họ và tên", "Full name")) } th { (lang.t("Ngày sinh", "Date of birth")) } th { (lang.t("Quan hệ với chủ hộ", "Relation to head")) } } }
                    tbody {
                        @for m in &h.members {
                            tr {
                                td { a href=(format!("/citizens/{}", m.personal_id)) { (m.personal_id) } }
                                td { (m.full_name) }
                                td { (m.birth_date.display_vi()) }
                                td { (m.relation.label_vi()) }
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
                p { (lang.t("Phiên bản hiện tại", "Current version")) ": " (h.version) " — " (h.updated_by) ", " (h.updated_at.format("%d/%m/%Y %H:%M")) }
                ul { @for v in &history { li { (v.version) ": " (v.changed_by) ", " (v.changed_at.format("%d/%m/%Y %H:%M")) " — " (v.reason) " (" (v.members.len()) " " (lang.t("thành viên", "members")) ")" } } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}
