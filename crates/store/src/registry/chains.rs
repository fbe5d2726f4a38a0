//! The linked procedures' audited steps (issue 15, parts 1 and 2; docs/CHAINS.md).
//!
//! **Birth**: received → `id_issued` (the child's personal ID, allocated first, so no child
//! is ever left without one) → `registered` (the record and the named parent's household,
//! the `register_birth` path) → `residence_registered` (the child's permanent residence
//! follows the parent's current permanent record) → `insurance_notified` (the
//! `birth.registered` event in the change feed, written in the step's transaction).
//!
//! **Death**: received → `deceased` (the record marked so) → `residence_ended` (every current
//! residence record ends, reason `deceased`) → `eid_closed` (the eID account locked, its
//! sessions ended, the valid card revoked) → `partners_notified` (`death.registered`).
//!
//! A step runs under the chain's lease; a refused step (a rule: parent not found, household
//! missing, no permanent residence) or a failure beneath it leaves its reason on the chain
//! and is retried with exponential back-off by the worker (`chain_round`) until it passes or
//! an officer resolves it. Each step is idempotent: a retry after a crash between the
//! step's write and its state finds the write done and only records the state.

use dancu_domain::citizen::CitizenDraft;
use dancu_domain::residence::ResidenceKind;
use dancu_domain::text::NameParts;
use dancu_domain::{Address, LifeStatus, PartialDate, PersonalId, Relation, Sex, UnitRef, Violation};
use dancu_identity::eid::{self as rules, AccountEvent, Actor};

use super::{now, role_refusal, Access, Outcome, Registry, RegistryError, Result};
use crate::chains::{
    self, BirthRegistration, Chain, ChainFilter, ChainKind, ChainStep, DeathRegistration, NewChain, Timing,
};
use crate::exec::{Stmt, Val};
use crate::model::{Change, HouseholdView, NewAuditEntry, Page, StoredCitizen};
use crate::partners::{Operation, Partner};
use crate::rows;
use crate::StoreError;

/// A chain with its history.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainView {
    pub chain: Chain,
    pub steps: Vec<ChainStep>,
}

/// Why a step did not pass: a rule refused it (its reason goes to the worklist) or a
/// failure beneath it (the database, the audit log), retried the same way.
enum StepError {
    Rule(Violation),
    Failure(String),
    /// The lease went to another runner: stop without recording anything.
    LeaseLost,
}

type StepResult = std::result::Result<(), StepError>;

fn rule(field: &str, code: &'static str, vi: impl Into<String>, en: impl Into<String>) -> Violation {
    Violation::new(field, code, vi, en)
}

fn step_error(e: RegistryError) -> StepError {
    match e {
        RegistryError::Store(StoreError::Invalid(mut vs)) if !vs.is_empty() => StepError::Rule(vs.remove(0)),
        RegistryError::Store(StoreError::Conflict(v)) if v.rule == "chain.lease_lost" => StepError::LeaseLost,
        RegistryError::Store(StoreError::Conflict(v)) => StepError::Rule(v),
        RegistryError::OutOfScope(v) | RegistryError::Forbidden(v) => StepError::Rule(v),
        RegistryError::Referred => StepError::Rule(rule(
            "household_of",
            "chain.referred",
            "Hồ sơ đã được chuyển xem xét",
            "referred for review",
        )),
        other => StepError::Failure(other.to_string()),
    }
}

fn store_step(e: StoreError) -> StepError {
    step_error(RegistryError::Store(e))
}

/// The audit action of a personal ID's allocation.
const ALLOCATE: &str = "personal_id.allocate";

/// A birth received by a request, checked: what its ID is made of. Its steps run at once
/// ([`Registry::birth_at_once`]).
struct AtOnce {
    sex: Sex,
    year: i32,
    province: String,
}

impl AtOnce {
    /// The subject the allocation is written ahead under (as `allocate_personal_id` does).
    fn subject(&self) -> String {
        format!("province:{}", self.province)
    }
}

/// The writes of a birth's steps after the ID, made ready to commit together: the entries
/// of the reads that led to them, the audited writes (action, subject) and the statements.
struct BirthPlan {
    reads: Vec<NewAuditEntry>,
    writes: Vec<(&'static str, String)>,
    stmts: Vec<Stmt>,
}

/// What the change feed's `birth.registered` / `death.registered` event carries (each
/// partner receives the fields it is entitled to).
fn event_payload(
    c: &Chain,
    p: &dancu_domain::Citizen,
    household_no: Option<&str>,
    relation: Option<Relation>,
) -> (&'static str, serde_json::Map<String, serde_json::Value>) {
    let mut data = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        data.insert(k.into(), v);
    };
    put("registration_no", c.registration_no.clone().into());
    put("family_name", p.name.family.clone().into());
    put("middle_name", p.name.middle.clone().into());
    put("given_name", p.name.given.clone().into());
    put("full_name", p.name.full().into());
    put("birth_date", p.birth_date.to_string().into());
    put("sex", p.sex.code().into());
    put("status", p.status.code().into());
    let kind = match c.kind {
        ChainKind::Birth => {
            if let Some(perm) = &p.permanent {
                put("permanent_unit", perm.unit.to_string().into());
                put("permanent_detail", perm.detail.clone().into());
            }
            put("household_no", household_no.map(str::to_string).into());
            put("relation", relation.map(|r| r.code()).into());
            "birth.registered"
        }
        ChainKind::Death => {
            put("death_date", p.death_date.map(|d| d.to_string()).into());
            "death.registered"
        }
    };
    (kind, data)
}

/// The purpose the worker's steps are audited with.
pub const CHAIN_PURPOSE: &str = "thủ tục liên thông: đăng ký khai sinh, khai tử";

/// The registration number: 1–40 letters, digits, `/`, `.` or `-`.
fn check_registration_no(s: &str) -> std::result::Result<(), Violation> {
    let ok =
        (1..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(rule(
            "registration_no",
            "chain.registration_no",
            "Số đăng ký gồm 1–40 chữ cái, chữ số, /, . hoặc -",
            "the registration number is 1–40 letters, digits, /, . or -",
        ))
    }
}

fn optional_id(field: &str, s: &str) -> std::result::Result<Option<PersonalId>, Violation> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    s.trim().parse::<PersonalId>().map(Some).map_err(|v| v.at(field))
}

/// The legacy province that prefixes a newborn's ID registered at `place`.
fn id_province_of(place: &UnitRef) -> Option<String> {
    let units = dancu_domain::admin_units();
    let info = place.describe();
    if place.to_string().starts_with("legacy:") {
        return Some(info.province_code.to_string());
    }
    units
        .legacy_communes_mapping_to(place.code())
        .first()
        .and_then(|c| units.commune_legacy(c))
        .map(|c| c.province_code.clone())
        .or_else(|| units.is_legacy_province(info.province_code).then(|| info.province_code.to_string()))
}

