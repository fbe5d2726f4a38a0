//! The one audited path to personal data. Every read, search and write of a citizen or
//! household goes through [`Registry`], which checks the officer's scope and records who,
//! what, why and when in the hash-chained audit log *before* returning data: the audit
//! writer group-commits entries and a request waits for its entry's commit.
//!
//! Out-of-scope records answer exactly like missing ones, so the response never reveals
//! whether a personal ID exists to someone not entitled to know it.

use std::sync::Arc;

use chrono::Utc;
use dancu_domain::{Citizen, Household, PersonalId, Violation};

use crate::model::*;
use crate::{Store, StoreError};

mod applications;
mod audit_writer;
mod cards;
mod chains;
mod confirmations;
mod dedup;
mod eid;
mod family;
mod feed;
mod figures;
mod import;
mod officers;
mod oidc;
mod partner;
mod quality;
mod read_batch;
mod report;
mod residence;
pub use applications::{ApplicationFile, Submission};
pub(crate) use audit_writer::verify_audit;
pub use audit_writer::{AuditSink, AuditWriter, CheckpointMirror, CheckpointPolicy};
pub use chains::{check_birth, check_death, ChainView, CHAIN_PURPOSE};
pub use confirmations::PUBLIC_VERIFIER;
pub use eid::{citizen_actor, reset_refused, EidView, OwnRecord};
pub use family::{NewBirth, Split};
pub use feed::{delivery_event, FeedPage, MAX_SCAN, NATS_PURPOSE, WEBHOOK_PURPOSE};
pub use figures::{check_month, unit_place, FigureDraft, FigurePage};
pub use partner::{CardLookup, VerifyAnswer, VerifyItem, MAX_BATCH};

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

    /// Personal records are not for a leader's account (figures only), nor for an agency's
    /// (it enters figures).
    pub fn require_records(&self) -> Result<()> {
        if self.role.reads_records() {
            return Ok(());
        }
        let (vi, en) = if self.role == Role::Agency {
            (
                "Tài khoản cán bộ ngành chỉ nhập số liệu, không xem hồ sơ cá nhân",
                "an agency's account enters figures only, it does not see personal records",
            )
        } else {
            (
                "Tài khoản lãnh đạo chỉ xem số liệu tổng hợp, không xem hồ sơ cá nhân",
                "a leader's account sees aggregate figures only, not personal records",
            )
        };
        Err(RegistryError::Forbidden(Violation::new("role", "role.figures_only", vi, en)))
    }

    /// Changes are for administrators and officers; an auditor or a leader only reads.
    pub fn require_write(&self) -> Result<()> {
        if self.role.writes_records() {
            return Ok(());
        }
        Err(RegistryError::Forbidden(Violation::new(
            "role",
            "role.read_only",
            "Tài khoản chỉ được xem, không được thay đổi dữ liệu",
            "this account may read only, not change data",
        )))
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

/// One citizen's page for an officer ([`Registry::citizen_page`]).
#[derive(Debug, Clone)]
pub struct CitizenPage {
    pub stored: StoredCitizen,
    pub history: Vec<CitizenVersion>,
    pub cards: Vec<StoredCard>,
    pub accesses: Vec<AuditEntry>,
    pub merged_into: Option<PersonalId>,
    /// Residence records, current first (migration 0018).
    pub residences: Vec<crate::residences::Residence>,
}

#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn Store>,
    /// Reads that tolerate a short lag: search, partner verification and card look-up, the
    /// change feed. A streaming replica when configured, else the primary (`store`).
    reads: Arc<dyn Store>,
    audit: AuditSink,
    /// Single verification reads of concurrent requests, gathered into one query on
    /// PostgreSQL; started on first use (on the runtime that uses it).
    verify_reads: Arc<std::sync::OnceLock<read_batch::VerifyReads>>,
}

impl Registry {
    pub fn new(store: Arc<dyn Store>, audit: AuditSink) -> Self {
        Registry { reads: store.clone(), store, audit, verify_reads: Arc::default() }
    }

