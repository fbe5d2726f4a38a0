//! Every officer page and every citizen-portal page, in Vietnamese and in English, with
//! content on it (a card handed over, a household with a wife, a record on an old unit, an
//! eID account with its history and a document, a duplicate pair, quality findings, an
//! old-CMND confirmation): no internal code reaches the page, and no page carries an
//! inline style (the Content-Security-Policy would block it).

use crate::common::*;
use dancu_store::registry::now;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(no_page_shows_an_internal_code_or_an_inline_style);

const CITIZEN_PW: &str = "mat-khau-cong-dan-1";

/// Words that are a stored code when they stand alone as a text.
const BARE_CODES: &[&str] = &[
    "ok",
    "denied",
    "refused",
    "attempt",
    "failed",
    "registered",
    "approved",
    "activated",
    "locked",
    "open",
    "merged",
    "rejected",
    "pending",
    "verified",
    "nation",
    "head",
    "spouse",
    "child",
    "web",
    "intake",
];

/// Prefixes of stored actor, scope and unit references.
const PREFIXES: &[&str] =
    &["officer:", "citizen:", "system:", "public:", "bulk:", "province:", "commune:", "legacy:", "2025:"];

/// What a person reads on the page: the text between tags, and the labels assistive
/// technology and the phone layout read out (`title`, `aria-label`, `data-label`). Links,
/// form values and test ids are not read by anyone.
fn readable(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let text = rest[..open].trim();
        if !text.is_empty() {
            out.push(text.replace("&amp;", "&"));
        }
        let close = rest[open..].find('>').map_or(rest.len(), |c| open + c + 1);
        let tag = &rest[open..close];
        for attr in ["title=\"", "aria-label=\"", "data-label=\""] {
            if let Some(at) = tag.find(attr) {
                let v = &tag[at + attr.len()..];
                out.push(v[..v.find('"').unwrap_or(v.len())].to_string());
            }
        }
        rest = &rest[close..];
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
}

/// The internal codes found in one text.
fn codes_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    if BARE_CODES.contains(&text) {
        found.push(text.to_string());
    }
    for p in PREFIXES {
        if text.contains(p) {
            found.push((*p).to_string());
        }
    }
    // Runs of lower-case ASCII letters, digits, `_` and `.`: a dotted action code
    // (`citizen.read`) or a snake_case value (`bad_code`, `family_name`).
    for token in text.split(|c: char| !is_word(c)) {
        let token = token.trim_matches('.');
        let letters = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        let dotted = token.contains('.') && token.split('.').all(letters);
        let snake = token.contains('_') && token.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if dotted || snake {
            found.push(token.to_string());
        }
    }
    // ISO dates (`2025-03-07`, `…T10:00:00Z`) and raw probabilities (`0.9987`, `1.0000`).
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    for i in 0..b.len() {
        let iso = (0..4).all(|k| digit(i + k))
            && b.get(i + 4) == Some(&b'-')
            && digit(i + 5)
            && digit(i + 6)
            && b.get(i + 7) == Some(&b'-');
        let prob = (b[i] == b'0' || b[i] == b'1')
            && (i == 0 || !digit(i - 1))
            && b.get(i + 1) == Some(&b'.')
            && (2..5).all(|k| digit(i + k));
        if iso || prob {
            found.push(text[i..(i + 10).min(text.len())].to_string());
        }
    }
    found
}

/// The test officers' user names are data, not codes (the header shows the user's own).
const USERNAMES: &[&str] = &["xa_a", "xa_b"];

/// Every internal code and inline style on a page.
fn problems(html: &str) -> Vec<String> {
    let texts = readable(html);
    // A web address printed for people to type (a confirmation's check link, whose token is
    // random base64url) is not a code.
    let texts = texts
        .iter()
        .filter(|t| !t.trim_start().starts_with("http://") && !t.trim_start().starts_with("https://"))
        .map(|t| USERNAMES.iter().fold(t.clone(), |t, u| t.replace(u, "")));
    let mut out: Vec<String> = texts.flat_map(|t| codes_in(&t)).collect();
    if html.contains("style=") {
        out.push("style=".into());
    }
    out
}