/// What a birth registration's fields must be, every violation at once: the sex, the birth
/// year and the ID's province prefix when they are right.
pub fn check_birth(
    b: &BirthRegistration,
    today: chrono::NaiveDate,
) -> std::result::Result<(Sex, i32, String), Vec<Violation>> {
    let mut errs = Vec::new();
    if let Err(v) = check_registration_no(&b.registration_no) {
        errs.push(v);
    }
    if let Err(v) = NameParts::new(&b.family_name, &b.middle_name, &b.given_name) {
        errs.push(v);
    }
    let sex = Sex::parse(&b.sex).map_err(|v| errs.push(v.at("sex"))).ok();
    let date = match b.birth_date.parse::<PartialDate>().and_then(|d| d.not_after(today, "birth_date")) {
        Ok(d @ PartialDate::Full(_)) => Some(d),
        Ok(_) => {
            errs.push(rule(
                "birth_date",
                "chain.birth_date_full",
                "Ngày sinh phải đủ ngày, tháng, năm",
                "the date of birth must be a full date",
            ));
            None
        }
        Err(v) => {
            errs.push(v.at("birth_date"));
            None
        }
    };
    let place = b.birth_place.parse::<UnitRef>().map_err(|v| errs.push(v.at("birth_place"))).ok();
    let father = optional_id("father_id", &b.father_id).map_err(|v| errs.push(v)).ok().flatten();
    let mother = optional_id("mother_id", &b.mother_id).map_err(|v| errs.push(v)).ok().flatten();
    match b.household_of.trim().parse::<PersonalId>() {
        Err(v) => errs.push(v.at("household_of")),
        Ok(h) if Some(h) != father && Some(h) != mother => errs.push(rule(
            "household_of",
            "chain.household_of",
            "Hộ trẻ nhập vào phải là hộ của cha hoặc mẹ (số định danh của cha hoặc mẹ)",
            "the household the child joins must be the father's or the mother's (their personal ID)",
        )),
        Ok(_) => {}
    }
    let province = if b.id_province.trim().is_empty() {
        place.as_ref().and_then(id_province_of)
    } else if dancu_domain::admin_units().is_legacy_province(b.id_province.trim()) {
        Some(b.id_province.trim().to_string())
    } else {
        errs.push(rule("id_province", "id.province", "Mã tỉnh không tồn tại", "unknown province code"));
        None
    };
    if province.is_none() && place.is_some() && b.id_province.trim().is_empty() {
        errs.push(rule(
            "id_province",
            "chain.id_province",
            "Không xác định được mã tỉnh của số định danh từ nơi đăng ký; hãy ghi id_province",
            "the ID's province cannot be told from the place of registration; give id_province",
        ));
    }
    match (errs.is_empty(), sex, date, province) {
        (true, Some(s), Some(d), Some(p)) => Ok((s, d.year(), p)),
        _ => Err(errs),
    }
}

/// What a death registration's fields must be.
pub fn check_death(
    d: &DeathRegistration,
    today: chrono::NaiveDate,
) -> std::result::Result<(PersonalId, PartialDate, UnitRef), Vec<Violation>> {
    let mut errs = Vec::new();
    if let Err(v) = check_registration_no(&d.registration_no) {
        errs.push(v);
    }
    let id = d.personal_id.trim().parse::<PersonalId>().map_err(|v| errs.push(v.at("personal_id"))).ok();
    let date = d
        .death_date
        .parse::<PartialDate>()
        .and_then(|x| x.not_after(today, "death_date"))
        .map_err(|v| errs.push(v.at("death_date")))
        .ok();
    let place = d.death_place.parse::<UnitRef>().map_err(|v| errs.push(v.at("death_place"))).ok();
    match (id, date, place) {
        (Some(i), Some(x), Some(p)) if errs.is_empty() => Ok((i, x, p)),
        _ => Err(errs),
    }
}

fn today() -> chrono::NaiveDate {
    crate::applications::today()
}

/// The 2025 (province, commune) of a place, if it has one.
fn unit_scope(u: &UnitRef) -> Option<(String, String)> {
    let u = u.to_2025().ok()?;
    Some((u.describe().province_code.to_string(), u.code().to_string()))
}

/// A civil-status partner registers events in its units only (a province's Justice
/// department, its province): the place of registration must lie in them.
fn check_units(p: &Partner, field: &str, place: Option<&(String, String)>) -> Result<()> {
    if place.is_some_and(|(province, commune)| p.covers(province, commune)) {
        return Ok(());
    }
    Err(RegistryError::Store(StoreError::Invalid(vec![rule(
        field,
        "partner.unit_outside",
        "Nơi đăng ký nằm ngoài địa bàn của cơ quan gửi",
        "the place of registration is outside the sending authority's units",
    )])))
}

fn parent_not_found(field: &str, id: &PersonalId) -> Violation {
    rule(
        field,
        "chain.parent_not_found",
        format!("Không tìm thấy cha/mẹ có số định danh {id} trong Cơ sở dữ liệu quốc gia về dân cư"),
        format!("no parent with personal ID {id} in the registry"),
    )
}

fn household_missing(id: &PersonalId) -> Violation {
    rule(
        "household_of",
        "chain.household_missing",
        format!("Cha/mẹ {id} chưa thuộc hộ gia đình nào; không thể nhập hộ cho trẻ"),
        format!("parent {id} belongs to no household; the child cannot join one"),
    )
}

/// The child's record as a birth registers it: the registration's fields, the parents'
/// names as read, living at the household's address (`home`), validated.
fn child_record(
    b: &BirthRegistration,
    id: PersonalId,
    home: &Address,
    names: [String; 2],
) -> std::result::Result<dancu_domain::Citizen, StepError> {
    let [father_name, mother_name] = names;
    let draft = CitizenDraft {
        personal_id: id.to_string(),
        family_name: b.family_name.clone(),
        middle_name: b.middle_name.clone(),
        given_name: b.given_name.clone(),
        birth_date: b.birth_date.clone(),
        sex: b.sex.clone(),
        birth_place: b.birth_place.clone(),
        current_unit: home.unit.to_string(),
        current_detail: home.detail.clone(),
        father_id: b.father_id.trim().to_string(),
        father_name,
        mother_id: b.mother_id.trim().to_string(),
        mother_name,
        ..Default::default()
    };
    draft.validate(today()).map_err(|mut vs| StepError::Rule(vs.remove(0)))
}

/// The relation of a child of `parent` to the head of the parent's household.
fn relation_to_head(parent: Option<Relation>) -> Relation {
    match parent {
        Some(Relation::Head | Relation::Spouse) => Relation::Child,
        Some(Relation::Child | Relation::ChildInLaw) => Relation::Grandchild,
        _ => Relation::Other,
    }
}

