//! The audited path by which a relying party (a portal the citizen logged in to through the
//! OpenID Connect provider) reads the citizen's record for its userinfo claims. The entry is
//! recorded under the citizen's personal ID with the actor `rp:<client_id>`, so the citizen
//! sees the portal's access in "who accessed my data".

use dancu_domain::PersonalId;

use super::{Access, Outcome, Registry, RegistryError, Result};
use crate::model::*;

impl Registry {
    /// The record of the citizen who authorised `client_id`, audited before it is returned
    /// (`purpose`: the scopes released). An unknown record is audited as not found.
    pub async fn rp_userinfo(
        &self,
        client_id: &str,
        id: &PersonalId,
        purpose: &str,
    ) -> Result<StoredCitizen> {
        let a = Access {
            actor: format!("rp:{client_id}"),
            role: Role::Officer,
            scope: Scope::Nation,
            purpose: purpose.into(),
        };
        match self.store.get_citizen(id).await? {
            Some(c) => {
                self.log(&a, "citizen.read", id.as_str(), Outcome::Ok).await?;
                Ok(c)
            }
            None => {
                self.log(&a, "citizen.read", id.as_str(), Outcome::NotFound).await?;
                Err(RegistryError::NotFound)
            }
        }
    }

    /// A relying party's refused read (its login's tokens were revoked, or the client is
    /// suspended): recorded under the citizen as refused, nothing returned.
    pub async fn rp_userinfo_refused(&self, client_id: &str, id: &PersonalId, purpose: &str) -> Result<()> {
        let a = Access {
            actor: format!("rp:{client_id}"),
            role: Role::Officer,
            scope: Scope::Nation,
            purpose: purpose.into(),
        };
        self.log(&a, "citizen.read", id.as_str(), Outcome::Refused).await
    }
}
