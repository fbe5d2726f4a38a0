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

use crate::audit_chain::{AuditHead, AuditKey, AuditReport, Checkpoint, CheckpointLog, VerifyScope};
use crate::model::*;
use crate::{Store, StoreError};

mod dedup;
mod eid;
mod quality;
pub use eid::{citizen_actor, reset_refused, EidView, OwnRecord};

/// Who is asking, what they may see, and why.
#[derive(Debug, Clone)]
pub struct Access {
    /// `officer:<username>`, `citizen:<id>` or `system:<job>`.
    pub actor: String,
    /// What the actor may do besides reading and writing records in scope: administrators
    /// also create officers and undo merges.
    pub role: Role,
    pub scope: Scope,
    pub purpose: String,
}

impl Access {
    /// A command-line job: nation-wide, audited under `system:<job>`.
    pub fn system(job: &str, purpose: &str) -> Access {
        Access {
            actor: format!("system:{job}"),
            role: Role::Officer,
            scope: Scope::Nation,
            purpose: purpose.into(),
        }
    }

    fn require_admin(&self, what_vi: &str, what_en: &str) -> Result<()> {
        if self.role == Role::Admin {
            return Ok(());
        }
        Err(RegistryError::Forbidden(Violation::new(
            "role",
            "role.admin_required",
            format!("Chỉ quản trị viên được {what_vi}"),
            format!("only an administrator may {what_en}"),
        )))
    }
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
    /// The caller's role does not allow the action.
    #[error("forbidden: {0}")]
    Forbidden(Violation),
    /// A create for a personal ID or household number that exists outside the caller's
    /// scope. Answered neutrally ("referred for review"), never as "already registered":
    /// the attempt is audited as denied under the existing record, for the unit holding it.
    #[error("referred for review")]
    Referred,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How an audited access ended; stored as its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The record exists outside the caller's scope (answered like a missing one).
    Denied,
    NotFound,
    /// A rule refused the request (a wrong stage, a duplicate in scope, a bad code).
    Refused,
    /// Written ahead of a write: the write follows only once this entry is stored.
    Attempt,
    /// The write written ahead did not happen.
    Failed,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::NotFound => "not_found",
            Outcome::Refused => "refused",
            Outcome::Attempt => "attempt",
            Outcome::Failed => "failed",
        }
    }

    /// `Ok` when the caller may see a record in (`province`, `commune`), else `Denied`.
    fn of_scope(a: &Access, province: &str, commune: &str) -> Self {
        if a.scope.covers(province, commune) {
            Outcome::Ok
        } else {
            Outcome::Denied
        }
    }
}

type Result<T> = std::result::Result<T, RegistryError>;

/// One request's entries: committed together, in one group commit.
struct Pending {
    entries: Vec<NewAuditEntry>,
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

/// Where and how often the audit writer signs checkpoints of the chain's head.
#[derive(Debug, Clone)]
pub struct CheckpointPolicy {
    pub log: CheckpointLog,
    pub key: AuditKey,
    /// At most one checkpoint per interval while entries are appended, and one at shutdown.
    pub every: Duration,
}

impl CheckpointPolicy {
    /// Signs the head as the store has it now and appends it to the log.
    pub async fn write_now(&self, store: &dyn Store) -> std::result::Result<Checkpoint, StoreError> {
        let keyed_from = store.audit_keyed_from().await?;
        let head = store.append_audit(&[]).await?;
        self.write(&head, keyed_from).await
    }

