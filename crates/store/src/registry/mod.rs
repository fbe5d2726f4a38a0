//! The one audited path to personal data. Every read, search and write of a citizen or
//! household goes through [`Registry`], which checks the officer's scope and records who,
//! what, why and when in the hash-chained audit log *before* returning data: the audit
//! writer group-commits entries and a request waits for its entry's commit.
//!
//! Out-of-scope records answer exactly like missing ones, so the response never reveals
//! whether a personal ID exists to someone not entitled to know it.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dancu_domain::{Citizen, Household, PersonalId, Violation};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::model::*;
use crate::{Store, StoreError};

mod dedup;
mod eid;
mod quality;
pub use eid::{citizen_actor, reset_refused, EidView, OwnRecord};

/// Who is asking, what they may see, and why.
#[derive(Debug, Clone)]
pub struct Access {
    /// `officer:<username>` or `system:<job>`.
    pub actor: String,
    pub scope: Scope,
    pub purpose: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Missing, or outside the caller's scope (deliberately indistinguishable).
    #[error("not found")]
    NotFound,
    /// A write that would place a record outside the caller's scope.
    #[error("outside scope: {0}")]
    OutOfScope(Violation),
    #[error("audit log unavailable")]
    AuditUnavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, RegistryError>;

struct Pending {
    entry: NewAuditEntry,
    done: oneshot::Sender<bool>,
}

/// Batches audit entries into the store; one transaction per batch.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Pending>,
}

/// Handle to the audit writer task; `shutdown` flushes what is queued.
pub struct AuditWriter {
    handle: JoinHandle<()>,
}

impl AuditWriter {
    /// Waits for every queued entry to be written. Call after dropping all sinks (the
    /// registry and the server state holding them).
    pub async fn shutdown(self) {
        let _ = self.handle.await;
    }
}

impl AuditSink {
    /// Starts the writer task. Up to `max_batch` entries are committed together.
    pub fn start(store: Arc<dyn Store>, max_batch: usize) -> (AuditSink, AuditWriter) {
        let (tx, mut rx) = mpsc::channel::<Pending>(max_batch * 4);
        let handle = tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
            while rx.recv_many(&mut batch, max_batch).await > 0 {
                let entries: Vec<NewAuditEntry> = batch.iter().map(|p| p.entry.clone()).collect();
                let mut ok = false;
                for attempt in 0..3 {
                    match store.append_audit(&entries).await {
                        Ok(()) => {
                            ok = true;
                            break;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, attempt, "audit append failed");
                            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                        }
                    }
                }
                for p in batch.drain(..) {
                    let _ = p.done.send(ok);
                }
            }
        });
        (AuditSink { tx }, AuditWriter { handle })
    }

    /// Records one entry and waits until it is committed.
    pub async fn record(&self, entry: NewAuditEntry) -> Result<()> {
        let (done, wait) = oneshot::channel();
        self.tx.send(Pending { entry, done }).await.map_err(|_| RegistryError::AuditUnavailable)?;
        match wait.await {
            Ok(true) => Ok(()),
            _ => Err(RegistryError::AuditUnavailable),
        }
    }
}

#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn Store>,
    audit: AuditSink,
}

impl Registry {
    pub fn new(store: Arc<dyn Store>, audit: AuditSink) -> Self {
        Registry { store, audit }
    }

