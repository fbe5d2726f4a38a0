//! Residence confirmations (giấy xác nhận thông tin về cư trú) on the web: the document in
//! the Decree 30/2020 layout as HTML and as PDF (the same content, [`Content`]), with the
//! signed QR code linking to the public check; officers issue one from a citizen's page and
//! revoke it with a reason; a citizen issues their own on the portal; anyone checks one on
//! `/verify` without logging in (Vietnamese first, phone-friendly).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Deserialize;

use dancu_domain::PersonalId;
use dancu_render::{Cell, Document, Style};
use dancu_store::confirmations::{Confirmation, Standing};

use super::display;
use super::document::{place_date, Doc, Issuer, Signer};
use super::portal::{nav, portal_error, unauthorized_redirect};
use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, Lang, WebUser};
use crate::api::citizens::require_reason;
use crate::api::confirmations::parse_confirmation_id;
use crate::citizen_auth::CitizenPrincipal;
use crate::confirm::{self, Checked, TokenRefusal};
use crate::error::ApiError;
use crate::AppState;

/// The document's title (Decree 30: upper case, bold, centred).
pub const TITLE: &str = "GIẤY XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ";

/// Everything a confirmation document shows, for the HTML page and the PDF alike.
struct Content {
    issuer: Issuer,
    number: String,
    day: NaiveDate,
    intro: String,
    rows: Vec<(&'static str, String)>,
    validity: String,
    link: Option<String>,
    signer: Signer,
}

fn content(s: &AppState, c: &Confirmation) -> Content {
    let issuer = Issuer::of_scope_text(&c.issuing_unit);
    let k = &c.content;
    let or_dash = |v: &str| if v.is_empty() { "—".to_string() } else { v.to_string() };
    let relation =
        k.relation.map(|r| display::relation(Lang::Vi, r, Some(k.sex)).to_string()).unwrap_or_default();
    let token = s.config.confirm_keys.sign(&confirm::claims_of(c));
    Content {
        number: format!("{}/XNCT-{}", c.id, issuer.initials()),
        day: c.issued_on(),
        intro: format!("{} xác nhận thông tin về cư trú của công dân như sau:", issuer.name),
        rows: vec![
            ("Họ, chữ đệm và tên", k.full_name.clone()),
            ("Ngày, tháng, năm sinh", k.birth_date.clone()),
            ("Giới tính", display::sex(Lang::Vi, k.sex).to_string()),
            ("Số định danh cá nhân", c.personal_id.to_string()),
            ("Nơi thường trú", or_dash(&k.permanent)),
            ("Nơi tạm trú", or_dash(&k.temporary)),
            ("Họ, chữ đệm và tên chủ hộ", or_dash(&k.head_name)),
            ("Quan hệ với chủ hộ", or_dash(&relation)),
            ("Số hộ", or_dash(&k.household_no)),
        ],
        validity: format!(
            "Giấy xác nhận có giá trị sử dụng đến hết ngày {}. Quét mã QR để kiểm tra tính hợp lệ.",
            display::day(&c.valid_until)
        ),
        link: token.map(|t| confirm::verify_url(&s.config.oidc.issuer, &t)),
        signer: Signer {
            capacity: if c.channel == "portal" {
                "Cơ quan đăng ký cư trú".into()
            } else {
                "Thủ trưởng đơn vị".into()
            },
            name: if c.channel == "portal" {
                "(Cấp tự động trên Cổng dịch vụ công, xác thực bằng mã QR)".into()
            } else {
                String::new()
            },
        },
        issuer,
    }
}

/// The document as HTML.
fn document_html(c: &Content) -> Markup {
    let doc = Doc {
        testid: "confirmation-document",
        issuer: c.issuer.clone(),
        number: c.number.clone(),
        day: c.day,
        title: TITLE,
        summary: None,
        signer: Signer { capacity: c.signer.capacity.clone(), name: c.signer.name.clone() },
    };
    doc.render(html! {
        p { (c.intro) }
        dl.doc-fields data-testid="confirmation-fields" {
            @for (label, value) in &c.rows { dt { (label) } dd { (value) } }
        }
        p data-testid="confirmation-validity" { (c.validity) }
        @if let Some(link) = &c.link {
            div.doc-qr {
                @if let Some(svg) = super::qr::svg_with_id(link, "Mã QR kiểm tra giấy xác nhận", "confirmation-qr") { (svg) }
                p.muted { a data-testid="verify-link" href=(link) { (link) } }
            }
        }
    })
}

/// The document as PDF (A4, Decree 30 margins, Liberation Serif).
fn document_pdf(c: &Content) -> Result<Vec<u8>, ApiError> {
    let mut doc = Document::new(TITLE);
    let size = 13.0;
    doc.row(
        &[0.42, 0.58],
        &[
            Cell::Text(vec![
                (c.issuer.parent.clone(), Style::new(12.0).centered()),
                (c.issuer.unit.clone(), Style::new(12.0).bold().centered().rule_below()),
                (format!("Số: {}", c.number), Style::new(size).centered()),
            ]),
            Cell::Text(vec![
                ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".into(), Style::new(12.0).bold().centered()),
                ("Độc lập - Tự do - Hạnh phúc".into(), Style::new(size).bold().centered().rule_below()),
                (place_date(&c.issuer.place, c.day), Style::new(size).centered()),
            ]),
        ],
    );
    doc.space(24.0);
    doc.paragraph(TITLE, Style::new(14.0).bold().centered());
    doc.space(12.0);
    doc.paragraph(&c.intro, Style::new(size).justified().indent(28.0));
    doc.space(6.0);
    let rows: Vec<Vec<Cell>> = c
        .rows
        .iter()
        .map(|(label, value)| {
            vec![Cell::text(*label, Style::new(size).bold()), Cell::text(value.clone(), Style::new(size))]
        })
        .collect();
    doc.table(&[0.36, 0.64], &rows);
    doc.space(8.0);
    doc.paragraph(&c.validity, Style::new(size).justified().indent(28.0));
    doc.space(12.0);
    let qr = c.link.as_deref().and_then(super::qr::modules);
    let mut signer = vec![
        (c.signer.capacity.to_uppercase(), Style::new(size).bold().centered()),
        ("(Ký, ghi rõ họ tên)".into(), Style::new(size).centered()),
    ];
    if !c.signer.name.is_empty() {
        signer.push((String::new(), Style::new(size)));
        signer.push((c.signer.name.clone(), Style::new(12.0).centered()));
    }
    doc.row(
        &[0.42, 0.58],
        &[qr.map(|code| Cell::Qr { code, size: 120.0 }).unwrap_or(Cell::Empty), Cell::Text(signer)],
    );
    if let Some(link) = &c.link {
        doc.space(6.0);
        doc.paragraph(link, Style::new(8.0));
    }
    doc.finish().map_err(|e| {
        tracing::error!(error = %e, "confirmation PDF");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Lỗi máy chủ", "internal error")
    })
}

fn pdf_response(c: &Confirmation, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"xac-nhan-cu-tru-{}.pdf\"", c.id)),
        ],
        bytes,
    )
        .into_response()
}

