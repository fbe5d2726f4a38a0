//! Values the store reads and writes, shared by both backends.

use chrono::{DateTime, Utc};
use dancu_domain::household::Member;
use dancu_domain::{Citizen, PartialDate, PersonalId, Relation, Sex, Violation};
use dancu_identity::{ApplicationKind, CardStatus, Stage, StageKind};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub type Timestamp = DateTime<Utc>;

/// Who changes something, when and why. Every write to personal data carries one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub actor: String,
    pub reason: String,
    pub at: Timestamp,
}

/// The part of the country an officer may see. Units are codes of the 2025 list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Scope {
    Nation,
    /// 2-digit 2025 province code.
    Province(String),
    /// 5-digit 2025 commune code.
    Commune(String),
}

impl Scope {
    /// Whether a record whose residence is in this 2025 commune and province is visible.
    /// Whether every record `inner` covers is covered by `self`.
    pub fn contains(&self, inner: &Scope) -> bool {
        match (self, inner) {
            (Scope::Nation, _) => true,
            (Scope::Province(p), Scope::Province(q)) => p == q,
            (Scope::Province(p), Scope::Commune(c)) => {
                dancu_domain::admin_units().commune_2025(c).is_some_and(|c| &c.province_code == p)
            }
            (Scope::Commune(c), Scope::Commune(d)) => c == d,
            _ => false,
        }
    }

    pub fn covers(&self, province: &str, commune: &str) -> bool {
        match self {
            Scope::Nation => true,
            Scope::Province(p) => p == province,
            Scope::Commune(c) => c == commune,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Nation => f.write_str("nation"),
            Scope::Province(p) => write!(f, "province:{p}"),
            Scope::Commune(c) => write!(f, "commune:{c}"),
        }
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Scope {
    type Error = Violation;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for Scope {
    type Err = Violation;
    /// `nation`, `province:NN` or `commune:NNNNN` (2025 codes, checked against the list).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            Violation::new(
                "scope",
                "scope.invalid",
                "Phạm vi phải là nation, province:NN hoặc commune:NNNNN (mã 2025)",
                "scope must be nation, province:NN or commune:NNNNN (2025 codes)",
            )
        };
        let units = dancu_domain::admin_units();
        match s.split_once(':') {
            None if s == "nation" => Ok(Scope::Nation),
            Some(("province", p)) if units.province_2025(p).is_some() => Ok(Scope::Province(p.into())),
            Some(("commune", c)) if units.commune_2025(c).is_some() => Ok(Scope::Commune(c.into())),
            _ => Err(bad()),
        }
    }
}

/// A citizen as stored: the record plus its version, residence scope and household.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredCitizen {
    pub citizen: Citizen,
    pub version: i64,
    /// 2025 province and commune of the residence that decides visibility.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::province_code))]
    pub scope_province: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::commune_code))]
    pub scope_commune: String,
    pub household_no: Option<String>,
    pub relation: Option<Relation>,
    /// 2025 (province, commune) of current residence records outside the own scope: the
    /// person is in scope there too (a home commune, a destination, a stay).
    #[serde(skip)]
    pub also_in: Vec<(String, String)>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub change_reason: String,
}

impl StoredCitizen {
    /// Whether `scope` sees this person: their own scope, or any commune where they hold a
    /// current residence record.
    pub fn visible_to(&self, scope: &Scope) -> bool {
        scope.covers(&self.scope_province, &self.scope_commune)
            || self.also_in.iter().any(|(p, c)| scope.covers(p, c))
    }
}

/// One earlier version of a citizen record with who wrote it, when and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CitizenVersion {
    pub version: i64,
    pub citizen: Citizen,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub changed_at: Timestamp,
    pub changed_by: String,
    pub reason: String,
}

/// A search hit: enough to list and pick a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CitizenSummary {
    pub personal_id: PersonalId,
    pub full_name: String,
    pub birth_date: PartialDate,
    pub sex: Sex,
    pub status: dancu_domain::LifeStatus,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::commune_code))]
    pub scope_commune: String,
    pub household_no: Option<String>,
}

