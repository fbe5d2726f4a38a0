//! The audited paths to registry deduplication: candidate pairs are listed to officers who
//! see either record; deciding a pair needs both records in scope. Every read and decision
//! is logged under both personal IDs.

use dancu_domain::PersonalId;

use super::{now, Access, Registry, RegistryError, Result};
use crate::dedup::{self, Candidate, DedupCount, Merge};
use crate::model::{Page, Timestamp};

impl Registry {
    /// Candidate pairs with either record in the caller's scope.
    pub async fn dedup_list(
        &self,
        a: &Access,
        status: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<Candidate>> {
        let page = dedup::list(self.store.as_ref(), &a.scope, status, limit, offset).await?;
        self.log(a, "dedup.list", &format!("{}&status={}", a.scope, status.unwrap_or("*")), "ok").await?;
        Ok(page)
    }

    /// Found / merged / rejected / remaining per commune in the caller's scope.
    pub async fn dedup_counts(&self, a: &Access, since: Option<Timestamp>) -> Result<Vec<DedupCount>> {
        Ok(dedup::counts(self.store.as_ref(), &a.scope, since).await?)
    }

    /// A pair if the caller sees one of its records (`both`: both of them).
    async fn scoped_pair(&self, a: &Access, action: &str, id: i64, both: bool) -> Result<Candidate> {
        let found = dedup::get(self.store.as_ref(), id).await?;
        let Some(c) = found else {
            self.log(a, action, &format!("dedup:{id}"), "not_found").await?;
            return Err(RegistryError::NotFound);
        };
        let l = a.scope.covers(&c.left_province, &c.left_commune);
        let r = a.scope.covers(&c.right_province, &c.right_commune);
        let ok = if both { l && r } else { l || r };
        let outcome = if ok { "ok" } else { "denied" };
        for pid in [&c.left, &c.right] {
            self.log(a, action, pid.as_str(), outcome).await?;
        }
        if ok {
            Ok(c)
        } else {
            Err(RegistryError::NotFound)
        }
    }

    pub async fn dedup_candidate(&self, a: &Access, id: i64) -> Result<Candidate> {
        self.scoped_pair(a, "dedup.read", id, false).await
    }

    /// Merges a pair whose two records are both in the caller's scope, keeping `keep`.
    pub async fn dedup_merge(&self, a: &Access, id: i64, keep: &PersonalId) -> Result<Merge> {
        self.scoped_pair(a, "dedup.merge", id, true).await?;
        Ok(dedup::merge(self.store.as_ref(), id, keep, &a.actor, now()).await?)
    }

    /// Marks a pair as two different people; it is never proposed again.
    pub async fn dedup_reject(&self, a: &Access, id: i64, reason: &str) -> Result<Candidate> {
        self.scoped_pair(a, "dedup.reject", id, true).await?;
        dedup::reject(self.store.as_ref(), id, &a.actor, reason, now()).await?;
        dedup::get(self.store.as_ref(), id).await?.ok_or(RegistryError::NotFound)
    }

    /// Undoes a merge (the caller checks the administrator role).
    pub async fn dedup_undo(&self, a: &Access, id: i64) -> Result<Merge> {
        self.scoped_pair(a, "dedup.undo", id, true).await?;
        Ok(dedup::undo(self.store.as_ref(), id, &a.actor, now()).await?)
    }

    /// The records in the caller's scope, for matching a list against the registry (a
    /// sector-list reconciliation); audited as one `registry.match` access.
    pub async fn citizens_for_matching(&self, a: &Access) -> Result<Vec<dancu_domain::Citizen>> {
        let citizens = dedup::citizens_in(self.store.as_ref(), &a.scope).await?;
        self.log(a, "registry.match", &format!("{}&records={}", a.scope, citizens.len()), "ok").await?;
        Ok(citizens)
    }
}