impl Registry {
    /// Receives a birth registration from a civil-status partner and runs its steps at once
    /// (the child's personal ID is issued before this returns). The same registration
    /// number again returns the same chain (and ID): `(view, created)`.
    pub async fn chain_submit_birth(
        &self,
        p: &Partner,
        purpose: &str,
        b: &BirthRegistration,
        t: &Timing,
    ) -> Result<(ChainView, bool)> {
        let a = self.partner_gate(p, Operation::CivilRegistration, purpose).await?;
        let (sex, year, province) =
            check_birth(b, today()).map_err(|vs| RegistryError::Store(StoreError::Invalid(vs)))?;
        let mut scope = b.birth_place.parse::<UnitRef>().ok().and_then(|u| unit_scope(&u));
        check_units(p, "birth_place", scope.as_ref())?;
        if let Ok(parent) = b.household_of.trim().parse::<PersonalId>() {
            if let Some(c) = self.store.get_citizen(&parent).await? {
                scope = Some((c.scope_province, c.scope_commune));
            }
        }
        let request = serde_json::to_value(b).map_err(StoreError::from)?;
        let at_once = AtOnce { sex, year, province };
        self.chain_receive(
            &a,
            p,
            ChainKind::Birth,
            &b.registration_no,
            None,
            request,
            scope,
            Some(at_once),
            t,
        )
        .await
    }

