//! The duplicate worklist (`/dedup`): candidate pairs the matching engine found in the
//! officer's scope, each with the evidence per field; merge (choosing the record to keep) or
//! reject with a reason; counts per commune (found / merged / rejected / remaining);
//! administrators can undo a merge.

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use std::collections::HashMap;

use dancu_domain::{PersonalId, Violation};
use dancu_store::dedup::{PairSide, PairView};
use dancu_store::{Role, StoredCitizen};

use super::compare::{self, Row, Side};
use super::display::{self, Actors};
use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, Lang, WebUser};
use crate::api::citizens::{parse_id, require_reason};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

const STATUSES: [&str; 3] = ["open", "merged", "rejected"];

#[derive(Deserialize)]
pub struct ListParams {
    status: Option<String>,
    offset: Option<u64>,
    /// `DD/MM/YYYY`: count found / merged / rejected from that day (Vietnam time).
    since: Option<String>,
}

/// One record of a pair: a link to it, or "outside your unit" when masked.
fn side(lang: Lang, s: Option<&PairSide>) -> Markup {
    html! {
        @match s {
            Some(s) => { a href=(format!("/citizens/{}", s.personal_id)) { (s.name) } " (" (s.personal_id) ", " (display::commune_short(&s.commune)) ")" }
            None => { span.muted data-testid="masked-side" { (lang.t("hồ sơ ngoài địa bàn của bạn", "a record outside your unit")) } }
        }
    }
}

/// The two records of a pair the caller covers, field by field, the differences marked.
fn records_side_by_side(lang: Lang, c: &PairView, records: &HashMap<PersonalId, StoredCitizen>) -> Markup {
    let (Some(l), Some(r)) = (c.left.as_ref(), c.right.as_ref()) else { return html! {} };
    let (Some(lr), Some(rr)) = (records.get(&l.personal_id), records.get(&r.personal_id)) else {
        return html! {};
    };
    let household = |s: &StoredCitizen| match (&s.household_no, s.relation) {
        (Some(h), Some(rel)) => format!("{h} — {}", display::relation(lang, rel, Some(s.citizen.sex))),
        (Some(h), None) => h.clone(),
        _ => String::new(),
    };
    let mut rows: Vec<Row> = super::history::fields(lang, &lr.citizen)
        .into_iter()
        .zip(super::history::fields(lang, &rr.citizen))
        .filter(|((_, a), (_, b))| !a.is_empty() || !b.is_empty())
        .map(|((label, a), (_, b))| Row::both(label, a, b))
        .collect();
    rows.push(Row::both(lang.t("Hộ gia đình", "Household"), household(lr), household(rr)));
    let side = |n: u8, s: &PairSide| Side {
        label: format!("{} {n}", lang.t("Hồ sơ", "Record")),
        head: html! { a href=(format!("/citizens/{}", s.personal_id)) { (s.name) } br; span.muted { (s.personal_id) } },
    };
    compare::table(lang, "pair-records", &side(1, l), &side(2, r), &rows)
}

