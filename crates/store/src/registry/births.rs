//! Registering a newborn (đăng ký khai sinh) in one step: the personal ID is allocated, then
//! the record and the child's place in the parent's household are stored in one transaction.

use dancu_domain::household::Member;
use dancu_domain::{Citizen, Household, Relation, Violation};

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
    /// The household version the officer saw.
    pub household_version: i64,
}

impl Registry {
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
        self.check_scope(a, &b.child)?;
        if b.relation == Relation::Head {
            return Err(invalid(Violation::new(
                "relation",
                "household.head_count",
                "Trẻ mới sinh không thể là chủ hộ",
                "a newborn cannot be the head of the household",
            )));
        }
        let current = self.store.get_household(&b.household).await?;
        let Some(current) = current.filter(|h| a.scope.covers(&h.scope_province, &h.scope_commune)) else {
            // Audited like any read of a household that is missing or out of scope.
            self.household(a, &b.household).await?;
            return Err(RegistryError::NotFound);
        };
        if current.version != b.household_version {
            return Err(StoreError::VersionMismatch {
                expected: b.household_version,
                actual: current.version,
            }
            .into());
        }
        let mut h = Household {
            number: b.household.clone(),
            members: current
                .members
                .iter()
                .map(|m| Member { personal_id: m.personal_id, relation: m.relation })
                .collect(),
        };
        h.members.push(Member { personal_id: b.child.personal_id, relation: b.relation });
        h.validate().map_err(invalid)?;

        let year = b.child.birth_date.year();
        let id = self.allocate_personal_id(a, &b.province, b.child.sex, year).await?;
        let mut child = b.child.clone();
        child.personal_id = id;
        h.members.last_mut().expect("the child was just added").personal_id = id;
        let ch = change(a, reason);
        self.log(a, "household.update", &b.household, Outcome::Attempt).await?;
        let done = self
            .audited_write(
                a,
                "citizen.create",
                id.as_str(),
                self.store.register_birth(&child, &h, b.household_version, &ch),
            )
            .await;
        let outcome = if done.is_ok() { Outcome::Ok } else { Outcome::Failed };
        self.audit.record_later(vec![Self::entry(a, "household.update", &b.household, outcome)]).await;
        let (stored, mut view) = done?;
        mask_members(a, &mut view);
        Ok((stored, view))
    }
}

fn invalid(v: Violation) -> RegistryError {
    RegistryError::Store(StoreError::Invalid(vec![v]))
}
