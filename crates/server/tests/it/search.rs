//! The search page forgives, on SQLite and PostgreSQL: IDs with spaces or dots, name words
//! in any order or cut short, a given name with a birth year, the commune by name; a bad
//! date keeps the form filled and names the field; nothing found gives hints.

use crate::common::*;
use reqwest::StatusCode;

on_both_backends!(
    the_search_box_forgives,
    a_bad_date_keeps_the_form_and_names_the_field,
    the_commune_is_picked_by_name,
    nothing_found_gives_hints,
);

async fn search(app: &TestApp, user: &str, query: &[(&str, &str)]) -> (StatusCode, String) {
    let t = app.token(user).await;
    let r =
        app.client().get(format!("{}/search", app.base)).bearer_auth(&t).query(query).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn the_search_box_forgives(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let link = format!("href=\"/citizens/{}\"", app.citizen_a.personal_id);
    for typed in ["001 085 001 234", "001.085.001.234", "an nguyen", "Ấn 1985", "nguy v an", "NGUYEN VAN AN"]
    {
        let (status, html) = search(app, "xa_a", &[("q", typed)]).await;
        assert_eq!(status, StatusCode::OK, "{typed}");
        assert!(html.contains(&link), "{typed}: {html}");
    }
    // The year must agree.
    let (_, html) = search(app, "xa_a", &[("q", "an 1990")]).await;
    assert!(!html.contains(&link));
}

async fn a_bad_date_keeps_the_form_and_names_the_field(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (status, html) = search(app, "xa_a", &[("q", "an nguyen"), ("birth_date", "31/02/1985")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"error-birth_date\""), "{html}");
    assert!(html.contains("value=\"31/02/1985\"") && html.contains("value=\"an nguyen\""), "{html}");
    assert!(!html.contains("data-testid=\"results\""));
}

async fn the_commune_is_picked_by_name(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let units = dancu_domain::admin_units();
    let (a_name, b_name) =
        (&units.commune_2025(COMMUNE_A).unwrap().name, &units.commune_2025(COMMUNE_B).unwrap().name);
    let a = format!("href=\"/citizens/{}\"", app.citizen_a.personal_id);
    let b = format!("href=\"/citizens/{}\"", app.citizen_b.personal_id);
    // The province officer sees both communes; the name narrows to one (marks optional).
    let (_, html) = search(app, "tinh01", &[("q", "nguyen"), ("commune", a_name)]).await;
    assert!(html.contains(&a), "{html}");
    assert!(
        html.contains(&format!("option value=\"{b_name}\"")),
        "the suggestions list the province's communes"
    );
    let folded = dancu_domain::fold_key(b_name);
    let (_, html) = search(app, "tinh01", &[("q", "tran binh"), ("commune", &folded)]).await;
    assert!(html.contains(&b) && !html.contains(&a), "{html}");
    let (_, html) = search(app, "tinh01", &[("q", "nguyen"), ("commune", "Không Có Xã Này")]).await;
    assert!(html.contains("data-testid=\"error-commune\""), "{html}");
}

async fn nothing_found_gives_hints(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (_, html) = search(app, "xa_a", &[("q", "zzz qqq")]).await;
    assert!(html.contains("data-testid=\"search-hint\""), "{html}");
}
