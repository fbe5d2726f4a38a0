//! Electronic identity accounts, their history and login record, integrated documents,
//! citizen portal sessions and old-CMND confirmation documents: storage written once for both
//! backends over [`crate::exec::SqlExec`]. The rules (which moves are allowed, what a
//! registration must match) are `dancu_identity::eid`'s; the audited, scoped entry points are
//! in [`crate::registry`].

use dancu_domain::{PersonalId, Violation};
use dancu_identity::eid::{AccountState, DocumentKind, Level, VerificationState};
use serde::Serialize;

use crate::exec::{OwnedRow, Stmt, Val};
use crate::model::{Page, Scope, Timestamp};
use crate::rows::{self, RowGet};
use crate::{Result, Store, StoreError};

/// An account as stored. Secrets never serialise, and `Debug` shows them redacted.
#[derive(Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EidAccount {
    pub personal_id: PersonalId,
    pub level: Level,
    pub state: AccountState,
    pub phone: String,
    #[serde(skip)]
    pub password_hash: String,
    /// Sealed by the server (`v1:…`, ChaCha20-Poly1305); base32 inside, as authenticator apps take it.
    #[serde(skip)]
    pub totp_secret: String,
    #[serde(skip)]
    pub totp_last_step: Option<u64>,
    /// HMAC-SHA-256 (server key) of the one-time code an officer issued for a password reset.
    #[serde(skip)]
    pub reset_code_hash: Option<String>,
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub reset_expires_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::province_code))]
    pub scope_province: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::commune_code))]
    pub scope_commune: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    pub version: i64,
}

impl std::fmt::Debug for EidAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |present: bool| if present { "<redacted>" } else { "<none>" };
        f.debug_struct("EidAccount")
            .field("personal_id", &self.personal_id)
            .field("level", &self.level)
            .field("state", &self.state)
            .field("phone", &self.phone)
            .field("password_hash", &redacted(!self.password_hash.is_empty()))
            .field("totp_secret", &redacted(!self.totp_secret.is_empty()))
            .field("totp_last_step", &self.totp_last_step)
            .field("reset_code_hash", &redacted(self.reset_code_hash.is_some()))
            .field("reset_expires_at", &self.reset_expires_at)
            .field("scope_province", &self.scope_province)
            .field("scope_commune", &self.scope_commune)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("version", &self.version)
            .finish()
    }
}

/// One entry of an account's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EidEvent {
    pub seq: i64,
    /// `register`, `approve`, `activate`, `lock`, `unlock`, `upgrade_level_2`,
    /// `reset_issued`, `password_reset`, `document`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::eid_event))]
    pub event: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::account_state_before))]
    pub from_state: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::account_state))]
    pub to_state: String,
    pub level: Level,
    pub reason: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor: String,
}

/// What happened, for [`save_account`]; the states and level come from the accounts.
#[derive(Debug, Clone)]
pub struct EidChange {
    pub event: String,
    pub reason: String,
    pub actor: String,
    pub at: Timestamp,
}

/// A login attempt on an existing account.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EidLogin {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// `ok`, `bad_password`, `bad_code`, `locked`, `not_active`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::login_outcome))]
    pub outcome: String,
    pub client: String,
}

/// An account in a list, with the holder's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EidListItem {
    pub personal_id: PersonalId,
    pub full_name: String,
    pub level: Level,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::account_state))]
    pub state: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::commune_code))]
    pub scope_commune: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// Accounts per level, state and commune (for the reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EidCount {
    pub level: Level,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::account_state))]
    pub state: String,
    pub province: String,
    pub commune: String,
    pub count: u64,
}

/// An integrated document linked to an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EidDocument {
    pub kind: DocumentKind,
    pub number: String,
    pub source_agency: String,
    pub state: VerificationState,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub linked_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// What a citizen typed at a level-1 registration (migration 0013), kept with the account
/// so that the approving officer sees it next to the registry record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EidClaim {
    pub full_name: String,
    /// As typed and read: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub birth_date: String,
    /// The sex code (`M` / `F`).
    pub sex: String,
    /// Normalised to the national 10-digit form.
    pub phone: String,
    pub portrait_captured: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub claimed_at: Timestamp,
}

