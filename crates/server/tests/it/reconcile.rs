//! The reconciliation upload page on SQLite and PostgreSQL: a sector list with planted
//! errors classified against the officer's part of the registry.

use crate::common::*;
use dancu_domain::citizen::CSV_COLUMNS;
use reqwest::StatusCode;

on_both_backends!(
    each_row_is_classified,
    the_result_file_adds_the_classification,
    officers_match_against_their_scope_only,
    a_bad_mapping_is_named,
);

fn row(pid: &str, family: &str, middle: &str, given: &str, dob: &str, sex: &str) -> String {
    let mut f = vec![String::new(); CSV_COLUMNS.len()];
    let mut set = |col: &str, v: &str| f[CSV_COLUMNS.iter().position(|c| *c == col).unwrap()] = v.into();
    set("personal_id", pid);
    set("family_name", family);
    set("middle_name", middle);
    set("given_name", given);
    set("birth_date", dob);
    set("sex", sex);
    set("permanent_unit", &format!("2025:{COMMUNE_A}"));
    set("permanent_detail", "Số 5 ngõ 12");
    f.join(",")
}

pub(crate) async fn upload(app: &TestApp, user: &str, csv: &str, format: &str) -> reqwest::Response {
    let t = app.token(user).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", "")
        .text("mapping", "")
        .text("format", format.to_string())
        .part("list", reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("list.csv"));
    app.client().post(format!("{}/reconcile", app.base)).bearer_auth(&t).multipart(form).send().await.unwrap()
}

fn cell(html: &str, id: &str) -> String {
    let key = format!("data-testid=\"{id}\">");
    let at = html.find(&key).unwrap_or_else(|| panic!("{id} in {html}")) + key.len();
    html[at..].split('<').next().unwrap().to_string()
}

/// A registry big enough for the model to learn how often fields agree by chance.
async fn fill_registry(app: &TestApp) {
    let family = ["Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"];
    let given = ["Hùng", "Lan", "Minh", "Hoa", "Tuấn", "Mai", "Dũng", "Thảo", "Nam", "Linh", "Quang", "Yến"];
    let ch =
        dancu_store::Change { actor: "test".into(), reason: "test".into(), at: dancu_store::registry::now() };
    let rows: Vec<dancu_store::ImportRow> = (0..240u32)
        .map(|i| {
            let year = 1950 + (i % 50) as i32;
            let sex = if i % 2 == 0 { dancu_domain::Sex::Male } else { dancu_domain::Sex::Female };
            let pid = dancu_domain::PersonalId::compose("01", sex, year, 200 + i).unwrap().to_string();
            let dob = format!("{:02}/{:02}/{year}", 1 + i % 28, 1 + i % 12);
            let sx = if i % 2 == 0 { "Nam" } else { "Nữ" };
            let c =
                draft(&pid, family[(i % 10) as usize], "Văn", given[(i % 12) as usize], &dob, sx, COMMUNE_A)
                    .validate(chrono::Utc::now().date_naive())
                    .unwrap();
            dancu_store::ImportRow { line: i as u64, citizen: c, household: None }
        })
        .collect();
    app.store.import_batch(&rows, &ch).await.unwrap();
}

/// A filled registry and the uploaded list: one row of each classification.
pub(crate) async fn start(backend: &'static str) -> (TestApp, String) {
    let app = TestApp::start(backend).await;
    fill_registry(&app).await;
    let a = app.citizen_a.personal_id.to_string();
    let csv = [
        CSV_COLUMNS.join(","),
        row(&a, "Nguyễn", "Văn", "Ấn", "15/03/1985", "Nam"), // matched
        row(&a, "Nguyễn", "Văn", "Ấn", "15/03/1986", "Nam"), // details disagree (birth date)
        row("", "Nguyen", "Van", "An", "15/03/1985", "Nam"), // no ID: probable match
        row("12345", "Lê", "Thị", "Hoa", "1970", "Nữ"),      // bad format
        row("001085009999", "Lê", "Văn", "Khác", "1985", "Nam"), // not in the registry
    ]
    .join("\n");
    (app, csv)
}

async fn each_row_is_classified(backend: &'static str) {
    let (app, csv) = &start(backend).await;
    let r = upload(app, "xa_a", csv, "html").await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert_eq!(cell(&html, "total-rows"), "5", "{html}");
    assert_eq!(cell(&html, "total-matched"), "1");
    assert_eq!(cell(&html, "total-details_disagree"), "1");
    assert_eq!(cell(&html, "total-probable_match"), "1");
}

/// The result file: the agency's columns plus the classification.
async fn the_result_file_adds_the_classification(backend: &'static str) {
    let (app, csv) = &start(backend).await;
    let a = app.citizen_a.personal_id.to_string();
    let r = upload(app, "xa_a", csv, "csv").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let out = r.text().await.unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].ends_with("id_check,status,reason,suggested_id,score"), "{}", lines[0]);
    assert!(lines[3].contains("probable_match") && lines[3].contains(&a), "{}", lines[3]);
    assert!(lines[4].contains("id_bad_format"), "{}", lines[4]);
    assert!(lines[5].contains("id_not_in_registry"), "{}", lines[5]);
}

/// Commune B's officer matches against commune B only: A is not found there.
async fn officers_match_against_their_scope_only(backend: &'static str) {
    let (app, csv) = &start(backend).await;
    let html = upload(app, "xa_b", csv, "html").await.text().await.unwrap();
    assert_eq!(cell(&html, "total-matched"), "0");
}

async fn a_bad_mapping_is_named(backend: &'static str) {
    let (app, csv) = &start(backend).await;
    let t = app.token("xa_a").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", "")
        .text("mapping", "[columns]\nfull_name = 3")
        .part("list", reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()));
    let r = app
        .client()
        .post(format!("{}/reconcile", app.base))
        .bearer_auth(&t)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("mapping.invalid"));
}
