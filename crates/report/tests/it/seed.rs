//! Test fixtures: a SQLite file or a fresh PostgreSQL database, and seeded rows written
//! directly (applications, card applications, eID accounts, logins, partner counts, a quality
//! run, documents), spread across the window edges so off-by-one bounds show.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use dancu_domain::{PersonalId, Sex};
use dancu_store::exec::{Cell, Stmt, Val};
use dancu_store::registry::{AuditSink, AuditWriter, Registry};
use dancu_store::{audit_chain::AuditKey, Change, Store};

pub struct Db {
    pub store: Arc<dyn Store>,
    pub registry: Registry,
    pub writer: Option<AuditWriter>,
    pub _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("dancu.db").display());
    let store = dancu_store::open(&url, AuditKey::generate()).await.unwrap();
    let (sink, writer) = AuditSink::start(store.clone(), 64, None);
    Db { registry: Registry::new(store.clone(), sink), store, writer: Some(writer), _dir: Some(dir) }
}

pub async fn postgres() -> Option<Db> {
    let admin = std::env::var("DANCU_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let client = match tokio_postgres::connect(&admin, tokio_postgres::NoTls).await {
        Ok((c, conn)) => {
            tokio::spawn(conn);
            c
        }
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL at {admin} is unreachable under CI: {e}");
            }
            eprintln!("skipping PostgreSQL test: {e}");
            return None;
        }
    };
    let db = format!("dancu_rep_{:016x}", rand::random::<u64>());
    client.batch_execute(&format!("CREATE DATABASE {db}")).await.unwrap();
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (admin.clone(), String::new()),
    };
    let cut = base.rfind('/').unwrap();
    let url = format!("{}/{db}{query}", &base[..cut]);
    let store = dancu_store::open(&url, AuditKey::generate()).await.unwrap();
    let (sink, writer) = AuditSink::start(store.clone(), 64, None);
    Some(Db { registry: Registry::new(store.clone(), sink), store, writer: Some(writer), _dir: None })
}

impl Db {
    pub async fn count(&self, sql: &str, params: Vec<Val>) -> i64 {
        let rows = self.store.exec().query(sql, params).await.unwrap();
        match &rows[0].0[0] {
            Cell::Int(n) => *n,
            Cell::Null => 0,
            other => panic!("{sql}: {other:?}"),
        }
    }

    pub async fn finish(mut self) {
        if let Some(w) = self.writer.take() {
            drop(self.registry);
            w.shutdown().await;
        }
    }
}

/// splitmix64.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Communes: two of Hà Nội (01), one of Hồ Chí Minh City (79).
pub const COMMUNES: [(&str, &str); 3] = [("01", "00004"), ("01", "00008"), ("79", "25747")];