    /// Sends the lag-tolerant reads to `reads` (a streaming replica of `store`).
    pub(crate) fn reading_from(mut self, reads: Arc<dyn Store>) -> Self {
        self.reads = reads;
        self.verify_reads = Arc::default();
        self
    }

    fn entry(a: &Access, action: &str, subject: &str, outcome: Outcome) -> NewAuditEntry {
        NewAuditEntry {
            at: now(),
            actor: a.actor.clone(),
            action: action.into(),
            subject: subject.into(),
            purpose: a.purpose.clone(),
            outcome: outcome.code().into(),
            returned: vec![],
        }
    }

    /// Records an access. Every read passes here (`Ok`) before its data is returned, and
    /// every write (`Attempt`) before it runs, so the role is checked here: a leader's read
    /// of a record, or a write by a read-only role, is recorded as denied and refused.
    async fn log(&self, a: &Access, action: &str, subject: &str, outcome: Outcome) -> Result<()> {
        if let Some(e) = role_refusal(a, outcome) {
            return self.deny(a, action, subject, e).await;
        }
        self.audit.record(Self::entry(a, action, subject, outcome)).await
    }

    /// Records `before` and one more entry in one group commit (like [`Self::log`]: a role
    /// that may not read, or write, is recorded as denied and refused).
    async fn log_after(
        &self,
        a: &Access,
        mut before: Vec<NewAuditEntry>,
        action: &str,
        subject: &str,
        outcome: Outcome,
    ) -> Result<()> {
        let refusal = role_refusal(a, outcome);
        let recorded = if refusal.is_some() { Outcome::Denied } else { outcome };
        before.push(Self::entry(a, action, subject, recorded));
        self.audit.record_all(before).await?;
        refusal.map_or(Ok(()), Err)
    }

    /// The entry of a successful read that a write follows, to be recorded with the write's
    /// `Attempt` ([`Self::audited_write_after`]) or its refusal ([`Self::log_after`]),
    /// before anything is answered. A role that may not read records is refused here, as
    /// [`Self::log`] would.
    async fn deferred_read(&self, a: &Access, action: &str, subject: &str) -> Result<NewAuditEntry> {
        if let Some(e) = role_refusal(a, Outcome::Ok) {
            return self.deny(a, action, subject, e).await;
        }
        Ok(Self::entry(a, action, subject, Outcome::Ok))
    }

    /// Refuses a write by a read-only role before anything is read or changed (audited as
    /// denied), for writes that record their outcome only after they ran.
    async fn writer(&self, a: &Access, action: &str, subject: &str) -> Result<()> {
        match a.require_write() {
            Err(e) => self.deny(a, action, subject, e).await,
            Ok(()) => Ok(()),
        }
    }

    /// Records a refusal by role as denied, then answers with it.
    async fn deny<T>(&self, a: &Access, action: &str, subject: &str, e: RegistryError) -> Result<T> {
        self.audit.record(Self::entry(a, action, subject, Outcome::Denied)).await?;
        Err(e)
    }

