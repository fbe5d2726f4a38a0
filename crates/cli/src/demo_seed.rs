//! What the demo adds after the import so that the card, eID and quality pages have content on
//! a first visit: cards issued before the registry kept applications (some due for renewal or
//! already expired, a child's card to 14), applications at each stage of the board, and eID
//! accounts in each state, and public-service applications in every state (some overdue).
//! Everything goes through the audited registry as `system:demo`.

use anyhow::Result;
use chrono::{Datelike, Months, NaiveDate};
use dancu_domain::{LifeStatus, PartialDate, PersonalId};
use dancu_identity::{AccountEvent, Actor, ApplicationKind, RegistrationClaim, Stage};
use dancu_store::registry::{Access, FigureDraft, Registry, Submission};
use dancu_store::{CitizenQuery, CitizenSummary, ImportCard, NewCardApplication};

/// What was seeded, for the demo's summary.
#[derive(Debug, Default)]
pub struct Seeded {
    pub cards: u64,
    pub applications: u64,
    pub eid_accounts: u64,
    /// The activated account raised to level 2, for logging in to the demo portal.
    pub level2: Option<PersonalId>,
    pub service_applications: u64,
}

/// Password of the seeded eID accounts. Their authenticator keys are not shown, except the
/// level-2 account's (`Seeded::level2`), which logs in to the demo portal.
pub const SEEDED_PASSWORD: &str = "citizen-demo-2025";

/// Seeds `commune` (skipping `keep_free`, the banner's sample citizen, who registers by hand).
pub async fn seed(
    registry: &Registry,
    secrets: &dancu_server::secrets::Secrets,
    commune: &str,
    keep_free: Option<&str>,
    demo_communes: &[&str],
) -> Result<Seeded> {
    let a = Access::system("demo", "dữ liệu mẫu: thẻ, hồ sơ cấp thẻ, tài khoản định danh");
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let q = CitizenQuery { commune: Some(commune.into()), limit: 1000, ..Default::default() };
    let people: Vec<CitizenSummary> = registry
        .search(&a, &q)
        .await?
        .items
        .into_iter()
        .filter(|c| c.status == LifeStatus::Alive && Some(c.personal_id.as_str()) != keep_free)
        .filter(|c| matches!(c.birth_date, PartialDate::Full(_)))
        .collect();
    let mut out = Seeded::default();
    // Four in five get a card; the others are left for applications and eID accounts.
    let (with_card, rest): (Vec<_>, Vec<_>) = people.iter().enumerate().partition(|(i, _)| i % 5 != 0);
    let cards: Vec<ImportCard> = with_card
        .iter()
        .filter_map(|(i, c)| {
            issue_date(&c.birth_date, today, *i).map(|d| ImportCard {
                personal_id: c.personal_id,
                issue_date: d,
                unit: commune.into(),
            })
        })
        .collect();
    out.cards = registry.import_cards(&a, &cards, "thẻ đã cấp trước khi có hệ thống (dữ liệu mẫu)").await?;
    // Applications for people without a card; eID accounts for card holders (level 2
    // needs a card later).
    let adult = |c: &&CitizenSummary| c.birth_date.age_on(today) >= 18;
    let no_card = rest.into_iter().map(|(_, c)| c).filter(adult).take(9);
    out.applications = applications(registry, &a, commune, no_card).await?;
    let holders = with_card.into_iter().map(|(_, c)| c).filter(adult).take(8);
    let (n, activated) = eid_accounts(registry, &a, secrets, holders).await?;
    out.eid_accounts = n;
    // One activated account goes to level 2 in person (its holder has a valid card), so the
    // demo portal can ask for level 2.
    for id in activated {
        if registry.eid_upgrade_level2(&a, &id, true, today, None).await.is_ok() {
            out.level2 = Some(id);
            break;
        }
    }
    let applicants = people.iter().filter(adult).take(18);
    out.service_applications =
        service_applications(registry, &a, today, (commune, demo_communes), applicants).await?;
    Ok(out)
}

