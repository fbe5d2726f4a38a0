//! The OpenAPI document (`/openapi.json`) against the router and the real answers: it lists
//! exactly the operations the router serves, with their security; real responses fit the
//! schemas it gives for their status; its patterns accept only what the parsers accept; the
//! documented offset bound is enforced.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{body, on_both_backends, TestApp};

on_both_backends!(real_responses_fit_their_schemas);

/// The served document.
async fn document(app: &TestApp) -> Value {
    let r = app.client().get(format!("{}/openapi.json", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    body(r).await
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The document's operations as (METHOD, path template).
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.push((m.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// A path template with sample values: a personal ID, a household number, a unit, an id.
fn sample_path(template: &str) -> String {
    let value = |name: &str| match name {
        "number" if template.starts_with("/api/v1/cmnd") => "XN-2025-001085001234-1",
        "number" => "H1",
        "unit" => "2025:00004",
        "id" if template.contains("/citizens/")
            || template.contains("/eid/accounts/")
            || template.contains("/personal-ids/") =>
        {
            "001085001234"
        }
        _ => "1",
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        out.push_str(value(&rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The OpenID Connect provider's endpoints: OAuth error bodies (`{"error", "error_description"}`,
/// RFC 6749 §5.2, RFC 6750 §3) instead of `ErrorBody`, and a form body that answers every
/// refusal with 400 `invalid_request`.
fn is_oauth(path: &str) -> bool {
    path.starts_with("/oauth/") || path.starts_with("/.well-known/")
}

fn secured(op: &Value) -> bool {
    op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()))
}

/// Every documented operation reaches its handler (a protected one answers 401 without a
/// token: the handler's extractor ran, not the fallback), and the other methods on each
/// documented path answer 405: the router serves exactly the document's operations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_exactly_the_routers_operations() {
    let app = TestApp::start("sqlite").await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let c = app.client();
    let ops = operations(&doc);
    assert!(ops.len() >= 37, "{ops:?}");
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with("/api/v1/") || is_oauth(path), "{path}");
        let url = format!("{}{}", app.base, sample_path(path));
        for m in METHODS {
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let r = c.request(method, &url).send().await.unwrap();
            let status = r.status();
            let Some(op) = item.get(m) else {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path} is served but not documented");
                continue;
            };
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_string()),
                "operationId of {m} {path} repeats"
            );
            let documented = |s: StatusCode| op["responses"].get(s.as_str()).is_some();
            assert!(documented(status), "{m} {path} answered {status}, which it does not document");
            if secured(op) {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{m} {path} without a token");
                if is_oauth(path) {
                    assert_eq!(body(r).await["error"], "invalid_token");
                } else {
                    assert_eq!(body(r).await["error"]["code"], "unauthorized");
                }
            } else {
                assert!(
                    ![StatusCode::UNAUTHORIZED, StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED]
                        .contains(&status),
                    "public {m} {path} answered {status}"
                );
            }
        }
    }
    // Only the tokens, the citizens' own registration, the provider's metadata and the check
    // of a residence confirmation's QR code are public.
    let mut public: Vec<_> = ops
        .iter()
        .filter(|(m, p)| !secured(&doc["paths"][p][m.to_lowercase()]))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    public.sort();
    assert_eq!(
        public,
        [
            "GET /.well-known/openid-configuration",
            "GET /api/v1/confirmations/verify",
            "GET /oauth/jwks",
            "POST /api/v1/auth/token",
            "POST /api/v1/eid/registrations",
            "POST /oauth/token"
        ]
    );
    // Without `bench_endpoint` the benchmark's constant is neither served nor documented.
    assert!(doc["paths"].get("/api/v1/bench/constant").is_none());
    let r = c.get(format!("{}/api/v1/bench/constant", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bench_endpoint_is_documented_only_when_served() {
    let config = dancu_server::ServerConfig { bench_endpoint: true, ..Default::default() };
    let app = TestApp::start_with("sqlite", config).await;
    let doc = document(&app).await;
    let op = &doc["paths"]["/api/v1/bench/constant"]["get"];
    assert!(secured(op), "{op}");
    let url = format!("{}/api/v1/bench/constant", app.base);
    assert_eq!(app.client().get(&url).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let token = app.token("xa_a").await;
    let r = app.client().get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v = Validator::new(&doc);
    v.check_response("GET", "/api/v1/bench/constant", 200, &body(r).await);
}

/// No component name stands for two Rust types: utoipa keeps the last schema registered under
/// a name and documents the other type's operations with it (the figures' transition body,
/// once also named `TransitionRequest`, replaced the card applications' that way).
#[test]
fn each_component_name_is_one_type() {
    assert_eq!(dancu_server::api::schema_clashes(), Vec::<String>::new());
}

/// Every protected operation documents 401 and 403, every operation documents its error answers with
/// `ErrorBody`, and success answers have a real schema (no bare `object`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_has_a_schema() {
    let app = TestApp::start("sqlite").await;
    let doc = document(&app).await;
    let v = Validator::new(&doc);
    for (m, path) in operations(&doc) {
        let op = &doc["paths"][&path][m.to_lowercase()];
        let responses = op["responses"].as_object().unwrap();
        if secured(op) {
            // No token: 401; a session cookie without its CSRF header: 403.
            assert!(responses.contains_key("401") && responses.contains_key("403"), "{m} {path}");
        }
        if op.get("requestBody").is_some() && !is_oauth(&path) {
            for code in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(code), "{m} {path} does not document {code}");
            }
        }
        for (code, resp) in responses {
            let schema =
                v.response_schema(resp).unwrap_or_else(|| panic!("{m} {path} {code} has no JSON schema"));
            let schema = v.resolve(schema);
            if code.starts_with('4') || code.starts_with('5') || code == "202" {
                let body = if is_oauth(&path) { "OAuthErrorBody" } else { "ErrorBody" };
                assert_eq!(
                    schema,
                    v.resolve(&json!({"$ref": format!("#/components/schemas/{body}")})),
                    "{m} {path} {code}"
                );
            } else {
                assert!(
                    schema.get("properties").is_some()
                        || schema.get("allOf").is_some()
                        || schema.get("items").is_some()
                        || schema.get("oneOf").is_some(),
                    "{m} {path} {code}: {schema}"
                );
            }
        }
    }
}

/// The offset bound the document gives is the one the API enforces: beyond it, 400 naming
/// `offset` and the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_offset_bound_is_enforced() {
    let app = TestApp::start("sqlite").await;
    let doc = document(&app).await;
    let token = app.token("admin").await;
    let v = Validator::new(&doc);
    let max = i64::MAX as u64;
    for path in
        ["/api/v1/citizens", "/api/v1/card-applications", "/api/v1/eid/accounts", "/api/v1/dedup/candidates"]
    {
        let offset = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "offset")
            .unwrap()["schema"]
            .clone();
        assert_eq!(offset["maximum"].as_u64(), Some(max), "{path}");
        // `q` is only a search parameter; the other lists refuse unknown parameters.
        let get = |o: u128| {
            let c = app.client();
            let q = if path == "/api/v1/citizens" { "&q=Nguyen" } else { "" };
            let url = format!("{}{path}?offset={o}{q}", app.base);
            let token = token.clone();
            async move { c.get(url).bearer_auth(token).send().await.unwrap() }
        };
        let r = get(max as u128).await;
        assert_eq!(r.status(), 200, "{path}");
        v.check_response("GET", path, 200, &body(r).await);
        for beyond in [max as u128 + 1, u64::MAX as u128, u64::MAX as u128 + 1] {
            let r = get(beyond).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path} offset {beyond}");
            let b = body(r).await;
            v.check_response("GET", path, 400, &b);
            assert_eq!(b["error"]["code"], "invalid_query");
            if beyond <= u64::MAX as u128 {
                assert_eq!(b["error"]["violations"][0]["field"], "offset", "{b}");
                assert_eq!(b["error"]["violations"][0]["rule"], "page.offset", "{b}");
            }
        }
    }
}

