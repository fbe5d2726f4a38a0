//! Browser tests in headless Chromium (Debian's `chromium` + `chromium-driver`): log in,
//! search, open a citizen, check what is shown and what is not, take an ID card from intake
//! to hand-over; a citizen's level-1 registration refused on a wrong date of birth, then
//! accepted, approved by an officer, a TOTP login, and the officer's read in "who accessed my
//! data"; on both backends.

use std::time::Duration;

use crate::common::*;
#[path = "../support/chromium.rs"]
mod chromium;
pub(crate) use chromium::{browser, start_driver, wait_for};
use fantoccini::{Client, Locator};

/// The text of an element, waiting (up to 10 s) for it to appear: a click that submits a
/// form returns before the next page has loaded. An element found on the page being left
/// goes stale when the next one loads; it is then looked up again.
pub(crate) async fn text(c: &Client, css: &str) -> String {
    for _ in 0..50 {
        match wait_for(c, css).await.text().await {
            Ok(t) => return t,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("element {css} kept going stale")
}

/// Waits until the element's text satisfies `ok`; its last text.
pub(crate) async fn text_until(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if let Ok(t) = e.text().await {
                if ok(&t) {
                    return t;
                }
                last = t;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

/// The page is no wider than the window (nothing scrolls sideways on a phone).
async fn assert_fits(c: &Client, what: &str) {
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(overflow.as_i64().unwrap() <= 0, "{what} overflows a phone screen by {overflow}px");
}

pub(crate) async fn login(c: &Client, app: &TestApp, user: &str, password: &str) {
    c.goto(&format!("{}/search", app.base)).await.unwrap();
    // Not logged in: sent to the login page.
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    c.find(Locator::Css("#username")).await.unwrap().send_keys(user).await.unwrap();
    c.find(Locator::Css("#password")).await.unwrap().send_keys(password).await.unwrap();
    c.find(Locator::Css("#login")).await.unwrap().click().await.unwrap();
}

/// Logs the officer out and waits for the login page it leads to: the click returns
/// before the form's navigation ends, and a `goto` issued meanwhile can be overtaken by it.
async fn logout(c: &Client) {
    c.find(Locator::Css("header form button")).await.unwrap().click().await.unwrap();
    wait_for(c, "#username").await;
}

on_both_backends!(officer_pages_in_chromium, citizen_portal_in_chromium);

/// One browser at a time: the tests run in parallel, and two Chromiums on a small machine
/// make page waits flaky.
pub(crate) static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn officer_pages_in_chromium(backend: &'static str) {
    let _one = ONE_BROWSER.lock().await;
    let Some(driver) = start_driver() else { return };
    let app = TestApp::start(backend).await;
    let c = browser(driver.port).await;
    let result = run_pages(&c, &app).await;
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("{backend}: {e}"));
}

async fn run_pages(c: &Client, app: &TestApp) -> Result<(), String> {
    // A wrong password shows the reason and stays on the login page.
    login(c, app, "xa_a", "wrong-password-123").await;
    let err = text(c, "[data-testid=login-error]").await;
    if !err.contains("Sai tên đăng nhập hoặc mật khẩu") {
        return Err(format!("login error text: {err}"));
    }

    // Commune A's officer logs in and lands on search.
    c.find(Locator::Css("#password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    c.find(Locator::Css("#login")).await.unwrap().click().await.unwrap();
    // The next page's header, before the address is read: the click may return before the
    // navigation ends.
    wait_for(c, "[data-testid=current-user]").await;
    let url = c.current_url().await.unwrap();
    if url.path() != "/search" {
        return Err(format!("after login at {url}"));
    }
    let who = text(c, "[data-testid=current-user]").await;
    assert!(who.contains("xa_a"), "{who}");

    // Search without marks finds the citizen with marks.
    c.find(Locator::Css("#q")).await.unwrap().send_keys("nguyen van an").await.unwrap();
    c.find(Locator::Css("#search-button")).await.unwrap().click().await.unwrap();
    let count = text(c, "[data-testid=result-count]").await;
    assert!(count.ends_with(": 1"), "result count: {count}");
    let name = text(c, "a.name").await;
    assert_eq!(name, "Nguyễn Văn Ấn");

    // Open the citizen and check what is shown.
    c.find(Locator::Css("a.name")).await.unwrap().click().await.unwrap();
    assert_eq!(text(c, "[data-testid=citizen-name]").await, "Nguyễn Văn Ấn");
    assert_eq!(text(c, "[data-testid=personal-id]").await, app.citizen_a.personal_id.to_string());
    assert_eq!(text(c, "[data-testid=birth-date]").await, "15/03/1985");
    let permanent = text(c, "[data-testid=permanent]").await;
    assert!(permanent.contains("Phường Ba Đình") && permanent.contains("Thành phố Hà Nội"), "{permanent}");
    let history = text(c, "[data-testid=history]").await;
    assert!(history.contains("dữ liệu kiểm thử"), "{history}");
    let log = text(c, "[data-testid=access-log]").await;
    assert!(
        log.contains("Cán bộ xa_a") && log.contains("Xem hồ sơ công dân"),
        "the officer's own read is in the access log: {log}"
    );

    // Commune B's citizen: not found, by search or by address.
    c.goto(&format!("{}/search?q=tran%20thi%20binh", app.base)).await.unwrap();
    let count = text(c, "[data-testid=result-count]").await;
    assert!(count.ends_with(": 0"), "{count}");
    c.goto(&format!("{}/citizens/{}", app.base, app.citizen_b.personal_id)).await.unwrap();
    let err = text(c, "[data-testid=error]").await;
    assert_eq!(err, "Không tìm thấy");
    let body = text(c, "main").await;
    assert!(!body.contains("Trần Thị Bình"), "B's name must not appear");

    // English on request, remembered by cookie.
    c.goto(&format!("{}/search?lang=en", app.base)).await.unwrap();
    assert_eq!(text(c, "h1").await, "Search citizens");
    c.goto(&format!("{}/search", app.base)).await.unwrap();
    assert_eq!(text(c, "h1").await, "Search citizens");
    c.goto(&format!("{}/search?lang=vi", app.base)).await.unwrap();
    assert_eq!(text(c, "h1").await, "Tìm kiếm công dân");

    // An ID card from intake to hand-over.
    c.goto(&format!("{}/citizens/{}", app.base, app.citizen_a.personal_id)).await.unwrap();
    c.find(Locator::Css("#intake-reason")).await.unwrap().send_keys("cấp lần đầu").await.unwrap();
    c.find(Locator::Css("#biometrics")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#intake-button")).await.unwrap().click().await.unwrap();
    let stage = text(c, "[data-testid=stage]").await;
    if !stage.starts_with("Thu nhận hồ sơ") {
        return Err(format!("after intake: {stage}"));
    }
    c.find(Locator::Css("[data-testid=nav-cards]")).await.unwrap().click().await.unwrap();
    assert_eq!(text(c, "[data-testid=board-intake]").await, "1");
    wait_for(c, "[data-testid=application-link]").await.click().await.unwrap();
    for to in ["sent_to_production", "card_received", "handed_over"] {
        // Each button appears only once the previous move's page has loaded.
        wait_for(c, &format!("[data-testid=move-{to}]")).await.click().await.unwrap();
    }
    let stage = text_until(c, "[data-testid=stage]", |t| t.starts_with("Đã trả")).await;
    assert!(stage.starts_with("Đã trả thẻ cho công dân"), "{stage}");
    assert!(c.find(Locator::Css("[data-testid=moves]")).await.is_err(), "no moves after hand-over");
    let events = text(c, "[data-testid=events]").await;
    assert!(events.contains("Đã nhận thẻ tại đơn vị"), "{events}");
    c.goto(&format!("{}/cards", app.base)).await.unwrap();
    assert_eq!(text(c, "[data-testid=board-handed_over]").await, "1");
    c.goto(&format!("{}/citizens/{}", app.base, app.citizen_a.personal_id)).await.unwrap();
    assert_eq!(text(c, "[data-testid=card-status]").await, "Còn hiệu lực");
    c.goto(&format!("{}/cards?lang=en", app.base)).await.unwrap();
    assert_eq!(text(c, "h1").await, "ID cards");
    c.goto(&format!("{}/cards?lang=vi", app.base)).await.unwrap();
    assert_eq!(text(c, "h1").await, "Thẻ căn cước");
    // The due-for-renewal list, linked from the board: A's card (expiring at 60) is listed
    // ten days before its 30-day window opens with a ten-day look-ahead.
    wait_for(c, "[data-testid=due-link]").await.click().await.unwrap();
    assert_eq!(text_until(c, "h1", |t| t.starts_with("Danh sách")).await, "Danh sách đến hạn đổi thẻ");
    let issued = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let expiry = dancu_identity::card_expiry(&app.citizen_a.birth_date, issued).unwrap();
    let on = expiry - chrono::Duration::days(40);
    let on = on.format("%d/%m/%Y");
    c.goto(&format!("{}/cards/due?on={on}&within_days=10&lang=en", app.base)).await.unwrap();
    assert_eq!(text(c, "h1").await, "Due for renewal");
    assert_eq!(text(c, "[data-testid=due-total]").await, "Cards due: 1");
    let rows = text(c, "[data-testid=due-cards]").await;
    assert!(rows.contains(app.citizen_a.personal_id.as_str()), "{rows}");
    c.goto(&format!("{}/cards?lang=vi", app.base)).await.unwrap();

    // Works on a phone-sized screen: nothing wider than the viewport.
    c.set_window_size(375, 740).await.unwrap();
    c.goto(&format!("{}/citizens/{}", app.base, app.citizen_a.personal_id)).await.unwrap();
    assert_fits(c, "the citizen page").await;
    for path in ["/cards", "/eid", "/dedup", "/quality", "/reconcile"] {
        c.goto(&format!("{}{path}", app.base)).await.unwrap();
        wait_for(c, "h1").await;
        assert_fits(c, path).await;
    }
    c.set_window_size(1200, 900).await.unwrap();

    // Logging out ends the session.
    c.goto(&format!("{}/search", app.base)).await.unwrap();
    logout(c).await;
    c.goto(&format!("{}/citizens/{}", app.base, app.citizen_a.personal_id)).await.unwrap();
    if !c.current_url().await.unwrap().path().starts_with("/login") {
        return Err("after logout a citizen page must redirect to login".into());
    }
    Ok(())
}

async fn citizen_portal_in_chromium(backend: &'static str) {
    let _one = ONE_BROWSER.lock().await;
    let Some(driver) = start_driver() else { return };
    let app = TestApp::start(backend).await;
    let c = browser(driver.port).await;
    let result = run_portal(&c, &app).await;
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("{backend}: {e}"));
}

pub(crate) async fn fill(c: &Client, css: &str, value: &str) {
    let e = wait_for(c, css).await;
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

async fn run_portal(c: &Client, app: &TestApp) -> Result<(), String> {
    let id = app.citizen_a.personal_id.to_string();
    c.goto(&format!("{}/portal", app.base)).await.unwrap();
    wait_for(c, "[data-testid=register-link]").await.click().await.unwrap();
    // A wrong date of birth: refused with the one answer every mismatch gets (it must not
    // say which detail differs), nothing stored.
    fill(c, "#personal_id", &id).await;
    fill(c, "#full_name", "Nguyễn Văn Ấn").await;
    fill(c, "#birth_date", "16/03/1985").await;
    fill(c, "#phone", "0912345678").await;
    wait_for(c, "#portrait_captured").await.click().await.unwrap();
    fill(c, "#password", "mat-khau-cong-dan-1").await;
    fill(c, "#password2", "mat-khau-cong-dan-1").await;
    wait_for(c, "#register").await.click().await.unwrap();
    let err = text(c, "[data-testid=portal-error]").await;
    if !err.contains("Thông tin đăng ký không khớp") || err.contains("Ngày sinh") {
        return Err(format!("registration error: {err}"));
    }
    // The form keeps what was typed (but not the passwords); correct the date.
    fill(c, "#birth_date", "15/03/1985").await;
    fill(c, "#password", "mat-khau-cong-dan-1").await;
    fill(c, "#password2", "mat-khau-cong-dan-1").await;
    wait_for(c, "#register").await.click().await.unwrap();
    let secret = text(c, "[data-testid=totp-secret]").await;
    assert_eq!(secret.len(), 32, "{secret}");

    // An officer of the commune approves it and opens the citizen's record.
    login(c, app, "xa_a", PASSWORD).await;
    wait_for(c, "[data-testid=current-user]").await;
    wait_for(c, "[data-testid=nav-eid]").await.click().await.unwrap();
    let queue = text(c, "[data-testid=eid-queue]").await;
    assert!(queue.contains(&id), "{queue}");
    c.goto(&format!("{}/eid/accounts/{id}", app.base)).await.unwrap();
    wait_for(c, "#approve").await.click().await.unwrap();
    let state = text_until(c, "[data-testid=eid-state]", |t| t.starts_with("Đã phê duyệt")).await;
    assert_eq!(state, "Đã phê duyệt, chờ kích hoạt");
    c.goto(&format!("{}/citizens/{id}", app.base)).await.unwrap();
    assert_eq!(text(c, "[data-testid=citizen-name]").await, "Nguyễn Văn Ấn");
    logout(c).await;

    // The citizen logs in with password and TOTP and sees the officer's read.
    c.goto(&format!("{}/portal", app.base)).await.unwrap();
    fill(c, "#personal_id", &id).await;
    fill(c, "#password", "mat-khau-cong-dan-1").await;
    let raw = dancu_identity::totp::secret_from_base32(&secret).unwrap();
    let code = dancu_identity::totp::generate(&raw, chrono::Utc::now().timestamp() as u64);
    fill(c, "#code", &code).await;
    wait_for(c, "#portal-login").await.click().await.unwrap();
    let state = text(c, "[data-testid=eid-state]").await;
    if state != "Đã kích hoạt" {
        return Err(format!("after login: {state}"));
    }
    wait_for(c, "[data-testid=nav-access]").await.click().await.unwrap();
    let log = text_until(c, "[data-testid=access-log]", |t| t.contains("Cán bộ xa_a")).await;
    assert!(log.contains("Cán bộ xa_a") && log.contains("Xem hồ sơ công dân"), "{log}");

    // Works on a phone-sized screen.
    c.set_window_size(375, 740).await.unwrap();
    c.goto(&format!("{}/portal/me", app.base)).await.unwrap();
    wait_for(c, "[data-testid=eid-state]").await;
    assert_fits(c, "the portal").await;
    c.set_window_size(1200, 900).await.unwrap();
    Ok(())
}