    /// The raw store, for data that is not personal (officers, sessions, health checks).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn log(&self, a: &Access, action: &str, subject: &str, outcome: &str) -> Result<()> {
        self.audit
            .record(NewAuditEntry {
                at: now(),
                actor: a.actor.clone(),
                action: action.into(),
                subject: subject.into(),
                purpose: a.purpose.clone(),
                outcome: outcome.into(),
            })
            .await
    }

    pub async fn read_citizen(&self, a: &Access, id: &PersonalId) -> Result<StoredCitizen> {
        let found = self.store.get_citizen(id).await?;
        let outcome = match &found {
            None => "not_found",
            Some(c) if !a.scope.covers(&c.scope_province, &c.scope_commune) => "denied",
            Some(_) => "ok",
        };
        self.log(a, "citizen.read", id.as_str(), outcome).await?;
        match found {
            Some(c) if outcome == "ok" => Ok(c),
            _ => Err(RegistryError::NotFound),
        }
    }

    pub async fn citizen_history(&self, a: &Access, id: &PersonalId) -> Result<Vec<CitizenVersion>> {
        self.read_citizen(a, id).await?;
        self.log(a, "citizen.history", id.as_str(), "ok").await?;
        Ok(self.store.citizen_history(id).await?)
    }

    pub async fn search(&self, a: &Access, q: &CitizenQuery) -> Result<Page<CitizenSummary>> {
        let page = self.store.search_citizens(q, &a.scope).await?;
        self.log(a, "citizen.search", &describe_query(q), "ok").await?;
        Ok(page)
    }

    fn check_scope(&self, a: &Access, c: &Citizen) -> Result<()> {
        let unit = c.scope_unit().map_err(|v| RegistryError::Store(StoreError::Invalid(vec![v])))?;
        let province = unit.describe().province_code.to_string();
        let commune = unit.code().to_string();
        if !a.scope.covers(&province, &commune) {
            return Err(RegistryError::OutOfScope(Violation::new(
                "current_unit",
                "scope.outside",
                format!("Nơi cư trú {unit} nằm ngoài phạm vi quản lý {}", a.scope),
                format!("residence {unit} is outside your scope {}", a.scope),
            )));
        }
        Ok(())
    }

    pub async fn create_citizen(&self, a: &Access, c: &Citizen, reason: &str) -> Result<StoredCitizen> {
        self.check_scope(a, c)?;
        let stored = self.store.create_citizen(c, &change(a, reason)).await?;
        self.log(a, "citizen.create", c.personal_id.as_str(), "ok").await?;
        Ok(stored)
    }

    /// Updates a record the caller can see, to data that stays in their scope.
    pub async fn update_citizen(
        &self,
        a: &Access,
        c: &Citizen,
        expected_version: i64,
        reason: &str,
    ) -> Result<StoredCitizen> {
        self.read_citizen(a, &c.personal_id).await?;
        self.check_scope(a, c)?;
        let stored = self.store.update_citizen(c, expected_version, &change(a, reason)).await?;
        self.log(a, "citizen.update", c.personal_id.as_str(), "ok").await?;
        Ok(stored)
    }

    pub async fn household(&self, a: &Access, number: &str) -> Result<HouseholdView> {
        let found = self.store.get_household(number).await?;
        let outcome = match &found {
            None => "not_found",
            Some(h) if !a.scope.covers(&h.scope_province, &h.scope_commune) => "denied",
            Some(_) => "ok",
        };
        self.log(a, "household.read", number, outcome).await?;
        match found {
            Some(h) if outcome == "ok" => Ok(h),
            _ => Err(RegistryError::NotFound),
        }
    }

    pub async fn household_history(&self, a: &Access, number: &str) -> Result<Vec<HouseholdVersion>> {
        self.household(a, number).await?;
        Ok(self.store.household_history(number).await?)
    }

    /// Every member must be a citizen the caller can see.
    async fn check_members(&self, a: &Access, h: &Household) -> Result<()> {
        for m in &h.members {
            if self.read_citizen(a, &m.personal_id).await.is_err() {
                return Err(RegistryError::Store(StoreError::Invalid(vec![Violation::new(
                    "members",
                    "household.member_unknown",
                    format!("Không tìm thấy công dân {} trong phạm vi quản lý", m.personal_id),
                    format!("citizen {} not found in your scope", m.personal_id),
                )])));
            }
        }
        Ok(())
    }

    pub async fn create_household(&self, a: &Access, h: &Household, reason: &str) -> Result<HouseholdView> {
        h.validate().map_err(|v| RegistryError::Store(StoreError::Invalid(vec![v])))?;
        self.check_members(a, h).await?;
        let v = self.store.create_household(h, &change(a, reason)).await?;
        self.log(a, "household.create", &h.number, "ok").await?;
        Ok(v)
    }

    pub async fn update_household(&self, a: &Access, h: &Household, reason: &str) -> Result<HouseholdView> {
        h.validate().map_err(|v| RegistryError::Store(StoreError::Invalid(vec![v])))?;
        self.household(a, &h.number).await?;
        self.check_members(a, h).await?;
        let v = self.store.update_household(h, &change(a, reason)).await?;
        self.log(a, "household.update", &h.number, "ok").await?;
        Ok(v)
    }

    // ---- ID card applications ----

    /// The application if it exists and is in the caller's scope; the read is audited under
    /// the holder's personal ID (so it shows in "who accessed this record").
    async fn scoped_card_app(&self, a: &Access, action: &str, id: i64) -> Result<CardApplication> {
        let found = self.store.get_card_application(id).await?;
        let (subject, outcome) = match &found {
            None => (format!("card_application:{id}"), "not_found"),
            Some(c) if !a.scope.covers(&c.scope_province, &c.scope_commune) => {
                (c.personal_id.to_string(), "denied")
            }
            Some(c) => (c.personal_id.to_string(), "ok"),
        };
        self.log(a, action, &subject, outcome).await?;
        match found {
            Some(c) if outcome == "ok" => Ok(c),
            _ => Err(RegistryError::NotFound),
        }
    }

    /// Takes in a card application for a citizen the caller can see.
    pub async fn create_card_application(
        &self,
        a: &Access,
        n: &NewCardApplication,
    ) -> Result<CardApplication> {
        self.read_citizen(a, &n.personal_id).await?;
        let app = self.store.create_card_application(n, &change(a, &n.reason)).await?;
        self.log(a, "card.application.create", n.personal_id.as_str(), "ok").await?;
        Ok(app)
    }

    /// An application with its stage history.
    pub async fn card_application(&self, a: &Access, id: i64) -> Result<(CardApplication, Vec<CardEvent>)> {
        let app = self.scoped_card_app(a, "card.application.read", id).await?;
        let events = self.store.card_application_history(id).await?;
        Ok((app, events))
    }

    /// Moves an application in the caller's scope (the rules are the store's). The store
    /// checks the scope in the same transaction, so a move costs one audit entry and no
    /// separate read; the entry names the holder, or the application when it is missing.
    pub async fn transition_card_application(
        &self,
        a: &Access,
        id: i64,
        to: &dancu_identity::Stage,
        reason: Option<&str>,
        expected_version: i64,
    ) -> Result<CardApplication> {
        let change = change(a, reason.unwrap_or_default());
        let moved = self
            .store
            .transition_card_application_in(id, to, reason, expected_version, &change, &a.scope)
            .await;
        let action = "card.application.transition";
        match moved {
            Ok(next) => {
                self.log(a, action, next.personal_id.as_str(), "ok").await?;
                Ok(next)
            }
            Err(StoreError::NotFound) => {
                self.log(a, action, &format!("card_application:{id}"), "not_found").await?;
                Err(RegistryError::NotFound)
            }
            Err(StoreError::OutOfScope { subject }) => {
                self.log(a, action, &subject, "denied").await?;
                Err(RegistryError::NotFound)
            }
            Err(e) => {
                self.log(a, action, &format!("card_application:{id}"), "refused").await?;
                Err(e.into())
            }
        }
    }

    /// Counts per stage in the caller's scope.
    pub async fn card_board(&self, a: &Access) -> Result<Vec<StageCount>> {
        let board = self.store.card_board(&a.scope).await?;
        self.log(a, "card.board", &a.scope.to_string(), "ok").await?;
        Ok(board)
    }

    /// Applications in the caller's scope, optionally at one stage.
    pub async fn list_card_applications(
        &self,
        a: &Access,
        stage: Option<dancu_identity::StageKind>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<CardApplication>> {
        let page = self.store.list_card_applications(&a.scope, stage, limit, offset).await?;
        let subject = format!("{}&stage={}", a.scope, stage.map(|s| s.code()).unwrap_or("*"));
        self.log(a, "card.application.list", &subject, "ok").await?;
        Ok(page)
    }

    /// The due-for-renewal list in the caller's scope on day `on` (see
    /// [`crate::Store::cards_due_for_renewal`]); audited as `card.due_list`.
    pub async fn cards_due_for_renewal(
        &self,
        a: &Access,
        on: chrono::NaiveDate,
        within_days: u32,
        limit: u32,
        offset: u64,
    ) -> Result<Page<DueCard>> {
        let page = self.store.cards_due_for_renewal(&a.scope, on, within_days, limit, offset).await?;
        let within = within_days.min(crate::MAX_DUE_WITHIN_DAYS);
        let subject = format!("{}&on={on}&within_days={within}", a.scope);
        self.log(a, "card.due_list", &subject, "ok").await?;
        Ok(page)
    }

    /// A citizen's cards (the citizen must be in the caller's scope).
    pub async fn cards(&self, a: &Access, id: &PersonalId) -> Result<Vec<StoredCard>> {
        self.read_citizen(a, id).await?;
        let cards = self.store.get_cards(id).await?;
        self.log(a, "card.read", id.as_str(), "ok").await?;
        Ok(cards)
    }

    /// Audit entries about one subject (for "who accessed this record").
    pub async fn audit_of(
        &self,
        a: &Access,
        subject: &str,
        limit: u32,
        offset: u64,
    ) -> Result<Page<AuditEntry>> {
        self.read_citizen(a, &subject.parse().map_err(|_| RegistryError::NotFound)?).await?;
        Ok(self
            .store
            .list_audit(&AuditFilter { subject: Some(subject.into()), actor: None, limit, offset })
            .await?)
    }
}

/// Current time truncated to microseconds, the precision both databases keep.
pub fn now() -> Timestamp {
    let t = Utc::now();
    t - chrono::Duration::nanoseconds((t.timestamp_subsec_nanos() % 1000) as i64)
}

fn change(a: &Access, reason: &str) -> Change {
    Change { actor: a.actor.clone(), reason: reason.into(), at: now() }
}

/// A compact, loggable description of a search (no more personal data than was asked).
fn describe_query(q: &CitizenQuery) -> String {
    let mut parts = Vec::new();
    if let Some(id) = &q.personal_id {
        parts.push(format!("id={id}"));
    }
    if let Some(n) = &q.name_key {
        parts.push(format!("name={n}"));
    }
    if let Some(y) = q.birth_year {
        parts.push(format!("year={y}"));
    }
    if let Some(d) = &q.birth_date {
        parts.push(format!("dob={d}"));
    }
    if let Some(c) = &q.commune {
        parts.push(format!("commune={c}"));
    }
    if let Some(h) = &q.household_no {
        parts.push(format!("household={h}"));
    }
    parts.join("&")
}