/// An issue date for person number `i`: every fourth adult got their card at 20, so by now
/// it is due or expired; a young child got a 2023-law card (to 14); the others five years
/// ago (at 14 at the earliest). `None` for a child too young for a 2020-law card and not
/// picked for a 2023 one.
fn issue_date(birth: &PartialDate, today: NaiveDate, i: usize) -> Option<NaiveDate> {
    let b = birth.earliest();
    let at = |age: u32| b.checked_add_months(Months::new(12 * age));
    let age = birth.age_on(today);
    if age < 14 {
        return (today.year() >= 2025)
            .then(|| NaiveDate::from_ymd_opt(2025, 1, 2))
            .flatten()
            .filter(|d| *d > b);
    }
    let d = if i.is_multiple_of(4) && age >= 21 {
        at(20)?
    } else {
        today.checked_sub_months(Months::new(60))?.max(at(14)?)
    };
    Some(d.min(today))
}

/// First-issue applications spread over intake, production and received.
async fn applications(
    registry: &Registry,
    a: &Access,
    commune: &str,
    people: impl Iterator<Item = &CitizenSummary>,
) -> Result<u64> {
    let mut n = 0;
    for (i, c) in people.enumerate() {
        let new = NewCardApplication {
            personal_id: c.personal_id,
            kind: ApplicationKind::FirstIssue,
            biometrics_captured: true,
            reason: "cấp thẻ lần đầu (dữ liệu mẫu)".into(),
            unit: commune.into(),
        };
        let app = registry.create_card_application(a, &new).await?;
        let steps = [Stage::SentToProduction, Stage::CardReceived];
        for (v, to) in (1..).zip(steps.iter().take(i % 3)) {
            registry.transition_card_application(a, app.id, to, None, v).await?;
        }
        n += 1;
    }
    Ok(n)
}

/// Public-service applications (the residence procedures) in every state, one in three
/// received three weeks ago so that the open ones are overdue and the decided ones late.
async fn service_applications<'a>(
    registry: &Registry,
    a: &Access,
    today: NaiveDate,
    (commune, demo_communes): (&str, &[&str]),
    people: impl Iterator<Item = &'a CitizenSummary>,
) -> Result<u64> {
    use dancu_domain::application::{AppState::*, Channel};
    const SERVICES: [&str; 4] =
        ["residence_temporary", "residence_permanent", "residence_absence", "residence_stay"];
    let paths: [&[(dancu_domain::application::AppState, &str)]; 8] = [
        &[],
        &[(Accepted, "")],
        &[(Accepted, ""), (InProcess, "")],
        &[(Accepted, ""), (InProcess, ""), (InfoRequested, "thiếu giấy tờ chứng minh chỗ ở hợp pháp")],
        &[(Accepted, ""), (InProcess, ""), (Completed, "")],
        &[(Accepted, ""), (InProcess, ""), (Rejected, "chỗ ở không đủ diện tích tối thiểu")],
        &[(NotAccepted, "hồ sơ không thuộc thẩm quyền của xã")],
        &[(Accepted, ""), (InProcess, ""), (Withdrawn, "công dân xin rút hồ sơ")],
    ];
    // Temporary registrations are made in a neighbouring commune of the same province (not
    // in the commune of permanent residence, which the law forbids), one the demo does not
    // seed, so that nobody is seeded twice.
    let units = dancu_domain::admin_units();
    let province = units.commune_2025(commune).map(|c| c.province_code.clone()).unwrap_or_default();
    let elsewhere = units
        .communes_of_province_2025(&province)
        .iter()
        .find(|c| !demo_communes.contains(&c.as_str()))
        .cloned()
        .unwrap_or_default();
    let people: Vec<&CitizenSummary> = people.collect();
    let mut n = 0;
    for (i, c) in people.iter().enumerate() {
        let path = i % paths.len();
        // The completed one is a temporary registration (its effect never breaks a rule here);
        // a stay notification is complete at once, so stays come after the others.
        let service = match (path, i >= 2 * paths.len()) {
            (_, true) => "residence_stay",
            (4, _) => "residence_temporary",
            _ => SERVICES[i % 3],
        };
        let from = today.to_string();
        let payload = match service {
            "residence_temporary" => {
                serde_json::json!({"procedure": "temporary", "unit": format!("2025:{elsewhere}"),
                "detail": "Số 5, ngõ 12 (dữ liệu mẫu)", "from": from,
                "until": (today + chrono::Duration::days(180)).to_string()})
            }
            "residence_permanent" => {
                serde_json::json!({"procedure": "permanent", "unit": format!("2025:{commune}"),
                "detail": "Số 18, đường Trần Phú (dữ liệu mẫu)", "household": {"choice": "new"}})
            }
            "residence_absence" => serde_json::json!({"procedure": "absence", "from": from,
                "until": (today + chrono::Duration::days(30)).to_string(),
                "destination": "Đi làm việc tại TP. Hồ Chí Minh (dữ liệu mẫu)"}),
            _ => serde_json::json!({"procedure": "stay", "unit": format!("2025:{commune}"),
                "detail": "Nhà nghỉ Hoa Sen, số 3 (dữ liệu mẫu)", "from": from,
                "until": (today + chrono::Duration::days(3)).to_string(),
                "guests": [people[(i + 1) % people.len()].personal_id.to_string()]}),
        };
        let sub = Submission {
            personal_id: c.personal_id,
            service_code: service.into(),
            channel: if i % 2 == 0 { Channel::Desk } else { Channel::Post },
            idempotency_key: format!("demo-{i}"),
            received_on: (i % 3 == 0).then(|| today - chrono::Duration::days(21)),
            payload: Some(payload),
        };
        let (app, _) = registry.submit_application(a, &sub).await?;
        if service == "residence_stay" {
            // In effect the moment it was notified.
            n += 1;
            continue;
        }
        for (v, (to, reason)) in (1..).zip(paths[path]) {
            registry.transition_application(a, app.id, *to, reason, v).await?;
        }
        n += 1;
    }
    Ok(n)
}

