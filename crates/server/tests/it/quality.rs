//! Data-quality pages over HTTP, on SQLite and PostgreSQL: who may run the rules, worklists
//! in the officer's scope, the "cannot fix" mark, and the counts after a fix.

use crate::common::*;
use dancu_store::registry::now;
use dancu_store::{AuditFilter, Change};
use reqwest::header::LOCATION;
use reqwest::StatusCode;

on_both_backends!(
    before_any_run_only_province_and_nation_officers_may_run,
    a_run_lists_findings_in_each_scope,
    cannot_fix_marks_need_a_reason_and_scope,
    a_second_run_counts_fixed_and_failed,
    worklist_reads_marks_and_runs_are_audited,
    residence_invariants_find_members_away_from_the_household,
);

struct Officer<'a> {
    app: &'a TestApp,
    token: String,
}

impl Officer<'_> {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r =
            self.app.client().get(format!("{}{path}", self.app.base)).bearer_auth(&self.token).send().await;
        let r = r.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let r =
            self.app.client().post(format!("{}{path}", self.app.base)).bearer_auth(&self.token).form(form);
        let r = r.send().await.unwrap();
        let to = r.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
        (r.status(), to)
    }

    /// Found, fixed, failed and remaining of a rule on the summary page.
    async fn counts(&self, rule: &str) -> [u64; 4] {
        let (status, html) = self.get("/quality").await;
        assert_eq!(status, StatusCode::OK);
        let row = html.split(&format!("data-rule=\"{rule}\"")).nth(1).unwrap();
        let row = &row[..row.find("</tr>").unwrap()];
        let cells: Vec<u64> = row
            .split("<td")
            .filter_map(|c| c.split_once('>')?.1.split("</td>").next()?.parse().ok())
            .collect();
        cells.try_into().unwrap_or_else(|c| panic!("{rule}: {c:?}"))
    }
}

fn mark<'a>(subject: &'a str, reason: &'a str) -> [(&'a str, &'a str); 3] {
    [("csrf", ""), ("subject", subject), ("reason", reason)]
}

async fn officer<'a>(app: &'a TestApp, user: &str) -> Officer<'a> {
    Officer { app, token: app.token(user).await }
}

/// The four officers' page clients.
async fn officers(app: &TestApp) -> (Officer<'_>, Officer<'_>, Officer<'_>, Officer<'_>) {
    (
        officer(app, "admin").await,
        officer(app, "xa_a").await,
        officer(app, "xa_b").await,
        officer(app, "tinh01").await,
    )
}

/// A run by the administrator: the two test citizens lack birth place and home town.
async fn run_as_admin(admin: &Officer<'_>) {
    assert_eq!(
        admin.post("/quality/runs", &[("csrf", "")]).await,
        (StatusCode::SEE_OTHER, "/quality".into())
    );
}

/// Commune A's officer marks citizen A's finding "cannot fix".
async fn mark_a(xa_a: &Officer<'_>, a: &str) {
    let (status, to) = xa_a.post("/quality/missing_fields/marks", &mark(a, "Không có giấy khai sinh")).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/quality/missing_fields"));
}

async fn before_any_run_only_province_and_nation_officers_may_run(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (admin, xa_a, _, tinh) = officers(app).await;

    // Before any run: every rule listed at zero; commune officers get no run button and
    // cannot run.
    let (status, html) = xa_a.get("/quality").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Chưa có lần kiểm tra nào"), "{html}");
    assert!(!html.contains("id=\"run\""));
    for rule in [
        "missing_fields",
        "household_no_head",
        "deceased_active",
        "id_inconsistent",
        "card_expired",
        "residence_invariants",
    ] {
        assert_eq!(xa_a.counts(rule).await, [0, 0, 0, 0], "{rule}");
    }
    let (status, _) = xa_a.post("/quality/runs", &[("csrf", "")]).await;
    assert_ne!(status, StatusCode::SEE_OTHER);
    assert!(admin.get("/quality").await.1.contains("Chưa có lần kiểm tra nào"));
    assert!(tinh.get("/quality").await.1.contains("id=\"run\""));
}

async fn a_run_lists_findings_in_each_scope(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (admin, xa_a, xa_b, tinh) = officers(app).await;
    let a = app.citizen_a.personal_id.to_string();
    let b = app.citizen_b.personal_id.to_string();
    run_as_admin(&admin).await;
    let (_, html) = xa_a.get("/quality").await;
    assert!(html.contains("Cán bộ admin"), "latest run shown, by name");
    assert_eq!(xa_a.counts("missing_fields").await, [1, 0, 0, 1]);
    assert_eq!(xa_b.counts("missing_fields").await, [1, 0, 0, 1]);
    assert_eq!(tinh.counts("missing_fields").await, [2, 0, 0, 2]);

    // Worklists in scope, with links to the records and the reason in words.
    let (status, html) = xa_a.get("/quality/missing_fields").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("href=\"/citizens/{a}\"")), "{html}");
    assert!(html.contains("quê quán"));
    assert!(!html.contains(&b), "commune A sees no finding of commune B");
    let (_, html) = xa_b.get("/quality/missing_fields?lang=en").await;
    assert!(html.contains(&b) && !html.contains(&a));
    assert!(html.contains("home town"));
    let (_, html) = tinh.get("/quality/missing_fields").await;
    assert!(html.contains(&a) && html.contains(&b));
    assert_eq!(xa_a.get("/quality/no_such_rule").await.0, StatusCode::NOT_FOUND);
}