/// Search criteria; at least one should be set. All given criteria must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CitizenQuery {
    pub personal_id: Option<PersonalId>,
    /// Folded name key (see `dancu_domain::fold_key`); matches names starting with it.
    pub name_key: Option<String>,
    /// Folded name words in any order, each matching the start of a word of the name
    /// (`an nguyen` finds Nguyễn Văn An). Without `name_key`, the registry first tries the
    /// words as a prefix in the order typed (an index range), then in any order.
    pub name_words: Vec<String>,
    pub birth_year: Option<i32>,
    /// Exact stored birth date (its ISO text form).
    pub birth_date: Option<PartialDate>,
    /// 2025 commune code of the residence scope.
    pub commune: Option<String>,
    pub household_no: Option<String>,
    pub limit: u32,
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

/// One row of a bulk import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// Row number in the source file (for the rejects file).
    pub line: u64,
    pub citizen: Citizen,
    pub household: Option<(String, Relation)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportOutcome {
    pub inserted: u64,
    /// Rows already stored exactly as given (a re-run of the same file), or repeated
    /// unchanged within the batch.
    pub skipped_existing: u64,
    /// Rows refused by a database rule, with their line number: `citizen.conflict` for a
    /// personal ID stored with other data, and every row of a household group rejected
    /// whole (see [`Store::import_batch_with`](crate::Store::import_batch_with)).
    pub rejected: Vec<(u64, Violation)>,
}

/// How [`Store::import_batch_with`](crate::Store::import_batch_with) treats a household
/// group whose household number is already stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Add the group's new members to the stored household (same head; the stored members
    /// the group repeats must be unchanged). Without it such a group is rejected whole
    /// (`household.exists`) unless it is an exact re-import.
    pub append_to_existing_households: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HouseholdMemberView {
    pub personal_id: PersonalId,
    pub full_name: String,
    pub birth_date: PartialDate,
    pub sex: Sex,
    pub relation: Relation,
    /// The member's own residence scope (the registry masks members outside the caller's).
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::province_code))]
    pub scope_province: String,
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::commune_code))]
    pub scope_commune: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HouseholdView {
    pub number: String,
    pub head: PersonalId,
    pub members: Vec<HouseholdMemberView>,
    /// Members living outside the caller's scope, left out of `members` (no data about
    /// them is shown; the registry fills this in).
    pub members_outside_scope: u32,
    /// Residence scope of the head.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::province_code))]
    pub scope_province: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::commune_code))]
    pub scope_commune: String,
    pub version: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    pub updated_by: String,
    /// Why the current version was written.
    pub change_reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HouseholdVersion {
    pub version: i64,
    pub members: Vec<Member>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub changed_at: Timestamp,
    pub changed_by: String,
    pub reason: String,
}

/// What an officer account may do, within its scope. The registry enforces it
/// (`Access::require_records`, `Access::require_write`); pages only hide what would be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything an officer does, plus officer accounts and undoing merges.
    Admin,
    /// A leader of the working group: aggregate figures only (boards, counts, statistics),
    /// no personal record.
    Leader,
    /// Reads and writes records in scope.
    Officer,
    /// Reads records and access logs in scope, changes nothing (an inspector).
    Auditor,
    /// An officer of another agency (electricity, tax, education …): enters the figures of
    /// its services for units in scope (migration 0025), reads no personal record.
    Agency,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Admin, Role::Leader, Role::Officer, Role::Auditor, Role::Agency];

    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Leader => "leader",
            Role::Officer => "officer",
            Role::Auditor => "auditor",
            Role::Agency => "agency",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == s)
    }
    /// May read personal records (every role but the leader's and an agency's).
    pub fn reads_records(self) -> bool {
        !matches!(self, Role::Leader | Role::Agency)
    }
    /// May change records (administrators and officers).
    pub fn writes_records(self) -> bool {
        matches!(self, Role::Admin | Role::Officer)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Officer {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
    /// argon2id PHC string.
    #[serde(skip)]
    pub password_hash: String,
    pub active: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOfficer {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
    pub password_hash: String,
}

/// A web or API session. Only the SHA-256 of the token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub officer_id: i64,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// An access to personal data about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAuditEntry {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// `officer:<username>`, `system:import`, …
    pub actor: String,
    /// `citizen.read`, `citizen.search`, `citizen.create`, `citizen.update`, …
    pub action: String,
    /// The personal ID or household number concerned, or the query for a search.
    pub subject: String,
    pub purpose: String,
    /// `ok`, `denied`, `not_found`, …
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::audit_outcome))]
    pub outcome: String,
    /// What a listing returned (the personal IDs of its rows, in order): the entry is
    /// listed under each of them too, so one entry audits a whole search page. Stored and
    /// chained with the entry; never shown to a citizen or an officer reading a subject's
    /// log, since the other IDs are not theirs to see (see `Registry::access_log`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub returned: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub seq: i64,
    #[serde(flatten)]
    pub entry: NewAuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

