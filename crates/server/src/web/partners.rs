//! Partner systems (`/partners`, issue 13): every officer sees the partners, what each may
//! do and the calls they made (per operation, purpose and outcome: the hospital look-up
//! success rate); administrators set entitlements and suspend or resume a partner. The
//! checks are the registry's; this page shows, submits and refuses next to the field.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use dancu_domain::Violation;
use dancu_store::partners::{CallCount, CardField, Operation, Partner};
use dancu_store::webhooks::Webhook;
use dancu_store::{Role, Scope};
use maud::{html, Markup};
use serde::Deserialize;

use super::officers::{scope_fields, scope_of};
use super::{display, error_page, lang_choice, layout, page, Lang, WebUser};
use crate::api::partner::{flush_counts, since_day};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

const PURPOSE: &str = "quản trị đối tác";

#[derive(Deserialize, Default)]
pub struct StatsParams {
    since: Option<String>,
}

pub async fn list_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Query(q): Query<StatsParams>,
) -> Response {
    let hooks = load_hooks(&s, &p).await;
    match load(&s, &p, q.since.as_deref()).await {
        Ok((all, counts, since)) => page(
            lang_choice(&uri),
            StatusCode::OK,
            partners_page(lang, &p, &all, &counts, &since, &Typed::default(), &[], &hooks),
        ),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

async fn load(
    s: &AppState,
    p: &Principal,
    since: Option<&str>,
) -> Result<(Vec<Partner>, Vec<CallCount>, String), ApiError> {
    let access = p.access(PURPOSE);
    let since = since_day(since).map_err(|v| ApiError::invalid(vec![v]))?;
    flush_counts(s).await;
    let all = s.registry.partners(&access).await?;
    let counts = s.registry.partner_counts(&access, &since, None).await?;
    Ok((all, counts, since))
}

/// Webhook subscriptions as administrators see them: each with its waiting and
/// dead-lettered deliveries, and the newest feed position (for the lag).
#[derive(Default)]
struct Hooks {
    head: i64,
    rows: Vec<(Webhook, i64, i64)>,
}

/// The subscriptions, for administrators only (others see none; a failure shows none).
async fn load_hooks(s: &AppState, p: &Principal) -> Hooks {
    if p.role != Role::Admin {
        return Hooks::default();
    }
    let access = p.access(PURPOSE);
    let (Ok(hooks), Ok(backlog), Ok(head)) = (
        s.registry.webhooks(&access, None).await,
        s.registry.webhook_backlog().await,
        s.registry.feed_head().await,
    ) else {
        return Hooks::default();
    };
    let rows = hooks
        .into_iter()
        .map(|w| {
            let (pending, dead) = backlog.iter().find(|b| b.0 == w.id).map_or((0, 0), |b| (b.1, b.2));
            (w, pending, dead)
        })
        .collect();
    Hooks { head, rows }
}

/// What the entitlement form had typed, shown again with a refusal.
#[derive(Default)]
struct Typed {
    client_id: String,
    name: String,
    rate: String,
    burst: String,
    level: String,
    unit: String,
    operations: Vec<Operation>,
    fields: Vec<CardField>,
}

// The page's parts as loaded: partners, counts, the form as typed, subscriptions.
#[allow(clippy::too_many_arguments)]
fn partners_page(
    lang: Lang,
    p: &Principal,
    all: &[Partner],
    counts: &[CallCount],
    since: &str,
    typed: &Typed,
    errors: &[Violation],
    hooks: &Hooks,
) -> Markup {
    let csrf = p.csrf.clone().unwrap_or_default();
    let admin = p.role == Role::Admin;
    let err = |field: &str| -> Markup {
        html! { @for v in errors.iter().filter(|v| v.field == field) {
            p.field-error data-testid={"error-" (field)} { (match lang { Lang::Vi => &v.message_vi, Lang::En => &v.message_en }) }
        } }
    };
    let name_of =
        |id: &str| all.iter().find(|x| x.client_id == id).map_or(id.to_string(), |x| x.name.clone());
    let since_shown =
        since.parse::<chrono::NaiveDate>().map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default();
    html! {
        (layout(lang, lang.t("Cơ quan đối tác", "Partner agencies"), Some(p), html! {
            h1 { (lang.t("Cơ quan đối tác", "Partner agencies")) }
            p.muted { (lang.t(
                "Hệ thống của cơ quan khác xác thực thông tin công dân và tra cứu thẻ qua API; mỗi lần truy cập đều được ghi nhật ký và công dân xem được.",
                "Other agencies' systems verify citizens' data and look up cards through the API; every access is logged and the citizen can see it.")) }
            div.table-wrap { table.stack data-testid="partner-list" {
                thead { tr {
                    th { (lang.t("Mã ứng dụng", "Client id")) } th { (lang.t("Tên", "Name")) }
                    th { (lang.t("Nghiệp vụ", "Operations")) } th { (lang.t("Trường được trả", "Fields returned")) }
                    th { (lang.t("Phạm vi", "Units")) } th { (lang.t("Giới hạn", "Rate limit")) }
                    th { (lang.t("Trạng thái", "State")) }
                    @if admin { th { (lang.t("Thao tác", "Actions")) } }
                } }
                tbody {
                    @for x in all {
                        tr data-testid={"partner-" (x.client_id)} {
                            td data-label=(lang.t("Mã ứng dụng", "Client id")) { (x.client_id) }
                            td data-label=(lang.t("Tên", "Name")) { (x.name) }
                            td data-label=(lang.t("Nghiệp vụ", "Operations")) {
                                @for (i, o) in x.operations.iter().enumerate() { @if i > 0 { ", " } (display::partner_operation(lang, o.code())) }
                            }
                            td data-label=(lang.t("Trường được trả", "Fields returned")) {
                                @for (i, f) in x.fields.iter().enumerate() { @if i > 0 { ", " } (display::card_field(lang, f.code())) }
                            }
                            td data-label=(lang.t("Phạm vi", "Units")) {
                                @for (i, u) in x.units.iter().enumerate() { @if i > 0 { ", " } (display::scope(lang, u)) }
                            }
                            td data-label=(lang.t("Giới hạn", "Rate limit")) {
                                (x.rate_per_sec) (lang.t(" yêu cầu/giây, dồn tối đa ", " requests/s, burst ")) (x.burst)
                            }
                            td data-label=(lang.t("Trạng thái", "State")) data-testid={"partner-state-" (x.client_id)} {
                                @if x.suspended { (lang.t("Đang tạm dừng", "Suspended")) } @else { (lang.t("Đang hoạt động", "Active")) }
                            }
                            @if admin {
                                td data-label=(lang.t("Thao tác", "Actions")) {
                                    form.inline method="post" action={"/partners/" (super::urlencode(&x.client_id)) "/state"} data-testid={"partner-toggle-" (x.client_id)} {
                                        input type="hidden" name="csrf" value=(csrf);
                                        input type="hidden" name="suspend" value=(if x.suspended { "no" } else { "yes" });
                                        button type="submit" { @if x.suspended { (lang.t("Cho hoạt động lại", "Resume")) } @else { (lang.t("Tạm dừng", "Suspend")) } }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
            @if admin {
                section.card {
                    h2 { (lang.t("Cấp quyền cho đối tác", "Set a partner's entitlements")) }
                    p.muted { (lang.t("Đối tác là một ứng dụng OAuth đã đăng ký; nhập đúng mã ứng dụng của nó.",
                        "A partner is a registered OAuth client; enter its client id.")) }
                    form method="post" action="/partners" data-testid="partner-entitle" {
                        input type="hidden" name="csrf" value=(csrf);
                        label { (lang.t("Mã ứng dụng", "Client id")) input name="client_id" value=(typed.client_id) required; }
                        (err("client_id"))
                        label { (lang.t("Tên cơ quan (công dân nhìn thấy)", "Agency name (citizens see it)")) input name="name" value=(typed.name) required; }
                        (err("name"))
                        fieldset {
                            legend { (lang.t("Nghiệp vụ", "Operations")) }
                            @for o in Operation::ALL {
                                label.check { input type="checkbox" name="op" value=(o.code()) checked[typed.operations.contains(&o)]; (display::partner_operation(lang, o.code())) }
                            }
                        }
                        fieldset {
                            legend { (lang.t("Trường tra cứu thẻ được trả", "Fields a card look-up returns")) }
                            @for f in CardField::ALL {
                                label.check { input type="checkbox" name="field" value=(f.code()) checked[typed.fields.contains(&f)]; (display::card_field(lang, f.code())) }
                            }
                        }
                        (scope_fields(lang, if typed.level.is_empty() { "nation" } else { &typed.level }, &typed.unit))
                        (err("units"))
                        label { (lang.t("Số yêu cầu mỗi giây", "Requests per second")) input name="rate" inputmode="numeric" value=(if typed.rate.is_empty() { "50" } else { &typed.rate }); }
                        label { (lang.t("Số yêu cầu dồn tối đa", "Burst")) input name="burst" inputmode="numeric" value=(if typed.burst.is_empty() { "100" } else { &typed.burst }); }
                        (err("rate_per_sec"))
                        button type="submit" { (lang.t("Lưu quyền", "Save entitlements")) }
                    }
                }
            }
            @if admin {
                section.card data-testid="webhooks" {
                    h2 { (lang.t("Webhook nhận sự kiện thay đổi", "Change-feed webhooks")) }
                    p.muted { (lang.t(
                        "Tạo bằng lệnh dancu partner webhook add. Độ trễ: số sự kiện mới chưa chuyển sang hàng đợi của đăng ký.",
                        "Created with dancu partner webhook add. Lag: feed events not yet handed to the subscription's queue.")) }
                    div.table-wrap { table.stack {
                        thead { tr {
                            th { "#" } th { (lang.t("Đối tác", "Partner")) } th { (lang.t("Địa chỉ", "URL")) }
                            th { (lang.t("Trạng thái", "State")) } th { (lang.t("Độ trễ", "Lag")) }
                            th { (lang.t("Đang chờ gửi", "Waiting")) } th { (lang.t("Thư lỗi", "Dead letters")) }
                            th { (lang.t("Thao tác", "Actions")) }
                        } }
                        tbody {
                            @for (w, pending, dead) in &hooks.rows {
                                tr data-testid={"webhook-" (w.id)} {
                                    td data-label="#" { (w.id) }
                                    td data-label=(lang.t("Đối tác", "Partner")) { (name_of(&w.client_id)) }
                                    td data-label=(lang.t("Địa chỉ", "URL")) { (w.url) }
                                    td data-label=(lang.t("Trạng thái", "State")) {
                                        @if w.active { (lang.t("Đang hoạt động", "Active")) } @else { (lang.t("Đang tạm dừng", "Paused")) }
                                    }
                                    td data-label=(lang.t("Độ trễ", "Lag")) { ((hooks.head - w.cursor).max(0)) }
                                    td data-label=(lang.t("Đang chờ gửi", "Waiting")) { (pending) }
                                    td data-label=(lang.t("Thư lỗi", "Dead letters")) data-testid={"webhook-dead-" (w.id)} { (dead) }
                                    td data-label=(lang.t("Thao tác", "Actions")) {
                                        @if *dead > 0 {
                                            form.inline method="post" action={"/partners/webhooks/" (w.id) "/replay-dead"} {
                                                input type="hidden" name="csrf" value=(csrf);
                                                button type="submit" { (lang.t("Gửi lại thư lỗi", "Replay dead letters")) }
                                            }
                                        }
                                        form.inline method="post" action={"/partners/webhooks/" (w.id) "/replay"} {
                                            input type="hidden" name="csrf" value=(csrf);
                                            label { (lang.t("Gửi lại từ vị trí", "Replay from position")) input name="from" inputmode="numeric" value="0"; }
                                            button type="submit" { (lang.t("Gửi lại", "Replay")) }
                                        }
                                    }
                                }
                            }
                        }
                    } }
                }
            }
            section.card {
                h2 { (lang.t("Số lượt truy cập từ ngày ", "Calls since ")) (since_shown) }
                div.table-wrap { table.stack data-testid="partner-stats" {
                    thead { tr {
                        th { (lang.t("Ngày", "Day")) } th { (lang.t("Đối tác", "Partner")) }
                        th { (lang.t("Nghiệp vụ", "Operation")) } th { (lang.t("Mục đích", "Purpose")) }
                        th { (lang.t("Kết quả", "Outcome")) } th { (lang.t("Số lượt", "Calls")) }
                    } }
                    tbody {
                        @for c in counts {
                            tr {
                                td data-label=(lang.t("Ngày", "Day")) { (c.day.parse::<chrono::NaiveDate>().map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default()) }
                                td data-label=(lang.t("Đối tác", "Partner")) { (name_of(&c.client_id)) }
                                td data-label=(lang.t("Nghiệp vụ", "Operation")) { (display::partner_operation(lang, &c.operation)) }
                                td data-label=(lang.t("Mục đích", "Purpose")) { (c.purpose) }
                                td data-label=(lang.t("Kết quả", "Outcome")) { (display::partner_outcome(lang, &c.outcome)) }
                                td data-label=(lang.t("Số lượt", "Calls")) { (c.count) }
                            }
                        }
                    }
                } }
            }
        }))
    }
}

/// Sets a partner's entitlements (administrators); a refusal shows the form again, filled in.
pub async fn entitle_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let get =
        |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    if let Err(e) = p.check_csrf(&get("csrf")) {
        return error_page(lang, Some(&p), e);
    }
    let mut errs = Vec::new();
    let typed = Typed {
        client_id: get("client_id"),
        name: get("name"),
        rate: get("rate"),
        burst: get("burst"),
        level: get("level"),
        unit: get("unit"),
        operations: pairs
            .iter()
            .filter(|(k, _)| k == "op")
            .filter_map(|(_, v)| Operation::parse(v).ok())
            .collect(),
        fields: pairs
            .iter()
            .filter(|(k, _)| k == "field")
            .filter_map(|(_, v)| CardField::parse(v).ok())
            .collect(),
    };
    let unit = scope_of(&typed.level, &typed.unit).map_err(|mut v| {
        v.field = "units".into();
        v
    });
    let number = |raw: &str| raw.parse::<u32>().ok().filter(|n| *n > 0);
    let (rate, burst) = (number(&typed.rate), number(&typed.burst));
    if rate.is_none() || burst.is_none() {
        errs.push(Violation::new(
            "rate_per_sec",
            "partner.rate",
            "Giới hạn tốc độ và số yêu cầu dồn phải là số nguyên dương",
            "the rate limit and burst must be positive whole numbers",
        ));
    }
    let units: Vec<Scope> = match unit {
        Ok(u) => vec![u],
        Err(v) => {
            errs.push(v);
            Vec::new()
        }
    };
    let result = if errs.is_empty() {
        let existing = s.registry.partner(&typed.client_id).await.ok().flatten();
        let partner = Partner {
            client_id: typed.client_id.clone(),
            name: dancu_domain::nfc(&typed.name),
            suspended: existing.as_ref().is_some_and(|e| e.suspended),
            rate_per_sec: rate.unwrap_or(1),
            burst: burst.unwrap_or(1),
            operations: typed.operations.clone(),
            fields: typed.fields.clone(),
            units,
            // The feed's kinds are set with `dancu partner entitle --feed-kinds`; kept here.
            feed_kinds: existing.map(|e| e.feed_kinds).unwrap_or_default(),
            updated_at: dancu_store::registry::now(),
            updated_by: String::new(),
        };
        s.registry.partner_entitle(&p.access(PURPOSE), &partner).await.map(|_| ()).map_err(ApiError::from)
    } else {
        Err(ApiError::invalid(errs))
    };
    s.partners.forget(&typed.client_id);
    match result {
        Ok(()) => Redirect::to("/partners").into_response(),
        Err(e) if !e.violations.is_empty() && e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let (all, counts, since) = load(&s, &p, None).await.unwrap_or_default();
            let hooks = load_hooks(&s, &p).await;
            let body = partners_page(lang, &p, &all, &counts, &since, &typed, &e.violations, &hooks);
            (StatusCode::UNPROCESSABLE_ENTITY, body).into_response()
        }
        Err(e) => error_page(lang, Some(&p), e),
    }
}

#[derive(Deserialize)]
pub struct StateForm {
    csrf: String,
    /// `yes` to suspend, `no` to resume.
    suspend: String,
}

/// Suspends or resumes a partner (administrators); effective on this server at once.
pub async fn state_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(client_id): Path<String>,
    Form(f): Form<StateForm>,
) -> Response {
    let run = async {
        p.check_csrf(&f.csrf)?;
        s.registry.partner_set_suspended(&p.access(PURPOSE), &client_id, f.suspend == "yes").await?;
        Ok::<_, ApiError>(())
    };
    let done = run.await;
    s.partners.forget(&client_id);
    match done {
        Ok(()) => Redirect::to("/partners").into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

#[derive(Deserialize)]
pub struct ReplayForm {
    csrf: String,
    /// A feed position (`replay`); absent for `replay-dead`.
    from: Option<String>,
}

/// Replays a webhook subscription (administrators): its dead letters (`replay-dead`), or
/// every event after a feed position (`replay`).
pub async fn webhook_replay_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path((id, what)): Path<(i64, String)>,
    Form(f): Form<ReplayForm>,
) -> Response {
    let run = async {
        p.check_csrf(&f.csrf)?;
        let a = p.access(PURPOSE);
        match what.as_str() {
            "replay-dead" => s.registry.webhook_replay_dead(&a, id).await?,
            "replay" => {
                let from = f.from.as_deref().unwrap_or("").trim().parse::<i64>().map_err(|_| {
                    ApiError::invalid(vec![Violation::new(
                        "from",
                        "webhook.from",
                        "Vị trí phải là số nguyên không âm",
                        "the position must be a whole number, 0 or more",
                    )])
                })?;
                s.registry.webhook_replay(&a, id, from).await?
            }
            _ => return Err(ApiError::not_found()),
        }
        Ok::<_, ApiError>(())
    };
    match run.await {
        Ok(()) => Redirect::to("/partners").into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}
