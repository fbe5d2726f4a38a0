//! Citizen detail (identity, residence, family, household, change history with what each
//! version changed, access log), with links to the edit and address screens.

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
    let CitizenPage { stored, history, cards, accesses, merged_into, residences } =
        match s.registry.citizen_page(&access, &id, 20).await {
            Ok(page) => page,
            Err(e) => return error_page(lang, Some(&p), e.into()),
        };
    let confirmations = match s.registry.confirmations_of(&access, &id).await {
        Ok(list) => list,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let c = &stored.citizen;
    let actors = Actors::load(
        &s.accounts,
        std::iter::once(stored.updated_by.as_str())
            .chain(history.iter().map(|v| v.changed_by.as_str()))
            .chain(accesses.iter().map(|a| a.entry.actor.as_str())),
    )
    .await
    .with_clients(accesses.iter().map(|a| a.entry.actor.as_str()), |id| {
        crate::oidc::bearer::client_name(&s, id)
    })
    .with_partners(&s.registry, accesses.iter().map(|a| a.entry.actor.as_str()))
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
            @if p.role.writes_records() { nav.record-actions data-testid="record-actions" {
                a.button data-testid="edit-link" href=(format!("/citizens/{}/edit", c.personal_id)) { (lang.t("Sửa hồ sơ", "Edit the record")) }
                a.button data-testid="address-link" href=(format!("/citizens/{}/address", c.personal_id)) { (lang.t("Thay đổi nơi cư trú", "Change the address")) }
            } }
            (residence_section(lang, c))
            (super::residence::records_table(lang, &residences))
            @if p.role.writes_records() { nav.record-actions data-testid="residence-actions" {
                @for code in dancu_domain::residence::RESIDENCE_SERVICES {
                    a.button href=(format!("/applications/new/{code}?personal_id={}", c.personal_id)) { (display::service(lang, code)) }
                }
            } }
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
            (super::confirmations::citizen_section(lang, &p, &c.personal_id, &confirmations))
            section.card {
                h2 { (lang.t("Lịch sử thay đổi", "Change history")) }
                (super::history::citizen(lang, &actors, &stored, &history))
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