impl NewAuditEntry {
    /// This entry's keyed chain hash as entry `seq` after `prev_hash`
    /// ([`crate::audit_chain::entry_hash`]).
    pub fn chain_hash(&self, key: &crate::audit_chain::AuditKey, seq: i64, prev_hash: &str) -> String {
        crate::audit_chain::entry_hash(key, self, seq, prev_hash)
    }
}

/// The hash before the first entry.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub subject: Option<String>,
    /// With `subject`: entries about any of these too (the bulk-access subjects whose
    /// scope covers a citizen, see `registry::bulk_subject`).
    pub also_subjects: Vec<String>,
    pub actor: Option<String>,
    pub limit: u32,
    pub offset: u64,
}

// ---------------------------------------------------------------------------------------
// ID card applications and cards (issue 3, part 1)

/// Serialises an application kind as its stable code (`first_issue`, `renewal.damaged`, …).
fn kind_code<S: serde::Serializer>(k: &ApplicationKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.code())
}

/// A card application as stored. The stage (with its data) is flattened into the JSON:
/// `"stage": "intake", "biometrics_captured": true`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardApplication {
    pub id: i64,
    pub personal_id: PersonalId,
    #[serde(serialize_with = "kind_code")]
    #[cfg_attr(feature = "openapi", schema(value_type = dancu_identity::openapi::ApplicationKindCode))]
    pub kind: ApplicationKind,
    #[serde(flatten)]
    pub stage: Stage,
    /// Why the citizen applied (given at intake).
    pub intake_reason: String,
    /// Residence scope of the citizen when the application was taken in.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::province_code))]
    pub scope_province: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::commune_code))]
    pub scope_commune: String,
    /// The unit (officer scope) where the file was taken in.
    pub unit: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub version: i64,
}

/// What an officer gives at intake.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCardApplication {
    pub personal_id: PersonalId,
    pub kind: ApplicationKind,
    pub biometrics_captured: bool,
    pub reason: String,
    /// The unit taking the file in (the officer's scope).
    pub unit: String,
}

/// One stage change of an application (its history).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardEvent {
    pub seq: i64,
    pub from_stage: StageKind,
    pub to_stage: StageKind,
    pub reason: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub by: String,
}

/// How many applications wait at one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageCount {
    pub stage: StageKind,
    pub count: u64,
}

/// A card as the registry keeps it; the number is the holder's personal ID.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredCard {
    pub number: PersonalId,
    pub issue_date: chrono::NaiveDate,
    /// `None`: valid for life.
    pub expiry: Option<chrono::NaiveDate>,
    pub issuing_authority: String,
    /// `valid`, or `revoked` once a newer card replaced it.
    pub status: CardStatus,
    pub application_id: i64,
}

/// One line of the due-for-renewal list: a valid card whose renewal window has started (or
/// starts within the look-ahead) and that has not expired.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueCard {
    pub personal_id: PersonalId,
    pub full_name: String,
    /// As recorded (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`).
    pub birth_date: String,
    /// The card's expiry (valid through that day).
    pub expiry: chrono::NaiveDate,
    /// The first day the card is on the list without look-ahead (expiry minus
    /// [`crate::RENEWAL_NOTICE_DAYS`]).
    pub renewal_due_from: chrono::NaiveDate,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::commune_code))]
    pub scope_commune: String,
}

/// A card issued before the registry kept card applications (a migration from the legacy
/// card system): recorded with a completed application and the 25/40/60 expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportCard {
    pub personal_id: PersonalId,
    pub issue_date: chrono::NaiveDate,
    /// The unit that issued it (recorded on the application).
    pub unit: String,
}
