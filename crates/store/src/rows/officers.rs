//! Officers and their cookie sessions.

use dancu_domain::Violation;

use std::sync::LazyLock;

use super::*;

pub(crate) const OFFICER_SELECT: &str =
    "SELECT id, username, display_name, role, scope, password_hash, active, created_at FROM officers";

pub(crate) fn officer_from_row(r: &impl RowGet) -> Result<Officer> {
    Ok(Officer {
        id: r.int(0)?,
        username: r.text(1)?,
        display_name: r.text(2)?,
        role: Role::parse(&r.text(3)?).ok_or_else(|| corrupt("role", "unknown"))?,
        scope: r.text(4)?.parse().map_err(|v: Violation| corrupt("scope", v))?,
        password_hash: r.text(5)?,
        active: r.flag(6)?,
        created_at: r.ts(7)?,
    })
}

pub(crate) const SESSION_SELECT: &str =
    "SELECT token_hash, officer_id, csrf_token, created_at, expires_at FROM sessions";

pub(crate) fn session_from_row(r: &impl RowGet) -> Result<Session> {
    Ok(Session {
        token_hash: r.text(0)?,
        officer_id: r.int(1)?,
        csrf_token: r.text(2)?,
        created_at: r.ts(3)?,
        expires_at: r.ts(4)?,
    })
}

/// Creates an active officer unless the username is taken, returning its id. Parameters:
/// username, display name, role, scope, password hash, created at.
pub(crate) const OFFICER_INSERT: &str =
    "INSERT INTO officers (username, display_name, role, scope, password_hash, active, created_at) \
     VALUES ($1, $2, $3, $4, $5, TRUE, $6) ON CONFLICT (username) DO NOTHING RETURNING id";

pub(crate) static OFFICER_BY_USERNAME: LazyLock<String> =
    LazyLock::new(|| format!("{OFFICER_SELECT} WHERE username = $1"));
pub(crate) static OFFICER_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("{OFFICER_SELECT} WHERE id = $1"));
pub(crate) static OFFICERS_BY_USERNAME: LazyLock<String> =
    LazyLock::new(|| format!("{OFFICER_SELECT} ORDER BY username"));

/// Parameters: token hash, officer id, CSRF token, created at, expires at.
pub(crate) const SESSION_INSERT: &str =
    "INSERT INTO sessions (token_hash, officer_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";

/// A session by token hash (`$1`) if it has not expired at `$2`.
pub(crate) static SESSION_BY_TOKEN: LazyLock<String> =
    LazyLock::new(|| format!("{SESSION_SELECT} WHERE token_hash = $1 AND expires_at > $2"));

pub(crate) const SESSION_DELETE: &str = "DELETE FROM sessions WHERE token_hash = $1";