    async fn write(&self, head: &AuditHead, keyed_from: i64) -> std::result::Result<Checkpoint, StoreError> {
        let cp = Checkpoint { seq: head.seq, hash: head.hash.clone(), keyed_from, at: now() };
        let (log, key, line) = (self.log.clone(), self.key.clone(), cp.clone());
        tokio::task::spawn_blocking(move || log.append(&line, &key))
            .await
            .map_err(|e| StoreError::Backend(format!("blocking task: {e}")))?
            .map_err(|e| {
                StoreError::Config(format!("writing audit checkpoint {}: {e}", self.log.path().display()))
            })?;
        Ok(cp)
    }
}

/// Checks the audit chain against the newest checkpoint in `policy.log`: the whole chain,
/// or (`tail_only`) from the checkpoint's entry on, which is what a server checks at start.
pub async fn verify_audit(
    store: &dyn Store,
    log: &CheckpointLog,
    key: &AuditKey,
    tail_only: bool,
) -> std::result::Result<AuditReport, StoreError> {
    let (log, key2) = (log.clone(), key.clone());
    let checkpoint = tokio::task::spawn_blocking(move || log.latest(&key2))
        .await
        .map_err(|e| StoreError::Backend(format!("blocking task: {e}")))??;
    store.verify_audit(&VerifyScope { checkpoint, tail_only }).await
}

impl AuditSink {
    /// Starts the writer task. Up to `max_batch` entries are committed together. With a
    /// checkpoint policy, the head is signed into its log after appends (at most once per
    /// interval) and when the writer stops.
    pub fn start(
        store: Arc<dyn Store>,
        max_batch: usize,
        checkpoints: Option<CheckpointPolicy>,
    ) -> (AuditSink, AuditWriter) {
        let (tx, mut rx) = mpsc::channel::<Pending>(max_batch * 4);
        let handle = tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
            let mut keyed_from: Option<i64> = None;
            let mut last_checkpoint = std::time::Instant::now();
            // The newest head not yet signed.
            let mut unsigned: Option<AuditHead> = None;
            while rx.recv_many(&mut batch, max_batch).await > 0 {
                let entries: Vec<NewAuditEntry> =
                    batch.iter().flat_map(|p| p.entries.iter().cloned()).collect();
                let mut ok = false;
                for attempt in 0..3 {
                    match store.append_audit(&entries).await {
                        Ok(head) => {
                            ok = true;
                            unsigned = Some(head);
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
                if let Some(policy) = &checkpoints {
                    if last_checkpoint.elapsed() >= policy.every {
                        sign(&*store, policy, &mut unsigned, &mut keyed_from).await;
                        last_checkpoint = std::time::Instant::now();
                    }
                }
            }
            if let Some(policy) = &checkpoints {
                sign(&*store, policy, &mut unsigned, &mut keyed_from).await;
            }
        });
        (AuditSink { tx }, AuditWriter { handle })
    }

    /// Records one entry and waits until it is committed.
    pub async fn record(&self, entry: NewAuditEntry) -> Result<()> {
        self.record_all(vec![entry]).await
    }

    /// Queues entries without waiting for their commit: for the outcome of a write whose
    /// `Attempt` entry is already stored (the write is on record either way). The writer
    /// commits them in its next batch, and flushes them at shutdown.
    pub async fn record_later(&self, entries: Vec<NewAuditEntry>) {
        let (done, _) = oneshot::channel();
        if self.tx.send(Pending { entries, done }).await.is_err() {
            tracing::error!("audit writer stopped; an outcome entry was not queued");
        }
    }

    /// Records entries (committed in the same transaction) and waits for the commit.
    pub async fn record_all(&self, entries: Vec<NewAuditEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx.send(Pending { entries, done }).await.map_err(|_| RegistryError::AuditUnavailable)?;
        match wait.await {
            Ok(true) => Ok(()),
            _ => Err(RegistryError::AuditUnavailable),
        }
    }
}

/// Signs `unsigned` (if any) into the checkpoint log; a failure is logged, and the head
/// stays unsigned for the next try.
async fn sign(
    store: &dyn Store,
    policy: &CheckpointPolicy,
    unsigned: &mut Option<AuditHead>,
    keyed_from: &mut Option<i64>,
) {
    let Some(head) = unsigned.clone() else { return };
    let k = match keyed_from {
        Some(k) => *k,
        None => match store.audit_keyed_from().await {
            Ok(k) => *keyed_from.insert(k),
            Err(e) => {
                tracing::error!(error = %e, "audit checkpoint: cannot read keyed_from");
                return;
            }
        },
    };
    match policy.write(&head, k).await {
        Ok(_) => *unsigned = None,
        Err(e) => tracing::error!(error = %e, "audit checkpoint not written"),
    }
}

/// One citizen's page for an officer ([`Registry::citizen_page`]).
#[derive(Debug, Clone)]
pub struct CitizenPage {
    pub stored: StoredCitizen,
    pub history: Vec<CitizenVersion>,
    pub cards: Vec<StoredCard>,
    pub accesses: Vec<AuditEntry>,
    pub merged_into: Option<PersonalId>,
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

    fn entry(a: &Access, action: &str, subject: &str, outcome: Outcome) -> NewAuditEntry {
        NewAuditEntry {
            at: now(),
            actor: a.actor.clone(),
            action: action.into(),
            subject: subject.into(),
            purpose: a.purpose.clone(),
            outcome: outcome.code().into(),
        }
    }

