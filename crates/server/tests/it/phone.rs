//! The phone layout in headless Chromium at 390 × 844, on both backends: the citizen
//! portal (login, registration, the authenticator key with its QR code) and wide tables
//! (search results, a citizen's access log) fit the screen, tables become stacked cards, a
//! residence confirmation and the public check of its QR link fit, and on a desktop the
//! login box is not full width.

use fantoccini::Client;

use crate::browser::{browser, fill, login, start_driver, wait_for, ONE_BROWSER};
use crate::common::*;

on_both_backends!(phone_layout_in_chromium);

/// How far the page is wider than the window (`scrollWidth - innerWidth`), in pixels.
async fn overflow(c: &Client) -> i64 {
    let v =
        c.execute("return document.documentElement.scrollWidth - window.innerWidth;", vec![]).await.unwrap();
    v.as_i64().unwrap()
}

/// The CSS `display` of the first element matching `css`.
async fn display_of(c: &Client, css: &str) -> String {
    let js = format!("return getComputedStyle(document.querySelector({css:?})).display;");
    c.execute(&js, vec![]).await.unwrap().as_str().unwrap_or_default().to_string()
}

async fn fits(c: &Client, what: &str) -> Result<(), String> {
    match overflow(c).await {
        n if n <= 0 => Ok(()),
        n => Err(format!("{what} is {n}px wider than a 390px phone")),
    }
}

async fn phone_layout_in_chromium(backend: &'static str) {
    let _one = ONE_BROWSER.lock().await;
    let Some(driver) = start_driver() else { return };
    let app = TestApp::start(backend).await;
    let c = browser(driver.port).await;
    let result = run(&c, &app).await;
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("{backend}: {e}"));
}

async fn run(c: &Client, app: &TestApp) -> Result<(), String> {
    // Desktop: the login box is a box, not the page's width.
    c.goto(&format!("{}/login", app.base)).await.unwrap();
    let width = c
        .execute("return document.querySelector('main section').getBoundingClientRect().width;", vec![])
        .await
        .unwrap();
    if width.as_f64().unwrap() > 460.0 {
        return Err(format!("the login box is {width}px wide on a 1200px screen"));
    }

    c.set_window_size(390, 844).await.unwrap();
    // The portal: login page, registration, the authenticator key page.
    c.goto(&format!("{}/portal", app.base)).await.unwrap();
    wait_for(c, "#portal-login").await;
    fits(c, "the portal login").await?;
    c.goto(&format!("{}/portal/register", app.base)).await.unwrap();
    fill(c, "#personal_id", app.citizen_a.personal_id.as_str()).await;
    fill(c, "#full_name", "Nguyễn Văn Ấn").await;
    fill(c, "#birth_date", "15/03/1985").await;
    fill(c, "#phone", "0912345678").await;
    wait_for(c, "#portrait_captured").await.click().await.unwrap();
    fill(c, "#password", "mat-khau-cong-dan-1").await;
    fill(c, "#password2", "mat-khau-cong-dan-1").await;
    wait_for(c, "#register").await.click().await.unwrap();
    wait_for(c, "[data-testid=totp-qr]").await;
    let link = wait_for(c, "[data-testid=totp-link]").await.attr("href").await.unwrap().unwrap_or_default();
    if !link.starts_with("otpauth://totp/") {
        return Err(format!("the authenticator link is {link}"));
    }
    fits(c, "the authenticator key page").await?;

    // Wide tables: search results and the citizen's access log become stacked cards.
    login(c, app, "xa_a", PASSWORD).await;
    wait_for(c, "[data-testid=current-user]").await;
    c.goto(&format!("{}/search?q=nguyen", app.base)).await.unwrap();
    wait_for(c, "[data-testid=results]").await;
    fits(c, "the search results").await?;
    let row = display_of(c, "[data-testid=results] tbody tr").await;
    if row != "block" {
        return Err(format!("a result row is displayed as {row}, not as a card"));
    }
    if display_of(c, "[data-testid=results] thead").await != "none" {
        return Err("the table head is still shown on a phone".into());
    }
    c.goto(&format!("{}/citizens/{}", app.base, app.citizen_a.personal_id)).await.unwrap();
    wait_for(c, "[data-testid=access-log]").await;
    fits(c, "the citizen page with its access log").await?;
    // A residence confirmation: the document with its QR code, and the public check of its
    // link (long: it must wrap, not widen the page).
    wait_for(c, "[data-testid=issue-confirmation]").await.click().await.unwrap();
    wait_for(c, "[data-testid=confirmation-qr]").await;
    fits(c, "a residence confirmation").await?;
    let link = wait_for(c, "[data-testid=verify-link]").await.attr("href").await.unwrap().unwrap_or_default();
    c.goto(&link).await.unwrap();
    wait_for(c, "[data-testid=verify-status]").await;
    fits(c, "the public check of a confirmation").await?;
    c.set_window_size(1200, 900).await.unwrap();
    Ok(())
}
