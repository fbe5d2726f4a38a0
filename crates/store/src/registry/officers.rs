//! Personal ID allocation and officer accounts: scoped, role-checked and audited.

use dancu_domain::{PersonalId, Violation};

use super::{Access, Outcome, Registry, RegistryError, Result};
use crate::model::*;
use crate::officer_admin::{self, OfficerChange};

impl Registry {
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
        if !may_allocate(a, province) {
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
        if let Err(e) = may_manage(a, &o.scope) {
            self.log(a, "officer.create", &subject, Outcome::Denied).await?;
            return Err(e);
        }
        self.audited_write(a, "officer.create", &subject, self.store.create_officer(o)).await
    }

    /// Deactivates, reactivates, re-scopes or changes the role of an officer: administrators
    /// only, for an officer whose scope (before and after) lies inside their own. The change
    /// raises the officer's token epoch and ends their web sessions (`officer_admin::update`).
    pub async fn update_officer(&self, a: &Access, id: i64, change: &OfficerChange) -> Result<Officer> {
        let subject = format!("officer_id:{id}");
        let Some(before) = self.store.get_officer(id).await? else {
            self.log(a, "officer.update", &subject, Outcome::NotFound).await?;
            return Err(RegistryError::NotFound);
        };
        let subject = format!("officer:{}", before.username);
        let after = change.scope.as_ref().unwrap_or(&before.scope);
        if let Err(e) = may_manage(a, &before.scope).and_then(|()| may_manage(a, after)) {
            self.log(a, "officer.update", &subject, Outcome::Denied).await?;
            return Err(e);
        }
        let write = officer_admin::update(self.store.as_ref(), id, change);
        self.audited_write(a, "officer.update", &subject, write).await
    }

    /// Resets an officer's password (the hash of a password the administrator hands over):
    /// administrators only, for an officer in their scope; ends the officer's tokens and
    /// sessions.
    pub async fn reset_officer_password(&self, a: &Access, id: i64, password_hash: &str) -> Result<Officer> {
        let action = "officer.password_reset";
        let Some(before) = self.store.get_officer(id).await? else {
            self.log(a, action, &format!("officer_id:{id}"), Outcome::NotFound).await?;
            return Err(RegistryError::NotFound);
        };
        let subject = format!("officer:{}", before.username);
        if let Err(e) = may_manage(a, &before.scope) {
            self.log(a, action, &subject, Outcome::Denied).await?;
            return Err(e);
        }
        let write = officer_admin::set_password(self.store.as_ref(), id, password_hash);
        self.audited_write(a, action, &subject, write).await
    }

    /// The officer accounts an administrator manages: those whose scope lies in theirs.
    pub async fn list_officers(&self, a: &Access) -> Result<Vec<Officer>> {
        a.require_admin("xem danh sách cán bộ", "list officer accounts")?;
        let mut all = self.store.list_officers().await?;
        all.retain(|o| a.scope.contains(&o.scope));
        Ok(all)
    }
}

/// An administrator may manage accounts whose scope lies inside their own.
fn may_manage(a: &Access, scope: &Scope) -> Result<()> {
    a.require_admin("quản lý tài khoản cán bộ", "manage officer accounts")?;
    if a.scope.contains(scope) {
        return Ok(());
    }
    Err(RegistryError::OutOfScope(Violation::new(
        "scope",
        "scope.outside",
        format!("Phạm vi {scope} rộng hơn phạm vi của bạn ({})", a.scope),
        format!("scope {scope} is wider than your own ({})", a.scope),
    )))
}

/// Whether the caller's scope includes a 2025 province that took in legacy province
/// `province` (where a newborn's ID with that prefix may be allocated).
pub(super) fn may_allocate(a: &Access, province: &str) -> bool {
    let provinces = dancu_domain::admin_units().provinces_2025_of_legacy(province);
    match &a.scope {
        Scope::Nation => !provinces.is_empty(),
        Scope::Province(p) => provinces.contains(&p.as_str()),
        Scope::Commune(c) => dancu_domain::admin_units()
            .commune_2025(c)
            .is_some_and(|c| provinces.contains(&c.province_code.as_str())),
    }
}
