//! The write screens in headless Chromium at phone width (390 px), on both backends: a
//! commune officer registers a newborn into a household (a bad date first: refused at its
//! field, the form kept), changes the child's address and reads the change in the history;
//! and splits a household.

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{browser, fill, login, start_driver, text, text_until, wait_for, ONE_BROWSER};
use crate::common::*;

on_both_backends!(newborn_and_address_change_in_chromium, household_split_in_chromium);

/// A browser session's steps: `Err` says what the officer saw instead.
type Steps<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + 'a>>;

async fn run_in_chromium(
    backend: &'static str,
    setup: &[(&str, &str)],
    test: for<'a> fn(&'a Client, &'a TestApp) -> Steps<'a>,
) {
    let _one = ONE_BROWSER.lock().await;
    let Some(driver) = start_driver() else { return };
    let app = TestApp::start(backend).await;
    household(&app, setup).await;
    let c = browser(driver.port).await;
    c.set_window_size(390, 844).await.unwrap();
    let result = test(&c, &app).await;
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("{backend}: {e}"));
}

/// Household HK1 headed by citizen A, with the extra members given (created first).
async fn household(app: &TestApp, extra: &[(&str, &str)]) {
    let t = app.token("xa_a").await;
    let mut members = vec![json!({"personal_id": app.citizen_a.personal_id.to_string(), "relation": "head"})];
    for (i, (id, dob)) in extra.iter().enumerate() {
        let sex = if id.as_bytes()[3] % 2 == 0 { "Nam" } else { "Nữ" };
        let d = draft(id, "Nguyễn", "Văn", ["Hai", "Ba"][i % 2], dob, sex, COMMUNE_A);
        let r = app
            .post_json(
                &t,
                format!("{}/api/v1/citizens", app.base),
                &json!({"citizen": d, "reason": "đăng ký thường trú"}),
            )
            .await;
        assert_eq!(r.status(), 201);
        members.push(json!({"personal_id": id, "relation": "child"}));
    }
    let r = app
        .post_json(
            &t,
            format!("{}/api/v1/households", app.base),
            &json!({"number": "HK1", "reason": "lập hộ", "members": members}),
        )
        .await;
    assert_eq!(r.status(), 201);
}

async fn value(c: &Client, css: &str) -> String {
    wait_for(c, css).await.prop("value").await.unwrap().unwrap_or_default()
}

async fn click(c: &Client, css: &str) {
    wait_for(c, css).await.click().await.unwrap();
}

/// Nothing on the page is wider than the phone.
async fn fits(c: &Client, what: &str) -> Result<(), String> {
    let v =
        c.execute("return document.documentElement.scrollWidth - window.innerWidth;", vec![]).await.unwrap();
    match v.as_i64().unwrap() {
        n if n <= 0 => Ok(()),
        n => Err(format!("{what} is {n}px wider than a 390px phone")),
    }
}

async fn logged_in(c: &Client, app: &TestApp) {
    login(c, app, "xa_a", PASSWORD).await;
    wait_for(c, "[data-testid=current-user]").await;
}

