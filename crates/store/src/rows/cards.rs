//! ID card applications and cards: SQL, rows, the board, lists and the due-for-renewal
//! list.

use std::sync::LazyLock;

use dancu_domain::PersonalId;
use dancu_identity::Issuance;

use super::*;

pub use dancu_identity::RENEWAL_NOTICE_DAYS;

// ---------------------------------------------------------------------------------------
// ID card applications and cards

pub(crate) const CARD_APP_SELECT: &str =
    "SELECT id, personal_id, kind, stage, biometrics_captured, handover_method, stage_reason, reason, \
     scope_province, scope_commune, unit, created_at, created_by, updated_at, updated_by, version \
     FROM card_applications";

/// `INSERT` of a new application (at intake, version 1), returning its id. Parameters:
/// personal ID, kind, biometrics flag, reason, province, commune, unit, at, by.
pub(crate) const CARD_APP_INSERT: &str =
    "INSERT INTO card_applications (personal_id, kind, stage, biometrics_captured, handover_method, \
     stage_reason, reason, scope_province, scope_commune, unit, created_at, created_by, updated_at, \
     updated_by, version) VALUES ($1, $2, 'intake', $3, NULL, '', $4, $5, $6, $7, $8, $9, $8, $9, 1) \
     RETURNING id";

/// Parameters: id, stage, biometrics flag, handover method, stage reason, at, by, version.
pub(crate) const CARD_APP_UPDATE: &str =
    "UPDATE card_applications SET stage = $2, biometrics_captured = $3, handover_method = $4, \
     stage_reason = $5, updated_at = $6, updated_by = $7, version = $8 WHERE id = $1";

/// Parameters: application id, seq, from, to, reason, at, actor.
pub(crate) const CARD_EVENT_INSERT: &str =
    "INSERT INTO card_application_events (application_id, seq, from_stage, to_stage, reason, at, actor) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(crate) const CARD_EVENTS_SQL: &str =
    "SELECT seq, from_stage, to_stage, reason, at, actor FROM card_application_events \
     WHERE application_id = $1 ORDER BY seq";

pub(crate) const CITIZEN_SCOPE_SQL: &str =
    "SELECT scope_province, scope_commune, birth_date FROM citizens WHERE personal_id = $1";

/// Gives the person's valid cards the status a new card leaves them
/// ([`dancu_identity::PREVIOUS_CARDS_BECOME`]). Parameters: personal ID, status.
pub(crate) const CARD_REVOKE_SQL: &str =
    "UPDATE cards SET status = $2 WHERE personal_id = $1 AND status = 'valid'";

/// [`CARD_REVOKE_SQL`] for several people. Parameters: array of personal IDs, status
/// (PostgreSQL).
pub(crate) const CARD_REVOKE_MANY_SQL: &str =
    "UPDATE cards SET status = $2 WHERE personal_id = ANY($1) AND status = 'valid'";

/// Parameters: personal ID, number, issue date, expiry, authority, status, application id,
/// renewal due from, province, commune (the holder's residence scope at issue).
pub(crate) const CARD_INSERT: &str =
    "INSERT INTO cards (personal_id, number, issue_date, expiry, issuing_authority, status, application_id, \
     renewal_due_from, scope_province, scope_commune) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// `INSERT` of the completed application an imported card is recorded under (handed over
/// in person, version 1), returning its id. Parameters: personal ID, reason, province,
/// commune, unit, at, by.
pub(crate) const CARD_APP_IMPORT: &str =
    "INSERT INTO card_applications (personal_id, kind, stage, biometrics_captured, handover_method, \
     stage_reason, reason, scope_province, scope_commune, unit, created_at, created_by, updated_at, \
     updated_by, version) VALUES ($1, 'first_issue', 'handed_over', TRUE, 'in_person', '', $2, $3, $4, $5, \
     $6, $7, $6, $7, 1) RETURNING id";

