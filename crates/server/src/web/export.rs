//! Excel (XLSX) and CSV downloads of the officer lists: search results, the cards due list,
//! the quality worklists, duplicate pairs and reconcile results. A page asks for one with
//! `?format=xlsx` or `?format=csv`; it fetches the rows through the same audited registry
//! call as the page (so each returned citizen's log shows the export) and hands them to a
//! `*_sheet` builder here. Headers follow the page language (Vietnamese by default), days
//! are `DD/MM/YYYY` (real dates in XLSX), and CSV starts with a UTF-8 BOM so that Excel on
//! Windows reads the marks.

use std::future::Future;

use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};
use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook, XlsxError};

use dancu_store::dedup::{PairSide, PairView};
use dancu_store::quality::Finding;
use dancu_store::registry::RegistryError;
use dancu_store::{CitizenSummary, DueCard, Page};

use super::{display, Lang};
use crate::error::ApiError;

/// Most rows one export carries (a download, not a bulk extraction).
pub const MAX_ROWS: usize = 100_000;
/// Rows fetched per registry call while exporting (the store's largest page).
const FETCH: u32 = 1000;

/// A download format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    /// The `format` parameter of a page's query, when it asks for a download.
    pub fn of(uri: &Uri) -> Option<Format> {
        query_pairs(uri).find_map(|(k, v)| match (k, v) {
            ("format", "xlsx") => Some(Format::Xlsx),
            ("format", "csv") => Some(Format::Csv),
            _ => None,
        })
    }
}

fn query_pairs(uri: &Uri) -> impl Iterator<Item = (&str, &str)> {
    uri.query().unwrap_or_default().split('&').filter_map(|kv| kv.split_once('='))
}

/// `uri` without its `format` parameter, for pages whose query struct refuses unknown keys.
pub fn without_format(uri: &Uri) -> Uri {
    let rest: Vec<&str> =
        uri.query().unwrap_or_default().split('&').filter(|kv| !kv.starts_with("format=")).collect();
    let pq = if rest.iter().all(|s| s.is_empty()) {
        uri.path().to_string()
    } else {
        format!("{}?{}", uri.path(), rest.join("&"))
    };
    pq.parse().unwrap_or_else(|_| uri.clone())
}

/// The download links shown on a list page: the same query with `format=xlsx` / `format=csv`.
pub fn links(lang: Lang, uri: &Uri) -> Markup {
    let base = without_format(uri);
    let sep = if base.query().is_some() { '&' } else { '?' };
    html! {
        p.export {
            a data-testid="export-xlsx" href=(format!("{base}{sep}format=xlsx")) { (lang.t("Tải Excel (.xlsx)", "Download Excel (.xlsx)")) }
            " · "
            a data-testid="export-csv" href=(format!("{base}{sep}format=csv")) { (lang.t("Tải CSV", "Download CSV")) }
        }
    }
}

/// One cell of an export.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Day(NaiveDate),
    Num(f64),
}

impl Cell {
    /// A stored date text: a real day when complete, else `MM/YYYY` or `YYYY` as text.
    pub fn stored_date(s: &str) -> Cell {
        s.parse().map(Cell::Day).unwrap_or_else(|_| Cell::Text(display::stored_date(s)))
    }
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Day(d) => display::day(d),
            Cell::Num(n) => n.to_string(),
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

/// A table to download: the file's base name, the sheet's title, headers and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub file: &'static str,
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The workbook's bytes: one sheet, bold frozen headers with a filter, days formatted
/// `dd/mm/yyyy`, personal IDs as text (their leading zeros kept).
pub fn xlsx(sheet: &Sheet) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    // Sheet names: at most 31 characters, none of []:*?/\.
    let name: String = sheet.title.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect::<String>();
    ws.set_name(name.trim())?;
    let bold = XFormat::new().set_bold();
    let date = XFormat::new().set_num_format("dd/mm/yyyy");
    for (c, h) in sheet.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)?;
        ws.set_column_width(c as u16, (h.chars().count() as f64 + 4.0).max(14.0))?;
    }
    for (r, row) in sheet.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => ws.write_string(r, c, s)?,
                Cell::Num(n) => ws.write_number(r, c, *n)?,
                Cell::Day(d) => {
                    let dt = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                    ws.write_datetime_with_format(r, c, &dt, &date)?
                }
            };
        }
    }
    ws.set_freeze_panes(1, 0)?;
    if !sheet.headers.is_empty() {
        ws.autofilter(0, 0, sheet.rows.len() as u32, sheet.headers.len() as u16 - 1)?;
    }
    wb.save_to_buffer()
}