/// A citizen's portal session (the token itself is only in the cookie).
#[derive(Debug, Clone, PartialEq)]
pub struct CitizenSession {
    pub token_hash: String,
    pub personal_id: PersonalId,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A confirmation that an old 9- or 12-digit CMND number and a personal ID belong to the
/// same person (xác nhận số CMND cũ).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CmndConfirmation {
    /// `XN-<year>-<personal ID>-<n>`.
    pub number: String,
    pub personal_id: PersonalId,
    pub cmnd: String,
    pub full_name: String,
    pub birth_date: String,
    /// The card the holder presented: number and issue date, or empty if none.
    pub card_issue: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub issued_at: Timestamp,
    pub issued_by: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::province_code))]
    pub scope_province: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::commune_code))]
    pub scope_commune: String,
}

fn level_int(l: Level) -> i64 {
    match l {
        Level::One => 1,
        Level::Two => 2,
    }
}

fn level_of(n: i64) -> Result<Level> {
    match n {
        1 => Ok(Level::One),
        2 => Ok(Level::Two),
        _ => Err(rows::corrupt("eID level", n)),
    }
}

fn json(v: &impl Serialize) -> Val {
    Val::Text(serde_json::to_string(v).unwrap_or_default())
}

fn opt_int(v: Option<u64>) -> Val {
    v.map_or(Val::Null, |n| Val::Int(n as i64))
}

const ACCOUNT_COLS: &str = "personal_id, level, state, state_json, phone, password_hash, totp_secret, \
     totp_last_step, reset_code_hash, reset_expires_at, scope_province, scope_commune, created_at, \
     updated_at, version";

fn account_vals(a: &EidAccount) -> Vec<Val> {
    vec![
        Val::Text(a.personal_id.to_string()),
        Val::Int(level_int(a.level)),
        Val::Text(a.state.code().into()),
        json(&a.state),
        Val::Text(a.phone.clone()),
        Val::Text(a.password_hash.clone()),
        Val::Text(a.totp_secret.clone()),
        opt_int(a.totp_last_step),
        Val::OptText(a.reset_code_hash.clone()),
        a.reset_expires_at.map_or(Val::Null, Val::Ts),
        Val::Text(a.scope_province.clone()),
        Val::Text(a.scope_commune.clone()),
        Val::Ts(a.created_at),
        Val::Ts(a.updated_at),
        Val::Int(a.version),
    ]
}

fn account_from(r: &OwnedRow) -> Result<EidAccount> {
    Ok(EidAccount {
        personal_id: rows::parse_pid(&r.text(0)?)?,
        level: level_of(r.int(1)?)?,
        state: r.json(3)?,
        phone: r.text(4)?,
        password_hash: r.text(5)?,
        totp_secret: r.text(6)?,
        totp_last_step: r.opt_int(7)?.map(|n| n as u64),
        reset_code_hash: r.opt_text(8)?,
        reset_expires_at: r.opt_ts(9)?,
        scope_province: r.text(10)?,
        scope_commune: r.text(11)?,
        created_at: r.ts(12)?,
        updated_at: r.ts(13)?,
        version: r.int(14)?,
    })
}

fn event_stmt(a: &EidAccount, from_state: &str, c: &EidChange) -> Stmt {
    Stmt::new(
        "INSERT INTO eid_events (personal_id, seq, event, from_state, to_state, level, reason, at, actor) \
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM eid_events WHERE personal_id = $1), \
         $2, $3, $4, $5, $6, $7, $8)",
        vec![
            Val::Text(a.personal_id.to_string()),
            Val::Text(c.event.clone()),
            Val::Text(from_state.into()),
            Val::Text(a.state.code().into()),
            Val::Int(level_int(a.level)),
            Val::Text(c.reason.clone()),
            Val::Ts(c.at),
            Val::Text(c.actor.clone()),
        ],
    )
}

fn account_exists() -> StoreError {
    StoreError::Conflict(Violation::new(
        "personal_id",
        "eid.account_exists",
        "Số định danh này đã có tài khoản định danh điện tử",
        "an electronic identity account already exists for this personal ID",
    ))
}

/// Stores a new account with its `register` event; fails if the ID already has one.
pub async fn create_account(store: &dyn Store, a: &EidAccount, c: &EidChange) -> Result<()> {
    create_registered(store, a, c, None).await
}

