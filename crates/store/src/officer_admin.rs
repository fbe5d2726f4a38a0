//! Officer account administration that bearer-token revocation depends on, written once for
//! both backends over [`crate::exec::SqlExec`]: the revocation epoch of every officer (what
//! a server caches and checks each token against), and changes of an officer's state, role
//! or scope, each of which raises the epoch and ends the officer's web sessions.

use crate::exec::{Stmt, Val};
use crate::model::{Officer, Role, Scope};
use crate::rows::{self, RowGet};
use crate::{Result, Store, StoreError};

/// What a token is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerEpoch {
    pub id: i64,
    pub active: bool,
    pub role: Role,
    pub scope: Scope,
    /// Raised by every change of state, role or scope.
    pub epoch: i64,
}

const EPOCH_SELECT: &str =
    "SELECT id, CASE WHEN active THEN 1 ELSE 0 END, role, scope, token_epoch FROM officers";

fn epoch_from(r: &crate::exec::OwnedRow) -> Result<OfficerEpoch> {
    Ok(OfficerEpoch {
        id: r.int(0)?,
        active: r.int(1)? != 0,
        role: Role::parse(&r.text(2)?).ok_or_else(|| rows::corrupt("role", "unknown"))?,
        scope: r.text(3)?.parse().map_err(|v: dancu_domain::Violation| rows::corrupt("scope", v))?,
        epoch: r.int(4)?,
    })
}

/// Every officer's state and epoch (a small table: one row per officer).
pub async fn epochs(store: &dyn Store) -> Result<Vec<OfficerEpoch>> {
    store.exec().query(EPOCH_SELECT, vec![]).await?.iter().map(epoch_from).collect()
}

/// One officer's state and epoch.
pub async fn epoch_of(store: &dyn Store, id: i64) -> Result<Option<OfficerEpoch>> {
    let rows = store.exec().query(&format!("{EPOCH_SELECT} WHERE id = $1"), vec![Val::Int(id)]).await?;
    rows.first().map(epoch_from).transpose()
}

/// A change of an officer account; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct OfficerChange {
    pub active: Option<bool>,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
}

/// Applies the change, raises the revocation epoch and ends the officer's web sessions, in
/// one transaction. Returns the officer as now stored.
pub async fn update(store: &dyn Store, id: i64, change: &OfficerChange) -> Result<Officer> {
    let before = store.get_officer(id).await?.ok_or(StoreError::NotFound)?;
    let active = change.active.unwrap_or(before.active);
    let role = change.role.unwrap_or(before.role);
    let scope = change.scope.clone().unwrap_or_else(|| before.scope.clone());
    store
        .exec()
        .transaction(vec![
            Stmt::new(
                "UPDATE officers SET active = (CAST($2 AS BIGINT) = 1), role = $3, scope = $4, \
                 token_epoch = token_epoch + 1 WHERE id = $1",
                vec![
                    Val::Int(id),
                    Val::Int(active.into()),
                    Val::Text(role.code().into()),
                    Val::Text(scope.to_string()),
                ],
            )
            .expect_rows(1, StoreError::NotFound),
            Stmt::new("DELETE FROM sessions WHERE officer_id = $1", vec![Val::Int(id)]),
        ])
        .await?;
    store.get_officer(id).await?.ok_or(StoreError::NotFound)
}

/// Sets a new password hash (an administrator's reset), raises the revocation epoch and ends
/// the officer's web sessions, in one transaction: tokens issued under the old password stop
/// working.
pub async fn set_password(store: &dyn Store, id: i64, password_hash: &str) -> Result<Officer> {
    store
        .exec()
        .transaction(vec![
            Stmt::new(
                "UPDATE officers SET password_hash = $2, token_epoch = token_epoch + 1 WHERE id = $1",
                vec![Val::Int(id), Val::Text(password_hash.into())],
            )
            .expect_rows(1, StoreError::NotFound),
            Stmt::new("DELETE FROM sessions WHERE officer_id = $1", vec![Val::Int(id)]),
        ])
        .await?;
    store.get_officer(id).await?.ok_or(StoreError::NotFound)
}