fn newborn_and_address<'a>(c: &'a Client, app: &'a TestApp) -> Steps<'a> {
    Box::pin(async move {
        logged_in(c, app).await;
        c.goto(&format!("{}/households/HK1", app.base)).await.unwrap();
        click(c, "[data-testid=new-birth-link]").await;
        wait_for(c, "[data-testid=birth-form]").await;
        fits(c, "the newborn form").await?;
        fill(c, "#family_name", "Nguyễn").await;
        fill(c, "#middle_name", "Minh").await;
        fill(c, "#given_name", "Khôi").await;
        fill(c, "#birth_date", "31/02/2026").await;
        fill(c, "#mother_name", "Lê Thị Hoa").await;
        fill(c, "#permanent_detail", "Số 5 ngõ 12").await;
        click(c, "#birth-submit").await;
        // Refused at the date, in words; what was typed is still there.
        let err = text(c, "[data-testid=error-birth_date]").await;
        if !err.contains("ngày/tháng/năm") {
            return Err(format!("date error: {err}"));
        }
        if value(c, "#given_name").await != "Khôi" || value(c, "#household").await != "HK1" {
            return Err("the typed values were lost".into());
        }
        fits(c, "the refused newborn form").await?;
        fill(c, "#birth_date", "15/01/2026").await;
        click(c, "#birth-submit").await;
        let name = text(c, "[data-testid=citizen-name]").await;
        if name != "Nguyễn Minh Khôi" {
            return Err(format!("after registration: {name}"));
        }
        if text(c, "[data-testid=household-link]").await != "HK1" {
            return Err("the child is not in household HK1".into());
        }

        // The child's address: the detail line changes, with a reason.
        click(c, "[data-testid=address-link]").await;
        wait_for(c, "[data-testid=address-form]").await;
        fits(c, "the address form").await?;
        fill(c, "#permanent_detail", "Số 9 phố Đội Cấn").await;
        fill(c, "#reason", "chuyển chỗ ở trong phường").await;
        click(c, "#address-submit").await;
        wait_for(c, "[data-testid=citizen-name]").await;
        let history = text(c, "[data-testid=history]").await;
        for want in [
            "Nơi thường trú",
            "Số 5 ngõ 12",
            "Số 9 phố Đội Cấn",
            "chuyển chỗ ở trong phường",
            "Cán bộ xa_a",
            "Tạo mới",
        ] {
            if !history.contains(want) {
                return Err(format!("history lacks {want}: {history}"));
            }
        }
        fits(c, "the citizen page with its history").await
    })
}

async fn newborn_and_address_change_in_chromium(backend: &'static str) {
    run_in_chromium(backend, &[], newborn_and_address).await
}

const SON: &str = "001201000777";
const DAUGHTER: &str = "001303000888";

fn split<'a>(c: &'a Client, app: &'a TestApp) -> Steps<'a> {
    Box::pin(async move {
        logged_in(c, app).await;
        c.goto(&format!("{}/households/HK1", app.base)).await.unwrap();
        click(c, "[data-testid=op-split]").await;
        click(c, &format!("[data-testid=leave-{SON}]")).await;
        click(c, &format!("[data-testid=leave-{DAUGHTER}]")).await;
        click(c, &format!("select[name=rel_{DAUGHTER}] option[value=sibling]")).await;
        fill(c, "#split_new_number", "HK2").await;
        click(c, &format!("#split_new_head option[value='{SON}']")).await;
        fill(c, "#split_reason", "tách hộ").await;
        fits(c, "the household page with its operations").await?;
        click(c, "#split-submit").await;
        // The old page shows its own number until the new one has loaded.
        let number = text_until(c, "[data-testid=household-number]", |t| t == "HK2").await;
        if number != "HK2" {
            return Err(format!("after the split: household {number}"));
        }
        let members = text(c, "[data-testid=members]").await;
        if !(members.contains(SON) && members.contains(DAUGHTER) && members.contains("Chủ hộ")) {
            return Err(format!("the new household: {members}"));
        }
        c.goto(&format!("{}/households/HK1", app.base)).await.unwrap();
        let members = text(c, "[data-testid=members]").await;
        if members.contains(SON) || members.contains(DAUGHTER) {
            return Err(format!("the old household kept them: {members}"));
        }
        let history = text(c, "[data-testid=household-history]").await;
        if !(history.contains("Đã rời hộ") && history.contains("tách hộ")) {
            return Err(format!("old household history: {history}"));
        }
        let _ = c.find(Locator::Css("body")).await;
        fits(c, "the household history").await
    })
}

async fn household_split_in_chromium(backend: &'static str) {
    run_in_chromium(backend, &[(SON, "2001-01-09"), (DAUGHTER, "2003-05-05")], split).await
}