/// Stores a new account with its `register` event and, for a self-registration, what the
/// citizen claimed, in one transaction; fails if the ID already has an account.
pub async fn create_registered(
    store: &dyn Store,
    a: &EidAccount,
    c: &EidChange,
    claim: Option<&EidClaim>,
) -> Result<()> {
    let placeholders = (1..=15).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let insert = Stmt::new(
        format!("INSERT INTO eid_accounts ({ACCOUNT_COLS}) VALUES ({placeholders})"),
        account_vals(a),
    )
    .on_unique(account_exists());
    let mut stmts = vec![insert, event_stmt(a, "", c)];
    if let Some(k) = claim {
        stmts.push(Stmt::new(
            "INSERT INTO eid_claims (personal_id, full_name, birth_date, sex, phone, portrait_captured, \
             claimed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                Val::Text(a.personal_id.to_string()),
                Val::Text(k.full_name.clone()),
                Val::Text(k.birth_date.clone()),
                Val::Text(k.sex.clone()),
                Val::Text(k.phone.clone()),
                Val::Int(i64::from(k.portrait_captured)),
                Val::Ts(k.claimed_at),
            ],
        ));
    }
    store.exec().transaction(stmts).await
}

/// What the holder claimed at registration; `None` for an account made otherwise (before
/// migration 0013, or seeded).
pub async fn claim(store: &dyn Store, id: &PersonalId) -> Result<Option<EidClaim>> {
    let rows = store
        .exec()
        .query(
            "SELECT full_name, birth_date, sex, phone, portrait_captured, claimed_at FROM eid_claims \
             WHERE personal_id = $1",
            vec![Val::Text(id.to_string())],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok(EidClaim {
                full_name: r.text(0)?,
                birth_date: r.text(1)?,
                sex: r.text(2)?,
                phone: r.text(3)?,
                portrait_captured: r.int(4)? != 0,
                claimed_at: r.ts(5)?,
            })
        })
        .transpose()
}

pub async fn get_account(store: &dyn Store, id: &PersonalId) -> Result<Option<EidAccount>> {
    let rows = store
        .exec()
        .query(
            &format!("SELECT {ACCOUNT_COLS} FROM eid_accounts WHERE personal_id = $1"),
            vec![Val::Text(id.to_string())],
        )
        .await?;
    rows.first().map(account_from).transpose()
}

/// Writes `next` over the stored account at `expected_version` (its version becomes
/// `expected_version + 1`), with a history event when `change` is given. `from_state` is the
/// state before, for the history.
pub async fn save_account(
    store: &dyn Store,
    next: &EidAccount,
    expected_version: i64,
    from_state: &str,
    change: Option<&EidChange>,
) -> Result<EidAccount> {
    let mut next = next.clone();
    next.version = expected_version + 1;
    let mut vals = account_vals(&next);
    vals.push(Val::Int(expected_version));
    let update = Stmt::new(
        "UPDATE eid_accounts SET level = $2, state = $3, state_json = $4, phone = $5, password_hash = $6, \
         totp_secret = $7, totp_last_step = $8, reset_code_hash = $9, reset_expires_at = $10, \
         scope_province = $11, scope_commune = $12, created_at = $13, updated_at = $14, \
         version = $15 WHERE personal_id = $1 AND version = $16",
        vals,
    )
    .expect_rows(1, StoreError::VersionMismatch { expected: expected_version, actual: -1 });
    let mut stmts = vec![update];
    if let Some(c) = change {
        stmts.push(event_stmt(&next, from_state, c));
    }
    store.exec().transaction(stmts).await?;
    Ok(next)
}

pub async fn events(store: &dyn Store, id: &PersonalId) -> Result<Vec<EidEvent>> {
    let rows = store
        .exec()
        .query(
            "SELECT seq, event, from_state, to_state, level, reason, at, actor FROM eid_events \
             WHERE personal_id = $1 ORDER BY seq",
            vec![Val::Text(id.to_string())],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(EidEvent {
                seq: r.int(0)?,
                event: r.text(1)?,
                from_state: r.text(2)?,
                to_state: r.text(3)?,
                level: level_of(r.int(4)?)?,
                reason: r.text(5)?,
                at: r.ts(6)?,
                actor: r.text(7)?,
            })
        })
        .collect()
}

/// Accounts in `scope`, optionally in one state and at one level, most recently changed
/// first.
pub async fn list_accounts(
    store: &dyn Store,
    scope: &Scope,
    state: Option<&str>,
    level: Option<Level>,
    limit: u32,
    offset: u64,
) -> Result<Page<EidListItem>> {
    let (mut cond, mut params) = rows::scope_where(scope, "a.scope_{level} = #", 1);
    if let Some(s) = state {
        params.push(Val::Text(s.into()));
        cond += &format!(" AND a.state = ${}", params.len());
    }
    if let Some(l) = level {
        params.push(Val::Int(level_int(l)));
        cond += &format!(" AND a.level = ${}", params.len());
    }
    crate::exec::page(
        store.exec(),
        &format!("SELECT COUNT(*) FROM eid_accounts a WHERE {cond}"),
        &format!(
            "SELECT a.personal_id, c.full_name, a.level, a.state, a.scope_commune, a.updated_at \
             FROM eid_accounts a JOIN citizens c ON c.personal_id = a.personal_id WHERE {cond} \
             ORDER BY a.updated_at DESC, a.personal_id"
        ),
        params,
        limit,
        offset,
        |r| {
            Ok(EidListItem {
                personal_id: rows::parse_pid(&r.text(0)?)?,
                full_name: r.text(1)?,
                level: level_of(r.int(2)?)?,
                state: r.text(3)?,
                scope_commune: r.text(4)?,
                updated_at: r.ts(5)?,
            })
        },
    )
    .await
}

