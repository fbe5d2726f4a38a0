//! Residence confirmations (giấy xác nhận thông tin về cư trú): officers issue them for
//! citizens in their scope and revoke them with a reason; a citizen issues their own from the
//! portal; anyone verifies one by the id its signed QR code carries. Every path is audited
//! under the holder's personal ID (a verification too, so the holder sees it in "who accessed
//! my data"); a confirmation outside the caller's scope answers like a missing one.

use dancu_domain::{Address, LifeStatus, PersonalId, Violation};

use super::eid::own_access;
use super::{now, Access, Outcome, Registry, RegistryError, Result};
use crate::confirmations::{self as conf, Confirmation, ConfirmationContent, NewConfirmation};
use crate::model::{Scope, StoredCitizen};
use crate::StoreError;

/// Who verifies a confirmation on the public page or API: nobody logged in.
pub const PUBLIC_VERIFIER: &str = "public:verify";

fn invalid(v: Violation) -> RegistryError {
    RegistryError::Store(StoreError::Invalid(vec![v]))
}

/// An address in words: the detail, then the commune and province by name.
fn in_words(a: &Option<Address>) -> String {
    match a {
        None => String::new(),
        Some(a) if a.detail.trim().is_empty() => a.unit.describe().to_string(),
        Some(a) => format!("{}, {}", a.detail.trim(), a.unit.describe()),
    }
}

impl Registry {
    /// What a confirmation for `holder` certifies: the record's fields, and the household
    /// head's name (read under the same caller, audited as a household read naming the head).
    async fn confirmation_content(&self, a: &Access, holder: &StoredCitizen) -> Result<ConfirmationContent> {
        let c = &holder.citizen;
        if c.status != LifeStatus::Alive {
            return Err(invalid(Violation::new(
                "personal_id",
                "confirmation.not_alive",
                "Không xác nhận cư trú cho người đã chết hoặc mất tích",
                "no residence confirmation for a person who is deceased or missing",
            )));
        }
        if c.permanent.is_none() && c.temporary.is_none() {
            return Err(invalid(Violation::new(
                "permanent_unit",
                "confirmation.no_residence",
                "Công dân chưa có nơi thường trú hoặc tạm trú để xác nhận",
                "the citizen has no permanent or temporary residence to confirm",
            )));
        }
        let household_no = holder.household_no.clone().unwrap_or_default();
        let mut head_name = String::new();
        if !household_no.is_empty() {
            if let Some(h) = self.store.get_household(&household_no).await? {
                if let Some(head) = h.members.iter().find(|m| m.personal_id == h.head) {
                    head_name = head.full_name.clone();
                    let own = a.actor.starts_with("citizen:");
                    if !own || head.personal_id != c.personal_id {
                        self.log_rows(a, "household.read", &household_no, [head.personal_id.as_str()])
                            .await?;
                    }
                }
            }
        }
        Ok(ConfirmationContent {
            full_name: c.name.full(),
            birth_date: c.birth_date.display_vi(),
            sex: c.sex,
            permanent: in_words(&c.permanent),
            temporary: in_words(&c.temporary),
            household_no,
            head_name,
            relation: holder.relation,
        })
    }

    /// An officer issues a confirmation for a citizen in scope, in the name of the officer's
    /// unit, signed with `key_id`.
    pub async fn issue_confirmation(
        &self,
        a: &Access,
        id: &PersonalId,
        key_id: &str,
    ) -> Result<Confirmation> {
        let action = "confirmation.issue";
        self.writer(a, action, id.as_str()).await?;
        let holder = self.read_citizen(a, id).await?;
        let content = self.confirmation_content(a, &holder).await?;
        let n = NewConfirmation {
            personal_id: *id,
            content,
            issuing_unit: a.scope.to_string(),
            channel: "officer".into(),
            issued_at: now(),
            issued_by: a.actor.clone(),
            key_id: key_id.into(),
            scope_province: holder.scope_province.clone(),
            scope_commune: holder.scope_commune.clone(),
        };
        self.audited_write(a, action, id.as_str(), conf::insert(self.store.as_ref(), &n)).await
    }

    /// A citizen issues their own confirmation from the portal, at once from the registry
    /// data, in the name of the police of the commune they live in.
    pub async fn issue_own_confirmation(&self, me: &PersonalId, key_id: &str) -> Result<Confirmation> {
        let own = own_access(me, "công dân tự cấp giấy xác nhận thông tin về cư trú");
        let holder = self.store.get_citizen(me).await?.ok_or(RegistryError::NotFound)?;
        self.log(&own, "citizen.read", me.as_str(), Outcome::Ok).await?;
        let content = self.confirmation_content(&own, &holder).await?;
        let n = NewConfirmation {
            personal_id: *me,
            content,
            issuing_unit: Scope::Commune(holder.scope_commune.clone()).to_string(),
            channel: "portal".into(),
            issued_at: now(),
            issued_by: own.actor.clone(),
            key_id: key_id.into(),
            scope_province: holder.scope_province.clone(),
            scope_commune: holder.scope_commune.clone(),
        };
        self.audited_write(&own, "confirmation.issue", me.as_str(), conf::insert(self.store.as_ref(), &n))
            .await
    }