    async fn log(&self, a: &Access, action: &str, subject: &str, outcome: Outcome) -> Result<()> {
        self.audit.record(Self::entry(a, action, subject, outcome)).await
    }

    /// Audits a listing: one entry for the request (`what`: the query or scope) and one
    /// under each citizen whose data it returns, so every row shows in that citizen's "who
    /// accessed my data". All in one commit.
    async fn log_rows<'i>(
        &self,
        a: &Access,
        action: &str,
        what: &str,
        ids: impl IntoIterator<Item = &'i str>,
    ) -> Result<()> {
        let mut entries = vec![Self::entry(a, action, what, Outcome::Ok)];
        entries.extend(ids.into_iter().map(|id| Self::entry(a, action, id, Outcome::Ok)));
        self.audit.record_all(entries).await
    }

    /// Runs `write` only after its audit entry (`Attempt`) is stored, then queues how it
    /// ended under `subject` (committed with the next batch, not waited for): a write whose
    /// entry cannot be stored never happens.
    async fn audited_write<T>(
        &self,
        a: &Access,
        action: &str,
        subject: &str,
        write: impl std::future::Future<Output = std::result::Result<T, StoreError>>,
    ) -> Result<T> {
        self.log(a, action, subject, Outcome::Attempt).await?;
        let done = write.await;
        let outcome = if done.is_ok() { Outcome::Ok } else { Outcome::Failed };
        // The attempt is on record: the outcome need not hold up the answer.
        self.audit.record_later(vec![Self::entry(a, action, subject, outcome)]).await;
        Ok(done?)
    }

    /// Like [`Registry::read_citizen`] without its own audit entry: the record if the
    /// caller may see it, and the outcome to record.
    async fn scoped_citizen(&self, a: &Access, id: &PersonalId) -> Result<(Option<StoredCitizen>, Outcome)> {
        let found = self.store.get_citizen(id).await?;
        let outcome = match &found {
            None => Outcome::NotFound,
            Some(c) => Outcome::of_scope(a, &c.scope_province, &c.scope_commune),
        };
        Ok((found.filter(|_| outcome == Outcome::Ok), outcome))
    }

    pub async fn read_citizen(&self, a: &Access, id: &PersonalId) -> Result<StoredCitizen> {
        let (found, outcome) = self.scoped_citizen(a, id).await?;
        self.log(a, "citizen.read", id.as_str(), outcome).await?;
        found.ok_or(RegistryError::NotFound)
    }

    pub async fn citizen_history(&self, a: &Access, id: &PersonalId) -> Result<Vec<CitizenVersion>> {
        let (found, outcome) = self.scoped_citizen(a, id).await?;
        self.log(a, "citizen.history", id.as_str(), outcome).await?;
        found.ok_or(RegistryError::NotFound)?;
        Ok(self.store.citizen_history(id).await?)
    }

    /// Everything an officer's page about one citizen shows, behind one audited read: the
    /// record, its history, cards, the newest `accesses` entries of its access log (bulk
    /// accesses included), and the record it was merged into, if any.
    pub async fn citizen_page(&self, a: &Access, id: &PersonalId, accesses: u32) -> Result<CitizenPage> {
        let (found, outcome) = self.scoped_citizen(a, id).await?;
        self.log(a, "citizen.read", id.as_str(), outcome).await?;
        let stored = found.ok_or(RegistryError::NotFound)?;
        let f = access_log_filter(id, Some(&stored), accesses, 0);
        Ok(CitizenPage {
            history: self.store.citizen_history(id).await?,
            cards: self.store.get_cards(id).await?,
            accesses: self.store.list_audit(&f).await?.items,
            merged_into: crate::dedup::merged_into(self.store.as_ref(), id).await?,
            stored,
        })
    }