    /// Receives a death registration and runs its steps at once.
    pub async fn chain_submit_death(
        &self,
        p: &Partner,
        purpose: &str,
        d: &DeathRegistration,
        t: &Timing,
    ) -> Result<(ChainView, bool)> {
        let a = self.partner_gate(p, Operation::CivilRegistration, purpose).await?;
        let (id, _, place) =
            check_death(d, today()).map_err(|vs| RegistryError::Store(StoreError::Invalid(vs)))?;
        check_units(p, "death_place", unit_scope(&place).as_ref())?;
        let scope = match self.store.get_citizen(&id).await? {
            Some(c) => Some((c.scope_province, c.scope_commune)),
            None => unit_scope(&place),
        };
        let request = serde_json::to_value(d).map_err(StoreError::from)?;
        self.chain_receive(
            &a,
            p,
            ChainKind::Death,
            &d.registration_no,
            Some(id.to_string()),
            request,
            scope,
            None,
            t,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn chain_receive(
        &self,
        a: &Access,
        p: &Partner,
        kind: ChainKind,
        registration_no: &str,
        personal_id: Option<String>,
        request: serde_json::Value,
        scope: Option<(String, String)>,
        at_once: Option<AtOnce>,
        t: &Timing,
    ) -> Result<(ChainView, bool)> {
        let (province, commune) = scope.unwrap_or_default();
        let store = self.store.as_ref();
        let subject = format!("chain:{}:{registration_no}", kind.code());
        if let Some(existing) = chains::get(store, kind, registration_no).await? {
            return self.resubmitted(a, p, existing, &subject).await;
        }
        let token = crate::chains::new_token();
        let at = now();
        let until = at + chrono::Duration::from_std(t.lease).unwrap_or(chrono::Duration::seconds(30));
        let new = NewChain {
            kind,
            registration_no: registration_no.into(),
            client_id: p.client_id.clone(),
            personal_id,
            request,
            scope_province: province,
            scope_commune: commune,
            actor: a.actor.clone(),
            at,
            lease: (token.clone(), until),
        };
        // A birth's ID allocation is written ahead with the receipt: one wait for both.
        let before: Vec<NewAuditEntry> =
            at_once.iter().map(|o| Self::entry(a, ALLOCATE, &o.subject(), Outcome::Attempt)).collect();
        let received = self
            .audited_write_after(a, before.clone(), "chain.receive", &subject, chains::insert(store, &new))
            .await;
        let (chain, created) = match received {
            Ok((chain, true)) => (chain, true),
            other => {
                // No number is allocated: the attempt ends here.
                self.audit
                    .record_later(
                        before
                            .into_iter()
                            .map(|e| NewAuditEntry { outcome: Outcome::Failed.code().into(), ..e })
                            .collect(),
                    )
                    .await;
                other?
            }
        };
        if !created {
            return self.resubmitted(a, p, chain, &subject).await;
        }
        match at_once {
            Some(o) => self.birth_at_once(a, chain.clone(), &token, &o, t).await?,
            None => self.run_chain(a, chain.clone(), &token, t).await?,
        }
        Ok((self.chain_view(chain.id).await?, true))
    }

    /// The same registration number again: the partner's own chain as it stands (another
    /// partner's answers that the number is taken).
    async fn resubmitted(
        &self,
        a: &Access,
        p: &Partner,
        c: Chain,
        subject: &str,
    ) -> Result<(ChainView, bool)> {
        if c.client_id != p.client_id {
            self.log(a, "chain.receive", subject, Outcome::Refused).await?;
            return Err(RegistryError::Store(StoreError::Conflict(rule(
                "registration_no",
                "chain.registration_taken",
                "Số đăng ký này đã được một cơ quan khác gửi",
                "another authority sent this registration number",
            ))));
        }
        // Sent twice at once: the first request is issuing the ID; answer with it.
        let mut c = c;
        for _ in 0..250 {
            if c.personal_id.is_some() || c.status != "running" || c.error.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            c = chains::get_by_id(self.store.as_ref(), c.id).await?.ok_or(RegistryError::NotFound)?;
        }
        self.log(a, "chain.read", c.personal_id.as_deref().unwrap_or(subject), Outcome::Ok).await?;
        Ok((self.chain_view(c.id).await?, false))
    }

    async fn chain_view(&self, id: i64) -> Result<ChainView> {
        let store = self.store.as_ref();
        let chain = chains::get_by_id(store, id).await?.ok_or(RegistryError::NotFound)?;
        let steps = chains::steps(store, id).await?;
        Ok(ChainView { chain, steps })
    }

    /// A partner's own chain by registration number (another partner's answers like a
    /// missing one).
    pub async fn chain_for_partner(
        &self,
        p: &Partner,
        purpose: &str,
        kind: ChainKind,
        registration_no: &str,
    ) -> Result<ChainView> {
        let a = self.partner_gate(p, Operation::CivilRegistration, purpose).await?;
        let subject = format!("chain:{}:{registration_no}", kind.code());
        let found = chains::get(self.store.as_ref(), kind, registration_no).await?;
        match found.filter(|c| c.client_id == p.client_id) {
            Some(c) => {
                self.log(&a, "chain.read", c.personal_id.as_deref().unwrap_or(&subject), Outcome::Ok).await?;
                self.chain_view(c.id).await
            }
            None => {
                self.log(&a, "chain.read", &subject, Outcome::NotFound).await?;
                Err(RegistryError::NotFound)
            }
        }
    }

    /// One round of the worker: claims due chains (under a lease) and runs each as far as it
    /// goes. Returns how many it ran.
    pub async fn chain_round(&self, t: &Timing, limit: u32) -> Result<usize> {
        let store = self.store.as_ref();
        let token = crate::chains::new_token();
        let at = now();
        let until = at + chrono::Duration::from_std(t.lease).unwrap_or(chrono::Duration::seconds(30));
        let due = chains::claim_due(store, &token, at, until, limit).await?;
        let n = due.len();
        let a = Access::system("chains", CHAIN_PURPOSE);
        for c in due {
            self.run_chain(&a, c, &token, t).await?;
        }
        Ok(n)
    }

    /// Runs the chain's next steps until it ends or a step fails (its reason and next
    /// attempt recorded); gives the lease back.
    async fn run_chain(&self, a: &Access, mut c: Chain, token: &str, t: &Timing) -> Result<()> {
        let store = self.store.as_ref();
        while c.status == "running" {
            let Some(next) = c.kind.next(&c.step) else { break };
            match self.chain_step(a, &c, token, next).await {
                Ok(()) => match chains::get_by_id(store, c.id).await? {
                    Some(fresh) => c = fresh,
                    None => break,
                },
                Err(e) => {
                    let v = match e {
                        StepError::Rule(v) => v,
                        StepError::Failure(why) => {
                            tracing::warn!(chain = c.id, step = next, error = %why, "linked-procedure step failed; retried");
                            rule(
                                "chain",
                                "chain.failure",
                                "Lỗi hệ thống khi thực hiện bước; sẽ thử lại",
                                "a system failure in this step; it will be retried",
                            )
                        }
                        StepError::LeaseLost => return Ok(()),
                    };
                    let at = now();
                    let wait = t.backoff(c.attempts + 1);
                    let next_at = at + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                    return match chains::fail(store, &c, token, &v, next_at, &a.actor, at).await {
                        Err(StoreError::Conflict(v)) if v.rule == "chain.lease_lost" => Ok(()),
                        other => Ok(other?),
                    };
                }
            }
        }
        chains::release(store, c.id, token).await?;
        Ok(())
    }

    async fn chain_step(&self, a: &Access, c: &Chain, token: &str, next: &'static str) -> StepResult {
        match (c.kind, next) {
            (ChainKind::Birth, "id_issued") => self.birth_issue_id(a, c, token).await,
            (ChainKind::Birth, "registered") => self.birth_register(a, c, token).await,
            (ChainKind::Birth, "residence_registered") => self.birth_residence(a, c, token).await,
            (ChainKind::Birth, "insurance_notified") => self.chain_notify(a, c, token, next).await,
            (ChainKind::Death, "deceased") => self.death_mark(a, c, token).await,
            (ChainKind::Death, "residence_ended") => self.death_end_residence(a, c, token).await,
            (ChainKind::Death, "eid_closed") => self.death_close_eid(a, c, token).await,
            (ChainKind::Death, "partners_notified") => self.chain_notify(a, c, token, next).await,
            _ => Err(StepError::Failure(format!("unknown step {next}"))),
        }
    }

    async fn commit(&self, stmts: Vec<Stmt>) -> StepResult {
        self.store.exec().transaction(stmts).await.map_err(store_step)
    }

    fn birth_of(c: &Chain) -> std::result::Result<BirthRegistration, StepError> {
        serde_json::from_value(c.request.clone()).map_err(|e| StepError::Failure(e.to_string()))
    }

    fn death_of(c: &Chain) -> std::result::Result<DeathRegistration, StepError> {
        serde_json::from_value(c.request.clone()).map_err(|e| StepError::Failure(e.to_string()))
    }

    fn chain_person(c: &Chain) -> std::result::Result<PersonalId, StepError> {
        c.personal_id
            .as_deref()
            .unwrap_or("")
            .parse()
            .map_err(|_| StepError::Failure("the chain has no personal ID".into()))
    }

    /// A birth received by a request: every step after `received` in **one transaction**
    /// when none is refused (the usual case), with the audit entries of the steps written
    /// ahead as one group. The ID is allocated first (its attempt was written ahead with the
    /// receipt); the reads of the steps follow; then one wait for the audit group and one
    /// commit that records each step (`id_issued`, `registered`, `residence_registered`,
    /// `insurance_notified`) in the chain and its history, exactly as the steps one by one
    /// would, and gives the lease back. When a step would be refused, the ID is issued on its
    /// own and the steps run one by one from there ([`Self::run_chain`]: the refused step's
    /// reason recorded, retried with back-off); when the allocation or the transaction fails,
    /// they run one by one from the start.
    async fn birth_at_once(&self, a: &Access, c: Chain, token: &str, o: &AtOnce, t: &Timing) -> Result<()> {
        let store = self.store.as_ref();
        if !super::officers::may_allocate(a, &o.province) {
            self.audit.record_later(vec![Self::entry(a, ALLOCATE, &o.subject(), Outcome::Failed)]).await;
            return self.run_chain(a, c, token, t).await;
        }
        let id = match store.allocate_personal_id(&o.province, o.sex, o.year).await {
            Ok(id) => {
                self.audit.record_later(vec![Self::entry(a, ALLOCATE, &o.subject(), Outcome::Ok)]).await;
                id
            }
            Err(e) => {
                self.audit.record_later(vec![Self::entry(a, ALLOCATE, &o.subject(), Outcome::Failed)]).await;
                tracing::warn!(chain = c.id, error = %e, "personal ID allocation failed; the steps run one by one");
                return self.run_chain(a, c, token, t).await;
            }
        };
        let issued = Self::entry(a, ALLOCATE, id.as_str(), Outcome::Ok);
        let plan = match self.birth_plan(a, &c, token, id).await {
            Ok(plan) if role_refusal(a, Outcome::Attempt).is_none() => plan,
            _ => {
                // A step would be refused: the ID is issued alone, as the first step does.
                if self.audit.record_all(vec![issued]).await.is_err() {
                    return self.run_chain(a, c, token, t).await;
                }
                let detail = format!("số định danh cá nhân {id}");
                let step =
                    chains::advance(&c, token, "id_issued", Some(id.as_str()), &detail, &a.actor, now());
                if let Err(StepError::LeaseLost) = self.commit(step).await {
                    return Ok(());
                }
                let fresh = chains::get_by_id(store, c.id).await?.ok_or(RegistryError::NotFound)?;
                return self.run_chain(a, fresh, token, t).await;
            }
        };
        let mut entries = vec![issued];
        entries.extend(plan.reads);
        entries.extend(
            plan.writes.iter().map(|(action, subject)| Self::entry(a, action, subject, Outcome::Attempt)),
        );
        if self.audit.record_all(entries).await.is_err() {
            return self.run_chain(a, c, token, t).await;
        }
        let done = store.exec().transaction(plan.stmts).await;
        let outcome = if done.is_ok() { Outcome::Ok } else { Outcome::Failed };
        let outcomes =
            plan.writes.iter().map(|(action, subject)| Self::entry(a, action, subject, outcome)).collect();
        self.audit.record_later(outcomes).await;
        match done {
            Ok(()) => Ok(()),
            Err(e) => {
                // Nothing of it is stored (the number is not given out again).
                tracing::warn!(chain = c.id, error = %e, "birth steps at once failed; they run one by one");
                let fresh = chains::get_by_id(store, c.id).await?.ok_or(RegistryError::NotFound)?;
                self.run_chain(a, fresh, token, t).await
            }
        }
    }

    /// The reads and statements of a birth's steps after the ID `id` (the record and the
    /// household, the permanent residence, the feed event, each step's state), checked as
    /// the steps one by one check them: any refusal is an error (the caller then runs them
    /// one by one, which records it).
    async fn birth_plan(
        &self,
        a: &Access,
        c: &Chain,
        token: &str,
        id: PersonalId,
    ) -> std::result::Result<BirthPlan, StepError> {
        let b = Self::birth_of(c)?;
        let store = self.store.as_ref();
        let of: PersonalId =
            b.household_of.trim().parse().map_err(|v: Violation| StepError::Rule(v.at("household_of")))?;
        let (parent, records) =
            tokio::join!(store.get_citizen(&of), crate::residences::of_person(store, &of));
        let parent = parent
            .map_err(store_step)?
            .ok_or_else(|| StepError::Rule(parent_not_found("household_of", &of)))?;
        let mut reads = vec![Self::entry(a, "citizen.read", of.as_str(), Outcome::Ok)];
        let mut names = [String::new(), String::new()];
        for (i, (field, raw)) in
            [("father_id", &b.father_id), ("mother_id", &b.mother_id)].into_iter().enumerate()
        {
            if let Some(pid) = optional_id(field, raw).map_err(StepError::Rule)? {
                let p = if pid == of {
                    parent.clone()
                } else {
                    let found = store.get_citizen(&pid).await.map_err(store_step)?;
                    found.ok_or_else(|| StepError::Rule(parent_not_found(field, &pid)))?
                };
                if pid != of {
                    reads.push(Self::entry(a, "citizen.read", pid.as_str(), Outcome::Ok));
                }
                names[i] = p.citizen.name.full();
            }
        }
        let missing = || StepError::Rule(household_missing(&of));
        let household = parent.household_no.clone().ok_or_else(missing)?;
        let home = [&parent.citizen.current, &parent.citizen.permanent, &parent.citizen.temporary]
            .into_iter()
            .flatten()
            .next()
            .cloned()
            .ok_or_else(missing)?;
        let rec = records
            .map_err(store_step)?
            .into_iter()
            .find(|r| r.current && r.kind == ResidenceKind::Permanent)
            .ok_or_else(|| StepError::Failure("no permanent residence".into()))?;
        if parent.citizen.status == LifeStatus::Deceased {
            return Err(StepError::Failure("parent deceased".into()));
        }
        let unit: UnitRef = rec.unit.parse().map_err(|v: Violation| StepError::Rule(v.at("household_of")))?;
        let child = child_record(&b, id, &home, names)?;
        self.check_scope(a, &child).map_err(step_error)?;
        // The household as `register_birth` checks it: in scope, the child added is valid.
        let hv: HouseholdView = store
            .get_household(&household)
            .await
            .map_err(store_step)?
            .filter(|h| a.scope.covers(&h.scope_province, &h.scope_commune))
            .ok_or_else(missing)?;
        let relation = relation_to_head(parent.relation);
        let mut members: Vec<dancu_domain::household::Member> = hv
            .members
            .iter()
            .map(|m| dancu_domain::household::Member { personal_id: m.personal_id, relation: m.relation })
            .collect();
        members.push(dancu_domain::household::Member { personal_id: id, relation });
        let h = dancu_domain::Household { number: household.clone(), members };
        h.validate().map_err(StepError::Rule)?;

        let at = now();
        let created = Change {
            actor: a.actor.clone(),
            reason: format!("đăng ký khai sinh số {} (liên thông)", c.registration_no),
            at,
        };
        let cols = rows::CitizenCols::new(&child).map_err(StepError::Rule)?;
        let mut params: Vec<Val> = cols.vals.to_vec();
        params.extend(rows::citizen_meta(1, &created));
        params.extend(rows::household_vals(None));
        let insert = Stmt::new(rows::insert_citizen_sql(rows::Ph::Dollar), params)
            .expect_rows(1, StoreError::Conflict(rows::duplicate_id(cols.id())));
        // The record as it reads back once created, and as the residence step leaves it.
        let stored = rows::new_stored(&child, &cols, &created);
        let mut next = child.clone();
        next.permanent = Some(Address { unit, detail: rec.detail.clone() });
        let moved = Change {
            reason: format!("thường trú theo cha/mẹ, khai sinh số {}", c.registration_no),
            ..created.clone()
        };
        let next_cols = rows::CitizenCols::new(&next).map_err(StepError::Rule)?;
        let (kind, data) = event_payload(c, &next, Some(&household), Some(relation));

        let actor = &a.actor;
        let mut step = c.clone();
        let mut stmts = chains::advance(
            &step,
            token,
            "id_issued",
            Some(id.as_str()),
            &format!("số định danh cá nhân {id}"),
            actor,
            at,
        );
        step.step = "id_issued".into();
        stmts.push(insert);
        stmts.extend(crate::residences::household_rewrite(&hv, &h.members, &created).map_err(store_step)?);
        stmts.extend(chains::advance(
            &step,
            token,
            "registered",
            None,
            &format!("nhập hộ {household}"),
            actor,
            at,
        ));
        stmts.push(chains::rescope(c.id, cols.scope_province(), cols.scope_commune()));
        step.step = "registered".into();
        stmts.extend(crate::residences::citizen_update(&stored, &next, &moved).map_err(store_step)?);
        let detail = format!("thường trú {} {}", rec.unit, rec.detail);
        stmts.extend(chains::advance(&step, token, "residence_registered", None, &detail, actor, at));
        step.step = "residence_registered".into();
        // The record is locked by this transaction's writes: its events keep their order.
        let (province, commune) = (next_cols.scope_province(), next_cols.scope_commune());
        stmts.push(
            chains::event(store.backend(), kind, id.as_str(), province, commune, &data, at)
                .map_err(store_step)?,
        );
        stmts.extend(chains::advance(
            &step,
            token,
            "insurance_notified",
            None,
            &format!("sự kiện {kind}"),
            actor,
            at,
        ));
        stmts.push(chains::release_stmt(c.id, token));
        let writes = vec![
            ("household.update", household.clone()),
            ("citizen.create", id.to_string()),
            ("citizen.update", id.to_string()),
        ];
        Ok(BirthPlan { reads, writes, stmts })
    }

    /// Birth, step 1: the child's personal ID.
    async fn birth_issue_id(&self, a: &Access, c: &Chain, token: &str) -> StepResult {
        let b = Self::birth_of(c)?;
        let (sex, year, province) =
            check_birth(&b, today()).map_err(|mut vs| StepError::Rule(vs.remove(0)))?;
        let id = self.allocate_personal_id(a, &province, sex, year).await.map_err(step_error)?;
        let detail = format!("số định danh cá nhân {id}");
        self.commit(chains::advance(c, token, "id_issued", Some(id.as_str()), &detail, &a.actor, now())).await
    }

    /// A parent named in the registration, read for the chain (audited).
    async fn chain_parent(
        &self,
        a: &Access,
        field: &str,
        id: &PersonalId,
    ) -> std::result::Result<StoredCitizen, StepError> {
        let found = self.store.get_citizen(id).await.map_err(store_step)?;
        let outcome = if found.is_some() { Outcome::Ok } else { Outcome::NotFound };
        self.log(a, "citizen.read", id.as_str(), outcome).await.map_err(step_error)?;
        found.ok_or_else(|| StepError::Rule(parent_not_found(field, id)))
    }

    /// Birth, step 2: the record and the named parent's household (one transaction).
    async fn birth_register(&self, a: &Access, c: &Chain, token: &str) -> StepResult {
        let id = Self::chain_person(c)?;
        let b = Self::birth_of(c)?;
        if let Some(child) = self.store.get_citizen(&id).await.map_err(store_step)? {
            let mut stmts = chains::advance(c, token, "registered", None, "đã có hồ sơ", &a.actor, now());
            stmts.push(chains::rescope(c.id, &child.scope_province, &child.scope_commune));
            return self.commit(stmts).await;
        }
        let of: PersonalId =
            b.household_of.trim().parse().map_err(|v: Violation| StepError::Rule(v.at("household_of")))?;
        let parent = self.chain_parent(a, "household_of", &of).await?;
        let mut names = [String::new(), String::new()];
        for (i, (field, raw)) in
            [("father_id", &b.father_id), ("mother_id", &b.mother_id)].into_iter().enumerate()
        {
            if let Some(pid) = optional_id(field, raw).map_err(StepError::Rule)? {
                let p = if pid == of { parent.clone() } else { self.chain_parent(a, field, &pid).await? };
                names[i] = p.citizen.name.full();
            }
        }
        let household = parent.household_no.clone().ok_or_else(|| StepError::Rule(household_missing(&of)))?;
        let home = [&parent.citizen.current, &parent.citizen.permanent, &parent.citizen.temporary]
            .into_iter()
            .flatten()
            .next()
            .cloned()
            .ok_or_else(|| StepError::Rule(household_missing(&of)))?;
        let child = child_record(&b, id, &home, names)?;
        let nb = super::NewBirth {
            child,
            province: String::new(),
            household: household.clone(),
            relation: relation_to_head(parent.relation),
            household_version: None,
        };
        let reason = format!("đăng ký khai sinh số {} (liên thông)", c.registration_no);
        let (stored, _) = match self.register_birth_with_id(a, &nb, id, &reason).await {
            Err(RegistryError::NotFound) => return Err(StepError::Rule(household_missing(&of))),
            other => other.map_err(step_error)?,
        };
        let detail = format!("nhập hộ {household}");
        let mut stmts = chains::advance(c, token, "registered", None, &detail, &a.actor, now());
        stmts.push(chains::rescope(c.id, &stored.scope_province, &stored.scope_commune));
        self.commit(stmts).await
    }

    /// Birth, step 3: the child's permanent residence is the parent's (Law on Residence,
    /// art. 12: a minor's is where the parents live); the parent must hold a current
    /// permanent record.
    async fn birth_residence(&self, a: &Access, c: &Chain, token: &str) -> StepResult {
        let id = Self::chain_person(c)?;
        let b = Self::birth_of(c)?;
        let of: PersonalId =
            b.household_of.trim().parse().map_err(|v: Violation| StepError::Rule(v.at("household_of")))?;
        let parent = self.chain_parent(a, "household_of", &of).await?;
        let store = self.store.as_ref();
        let records = crate::residences::of_person(store, &of).await.map_err(store_step)?;
        let Some(rec) = records.into_iter().find(|r| r.current && r.kind == ResidenceKind::Permanent) else {
            return Err(StepError::Rule(rule(
                "household_of",
                "chain.parent_no_permanent_residence",
                format!("Cha/mẹ {of} không có nơi thường trú hiện tại; trẻ chưa đăng ký thường trú được"),
                format!("parent {of} holds no current permanent residence; the child's cannot follow it"),
            )));
        };
        if parent.citizen.status == LifeStatus::Deceased {
            return Err(StepError::Rule(rule(
                "household_of",
                "residence.deceased",
                format!("Cha/mẹ {of} đã mất; cần chọn hộ của người cha/mẹ còn sống"),
                format!("parent {of} is deceased; choose the living parent's household"),
            )));
        }
        let unit: UnitRef = rec.unit.parse().map_err(|v: Violation| StepError::Rule(v.at("household_of")))?;
        let child = store
            .get_citizen(&id)
            .await
            .map_err(store_step)?
            .ok_or_else(|| StepError::Failure("child missing".into()))?;
        let address = Address { unit, detail: rec.detail.clone() };
        let detail = format!("thường trú {} {}", rec.unit, rec.detail);
        let mut stmts = Vec::new();
        if child.citizen.permanent.as_ref() != Some(&address) {
            let mut next = child.citizen.clone();
            next.permanent = Some(address);
            let ch = Change {
                actor: a.actor.clone(),
                reason: format!("thường trú theo cha/mẹ, khai sinh số {}", c.registration_no),
                at: now(),
            };
            stmts = crate::residences::citizen_update(&child, &next, &ch).map_err(store_step)?;
        }
        stmts.extend(chains::advance(c, token, "residence_registered", None, &detail, &a.actor, now()));
        let write = self.store.exec().transaction(stmts);
        self.audited_write(a, "citizen.update", id.as_str(), write).await.map_err(step_error)
    }

    /// The last step of either chain: the change-feed event the entitled partners receive
    /// (social insurance; labour for deaths), in the transaction that ends the chain.
    async fn chain_notify(&self, a: &Access, c: &Chain, token: &str, next: &'static str) -> StepResult {
        let id = Self::chain_person(c)?;
        let store = self.store.as_ref();
        let person = store
            .get_citizen(&id)
            .await
            .map_err(store_step)?
            .ok_or_else(|| StepError::Failure("person missing".into()))?;
        let (kind, data) = event_payload(c, &person.citizen, person.household_no.as_deref(), person.relation);
        let at = now();
        let mut stmts = Vec::new();
        if store.backend() == "postgres" {
            // The person's row lock, as the outbox triggers take it: their events keep order.
            stmts.push(Stmt::new(
                "SELECT 1 FROM citizens WHERE personal_id = $1 FOR NO KEY UPDATE",
                vec![Val::Text(id.to_string())],
            ));
        }
        stmts.push(
            chains::event(
                store.backend(),
                kind,
                id.as_str(),
                &person.scope_province,
                &person.scope_commune,
                &data,
                at,
            )
            .map_err(store_step)?,
        );
        let detail = format!("sự kiện {kind}");
        stmts.extend(chains::advance(c, token, next, None, &detail, &a.actor, at));
        self.commit(stmts).await
    }

    /// Death, step 1: the record marked deceased with the date of death.
    async fn death_mark(&self, a: &Access, c: &Chain, token: &str) -> StepResult {
        let d = Self::death_of(c)?;
        let (id, date, _) = check_death(&d, today()).map_err(|mut vs| StepError::Rule(vs.remove(0)))?;
        let store = self.store.as_ref();
        let found = store.get_citizen(&id).await.map_err(store_step)?;
        let outcome = if found.is_some() { Outcome::Ok } else { Outcome::NotFound };
        self.log(a, "citizen.read", id.as_str(), outcome).await.map_err(step_error)?;
        let Some(person) = found else {
            return Err(StepError::Rule(rule(
                "personal_id",
                "chain.person_not_found",
                format!("Không tìm thấy công dân có số định danh {id}"),
                format!("no citizen with personal ID {id}"),
            )));
        };
        let at = now();
        let mut stmts = Vec::new();
        if person.citizen.status != LifeStatus::Deceased {
            let mut next = person.citizen.clone();
            next.status = LifeStatus::Deceased;
            next.death_date = Some(date);
            let ch =
                Change {
                    actor: a.actor.clone(), reason: format!("khai tử số {}", c.registration_no), at
                };
            stmts = crate::residences::citizen_update(&person, &next, &ch).map_err(store_step)?;
        }
        stmts.push(chains::rescope(c.id, &person.scope_province, &person.scope_commune));
        // The person as corrected by an officer, if they were.
        stmts.push(Stmt::new(
            "UPDATE linked_chains SET personal_id = $2 WHERE id = $1",
            vec![Val::Int(c.id), Val::Text(id.to_string())],
        ));
        stmts.extend(chains::advance(c, token, "deceased", Some(id.as_str()), "đã ghi đã mất", &a.actor, at));
        let write = store.exec().transaction(stmts);
        self.audited_write(a, "citizen.update", id.as_str(), write).await.map_err(step_error)
    }

    /// Death, step 2: every current residence record ends (reason `deceased`), the day the
    /// registry learnt of it; the address fields keep the last residence as it was.
    async fn death_end_residence(&self, a: &Access, c: &Chain, token: &str) -> StepResult {
        let id = Self::chain_person(c)?;
        let at = now();
        let day = dancu_domain::date::vietnam_today(at);
        let mut stmts = vec![Stmt::new(
            "UPDATE residences SET ended_on = $2, end_reason = 'deceased' WHERE personal_id = $1 AND ended_on IS NULL",
            vec![Val::Text(id.to_string()), Val::Text(day.to_string())],
        )];
        stmts.extend(chains::advance(c, token, "residence_ended", None, "xoá đăng ký cư trú", &a.actor, at));
        let write = self.store.exec().transaction(stmts);
        self.audited_write(a, "residence.end", id.as_str(), write).await.map_err(step_error)
    }

    /// Death, step 3: the eID account locked (its sessions ended) and the valid card revoked.
    async fn death_close_eid(&self, a: &Access, c: &Chain, token: &str) -> StepResult {
        let id = Self::chain_person(c)?;
        let store = self.store.as_ref();
        let mut detail = String::from("không có tài khoản định danh điện tử");
        if let Some(acc) = crate::eid::get_account(store, &id).await.map_err(store_step)? {
            detail = "khoá tài khoản định danh điện tử".into();
            if !acc.state.is_locked() {
                let reason = format!("công dân đã mất (khai tử số {})", c.registration_no);
                let event = AccountEvent::Lock { by: Actor::Officer, reason: reason.clone() };
                let state = rules::apply(&acc.state, &event).map_err(StepError::Rule)?;
                let next = crate::eid::EidAccount { state, updated_at: now(), ..acc.clone() };
                let change =
                    crate::eid::EidChange { event: "lock".into(), reason, actor: a.actor.clone(), at: now() };
                let write =
                    crate::eid::save_account(store, &next, acc.version, acc.state.code(), Some(&change));
                self.audited_write(a, "eid.update", id.as_str(), write).await.map_err(step_error)?;
            }
            crate::eid::delete_sessions_of(store, &id).await.map_err(store_step)?;
        }
        let mut stmts = vec![Stmt::new(
            "UPDATE cards SET status = 'revoked' WHERE personal_id = $1 AND status = 'valid'",
            vec![Val::Text(id.to_string())],
        )];
        stmts.extend(chains::advance(
            c,
            token,
            "eid_closed",
            None,
            &format!("{detail}; thu hồi thẻ"),
            &a.actor,
            now(),
        ));
        let write = store.exec().transaction(stmts);
        self.audited_write(a, "card.revoke", id.as_str(), write).await.map_err(step_error)
    }

    // ---- officers: the board and the exceptions worklist ----

    /// Chains in the caller's scope (the board; `state: failed` is the worklist), audited
    /// with the people they name.
    pub async fn chains_list(&self, a: &Access, f: &ChainFilter) -> Result<Page<Chain>> {
        let page = chains::list(self.store.as_ref(), &a.scope, f).await?;
        let what = format!(
            "chains:{}:{}",
            f.kind.map(|k| k.code()).unwrap_or("all"),
            f.state.as_deref().unwrap_or("all")
        );
        self.log_rows(a, "chain.list", &what, page.items.iter().filter_map(|c| c.personal_id.as_deref()))
            .await?;
        Ok(page)
    }

    /// Chains per kind and state in the caller's scope (figures only).
    pub async fn chains_counts(&self, a: &Access) -> Result<Vec<(ChainKind, String, u64)>> {
        Ok(chains::counts(self.store.as_ref(), &a.scope).await?)
    }

    /// One chain in the caller's scope, with its history.
    pub async fn chain_detail(&self, a: &Access, id: i64) -> Result<ChainView> {
        let found = chains::get_by_id(self.store.as_ref(), id).await?;
        let subject = format!("chain:{id}");
        let Some(c) = found.filter(|c| a.scope.covers(&c.scope_province, &c.scope_commune)) else {
            self.log(a, "chain.read", &subject, Outcome::NotFound).await?;
            return Err(RegistryError::NotFound);
        };
        self.log(a, "chain.read", c.personal_id.as_deref().unwrap_or(&subject), Outcome::Ok).await?;
        self.chain_view(c.id).await
    }

    /// An officer's action on a running chain in scope: `retry` now, `resolve` with a note
    /// (closed by hand: the officer did the rest), or `correct` one field of the
    /// registration (then retried now). Fields that made the issued ID (sex, date of birth)
    /// or the person of a death already marked cannot be corrected.
    pub async fn chain_act(
        &self,
        a: &Access,
        id: i64,
        action: &str,
        note: &str,
        correction: Option<(&str, &str)>,
    ) -> Result<ChainView> {
        let subject = format!("chain:{id}");
        self.writer(a, "chain.act", &subject).await?;
        let found = chains::get_by_id(self.store.as_ref(), id).await?;
        let Some(c) = found.filter(|c| a.scope.covers(&c.scope_province, &c.scope_commune)) else {
            self.log(a, "chain.act", &subject, Outcome::NotFound).await?;
            return Err(RegistryError::NotFound);
        };
        let invalid = |v: Violation| RegistryError::Store(StoreError::Invalid(vec![v]));
        let note = dancu_domain::nfc(note.trim());
        dancu_domain::text::check_no_hidden_chars("note", &note).map_err(invalid)?;
        if note.chars().count() > 500 {
            return Err(invalid(rule(
                "note",
                "chain.note_length",
                "Ghi chú tối đa 500 ký tự",
                "a note is at most 500 characters",
            )));
        }
        let mut request = None;
        let code = match action {
            "retry" => "retry",
            "resolve" => {
                if note.chars().count() < 3 {
                    return Err(invalid(rule(
                        "note",
                        "chain.note_required",
                        "Cần ghi rõ đã xử lý thế nào (ít nhất 3 ký tự)",
                        "say how it was resolved (at least 3 characters)",
                    )));
                }
                "resolved"
            }
            "correct" => {
                let (field, value) = correction.unwrap_or(("", ""));
                request = Some(corrected(&c, field, value).map_err(invalid)?);
                "corrected"
            }
            _ => {
                return Err(invalid(rule(
                    "action",
                    "chain.action_unknown",
                    "Thao tác không hợp lệ (retry, resolve, correct)",
                    "unknown action (retry, resolve, correct)",
                )))
            }
        };
        let detail = match (code, correction) {
            ("corrected", Some((f, v))) => format!("{f} = {v}. {note}"),
            _ => note.clone(),
        };
        let write = chains::officer_action(
            self.store.as_ref(),
            id,
            code,
            detail.trim(),
            request.as_ref(),
            &a.actor,
            now(),
        );
        self.audited_write(a, "chain.act", c.personal_id.as_deref().unwrap_or(&subject), write).await?;
        self.chain_view(id).await
    }
}

/// The registration with `field` set to `value`, checked whole; the fields an officer may
/// correct at the chain's step.
fn corrected(c: &Chain, field: &str, value: &str) -> std::result::Result<serde_json::Value, Violation> {
    let value = dancu_domain::nfc(value.trim());
    let allowed: &[&str] = match (c.kind, c.step.as_str()) {
        (ChainKind::Birth, "received") => &[
            "family_name",
            "middle_name",
            "given_name",
            "birth_place",
            "father_id",
            "mother_id",
            "household_of",
            "id_province",
        ],
        (ChainKind::Birth, _) => {
            &["family_name", "middle_name", "given_name", "father_id", "mother_id", "household_of"]
        }
        (ChainKind::Death, "received") => &["personal_id", "death_date", "death_place"],
        (ChainKind::Death, _) => &["death_place"],
    };
    if !allowed.contains(&field) {
        return Err(rule(
            "field",
            "chain.field_locked",
            format!("Không sửa được trường {field} ở bước này (được sửa: {})", allowed.join(", ")),
            format!("{field} cannot be corrected at this step (allowed: {})", allowed.join(", ")),
        ));
    }
    let mut req = c.request.clone();
    if let Some(o) = req.as_object_mut() {
        o.insert(field.into(), serde_json::Value::String(value));
    }
    let today = today();
    let first = |vs: Vec<Violation>| {
        vs.into_iter().next().unwrap_or_else(|| rule(field, "chain.invalid", "Không hợp lệ", "invalid"))
    };
    match c.kind {
        ChainKind::Birth => {
            let b: BirthRegistration = serde_json::from_value(req.clone())
                .map_err(|e| rule(field, "chain.invalid", e.to_string(), e.to_string()))?;
            check_birth(&b, today).map_err(first)?;
        }
        ChainKind::Death => {
            let d: DeathRegistration = serde_json::from_value(req.clone())
                .map_err(|e| rule(field, "chain.invalid", e.to_string(), e.to_string()))?;
            check_death(&d, today).map_err(first)?;
        }
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> BirthRegistration {
        BirthRegistration {
            registration_no: "KS-2026/1".into(),
            family_name: "Nguyễn".into(),
            middle_name: "Minh".into(),
            given_name: "An".into(),
            sex: "Nữ".into(),
            birth_date: "2026-01-02".into(),
            birth_place: "2025:00004".into(),
            father_id: "001085001234".into(),
            mother_id: String::new(),
            household_of: "001085001234".into(),
            id_province: String::new(),
        }
    }

    fn day() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    #[test]
    fn a_birth_gives_the_id_prefix_of_its_place() {
        let (sex, year, province) = check_birth(&good(), day()).unwrap();
        assert_eq!((sex, year, province.as_str()), (Sex::Female, 2026, "01"));
        let b = BirthRegistration { id_province: "24".into(), ..good() };
        assert_eq!(check_birth(&b, day()).unwrap().2, "24");
    }

    #[test]
    fn every_broken_rule_is_named() {
        let b = BirthRegistration {
            registration_no: "a b".into(),
            birth_date: "2026".into(),
            household_of: "001190004321".into(),
            id_province: "99".into(),
            ..good()
        };
        let rules: Vec<(String, &str)> =
            check_birth(&b, day()).unwrap_err().into_iter().map(|v| (v.field, v.rule)).collect();
        assert_eq!(
            rules,
            [
                ("registration_no".into(), "chain.registration_no"),
                ("birth_date".into(), "chain.birth_date_full"),
                ("household_of".into(), "chain.household_of"),
                ("id_province".into(), "id.province"),
            ]
        );
        let d = DeathRegistration {
            registration_no: "KT-1".into(),
            personal_id: "001085001234".into(),
            death_date: "2027-01-01".into(),
            death_place: "00004".into(),
        };
        let fields: Vec<String> = check_death(&d, day()).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["death_date", "death_place"]);
    }
}