fn pair_card(
    lang: Lang,
    p: &Principal,
    actors: &Actors,
    c: &PairView,
    records: &HashMap<PersonalId, StoredCitizen>,
) -> Markup {
    let csrf = p.csrf.clone().unwrap_or_default();
    html! {
        article.card data-testid="pair" {
            h2 { (side(lang, c.left.as_ref())) " ≈ " (side(lang, c.right.as_ref())) }
            p.muted { (lang.t("Khả năng là cùng một người", "Likelihood of being the same person")) ": " (display::percent(lang, c.probability)) }
            @if !c.decidable {
                p.muted { (lang.t("Cặp này cần cán bộ quản lý cả hai địa bàn quyết định.",
                    "A pair like this is decided by an officer who covers both units.")) }
            }
            @if c.decidable { (records_side_by_side(lang, c, records)) }
            @let (l_f, l_l, l_w) = (lang.t("Thông tin", "Field"), lang.t("So sánh", "Comparison"), lang.t("Ý nghĩa", "Meaning"));
            @if c.decidable { details.evidence {
                summary { (lang.t("Căn cứ so khớp của công cụ", "The matching engine's evidence")) }
                div.table-wrap { table.stack data-testid="evidence" {
                    thead { tr { th { (l_f) } th { (l_l) } th { (l_w) } } }
                    tbody { @for e in &c.evidence {
                        tr { td data-label=(l_f) { (display::match_field(lang, &e.field)) } td data-label=(l_l) { (display::match_level(lang, &e.level)) } td data-label=(l_w) { (display::weight_words(lang, e.weight)) } }
                    } }
                } }
            } }
            // Only the decisions this pair's state allows, to those who may take them.
            @match c.status.as_str() {
                "open" if c.decidable && p.role.writes_records() => {
                    div.grid {
                        @for keep in c.sides().map(|s| &s.personal_id) {
                            form method="post" action=(format!("/dedup/{}/merge", c.id)) {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="keep" value=(keep.to_string());
                                button type="submit" data-testid="merge" { (lang.t("Gộp, giữ ", "Merge, keep ")) (keep) }
                            }
                        }
                        form method="post" action=(format!("/dedup/{}/reject", c.id)) {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="text" name="reason" required placeholder=(lang.t("Lý do: hai người khác nhau", "Reason: two different people"))
                                aria-label=(lang.t("Lý do", "Reason"));
                            button type="submit" data-testid="reject" { (lang.t("Không trùng", "Not the same person")) }
                        }
                    }
                }
                "open" => {}
                status => {
                    p data-testid="pair-decision" { b { (display::dedup_status(lang, status)) }
                        @if let Some(by) = &c.decided_by { " — " (actors.name(lang, by)) }
                        @if let Some(at) = &c.decided_at { ", " (display::time(at)) }
                        @if !c.reason.is_empty() { ": " (c.reason) } }
                    @if status == "merged" && c.decidable && p.role == Role::Admin {
                        form method="post" action=(format!("/dedup/{}/undo", c.id)) {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" data-testid="undo" { (lang.t("Hủy gộp (quản trị)", "Undo the merge (administrator)")) }
                        }
                    }
                }
            }
        }
    }
}

