//! A residence confirmation in headless Chromium, on both backends: a commune officer issues
//! one from the citizen's page; the QR code drawn on the document encodes exactly the link
//! shown under it (re-encoded here with `qrcode` and compared module by module); the link
//! opens the public check, without logging in, which says valid with the holder's name and
//! dates; the officer revokes it with a reason; the same link then says revoked.

use fantoccini::{Client, Locator};

use crate::browser::{browser, login, start_driver, text, text_until, wait_for, ONE_BROWSER};
use crate::common::*;

on_both_backends!(a_confirmation_verifies_by_its_qr_link_then_fails_after_revocation);

async fn a_confirmation_verifies_by_its_qr_link_then_fails_after_revocation(backend: &'static str) {
    let _one = ONE_BROWSER.lock().await;
    let Some(driver) = start_driver() else { return };
    let app = TestApp::start(backend).await;
    let c = browser(driver.port).await;
    let result = run(&c, &app).await;
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("{backend}: {e}"));
}

/// The SVG path `web/qr.rs` draws for `text` (4-module quiet zone, one square per module).
fn expected_path(text: &str) -> String {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).unwrap();
    let width = code.width();
    let mut path = String::new();
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            path.push_str(&format!("M{} {}h1v1h-1z", i % width + 4, i / width + 4));
        }
    }
    path
}

async fn status_of(c: &Client) -> String {
    wait_for(c, "[data-testid=verify-status]").await.attr("data-status").await.unwrap().unwrap_or_default()
}

async fn run(c: &Client, app: &TestApp) -> Result<(), String> {
    login(c, app, "xa_a", PASSWORD).await;
    wait_for(c, "[data-testid=current-user]").await;
    let pid = app.citizen_a.personal_id.to_string();
    c.goto(&format!("{}/citizens/{pid}", app.base)).await.unwrap();
    wait_for(c, "[data-testid=issue-confirmation]").await.click().await.unwrap();
    let state = text_until(c, "[data-testid=confirmation-status]", |t| t == "Còn hiệu lực").await;
    if state != "Còn hiệu lực" {
        return Err(format!("after issue: {state}"));
    }
    let doc = c.current_url().await.unwrap();
    let unit = text(c, "[data-testid=doc-unit]").await;
    assert_eq!(unit, "CÔNG AN PHƯỜNG BA ĐÌNH");
    let fields = text(c, "[data-testid=confirmation-fields]").await;
    assert!(fields.contains("Nguyễn Văn Ấn") && fields.contains(&pid), "{fields}");

    // The QR code encodes the link printed under it.
    let link = wait_for(c, "[data-testid=verify-link]").await.attr("href").await.unwrap().unwrap();
    assert!(link.starts_with(&format!("{}/verify?t=v1.", app.base)), "{link}");
    let drawn = c
        .find(Locator::Css("[data-testid=confirmation-qr] path"))
        .await
        .unwrap()
        .attr("d")
        .await
        .unwrap()
        .unwrap();
    if drawn != expected_path(&link) {
        return Err("the QR code drawn does not encode the verification link".into());
    }

    // The public check: valid, with the name and dates only.
    c.goto(&link).await.unwrap();
    let status = status_of(c).await;
    if status != "valid" {
        return Err(format!("check before revocation: {status}"));
    }
    assert_eq!(text(c, "[data-testid=verify-name]").await, "Nguyễn Văn Ấn");
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    assert_eq!(text(c, "[data-testid=verify-issued]").await, today.format("%d/%m/%Y").to_string());
    let result = text(c, "[data-testid=verify-result]").await;
    assert!(!result.contains(&pid), "the check shows no personal ID: {result}");

    // Revoked with a reason: the same link now fails.
    c.goto(doc.as_str()).await.unwrap();
    wait_for(c, "[data-testid=revoke-reason]").await.send_keys("cấp nhầm thông tin").await.unwrap();
    c.find(Locator::Css("[data-testid=revoke]")).await.unwrap().click().await.unwrap();
    let state = text_until(c, "[data-testid=confirmation-status]", |t| t == "Đã bị thu hồi").await;
    if state != "Đã bị thu hồi" {
        return Err(format!("after revocation: {state}"));
    }
    c.goto(&link).await.unwrap();
    let status = status_of(c).await;
    if status != "revoked" {
        return Err(format!("check after revocation: {status}"));
    }
    // An altered link is refused as forged or altered.
    let (head, sig) = link.rsplit_once('.').unwrap();
    let mut altered: Vec<char> = sig.chars().collect();
    altered[5] = if altered[5] == 'A' { 'B' } else { 'A' };
    let altered: String = altered.into_iter().collect();
    c.goto(&format!("{head}.{altered}")).await.unwrap();
    let status = status_of(c).await;
    let rule = wait_for(c, "[data-testid=verify-status]").await.attr("data-rule").await.unwrap();
    if status != "invalid" || rule.as_deref() != Some("confirmation.bad_signature") {
        return Err(format!("altered link: {status} {rule:?}"));
    }
    Ok(())
}
