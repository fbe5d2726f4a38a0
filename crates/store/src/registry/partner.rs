//! The audited paths of partner systems (issue 13): verification (one record or a batch),
//! card look-up, and the administration of partners' entitlements. A partner acts as
//! `partner:<client_id>` with the purpose it states; every call is audited before it
//! answers, refusals included. A person outside the partner's units answers exactly like a
//! missing one (same answer, same code path); only the audit entry tells them apart.

use std::collections::HashMap;

use dancu_domain::verify::{self, Claim, NameMode, Residence, Verdict};
use dancu_domain::{LifeStatus, PersonalId, Violation};
use dancu_identity::eid::DocumentKind;
use dancu_identity::CardStatus;

use super::{now, read_batch, Access, Outcome, Registry, RegistryError, Result};
use crate::model::{Role, Scope};
use crate::partners::{self, CallCount, CardField, Operation, Partner};
use crate::StoreError;

/// One record to verify.
#[derive(Debug, Clone)]
pub struct VerifyItem {
    pub personal_id: PersonalId,
    pub claim: Claim,
}

/// The answer for one record: not found (or outside the partner's units), or the verdict
/// and the person's life status, nothing else.
#[derive(Debug, Clone, PartialEq)]
pub enum VerifyAnswer {
    NotFound,
    Found { verdict: Verdict, life_status: LifeStatus },
}

/// What a card look-up returns: the entitled fields (a field with no value is `None`) and,
/// for a QR payload, how its name, date of birth and sex compare with the record.
#[derive(Debug, Clone, PartialEq)]
pub struct CardLookup {
    pub personal_id: PersonalId,
    pub fields: Vec<(CardField, Option<String>)>,
    pub qr_check: Option<Verdict>,
}

/// The most records one batch may hold.
pub const MAX_BATCH: usize = 10_000;

fn forbidden(field: &str, rule: &'static str, vi: &str, en: &str) -> RegistryError {
    RegistryError::Forbidden(Violation::new(field, rule, vi, en))
}

/// The access a partner's call is audited under.
fn access(p: &Partner, purpose: &str) -> Access {
    Access { actor: p.actor(), role: Role::Officer, scope: Scope::Nation, purpose: purpose.into() }
}

impl Registry {
    /// A partner's entitlements (no personal data; the server's gate caches them).
    pub async fn partner(&self, client_id: &str) -> Result<Option<Partner>> {
        Ok(partners::get_partner(self.store.as_ref(), client_id).await?)
    }

    /// Records a refusal the server decided (rate limit, bad input, an unknown partner):
    /// queued, not waited for, so a flood of refused calls does not hold the audit writer.
    pub async fn partner_refused(&self, client_id: &str, operation: &str, purpose: &str, rule: &str) {
        let a = Access {
            actor: partners::partner_actor(client_id),
            role: Role::Officer,
            scope: Scope::Nation,
            purpose: purpose.into(),
        };
        let e =
            Self::entry(&a, &format!("partner.{operation}"), &format!("refused:{rule}"), Outcome::Refused);
        self.audit.record_later(vec![e]).await;
    }

    /// A suspended partner, or one not entitled to `op`, is refused (audited as denied).
    pub(super) async fn partner_gate(&self, p: &Partner, op: Operation, purpose: &str) -> Result<Access> {
        let a = access(p, purpose);
        let refusal = if p.suspended {
            Some(forbidden(
                "client_id",
                "partner.suspended",
                "Đối tác đang bị tạm dừng truy cập",
                "the partner is suspended",
            ))
        } else if !p.may(op) {
            Some(forbidden(
                "operation",
                "partner.not_entitled",
                &format!("Đối tác không được cấp quyền nghiệp vụ {}", op.code()),
                &format!("the partner is not entitled to {}", op.code()),
            ))
        } else {
            None
        };
        match refusal {
            None => Ok(a),
            Some(e) => {
                let subject = format!("partner:{}", op.code());
                self.deny(&a, &format!("partner.{}", op.code()), &subject, e).await
            }
        }
    }

