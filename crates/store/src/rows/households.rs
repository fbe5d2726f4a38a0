//! Households: their SQL and rows, the domain checks before a write, and the indexes a
//! bulk import defers.

use dancu_domain::household::Member;
use dancu_domain::{Household, PersonalId, Relation};

use super::*;

// ---------------------------------------------------------------------------------------
// households

pub(crate) const HOUSEHOLD_SQL: &str =
    "SELECT number, version, updated_at, updated_by, change_reason FROM households WHERE number = $1";

pub(crate) const HOUSEHOLD_MEMBERS_SQL: &str =
    "SELECT personal_id, full_name, birth_date, sex, relation, scope_province, scope_commune \
     FROM citizens WHERE household_no = $1 ORDER BY relation <> 'head', birth_date, personal_id";

/// Whether a would-be member exists and which household holds them: no row means no such
/// citizen; a row with NULL means free.
pub(crate) const MEMBER_CHECK_SQL: &str = "SELECT household_no FROM citizens WHERE personal_id = $1";

/// Makes a citizen a member of a household.
pub(crate) const SET_MEMBER_SQL: &str =
    "UPDATE citizens SET household_no = $2, relation = $3 WHERE personal_id = $1";

/// A member leaves a household. Parameters: personal ID, number.
pub(crate) const LEAVE_MEMBER_SQL: &str =
    "UPDATE citizens SET household_no = NULL, relation = NULL WHERE personal_id = $1 AND household_no = $2";

/// What replacing a household's members `before` by `after` touches: the members who leave,
/// then the members who join or change relation, heads last (so a head hands over without two
/// heads at any statement). Members who stay as they were are not touched: every touched row
/// is a `household.changed` event in the change feed, and a birth must not tell partners that
/// the whole household left and came back.
pub(crate) fn member_changes(before: &[Member], after: &[Member]) -> (Vec<PersonalId>, Vec<Member>) {
    let leaving = before
        .iter()
        .filter(|b| !after.iter().any(|a| a.personal_id == b.personal_id))
        .map(|b| b.personal_id)
        .collect();
    let mut set: Vec<Member> = after.iter().filter(|a| !before.contains(a)).cloned().collect();
    set.sort_by_key(|m| m.relation == Relation::Head);
    (leaving, set)
}

pub(crate) const HOUSEHOLD_HISTORY_SQL: &str =
    "SELECT version, members, changed_at, changed_by, reason FROM household_history \
     WHERE number = $1 ORDER BY version DESC";

pub(crate) const CURRENT_MEMBERS_SQL: &str =
    "SELECT personal_id, relation FROM citizens WHERE household_no = $1 ORDER BY relation <> 'head', personal_id";

pub(crate) type MemberRow = HouseholdMemberView;

pub(crate) fn member_from_row(r: &impl RowGet) -> Result<MemberRow> {
    Ok(HouseholdMemberView {
        personal_id: parse_pid(&r.text(0)?)?,
        full_name: r.text(1)?,
        birth_date: parse_date(&r.text(2)?)?,
        sex: parse_sex(&r.text(3)?)?,
        relation: parse_relation(&r.text(4)?)?,
        scope_province: r.text(5)?,
        scope_commune: r.text(6)?,
    })
}

pub(crate) fn member_pair_from_row(r: &impl RowGet) -> Result<Member> {
    Ok(Member { personal_id: parse_pid(&r.text(0)?)?, relation: parse_relation(&r.text(1)?)? })
}

pub(crate) fn household_history_from_row(r: &impl RowGet) -> Result<HouseholdVersion> {
    Ok(HouseholdVersion {
        version: r.int(0)?,
        members: r.json(1)?,
        changed_at: r.ts(2)?,
        changed_by: r.text(3)?,
        reason: r.text(4)?,
    })
}