/// A confirmation's standing in words.
fn standing(lang: Lang, st: Standing) -> &'static str {
    match st {
        Standing::Valid => lang.t("Còn hiệu lực", "Valid"),
        Standing::Revoked => lang.t("Đã bị thu hồi", "Revoked"),
        Standing::Expired => lang.t("Đã hết hạn", "Expired"),
    }
}

fn standing_class(st: Standing) -> &'static str {
    match st {
        Standing::Valid => "verify-ok",
        _ => "verify-bad",
    }
}

/// A citizen's confirmations as a table (officer page and portal); links to `base/{id}`.
fn list(lang: Lang, items: &[Confirmation], base: &str) -> Markup {
    let today = dancu_store::applications::today();
    let (l_no, l_day, l_until, l_state) = (
        lang.t("Số", "Number"),
        lang.t("Ngày cấp", "Issued"),
        lang.t("Có giá trị đến", "Valid until"),
        lang.t("Tình trạng", "Status"),
    );
    html! {
        @if items.is_empty() { p.muted { (lang.t("Chưa có giấy xác nhận", "No confirmations yet")) } }
        @else {
            div.table-wrap { table.stack data-testid="confirmations" {
                thead { tr { th { (l_no) } th { (l_day) } th { (l_until) } th { (l_state) } } }
                tbody { @for c in items {
                    tr {
                        td data-label=(l_no) { a href=(format!("{base}/{}", c.id)) { (c.id) } }
                        td data-label=(l_day) { (display::day(&c.issued_on())) }
                        td data-label=(l_until) { (display::day(&c.valid_until)) }
                        td data-label=(l_state) data-testid="confirmation-state" { (standing(lang, c.standing(today))) }
                    }
                } }
            } }
        }
    }
}

