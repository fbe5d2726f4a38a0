//! SQLite: card applications and cards; transitions combined into one transaction with a savepoint
//! per move.

use async_trait::async_trait;
use dancu_domain::PersonalId;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::{immediate, page, SqliteStore, PH};
use crate::combine::TransitionReq;
use crate::model::*;
use crate::rows;
use crate::{CardStore, Result, StoreError};

/// One card stage transition inside the caller's transaction, in a savepoint: a refused
/// move (not found, stale version, a move the rules forbid) leaves nothing behind.
pub(super) fn transition_one(tx: &Connection, r: &TransitionReq) -> Result<CardApplication> {
    tx.execute_batch("SAVEPOINT card_move")?;
    let out = transition_steps(tx, r);
    tx.execute_batch(if out.is_ok() {
        "RELEASE card_move"
    } else {
        "ROLLBACK TO card_move; RELEASE card_move"
    })?;
    out
}

pub(super) fn transition_steps(tx: &Connection, r: &TransitionReq) -> Result<CardApplication> {
    let cur = get_card_app(tx, r.id)?.ok_or(StoreError::NotFound)?;
    r.check_scope(&cur)?;
    // Only a move out of intake depends on the holder's age (no biometrics under 6).
    let collected = match cur.stage.kind() {
        dancu_identity::StageKind::Intake => {
            let birth: String = tx
                .prepare_cached(&PH.sql(rows::CITIZEN_SCOPE_SQL))?
                .query_row([cur.personal_id.as_str()], |r| r.get(2))?;
            rows::biometrics_collected(&birth, r.change.at)?
        }
        _ => true,
    };
    let (next, ev) = rows::plan_card_transition(&cur, r, collected)?;
    let (code, bio, method, side) = rows::stage_cols(&next.stage);
    let at = rows::ts_text(&r.change.at);
    tx.prepare_cached(&PH.sql(rows::CARD_APP_UPDATE))?.execute(params![
        r.id,
        code,
        bio,
        method,
        side,
        at,
        r.change.actor,
        next.version
    ])?;
    tx.prepare_cached(&PH.sql(rows::CARD_EVENT_INSERT))?.execute(params![
        r.id,
        ev.seq,
        ev.from_stage.code(),
        ev.to_stage.code(),
        ev.reason,
        at,
        ev.by
    ])?;
    if dancu_identity::issues_card(&next.stage) {
        let (province, commune, birth): (String, String, String) = tx
            .prepare_cached(&PH.sql(rows::CITIZEN_SCOPE_SQL))?
            .query_row([cur.personal_id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let issued = rows::handed_over_card(cur.personal_id, &birth, r.change.at)?;
        replace_card(tx, &issued, r.id, &province, &commune)?;
    }
    Ok(next)
}

/// A batch of transitions in one transaction. Refused moves answer with their error and
/// write nothing (see [`transition_one`]); if the database itself fails, the batch is rolled back and each move is
/// retried in a transaction of its own, so one failure never takes the others with it.
pub(super) fn transition_batch(
    conn: &mut Connection,
    reqs: &[TransitionReq],
) -> Vec<Result<CardApplication>> {
    let batch = (|| {
        let tx = immediate(conn)?;
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            match transition_one(&tx, r) {
                Err(e) if e.is_failure() => return Err(e),
                other => out.push(other),
            }
        }
        tx.commit()?;
        Ok(out)
    })();
    match batch {
        Ok(out) => out,
        Err(_) if reqs.len() > 1 => {
            reqs.iter().map(|r| transition_batch(conn, std::slice::from_ref(r)).remove(0)).collect()
        }
        Err(e) => vec![Err(e)],
    }
}

/// Stores a card as the identity rules issued it, under its application and with the
/// holder's residence scope: the holder's earlier valid cards are replaced (hand-over and
/// bulk import).
pub(super) fn replace_card(
    tx: &Connection,
    issued: &dancu_identity::Issuance,
    application_id: i64,
    province: &str,
    commune: &str,
) -> Result<()> {
    let (card, renewal_due_from) = rows::stored_card(issued, application_id);
    let personal_id = card.number.as_str();
    tx.prepare_cached(&PH.sql(rows::CARD_REVOKE_SQL))?
        .execute([personal_id, rows::previous_cards_status()])?;
    tx.prepare_cached(&PH.sql(rows::CARD_INSERT))?.execute(params![
        personal_id,
        card.number.as_str(),
        card.issue_date.to_string(),
        card.expiry.map(|d| d.to_string()),
        card.issuing_authority,
        card.status.code(),
        application_id,
        renewal_due_from,
        province,
        commune
    ])?;
    Ok(())
}

pub(super) fn get_card_app(c: &Connection, id: i64) -> Result<Option<CardApplication>> {
    let mut st = c.prepare_cached(&PH.sql(&rows::CARD_APP_BY_ID))?;
    let mut rs = st.query([id])?;
    rs.next()?.map(rows::card_app_from_row).transpose()
}

#[async_trait]
impl CardStore for SqliteStore {
    async fn create_card_application(
        &self,
        a: &NewCardApplication,
        change: &Change,
    ) -> Result<CardApplication> {
        let (a, change) = (a.clone(), change.clone());
        self.write(move |conn, _| {
            let tx = immediate(conn)?;
            let (province, commune): (String, String) = tx
                .prepare_cached(&PH.sql(rows::CITIZEN_SCOPE_SQL))?
                .query_row([a.personal_id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .ok_or(StoreError::NotFound)?;
            let id: i64 = tx.prepare_cached(&PH.sql(rows::CARD_APP_INSERT))?.query_row(
                params![
                    a.personal_id.as_str(),
                    a.kind.code(),
                    a.biometrics_captured,
                    a.reason,
                    province,
                    commune,
                    a.unit,
                    rows::ts_text(&change.at),
                    change.actor
                ],
                |r| r.get(0),
            )?;
            let app = get_card_app(&tx, id)?.ok_or(StoreError::NotFound)?;
            tx.commit()?;
            Ok(app)
        })
        .await
    }

    async fn get_card_application(&self, id: i64) -> Result<Option<CardApplication>> {
        self.read_point(|c, _| get_card_app(c, id))
    }

    async fn transition_card_application_in(
        &self,
        id: i64,
        to: &dancu_identity::Stage,
        reason: Option<&str>,
        expected_version: i64,
        change: &Change,
        scope: &Scope,
    ) -> Result<CardApplication> {
        let req = TransitionReq::new(id, to, reason, expected_version, change, scope);
        self.transitions().call(req).await
    }

    async fn card_board(&self, scope: &Scope) -> Result<Vec<StageCount>> {
        let (sql, f) = rows::card_board_sql(scope, PH);
        self.read(move |c, _| {
            let mut st = c.prepare_cached(&sql)?;
            let counts = st
                .query_map(params_from_iter(&f.params), |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<(String, i64)>>>()?;
            rows::board_from(counts)
        })
        .await
    }

    async fn list_card_applications(
        &self,
        scope: &Scope,
        stage: Option<dancu_identity::StageKind>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<CardApplication>> {
        let (count_sql, page_sql, f, limit) = rows::card_list_sql(scope, stage, limit, offset, PH);
        self.read(move |c, _| {
            let tx = c.unchecked_transaction()?;
            let p = page(&tx, &count_sql, &page_sql, &f, limit, offset, |r| rows::card_app_from_row(r))?;
            tx.finish()?;
            Ok(p)
        })
        .await
    }

    async fn card_application_history(&self, id: i64) -> Result<Vec<CardEvent>> {
        self.read(move |c, _| {
            let mut st = c.prepare_cached(&PH.sql(rows::CARD_EVENTS_SQL))?;
            let v = st.query_and_then([id], |r| rows::card_event_from_row(r))?.collect();
            v
        })
        .await
    }

    async fn get_cards(&self, personal_id: &PersonalId) -> Result<Vec<StoredCard>> {
        let id = *personal_id;
        self.read(move |c, _| {
            let mut st = c.prepare_cached(&PH.sql(rows::CARDS_SQL))?;
            let v = st.query_and_then([id.as_str()], |r| rows::card_from_row(r))?.collect();
            v
        })
        .await
    }

    async fn import_cards(&self, cards: &[ImportCard], change: &Change) -> Result<u64> {
        let (cards, change) = (cards.to_vec(), change.clone());
        self.write(move |conn, _| {
            let tx = immediate(conn)?;
            let at = rows::ts_text(&change.at);
            {
                let mut scope_st = tx.prepare_cached(&PH.sql(rows::CITIZEN_SCOPE_SQL))?;
                let mut app_st = tx.prepare_cached(&PH.sql(rows::CARD_APP_IMPORT))?;
                for c in &cards {
                    let pid = c.personal_id.as_str();
                    let (province, commune, birth): (String, String, String) = scope_st
                        .query_row([pid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()?
                        .ok_or(StoreError::NotFound)?;
                    let id: i64 = app_st.query_row(
                        params![pid, change.reason, province, commune, c.unit, at, change.actor],
                        |r| r.get(0),
                    )?;
                    let issued = rows::imported_card(c.personal_id, &birth, c.issue_date)?;
                    replace_card(&tx, &issued, id, &province, &commune)?;
                }
            }
            tx.commit()?;
            Ok(cards.len() as u64)
        })
        .await
    }

    async fn cards_due_for_renewal(
        &self,
        scope: &Scope,
        on: chrono::NaiveDate,
        within_days: u32,
        limit: u32,
        offset: u64,
    ) -> Result<Page<DueCard>> {
        let (count_sql, page_sql, f, limit) = rows::card_due_sql(scope, on, within_days, limit, offset, PH);
        self.read(move |c, _| {
            let tx = c.unchecked_transaction()?;
            let p = page(&tx, &count_sql, &page_sql, &f, limit, offset, |r| rows::due_card_from_row(r))?;
            tx.finish()?;
            Ok(p)
        })
        .await
    }
}