/// Assembles a household from its row (`HOUSEHOLD_SQL`) and members; its scope is the
/// head's.
pub(crate) fn household_view(h: &impl RowGet, members: Vec<MemberRow>) -> Result<Option<HouseholdView>> {
    let number = h.text(0)?;
    if members.is_empty() {
        // Only an import whose rows for a new household were all refused leaves one.
        return Ok(None);
    }
    let head = members
        .iter()
        .find(|m| m.relation == Relation::Head)
        .ok_or_else(|| StoreError::Backend(format!("household {number} has no head")))?;
    Ok(Some(HouseholdView {
        head: head.personal_id,
        scope_province: head.scope_province.clone(),
        scope_commune: head.scope_commune.clone(),
        number,
        members,
        members_outside_scope: 0,
        version: h.int(1)?,
        updated_at: h.ts(2)?,
        updated_by: h.text(3)?,
        change_reason: h.text(4)?,
    }))
}

/// Indexes a bulk import may drop ([`Store::begin_import`](crate::Store::begin_import)) and
/// rebuild ([`Store::finish_import`](crate::Store::finish_import)); the same SQL serves both
/// backends. Names and definitions match the newest migration that made each (0001, 0016).
pub(crate) const DEFERRABLE_INDEXES: [(&str, &str); 4] = [
    (
        "citizens_name",
        "CREATE INDEX IF NOT EXISTS citizens_name ON citizens (name_key, personal_id, birth_year, scope_province)",
    ),
    (
        "citizens_scope_name",
        "CREATE INDEX IF NOT EXISTS citizens_scope_name ON citizens \
         (scope_province, scope_commune, name_key, personal_id, birth_year)",
    ),
    (
        "citizens_given",
        "CREATE INDEX IF NOT EXISTS citizens_given ON citizens \
         (substr(name_key, length(rtrim(name_key, 'abcdefghijklmnopqrstuvwxyz0123456789')) + 1), \
         name_key, personal_id, birth_year, scope_province)",
    ),
    (
        "citizens_household",
        "CREATE INDEX IF NOT EXISTS citizens_household ON citizens (household_no) WHERE household_no IS NOT NULL",
    ),
];

/// Whether a bulk import of `expected` rows into a table of `stored` rows should drop the
/// deferrable indexes: rebuilding costs about as much as the rows stored, maintaining them
/// row by row many times the rows imported.
pub(crate) fn should_defer_indexes(expected: u64, stored: u64) -> bool {
    expected >= 100_000 && expected >= stored / 2
}

/// The domain rules of a household about to be written: a second head is the conflict the
/// database also refuses; any other broken rule is invalid input.
pub(crate) fn check_household(h: &Household) -> Result<()> {
    match h.validate() {
        Ok(()) => Ok(()),
        Err(v) if v.rule == "household.head_count" && h.head().is_some() => Err(StoreError::Conflict(v)),
        Err(v) => Err(StoreError::Invalid(vec![v])),
    }
}

/// Decides from a [`MEMBER_CHECK_SQL`] result whether `id` may join household `number`.
pub(crate) fn check_member(id: &PersonalId, number: &str, found: Option<Option<String>>) -> Result<()> {
    match found {
        None => Err(StoreError::Invalid(vec![member_unknown(id)])),
        Some(Some(other)) if other != number => Err(StoreError::Conflict(member_taken(id, &other))),
        Some(_) => Ok(()),
    }
}

/// Creates a household (version 1), unless the number exists. Parameters: number, at, by,
/// reason.
pub(crate) const HOUSEHOLD_INSERT: &str =
    "INSERT INTO households (number, version, updated_at, updated_by, change_reason) \
     VALUES ($1, 1, $2, $3, $4) ON CONFLICT (number) DO NOTHING";

/// A household's version and who/when/why, before an update (PostgreSQL appends
/// `FOR UPDATE`).
pub(crate) const HOUSEHOLD_CURRENT: &str =
    "SELECT version, updated_at, updated_by, change_reason FROM households WHERE number = $1";

/// Keeps the members a household had. Parameters: number, version, members (JSON), at, by,
/// reason.
pub(crate) const HOUSEHOLD_HISTORY_INSERT: &str =
    "INSERT INTO household_history (number, version, members, changed_at, changed_by, reason) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// Parameters: number, version, at, by, reason.
pub(crate) const HOUSEHOLD_UPDATE: &str =
    "UPDATE households SET version = $2, updated_at = $3, updated_by = $4, change_reason = $5 \
     WHERE number = $1";