/// The section on an officer's citizen page: the citizen's confirmations and the issue button.
pub(super) fn citizen_section(
    lang: Lang,
    p: &crate::auth::Principal,
    id: &PersonalId,
    items: &[Confirmation],
) -> Markup {
    html! {
        section.card data-testid="confirmation-section" {
            h2 { (lang.t("Giấy xác nhận thông tin về cư trú", "Residence confirmations")) }
            (list(lang, items, "/confirmations"))
            @if p.role.writes_records() {
                form method="post" action=(format!("/citizens/{id}/confirmations")) {
                    input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
                    button type="submit" data-testid="issue-confirmation" { (lang.t("Cấp giấy xác nhận cư trú", "Issue a residence confirmation")) }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// An officer issues a confirmation for a citizen in scope, then sees the document.
pub async fn issue_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let result = async {
        p.check_csrf(&f.csrf)?;
        let id = crate::api::citizens::parse_id(&id)?;
        let c = s
            .registry
            .issue_confirmation(&p.access(WEB_PURPOSE), &id, s.config.confirm_keys.current_kid())
            .await?;
        Ok::<_, ApiError>(c.id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/confirmations/{id}")).into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

/// The status line above a document.
fn status_card(lang: Lang, c: &Confirmation) -> Markup {
    let st = c.standing(dancu_store::applications::today());
    html! {
        section.card.no-print {
            p data-testid="confirmation-status" class=(standing_class(st)) { b { (standing(lang, st)) } }
            @if let (Some(at), Some(reason)) = (c.revoked_at, &c.revoked_reason) {
                p { (lang.t("Thu hồi lúc ", "Revoked at ")) (display::time(&at)) ": " (reason) }
            }
        }
    }
}

/// An officer's view of a confirmation: the document, the PDF link and the revoke form.
pub async fn document_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
) -> Response {
    let found = async {
        let id = parse_confirmation_id(&id)?;
        Ok::<_, ApiError>(s.registry.confirmation(&p.access(WEB_PURPOSE), id).await?)
    }
    .await;
    let c = match found {
        Ok(c) => c,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    let body = layout(
        lang,
        lang.t("Giấy xác nhận thông tin về cư trú", "Residence confirmation"),
        Some(&p),
        html! {
            (status_card(lang, &c))
            nav.record-actions.no-print {
                a.button data-testid="pdf-link" href=(format!("/confirmations/{}/pdf", c.id)) { (lang.t("Tải bản PDF", "Download the PDF")) }
                a.button href=(format!("/citizens/{}", c.personal_id)) { (lang.t("Về hồ sơ công dân", "Back to the citizen")) }
            }
            (document_html(&content(&s, &c)))
            @if c.revoked_at.is_none() && p.role.writes_records() {
                section.card.no-print {
                    h2 { (lang.t("Thu hồi giấy xác nhận", "Revoke the confirmation")) }
                    form method="post" action=(format!("/confirmations/{}/revoke", c.id)) {
                        input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
                        label for="reason" { (lang.t("Lý do thu hồi", "Reason")) }
                        input #reason name="reason" required maxlength="500" data-testid="revoke-reason";
                        p { button type="submit" data-testid="revoke" { (lang.t("Thu hồi", "Revoke")) } }
                    }
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

/// An officer's PDF of a confirmation.
pub async fn document_pdf_officer(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id = parse_confirmation_id(&id)?;
        let c = s.registry.confirmation(&p.access(WEB_PURPOSE), id).await?;
        let bytes = document_pdf(&content(&s, &c))?;
        Ok::<_, ApiError>(pdf_response(&c, bytes))
    }
    .await;
    result.unwrap_or_else(|e| error_page(lang, Some(&p), e))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: String,
    reason: String,
}

/// An officer revokes a confirmation with a reason.
pub async fn revoke_submit(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Response {
    let result = async {
        p.check_csrf(&f.csrf)?;
        let id = parse_confirmation_id(&id)?;
        let reason = require_reason(&f.reason)?;
        s.registry.revoke_confirmation(&p.access(WEB_PURPOSE), id, &reason).await?;
        Ok::<_, ApiError>(id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/confirmations/{id}")).into_response(),
        Err(e) => error_page(lang, Some(&p), e),
    }
}

// ---- citizen portal ----

/// The citizen's confirmations and the button that issues one at once.
pub async fn portal_list(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    who: Option<CitizenPrincipal>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    let items = match s.registry.own_confirmations(&who.personal_id).await {
        Ok(l) => l,
        Err(e) => return portal_error(lang, e.into()),
    };
    let title = lang.t("Giấy xác nhận thông tin về cư trú", "Residence confirmations");
    let body = layout(
        lang,
        title,
        None,
        html! {
            (nav(lang, &who))
            section.card {
                h1 { (title) }
                p { (lang.t(
                    "Giấy xác nhận được cấp ngay từ dữ liệu trong Cơ sở dữ liệu quốc gia về dân cư, có giá trị một năm, kiểm tra được bằng mã QR.",
                    "A confirmation is issued at once from the national population database, is valid for one year and can be checked by its QR code."
                )) }
                (list(lang, &items, "/portal/confirmations"))
                form method="post" action="/portal/confirmations" {
                    input type="hidden" name="csrf" value=(who.csrf);
                    button type="submit" data-testid="portal-issue-confirmation" { (lang.t("Cấp giấy xác nhận", "Issue a confirmation")) }
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

/// A citizen issues their own confirmation.
pub async fn portal_issue(
    State(s): State<AppState>,
    lang: Lang,
    who: Option<CitizenPrincipal>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    let result = async {
        who.check_csrf(&f.csrf)?;
        let c =
            s.registry.issue_own_confirmation(&who.personal_id, s.config.confirm_keys.current_kid()).await?;
        Ok::<_, ApiError>(c.id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/portal/confirmations/{id}")).into_response(),
        Err(e) => portal_error(lang, e),
    }
}

/// A citizen's own confirmation document.
pub async fn portal_document(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    who: Option<CitizenPrincipal>,
    Path(id): Path<String>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    let found = async {
        let id = parse_confirmation_id(&id)?;
        Ok::<_, ApiError>(s.registry.own_confirmation(&who.personal_id, id).await?)
    }
    .await;
    let c = match found {
        Ok(c) => c,
        Err(e) => return portal_error(lang, e),
    };
    let body = layout(
        lang,
        lang.t("Giấy xác nhận thông tin về cư trú", "Residence confirmation"),
        None,
        html! {
            (nav(lang, &who))
            (status_card(lang, &c))
            nav.record-actions.no-print {
                a.button data-testid="pdf-link" href=(format!("/portal/confirmations/{}/pdf", c.id)) { (lang.t("Tải bản PDF", "Download the PDF")) }
            }
            (document_html(&content(&s, &c)))
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

/// A citizen's own confirmation as PDF.
pub async fn portal_pdf(
    State(s): State<AppState>,
    lang: Lang,
    who: Option<CitizenPrincipal>,
    Path(id): Path<String>,
) -> Response {
    let Some(who) = who else { return unauthorized_redirect() };
    let result = async {
        let id = parse_confirmation_id(&id)?;
        let c = s.registry.own_confirmation(&who.personal_id, id).await?;
        let bytes = document_pdf(&content(&s, &c))?;
        Ok::<_, ApiError>(pdf_response(&c, bytes))
    }
    .await;
    result.unwrap_or_else(|e| portal_error(lang, e))
}

// ---- public check ----

#[derive(Deserialize)]
pub struct VerifyQuery {
    t: Option<String>,
}

fn refusal_words(lang: Lang, r: TokenRefusal) -> (&'static str, &'static str) {
    match r {
        TokenRefusal::Malformed => (
            lang.t("Mã không hợp lệ", "Not a valid code"),
            lang.t(
                "Đây không phải mã QR của giấy xác nhận thông tin về cư trú, hoặc mã bị thiếu ký tự.",
                "This is not the QR code of a residence confirmation, or characters are missing.",
            ),
        ),
        TokenRefusal::UnknownKey => (
            lang.t("Không do cơ quan đăng ký cư trú cấp", "Not issued by the residence authority"),
            lang.t(
                "Mã được ký bằng một khóa mà cơ quan đăng ký cư trú không cấp.",
                "The code is signed with a key the residence authority never issued.",
            ),
        ),
        TokenRefusal::BadSignature => (
            lang.t("Giấy xác nhận giả hoặc đã bị sửa", "Forged or altered confirmation"),
            lang.t(
                "Chữ ký số không khớp với nội dung: mã bị giả mạo hoặc nội dung đã bị sửa.",
                "The digital signature does not match the content: the code is forged or was altered.",
            ),
        ),
    }
}

/// The public check of a confirmation's QR code: only validity, the dates and the holder's
/// name. Without `t`, a form to paste the code.
pub async fn verify_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    Query(q): Query<VerifyQuery>,
) -> Response {
    let title = lang.t("Kiểm tra giấy xác nhận thông tin về cư trú", "Check a residence confirmation");
    let token = q.t.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let checked = match token {
        None => None,
        Some(t) => match confirm::check(&s, t).await {
            Ok(c) => Some(c),
            Err(e) => return error_page(lang, None, e),
        },
    };
    let result = match &checked {
        None => html! {},
        Some(Checked::Found { standing: st, holder_name, issued_on, valid_until }) => html! {
            section.card class=(standing_class(*st)) data-testid="verify-result" {
                h2 data-testid="verify-status" data-status=(match st { Standing::Valid => "valid", Standing::Revoked => "revoked", Standing::Expired => "expired" }) {
                    (match st {
                        Standing::Valid => lang.t("Giấy xác nhận hợp lệ", "Valid confirmation"),
                        Standing::Revoked => lang.t("Giấy xác nhận đã bị thu hồi — không còn giá trị", "Revoked — no longer valid"),
                        Standing::Expired => lang.t("Giấy xác nhận đã hết hạn — không còn giá trị", "Expired — no longer valid"),
                    })
                }
                dl {
                    dt { (lang.t("Họ và tên người được xác nhận", "Holder's full name")) } dd data-testid="verify-name" { (holder_name) }
                    dt { (lang.t("Ngày cấp", "Issued on")) } dd data-testid="verify-issued" { (display::day(issued_on)) }
                    dt { (lang.t("Có giá trị đến hết ngày", "Valid until")) } dd data-testid="verify-until" { (display::day(valid_until)) }
                }
            }
        },
        Some(Checked::Unknown) => html! {
            section.card.verify-bad data-testid="verify-result" {
                h2 data-testid="verify-status" data-status="invalid" { (lang.t("Không tìm thấy giấy xác nhận", "Confirmation not found")) }
                p { (lang.t("Mã do cơ quan đăng ký cư trú ký nhưng không có giấy xác nhận tương ứng.", "The code is signed by the residence authority but no such confirmation exists.")) }
            }
        },
        Some(Checked::Refused(r)) => {
            let (head, text) = refusal_words(lang, *r);
            html! {
                section.card.verify-bad data-testid="verify-result" {
                    h2 data-testid="verify-status" data-status="invalid" data-rule=(r.violation().rule) { (head) }
                    p { (text) }
                }
            }
        }
    };
    let body = layout(
        lang,
        title,
        None,
        html! {
            section.card {
                h1 { (title) }
                p.muted { (lang.t(
                    "Trang này chỉ cho biết giấy xác nhận còn hiệu lực hay không, ngày cấp, thời hạn và họ tên người được xác nhận.",
                    "This page only tells whether the confirmation is valid, its dates and the holder's name."
                )) }
            }
            (result)
            section.card {
                form method="get" action="/verify" {
                    label for="t" { (lang.t("Mã trên giấy xác nhận (nội dung mã QR)", "The code on the confirmation (QR content)")) }
                    input #t name="t" maxlength="2048" autocomplete="off" value=(token.unwrap_or_default());
                    p { button type="submit" { (lang.t("Kiểm tra", "Check")) } }
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}