/// Accounts per level, state and commune in `scope`.
pub async fn counts(store: &dyn Store, scope: &Scope) -> Result<Vec<EidCount>> {
    let (cond, params) = rows::scope_where(scope, "scope_{level} = #", 1);
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT level, state, scope_province, scope_commune, COUNT(*) FROM eid_accounts WHERE {cond} \
                 GROUP BY level, state, scope_province, scope_commune \
                 ORDER BY scope_province, scope_commune, level, state"
            ),
            params,
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(EidCount {
                level: level_of(r.int(0)?)?,
                state: r.text(1)?,
                province: r.text(2)?,
                commune: r.text(3)?,
                count: r.int(4)? as u64,
            })
        })
        .collect()
}

pub async fn record_login(
    store: &dyn Store,
    id: &PersonalId,
    at: Timestamp,
    outcome: &str,
    client: &str,
) -> Result<()> {
    let stmt = Stmt::new(
        "INSERT INTO eid_logins (personal_id, at, outcome, client) VALUES ($1, $2, $3, $4)",
        vec![Val::Text(id.to_string()), Val::Ts(at), Val::Text(outcome.into()), Val::Text(client.into())],
    );
    store.exec().transaction(vec![stmt]).await
}

/// The most recent login attempts, newest first.
pub async fn logins(store: &dyn Store, id: &PersonalId, limit: u32) -> Result<Vec<EidLogin>> {
    let rows = store
        .exec()
        .query(
            "SELECT at, outcome, client FROM eid_logins WHERE personal_id = $1 ORDER BY id DESC LIMIT $2",
            vec![Val::Text(id.to_string()), Val::Int(rows::page_limit(limit).into())],
        )
        .await?;
    rows.iter().map(|r| Ok(EidLogin { at: r.ts(0)?, outcome: r.text(1)?, client: r.text(2)? })).collect()
}

/// Links a document, or replaces the one of the same kind (keeping when it was first linked).
pub async fn put_document(store: &dyn Store, id: &PersonalId, d: &EidDocument) -> Result<()> {
    let stmt = Stmt::new(
        "INSERT INTO eid_documents (personal_id, kind, number, source_agency, state_json, linked_at, updated_at, \
         updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (personal_id, kind) DO UPDATE SET \
         number = excluded.number, source_agency = excluded.source_agency, state_json = excluded.state_json, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        vec![
            Val::Text(id.to_string()),
            Val::Text(d.kind.code().into()),
            Val::Text(d.number.clone()),
            Val::Text(d.source_agency.clone()),
            json(&d.state),
            Val::Ts(d.linked_at),
            Val::Ts(d.updated_at),
            Val::Text(d.updated_by.clone()),
        ],
    );
    store.exec().transaction(vec![stmt]).await
}

pub async fn documents(store: &dyn Store, id: &PersonalId) -> Result<Vec<EidDocument>> {
    let rows = store
        .exec()
        .query(
            "SELECT kind, number, source_agency, state_json, linked_at, updated_at, updated_by \
             FROM eid_documents WHERE personal_id = $1 ORDER BY kind",
            vec![Val::Text(id.to_string())],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let kind = r.text(0)?;
            Ok(EidDocument {
                kind: DocumentKind::from_code(&kind).ok_or_else(|| rows::corrupt("document kind", &kind))?,
                number: r.text(1)?,
                source_agency: r.text(2)?,
                state: r.json(3)?,
                linked_at: r.ts(4)?,
                updated_at: r.ts(5)?,
                updated_by: r.text(6)?,
            })
        })
        .collect()
}

pub async fn create_session(store: &dyn Store, s: &CitizenSession) -> Result<()> {
    let stmt = Stmt::new(
        "INSERT INTO citizen_sessions (token_hash, personal_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
        vec![
            Val::Text(s.token_hash.clone()),
            Val::Text(s.personal_id.to_string()),
            Val::Text(s.csrf_token.clone()),
            Val::Ts(s.created_at),
            Val::Ts(s.expires_at),
        ],
    );
    store.exec().transaction(vec![stmt]).await
}