    /// A scoped search; the query and every citizen returned are audited.
    pub async fn search(&self, a: &Access, q: &CitizenQuery) -> Result<Page<CitizenSummary>> {
        let page = self.store.search_citizens(q, &a.scope).await?;
        self.log_rows(
            a,
            "citizen.search",
            &describe_query(q),
            page.items.iter().map(|c| c.personal_id.as_str()),
        )
        .await?;
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

    /// Creates a record in the caller's scope. A personal ID that exists in scope is a
    /// conflict the caller can see; one that exists outside it answers [`RegistryError::Referred`]
    /// and is audited as a denied create under that ID.
    pub async fn create_citizen(&self, a: &Access, c: &Citizen, reason: &str) -> Result<StoredCitizen> {
        self.check_scope(a, c)?;
        let action = "citizen.create";
        let id = c.personal_id.as_str();
        if let Some(existing) = self.store.get_citizen(&c.personal_id).await? {
            if !a.scope.covers(&existing.scope_province, &existing.scope_commune) {
                self.log(a, action, id, Outcome::Denied).await?;
                return Err(RegistryError::Referred);
            }
        }
        let ch = change(a, reason);
        self.audited_write(a, action, id, self.store.create_citizen(c, &ch)).await
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
        let ch = change(a, reason);
        let write = self.store.update_citizen(c, expected_version, &ch);
        self.audited_write(a, "citizen.update", c.personal_id.as_str(), write).await
    }

    /// A household whose head the caller may see. Members living outside the caller's scope
    /// are left out (counted in `members_outside_scope`); the read is audited under the
    /// household number and under each member shown.
    pub async fn household(&self, a: &Access, number: &str) -> Result<HouseholdView> {
        let found = self.store.get_household(number).await?;
        let outcome = match &found {
            None => Outcome::NotFound,
            Some(h) => Outcome::of_scope(a, &h.scope_province, &h.scope_commune),
        };
        let Some(mut h) = found.filter(|_| outcome == Outcome::Ok) else {
            self.log(a, "household.read", number, outcome).await?;
            return Err(RegistryError::NotFound);
        };
        mask_members(a, &mut h);
        self.log_rows(a, "household.read", number, h.members.iter().map(|m| m.personal_id.as_str())).await?;
        Ok(h)
    }

    /// Earlier member lists of a household the caller may see. A member who is no longer
    /// shown in the household (left it, or lives outside the caller's scope) appears only if
    /// the caller may see them now; those former members are audited under their IDs.
    pub async fn household_history(&self, a: &Access, number: &str) -> Result<Vec<HouseholdVersion>> {
        let current = self.household(a, number).await?;
        let mut versions = self.store.household_history(number).await?;
        let mut visible: std::collections::HashSet<PersonalId> =
            current.members.iter().map(|m| m.personal_id).collect();
        let others: std::collections::BTreeSet<PersonalId> = versions
            .iter()
            .flat_map(|v| v.members.iter().map(|m| m.personal_id))
            .filter(|id| !visible.contains(id))
            .collect();
        let mut former = Vec::new();
        for id in others {
            if self.scoped_citizen(a, &id).await?.0.is_some() {
                visible.insert(id);
                former.push(id);
            }
        }
        for v in &mut versions {
            v.members.retain(|m| visible.contains(&m.personal_id));
        }
        self.log_members(a, "household.history", former.iter().map(PersonalId::as_str)).await?;
        Ok(versions)
    }

    /// Every member named must be a citizen the caller can see.
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

    /// Creates a household of citizens the caller can see. A number that exists outside the
    /// caller's scope answers [`RegistryError::Referred`], audited as denied.
    pub async fn create_household(&self, a: &Access, h: &Household, reason: &str) -> Result<HouseholdView> {
        h.validate().map_err(|v| RegistryError::Store(StoreError::Invalid(vec![v])))?;
        self.check_members(a, h).await?;
        if let Some(existing) = self.store.get_household(&h.number).await? {
            if !a.scope.covers(&existing.scope_province, &existing.scope_commune) {
                self.log(a, "household.create", &h.number, Outcome::Denied).await?;
                return Err(RegistryError::Referred);
            }
        }
        let ch = change(a, reason);
        let write = self.store.create_household(h, &ch);
        let v = self.audited_write(a, "household.create", &h.number, write).await?;
        self.log_members(a, "household.create", h.members.iter().map(|m| m.personal_id.as_str())).await?;
        Ok(v)
    }

    /// Replaces the member list of a household the caller can see. Members living outside
    /// the caller's scope cannot be named, moved or removed: they are kept as they are.
    pub async fn update_household(&self, a: &Access, h: &Household, reason: &str) -> Result<HouseholdView> {
        let current = self.store.get_household(&h.number).await?;
        let Some(current) = current.filter(|c| a.scope.covers(&c.scope_province, &c.scope_commune)) else {
            self.household(a, &h.number).await?;
            return Err(RegistryError::NotFound);
        };
        self.check_members(a, h).await?;
        let mut full = h.clone();
        for m in current.members.iter().filter(|m| !a.scope.covers(&m.scope_province, &m.scope_commune)) {
            if !full.members.iter().any(|x| x.personal_id == m.personal_id) {
                full.members.push(dancu_domain::household::Member {
                    personal_id: m.personal_id,
                    relation: m.relation,
                });
            }
        }
        full.validate().map_err(|v| RegistryError::Store(StoreError::Invalid(vec![v])))?;
        let ch = change(a, reason);
        let write = self.store.update_household(&full, &ch);
        let v = self.audited_write(a, "household.update", &h.number, write).await?;
        // Everyone the caller named, and every member in scope who was there before (those
        // who left included); members outside the scope were neither shown nor changed.
        let mut touched: Vec<&str> = h.members.iter().map(|m| m.personal_id.as_str()).collect();
        touched.extend(
            current
                .members
                .iter()
                .filter(|m| a.scope.covers(&m.scope_province, &m.scope_commune))
                .map(|m| m.personal_id.as_str()),
        );
        touched.sort_unstable();
        touched.dedup();
        let visible = touched;
        self.log_members(a, "household.update", visible).await?;
        let mut v = v;
        mask_members(a, &mut v);
        Ok(v)
    }

    /// One entry under each member a household write touched.
    async fn log_members<'i>(
        &self,
        a: &Access,
        action: &str,
        ids: impl IntoIterator<Item = &'i str>,
    ) -> Result<()> {
        let entries = ids.into_iter().map(|id| Self::entry(a, action, id, Outcome::Ok)).collect();
        self.audit.record_all(entries).await
    }