/// What the identity rules decide for a card issued to `holder` (born `birth_date`, as
/// stored) on `issue_date` (a card issued before the registry kept applications).
pub(crate) fn imported_card(
    holder: PersonalId,
    birth_date: &str,
    issue_date: chrono::NaiveDate,
) -> Result<Issuance> {
    dancu_identity::issuance(holder, &parse_date(birth_date)?, issue_date)
        .map_err(|v| StoreError::Invalid(vec![v]))
}

/// The 2023 law's checks on a new application (docs/IDENTITY.md §2): the kind against the
/// holder's cards, and no biometrics recorded for a child under 6.
pub(crate) fn check_new_application(
    n: &NewCardApplication,
    birth: &dancu_domain::PartialDate,
    cards: &[StoredCard],
    at: Timestamp,
) -> Result<()> {
    let today = dancu_domain::date::vietnam_today(at);
    let held: Vec<_> =
        cards.iter().map(|c| dancu_identity::HeldCard { status: c.status, expiry: c.expiry }).collect();
    let mut found = Vec::new();
    found.extend(dancu_identity::check_application_kind(n.kind, &held, today).err());
    found.extend(dancu_identity::check_biometrics_claim(birth, today, n.biometrics_captured).err());
    if found.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(found))
    }
}

/// Whether biometrics are collected from a holder born `birth_date` (as stored) at `at`.
pub(crate) fn biometrics_collected(birth_date: &str, at: Timestamp) -> Result<bool> {
    Ok(dancu_identity::biometrics_collected(&parse_date(birth_date)?, dancu_domain::date::vietnam_today(at)))
}

/// What the identity rules decide for the card a hand-over at `at` issues to `holder` (born
/// `birth_date`, as stored).
pub(crate) fn handed_over_card(holder: PersonalId, birth_date: &str, at: Timestamp) -> Result<Issuance> {
    dancu_identity::hand_over(holder, &parse_date(birth_date)?, at).map_err(|v| StoreError::Invalid(vec![v]))
}

/// An issued card as `cards` keeps it (valid, under its application), with its
/// `renewal_due_from`.
pub(crate) fn stored_card(i: &Issuance, application_id: i64) -> (StoredCard, Option<String>) {
    let card = StoredCard {
        number: i.card.number,
        issue_date: i.card.issue_date,
        expiry: i.card.expiry,
        issuing_authority: i.card.issuing_authority.clone(),
        status: dancu_identity::CardStatus::Valid,
        application_id,
    };
    (card, i.renewal_due_from.map(|d| d.to_string()))
}

/// The status [`CARD_REVOKE_SQL`] gives the holder's earlier valid cards.
pub(crate) fn previous_cards_status() -> &'static str {
    dancu_identity::PREVIOUS_CARDS_BECOME.code()
}

/// Longest look-ahead the due-for-renewal list accepts (ten years).
pub const MAX_DUE_WITHIN_DAYS: u32 = 3650;

pub(crate) const CARDS_SQL: &str =
    "SELECT number, issue_date, expiry, issuing_authority, status, application_id FROM cards \
     WHERE personal_id = $1 ORDER BY issue_date DESC, application_id DESC";

fn kind_of(s: &str) -> Result<dancu_identity::StageKind> {
    dancu_identity::StageKind::from_code(s).ok_or_else(|| corrupt("stage", s))
}

fn parse_day(s: &str) -> Result<chrono::NaiveDate> {
    s.parse().map_err(|e| corrupt("date", e))
}

/// The stored columns of a stage: code, biometrics flag, handover method, side reason.
pub(crate) fn stage_cols(s: &dancu_identity::Stage) -> (&'static str, bool, Option<&'static str>, String) {
    use dancu_identity::Stage;
    let bio = matches!(s, Stage::Intake { biometrics_captured: true });
    let method = match s {
        Stage::HandedOver { method } => Some(method.code()),
        _ => None,
    };
    (s.kind().code(), bio, method, s.reason().unwrap_or_default().to_string())
}