/// The CSV bytes: a UTF-8 byte-order mark, then comma-separated rows (RFC 4180 quoting).
pub fn csv(sheet: &Sheet) -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    let line = |out: &mut Vec<u8>, fields: &mut dyn Iterator<Item = String>| {
        let quoted: Vec<String> = fields
            .map(|f| {
                if f.contains([',', '"', '\n', '\r', ';']) {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f
                }
            })
            .collect();
        out.extend_from_slice(quoted.join(",").as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    line(&mut out, &mut sheet.headers.iter().cloned());
    for row in &sheet.rows {
        line(&mut out, &mut row.iter().map(Cell::text));
    }
    out
}

/// The download response for `sheet` in `format`.
pub fn respond(format: Format, sheet: &Sheet) -> Response {
    let (bytes, mime, ext) = match format {
        Format::Xlsx => match xlsx(sheet) {
            Ok(b) => (b, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
            Err(e) => {
                tracing::error!(error = %e, "xlsx export failed");
                return ApiError::internal().into_response();
            }
        },
        Format::Csv => (csv(sheet), "text/csv; charset=utf-8", "csv"),
    };
    let disposition = format!("attachment; filename=\"{}.{ext}\"", sheet.file);
    ([(header::CONTENT_TYPE, mime.to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response()
}

/// Every row of a paged registry listing, page after page (each call audited as the page's
/// is), up to [`MAX_ROWS`].
pub async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(u32, u64) -> Fut,
    Fut: Future<Output = Result<Page<T>, RegistryError>>,
{
    let mut out = Vec::new();
    loop {
        let page = fetch(FETCH, out.len() as u64).await?;
        let n = page.items.len();
        out.extend(page.items);
        if n == 0 || out.len() as u64 >= page.total || out.len() >= MAX_ROWS {
            out.truncate(MAX_ROWS);
            return Ok(out);
        }
    }
}

fn headers(lang: Lang, pairs: &[(&'static str, &'static str)]) -> Vec<String> {
    pairs.iter().map(|(vi, en)| lang.t(vi, en).to_string()).collect()
}

/// Search results.
pub fn search_sheet(lang: Lang, items: &[CitizenSummary]) -> Sheet {
    let rows = items
        .iter()
        .map(|c| {
            let dob = match c.birth_date {
                dancu_domain::PartialDate::Full(d) => Cell::Day(d),
                _ => Cell::Text(c.birth_date.display_vi()),
            };
            vec![
                c.personal_id.to_string().into(),
                c.full_name.as_str().into(),
                dob,
                display::sex(lang, c.sex).into(),
                display::commune_short(&c.scope_commune).into(),
                c.household_no.clone().unwrap_or_default().into(),
                display::life_status(lang, c.status).into(),
            ]
        })
        .collect();
    Sheet {
        file: "ket-qua-tim-kiem",
        title: lang.t("Kết quả tìm kiếm", "Search results").into(),
        headers: headers(
            lang,
            &[
                ("Số định danh", "Personal ID"),
                ("Họ và tên", "Full name"),
                ("Ngày sinh", "Date of birth"),
                ("Giới tính", "Sex"),
                ("Xã, phường", "Commune"),
                ("Số hộ", "Household"),
                ("Tình trạng", "Status"),
            ],
        ),
        rows,
    }
}

/// The cards due for renewal.
pub fn due_sheet(lang: Lang, items: &[DueCard]) -> Sheet {
    let rows = items
        .iter()
        .map(|d| {
            vec![
                d.personal_id.to_string().into(),
                d.full_name.as_str().into(),
                Cell::stored_date(&d.birth_date),
                display::commune_short(&d.scope_commune).into(),
                Cell::Day(d.renewal_due_from),
                Cell::Day(d.expiry),
            ]
        })
        .collect();
    Sheet {
        file: "the-den-han-doi",
        title: lang.t("Thẻ đến hạn đổi", "Cards due").into(),
        headers: headers(
            lang,
            &[
                ("Số định danh", "Personal ID"),
                ("Họ và tên", "Full name"),
                ("Ngày sinh", "Date of birth"),
                ("Xã, phường", "Commune"),
                ("Bắt đầu đổi từ", "Renewal from"),
                ("Hết hạn", "Expires"),
            ],
        ),
        rows,
    }
}

/// A quality worklist; `detail` puts a finding's detail in words, as the page does.
pub fn worklist_sheet(
    lang: Lang,
    rule_name: &str,
    items: &[Finding],
    detail: impl Fn(&str) -> String,
) -> Sheet {
    let rows = items
        .iter()
        .map(|f| {
            vec![
                f.subject.as_str().into(),
                f.full_name.clone().unwrap_or_default().into(),
                display::commune_short(&f.scope_commune).into(),
                detail(&f.detail).into(),
                f.mark.as_ref().map(|m| m.reason.clone()).unwrap_or_default().into(),
            ]
        })
        .collect();
    Sheet {
        file: "danh-sach-can-xu-ly",
        title: rule_name.to_string(),
        headers: headers(
            lang,
            &[
                ("Số định danh / số hộ", "Personal ID / household"),
                ("Họ và tên", "Full name"),
                ("Xã, phường", "Commune"),
                ("Lý do", "Reason"),
                ("Ghi chú không khắc phục được", "Cannot-fix note"),
            ],
        ),
        rows,
    }
}

/// Duplicate pairs; a side outside the officer's scope stays masked.
pub fn pairs_sheet(lang: Lang, items: &[PairView]) -> Sheet {
    let masked = lang.t("hồ sơ ngoài địa bàn", "record outside your unit");
    let side = |s: Option<&PairSide>| -> [Cell; 3] {
        match s {
            Some(s) => [
                s.personal_id.to_string().into(),
                s.name.as_str().into(),
                display::commune_short(&s.commune).into(),
            ],
            None => [masked.into(), "".into(), "".into()],
        }
    };
    let rows = items
        .iter()
        .map(|p| {
            let mut row: Vec<Cell> = Vec::with_capacity(9);
            row.extend(side(p.left.as_ref()));
            row.extend(side(p.right.as_ref()));
            row.push(Cell::Num((p.probability * 1000.0).round() / 10.0));
            row.push(display::dedup_status(lang, &p.status).into());
            row.push(p.reason.as_str().into());
            row
        })
        .collect();
    Sheet {
        file: "cap-nghi-trung",
        title: lang.t("Cặp nghi trùng", "Duplicate pairs").into(),
        headers: headers(
            lang,
            &[
                ("Số định danh (1)", "Personal ID (1)"),
                ("Họ và tên (1)", "Full name (1)"),
                ("Xã, phường (1)", "Commune (1)"),
                ("Số định danh (2)", "Personal ID (2)"),
                ("Họ và tên (2)", "Full name (2)"),
                ("Xã, phường (2)", "Commune (2)"),
                ("Khả năng trùng (%)", "Likelihood (%)"),
                ("Trạng thái", "Status"),
                ("Lý do", "Reason"),
            ],
        ),
        rows,
    }
}

/// The columns reconciliation appends to the agency's list, with their headers.
const RECONCILE_COLUMNS: [(&str, &str, &str); 5] = [
    ("id_check", "Kiểm tra số định danh", "ID check"),
    ("status", "Kết quả đối chiếu", "Result"),
    ("reason", "Lý do", "Reason"),
    ("suggested_id", "Số định danh gợi ý", "Suggested ID"),
    ("score", "Điểm khớp", "Match score"),
];

/// The reconcile result file (the agency's columns, then the appended ones) as a sheet:
/// appended headers and categories in words.
pub fn reconcile_sheet(lang: Lang, result_csv: &[u8]) -> Result<Sheet, csv::Error> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(result_csv);
    let head = rdr.headers()?.clone();
    let coded: Vec<bool> = head.iter().map(|h| h == "id_check" || h == "status").collect();
    let headers = head
        .iter()
        .map(|h| {
            RECONCILE_COLUMNS
                .iter()
                .find(|c| c.0 == h)
                .map_or(h.to_string(), |c| lang.t(c.1, c.2).to_string())
        })
        .collect();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec?;
        rows.push(
            rec.iter()
                .enumerate()
                .map(|(i, v)| match coded.get(i) {
                    Some(true) if !v.is_empty() => display::reconcile_category(lang, v).into(),
                    _ => v.into(),
                })
                .collect(),
        );
    }
    Ok(Sheet {
        file: "ket-qua-doi-chieu",
        title: lang.t("Kết quả đối chiếu", "Reconciliation").into(),
        headers,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Sheet {
        Sheet {
            file: "t",
            title: "Thử: [một] trang".into(),
            headers: vec!["Số định danh".into(), "Ngày".into()],
            rows: vec![vec!["001085001234".into(), Cell::Day(NaiveDate::from_ymd_opt(1985, 3, 15).unwrap())]],
        }
    }

    #[test]
    fn csv_starts_with_a_bom_and_writes_days_as_in_vietnam() {
        let text = String::from_utf8(csv(&sheet())).unwrap();
        assert_eq!(text, "\u{feff}Số định danh,Ngày\r\n001085001234,15/03/1985\r\n");
    }

    #[test]
    fn the_format_comes_from_the_query_and_links_keep_it() {
        let uri: Uri = "/cards/due?on=01%2F02%2F2026&format=xlsx".parse().unwrap();
        assert_eq!(Format::of(&uri), Some(Format::Xlsx));
        assert_eq!(without_format(&uri).to_string(), "/cards/due?on=01%2F02%2F2026");
        assert_eq!(Format::of(&"/search?q=a".parse().unwrap()), None);
        assert_eq!(without_format(&"/dedup?format=csv".parse().unwrap()).to_string(), "/dedup");
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = xlsx(&sheet()).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