#[test]
fn the_scan_finds_each_kind_of_code() {
    let page = r#"<td data-label="x">citizen.read</td><td>officer:xa1</td><td>ok</td>
        <td>2025-03-07T10:00:00Z</td><td>Xác suất trùng: 1.0000</td><td>bad_code</td>
        <td>Phường Ba Đình (legacy:00004)</td><p style="x">Nguyễn Văn Ấn, 07/03/2025 10:00</p>"#;
    let found = problems(page);
    for want in ["citizen.read", "officer:", "ok", "2025-03-07", "1.0000", "bad_code", "legacy:", "style="] {
        assert!(found.iter().any(|f| f.starts_with(want)), "{want} not found in {found:?}");
    }
    let clean = r#"<td data-label="Thời gian">07/03/2025 10:00</td><td>99,9 %</td><td>Xem hồ sơ công dân</td>
        <a href="x">https://dancu.example.vn/verify?t=v1.eyJp_ab.c_d</a>"#;
    assert!(problems(clean).is_empty(), "{:?}", problems(clean));
}

/// The data the pages show: returns the paths to visit as an officer of commune A.
async fn seed(app: &TestApp, t: &str) -> Vec<String> {
    let c = app.client();
    let a = app.citizen_a.personal_id.to_string();
    let change =
        dancu_store::Change {
            actor: "test:setup".into(), reason: "dữ liệu kiểm thử".into(), at: now()
        };
    let today = chrono::Utc::now().date_naive();
    // A wife for A's household, with an old CMND number; a man whose address is on a
    // pre-2025 commune of commune A.
    let mut wife = draft("001187002222", "Lê", "Thị", "Hoa", "02/02/1987", "Nữ", COMMUNE_A);
    wife.cmnd = "012345678".into();
    app.store.create_citizen(&wife.validate(today).unwrap(), &change).await.unwrap();
    let old_unit = dancu_domain::admin_units()
        .legacy_communes_mapping_to(COMMUNE_A)
        .into_iter()
        .find(|c| format!("legacy:{c}").parse::<dancu_domain::UnitRef>().is_ok_and(|u| u.to_2025().is_ok()))
        .unwrap()
        .to_string();
    let mut old = draft("001060003333", "Phạm", "Văn", "Cũ", "1960-06-06", "Nam", COMMUNE_A);
    old.permanent_unit = format!("legacy:{old_unit}");
    app.store.create_citizen(&old.validate(today).unwrap(), &change).await.unwrap();

    let r = c
        .post(format!("{}/api/v1/households", app.base))
        .bearer_auth(t)
        .json(&json!({"number": "HKA1", "reason": "lập hộ", "members": [
            {"personal_id": a, "relation": "head"}, {"personal_id": "001187002222", "relation": "spouse"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());

    // A's card, handed over.
    let r = c
        .post(format!("{}/api/v1/card-applications", app.base))
        .bearer_auth(t)
        .json(&json!({"personal_id": a, "kind": "first_issue", "biometrics_captured": true, "reason": "cấp lần đầu"}))
        .send()
        .await
        .unwrap();
    let card = body(r).await["id"].as_i64().unwrap();
    for (v, step) in [
        (1, json!({"to": "sent_to_production"})),
        (2, json!({"to": "card_received"})),
        (3, json!({"to": "handed_over", "handover_method": "in_person"})),
    ] {
        let mut step = step;
        step["expected_version"] = json!(v);
        let url = format!("{}/api/v1/card-applications/{card}/transitions", app.base);
        let r = c.post(url).bearer_auth(t).json(&step).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{step}");
    }

    // The wife's old-CMND confirmation.
    let r = c
        .post(format!("{}/api/v1/citizens/001187002222/cmnd-confirmations", app.base))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    let cmnd = body(r).await["number"].as_str().unwrap().to_string();

    // A duplicate pair: the man on the old unit and the wife (evidence with levels).
    let ev = |f: &str, l: &str, w: f64| dancu_store::dedup::Evidence {
        field: f.into(),
        level: l.into(),
        weight: w,
    };
    let pair = dancu_store::dedup::NewCandidate {
        left: "001060003333".parse().unwrap(),
        right: "001187002222".parse().unwrap(),
        weight: 12.5,
        probability: 0.9987,
        evidence: vec![ev("family_name", "exact", 6.1), ev("birth_date", "day_month_swapped", 3.2)],
    };
    dancu_store::dedup::add_candidates(app.store.as_ref(), &[pair], now()).await.unwrap();

    // Quality findings (the test records lack ethnicity and more).
    let admin = app.token("admin").await;
    let r =
        c.post(format!("{}/quality/runs", app.base)).bearer_auth(&admin).form(&[("csrf", "")]).send().await;
    assert_eq!(r.unwrap().status(), StatusCode::SEE_OTHER);

    // The wife moved house through the address screen: her history shows the diff.
    let r = c
        .post(format!("{}/citizens/001187002222/address", app.base))
        .bearer_auth(t)
        .form(&[
            ("csrf", ""),
            ("expected_version", "1"),
            ("permanent_unit", "2025:00004"),
            ("permanent_detail", "Số 9 phố Đội Cấn"),
            ("current_unit", "2025:00004"),
            ("current_detail", "Số 9 phố Đội Cấn"),
            ("reason", "chuyển chỗ ở"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // A public-service application with a document, moved to "information requested",
    // and one overdue.
    let apps = format!("{}/api/v1/applications", app.base);
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let sub = json!({"personal_id": a, "service_code": "residence_temporary", "idempotency_key": "pages",
        "payload": {"procedure": "temporary", "unit": "2025:00004", "detail": "Phòng 2, số 9 phố Đội Cấn",
                    "from": today.to_string(), "until": (today + chrono::Duration::days(90)).to_string()}});
    let r = app.post_json(t, &apps, &sub).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let hs = body(r).await["id"].as_i64().unwrap();
    let doc =
        json!({"kind": "rental_contract", "media_type": "application/pdf", "content_base64": "JVBERi0xLjcK"});
    assert_eq!(app.post_json(t, format!("{apps}/{hs}/documents"), &doc).await.status(), StatusCode::CREATED);
    for (to, v) in [("accepted", 1), ("in_process", 2), ("info_requested", 3)] {
        let m = json!({"to": to, "reason": "thiếu hợp đồng thuê nhà", "expected_version": v});
        assert_eq!(app.post_json(t, format!("{apps}/{hs}/transitions"), &m).await.status(), StatusCode::OK);
    }
    let sub =
        json!({"personal_id": a, "service_code": "passport", "channel": "post", "received_on": "2024-04-15"});
    assert_eq!(app.post_json(t, &apps, &sub).await.status(), StatusCode::CREATED);
    // A stay notification (in effect at once) for the stays page.
    let stay = json!({"personal_id": a, "service_code": "residence_stay", "idempotency_key": "stay",
        "payload": {"procedure": "stay", "unit": "2025:00004", "detail": "Nhà nghỉ Hoa Sen",
                    "from": today.to_string(), "until": (today + chrono::Duration::days(2)).to_string(),
                    "guests": ["001060003333"]}});
    let r = app.post_json(t, &apps, &stay).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    // A residence confirmation (its document, the public check of its QR link).
    let r = app.api_post(t, &format!("/api/v1/citizens/{a}/confirmations")).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let conf = body(r).await;
    let verify = conf["verify_url"].as_str().unwrap().trim_start_matches(&app.base).to_string();
    // Submitted figures of commune A (a draft), for the figures pages.
    let fig = json!({"unit": "00004", "month": "2026-01", "form": "services",
        "values": {"birth": {"received": 10, "online": 8}}});
    let r = app.post_json(t, format!("{}/api/v1/figures", app.base), &fig).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    let fig = body(r).await["id"].as_i64().unwrap();

    vec![
        "/applications".into(),
        "/applications?overdue=true".into(),
        format!("/applications/{hs}"),
        format!("/search?q={a}"),
        "/search?q=nguyen".into(),
        format!("/citizens/{a}"),
        "/citizens/001060003333".into(),
        "/citizens/001187002222".into(),
        "/households/HKA1".into(),
        "/cards".into(),
        "/cards?stage=handed_over".into(),
        format!("/cards/{card}"),
        format!("/cards/{card}?intake=1"),
        format!("/cards/{card}/slip"),
        "/dedup?status=merged".into(),
        format!("/cards/due?on={}&within_days=3650", dancu_store::registry::now().format("%d/%m/%Y")),
        "/eid".into(),
        "/eid?state=activated".into(),
        format!("/eid/accounts/{a}"),
        format!("/cmnd/{cmnd}"),
        "/dedup".into(),
        "/quality".into(),
        "/quality/missing_fields".into(),
        "/reconcile".into(),
        "/citizens/new-birth".into(),
        "/citizens/new-birth?household=HKA1".into(),
        format!("/citizens/{a}/edit"),
        format!("/citizens/{a}/address"),
        "/residences".into(),
        "/residences?kind=absence".into(),
        "/residences?kind=temporary".into(),
        "/applications/new/residence_permanent".into(),
        "/applications/new/residence_stay".into(),
        "/applications/new/household_split".into(),
        "/quality/residence_invariants".into(),
        format!("/confirmations/{}", conf["id"]),
        verify,
        "/verify".into(),
        "/figures".into(),
        "/figures?state=draft".into(),
        format!("/figures/{fig}"),
        "/figures/entry?unit=00004&month=2026-01&form=services".into(),
        "/figures/entry?unit=00004&month=2026-01&form=outreach".into(),
    ]
}

/// Registers citizen A through the portal form, has the account approved, links a
/// document and logs in: the jar holds the citizen's session. Returns the registration's
/// answer page (the authenticator key and its QR code).
pub(crate) async fn citizen(app: &TestApp, t: &str, jar: &mut Jar) -> String {
    let a = app.citizen_a.personal_id.to_string();
    get(app, jar, "/portal/register").await;
    let csrf = jar.get("dancu_portal_csrf").unwrap();
    let form = [
        ("personal_id", a.as_str()),
        ("full_name", "Nguyễn Văn Ấn"),
        ("birth_date", "15/03/1985"),
        ("sex", "Nam"),
        ("phone", "0912345678"),
        ("portrait_captured", "on"),
        ("password", CITIZEN_PW),
        ("password2", CITIZEN_PW),
        ("csrf", csrf.as_str()),
    ];
    let r = post_form(app, jar, "/portal/register", &form).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let registered = r.text().await.unwrap();
    let key = "data-testid=\"totp-secret\">";
    let at = registered.find(key).unwrap() + key.len();
    let secret = registered[at..].split('<').next().unwrap().to_string();

    let events = format!("{}/api/v1/eid/accounts/{a}/events", app.base);
    let r = app.client().post(events).bearer_auth(t).json(&json!({"event": "approve"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let docs = format!("{}/api/v1/eid/accounts/{a}/documents", app.base);
    let doc = json!({"kind": "social_insurance", "number": "0123456789"});
    let r = app.client().post(docs).bearer_auth(t).json(&doc).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());

    let raw = dancu_identity::totp::secret_from_base32(&secret).unwrap();
    let code = dancu_identity::totp::generate(&raw, chrono::Utc::now().timestamp() as u64);
    get(app, jar, "/portal").await;
    let csrf = jar.get("dancu_portal_csrf").unwrap();
    let form = [("personal_id", a.as_str()), ("password", CITIZEN_PW), ("code", &code), ("csrf", &csrf)];
    assert_eq!(post_form(app, jar, "/portal/login", &form).await.status(), StatusCode::SEE_OTHER);
    registered
}

fn with_lang(path: &str, lang: &str) -> String {
    format!("{path}{}lang={lang}", if path.contains('?') { '&' } else { '?' })
}

async fn no_page_shows_an_internal_code_or_an_inline_style(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let officer_pages = seed(app, &t).await;
    let mut jar = Jar::default();
    let registered = citizen(app, &t, &mut jar).await;
    assert!(registered.contains("data-testid=\"totp-qr\"") && registered.contains("href=\"otpauth://totp/"));

    let mut failures = vec![];
    let mut check = |what: String, html: &str| {
        let p = problems(html);
        if !p.is_empty() {
            failures.push(format!("{what}: {p:?}"));
        }
    };
    check("the registration answer".into(), &registered);
    // OAuth clients, for `/clients` and the provider's login page.
    for reg in
        [crate::oidc::portal("cong-dvc", "https://dvc.example.vn/cb"), crate::oidc::partner("bv-bachmai")]
    {
        crate::oidc::add_client(app, reg).await;
    }
    let authorize = "/oauth/authorize?response_type=code&client_id=cong-dvc&redirect_uri=https%3A%2F%2Fdvc.example.vn%2Fcb\
        &scope=openid%20profile&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    for lang in ["vi", "en"] {
        let r = app.client().get(format!("{}{authorize}&lang={lang}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        check(format!("the OIDC login page ({lang})"), &r.text().await.unwrap());
    }
    for lang in ["vi", "en"] {
        for path in &officer_pages {
            let url = format!("{}{}", app.base, with_lang(path, lang));
            let r = app.client().get(&url).bearer_auth(&t).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{url}");
            check(format!("{path} ({lang})"), &r.text().await.unwrap());
        }
        // A refused form: each violation in words at its field.
        let url = format!("{}{}", app.base, with_lang("/citizens/new-birth", lang));
        let refused = [("csrf", ""), ("birth_date", "31/02/2026"), ("household", "HKA1"), ("reason", "")];
        let r = app.client().post(&url).bearer_auth(&t).form(&refused).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        check(format!("a refused birth form ({lang})"), &r.text().await.unwrap());
        // The administrator's pages (every role in words, units by name; the nation-wide
        // commune text boxes and their suggestions).
        let admin = app.token("admin").await;
        for path in [
            "/officers".to_string(),
            "/clients".to_string(),
            "/partners".to_string(),
            format!("/citizens/{}/address", app.citizen_a.personal_id),
            "/citizens/new-birth".into(),
        ] {
            let r = app.client().get(format!("{}{}", app.base, with_lang(&path, lang))).bearer_auth(&admin);
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            check(format!("{path} as administrator ({lang})"), &r.text().await.unwrap());
        }
        // The officer's first application (information requested) is the portal citizen's.
        let own = format!("/portal{}", officer_pages[2]);
        let confirmation = officer_pages.iter().find(|p| p.starts_with("/confirmations/")).unwrap();
        let own_confirmation = format!("/portal{confirmation}");
        for path in [
            "/portal/me",
            "/portal/access",
            "/portal/applications",
            "/portal/consents",
            "/portal/applications/new/residence_temporary",
            "/portal/applications/new/residence_permanent",
            "/portal/applications/new/household_head_change",
            own.as_str(),
            "/portal/confirmations",
            own_confirmation.as_str(),
        ] {
            let r = get(app, &mut jar, &with_lang(path, lang)).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            check(format!("{path} ({lang})"), &r.text().await.unwrap());
        }
        for path in ["/login", "/portal", "/portal/register", "/portal/reset"] {
            let r = app.client().get(format!("{}{}", app.base, with_lang(path, lang))).send().await.unwrap();
            check(format!("{path} ({lang})"), &r.text().await.unwrap());
        }
    }
    assert!(failures.is_empty(), "{backend}:\n{}", failures.join("\n"));
}