fn stage_from_cols(
    code: &str,
    bio: bool,
    method: Option<&str>,
    reason: String,
) -> Result<dancu_identity::Stage> {
    use dancu_identity::{HandoverMethod, Stage, StageKind};
    Ok(match kind_of(code)? {
        StageKind::Intake => Stage::Intake { biometrics_captured: bio },
        StageKind::SentToProduction => Stage::SentToProduction,
        StageKind::CardReceived => Stage::CardReceived,
        StageKind::HandedOver => Stage::HandedOver {
            method: match method {
                Some("post") => HandoverMethod::Post,
                _ => HandoverMethod::InPerson,
            },
        },
        StageKind::Rejected => Stage::Rejected { reason },
        StageKind::Error => Stage::Error { reason },
        StageKind::Cancelled => Stage::Cancelled { reason },
    })
}

pub(crate) fn card_app_from_row(r: &impl RowGet) -> Result<CardApplication> {
    Ok(CardApplication {
        id: r.int(0)?,
        personal_id: parse_pid(&r.text(1)?)?,
        kind: dancu_identity::ApplicationKind::from_code(&r.text(2)?).map_err(|v| corrupt("kind", v))?,
        stage: stage_from_cols(&r.text(3)?, r.flag(4)?, r.opt_text(5)?.as_deref(), r.text(6)?)?,
        intake_reason: r.text(7)?,
        scope_province: r.text(8)?,
        scope_commune: r.text(9)?,
        unit: r.text(10)?,
        created_at: r.ts(11)?,
        created_by: r.text(12)?,
        updated_at: r.ts(13)?,
        updated_by: r.text(14)?,
        version: r.int(15)?,
    })
}

pub(crate) fn card_event_from_row(r: &impl RowGet) -> Result<CardEvent> {
    Ok(CardEvent {
        seq: r.int(0)?,
        from_stage: kind_of(&r.text(1)?)?,
        to_stage: kind_of(&r.text(2)?)?,
        reason: r.text(3)?,
        at: r.ts(4)?,
        by: r.text(5)?,
    })
}

pub(crate) fn card_from_row(r: &impl RowGet) -> Result<StoredCard> {
    let status = match r.text(4)?.as_str() {
        "valid" => dancu_identity::CardStatus::Valid,
        "revoked" => dancu_identity::CardStatus::Revoked,
        "lost" => dancu_identity::CardStatus::Lost,
        s => return Err(corrupt("card status", s)),
    };
    Ok(StoredCard {
        number: parse_pid(&r.text(0)?)?,
        issue_date: parse_day(&r.text(1)?)?,
        expiry: r.opt_text(2)?.map(|s| parse_day(&s)).transpose()?,
        issuing_authority: r.text(3)?,
        status,
        application_id: r.int(5)?,
    })
}

/// Checks the move `r` of `cur` with the identity rules (`biometrics_collected`: the holder's
/// age allows a capture) and the expected version; the application as it will be after the
/// move, and the event recording it (its `seq` is the version it leaves).
pub(crate) fn plan_card_transition(
    cur: &CardApplication,
    r: &crate::combine::TransitionReq,
    biometrics_collected: bool,
) -> Result<(CardApplication, CardEvent)> {
    let (to, reason, change) = (&r.to, r.reason.as_deref(), &r.change);
    check_version(r.expected_version, cur.version)?;
    dancu_identity::transition_with(&cur.stage, to, reason, biometrics_collected)
        .map_err(|v| StoreError::Invalid(vec![v]))?;
    let event = CardEvent {
        seq: cur.version,
        from_stage: cur.stage.kind(),
        to_stage: to.kind(),
        reason: to.reason().or(reason).map(str::trim).unwrap_or_default().to_string(),
        at: change.at,
        by: change.actor.clone(),
    };
    let next = CardApplication {
        stage: to.clone(),
        updated_at: change.at,
        updated_by: change.actor.clone(),
        version: cur.version + 1,
        ..cur.clone()
    };
    Ok((next, event))
}

/// Scope (and optionally stage) as a filter on `card_applications`.
pub(crate) fn card_filter(scope: &Scope, stage: Option<dancu_identity::StageKind>, ph: Ph) -> Filter {
    let mut f = Filter::default();
    f.scope(ph, scope, "scope_{level} = #");
    if let Some(s) = stage {
        f.and(ph, "stage = #", Val::Text(s.code().to_string()));
    }
    f
}

