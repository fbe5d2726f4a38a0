//! Bearer-token revocation that takes effect within seconds. A token carries the officer's
//! revocation epoch (`ep`) and role and scope at issue; each request checks them against an
//! in-memory copy of every officer's state, role, scope and epoch, refreshed from the
//! database every [`crate::ServerConfig::revocation_refresh`] (and at once on this server
//! when an administrator changes an officer). Deactivating, re-scoping or changing the role
//! of an officer raises the stored epoch, so every token issued before stops working on
//! every server after its next refresh; reactivating does not revive them.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use dancu_store::officer_admin::OfficerEpoch;
use dancu_store::{Accounts, Role, Scope};

use crate::AppState;

#[derive(Default)]
pub struct Revocation {
    officers: RwLock<HashMap<i64, OfficerEpoch>>,
}

/// What a token claims about its officer.
pub struct TokenFacts<'a> {
    pub officer_id: i64,
    pub role: Role,
    pub scope: &'a Scope,
    pub epoch: i64,
}

impl Revocation {
    /// Reloads every officer's state.
    pub async fn refresh(&self, accounts: &Accounts) -> dancu_store::Result<()> {
        let all = accounts.officer_epochs().await?;
        let mut map = self.officers.write().unwrap();
        let mut fresh: HashMap<i64, OfficerEpoch> = all.into_iter().map(|o| (o.id, o)).collect();
        // Epochs only grow: a state read here before a change that [`Self::put`] already
        // recorded must not bring the old state back.
        for (id, o) in fresh.iter_mut() {
            if let Some(known) = map.get(id).filter(|k| k.epoch > o.epoch) {
                *o = known.clone();
            }
        }
        *map = fresh;
        Ok(())
    }

    /// Records one officer's state as read from the database (newer epochs win).
    pub fn put(&self, o: OfficerEpoch) {
        let mut map = self.officers.write().unwrap();
        match map.get(&o.id) {
            Some(known) if known.epoch > o.epoch => {}
            _ => {
                map.insert(o.id, o);
            }
        }
    }

    /// The officer's current epoch, read from the database (for issuing a token).
    pub async fn current(&self, accounts: &Accounts, id: i64) -> dancu_store::Result<Option<OfficerEpoch>> {
        let o = accounts.officer_epoch(id).await?;
        if let Some(o) = &o {
            self.put(o.clone());
        }
        Ok(o)
    }

    /// Whether a signed token still stands: its officer is active, with the role, scope and
    /// epoch the token was issued under. An officer created since the last refresh is looked
    /// up once.
    pub async fn allows(&self, accounts: &Accounts, t: &TokenFacts<'_>) -> dancu_store::Result<bool> {
        let known = self.officers.read().unwrap().get(&t.officer_id).cloned();
        let o = match known {
            Some(o) => Some(o),
            None => self.current(accounts, t.officer_id).await?,
        };
        Ok(o.is_some_and(|o| o.active && o.role == t.role && &o.scope == t.scope && o.epoch == t.epoch))
    }
}

/// Refreshes the cache every `every` until the server stops.
pub async fn refresh_task(state: AppState, every: Duration) {
    loop {
        if let Err(e) = state.revocation.refresh(&state.accounts).await {
            tracing::warn!(error = %e, "refreshing officer token epochs failed; retrying");
        }
        tokio::time::sleep(every).await;
    }
}