/// Level-1 accounts: waiting for approval, approved, activated, and locked by an officer.
async fn eid_accounts(
    registry: &Registry,
    a: &Access,
    secrets: &dancu_server::secrets::Secrets,
    people: impl Iterator<Item = &CitizenSummary>,
) -> Result<(u64, Vec<PersonalId>)> {
    let pw = SEEDED_PASSWORD.to_string();
    let hash = tokio::task::spawn_blocking(move || dancu_server::auth::hash_password(&pw)).await?;
    let (mut n, mut activated) = (0, Vec::new());
    for (i, c) in people.enumerate() {
        let id: PersonalId = c.personal_id;
        let claim = RegistrationClaim {
            personal_id: id,
            full_name: c.full_name.clone(),
            birth_date: c.birth_date,
            sex: c.sex,
            phone: format!("09{:08}", 12_345_000 + i),
            portrait_captured: true,
        };
        let key =
            dancu_identity::totp::secret_base32(&dancu_identity::totp::new_secret(&mut rand::thread_rng()));
        registry.eid_register(&claim, hash.clone(), secrets.seal_totp(&id, &key)).await?;
        if i % 4 >= 1 {
            registry.eid_officer_event(a, &id, &AccountEvent::Approve, None).await?;
        }
        if i % 4 >= 2 {
            registry.eid_citizen_event(&id, &AccountEvent::Activate).await?;
            if i % 4 == 2 {
                activated.push(id);
            }
        }
        if i % 4 == 3 {
            let lock = AccountEvent::Lock {
                by: Actor::Officer,
                reason: "nghi bị lộ mật khẩu (dữ liệu mẫu)".into(),
            };
            registry.eid_officer_event(a, &id, &lock, None).await?;
        }
        n += 1;
    }
    Ok((n, activated))
}

