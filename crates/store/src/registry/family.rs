//! Household events that touch more than one record: registering a newborn (đăng ký khai
//! sinh: the ID is allocated, then the record and the child's place in the household are
//! stored in one transaction) and splitting a household (tách hộ: both member lists in one
//! transaction).

use dancu_domain::household::Member;
use dancu_domain::{Citizen, Household, PersonalId, Relation, Violation};

use super::{change, mask_members, Access, Outcome, Registry, RegistryError, Result};
use crate::model::*;
use crate::StoreError;

/// A birth to register; `child.personal_id` is a placeholder, replaced by the allocated ID.
#[derive(Debug, Clone)]
pub struct NewBirth {
    pub child: Citizen,
    /// The legacy province (2 digits) of the birth registration: the ID's prefix.
    pub province: String,
    pub household: String,
    pub relation: Relation,
    /// The household version the officer saw, if they saw it.
    pub household_version: Option<i64>,
}

/// A split: who leaves household `number` (as seen at `expected_version`) and with which
/// relation to the new head (one of them is `Head`) into household `new_number`.
#[derive(Debug, Clone)]
pub struct Split {
    pub number: String,
    pub expected_version: i64,
    pub new_number: String,
    pub leaving: Vec<Member>,
}

impl Registry {
    /// A household the caller may see, with every member (those outside the caller's scope
    /// included, since a write must keep them); a missing or out-of-scope one is audited like
    /// a read of it and answers `NotFound`.
    async fn household_for_write(&self, a: &Access, number: &str) -> Result<HouseholdView> {
        let found = self.store.get_household(number).await?;
        match found.filter(|h| a.scope.covers(&h.scope_province, &h.scope_commune)) {
            Some(h) => Ok(h),
            None => {
                self.household(a, number).await?;
                Err(RegistryError::NotFound)
            }
        }
    }

    /// Allocates the child's personal ID, then creates the record in the caller's scope and
    /// adds the child to household `b.household` in one transaction. Everything that can be
    /// refused is checked before the allocation; a refusal after it (a household changed
    /// meanwhile) stores nothing, and the allocated number is never given out again.
    pub async fn register_birth(
        &self,
        a: &Access,
        b: &NewBirth,
        reason: &str,
    ) -> Result<(StoredCitizen, HouseholdView)> {
        let (h, version) = self.birth_checks(a, b).await?;
        let year = b.child.birth_date.year();
        let id = self.allocate_personal_id(a, &b.province, b.child.sex, year).await?;
        self.store_birth(a, b, h, version, id, reason).await
    }

    /// [`Registry::register_birth`] for a child whose personal ID was issued before (the
    /// birth chain issues it in its first step, so that no child is left without one).
    pub(super) async fn register_birth_with_id(
        &self,
        a: &Access,
        b: &NewBirth,
        id: PersonalId,
        reason: &str,
    ) -> Result<(StoredCitizen, HouseholdView)> {
        let (h, version) = self.birth_checks(a, b).await?;
        self.store_birth(a, b, h, version, id, reason).await
    }

    /// What a birth is checked against before any number is allocated: the scope, the
    /// relation, the household (at the version seen) with the child added.
    async fn birth_checks(&self, a: &Access, b: &NewBirth) -> Result<(Household, i64)> {
        self.check_scope(a, &b.child)?;
        if b.relation == Relation::Head {
            return Err(invalid(Violation::new(
                "relation",
                "household.head_count",
                "Trẻ mới sinh không thể là chủ hộ",
                "a newborn cannot be the head of the household",
            )));
        }
        let current = self.household_for_write(a, &b.household).await?;
        let version = b.household_version.unwrap_or(current.version);
        if current.version != version {
            return Err(StoreError::VersionMismatch { expected: version, actual: current.version }.into());
        }
        let mut h = Household { number: b.household.clone(), members: members_of(&current) };
        h.members.push(Member { personal_id: b.child.personal_id, relation: b.relation });
        h.validate().map_err(invalid)?;
        Ok((h, version))
    }

