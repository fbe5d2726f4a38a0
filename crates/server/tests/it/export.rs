//! Excel and CSV downloads of the officer lists on SQLite and PostgreSQL: read back with
//! calamine (headers and a row), CSV with its BOM, in the officer's scope, audited under
//! each exported citizen.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use dancu_store::AuditFilter;
use reqwest::StatusCode;

use crate::common::*;

on_both_backends!(
    search_results_download_as_xlsx_and_csv_in_scope_and_audited,
    the_due_list_downloads_with_its_dates,
    a_quality_worklist_downloads,
    duplicate_pairs_download_with_the_outside_side_masked,
    reconcile_results_download_as_xlsx_and_csv_with_a_bom,
);

/// GET as `user`; the status, content type and body.
async fn download(app: &TestApp, user: &str, path: &str) -> (StatusCode, String, Vec<u8>) {
    let t = app.token(user).await;
    let r = app.client().get(format!("{}{path}", app.base)).bearer_auth(&t).send().await.unwrap();
    let mime = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), mime, r.bytes().await.unwrap().to_vec())
}

/// The first sheet's cells as text; dates as DD/MM/YYYY.
pub(crate) fn cells(xlsx: &[u8]) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(xlsx.to_vec())).expect("a workbook");
    let range = wb.worksheet_range_at(0).expect("one sheet").expect("readable");
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Data::DateTime(d) => {
                        (epoch + chrono::Duration::days(d.as_f64() as i64)).format("%d/%m/%Y").to_string()
                    }
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

async fn search_results_download_as_xlsx_and_csv_in_scope_and_audited(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let a = app.citizen_a.personal_id.to_string();
    let audit = |s: String| async move {
        let f = AuditFilter { subject: Some(s), limit: 1000, ..Default::default() };
        app.store.list_audit(&f).await.unwrap().items.len()
    };
    let before = audit(a.clone()).await;
    let (status, mime, bytes) = download(app, "xa_a", "/search?q=nguyen&format=xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert!(mime.contains("spreadsheetml"), "{mime}");
    let rows = cells(&bytes);
    assert_eq!(rows[0][..3], ["Số định danh", "Họ và tên", "Ngày sinh"]);
    assert_eq!(rows[1][..4], [a.as_str(), "Nguyễn Văn Ấn", "15/03/1985", "Nam"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(audit(a.clone()).await, before + 1, "the export is audited under the citizen");

    let (_, mime, bytes) = download(app, "xa_a", "/search?q=nguyen&format=csv").await;
    assert!(mime.starts_with("text/csv"), "{mime}");
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("\u{feff}Số định danh,Họ và tên,Ngày sinh,"), "{text}");
    assert!(text.contains(&format!("{a},Nguyễn Văn Ấn,15/03/1985,Nam,")), "{text}");

    // Commune B's officer exports nothing of commune A; the page offers the links.
    let (_, _, bytes) = download(app, "xa_b", "/search?q=nguyen&format=xlsx").await;
    assert_eq!(cells(&bytes).len(), 1, "headers only");
    let (_, _, html) = download(app, "xa_a", "/search?q=nguyen").await;
    assert!(String::from_utf8(html).unwrap().contains("/search?q=nguyen&amp;format=xlsx"));
}

async fn the_due_list_downloads_with_its_dates(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let a = app.citizen_a.personal_id.to_string();
    crate::card_law::issue_card(app, &t, &a).await;
    let issued = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let expiry = dancu_identity::card_expiry(&app.citizen_a.birth_date, issued).unwrap();
    let on = (expiry - chrono::Duration::days(40)).format("%d/%m/%Y").to_string();
    let path = format!("/cards/due?on={}&within_days=10&format=xlsx", on.replace('/', "%2F"));
    let (status, _, bytes) = download(app, "xa_a", &path).await;
    assert_eq!(status, StatusCode::OK);
    let rows = cells(&bytes);
    assert_eq!(
        rows[0],
        ["Số định danh", "Họ và tên", "Ngày sinh", "Xã, phường", "Bắt đầu đổi từ", "Hết hạn"]
    );
    assert_eq!(rows[1][0], a);
    assert_eq!(rows[1][5], expiry.format("%d/%m/%Y").to_string());
}

async fn a_quality_worklist_downloads(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("admin").await;
    let r = app.client().post(format!("{}/quality/runs", app.base)).bearer_auth(&t).form(&[("csrf", "")]);
    assert_eq!(r.send().await.unwrap().status(), StatusCode::SEE_OTHER);
    let (status, _, bytes) = download(app, "xa_a", "/quality/missing_fields?format=xlsx").await;
    assert_eq!(status, StatusCode::OK);
    let rows = cells(&bytes);
    assert_eq!(rows[0][..4], ["Số định danh / số hộ", "Họ và tên", "Xã, phường", "Lý do"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][0], app.citizen_a.personal_id.to_string());
    assert!(rows[1][3].contains("quê quán"), "the reason in words: {}", rows[1][3]);
}

async fn duplicate_pairs_download_with_the_outside_side_masked(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    crate::dedup::plant(app).await;
    let (status, _, bytes) = download(app, "xa_b", "/dedup?format=xlsx").await;
    assert_eq!(status, StatusCode::OK);
    let rows = cells(&bytes);
    assert_eq!(rows[0][..2], ["Số định danh (1)", "Họ và tên (1)"]);
    assert_eq!(rows.len(), 2, "commune B sees only the cross pair: {rows:?}");
    let line = rows[1].join("|");
    assert!(line.contains("hồ sơ ngoài địa bàn"), "{line}");
    assert!(!line.contains(&app.citizen_a.personal_id.to_string()), "{line}");
}

async fn reconcile_results_download_as_xlsx_and_csv_with_a_bom(backend: &'static str) {
    let (app, csv) = &crate::reconcile::start(backend).await;
    let r = crate::reconcile::upload(app, "xa_a", csv, "xlsx").await;
    assert_eq!(r.status(), StatusCode::OK);
    let rows = cells(&r.bytes().await.unwrap());
    let head = rows[0].join("|");
    assert!(head.starts_with("personal_id|"), "the agency's columns first: {head}");
    assert!(
        head.ends_with("Kiểm tra số định danh|Kết quả đối chiếu|Lý do|Số định danh gợi ý|Điểm khớp"),
        "{head}"
    );
    assert!(rows[1].contains(&"Khớp".to_string()), "{:?}", rows[1]);
    let r = crate::reconcile::upload(app, "xa_a", csv, "csv").await;
    assert!(r.bytes().await.unwrap().starts_with("\u{feff}personal_id,".as_bytes()));
}
