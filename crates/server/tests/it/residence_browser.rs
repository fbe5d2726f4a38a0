//! Residence procedures in headless Chromium, on both backends (issue 14's "Done when"):
//! a citizen registers temporary residence online in another commune; that commune's officer
//! accepts and completes it; the home commune's officer still sees the person, now with both
//! residences. A permanent registration that would leave a household without a head is
//! refused with the rule in words, and nothing changes.

use fantoccini::{Client, Locator};

use crate::browser::{browser, login, start_driver, text, text_until, wait_for, ONE_BROWSER};
use crate::common::*;
use crate::oidc_flow::{code_now, PW};

on_both_backends!(a_temporary_registration_online_in_chromium, a_refused_permanent_registration_in_chromium);

async fn with_browser<F, Fut>(backend: &'static str, run: F)
where
    F: FnOnce(Client, TestApp) -> Fut,
    Fut: std::future::Future<Output = (Client, Result<(), String>)>,
{
    let _one = ONE_BROWSER.lock().await;
    let Some(driver) = start_driver() else { return };
    let app = TestApp::start(backend).await;
    let c = browser(driver.port).await;
    let (c, result) = run(c, app).await;
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("{backend}: {e}"));
}

async fn a_temporary_registration_online_in_chromium(backend: &'static str) {
    with_browser(backend, |c, app| async move {
        let r = temporary(&c, &app).await;
        (c, r)
    })
    .await;
}

async fn a_refused_permanent_registration_in_chromium(backend: &'static str) {
    with_browser(backend, |c, app| async move {
        let r = refused(&c, &app).await;
        (c, r)
    })
    .await;
}

