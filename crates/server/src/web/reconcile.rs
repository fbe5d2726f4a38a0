//! Sector-list reconciliation for agency officers (`/reconcile`): upload a list (CSV with
//! any columns, mapped by a TOML mapping, see docs/MATCHING.md), get the summary per unit
//! (the shape of the provinces' vaccination-data tables) or the list back with
//! `id_check,status,reason,suggested_id,score` appended, to correct the agency's own data.
//! The registry side is the officer's scope; the match is audited as one access.

use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use maud::html;

use dancu_matching::reconcile::{self, ID_CHECKS, STATUSES};
use dancu_matching::{Dataset, Loader, MatchConfig};

use super::display;
use super::search::WEB_PURPOSE;
use super::{error_page, lang_choice, layout, page, Lang, WebUser};
use crate::error::ApiError;
use crate::AppState;

/// Largest list accepted by upload.
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;

fn invalid(field: &'static str, rule: &'static str, vi: String, en: String) -> ApiError {
    ApiError::invalid(vec![dancu_domain::Violation::new(field, rule, vi, en)])
}

pub async fn form_page(lang: Lang, uri: Uri, WebUser(p): WebUser) -> Response {
    let body = layout(
        lang,
        lang.t("Đối chiếu danh sách", "Reconcile a list"),
        Some(&p),
        html! {
            section.card {
                h1 { (lang.t("Đối chiếu danh sách của ngành với CSDL dân cư", "Reconcile a sector list with the registry")) }
                p.muted { (lang.t("Tải lên tệp CSV (UTF-8 hoặc bảng mã cũ TCVN3/VNI/VISCII). Mỗi dòng được xếp loại: khớp; không có số định danh; sai định dạng; không có trong CSDL; thông tin không khớp (nêu trường); gợi ý số định danh cho dòng thiếu số.",
                    "Upload a CSV (UTF-8 or legacy TCVN3/VNI/VISCII). Each row is classified: matched; no personal ID; wrong format; not in the registry; details disagree (naming the fields); a suggested ID for rows without one.")) }
                form method="post" action="/reconcile" enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default());
                    label for="list" { (lang.t("Tệp danh sách (CSV)", "List file (CSV)")) }
                    input #list type="file" name="list" accept=".csv,text/csv" required;
                    label for="mapping" { (lang.t("Ánh xạ cột (TOML, để trống nếu tệp theo mẫu của dancu)", "Column mapping (TOML; blank for dancu's own format)")) }
                    textarea #mapping name="mapping" rows="6" placeholder="[columns]\nfull_name = \"ho_ten\"\npersonal_id = \"so_dinh_danh\"\nbirth_date = \"ngay_sinh\"" {}
                    p {
                        button type="submit" name="format" value="html" data-testid="reconcile-summary" { (lang.t("Xem bảng tổng hợp", "Show the summary")) }
                        " "
                        button type="submit" name="format" value="csv" data-testid="reconcile-csv" { (lang.t("Tải tệp kết quả (CSV)", "Download the result file (CSV)")) }
                        " "
                        button type="submit" name="format" value="xlsx" data-testid="reconcile-xlsx" { (lang.t("Tải tệp kết quả (Excel)", "Download the result file (Excel)")) }
                    }
                }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

struct Upload {
    csrf: String,
    list: Vec<u8>,
    mapping: String,
    format: String,
}

async fn read_upload(mut m: Multipart) -> Result<Upload, ApiError> {
    let mut u =
        Upload { csrf: String::new(), list: Vec::new(), mapping: String::new(), format: "html".into() };
    let bad = |e: axum::extract::multipart::MultipartError| {
        invalid(
            "list",
            "upload.unreadable",
            format!("Không đọc được tệp tải lên: {e}"),
            format!("unreadable upload: {e}"),
        )
    };
    while let Some(field) = m.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(bad)?;
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "csrf" => u.csrf = text(),
            "mapping" => u.mapping = text(),
            "format" => u.format = text(),
            "list" => u.list = bytes.to_vec(),
            _ => {}
        }
    }
    if u.list.is_empty() {
        return Err(invalid(
            "list",
            "upload.empty",
            "Chưa chọn tệp hoặc tệp rỗng".into(),
            "no file, or an empty one".into(),
        ));
    }
    Ok(u)
}