    /// The confirmation if it exists and `a` may see it; audited under the holder.
    pub async fn confirmation(&self, a: &Access, id: i64) -> Result<Confirmation> {
        let found = conf::get(self.store.as_ref(), id).await?;
        let (subject, outcome) = match &found {
            None => (format!("confirmation:{id}"), Outcome::NotFound),
            Some(c) => (c.personal_id.to_string(), Outcome::of_scope(a, &c.scope_province, &c.scope_commune)),
        };
        self.log(a, "confirmation.read", &subject, outcome).await?;
        found.filter(|_| outcome == Outcome::Ok).ok_or(RegistryError::NotFound)
    }

    /// A citizen's own confirmation (another person's answers like a missing one).
    pub async fn own_confirmation(&self, me: &PersonalId, id: i64) -> Result<Confirmation> {
        let own = own_access(me, "công dân xem giấy xác nhận cư trú của mình");
        let found = conf::get(self.store.as_ref(), id).await?.filter(|c| &c.personal_id == me);
        let Some(found) = found else {
            self.log(&own, "confirmation.read", &format!("confirmation:{id}"), Outcome::NotFound).await?;
            return Err(RegistryError::NotFound);
        };
        self.log(&own, "confirmation.read", me.as_str(), Outcome::Ok).await?;
        Ok(found)
    }

    /// Revokes a confirmation in the caller's scope, with a reason (required).
    pub async fn revoke_confirmation(&self, a: &Access, id: i64, reason: &str) -> Result<Confirmation> {
        let action = "confirmation.revoke";
        self.writer(a, action, &format!("confirmation:{id}")).await?;
        let found = self.confirmation(a, id).await?;
        let subject = found.personal_id.to_string();
        let reason = dancu_domain::nfc(reason.trim());
        if reason.is_empty() || reason.chars().count() > 500 {
            self.log(a, action, &subject, Outcome::Refused).await?;
            return Err(invalid(Violation::new(
                "reason",
                "confirmation.reason_required",
                "Cần ghi lý do thu hồi (tối đa 500 ký tự)",
                "a reason for the revocation is required (at most 500 characters)",
            )));
        }
        if found.revoked_at.is_some() {
            self.log(a, action, &subject, Outcome::Refused).await?;
            return Err(StoreError::Conflict(conf::already_revoked()).into());
        }
        let write = conf::revoke(self.store.as_ref(), id, &reason, now(), &a.actor);
        self.audited_write(a, action, &subject, write).await
    }

    /// A citizen's confirmations (newest first), for an officer who may see the citizen.
    pub async fn confirmations_of(&self, a: &Access, id: &PersonalId) -> Result<Vec<Confirmation>> {
        let (found, outcome) = self.scoped_citizen(a, id).await?;
        self.log(a, "confirmation.list", id.as_str(), outcome).await?;
        found.ok_or(RegistryError::NotFound)?;
        Ok(conf::of_holder(self.store.as_ref(), id).await?)
    }

    /// The citizen's own confirmations, newest first.
    pub async fn own_confirmations(&self, me: &PersonalId) -> Result<Vec<Confirmation>> {
        let own = own_access(me, "công dân xem giấy xác nhận cư trú của mình");
        self.log(&own, "confirmation.list", me.as_str(), Outcome::Ok).await?;
        Ok(conf::of_holder(self.store.as_ref(), me).await?)
    }

    /// The public verification of a confirmation whose signed token named `id` (the caller
    /// checked the signature first): audited under the holder as a read by
    /// [`PUBLIC_VERIFIER`], so the holder sees every verification.
    pub async fn verify_confirmation(&self, id: i64) -> Result<Option<Confirmation>> {
        let public = Access {
            actor: PUBLIC_VERIFIER.into(),
            role: crate::model::Role::Officer,
            scope: Scope::Nation,
            purpose: "xác minh giấy xác nhận thông tin về cư trú".into(),
        };
        let found = conf::get(self.store.as_ref(), id).await?;
        let (subject, outcome) = match &found {
            None => (format!("confirmation:{id}"), Outcome::NotFound),
            Some(c) => (c.personal_id.to_string(), Outcome::Ok),
        };
        self.audit.record(Self::entry(&public, "confirmation.verify", &subject, outcome)).await?;
        Ok(found)
    }
}