/// The requests the document's patterns accept are ones the parsers accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patterns_accept_only_what_the_parsers_accept() {
    use rand::{Rng, SeedableRng};
    let app = TestApp::start("sqlite").await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let re = |s: &Value| regex::Regex::new(s["pattern"].as_str().unwrap()).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let year = chrono::Datelike::year(&today);

    // Personal IDs: the pattern is exactly the parser (province list, century and year).
    let id_re = re(&schemas["PersonalId"]);
    let (mut matched, mut tried) = (0, 0);
    for _ in 0..200_000 {
        let prefix = ["0", "00", "001", "0010", "0012", "0013"][rng.gen_range(0..6)];
        let mut s = prefix.to_string();
        while s.len() < 12 {
            s.push(char::from(b'0' + rng.gen_range(0..10)));
        }
        tried += 1;
        let ok = s.parse::<dancu_domain::PersonalId>().is_ok();
        assert_eq!(id_re.is_match(&s), ok, "{s}");
        matched += ok as u32;
    }
    assert!(matched > 1000 && matched < tried, "{matched} of {tried}");

    // Dates: past-date fields accept only real, past days; search dates only real days.
    let draft = &schemas["CitizenDraft"]["properties"];
    let past = re(&draft["birth_date"]);
    let any_date = {
        let params = doc["paths"]["/api/v1/citizens"]["get"]["parameters"].as_array().unwrap();
        re(&params.iter().find(|p| p["name"] == "birth_date").unwrap()["schema"])
    };
    for _ in 0..100_000 {
        let (y, m, d) = (rng.gen_range(1790..2210), rng.gen_range(0..14), rng.gen_range(0..33));
        for s in [
            format!("{y}"),
            format!("{y}-{m:02}"),
            format!("{y}-{m:02}-{d:02}"),
            format!("{m:02}/{y}"),
            format!("{d:02}/{m:02}/{y}"),
        ] {
            let parsed = s.parse::<dancu_domain::PartialDate>();
            if any_date.is_match(&s) {
                assert!(parsed.is_ok(), "{s}");
            }
            if past.is_match(&s) {
                assert!(parsed.is_ok_and(|p| p.not_after(today, "d").is_ok()), "{s}");
                assert!(y < year, "{s}");
            }
        }
    }
    assert!(past.is_match("15/03/1985") && past.is_match("1985-03-15") && past.is_match("1950"));
    assert!(any_date.is_match("31/12/2200") && !any_date.is_match("31/02/1990"));

    // Names: the pattern takes Vietnamese words only.
    let name = re(&draft["given_name"]);
    for ok in ["Ấn", "Nguyễn", "Thị Ngọc", "Đặng", "H'Hen", "Kpă-Nguyên"] {
        assert!(name.is_match(ok), "{ok}");
        assert!(dancu_domain::NameParts::new("Lê", "", ok).is_ok(), "{ok}");
    }
    for bad in ["An1", "Аn", "A\u{0301}\u{0301}", "An\u{200B}", " An", "An ", "ß"] {
        assert!(!name.is_match(bad), "{bad:?}");
    }

    // Reasons: not blank as `trim` sees it (Unicode White_Space, not JSON Schema's `\s`).
    let reason = re(&schemas["CreateCitizen"]["properties"]["reason"]);
    for c in (0u32..0x3100).chain([0xFEFF]).filter_map(char::from_u32) {
        let s = c.to_string();
        if reason.is_match(&s) {
            assert!(dancu_server::api::citizens::require_reason(&s).is_ok(), "U+{:04X}", c as u32);
        }
    }
    assert!(!reason.is_match("\u{85}\u{3000} \t") && reason.is_match(" a "));

    // The search text: a `q` of digits and separators only, nine digits or more, must be a
    // personal ID; the pattern takes only texts the search takes.
    let params = doc["paths"]["/api/v1/citizens"]["get"]["parameters"].as_array().unwrap();
    let q = re(&params.iter().find(|p| p["name"] == "q").unwrap()["schema"]);
    let alphabet = ['0', '1', '4', '8', ' ', '.', '-', '\u{a0}', '\t', '\u{85}', '\u{feff}', 'a', 'Ấ'];
    let mut taken = 0;
    for _ in 0..50_000 {
        let len = rng.gen_range(0..16);
        let s: String = (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect();
        if q.is_match(&s) {
            taken += 1;
            let search =
                dancu_server::api::citizens::SearchParams { q: Some(s.clone()), ..Default::default() };
            assert!(search.to_query().is_ok(), "{s:?}");
        }
    }
    assert!(taken > 10_000, "{taken}");
    for s in ["001085001234", " 001085001234\u{85}", "12 34", "Nguyen", "12345678", "an 1985"] {
        assert!(q.is_match(s), "{s:?}");
    }
    for s in ["123456789", "001 085 001 23", "\u{85}123456789"] {
        assert!(!q.is_match(s), "{s:?}");
    }

    // Phones and document numbers: what the pattern takes, the normaliser takes.
    let reg = &schemas["RegistrationRequest"]["properties"];
    let phone = re(&reg["phone"]);
    for s in ["0912345678", "+84912345678", "0312345678"] {
        assert!(phone.is_match(s) && dancu_identity::normalize_phone(s).is_ok(), "{s}");
    }
    assert!(!phone.is_match("0112345678") && !phone.is_match("091234567"));
    for variant in schemas["DocumentRequest"]["oneOf"].as_array().unwrap() {
        let p = &variant["properties"];
        let Some(number) = p.get("number") else { continue };
        let kind = p["kind"]["enum"][0].as_str().unwrap();
        let kind = dancu_identity::DocumentKind::from_code(kind).unwrap();
        let number = re(number);
        let samples = [
            "DN4797912345678",
            "0123456789",
            "012345678901",
            "29A-123.45",
            "29A-1234",
            "29-B1 123.45",
            "29LD-123.45",
            "0123456789-001",
            "10A-123.45",
            "29a-123.45",
        ];
        for s in samples {
            if number.is_match(s) {
                assert!(dancu_identity::validate_number(kind, s).is_ok(), "{kind:?} {s}");
            }
        }
    }
}