/// The session if it has not expired at `now`.
pub async fn get_session(
    store: &dyn Store,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<CitizenSession>> {
    let rows = store
        .exec()
        .query(
            "SELECT token_hash, personal_id, csrf_token, created_at, expires_at FROM citizen_sessions \
             WHERE token_hash = $1 AND expires_at > $2",
            vec![Val::Text(token_hash.into()), Val::Ts(now)],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok(CitizenSession {
                token_hash: r.text(0)?,
                personal_id: rows::parse_pid(&r.text(1)?)?,
                csrf_token: r.text(2)?,
                created_at: r.ts(3)?,
                expires_at: r.ts(4)?,
            })
        })
        .transpose()
}

pub async fn delete_session(store: &dyn Store, token_hash: &str) -> Result<()> {
    let stmt =
        Stmt::new("DELETE FROM citizen_sessions WHERE token_hash = $1", vec![Val::Text(token_hash.into())]);
    store.exec().transaction(vec![stmt]).await
}

/// Ends every session of a citizen (after a lock or a password reset).
pub async fn delete_sessions_of(store: &dyn Store, id: &PersonalId) -> Result<()> {
    let stmt =
        Stmt::new("DELETE FROM citizen_sessions WHERE personal_id = $1", vec![Val::Text(id.to_string())]);
    store.exec().transaction(vec![stmt]).await
}

const CMND_COLS: &str =
    "number, personal_id, cmnd, full_name, birth_date, card_issue, issued_at, issued_by, \
     scope_province, scope_commune";

fn cmnd_from(r: &OwnedRow) -> Result<CmndConfirmation> {
    Ok(CmndConfirmation {
        number: r.text(0)?,
        personal_id: rows::parse_pid(&r.text(1)?)?,
        cmnd: r.text(2)?,
        full_name: r.text(3)?,
        birth_date: r.text(4)?,
        card_issue: r.text(5)?,
        issued_at: r.ts(6)?,
        issued_by: r.text(7)?,
        scope_province: r.text(8)?,
        scope_commune: r.text(9)?,
    })
}

/// Stores a confirmation, numbering it `XN-<year>-<personal ID>-<n>` (n counts this
/// person's confirmations), and returns it.
pub async fn create_cmnd_confirmation(store: &dyn Store, c: &CmndConfirmation) -> Result<CmndConfirmation> {
    let prefix = format!("XN-{}-{}-", c.issued_at.format("%Y"), c.personal_id);
    for _ in 0..3 {
        let n = cmnd_confirmations_of(store, &c.personal_id).await?.len() + 1;
        let mut c = c.clone();
        c.number = format!("{prefix}{n}");
        let stmt = Stmt::new(
            format!("INSERT INTO cmnd_confirmations ({CMND_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
            vec![
                Val::Text(c.number.clone()),
                Val::Text(c.personal_id.to_string()),
                Val::Text(c.cmnd.clone()),
                Val::Text(c.full_name.clone()),
                Val::Text(c.birth_date.clone()),
                Val::Text(c.card_issue.clone()),
                Val::Ts(c.issued_at),
                Val::Text(c.issued_by.clone()),
                Val::Text(c.scope_province.clone()),
                Val::Text(c.scope_commune.clone()),
            ],
        )
        .on_unique(StoreError::VersionMismatch { expected: n as i64, actual: -1 });
        match store.exec().transaction(vec![stmt]).await {
            Err(StoreError::VersionMismatch { .. }) => continue,
            other => return other.map(|()| c),
        }
    }
    Err(StoreError::Backend("could not number the confirmation".into()))
}

pub async fn get_cmnd_confirmation(store: &dyn Store, number: &str) -> Result<Option<CmndConfirmation>> {
    let rows = store
        .exec()
        .query(
            &format!("SELECT {CMND_COLS} FROM cmnd_confirmations WHERE number = $1"),
            vec![Val::Text(number.into())],
        )
        .await?;
    rows.first().map(cmnd_from).transpose()
}

pub async fn cmnd_confirmations_of(store: &dyn Store, id: &PersonalId) -> Result<Vec<CmndConfirmation>> {
    let rows = store
        .exec()
        .query(
            &format!("SELECT {CMND_COLS} FROM cmnd_confirmations WHERE personal_id = $1 ORDER BY issued_at"),
            vec![Val::Text(id.to_string())],
        )
        .await?;
    rows.iter().map(cmnd_from).collect()
}