pub async fn submit(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    m: Multipart,
) -> Response {
    let run = async {
        let u = read_upload(m).await?;
        p.check_csrf(&u.csrf)?;
        let cfg = if u.mapping.trim().is_empty() {
            MatchConfig::dancu_default()
        } else {
            MatchConfig::from_toml(&u.mapping).map_err(|e| {
                invalid(
                    "mapping",
                    "mapping.invalid",
                    format!("Ánh xạ cột sai: {e}"),
                    format!("bad mapping: {e}"),
                )
            })?
        };
        let citizens = s.registry.citizens_for_matching(&p.access(WEB_PURPOSE)).await?;
        let dir = std::env::temp_dir().join(format!("dancu-reconcile-{}", crate::auth::random_token()));
        let want_csv = u.format == "csv" || u.format == "xlsx";
        let format = u.format.clone();
        let list = u.list;
        let outcome = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
            std::fs::create_dir_all(dir.join("converted")).map_err(|_| ApiError::internal())?;
            let input = dir.join("list.csv");
            let out = dir.join("result.csv");
            let result = (|| {
                std::fs::write(&input, &list).map_err(|_| ApiError::internal())?;
                // XLSX or a `;` list: read through a `,` copy (errors name "list.csv" only).
                let bad = |e: dancu_matching::MatchError| {
                    invalid(
                        "list",
                        "reconcile.input",
                        format!("Tệp không hợp lệ: {e}"),
                        format!("invalid list: {e}"),
                    )
                };
                let input =
                    dancu_matching::table::as_comma_csv(&input, &dir.join("converted").join("list.csv"))
                        .map_err(bad)?;
                let mut loader = Loader::default();
                loader.read_csv(&input, &cfg, 0).map_err(bad)?;
                reconcile::load_registry(&mut loader, citizens.iter().map(|c| c.to_draft()), &cfg);
                let ds = Dataset::from_loader(loader, true);
                let results = reconcile::reconcile(&ds, &cfg, cfg.settings.threshold);
                let rejected = ds.issues.iter().filter(|i| i.dropped).count() as u64;
                let summary = reconcile::summary(&results, rejected);
                let file = if want_csv {
                    reconcile::write_result(&input, &out, &results, &ds.issues)
                        .map_err(|_| ApiError::internal())?;
                    Some(std::fs::read(&out).map_err(|_| ApiError::internal())?)
                } else {
                    None
                };
                Ok((summary, file))
            })();
            let _ = std::fs::remove_dir_all(&dir);
            result
        })
        .await
        .map_err(|_| ApiError::internal())??;
        Ok::<_, ApiError>((outcome, format))
    };
    let ((summary, file), format) = match run.await {
        Ok(r) => r,
        Err(e) => return error_page(lang, Some(&p), e),
    };
    if let Some(bytes) = file {
        return download(lang, &format, bytes);
    }
    let units = dancu_domain::admin_units();
    let mut totals = reconcile::UnitCounts::default();
    for c in summary.values() {
        totals.total += c.total;
        for (t, x) in totals.id_checks.iter_mut().zip(c.id_checks) {
            *t += x;
        }
        for (t, x) in totals.statuses.iter_mut().zip(c.statuses) {
            *t += x;
        }
    }
    let l_unit = lang.t("Đơn vị", "Unit");
    let l_total = lang.t("Tổng", "Total");
    let body = layout(
        lang,
        lang.t("Kết quả đối chiếu", "Reconciliation"),
        Some(&p),
        html! {
            section.card {
                h1 { (lang.t("Kết quả đối chiếu", "Reconciliation result")) }
                div.table-wrap { table.stack data-testid="reconcile-table" {
                    thead { tr {
                        th { (l_unit) }
                        @for c in ID_CHECKS.iter().skip(1) { th { (display::reconcile_category(lang, c)) } }
                        @for st in STATUSES { th { (display::reconcile_category(lang, st)) } }
                        th { (l_total) }
                    } }
                    tbody {
                        @for (code, c) in &summary {
                            tr {
                                td data-label=(l_unit) { (units.commune_2025(&format!("{code:05}")).map(|u| u.name.clone()).unwrap_or_else(|| lang.t("Không xác định", "Unknown").into())) }
                                @for (k, x) in ID_CHECKS.iter().zip(c.id_checks).skip(1) { td data-label=(display::reconcile_category(lang, k)) { (x) } }
                                @for (k, x) in STATUSES.iter().zip(c.statuses) { td data-label=(display::reconcile_category(lang, k)) { (x) } }
                                td data-label=(l_total) { (c.total) }
                            }
                        }
                        tr {
                            th data-label=(l_unit) { (lang.t("Tổng cộng", "Total")) }
                            @for (k, x) in ID_CHECKS.iter().zip(totals.id_checks).skip(1) { th data-label=(display::reconcile_category(lang, k)) { (x) } }
                            @for (st, x) in STATUSES.iter().zip(totals.statuses) { th data-label=(display::reconcile_category(lang, st)) data-testid=(format!("total-{st}")) { (x) } }
                            th data-label=(l_total) data-testid="total-rows" { (totals.total) }
                        }
                    }
                } }
                p { a href="/reconcile" { (lang.t("Đối chiếu tệp khác", "Reconcile another file")) } }
            }
        },
    );
    page(lang_choice(&uri), StatusCode::OK, body)
}

/// The result file: the agency's CSV with a UTF-8 BOM (when it is UTF-8, so that Excel reads
/// the marks), or the same rows as a workbook with the appended columns in words.
fn download(lang: Lang, format: &str, bytes: Vec<u8>) -> Response {
    use super::export;
    if format == "xlsx" {
        return match export::reconcile_sheet(lang, &bytes) {
            Ok(sheet) => export::respond(export::Format::Xlsx, &sheet),
            Err(_) => ApiError::internal().into_response(),
        };
    }
    const BOM: &[u8] = "\u{feff}".as_bytes();
    let bytes = if std::str::from_utf8(&bytes).is_ok() && !bytes.starts_with(BOM) {
        [BOM, &bytes].concat()
    } else {
        bytes
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"ket-qua-doi-chieu.csv\""),
        ],
        bytes,
    )
        .into_response()
}