    /// Stores the checked birth under `id`: the record and the household in one transaction.
    async fn store_birth(
        &self,
        a: &Access,
        b: &NewBirth,
        mut h: Household,
        version: i64,
        id: PersonalId,
        reason: &str,
    ) -> Result<(StoredCitizen, HouseholdView)> {
        let mut child = b.child.clone();
        child.personal_id = id;
        if let Some(m) = h.members.last_mut() {
            m.personal_id = id;
        }
        let ch = change(a, reason);
        self.log(a, "household.update", &b.household, Outcome::Attempt).await?;
        let write = self.store.register_birth(&child, &h, version, &ch);
        let done = self.audited_write(a, "citizen.create", id.as_str(), write).await;
        self.finish(a, "household.update", &b.household, done.is_ok()).await;
        let (stored, mut view) = done?;
        mask_members(a, &mut view);
        Ok((stored, view))
    }

    /// Splits a household: the members named leave it, with their relations to the new head,
    /// into a new household, in one transaction. Only members the caller can see may leave;
    /// the head stays (change the head first to let them go).
    pub async fn split_household(
        &self,
        a: &Access,
        s: &Split,
        reason: &str,
    ) -> Result<(HouseholdView, HouseholdView)> {
        let current = self.household_for_write(a, &s.number).await?;
        for m in &s.leaving {
            let visible = current.members.iter().any(|c| {
                c.personal_id == m.personal_id && a.scope.covers(&c.scope_province, &c.scope_commune)
            });
            if !visible {
                return Err(invalid(member_unknown(&m.personal_id)));
            }
            if m.personal_id == current.head {
                return Err(invalid(Violation::new(
                    "leaving",
                    "household.head_leaves",
                    "Chủ hộ không thể tách đi; hãy đổi chủ hộ trước",
                    "the head cannot leave; change the head first",
                )));
            }
        }
        if s.leaving.is_empty() {
            return Err(invalid(Violation::new(
                "leaving",
                "household.split_empty",
                "Chọn ít nhất một thành viên tách hộ",
                "choose at least one member to leave",
            )));
        }
        let leaves = |id: &PersonalId| s.leaving.iter().any(|m| &m.personal_id == id);
        let mut old = Household { number: s.number.clone(), members: members_of(&current) };
        old.members.retain(|m| !leaves(&m.personal_id));
        let new = Household { number: s.new_number.clone(), members: s.leaving.clone() };
        old.validate().map_err(invalid)?;
        // Named after the split form's fields: the new number, or the new head.
        new.validate().map_err(|v| {
            let field = if v.rule == "household.number_format" { "new_number" } else { "new_head" };
            invalid(v.at(field))
        })?;
        if let Some(existing) = self.store.get_household(&new.number).await? {
            if !a.scope.covers(&existing.scope_province, &existing.scope_commune) {
                self.log(a, "household.create", &new.number, Outcome::Denied).await?;
                return Err(RegistryError::Referred);
            }
        }
        let ch = change(a, reason);
        self.log(a, "household.create", &new.number, Outcome::Attempt).await?;
        let write = self.store.split_household(&old, s.expected_version, &new, &ch);
        let done = self.audited_write(a, "household.update", &s.number, write).await;
        self.finish(a, "household.create", &new.number, done.is_ok()).await;
        let (mut kept, mut made) = done?;
        self.log_members(a, "household.update", s.leaving.iter().map(|m| m.personal_id.as_str())).await?;
        mask_members(a, &mut kept);
        mask_members(a, &mut made);
        Ok((kept, made))
    }

    /// Queues how a write announced with an `Attempt` entry ended.
    async fn finish(&self, a: &Access, action: &str, subject: &str, ok: bool) {
        let outcome = if ok { Outcome::Ok } else { Outcome::Failed };
        self.audit.record_later(vec![Self::entry(a, action, subject, outcome)]).await;
    }
}

/// Every member of a stored household, as a member list to write back.
fn members_of(h: &HouseholdView) -> Vec<Member> {
    h.members.iter().map(|m| Member { personal_id: m.personal_id, relation: m.relation }).collect()
}

fn member_unknown(id: &PersonalId) -> Violation {
    Violation::new(
        "leaving",
        "household.member_unknown",
        format!("Công dân {id} không phải thành viên của hộ trong phạm vi quản lý"),
        format!("citizen {id} is not a member of this household in your scope"),
    )
}

fn invalid(v: Violation) -> RegistryError {
    RegistryError::Store(StoreError::Invalid(vec![v]))
}