/// Linked procedures for the board at `/chains` (docs/CHAINS.md), sent as the demo
/// civil-status partner (`demo-justice`) through the registry's own path: two births into
/// households of `commune`, one death, and a birth naming a parent the registry does not
/// know, which waits in the exceptions worklist. Returns how many were sent.
pub async fn chains(registry: &Registry, commune: &str, keep_free: Option<&str>) -> Result<u64> {
    use dancu_domain::Sex;
    use dancu_store::chains::{BirthRegistration, DeathRegistration, Timing};
    let Some(justice) = registry.partner("demo-justice").await? else { return Ok(0) };
    let purpose = "đăng ký khai sinh, khai tử liên thông (dữ liệu mẫu)";
    let a = Access::system("demo", "dữ liệu mẫu: thủ tục liên thông");
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let q = CitizenQuery { commune: Some(commune.into()), limit: 1000, ..Default::default() };
    let people: Vec<CitizenSummary> = registry
        .search(&a, &q)
        .await?
        .items
        .into_iter()
        .filter(|c| c.status == LifeStatus::Alive && Some(c.personal_id.as_str()) != keep_free)
        .collect();
    let parents: Vec<&CitizenSummary> = people
        .iter()
        .filter(|c| c.household_no.is_some() && (22..40).contains(&c.birth_date.age_on(today)))
        .take(2)
        .collect();
    let timing = Timing::default();
    let mut sent = 0;
    let birth = |no: &str, parent: &CitizenSummary, given: &str, sex: &str, days: i64| {
        let parent_id = parent.personal_id.to_string();
        let (father_id, mother_id) = match parent.sex {
            Sex::Male => (parent_id.clone(), String::new()),
            Sex::Female => (String::new(), parent_id.clone()),
        };
        BirthRegistration {
            registration_no: no.into(),
            family_name: parent.full_name.split(' ').next().unwrap_or("Nguyễn").into(),
            middle_name: "Minh".into(),
            given_name: given.into(),
            sex: sex.into(),
            birth_date: (today - chrono::Duration::days(days)).to_string(),
            birth_place: format!("2025:{commune}"),
            father_id,
            mother_id,
            household_of: parent_id,
            id_province: String::new(),
        }
    };
    for (i, p) in parents.iter().enumerate() {
        let (given, sex) = [("An", "Nữ"), ("Khôi", "Nam")][i % 2];
        let b = birth(&format!("KS-DEMO-{:04}", i + 1), p, given, sex, 5 + i as i64);
        registry.chain_submit_birth(&justice, purpose, &b, &timing).await?;
        sent += 1;
    }
    // A parent the registry does not know: the chain issues the ID, then waits for an officer.
    if let Some(p) = parents.first() {
        let unknown: PersonalId = format!("{}999999", &p.personal_id.as_str()[..6]).parse()?;
        let q = CitizenQuery { personal_id: Some(unknown), ..Default::default() };
        if registry.search(&a, &q).await?.items.is_empty() {
            let mut b = birth("KS-DEMO-0099", p, "Bình", "Nam", 2);
            if b.father_id.is_empty() {
                b.father_id = unknown.to_string();
            } else {
                b.mother_id = unknown.to_string();
            }
            b.household_of = unknown.to_string();
            registry.chain_submit_birth(&justice, purpose, &b, &timing).await?;
            sent += 1;
        }
    }
    // The oldest person who is not one of the parents.
    let oldest = people
        .iter()
        .filter(|c| parents.iter().all(|p| p.personal_id != c.personal_id))
        .max_by_key(|c| c.birth_date.age_on(today));
    if let Some(d) = oldest {
        let death = DeathRegistration {
            registration_no: "KT-DEMO-0001".into(),
            personal_id: d.personal_id.to_string(),
            death_date: (today - chrono::Duration::days(1)).to_string(),
            death_place: format!("2025:{commune}"),
        };
        registry.chain_submit_death(&justice, purpose, &death, &timing).await?;
        sent += 1;
    }
    Ok(sent)
}

/// Figures an agency submits for `commune` for the last two months (electricity connections
/// done outside dancu, and propaganda and training counts), approved by the province, so
/// that the reports and the dashboard show submitted figures beside the platform's own; one
/// more month is left submitted, waiting for the province at `/figures`.
pub async fn figures(registry: &Registry, commune: &str) -> Result<u64> {
    let unit = Access::system("demo-agency", "số liệu mẫu của đơn vị");
    let province = Access::system("demo-province", "duyệt số liệu mẫu");
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let mut n = 0;
    for back in 0..3u32 {
        let month = today.checked_sub_months(Months::new(back)).unwrap_or(today).format("%Y-%m").to_string();
        let k = i64::from(back) + 1;
        let services = [
            ("received", 40 + 7 * k),
            ("online", 31 + 5 * k),
            ("on_time", 38 + 6 * k),
            ("overdue", k),
            ("not_accepted", 1),
        ]
        .map(|(c, v)| (("power_connection".to_string(), c.to_string()), v));
        let outreach = [
            ("propaganda_sessions", 3 + k),
            ("propaganda_participants", 120 * k),
            ("training_courses", 1),
            ("trained_people", 25 + k),
            ("media_items", 6),
        ]
        .map(|(r, v)| ((r.to_string(), "count".to_string()), v));
        for (form, values) in
            [("services", services.into_iter().collect()), ("outreach", outreach.into_iter().collect())]
        {
            let draft = FigureDraft {
                unit: commune.into(),
                month: month.clone(),
                form: form.into(),
                values,
                submit: true,
                source: "form".into(),
            };
            let s = registry.save_figures(&unit, &draft).await?;
            if back > 0 {
                registry.approve_figures(&province, s.id, s.version).await?;
            }
            n += 1;
        }
    }
    Ok(n)
}
