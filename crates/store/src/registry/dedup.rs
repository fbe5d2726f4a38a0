//! The audited paths to registry deduplication: candidate pairs are listed to officers who
//! see either record, with the record outside their scope masked ([`PairView`]); deciding a
//! pair needs both records in scope. Every record shown is logged under its personal ID,
//! and every decision under both.

use std::collections::HashMap;

use dancu_domain::PersonalId;

use super::{now, Access, Outcome, Registry, RegistryError, Result};
use crate::dedup::{self, Candidate, DedupCount, Merge, NewCandidate, PairView};
use crate::model::{Page, StoredCitizen, Timestamp};

impl Registry {
    /// Candidate pairs with either record in the caller's scope.
    pub async fn dedup_list(
        &self,
        a: &Access,
        status: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<PairView>> {
        let page = dedup::list(self.store.as_ref(), &a.scope, status, limit, offset).await?;
        let items: Vec<PairView> = page.items.into_iter().map(|c| view(a, c)).collect();
        let what = format!("{}&status={}", a.scope, status.unwrap_or("*"));
        let shown: Vec<String> =
            items.iter().flat_map(PairView::sides).map(|s| s.personal_id.to_string()).collect();
        self.log_rows(a, "dedup.list", &what, shown.iter().map(String::as_str)).await?;
        Ok(Page { items, total: page.total, limit: page.limit, offset: page.offset })
    }

    /// [`Self::dedup_list`] with the stored records of the sides the caller sees (the masked
    /// ones stay out), looked up for the whole page at once under the listing's audit entry,
    /// which names every record shown.
    pub async fn dedup_list_with_records(
        &self,
        a: &Access,
        status: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<(Page<PairView>, HashMap<PersonalId, StoredCitizen>)> {
        let page = self.dedup_list(a, status, limit, offset).await?;
        let ids = page.items.iter().flat_map(PairView::sides).map(|s| &s.personal_id);
        let records = crate::holders::records(self.store.as_ref(), ids).await?;
        Ok((page, records))
    }

    /// Found / merged / rejected / remaining per commune in the caller's scope.
    pub async fn dedup_counts(&self, a: &Access, since: Option<Timestamp>) -> Result<Vec<DedupCount>> {
        Ok(dedup::counts(self.store.as_ref(), &a.scope, since).await?)
    }

    /// A pair if the caller sees one of its records (`both`: both of them); audited under
    /// both personal IDs with `granted` when allowed (`Attempt` ahead of a decision).
    async fn scoped_pair(
        &self,
        a: &Access,
        action: &str,
        id: i64,
        both: bool,
        granted: Outcome,
    ) -> Result<Candidate> {
        let found = dedup::get(self.store.as_ref(), id).await?;
        let Some(c) = found else {
            self.log(a, action, &format!("dedup:{id}"), Outcome::NotFound).await?;
            return Err(RegistryError::NotFound);
        };
        let (l, r) = covered(a, &c);
        let refusal = super::role_refusal(a, granted);
        let ok = (if both { l && r } else { l || r }) && refusal.is_none();
        let outcomes = [(&c.left, l), (&c.right, r)].map(|(pid, covered)| {
            let outcome = if ok && covered { granted } else { Outcome::Denied };
            Self::entry(a, action, pid.as_str(), outcome)
        });
        self.audit.record_all(outcomes.into()).await?;
        match refusal {
            Some(e) => Err(e),
            None if ok => Ok(c),
            None => Err(RegistryError::NotFound),
        }
    }

    /// One pair, the record outside the caller's scope masked. Audited under the records
    /// shown (the masked one is logged as denied).
    pub async fn dedup_candidate(&self, a: &Access, id: i64) -> Result<PairView> {
        Ok(view(a, self.scoped_pair(a, "dedup.read", id, false, Outcome::Ok).await?))
    }

    /// Merges a pair whose two records are both in the caller's scope, keeping `keep`.
    pub async fn dedup_merge(&self, a: &Access, id: i64, keep: &PersonalId) -> Result<Merge> {
        let c = self.scoped_pair(a, "dedup.merge", id, true, Outcome::Attempt).await?;
        let done = dedup::merge(self.store.as_ref(), id, keep, &a.actor, now()).await;
        self.decided(a, "dedup.merge", &c, done).await
    }

    /// Marks a pair as two different people; it is never proposed again.
    pub async fn dedup_reject(&self, a: &Access, id: i64, reason: &str) -> Result<PairView> {
        let c = self.scoped_pair(a, "dedup.reject", id, true, Outcome::Attempt).await?;
        let done = dedup::reject(self.store.as_ref(), id, &a.actor, reason, now()).await;
        self.decided(a, "dedup.reject", &c, done).await?;
        let c = dedup::get(self.store.as_ref(), id).await?.ok_or(RegistryError::NotFound)?;
        Ok(view(a, c))
    }

    /// Undoes a merge: administrators only.
    pub async fn dedup_undo(&self, a: &Access, id: i64) -> Result<Merge> {
        if let Err(e) = a.require_admin("hoàn tác gộp hồ sơ", "undo a merge") {
            self.log(a, "dedup.undo", &format!("dedup:{id}"), Outcome::Denied).await?;
            return Err(e);
        }
        let c = self.scoped_pair(a, "dedup.undo", id, true, Outcome::Attempt).await?;
        let done = dedup::undo(self.store.as_ref(), id, &a.actor, now()).await;
        self.decided(a, "dedup.undo", &c, done).await
    }

    /// Records how a decision written ahead ended, under both records.
    async fn decided<T>(
        &self,
        a: &Access,
        action: &str,
        c: &Candidate,
        done: std::result::Result<T, crate::StoreError>,
    ) -> Result<T> {
        let outcome = if done.is_ok() { Outcome::Ok } else { Outcome::Failed };
        let entries =
            [&c.left, &c.right].iter().map(|p| Self::entry(a, action, p.as_str(), outcome)).collect();
        self.audit.record_all(entries).await?;
        Ok(done?)
    }

    /// The records in the caller's scope, for matching a list against the registry (a
    /// sector-list reconciliation, a registry deduplication run): one bulk `registry.match`
    /// access under [`super::bulk_subject`], written before the records are read, which
    /// every citizen in the scope sees in their access log.
    pub async fn citizens_for_matching(&self, a: &Access) -> Result<Vec<dancu_domain::Citizen>> {
        self.log(a, "registry.match", &super::bulk_subject(&a.scope), Outcome::Ok).await?;
        Ok(dedup::citizens_in(self.store.as_ref(), &a.scope).await?)
    }

    /// Stores the candidate pairs a matching run found (pairs already known are skipped);
    /// written ahead under the run's bulk subject. Returns how many were new.
    pub async fn dedup_add_candidates(&self, a: &Access, pairs: &[NewCandidate]) -> Result<u64> {
        let write = dedup::add_candidates(self.store.as_ref(), pairs, now());
        self.audited_write(a, "dedup.add", &super::bulk_subject(&a.scope), write).await
    }
}

/// `c` as the caller may see it (see [`PairView`]).
fn view(a: &Access, c: Candidate) -> PairView {
    let (l, r) = covered(a, &c);
    PairView::of(c, l, r)
}

/// Whether the caller's scope covers the pair's left and its right record.
fn covered(a: &Access, c: &Candidate) -> (bool, bool) {
    (a.scope.covers(&c.left_province, &c.left_commune), a.scope.covers(&c.right_province, &c.right_commune))
}