async fn cannot_fix_marks_need_a_reason_and_scope(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (admin, xa_a, xa_b, _) = officers(app).await;
    let a = app.citizen_a.personal_id.to_string();
    let b = app.citizen_b.personal_id.to_string();
    run_as_admin(&admin).await;
    // Marks: out of scope answers like a missing finding; a reason is required.
    let (status, _) = xa_a.post("/quality/missing_fields/marks", &mark(&b, "không rõ")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = xa_a.post("/quality/missing_fields/marks", &mark(&a, "")).await;
    assert_ne!(status, StatusCode::SEE_OTHER);
    mark_a(&xa_a, &a).await;
    assert_eq!(xa_a.counts("missing_fields").await, [1, 0, 1, 0]);
    assert_eq!(xa_b.counts("missing_fields").await, [1, 0, 0, 1]);
    let (_, html) = xa_a.get("/quality/missing_fields").await;
    assert!(!html.contains(&format!("/citizens/{a}")), "marked findings leave the worklist");
    let (_, html) = xa_a.get("/quality/missing_fields?marked=1").await;
    assert!(html.contains(&format!("/citizens/{a}")) && html.contains("Không có giấy khai sinh"));
}

async fn a_second_run_counts_fixed_and_failed(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (admin, xa_a, xa_b, tinh) = officers(app).await;
    let a = app.citizen_a.personal_id.to_string();
    run_as_admin(&admin).await;
    mark_a(&xa_a, &a).await;
    // Commune B's record is fixed; a province officer runs again: fixed in B, and A's
    // mark still counts as failed.
    let mut fixed = app.citizen_b.clone();
    fixed.birth_place = app.citizen_a.current.as_ref().or(app.citizen_a.permanent.as_ref()).map(|x| x.unit);
    fixed.hometown = fixed.birth_place;
    let change = Change { actor: "test:fix".into(), reason: "bổ sung".into(), at: now() };
    app.store.update_citizen(&fixed, 1, &change).await.unwrap();
    assert_eq!(tinh.post("/quality/runs", &[("csrf", "")]).await.0, StatusCode::SEE_OTHER);
    assert_eq!(xa_b.counts("missing_fields").await, [0, 1, 0, 0]);
    assert_eq!(xa_a.counts("missing_fields").await, [0, 0, 1, 0]);
    assert_eq!(tinh.counts("missing_fields").await, [0, 1, 1, 0]);
    let (_, html) = xa_b.get("/quality/missing_fields").await;
    assert!(html.contains("data-testid=\"worklist-total\">0<"), "{html}");
    let runs = html.split("data-testid=\"quality-history\"").nth(1).unwrap();
    assert_eq!(runs.matches("<tr><td").count(), 2, "two runs in the history");

    // Reopening puts the finding back in the worklist.
    let (status, _) = xa_a
        .post("/quality/missing_fields/marks", &[("csrf", ""), ("subject", &a), ("action", "unmark")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(xa_a.counts("missing_fields").await, [0, 0, 0, 1]);
}

async fn worklist_reads_marks_and_runs_are_audited(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (admin, xa_a, _, _) = officers(app).await;
    let a = app.citizen_a.personal_id.to_string();
    // A refused run, a run, a worklist read, a mark and its reopening by commune A.
    let (status, _) = xa_a.post("/quality/runs", &[("csrf", "")]).await;
    assert_ne!(status, StatusCode::SEE_OTHER);
    run_as_admin(&admin).await;
    assert_eq!(xa_a.get("/quality/missing_fields").await.0, StatusCode::OK);
    mark_a(&xa_a, &a).await;
    let (status, _) = xa_a
        .post("/quality/missing_fields/marks", &[("csrf", ""), ("subject", &a), ("action", "unmark")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let f = AuditFilter { actor: Some("officer:xa_a".into()), limit: 200, ..Default::default() };
    let actions: Vec<String> =
        app.store.list_audit(&f).await.unwrap().items.into_iter().map(|e| e.entry.action).collect();
    for action in ["quality.worklist", "quality.mark", "quality.unmark", "quality.run"] {
        assert!(actions.iter().any(|x| x == action), "{action} in {actions:?}");
    }
}

/// A household whose member lives at another address than the head (imported so, before the
/// residence procedures, which refuse it) is listed with the reason in words.
async fn residence_invariants_find_members_away_from_the_household(backend: &'static str) {
    use dancu_domain::household::{Household, Member};
    let app = &TestApp::start(backend).await;
    let (admin, xa_a, _, _) = officers(app).await;
    let ch = Change { actor: "test:setup".into(), reason: "nhập dữ liệu cũ".into(), at: now() };
    let away = draft("001195000333", "Lê", "Thị", "Mai", "02/02/1995", "Nữ", COMMUNE_A);
    let away = dancu_domain::citizen::CitizenDraft { permanent_detail: "Số 40 phố Khác".into(), ..away }
        .validate(chrono::Utc::now().date_naive())
        .unwrap();
    app.store.create_citizen(&away, &ch).await.unwrap();
    let h = Household {
        number: "HQ1".into(),
        members: vec![
            Member { personal_id: app.citizen_a.personal_id, relation: dancu_domain::Relation::Head },
            Member { personal_id: away.personal_id, relation: dancu_domain::Relation::Child },
        ],
    };
    app.store.create_household(&h, &ch).await.unwrap();
    run_as_admin(&admin).await;
    assert_eq!(xa_a.counts("residence_invariants").await, [1, 0, 0, 1]);
    let (_, html) = xa_a.get("/quality/residence_invariants").await;
    assert!(html.contains("001195000333") && html.contains("không ở nơi thường trú của hộ"), "{html}");
    assert!(
        !html.contains(&format!("/citizens/{}\"", app.citizen_a.personal_id)),
        "the head is where the household is"
    );
}