async fn fill(c: &Client, name: &str, value: &str) {
    let e = wait_for(c, &format!("[name='{name}']")).await;
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

fn day(d: chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

async fn temporary(c: &Client, app: &TestApp) -> Result<(), String> {
    let pid = app.citizen_a.personal_id.to_string();
    let secret = crate::oidc_flow::citizen(app, 1).await;
    // The citizen logs in to the portal and fills the temporary-registration form.
    c.goto(&format!("{}/portal", app.base)).await.unwrap();
    fill(c, "personal_id", &pid).await;
    fill(c, "password", PW).await;
    fill(c, "code", &code_now(&secret, 0)).await;
    c.find(Locator::Css("#portal-login")).await.unwrap().click().await.unwrap();
    wait_for(c, "[data-testid=nav-applications]").await.click().await.unwrap();
    wait_for(c, "[data-testid=procedure-residence_temporary]").await.click().await.unwrap();
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    fill(c, "payload.unit", &format!("2025:{COMMUNE_B}")).await;
    fill(c, "payload.detail", "Phòng 3, số 10 phố Huế").await;
    fill(c, "payload.from", &day(today)).await;
    // Longer than two years first: refused at the field, what was typed kept.
    fill(c, "payload.until", &day(today + chrono::Duration::days(800))).await;
    c.find(Locator::Css("[data-testid=procedure-submit]")).await.unwrap().click().await.unwrap();
    let refusal = text(c, "[data-testid='error-payload.until']").await;
    if !refusal.contains("02 năm") {
        return Err(format!("two-year limit: {refusal}"));
    }
    fill(c, "payload.until", &day(today + chrono::Duration::days(365))).await;
    c.find(Locator::Css("[data-testid=procedure-submit]")).await.unwrap().click().await.unwrap();
    let state = text_until(c, "[data-testid=state]", |t| t == "Đã nộp").await;
    if state != "Đã nộp" {
        return Err(format!("after submission: {state}"));
    }
    let request = text(c, "[data-testid=request]").await;
    assert!(request.contains("Phòng 3, số 10 phố Huế"), "{request}");

    // The destination's officer works it from the queue.
    login(c, app, "xa_b", PASSWORD).await;
    wait_for(c, "[data-testid=current-user]").await;
    c.goto(&format!("{}/applications", app.base)).await.unwrap();
    wait_for(c, "[data-testid=application-link]").await.click().await.unwrap();
    for to in ["accepted", "in_process", "completed"] {
        wait_for(c, &format!("[data-testid=move-{to}]")).await.click().await.unwrap();
    }
    let state = text_until(c, "[data-testid=state]", |t| t == "Đã giải quyết").await;
    if state != "Đã giải quyết" {
        return Err(format!("after completion: {state}"));
    }
    c.goto(&format!("{}/citizens/{pid}", app.base)).await.unwrap();
    let records = text(c, "[data-testid=residences]").await;
    assert!(records.contains("Tạm trú") && records.contains("Phòng 3, số 10 phố Huế"), "{records}");

    // The home commune still sees its resident, with both residences.
    c.delete_all_cookies().await.unwrap();
    login(c, app, "xa_a", PASSWORD).await;
    wait_for(c, "[data-testid=current-user]").await;
    c.goto(&format!("{}/citizens/{pid}", app.base)).await.unwrap();
    let name = text(c, "[data-testid=citizen-name]").await;
    if name != "Nguyễn Văn Ấn" {
        return Err(format!("home commune: {name}"));
    }
    let records = text(c, "[data-testid=residences]").await;
    assert!(records.contains("Thường trú") && records.contains("Tạm trú"), "{records}");
    Ok(())
}

async fn refused(c: &Client, app: &TestApp) -> Result<(), String> {
    use dancu_domain::household::{Household, Member};
    let head = app.citizen_a.personal_id.to_string();
    let spouse = draft("001195000111", "Lê", "Thị", "Hoa", "02/02/1995", "Nữ", COMMUNE_A)
        .validate(chrono::Utc::now().date_naive())
        .unwrap();
    let ch =
        dancu_store::Change {
            actor: "test:setup".into(), reason: "lập hộ".into(), at: chrono::Utc::now()
        };
    app.store.create_citizen(&spouse, &ch).await.unwrap();
    let h = Household {
        number: "HA1".into(),
        members: vec![
            Member { personal_id: app.citizen_a.personal_id, relation: dancu_domain::Relation::Head },
            Member { personal_id: spouse.personal_id, relation: dancu_domain::Relation::Spouse },
        ],
    };
    app.store.create_household(&h, &ch).await.unwrap();

    login(c, app, "xa_a", PASSWORD).await;
    wait_for(c, "[data-testid=current-user]").await;
    c.goto(&format!("{}/applications/new/residence_permanent?personal_id={head}", app.base)).await.unwrap();
    fill(c, "payload.detail", "Số 99 đường Láng").await;
    c.find(Locator::Css("[data-testid=procedure-submit]")).await.unwrap().click().await.unwrap();
    let state = text_until(c, "[data-testid=state]", |t| t == "Đã nộp").await;
    if state != "Đã nộp" {
        return Err(format!("after intake: {state}"));
    }
    let page = c.current_url().await.unwrap();
    for to in ["accepted", "in_process", "completed"] {
        wait_for(c, &format!("[data-testid=move-{to}]")).await.click().await.unwrap();
    }
    let refusal = text_until(c, "main", |t| t.contains("không có chủ hộ")).await;
    if !refusal.contains("Chủ hộ rời đi sẽ để hộ HA1 không có chủ hộ") {
        return Err(format!("refusal: {refusal}"));
    }
    // Nothing changed: still in process, still the head of HA1.
    c.goto(page.as_str()).await.unwrap();
    let state = text(c, "[data-testid=state]").await;
    if state != "Đang xử lý" {
        return Err(format!("after the refusal: {state}"));
    }
    c.goto(&format!("{}/households/HA1", app.base)).await.unwrap();
    let members = text(c, "main").await;
    assert!(members.contains("Nguyễn Văn Ấn") && members.contains("Chủ hộ"), "{members}");
    Ok(())
}