/// Board statement: counts per stage code in the scope.
pub(crate) fn card_board_sql(scope: &Scope, ph: Ph) -> (String, Filter) {
    let f = card_filter(scope, None, ph);
    (format!("SELECT stage, count(*) FROM card_applications{} GROUP BY stage", f.sql), f)
}

/// Every stage with its count (zero when absent).
pub(crate) fn board_from(counts: Vec<(String, i64)>) -> Result<Vec<StageCount>> {
    let mut out: Vec<StageCount> =
        dancu_identity::StageKind::ALL.iter().map(|&stage| StageCount { stage, count: 0 }).collect();
    for (code, n) in counts {
        let k = kind_of(&code)?;
        if let Some(c) = out.iter_mut().find(|c| c.stage == k) {
            c.count = n as u64;
        }
    }
    Ok(out)
}

/// Count and page statements of an application list (oldest change first: what waits
/// longest comes first).
pub(crate) fn card_list_sql(
    scope: &Scope,
    stage: Option<dancu_identity::StageKind>,
    limit: u32,
    offset: u64,
    ph: Ph,
) -> (String, String, Filter, u32) {
    let mut f = card_filter(scope, stage, ph);
    let count = format!("SELECT count(*) FROM card_applications{}", f.sql);
    let (limit, tail) = limit_offset(&mut f, ph, limit, offset);
    let page = format!("{CARD_APP_SELECT}{} ORDER BY updated_at, id{tail}", f.sql);
    (count, page, f, limit)
}

/// Count and page statements of the due-for-renewal list on day `on` looking `within_days`
/// ahead: valid cards whose `renewal_due_from` is on or before `on + within_days` and whose
/// expiry is on or after `on` (a card is valid through its expiry day). Because
/// `renewal_due_from = expiry - RENEWAL_NOTICE_DAYS`, the second bound is
/// `renewal_due_from >= on - RENEWAL_NOTICE_DAYS`, so both bounds are one range of the
/// partial index `(scope, renewal_due_from) WHERE status = 'valid'`. Soonest first.
pub(crate) fn card_due_sql(
    scope: &Scope,
    on: chrono::NaiveDate,
    within_days: u32,
    limit: u32,
    offset: u64,
    ph: Ph,
) -> (String, String, Filter, u32) {
    let mut f = Filter::default();
    f.scope(ph, scope, "k.scope_{level} = #");
    // A literal, not a parameter: the partial indexes only match `status = 'valid'` as written.
    f.sql.push_str(if f.sql.is_empty() { " WHERE k.status = 'valid'" } else { " AND k.status = 'valid'" });
    let lo = on - chrono::Duration::days(i64::from(RENEWAL_NOTICE_DAYS));
    let hi = on + chrono::Duration::days(i64::from(within_days.min(MAX_DUE_WITHIN_DAYS)));
    f.and(ph, "k.renewal_due_from >= #", Val::Text(lo.to_string()));
    f.and(ph, "k.renewal_due_from <= #", Val::Text(hi.to_string()));
    let count = format!("SELECT count(*) FROM cards k{}", f.sql);
    let (limit, tail) = limit_offset(&mut f, ph, limit, offset);
    let page = format!(
        "SELECT k.personal_id, c.full_name, c.birth_date, k.expiry, k.renewal_due_from, k.scope_commune \
         FROM cards k JOIN citizens c ON c.personal_id = k.personal_id{} \
         ORDER BY k.renewal_due_from, k.personal_id{tail}",
        f.sql
    );
    (count, page, f, limit)
}

pub(crate) fn due_card_from_row(r: &impl RowGet) -> Result<DueCard> {
    Ok(DueCard {
        personal_id: parse_pid(&r.text(0)?)?,
        full_name: r.text(1)?,
        birth_date: r.text(2)?,
        expiry: parse_day(&r.text(3)?)?,
        renewal_due_from: parse_day(&r.text(4)?)?,
        scope_commune: r.text(5)?,
    })
}

/// An application by id (`$1`).
pub(crate) static CARD_APP_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("{CARD_APP_SELECT} WHERE id = $1"));
