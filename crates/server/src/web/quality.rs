//! Data-quality pages: the rules with their counts in the officer's scope and the latest
//! run (with a button to run again for national and province officers), and each rule's
//! worklist with its counts per run and a "cannot fix" form.

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use dancu_store::quality::{self, Counts, Finding, Rule, SubjectKind};
use dancu_store::Scope;

use super::display::{self, Actors};
use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, urlencode, Lang, WebUser};
use crate::api::citizens::require_reason;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

const PAGE: u32 = 50;

/// Whether the officer may start a run: national and province officers (a run covers the
/// whole registry; the registry refuses commune officers too).
fn may_run(p: &Principal) -> bool {
    !matches!(p.scope, Scope::Commune(_))
}

fn rule_name(lang: Lang, r: &Rule) -> &'static str {
    lang.t(r.name_vi, r.name_en)
}

/// A finding's detail in words: each code of the detail translated.
fn detail_text(lang: Lang, detail: &str) -> String {
    const WORDS: [(&str, &str, &str); 12] = [
        ("household_address", "không ở nơi thường trú của hộ", "not at the household's permanent residence"),
        (
            "two_permanent",
            "hơn một nơi thường trú đang có hiệu lực",
            "more than one current permanent residence",
        ),
        ("deceased_resident", "người đã chết còn nơi cư trú", "deceased, still registered as resident"),
        ("birth_place", "nơi đăng ký khai sinh", "birth registration place"),
        ("hometown", "quê quán", "home town"),
        ("ethnicity", "dân tộc", "ethnicity"),
        ("nationality", "quốc tịch", "nationality"),
        ("residence", "nơi cư trú", "residence"),
        ("card", "thẻ căn cước còn hiệu lực", "valid ID card"),
        ("eid", "tài khoản định danh chưa khóa", "eID account not locked"),
        ("id.year_mismatch", "năm sinh không khớp số định danh", "birth year disagrees with the ID"),
        ("id.sex_mismatch", "giới tính không khớp số định danh", "sex disagrees with the ID"),
    ];
    match detail.split_once(' ') {
        Some(("expiry", day)) => {
            format!("{} {}", lang.t("hết hạn ngày", "expired on"), display::stored_date(day))
        }
        Some(("members", n)) => format!("{}: {n}", lang.t("số thành viên", "members")),
        _ => detail
            .split(' ')
            .map(|w| WORDS.iter().find(|x| x.0 == w).map_or(lang.t("khác", "other"), |x| lang.t(x.1, x.2)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn counts_cells(lang: Lang, c: &Counts) -> Markup {
    let [f, x, e, r] = count_labels(lang);
    html! { td data-label=(f) { (c.found) } td data-label=(x) { (c.fixed) } td data-label=(e) { (c.failed) } td data-label=(r) { (c.remaining) } }
}

fn count_labels(lang: Lang) -> [&'static str; 4] {
    [
        lang.t("Phát hiện mới", "Found"),
        lang.t("Đã khắc phục", "Fixed"),
        lang.t("Không khắc phục được", "Failed"),
        lang.t("Còn lại", "Remaining"),
    ]
}

fn counts_head(lang: Lang) -> Markup {
    html! { @for l in count_labels(lang) { th { (l) } } }
}

pub async fn summary_page(State(s): State<AppState>, lang: Lang, uri: Uri, WebUser(p): WebUser) -> Response {
    let access = p.access(WEB_PURPOSE);
    let r = &s.registry;
    let (summary, latest, dups) = match tokio::try_join!(
        r.quality_summary(&access),
        r.quality_latest_run(),
        r.dedup_counts(&access, None)
    ) {
        Ok(v) => v,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let actors = Actors::load(&s.accounts, latest.iter().map(|r| r.by.as_str())).await;
    let [l_found, l_fixed, l_failed, l_rem] = count_labels(lang);
    let l_rule = lang.t("Quy tắc", "Rule");
    let body = layout(
        lang,
        lang.t("Chất lượng dữ liệu", "Data quality"),
        Some(&p),
        html! {
            section.card {
                h1 { (lang.t("Làm sạch dữ liệu", "Data cleaning")) }
                p data-testid="latest-run" {
                    @match &latest {
                        Some(run) => { (lang.t("Lần kiểm tra gần nhất", "Latest run")) ": " (display::time(&run.at)) " · " (actors.name(lang, &run.by)) }
                        None => { (lang.t("Chưa có lần kiểm tra nào.", "No run yet.")) }
                    }
                }
                @if may_run(&p) {
                    form method="post" action="/quality/runs" {
                        input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
                        button #run type="submit" { (lang.t("Kiểm tra lại toàn bộ dữ liệu", "Run all rules now")) }
                    }
                }
                p.muted { (lang.t("Phạm vi", "Scope")) ": " (display::scope(lang, &p.scope)) ". "
                    (lang.t("“Phát hiện mới” và “Đã khắc phục” so với lần kiểm tra trước; “Còn lại” không tính các lỗi đã ghi không khắc phục được.",
                            "“Found” and “Fixed” compare with the previous run; “Remaining” leaves out findings marked as impossible to fix.")) }
                div.table-wrap { table.stack data-testid="quality-summary" {
                    thead { tr { th { (l_rule) } (counts_head(lang)) } }
                    tbody {
                        @for (rule, c) in &summary {
                            tr data-rule=(rule.code) {
                                td data-label=(l_rule) { a href=(format!("/quality/{}", rule.code)) { (rule_name(lang, rule)) } }
                                (counts_cells(lang, c))
                            }
                        }
                        // Duplicates are decided on their own worklist (merge / reject).
                        tr data-rule="duplicates" {
                            td data-label=(l_rule) { a href="/dedup" data-testid="quality-dedup-link" { (lang.t("Hồ sơ nghi trùng lặp", "Probable duplicate records")) } }
                            td data-label=(l_found) { (dups.iter().map(|c| c.found).sum::<u64>()) }
                            td data-label=(l_fixed) { (dups.iter().map(|c| c.merged).sum::<u64>()) }
                            td data-label=(l_failed) { (dups.iter().map(|c| c.rejected).sum::<u64>()) }
                            td data-label=(l_rem) data-testid="quality-dedup-remaining" { (dups.iter().map(|c| c.remaining).sum::<u64>()) }
                        }
                    }
                } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

pub async fn run_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Form(f): Form<super::CsrfForm>,
) -> Response {
    let run = async {
        p.check_csrf(&f.csrf)?;
        let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
        Ok::<_, ApiError>(s.registry.quality_run(&p.access(WEB_PURPOSE), today).await?)
    };
    match run.await {
        Ok(_) => Redirect::to("/quality").into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

#[derive(Deserialize)]
pub struct ListParams {
    marked: Option<String>,
    offset: Option<u64>,
}

fn subject_link(rule: &Rule, f: &Finding) -> Markup {
    let href = match rule.subject {
        SubjectKind::Citizen => format!("/citizens/{}", f.subject),
        SubjectKind::Household => format!("/households/{}", urlencode(&f.subject)),
    };
    html! { a href=(href) { (f.subject) } }
}

fn mark_form(lang: Lang, p: &Principal, rule: &Rule, f: &Finding) -> Markup {
    html! {
        form.inline method="post" action=(format!("/quality/{}/marks", rule.code)) {
            input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
            input type="hidden" name="subject" value=(f.subject);
            @if f.mark.is_some() {
                input type="hidden" name="action" value="unmark";
                button type="submit" { (lang.t("Mở lại", "Reopen")) }
            } @else {
                input type="text" name="reason" required placeholder=(lang.t("Lý do không khắc phục được", "Why it cannot be fixed")) aria-label=(lang.t("Lý do", "Reason"));
                button type="submit" { (lang.t("Không khắc phục được", "Cannot fix")) }
            }
        }
    }
}

pub async fn worklist_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(code): Path<String>,
    Query(q): Query<ListParams>,
) -> Response {
    let Some(rule) = quality::rule(&code) else {
        return error_page(lang, Some(&p), ApiError::not_found());
    };
    let access = p.access(WEB_PURPOSE);
    let marked = q.marked.as_deref() == Some("1");
    let offset = q.offset.unwrap_or(0);
    let r = &s.registry;
    if let Some(f) = super::export::Format::of(&uri) {
        let all = super::export::all_pages(|l, o| r.quality_worklist(&access, rule.code, marked, l, o));
        let sheet = |items: Vec<_>| {
            super::export::worklist_sheet(lang, rule_name(lang, rule), &items, |d| detail_text(lang, d))
        };
        return match all.await {
            Ok(items) => super::export::respond(f, &sheet(items)),
            Err(e) => error_page(lang, Some(&p), e),
        };
    }
    let (list, history) = match tokio::try_join!(
        r.quality_worklist(&access, rule.code, marked, PAGE, offset),
        r.quality_history(&access, rule.code, 12)
    ) {
        Ok(v) => v,
        Err(e) => return error_page(lang, Some(&p), e.into()),
    };
    let base = format!("/quality/{}?marked={}", rule.code, if marked { "1" } else { "0" });
    let actors =
        Actors::load(&s.accounts, list.items.iter().filter_map(|f| f.mark.as_ref().map(|m| m.by.as_str())))
            .await;
    let l_subject = match rule.subject {
        SubjectKind::Citizen => lang.t("Số định danh", "Personal ID"),
        SubjectKind::Household => lang.t("Số hộ", "Household"),
    };
    let (l_name, l_commune, l_why, l_when) = (
        lang.t("Họ và tên", "Full name"),
        lang.t("Xã", "Commune"),
        lang.t("Lý do", "Reason"),
        lang.t("Thời gian", "When"),
    );
    let body = layout(
        lang,
        rule_name(lang, rule),
        Some(&p),
        html! {
            section.card {
                p { a href="/quality" { (lang.t("← Chất lượng dữ liệu", "← Data quality")) } }
                h1 { (rule_name(lang, rule)) }
                p.muted { (display::without_codes(lang.t(rule.description_vi, rule.description_en))) }
                nav.tabs {
                    a href=(format!("/quality/{}", rule.code)) data-testid="tab-open" { (lang.t("Cần xử lý", "To fix")) }
                    " "
                    a href=(format!("/quality/{}?marked=1", rule.code)) data-testid="tab-marked" { (lang.t("Không khắc phục được", "Cannot fix")) }
                }
                h2 { @if marked { (lang.t("Không khắc phục được", "Cannot fix")) } @else { (lang.t("Cần xử lý", "To fix")) } " (" span data-testid="worklist-total" { (list.total) } ")" }
                (super::export::links(lang, &uri))
                div.table-wrap { table.stack data-testid="worklist" {
                    thead { tr {
                        th { (l_subject) } th { (l_name) } th { (l_commune) } th { (l_why) } th {}
                    } }
                    tbody {
                        @for f in &list.items {
                            tr data-subject=(f.subject) {
                                td data-label=(l_subject) { (subject_link(rule, f)) }
                                td data-label=(l_name) { (f.full_name.clone().unwrap_or_default()) }
                                td data-label=(l_commune) { (display::commune_short(&f.scope_commune)) }
                                td data-label=(l_why) { (detail_text(lang, &f.detail))
                                    @if let Some(m) = &f.mark { br; span.muted { (m.reason) " — " (actors.name(lang, &m.by)) ", " (display::time(&m.at)) } } }
                                td { (mark_form(lang, &p, rule, f)) }
                            }
                        }
                    }
                } }
                div.pager {
                    @if offset > 0 { a href=(format!("{base}&offset={}", offset.saturating_sub(PAGE.into()))) { (lang.t("← Trước", "← Previous")) } }
                    @if offset + u64::from(PAGE) < list.total { a href=(format!("{base}&offset={}", offset + u64::from(PAGE))) { (lang.t("Sau →", "Next →")) } }
                }
            }
            section.card {
                h2 { (lang.t("Theo từng lần kiểm tra", "Per run")) }
                div.table-wrap { table.stack data-testid="quality-history" {
                    thead { tr { th { (l_when) } (counts_head(lang)) } }
                    tbody { @for h in &history { tr { td data-label=(l_when) { (display::time(&h.at)) } (counts_cells(lang, &h.counts)) } } }
                } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

#[derive(Deserialize)]
pub struct MarkForm {
    csrf: String,
    subject: String,
    #[serde(default)]
    reason: String,
    action: Option<String>,
}

pub async fn mark_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(code): Path<String>,
    Form(f): Form<MarkForm>,
) -> Response {
    let run = async {
        p.check_csrf(&f.csrf)?;
        let reason = match f.action.as_deref() {
            Some("unmark") => None,
            _ => Some(require_reason(&f.reason)?),
        };
        s.registry.quality_mark(&p.access(WEB_PURPOSE), &code, &f.subject, reason.as_deref()).await?;
        Ok::<_, ApiError>(())
    };
    match run.await {
        Ok(()) => Redirect::to(&format!("/quality/{}", urlencode(&code))).into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}
