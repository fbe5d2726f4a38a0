//! A public-service application in headless Chromium, on both backends: a commune officer
//! takes in an old-CMND-number confirmation at the desk, finds it in the queue with its
//! due date (three working days, computed here on the calendar), asks for more
//! information with a reason, resumes and completes it; the history shows every step.

use fantoccini::{Client, Locator};

use crate::browser::{browser, login, start_driver, text, text_until, wait_for, ONE_BROWSER};
use crate::common::*;

on_both_backends!(an_officer_works_an_application_in_chromium);

async fn an_officer_works_an_application_in_chromium(backend: &'static str) {
    let _one = ONE_BROWSER.lock().await;
    let Some(driver) = start_driver() else { return };
    let app = TestApp::start(backend).await;
    let c = browser(driver.port).await;
    let result = run(&c, &app).await;
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("{backend}: {e}"));
}

async fn run(c: &Client, app: &TestApp) -> Result<(), String> {
    login(c, app, "xa_a", PASSWORD).await;
    wait_for(c, "[data-testid=current-user]").await;
    c.goto(&format!("{}/applications", app.base)).await.unwrap();
    let pid = app.citizen_a.personal_id.to_string();
    c.find(Locator::Css("#personal_id")).await.unwrap().send_keys(&pid).await.unwrap();
    c.find(Locator::Css("#service_code option[value=cmnd_confirm]")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("[data-testid=intake-submit]")).await.unwrap().click().await.unwrap();
    let state = text_until(c, "[data-testid=state]", |t| t == "Đã nộp").await;
    if state != "Đã nộp" {
        return Err(format!("after intake: {state}"));
    }
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let due = dancu_domain::WorkingCalendar::vietnam().add_working_days(today, 3);
    assert_eq!(text(c, "[data-testid=due]").await, due.format("%d/%m/%Y").to_string());
    assert_eq!(
        text(c, "[data-testid=service]").await,
        "Xác nhận số Chứng minh nhân dân khi đã được cấp thẻ Căn cước công dân"
    );
    let page = c.current_url().await.unwrap();

    // In the queue, with its due date.
    c.goto(&format!("{}/applications", app.base)).await.unwrap();
    assert_eq!(text(c, "[data-testid=total]").await, "1");
    wait_for(c, "[data-testid=application-link]").await.click().await.unwrap();
    text_until(c, "[data-testid=state]", |t| t == "Đã nộp").await;
    assert_eq!(c.current_url().await.unwrap().path(), page.path());

    // Accepted, in process, more information asked for (a reason is required).
    for to in ["accepted", "in_process"] {
        wait_for(c, &format!("[data-testid=move-{to}]")).await.click().await.unwrap();
    }
    wait_for(c, "#reason-info_requested").await.send_keys("thiếu hợp đồng thuê nhà").await.unwrap();
    c.find(Locator::Css("[data-testid=move-info_requested]")).await.unwrap().click().await.unwrap();
    let state = text_until(c, "[data-testid=state]", |t| t.starts_with("Yêu cầu bổ sung")).await;
    if state != "Yêu cầu bổ sung: thiếu hợp đồng thuê nhà" {
        return Err(format!("after the request: {state}"));
    }
    wait_for(c, "[data-testid=move-in_process]").await.click().await.unwrap();
    wait_for(c, "[data-testid=move-completed]").await.click().await.unwrap();
    let state = text_until(c, "[data-testid=state]", |t| t == "Đã giải quyết").await;
    if state != "Đã giải quyết" {
        return Err(format!("after completion: {state}"));
    }
    let events = text(c, "[data-testid=events]").await;
    for step in ["Đã tiếp nhận", "Đang xử lý", "Yêu cầu bổ sung", "Đã giải quyết"] {
        assert!(events.contains(step), "{step} missing from {events}");
    }
    assert!(c.find(Locator::Css("[data-testid=moves]")).await.is_err(), "a completed file has no moves");
    Ok(())
}