/// Seeds `n` applications and the rest around August 2025 (Vietnam time).
pub async fn seed(db: &Db, n: usize) {
    let store = db.store.as_ref();
    let mut rng = Rng(42);
    let mut people = Vec::new();
    for (i, (_, commune)) in COMMUNES.iter().enumerate() {
        for k in 0..4u32 {
            let pid = PersonalId::compose(
                "01",
                if k % 2 == 0 { Sex::Male } else { Sex::Female },
                1980 + k as i32,
                (i as u32) * 10 + k + 1,
            )
            .unwrap();
            let draft = dancu_domain::citizen::CitizenDraft {
                personal_id: pid.to_string(),
                family_name: "Nguyễn".into(),
                middle_name: "Văn".into(),
                given_name: "An".into(),
                birth_date: format!("{}-01-0{}", 1980 + k, k + 1),
                sex: pid.sex().code().into(),
                permanent_unit: format!("2025:{commune}"),
                permanent_detail: "Số 1".into(),
                ..Default::default()
            };
            let c = draft.validate(NaiveDate::from_ymd_opt(2025, 9, 1).unwrap()).unwrap();
            store
                .create_citizen(&c, &Change { actor: "seed".into(), reason: "seed".into(), at: Utc::now() })
                .await
                .unwrap();
            people.push((pid.to_string(), COMMUNES[i].0, *commune));
        }
    }
    // Instants from 2025-06-25 to 2025-09-05 (UTC), plus the exact window edges.
    let base = Utc.with_ymd_and_hms(2025, 6, 25, 0, 0, 0).unwrap();
    let edges = [
        Utc.with_ymd_and_hms(2025, 7, 31, 17, 0, 0).unwrap(), // 1 Aug 00:00 +07
        Utc.with_ymd_and_hms(2025, 7, 31, 16, 59, 59).unwrap(), // 31 Jul 23:59:59 +07
        Utc.with_ymd_and_hms(2025, 8, 31, 17, 0, 0).unwrap() - Duration::microseconds(1), // last instant of August
        Utc.with_ymd_and_hms(2025, 8, 31, 17, 0, 0).unwrap(),                             // 1 Sep
    ];
    let services =
        ["residence_permanent", "residence_temporary", "birth", "card_renew", "passport", "exam_admission"];
    let states = [
        "submitted",
        "accepted",
        "in_process",
        "info_requested",
        "completed",
        "rejected",
        "not_accepted",
        "withdrawn",
    ];
    let reasons = ["Hồ sơ chưa đủ giấy tờ", "Sai thẩm quyền"];
    let mut stmts = Vec::new();
    for i in 0..n {
        let (pid, province, commune) = &people[rng.below(people.len() as u64) as usize];
        let at =
            if i < edges.len() { edges[i] } else { base + Duration::seconds(rng.below(72 * 86400) as i64) };
        let service = services[rng.below(services.len() as u64) as usize];
        let channel = ["online", "online", "desk", "post"][rng.below(4) as usize];
        let state = states[rng.below(states.len() as u64) as usize];
        let due = (at + Duration::days(rng.below(20) as i64)).date_naive();
        let decided = matches!(state, "completed" | "rejected");
        let on_time = if decided { Val::Int((rng.below(3) > 0) as i64) } else { Val::Null };
        let reason = if state == "not_accepted" { reasons[rng.below(2) as usize] } else { "" };
        stmts.push(Stmt::new(
            "INSERT INTO applications (id, service_code, personal_id, channel, unit, state, state_reason, submitted_at, \
             due_date, decided_at, on_time, idempotency_key, scope_province, scope_commune, created_by, updated_at, updated_by, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'seed', $8, 'seed', 1)",
            vec![
                Val::Int(i as i64 + 1),
                Val::Text(service.into()),
                Val::Text(pid.clone()),
                Val::Text(channel.into()),
                Val::Text(commune.to_string()),
                Val::Text(state.into()),
                Val::Text(reason.into()),
                Val::Ts(at),
                Val::Text(due.to_string()),
                if decided { Val::Ts(at) } else { Val::Null },
                on_time,
                Val::Text(format!("k{i}")),
                Val::Text(province.to_string()),
                Val::Text(commune.to_string()),
            ],
        ));
        // A document on every third application: digitised, or reused every sixth.
        if i % 3 == 0 {
            let sha = format!("{:064x}", i / 6);
            if i % 6 == 0 {
                stmts.push(Stmt::new(
                    "INSERT INTO citizen_documents (personal_id, sha256, media_type, size, bytes_hex, stored_at) \
                     VALUES ($1, $2, 'application/pdf', 1, '00', $3)",
                    vec![Val::Text(pid.clone()), Val::Text(format!("{i:064x}")), Val::Ts(at)],
                ));
            }
            let _ = sha;
            stmts.push(Stmt::new(
                "INSERT INTO application_documents (application_id, seq, kind, personal_id, sha256, media_type, size, reused, at, actor) \
                 SELECT $1, 1, 'proof', personal_id, sha256, media_type, size, $2, $3, 'seed' FROM citizen_documents \
                 WHERE personal_id = $4 ORDER BY sha256 LIMIT 1",
                vec![Val::Int(i as i64 + 1), Val::Int((i % 6 != 0) as i64), Val::Ts(at), Val::Text(pid.clone())],
            ));
        }
    }
    // Card applications, each with stage events at seeded instants.
    for (k, (pid, province, commune)) in people.iter().enumerate() {
        let id = k as i64 + 1;
        let at = base + Duration::days(rng.below(70) as i64);
        stmts.push(Stmt::new(
            "INSERT INTO card_applications (id, personal_id, kind, stage, biometrics_captured, reason, scope_province, scope_commune, unit, \
             created_at, created_by, updated_at, updated_by, version) VALUES ($1, $2, 'first_issue', 'handed_over', TRUE, '', $3, $4, $4, $5, 'seed', $5, 'seed', 1)",
            vec![Val::Int(id), Val::Text(pid.clone()), Val::Text(province.to_string()), Val::Text(commune.to_string()), Val::Ts(at)],
        ));
        for (seq, stage) in
            ["intake", "sent_to_production", "card_received", "handed_over"].iter().enumerate()
        {
            let t = at + Duration::days(seq as i64 * 9);
            stmts.push(Stmt::new(
                "INSERT INTO card_application_events (application_id, seq, from_stage, to_stage, reason, at, actor) VALUES ($1, $2, '', $3, '', $4, 'seed')",
                vec![Val::Int(id), Val::Int(seq as i64 + 1), Val::Text(stage.to_string()), Val::Ts(t)],
            ));
        }
        // eID: registered, activated; a few logins.
        stmts.push(Stmt::new(
            "INSERT INTO eid_accounts (personal_id, level, state, state_json, phone, password_hash, totp_secret, scope_province, scope_commune, created_at, updated_at, version) \
             VALUES ($1, $2, 'activated', '{}', '0900000000', 'x', 'x', $3, $4, $5, $5, 1)",
            vec![Val::Text(pid.clone()), Val::Int(1 + (k % 2) as i64), Val::Text(province.to_string()), Val::Text(commune.to_string()), Val::Ts(at)],
        ));
        for (seq, (event, level)) in
            [("register", 1), ("approve", 1), ("activate", 1 + (k % 2) as i64)].iter().enumerate()
        {
            stmts.push(Stmt::new(
                "INSERT INTO eid_events (personal_id, seq, event, from_state, to_state, level, reason, at, actor) VALUES ($1, $2, $3, '', '', $4, '', $5, 'seed')",
                vec![Val::Text(pid.clone()), Val::Int(seq as i64 + 1), Val::Text(event.to_string()), Val::Int(*level), Val::Ts(at + Duration::days(seq as i64 * 5))],
            ));
        }
        for j in 0..5 {
            stmts.push(Stmt::new(
                "INSERT INTO eid_logins (personal_id, at, outcome, client) VALUES ($1, $2, $3, 'portal')",
                vec![
                    Val::Text(pid.clone()),
                    Val::Ts(at + Duration::days(j * 7)),
                    Val::Text(if j % 3 == 0 { "bad_password" } else { "ok" }.into()),
                ],
            ));
        }
    }
    // Partner calls per day.
    for d in 0..70 {
        let day = (NaiveDate::from_ymd_opt(2025, 6, 28).unwrap() + Duration::days(d)).to_string();
        for (op, outcome, c) in [
            ("verify", "match", 7),
            ("verify", "mismatch", 2),
            ("card_lookup", "found", 5),
            ("card_lookup", "not_found", 1),
        ] {
            stmts.push(Stmt::new(
                "INSERT INTO partner_counts (day, client_id, operation, purpose, outcome, count) VALUES ($1, 'hospital', $2, 'kcb', $3, $4)",
                vec![Val::Text(day.clone()), Val::Text(op.into()), Val::Text(outcome.into()), Val::Int(c)],
            ));
        }
    }
    // Two quality runs, one in July and one in August; the report takes August's.
    for (run, at) in [
        (1, Utc.with_ymd_and_hms(2025, 7, 10, 3, 0, 0).unwrap()),
        (2, Utc.with_ymd_and_hms(2025, 8, 20, 3, 0, 0).unwrap()),
    ] {
        stmts.push(Stmt::new(
            "INSERT INTO quality_runs (id, at, by) VALUES ($1, $2, 'seed')",
            vec![Val::Int(run), Val::Ts(at)],
        ));
        for (i, (province, commune)) in COMMUNES.iter().enumerate() {
            for rule in ["missing_fields", "card_expired"] {
                let f = 10 * run + i as i64;
                stmts.push(Stmt::new(
                    "INSERT INTO quality_counts (run_id, rule, scope_province, scope_commune, found, fixed, failed, remaining) VALUES ($1, $2, $3, $4, $5, $6, 1, $7)",
                    vec![Val::Int(run), Val::Text(rule.into()), Val::Text(province.to_string()), Val::Text(commune.to_string()), Val::Int(f), Val::Int(f / 2), Val::Int(f - f / 2 - 1)],
                ));
            }
        }
    }
    store.exec().transaction(stmts).await.unwrap();
}
