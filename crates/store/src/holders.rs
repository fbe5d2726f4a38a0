//! Records and names of several citizens at once, for pages that list them (the two
//! records of each duplicate pair, the holders on the card board): one query per page,
//! not one per row. Only the registry calls these, after it has audited the listing whose
//! rows they complete.

use std::collections::HashMap;

use dancu_domain::PersonalId;

use crate::exec::Val;
use crate::model::StoredCitizen;
use crate::rows::{self, RowGet};
use crate::{Result, Store};

/// Rows per statement: well under SQLite's and PostgreSQL's parameter limits.
const CHUNK: usize = 500;

fn params(ids: &[String]) -> (String, Vec<Val>) {
    let marks = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    (marks, ids.iter().cloned().map(Val::Text).collect())
}

fn distinct<'a>(ids: impl IntoIterator<Item = &'a PersonalId>) -> Vec<String> {
    let mut v: Vec<String> = ids.into_iter().map(|p| p.to_string()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The stored records of `ids` (missing ones are left out), keyed by personal ID.
pub(crate) async fn records<'a>(
    store: &dyn Store,
    ids: impl IntoIterator<Item = &'a PersonalId>,
) -> Result<HashMap<PersonalId, StoredCitizen>> {
    let mut out = HashMap::new();
    for chunk in distinct(ids).chunks(CHUNK) {
        let (marks, vals) = params(chunk);
        let sql = format!("{} WHERE c.personal_id IN ({marks})", *rows::STORED_CITIZEN_SELECT);
        for r in store.exec().query(&sql, vals).await? {
            let c = rows::stored_from_row(&r)?;
            out.insert(c.citizen.personal_id, c);
        }
    }
    Ok(out)
}

/// The full names of `ids` (missing ones are left out), keyed by personal ID.
pub(crate) async fn names<'a>(
    store: &dyn Store,
    ids: impl IntoIterator<Item = &'a PersonalId>,
) -> Result<HashMap<PersonalId, String>> {
    let mut out = HashMap::new();
    for chunk in distinct(ids).chunks(CHUNK) {
        let (marks, vals) = params(chunk);
        let sql = format!("SELECT personal_id, full_name FROM citizens WHERE personal_id IN ({marks})");
        for r in store.exec().query(&sql, vals).await? {
            out.insert(rows::parse_pid(&r.text(0)?)?, r.text(1)?);
        }
    }
    Ok(out)
}