    // ---- personal IDs and officers ----

    /// Allocates a personal ID for a newborn whose birth is registered in legacy province
    /// `province` (the ID's prefix). The caller's scope must include a 2025 province that
    /// took in that legacy province. Written ahead under the province, then under the new ID.
    pub async fn allocate_personal_id(
        &self,
        a: &Access,
        province: &str,
        sex: dancu_domain::Sex,
        birth_year: i32,
    ) -> Result<PersonalId> {
        let action = "personal_id.allocate";
        let subject = format!("province:{province}");
        let provinces = dancu_domain::admin_units().provinces_2025_of_legacy(province);
        let allowed = match &a.scope {
            Scope::Nation => !provinces.is_empty(),
            Scope::Province(p) => provinces.contains(&p.as_str()),
            Scope::Commune(c) => dancu_domain::admin_units()
                .commune_2025(c)
                .is_some_and(|c| provinces.contains(&c.province_code.as_str())),
        };
        if !allowed {
            self.log(a, action, &subject, Outcome::Denied).await?;
            return Err(RegistryError::OutOfScope(Violation::new(
                "province",
                "scope.outside",
                format!("Tỉnh đăng ký khai sinh {province} nằm ngoài phạm vi quản lý {}", a.scope),
                format!("birth registration province {province} is outside your scope {}", a.scope),
            )));
        }
        let write = self.store.allocate_personal_id(province, sex, birth_year);
        let id = self.audited_write(a, action, &subject, write).await?;
        self.log(a, action, id.as_str(), Outcome::Ok).await?;
        Ok(id)
    }

    /// Creates an officer account: administrators only, with a scope inside their own.
    pub async fn create_officer(&self, a: &Access, o: &NewOfficer) -> Result<Officer> {
        let subject = format!("officer:{}", o.username);
        if let Err(e) = a.require_admin("tạo tài khoản cán bộ", "create officer accounts") {
            self.log(a, "officer.create", &subject, Outcome::Denied).await?;
            return Err(e);
        }
        if !a.scope.contains(&o.scope) {
            self.log(a, "officer.create", &subject, Outcome::Denied).await?;
            return Err(RegistryError::OutOfScope(Violation::new(
                "scope",
                "scope.outside",
                format!("Phạm vi {} rộng hơn phạm vi của bạn ({})", o.scope, a.scope),
                format!("scope {} is wider than your own ({})", o.scope, a.scope),
            )));
        }
        self.audited_write(a, "officer.create", &subject, self.store.create_officer(o)).await
    }

    // ---- ID card applications ----