    /// Audits a listing: one entry for the request (`what`: the query or scope) carrying
    /// the IDs of the citizens whose data it returns. The entry is filed under each of them,
    /// so every row shows in that citizen's "who accessed my data", for the cost of one
    /// chained entry (issue 10: per-citizen audit of a search page).
    async fn log_rows<'i>(
        &self,
        a: &Access,
        action: &str,
        what: &str,
        ids: impl IntoIterator<Item = &'i str>,
    ) -> Result<()> {
        if let Err(e) = a.require_records() {
            return self.deny(a, action, what, e).await;
        }
        let mut e = Self::entry(a, action, what, Outcome::Ok);
        e.returned = ids.into_iter().map(str::to_string).collect();
        self.audit.record(e).await
    }

    /// A subject's access log as its reader may see it: a listing's other returned IDs
    /// are not theirs to see.
    pub(crate) async fn subject_log(&self, f: &AuditFilter) -> Result<Page<AuditEntry>> {
        let mut page = self.store.list_audit(f).await?;
        for e in &mut page.items {
            e.entry.returned.clear();
        }
        Ok(page)
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
        self.audited_write_after(a, Vec::new(), action, subject, write).await
    }

    /// [`Self::audited_write`] whose `Attempt` entry is committed together with `before`
    /// (the entries of the reads that led to the write, [`Self::deferred_read`]): one group
    /// commit to wait for instead of two in a row.
    async fn audited_write_after<T>(
        &self,
        a: &Access,
        before: Vec<NewAuditEntry>,
        action: &str,
        subject: &str,
        write: impl std::future::Future<Output = std::result::Result<T, StoreError>>,
    ) -> Result<T> {
        self.log_after(a, before, action, subject, Outcome::Attempt).await?;
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
            Some(c) if c.visible_to(&a.scope) => Outcome::Ok,
            Some(_) => Outcome::Denied,
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
            accesses: self.subject_log(&f).await?.items,
            merged_into: crate::dedup::merged_into(self.store.as_ref(), id).await?,
            residences: crate::residences::of_person(self.store.as_ref(), id).await?,
            stored,
        })
    }

    /// A scoped search; the query and every citizen returned are audited.
    /// Name words (`name_words`, no `name_key`) are tried first in the order typed, as a
    /// prefix of the name (an index range), then in any order: beyond a commune through the
    /// family- and given-name indexes, reading the whole scope only if that finds nothing
    /// (`rows::citizens::search_plans`).
    pub async fn search(&self, a: &Access, q: &CitizenQuery) -> Result<Page<CitizenSummary>> {
        let page = if q.name_key.is_none() && !q.name_words.is_empty() {
            let in_order =
                CitizenQuery { name_key: Some(q.name_words.join(" ")), name_words: Vec::new(), ..q.clone() };
            let page = self.reads.search_citizens(&in_order, &a.scope).await?;
            if page.total > 0 {
                page
            } else {
                self.reads.search_citizens(q, &a.scope).await?
            }
        } else {
            self.reads.search_citizens(q, &a.scope).await?
        };
        self.log_rows(
            a,
            "citizen.search",
            &describe_query(q),
            page.items.iter().map(|c| c.personal_id.as_str()),
        )
        .await?;
        Ok(page)
    }

    /// The record stays visible to the caller: its own scope, or its permanent or temporary
    /// residence, is in the caller's scope (a home commune may update a resident registered
    /// temporarily elsewhere).
    fn check_scope(&self, a: &Access, c: &Citizen) -> Result<()> {
        let unit = c.scope_unit().map_err(|v| RegistryError::Store(StoreError::Invalid(vec![v])))?;
        let in_scope = |u: &dancu_domain::UnitRef| {
            u.to_2025().is_ok_and(|u| a.scope.covers(u.describe().province_code, u.code()))
        };
        let registered = [&c.permanent, &c.temporary].into_iter().flatten().any(|x| in_scope(&x.unit));
        if !in_scope(&unit) && !registered {
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
            if !existing.visible_to(&a.scope) {
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
    /// the caller's scope cannot be named, moved or removed: they are kept as they are. With
    /// `expected_version`, a household changed since is refused (`VersionMismatch`).
    pub async fn update_household(
        &self,
        a: &Access,
        h: &Household,
        expected_version: Option<i64>,
        reason: &str,
    ) -> Result<HouseholdView> {
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
        let write = self.store.update_household(&full, expected_version, &ch);
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
        self.subject_log(&f).await
    }
}

/// The refusal a role earns for an access recorded with `outcome`: reading a record (`Ok`)
/// needs a role that reads records, a write written ahead (`Attempt`) one that writes.
fn role_refusal(a: &Access, outcome: Outcome) -> Option<RegistryError> {
    match outcome {
        Outcome::Ok => a.require_records().err(),
        Outcome::Attempt => a.require_write().err(),
        _ => None,
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
    if !q.name_words.is_empty() {
        parts.push(format!("words={}", q.name_words.join(" ")));
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
