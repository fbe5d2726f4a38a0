//! The stored TOTP secrets of eID accounts, for re-sealing them under a new server key (the
//! sealing itself is the server's: this crate stores what it is given). Written once for both
//! backends over [`crate::exec::SqlExec`].

use dancu_domain::PersonalId;

use crate::exec::{Stmt, Val};
use crate::rows::{self, RowGet};
use crate::{Result, Store, StoreError};

/// Every account's personal ID and stored secret.
pub async fn all(store: &dyn Store) -> Result<Vec<(PersonalId, String)>> {
    let rows = store
        .exec()
        .query("SELECT personal_id, totp_secret FROM eid_accounts ORDER BY personal_id", vec![])
        .await?;
    rows.iter()
        .map(|r| {
            let id = r.text(0)?.parse().map_err(|v| rows::corrupt("personal ID", v))?;
            Ok((id, r.text(1)?))
        })
        .collect()
}

/// Replaces the stored secret if it is still `old` (raising the account's version, so a
/// save from a copy read before cannot write the old value back). Whether it changed.
pub async fn replace(store: &dyn Store, id: &PersonalId, old: &str, new: &str) -> Result<bool> {
    let r = store
        .exec()
        .transaction(vec![Stmt::new(
            "UPDATE eid_accounts SET totp_secret = $3, version = version + 1 \
             WHERE personal_id = $1 AND totp_secret = $2",
            vec![Val::Text(id.to_string()), Val::Text(old.into()), Val::Text(new.into())],
        )
        .expect_rows(1, StoreError::NotFound)])
        .await;
    match r {
        Ok(()) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}