async fn real_responses_fit_their_schemas(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let doc = document(app).await;
    let v = Validator::new(&doc);
    let admin = app.token("admin").await;
    let xa = app.token("xa_a").await;
    let a = app.citizen_a.personal_id.to_string();
    let c = app.client();
    let base = &app.base;
    // GETs with their path template and the expected status.
    let get = |path: String| {
        let c = c.clone();
        let url = format!("{base}{path}");
        let xa = xa.clone();
        async move { c.get(url).bearer_auth(xa).send().await.unwrap() }
    };
    let check =
        |m: &str, template: &str, r: StatusCode, b: &Value| v.check_response(m, template, r.as_u16(), b);

    for (path, template) in [
        (format!("/api/v1/citizens?q={a}"), "/api/v1/citizens"),
        (format!("/api/v1/citizens/{a}"), "/api/v1/citizens/{id}"),
        (format!("/api/v1/citizens/{a}/history"), "/api/v1/citizens/{id}/history"),
        (format!("/api/v1/citizens/{a}/access-log"), "/api/v1/citizens/{id}/access-log"),
        (format!("/api/v1/citizens/{a}/cards"), "/api/v1/citizens/{id}/cards"),
        ("/api/v1/card-applications/board".into(), "/api/v1/card-applications/board"),
        ("/api/v1/cards/due-for-renewal".into(), "/api/v1/cards/due-for-renewal"),
        ("/api/v1/dedup/candidates".into(), "/api/v1/dedup/candidates"),
        ("/api/v1/dedup/counts".into(), "/api/v1/dedup/counts"),
        ("/api/v1/eid/stats".into(), "/api/v1/eid/stats"),
        (format!("/api/v1/personal-ids/{a}/explain"), "/api/v1/personal-ids/{id}/explain"),
        ("/api/v1/units/legacy:00004".into(), "/api/v1/units/{unit}"),
        ("/api/v1/units/2025:00004".into(), "/api/v1/units/{unit}"),
    ] {
        let r = get(path.clone()).await;
        let status = r.status();
        assert_eq!(status, 200, "{path}");
        check("GET", template, status, &body(r).await);
    }

    // Errors: not found, out of scope, invalid, unauthenticated, malformed, wrong media type.
    let b_id = app.citizen_b.personal_id.to_string();
    for (path, template, want) in [
        (format!("/api/v1/citizens/{b_id}"), "/api/v1/citizens/{id}", 404),
        ("/api/v1/citizens/123".into(), "/api/v1/citizens/{id}", 422),
        ("/api/v1/citizens?limit=0".into(), "/api/v1/citizens", 422),
        ("/api/v1/citizens?limit=x".into(), "/api/v1/citizens", 400),
        ("/api/v1/card-applications/77".into(), "/api/v1/card-applications/{id}", 404),
        ("/api/v1/units/2025:99999".into(), "/api/v1/units/{unit}", 422),
    ] {
        let r = get(path.clone()).await;
        assert_eq!(r.status().as_u16(), want, "{path}");
        let status = r.status();
        check("GET", template, status, &body(r).await);
    }
    let r = c.get(format!("{base}/api/v1/eid/stats")).send().await.unwrap();
    check("GET", "/api/v1/eid/stats", r.status(), &body(r).await);
    let r = c.post(format!("{base}/api/v1/households")).bearer_auth(&xa).body("{").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    check("POST", "/api/v1/households", r.status(), &body(r).await);
    let r = c
        .post(format!("{base}/api/v1/households"))
        .bearer_auth(&xa)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    check("POST", "/api/v1/households", r.status(), &body(r).await);

    // Writes: a household, a card application moved to production, a CMND confirmation is
    // refused (no CMND), a personal ID, an officer, an eID registration approved.
    let post = |path: &str, token: &str, b: Value| {
        let url = format!("{base}{path}");
        let token = token.to_string();
        async move { app.post_json(&token, url, &b).await }
    };
    let r = post(
        "/api/v1/households",
        &xa,
        json!({"number": "HOA1", "members": [{"personal_id": a, "relation": "head"}], "reason": "tách hộ"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    check("POST", "/api/v1/households", r.status(), &body(r).await);
    for (path, template) in [
        ("/api/v1/households/HOA1", "/api/v1/households/{number}"),
        ("/api/v1/households/HOA1/history", "/api/v1/households/{number}/history"),
    ] {
        let r = get(path.into()).await;
        assert_eq!(r.status(), 200, "{path}");
        check("GET", template, r.status(), &body(r).await);
    }
    let r = post(
        "/api/v1/card-applications",
        &xa,
        json!({"personal_id": a, "kind": "first_issue", "biometrics_captured": true, "reason": "cấp mới"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let created = body(r).await;
    check("POST", "/api/v1/card-applications", StatusCode::CREATED, &created);
    let id = created["id"].as_i64().unwrap();
    // A whole number written as a float is an integer too (JSON Schema's reading).
    let r = post(
        &format!("/api/v1/card-applications/{id}/transitions"),
        &xa,
        json!({"to": "sent_to_production", "expected_version": created["version"].as_f64().unwrap()}),
    )
    .await;
    assert_eq!(r.status(), 200);
    check("POST", "/api/v1/card-applications/{id}/transitions", r.status(), &body(r).await);
    for (path, template) in [
        (format!("/api/v1/card-applications/{id}"), "/api/v1/card-applications/{id}"),
        ("/api/v1/card-applications?stage=sent_to_production".into(), "/api/v1/card-applications"),
    ] {
        let r = get(path.clone()).await;
        assert_eq!(r.status(), 200, "{path}");
        check("GET", template, r.status(), &body(r).await);
    }
    let r = post(&format!("/api/v1/citizens/{a}/cmnd-confirmations"), &xa, json!({})).await;
    assert_eq!(r.status(), 422);
    check("POST", "/api/v1/citizens/{id}/cmnd-confirmations", r.status(), &body(r).await);
    let r =
        post("/api/v1/personal-ids", &admin, json!({"province": "01", "sex": "F", "birth_year": 2024})).await;
    assert_eq!(r.status(), 201);
    check("POST", "/api/v1/personal-ids", r.status(), &body(r).await);
    let r = post(
        "/api/v1/officers",
        &admin,
        json!({"username": "xa_c", "display_name": "Cán bộ C", "role": "officer", "scope": "commune:00004",
               "password": "mot-mat-khau-dai"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let officer = body(r).await;
    check("POST", "/api/v1/officers", StatusCode::CREATED, &officer);
    let r = c
        .patch(format!("{base}/api/v1/officers/{}", officer["id"]))
        .bearer_auth(&admin)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    check("PATCH", "/api/v1/officers/{id}", r.status(), &body(r).await);
    let r = c.get(format!("{base}/api/v1/officers")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 200);
    check("GET", "/api/v1/officers", r.status(), &body(r).await);
    let r = c.get(format!("{base}/api/v1/audit/verify")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 200);
    check("GET", "/api/v1/audit/verify", r.status(), &body(r).await);

    let r = app
        .client()
        .post(format!("{base}/api/v1/eid/registrations"))
        .json(
            &json!({"personal_id": a, "full_name": "Nguyễn Văn Ấn", "birth_date": "15/03/1985", "sex": "Nam",
                      "phone": "0912345678", "portrait_captured": true, "password": "mat-khau-cong-dan"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    check("POST", "/api/v1/eid/registrations", r.status(), &body(r).await);
    let r = post(&format!("/api/v1/eid/accounts/{a}/events"), &xa, json!({"event": "approve"})).await;
    assert_eq!(r.status(), 200);
    check("POST", "/api/v1/eid/accounts/{id}/events", r.status(), &body(r).await);
    let r = post(
        &format!("/api/v1/eid/accounts/{a}/documents"),
        &xa,
        json!({"kind": "social_insurance", "number": "0123456789"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    check("POST", "/api/v1/eid/accounts/{id}/documents", r.status(), &body(r).await);
    let r = post(&format!("/api/v1/eid/accounts/{a}/reset-code"), &xa, json!({})).await;
    assert_eq!(r.status(), 200);
    check("POST", "/api/v1/eid/accounts/{id}/reset-code", r.status(), &body(r).await);
    for (path, template) in [
        (format!("/api/v1/eid/accounts/{a}"), "/api/v1/eid/accounts/{id}"),
        ("/api/v1/eid/accounts?state=approved".into(), "/api/v1/eid/accounts"),
        ("/api/v1/eid/stats".into(), "/api/v1/eid/stats"),
    ] {
        let r = get(path.clone()).await;
        assert_eq!(r.status(), 200, "{path}");
        check("GET", template, r.status(), &body(r).await);
    }
    // An administrator may not change their own account (it could lock every one out).
    let me = body(c.get(format!("{base}/api/v1/officers")).bearer_auth(&admin).send().await.unwrap()).await;
    let me = me.as_array().unwrap().iter().find(|o| o["username"] == "admin").unwrap()["id"].clone();
    let r = c
        .patch(format!("{base}/api/v1/officers/{me}"))
        .bearer_auth(&admin)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let b = body(r).await;
    check("PATCH", "/api/v1/officers/{id}", StatusCode::FORBIDDEN, &b);
    assert_eq!(b["error"]["violations"][0]["rule"], "officer.self_change");
}

/// A JSON Schema checker for the subset the document uses (2020-12 as OpenAPI 3.1 has it):
/// `$ref`, `type` (one or several), `enum`, `pattern`, `minimum`/`maximum`,
/// `minLength`/`maxLength`, `properties`/`required`/`additionalProperties: false`,
/// `items`/`prefixItems`/`minItems`, `allOf`/`oneOf`/`anyOf`, formats `date` and `date-time`.
pub struct Validator<'a> {
    doc: &'a Value,
}

impl<'a> Validator<'a> {
    pub fn new(doc: &'a Value) -> Self {
        Validator { doc }
    }

    /// Follows `$ref`s to the schema itself.
    pub fn resolve<'v>(&'v self, mut s: &'v Value) -> &'v Value {
        while let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let mut at = self.doc;
            for part in r.trim_start_matches("#/").split('/') {
                at = &at[part];
            }
            assert!(!at.is_null(), "unresolved {r}");
            s = at;
        }
        s
    }

    /// The JSON schema of a response object (itself possibly a `$ref`).
    pub fn response_schema<'v>(&'v self, response: &'v Value) -> Option<&'v Value> {
        self.resolve(response).get("content")?.get("application/json")?.get("schema")
    }

    /// Checks `body` against the schema the document gives `method path` for `status`.
    pub fn check_response(&self, method: &str, path: &str, status: u16, body: &Value) {
        let op = &self.doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not documented");
        let response = &op["responses"][status.to_string()];
        assert!(response.is_object(), "{method} {path} does not document {status}: {body}");
        let schema = self.response_schema(response).expect("a JSON schema");
        let mut errors = Vec::new();
        self.validate(schema, body, "$", &mut errors);
        assert!(errors.is_empty(), "{method} {path} {status}: {errors:#?}\n{body:#}");
    }

    fn validate(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let s = self.resolve(schema);
        if s == &Value::Bool(true) {
            return;
        }
        if s == &Value::Bool(false) {
            return errors.push(format!("{at}: nothing is allowed here"));
        }
        if let Some(types) = s.get("type") {
            let types: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let fits = types.iter().any(|t| match *t {
                "null" => v.is_null(),
                "boolean" => v.is_boolean(),
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                _ => false,
            });
            if !fits {
                return errors.push(format!("{at}: {v} is not of type {types:?}"));
            }
        }
        if let Some(values) = s.get("enum").and_then(Value::as_array) {
            if !values.contains(v) {
                errors.push(format!("{at}: {v} is not one of {values:?}"));
            }
        }
        if let Some(text) = v.as_str() {
            if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                if !regex::Regex::new(p).unwrap().is_match(text) {
                    errors.push(format!("{at}: {text:?} does not match {p}"));
                }
            }
            let len = text.chars().count() as u64;
            if s.get("minLength").and_then(Value::as_u64).is_some_and(|m| len < m) {
                errors.push(format!("{at}: {text:?} is too short"));
            }
            if s.get("maxLength").and_then(Value::as_u64).is_some_and(|m| len > m) {
                errors.push(format!("{at}: {text:?} is too long"));
            }
            match s.get("format").and_then(Value::as_str) {
                Some("date-time") if chrono::DateTime::parse_from_rfc3339(text).is_err() => {
                    errors.push(format!("{at}: {text:?} is not a date-time"))
                }
                Some("date") if text.parse::<chrono::NaiveDate>().is_err() => {
                    errors.push(format!("{at}: {text:?} is not a date"))
                }
                _ => {}
            }
        }
        if let Some(n) = v.as_f64() {
            if s.get("minimum").and_then(Value::as_f64).is_some_and(|m| n < m) {
                errors.push(format!("{at}: {v} is below the minimum"));
            }
            if s.get("maximum").and_then(Value::as_f64).is_some_and(|m| n > m) {
                errors.push(format!("{at}: {v} is above the maximum"));
            }
        }
        if let Some(o) = v.as_object() {
            let props = s.get("properties").and_then(Value::as_object);
            for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
                if !o.contains_key(r.as_str().unwrap()) {
                    errors.push(format!("{at}: {r} is missing"));
                }
            }
            for (k, x) in o {
                match props.and_then(|p| p.get(k)) {
                    Some(ps) => self.validate(ps, x, &format!("{at}.{k}"), errors),
                    None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errors.push(format!("{at}: {k} is not allowed"))
                    }
                    None => {}
                }
            }
        }
        if let Some(items) = v.as_array() {
            let prefix = s.get("prefixItems").and_then(Value::as_array);
            for (i, x) in items.iter().enumerate() {
                match prefix.and_then(|p| p.get(i)) {
                    Some(ps) => self.validate(ps, x, &format!("{at}[{i}]"), errors),
                    None => {
                        if let Some(is) = s.get("items") {
                            self.validate(is, x, &format!("{at}[{i}]"), errors);
                        }
                    }
                }
            }
            if s.get("minItems").and_then(Value::as_u64).is_some_and(|m| (items.len() as u64) < m) {
                errors.push(format!("{at}: too few items"));
            }
        }
        for sub in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.validate(sub, v, at, errors);
        }
        let fitting = |subs: &Vec<Value>| {
            subs.iter()
                .filter(|sub| {
                    let mut e = Vec::new();
                    self.validate(sub, v, at, &mut e);
                    e.is_empty()
                })
                .count()
        };
        if let Some(subs) = s.get("oneOf").and_then(Value::as_array) {
            let n = fitting(subs);
            if n != 1 {
                errors.push(format!("{at}: {v} fits {n} of the oneOf schemas, not exactly one"));
            }
        }
        if let Some(subs) = s.get("anyOf").and_then(Value::as_array) {
            if fitting(subs) == 0 {
                errors.push(format!("{at}: {v} fits none of the anyOf schemas"));
            }
        }
    }
}