    /// The application if it exists and is in the caller's scope; the read is audited under
    /// the holder's personal ID (so it shows in "who accessed this record").
    async fn scoped_card_app(&self, a: &Access, action: &str, id: i64) -> Result<CardApplication> {
        let found = self.store.get_card_application(id).await?;
        let (subject, outcome) = match &found {
            None => (format!("card_application:{id}"), Outcome::NotFound),
            Some(c) => (c.personal_id.to_string(), Outcome::of_scope(a, &c.scope_province, &c.scope_commune)),
        };
        self.log(a, action, &subject, outcome).await?;
        found.filter(|_| outcome == Outcome::Ok).ok_or(RegistryError::NotFound)
    }

    /// Takes in a card application for a citizen the caller can see.
    pub async fn create_card_application(
        &self,
        a: &Access,
        n: &NewCardApplication,
    ) -> Result<CardApplication> {
        self.read_citizen(a, &n.personal_id).await?;
        let ch = change(a, &n.reason);
        let write = self.store.create_card_application(n, &ch);
        self.audited_write(a, "card.application.create", n.personal_id.as_str(), write).await
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
        let action = "card.application.transition";
        // Written ahead under the application; the result follows under the holder.
        self.log(a, action, &format!("card_application:{id}"), Outcome::Attempt).await?;
        let moved = self
            .store
            .transition_card_application_in(id, to, reason, expected_version, &change, &a.scope)
            .await;
        match moved {
            Ok(next) => {
                self.audit
                    .record_later(vec![Self::entry(a, action, next.personal_id.as_str(), Outcome::Ok)])
                    .await;
                Ok(next)
            }
            Err(StoreError::NotFound) => {
                self.log(a, action, &format!("card_application:{id}"), Outcome::NotFound).await?;
                Err(RegistryError::NotFound)
            }
            Err(StoreError::OutOfScope { subject }) => {
                self.log(a, action, &subject, Outcome::Denied).await?;
                Err(RegistryError::NotFound)
            }
            Err(e) => {
                self.log(a, action, &format!("card_application:{id}"), Outcome::Refused).await?;
                Err(e.into())
            }
        }
    }

    /// Counts per stage in the caller's scope.
    pub async fn card_board(&self, a: &Access) -> Result<Vec<StageCount>> {
        let board = self.store.card_board(&a.scope).await?;
        self.log(a, "card.board", &a.scope.to_string(), Outcome::Ok).await?;
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
        self.log_rows(
            a,
            "card.application.list",
            &subject,
            page.items.iter().map(|c| c.personal_id.as_str()),
        )
        .await?;
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
        self.log_rows(a, "card.due_list", &subject, page.items.iter().map(|c| c.personal_id.as_str()))
            .await?;
        Ok(page)
    }

    /// A citizen's cards (the citizen must be in the caller's scope).
    pub async fn cards(&self, a: &Access, id: &PersonalId) -> Result<Vec<StoredCard>> {
        self.read_citizen(a, id).await?;
        let cards = self.store.get_cards(id).await?;
        self.log(a, "card.read", id.as_str(), Outcome::Ok).await?;
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
        let c = self.read_citizen(a, &subject.parse().map_err(|_| RegistryError::NotFound)?).await?;
        let f = access_log_filter(&c.citizen.personal_id, Some(&c), limit, offset);
        Ok(self.store.list_audit(&f).await?)
    }
}

/// Leaves out of `h` the members living outside the caller's scope, counting them.
fn mask_members(a: &Access, h: &mut HouseholdView) {
    let before = h.members.len();
    h.members.retain(|m| a.scope.covers(&m.scope_province, &m.scope_commune));
    h.members_outside_scope = (before - h.members.len()) as u32;
}

/// The audit subject of a bulk access over `scope` (a matching or quality run reads every
/// record in it): `bulk:nation`, `bulk:province:24`, `bulk:commune:07408`. One entry stands
/// for every citizen in the scope; their "who accessed my data" includes it.
pub fn bulk_subject(scope: &Scope) -> String {
    format!("bulk:{scope}")
}

/// A citizen's access log: entries under their personal ID, and the bulk accesses over the
/// nation, their province or their commune (where `c` lives now; none without a record).
pub(crate) fn access_log_filter(
    id: &PersonalId,
    c: Option<&StoredCitizen>,
    limit: u32,
    offset: u64,
) -> AuditFilter {
    let also = c
        .map(|c| {
            [
                Scope::Nation,
                Scope::Province(c.scope_province.clone()),
                Scope::Commune(c.scope_commune.clone()),
            ]
            .iter()
            .map(bulk_subject)
            .collect()
        })
        .unwrap_or_default();
    AuditFilter { subject: Some(id.to_string()), also_subjects: also, limit, offset, ..Default::default() }
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