    /// Verifies one record or a batch (at most [`MAX_BATCH`]). One record is audited under
    /// its ID; a batch is one entry (`batch:<n>`) listing the IDs found within the
    /// partner's units, filed under each of them.
    pub async fn partner_verify(
        &self,
        p: &Partner,
        purpose: &str,
        items: &[VerifyItem],
    ) -> Result<Vec<VerifyAnswer>> {
        let a = self.partner_gate(p, Operation::Verify, purpose).await?;
        if items.len() > MAX_BATCH {
            return Err(RegistryError::Store(StoreError::Invalid(vec![Violation::new(
                "records",
                "partner.batch_too_large",
                format!("Mỗi lô tối đa {MAX_BATCH} bản ghi"),
                format!("a batch holds at most {MAX_BATCH} records"),
            )])));
        }
        let store = self.reads.as_ref();
        let mut ids: Vec<PersonalId> = items.iter().map(|i| i.personal_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let rows = match ids.as_slice() {
            [one] if store.backend() == "postgres" => {
                let reads =
                    self.verify_reads.get_or_init(|| read_batch::VerifyReads::start(self.reads.clone()));
                reads.read(store, *one).await?
            }
            _ => partners::verify_rows(store, &ids).await?,
        };
        let mut by_id: HashMap<PersonalId, &partners::VerifyRow> = HashMap::with_capacity(rows.len());
        let mut outside = Vec::new();
        for r in &rows {
            if p.covers(&r.scope_province, &r.scope_commune) {
                by_id.insert(r.personal_id, r);
            } else {
                outside.push(r.personal_id);
            }
        }
        let need_detail: Vec<PersonalId> = items
            .iter()
            .filter(|i| i.claim.address.as_ref().is_some_and(|a| a.detail.is_some()))
            .filter(|i| by_id.contains_key(&i.personal_id))
            .map(|i| i.personal_id)
            .collect();
        let details = if need_detail.is_empty() {
            HashMap::new()
        } else {
            partners::verify_details(store, &need_detail).await?
        };
        let answers: Vec<VerifyAnswer> = items
            .iter()
            .map(|i| match by_id.get(&i.personal_id) {
                None => VerifyAnswer::NotFound,
                Some(r) => {
                    let d = details.get(&i.personal_id);
                    let mut res = Vec::with_capacity(3);
                    for (k, unit) in r.units.iter().enumerate() {
                        if let Some(unit) = unit {
                            res.push(Residence { unit, detail: d.map(|d: &[String; 3]| d[k].as_str()) });
                        }
                    }
                    let rec = verify::Recorded {
                        full_name: &r.full_name,
                        birth_date: r.birth_date,
                        sex: r.sex,
                        residences: &res,
                    };
                    VerifyAnswer::Found { verdict: verify::verify(&i.claim, &rec), life_status: r.status }
                }
            })
            .collect();
        if let [one] = items {
            let id = one.personal_id;
            let outcome = if by_id.contains_key(&id) {
                Outcome::Ok
            } else if outside.contains(&id) {
                Outcome::Denied
            } else {
                Outcome::NotFound
            };
            self.log(&a, "partner.verify", id.as_str(), outcome).await?;
        } else {
            let mut found: Vec<&str> = by_id.keys().map(PersonalId::as_str).collect();
            found.sort_unstable();
            let what = format!("batch:{}", items.len());
            self.log_rows(&a, "partner.verify_batch", &what, found).await?;
        }
        Ok(answers)
    }

    /// A card look-up by personal ID (from a scanned QR payload or typed): the fields the
    /// partner is entitled to. With the QR's name, date of birth and sex, how they compare
    /// (names tolerantly: a garbled name still resolves, and the answer says how it matched).
    pub async fn partner_card_lookup(
        &self,
        p: &Partner,
        purpose: &str,
        id: &PersonalId,
        qr: Option<&Claim>,
    ) -> Result<CardLookup> {
        let a = self.partner_gate(p, Operation::CardLookup, purpose).await?;
        let store = self.reads.as_ref();
        let found = store.get_citizen(id).await?;
        let outcome = match &found {
            None => Outcome::NotFound,
            Some(c) if p.covers(&c.scope_province, &c.scope_commune) => Outcome::Ok,
            Some(_) => Outcome::Denied,
        };
        self.log(&a, "partner.card_lookup", id.as_str(), outcome).await?;
        let found = found.filter(|_| outcome == Outcome::Ok).ok_or(RegistryError::NotFound)?;
        let household = found
            .household_no
            .as_ref()
            .map(|h| format!("{h}|{}", found.relation.map(|r| r.code()).unwrap_or_default()));
        let c = found.citizen;
        let wants = |f: CardField| p.fields.contains(&f);
        let docs = if wants(CardField::HealthInsuranceNumber) || wants(CardField::SocialInsuranceNumber) {
            crate::eid::documents(store, id).await?
        } else {
            Vec::new()
        };
        let doc = |k: DocumentKind| docs.iter().find(|d| d.kind == k).map(|d| d.number.clone());
        let card = if wants(CardField::CardNumber) || wants(CardField::CardExpiry) {
            let cards = store.get_cards(id).await?;
            cards.into_iter().filter(|c| c.status == CardStatus::Valid).max_by_key(|c| c.issue_date)
        } else {
            None
        };
        let mut fields = Vec::with_capacity(p.fields.len());
        for &f in &p.fields {
            let v = match f {
                CardField::FullName => Some(c.name.full()),
                CardField::DateOfBirth => Some(c.birth_date.to_string()),
                CardField::Sex => Some(c.sex.code().to_string()),
                CardField::LifeStatus => Some(c.status.code().to_string()),
                CardField::CardNumber => card.as_ref().map(|k| k.number.to_string()),
                CardField::CardExpiry => {
                    card.as_ref().map(|k| k.expiry.map_or("lifetime".into(), |e| e.to_string()))
                }
                CardField::PermanentAddress => {
                    c.permanent.as_ref().map(|ad| format!("{}|{}", ad.unit, ad.detail))
                }
                CardField::HealthInsuranceNumber => doc(DocumentKind::HealthInsurance),
                CardField::SocialInsuranceNumber => doc(DocumentKind::SocialInsurance),
                CardField::Household => household.clone(),
            };
            fields.push((f, v));
        }
        let qr_check = qr.map(|claim| {
            let name = c.name.full();
            let claim = Claim { name_mode: NameMode::Tolerant, address: None, ..claim.clone() };
            let rec =
                verify::Recorded { full_name: &name, birth_date: c.birth_date, sex: c.sex, residences: &[] };
            verify::verify(&claim, &rec)
        });
        Ok(CardLookup { personal_id: *id, fields, qr_check })
    }

    /// Every partner, for every officer's role (no personal data: leaders see the figures).
    pub async fn partners(&self, _a: &Access) -> Result<Vec<Partner>> {
        Ok(partners::list_partners(self.store.as_ref()).await?)
    }

    /// Creates or replaces a partner's entitlements (administrators; audited).
    pub async fn partner_entitle(&self, a: &Access, p: &Partner) -> Result<Partner> {
        let subject = partners::partner_actor(&p.client_id);
        if let Err(e) = a.require_admin("cấp quyền cho đối tác", "entitle partners") {
            return self.deny(a, "partner.entitle", &subject, e).await;
        }
        check_partner(p)?;
        let p = Partner { updated_at: now(), updated_by: a.actor.clone(), ..p.clone() };
        self.audited_write(a, "partner.entitle", &subject, partners::put_partner(self.store.as_ref(), &p))
            .await?;
        Ok(p)
    }

    /// Suspends or resumes a partner (administrators; audited).
    pub async fn partner_set_suspended(&self, a: &Access, client_id: &str, suspended: bool) -> Result<()> {
        let subject = partners::partner_actor(client_id);
        let action = if suspended { "partner.suspend" } else { "partner.resume" };
        if let Err(e) = a.require_admin("tạm dừng đối tác", "suspend or resume partners") {
            return self.deny(a, action, &subject, e).await;
        }
        let write = partners::set_suspended(self.store.as_ref(), client_id, suspended, &a.actor, now());
        match self.audited_write(a, action, &subject, write).await {
            Err(RegistryError::Store(StoreError::NotFound)) => Err(RegistryError::NotFound),
            other => other,
        }
    }

    /// Adds call counts the server gathered in memory.
    pub async fn partner_add_counts(&self, counts: &[CallCount]) -> Result<()> {
        Ok(partners::add_counts(self.store.as_ref(), counts).await?)
    }

    /// Call counts from `since` (a `YYYY-MM-DD` day), for officers, auditors and
    /// administrators (figures only, so leaders too).
    pub async fn partner_counts(
        &self,
        _a: &Access,
        since: &str,
        client_id: Option<&str>,
    ) -> Result<Vec<CallCount>> {
        Ok(partners::counts(self.store.as_ref(), since, client_id).await?)
    }
}

/// A partner's entitlements are well formed: a name, an id, a positive rate.
fn check_partner(p: &Partner) -> Result<()> {
    let mut v = Vec::new();
    let bad_text = |s: &str, max: usize| {
        s.trim().is_empty() || s.chars().count() > max || s.chars().any(char::is_control)
    };
    if bad_text(&p.client_id, 100) {
        v.push(Violation::new(
            "client_id",
            "partner.client_id",
            "Mã ứng dụng đối tác phải có 1–100 ký tự, không có ký tự điều khiển",
            "the partner's client id must have 1–100 characters and no control characters",
        ));
    }
    if bad_text(&p.name, 200) {
        v.push(Violation::new(
            "name",
            "partner.name",
            "Tên đối tác phải có 1–200 ký tự, không có ký tự điều khiển",
            "the partner's name must have 1–200 characters and no control characters",
        ));
    }
    if p.rate_per_sec == 0 || p.burst == 0 || p.rate_per_sec > 100_000 || p.burst > 100_000 {
        v.push(Violation::new(
            "rate_per_sec",
            "partner.rate",
            "Giới hạn tốc độ và số yêu cầu dồn phải từ 1 đến 100000",
            "the rate limit and burst must be between 1 and 100000",
        ));
    }
    if p.units.is_empty() {
        v.push(Violation::new(
            "units",
            "partner.units_required",
            "Cần ít nhất một đơn vị (nation, province:NN hoặc commune:NNNNN)",
            "at least one unit is required (nation, province:NN or commune:NNNNN)",
        ));
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(RegistryError::Store(StoreError::Invalid(v)))
    }
}
