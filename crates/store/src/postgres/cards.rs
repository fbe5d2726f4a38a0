//! PostgreSQL: card applications and cards; transitions combined into set-based batches.

use async_trait::async_trait;
use dancu_domain::PersonalId;
use deadpool_postgres::{GenericClient, Pool};

use super::{page, refs, PgStore, PH};
use crate::combine::TransitionReq;
use crate::model::*;
use crate::rows::{self, RowGet};
use crate::{CardStore, Result, StoreError};

pub(super) async fn get_card_app(c: &impl GenericClient, id: i64) -> Result<Option<CardApplication>> {
    let st = c.prepare_cached(&rows::CARD_APP_BY_ID).await?;
    c.query_opt(&st, &[&id]).await?.map(|r| rows::card_app_from_row(&r)).transpose()
}

/// A batch of card stage transitions in one transaction, set-based: one statement reads
/// (and locks) every application, the moves are planned in order in memory (a second move
/// of the same application in the batch sees the first), then the applications are updated
/// (pipelined) and one statement each appends the history and, for hand-overs, revokes the
/// old cards and issues the new ones. A refused move (not found, stale version, a move the rules forbid)
/// writes nothing; an `Err` means the database failed and nothing was committed.
pub(super) async fn transition_batch(
    pool: &Pool,
    reqs: &[TransitionReq],
) -> Result<Vec<Result<CardApplication>>> {
    use std::collections::HashMap;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let read_sql = format!("{} WHERE id = ANY($1) ORDER BY id FOR UPDATE", rows::CARD_APP_SELECT);
    let (read, scope, up, ins, card) = tokio::try_join!(
        tx.prepare_cached(&read_sql),
        tx.prepare_cached(
            "SELECT personal_id, scope_province, scope_commune, birth_date FROM citizens WHERE personal_id = ANY($1)"
        ),
        tx.prepare_cached(rows::CARD_APP_UPDATE),
        tx.prepare_cached(
            "INSERT INTO card_application_events (application_id, seq, from_stage, to_stage, reason, at, actor) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], \
             $7::text[])"
        ),
        tx.prepare_cached(
            "INSERT INTO cards (personal_id, number, issue_date, expiry, issuing_authority, status, application_id, \
             renewal_due_from, scope_province, scope_commune) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], \
             $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[])"
        ),
    )?;
    let ids: Vec<i64> = reqs.iter().map(|r| r.id).collect();
    let mut apps: HashMap<i64, CardApplication> = HashMap::new();
    for row in tx.query(&read, &[&ids]).await? {
        let app = rows::card_app_from_row(&row)?;
        apps.insert(app.id, app);
    }
    // Holders of applications that may be handed over (for the card's expiry and scope) or
    // leave intake (their age decides whether biometrics are collected).
    let holders: Vec<&str> = reqs
        .iter()
        .filter_map(|r| apps.get(&r.id).map(|a| (r, a)))
        .filter(|(r, a)| {
            dancu_identity::issues_card(&r.to) || a.stage.kind() == dancu_identity::StageKind::Intake
        })
        .map(|(_, a)| a.personal_id.as_str())
        .collect();
    let mut scopes: HashMap<String, (String, String, String)> = HashMap::new();
    if !holders.is_empty() {
        for row in tx.query(&scope, &[&holders]).await? {
            scopes.insert(row.text(0)?, (row.text(1)?, row.text(2)?, row.text(3)?));
        }
    }
    let mut out = Vec::with_capacity(reqs.len());
    let (mut events, mut cards) = (Vec::new(), Vec::new());
    let mut changed: Vec<i64> = Vec::new();
    for r in reqs {
        let planned = (|| {
            let cur = apps.get(&r.id).ok_or(StoreError::NotFound)?;
            r.check_scope(cur)?;
            let collected = match (cur.stage.kind(), scopes.get(cur.personal_id.as_str())) {
                (dancu_identity::StageKind::Intake, Some((_, _, birth))) => {
                    rows::biometrics_collected(birth, r.change.at)?
                }
                _ => true,
            };
            let (next, ev) = rows::plan_card_transition(cur, r, collected)?;
            let issued = if dancu_identity::issues_card(&next.stage) {
                let (province, commune, birth) =
                    scopes.get(cur.personal_id.as_str()).ok_or(StoreError::NotFound)?.clone();
                let issued = rows::handed_over_card(cur.personal_id, &birth, r.change.at)?;
                let (card, due) = rows::stored_card(&issued, next.id);
                Some((card, due, province, commune))
            } else {
                None
            };
            Ok::<_, StoreError>((next, ev, issued))
        })();
        match planned {
            Ok((next, ev, issued)) => {
                events.push((r.id, ev));
                if let Some(c) = issued {
                    cards.push((r.id, c));
                }
                if !changed.contains(&r.id) {
                    changed.push(r.id);
                }
                apps.insert(r.id, next.clone());
                out.push(Ok(next));
            }
            Err(e) => out.push(Err(e)),
        }
    }
    if !changed.is_empty() {
        // One UPDATE per application, pipelined on the connection: a primary-key update keeps
        // its index plan, where a join against an array would be planned as a scan.
        let updates = changed.iter().map(|id| {
            let a = &apps[id];
            let (code, bio, method, side) = rows::stage_cols(&a.stage);
            let (up, tx) = (&up, &tx);
            async move {
                tx.execute(up, &[id, &code, &bio, &method, &side, &a.updated_at, &a.updated_by, &a.version])
                    .await
            }
        });
        futures_util::future::try_join_all(updates).await?;
        let e_app: Vec<i64> = events.iter().map(|(id, _)| *id).collect();
        let e_seq: Vec<i64> = events.iter().map(|(_, e)| e.seq).collect();
        let e_from: Vec<&str> = events.iter().map(|(_, e)| e.from_stage.code()).collect();
        let e_to: Vec<&str> = events.iter().map(|(_, e)| e.to_stage.code()).collect();
        let e_reason: Vec<&str> = events.iter().map(|(_, e)| e.reason.as_str()).collect();
        let e_at: Vec<Timestamp> = events.iter().map(|(_, e)| e.at).collect();
        let e_by: Vec<&str> = events.iter().map(|(_, e)| e.by.as_str()).collect();
        tx.execute(&ins, &[&e_app, &e_seq, &e_from, &e_to, &e_reason, &e_at, &e_by]).await?;
    }
    if !cards.is_empty() {
        let pids: Vec<&str> = cards.iter().map(|(_, (c, ..))| c.number.as_str()).collect();
        // Unprepared on purpose: an unnamed statement is planned for its parameters, where a
        // cached generic plan made while `cards` was small would scan the whole table.
        tx.execute(rows::CARD_REVOKE_MANY_SQL, &[&pids, &rows::previous_cards_status()]).await?;
        let number = pids.clone();
        let issue: Vec<String> = cards.iter().map(|(_, (c, ..))| c.issue_date.to_string()).collect();
        let expiry: Vec<Option<String>> =
            cards.iter().map(|(_, (c, ..))| c.expiry.map(|d| d.to_string())).collect();
        let authority: Vec<&str> = cards.iter().map(|(_, (c, ..))| c.issuing_authority.as_str()).collect();
        let status: Vec<&str> = cards.iter().map(|(_, (c, ..))| c.status.code()).collect();
        let app_ids: Vec<i64> = cards.iter().map(|(id, _)| *id).collect();
        let due: Vec<Option<&str>> = cards.iter().map(|(_, (_, d, ..))| d.as_deref()).collect();
        let province: Vec<&str> = cards.iter().map(|(_, (_, _, p, _))| p.as_str()).collect();
        let commune: Vec<&str> = cards.iter().map(|(_, (.., c))| c.as_str()).collect();
        tx.execute(
            &card,
            &[&pids, &number, &issue, &expiry, &authority, &status, &app_ids, &due, &province, &commune],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(out)
}

#[async_trait]
impl CardStore for PgStore {
    async fn create_card_application(
        &self,
        a: &NewCardApplication,
        change: &Change,
    ) -> Result<CardApplication> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let st = tx.prepare_cached(rows::CITIZEN_SCOPE_SQL).await?;
        let row = tx.query_opt(&st, &[&a.personal_id.as_str()]).await?.ok_or(StoreError::NotFound)?;
        let (province, commune) = (row.text(0)?, row.text(1)?);
        let ins = tx.prepare_cached(rows::CARD_APP_INSERT).await?;
        let id: i64 = tx
            .query_one(
                &ins,
                &[
                    &a.personal_id.as_str(),
                    &a.kind.code(),
                    &a.biometrics_captured,
                    &a.reason,
                    &province,
                    &commune,
                    &a.unit,
                    &change.at,
                    &change.actor,
                ],
            )
            .await?
            .get(0);
        let app = get_card_app(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(app)
    }

    async fn get_card_application(&self, id: i64) -> Result<Option<CardApplication>> {
        get_card_app(&self.client().await?, id).await
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
        let client = self.client().await?;
        let st = client.prepare_cached(&sql).await?;
        let counts = client
            .query(&st, &refs(&f.params))
            .await?
            .iter()
            .map(|r| Ok((r.text(0)?, r.int(1)?)))
            .collect::<Result<Vec<_>>>()?;
        rows::board_from(counts)
    }

    async fn list_card_applications(
        &self,
        scope: &Scope,
        stage: Option<dancu_identity::StageKind>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<CardApplication>> {
        let (count_sql, page_sql, f, limit) = rows::card_list_sql(scope, stage, limit, offset, PH);
        let client = self.client().await?;
        page(&client, &count_sql, &page_sql, &f, limit, offset, rows::card_app_from_row).await
    }

    async fn card_application_history(&self, id: i64) -> Result<Vec<CardEvent>> {
        let client = self.client().await?;
        let st = client.prepare_cached(rows::CARD_EVENTS_SQL).await?;
        client.query(&st, &[&id]).await?.iter().map(rows::card_event_from_row).collect()
    }

    async fn get_cards(&self, personal_id: &PersonalId) -> Result<Vec<StoredCard>> {
        let client = self.client().await?;
        let st = client.prepare_cached(rows::CARDS_SQL).await?;
        client.query(&st, &[&personal_id.as_str()]).await?.iter().map(rows::card_from_row).collect()
    }

    async fn import_cards(&self, cards: &[ImportCard], change: &Change) -> Result<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let scope_st = tx.prepare_cached(rows::CITIZEN_SCOPE_SQL).await?;
        let app_st = tx.prepare_cached(rows::CARD_APP_IMPORT).await?;
        // One revocation for the batch (a per-row UPDATE gets a generic plan made while the
        // table was small); within the batch, a holder's earlier cards go in replaced.
        let pids: Vec<&str> = cards.iter().map(|c| c.personal_id.as_str()).collect();
        let revoke_st = tx.prepare_cached(rows::CARD_REVOKE_MANY_SQL).await?;
        tx.execute(&revoke_st, &[&pids, &rows::previous_cards_status()]).await?;
        let mut last = std::collections::HashMap::new();
        for (i, c) in cards.iter().enumerate() {
            last.insert(c.personal_id, i);
        }
        let ins_st = tx.prepare_cached(rows::CARD_INSERT).await?;
        for (i, c) in cards.iter().enumerate() {
            let pid = c.personal_id.as_str();
            let row = tx.query_opt(&scope_st, &[&pid]).await?.ok_or(StoreError::NotFound)?;
            let (province, commune, birth) = (row.text(0)?, row.text(1)?, row.text(2)?);
            let id = tx
                .query_one(
                    &app_st,
                    &[&pid, &change.reason, &province, &commune, &c.unit, &change.at, &change.actor],
                )
                .await?
                .int(0)?;
            let (card, due) =
                rows::stored_card(&rows::imported_card(c.personal_id, &birth, c.issue_date)?, id);
            let status =
                if last[&c.personal_id] == i { card.status.code() } else { rows::previous_cards_status() };
            tx.execute(
                &ins_st,
                &[
                    &pid,
                    &card.number.as_str(),
                    &card.issue_date.to_string(),
                    &card.expiry.map(|d| d.to_string()),
                    &card.issuing_authority,
                    &status,
                    &id,
                    &due,
                    &province,
                    &commune,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(cards.len() as u64)
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
        let client = self.client().await?;
        page(&client, &count_sql, &page_sql, &f, limit, offset, rows::due_card_from_row).await
    }
}