pub async fn list_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Query(q): Query<ListParams>,
) -> Response {
    let access = p.access(WEB_PURPOSE);
    let status = q.status.as_deref().filter(|x| STATUSES.contains(x)).unwrap_or("open");
    let offset = q.offset.unwrap_or(0);
    let since = match q.since.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => match display::parse_day(("since", "Tính từ ngày", "Count from"), t) {
            Ok(d) => Some(d),
            Err(e) => return error_page(lang, Some(&p), e),
        },
    };
    let since_ts = match crate::api::dedup::since_param(since.map(|d| d.to_string()).as_deref()) {
        Ok(t) => t,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    if let Some(f) = super::export::Format::of(&uri) {
        let all = super::export::all_pages(|l, o| s.registry.dedup_list(&access, Some(status), l, o));
        return match all.await {
            Ok(items) => super::export::respond(f, &super::export::pairs_sheet(lang, &items)),
            Err(e) => error_page(lang, Some(&p), e),
        };
    }
    let (counts, (list, records)) = match tokio::try_join!(
        s.registry.dedup_counts(&access, since_ts),
        s.registry.dedup_list_with_records(&access, Some(status), 20, offset)
    ) {
        Ok(r) => r,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let sum = |f: fn(&dancu_store::dedup::DedupCount) -> u64| counts.iter().map(f).sum::<u64>();
    let actors = Actors::load(&s.accounts, list.items.iter().filter_map(|c| c.decided_by.as_deref())).await;
    let (l_c, l_found, l_merged, l_rej, l_rem) = (
        lang.t("Xã", "Commune"),
        lang.t("Phát hiện", "Found"),
        lang.t("Đã gộp", "Merged"),
        lang.t("Không trùng", "Rejected"),
        lang.t("Còn lại", "Remaining"),
    );
    let body = layout(
        lang,
        lang.t("Hồ sơ trùng", "Duplicate records"),
        Some(&p),
        html! {
            section.card {
                h1 { (lang.t("Hồ sơ nghi trùng lặp", "Probable duplicate records")) }
                p.muted { (lang.t("Cặp hồ sơ do công cụ so khớp đề xuất, hai hồ sơ đặt cạnh nhau, thông tin khác nhau được đánh dấu. Gộp chuyển mọi tham chiếu (cha, mẹ, vợ/chồng, hồ sơ và thẻ căn cước, hộ) sang hồ sơ được giữ; hồ sơ bị gộp được giữ lại và đánh dấu.",
                    "Pairs proposed by the matching engine, the two records side by side with the differences marked. A merge moves every reference (parents, spouse, card applications and cards, household) to the kept record; the merged record is kept and marked.")) }
                nav.tabs { @for st in STATUSES { a href=(format!("/dedup?status={st}")) { (display::dedup_status(lang, st)) } } }
                p data-testid="dedup-total" { (list.total) " " (lang.t("cặp", "pairs")) }
                (super::export::links(lang, &uri))
            }
            @for c in &list.items { (pair_card(lang, &p, &actors, c, &records)) }
            div.pager {
                @if offset > 0 { a href=(format!("/dedup?status={status}&offset={}", offset.saturating_sub(20))) { (lang.t("← Trước", "← Previous")) } }
                @if offset + 20 < list.total { a href=(format!("/dedup?status={status}&offset={}", offset + 20)) { (lang.t("Sau →", "Next →")) } }
            }
            section.card data-testid="dedup-statistics" {
                h2 { (lang.t("Thống kê theo xã", "Figures per commune")) }
                div.table-wrap { table.stack data-testid="dedup-counts" {
                    thead { tr { th { (l_c) } th { (l_found) } th { (l_merged) } th { (l_rej) } th { (l_rem) } } }
                    tbody {
                        @for c in &counts {
                            tr { td data-label=(l_c) { (display::commune_short(&c.commune)) } td data-label=(l_found) { (c.found) } td data-label=(l_merged) { (c.merged) } td data-label=(l_rej) { (c.rejected) } td data-label=(l_rem) { (c.remaining) } }
                        }
                        tr { th data-label=(l_c) { (lang.t("Tổng", "Total")) } th data-label=(l_found) data-testid="total-found" { (sum(|c| c.found)) } th data-label=(l_merged) data-testid="total-merged" { (sum(|c| c.merged)) } th data-label=(l_rej) { (sum(|c| c.rejected)) } th data-label=(l_rem) data-testid="total-remaining" { (sum(|c| c.remaining)) } }
                    }
                } }
                form method="get" action="/dedup" {
                    label for="since" { (lang.t("Tính từ ngày (phát hiện / gộp / không trùng)", "Count from (found / merged / rejected)")) }
                    input #since type="text" name="since" value=(since.map(|d| display::day(&d)).unwrap_or_default())
                        inputmode="numeric" placeholder="DD/MM/YYYY" pattern="[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
                        title=(lang.t("ngày/tháng/năm, ví dụ 07/03/2025", "DD/MM/YYYY, for example 07/03/2025"));
                    " " button type="submit" { (lang.t("Xem", "Show")) }
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: String,
    keep: Option<String>,
    #[serde(default)]
    reason: String,
}

/// `POST /dedup/{id}/{merge|reject|undo}`.
pub async fn decide_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path((id, action)): Path<(i64, String)>,
    Form(f): Form<DecideForm>,
) -> Response {
    let run = async {
        p.check_csrf(&f.csrf)?;
        let access = p.access(WEB_PURPOSE);
        match action.as_str() {
            "merge" => {
                let keep = parse_id(f.keep.as_deref().unwrap_or_default())?;
                s.registry.dedup_merge(&access, id, &keep).await?;
            }
            "reject" => {
                let reason = require_reason(&f.reason)?;
                s.registry.dedup_reject(&access, id, &reason).await?;
            }
            "undo" => {
                p.require_admin()?;
                s.registry.dedup_undo(&access, id).await?;
            }
            _ => {
                return Err(ApiError::from(Violation::new(
                    "action",
                    "dedup.action",
                    "Thao tác không hợp lệ",
                    "unknown action",
                )))
            }
        }
        Ok::<_, ApiError>(())
    };
    match run.await {
        Ok(()) => Redirect::to("/dedup").into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}
