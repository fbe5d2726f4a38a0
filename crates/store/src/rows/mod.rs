//! What both backends share, by area: the SQL that is the same on SQLite and PostgreSQL
//! (written with `$n` parameters, see [`Ph::sql`]), and the mapping of rows to and from the
//! model. This file holds what every area uses: bound values, placeholders, timestamps,
//! typed row access, filters and the one translation of a [`Scope`] into SQL
//! ([`scope_cond`]). Only SQL that really differs lives in the backends.

mod audit;
mod cards;
mod citizens;
mod households;
mod officers;
mod violations;

pub(crate) use audit::*;
pub(crate) use cards::*;
pub use cards::{MAX_DUE_WITHIN_DAYS, RENEWAL_NOTICE_DAYS};
pub(crate) use citizens::*;
pub(crate) use households::*;
pub(crate) use officers::*;
pub(crate) use violations::*;

use std::fmt::Display;

use chrono::{DateTime, SecondsFormat, Utc};
use dancu_domain::{LifeStatus, PartialDate, PersonalId, Relation, Sex, UnitRef, Violation};
use serde::de::DeserializeOwned;

use crate::model::*;
use crate::{Result, StoreError};

// ---------------------------------------------------------------------------------------
// values and placeholders

/// A value bound to a statement parameter; each backend converts it to its own type.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Text(String),
    OptText(Option<String>),
    /// SQL NULL of any column type.
    Null,
    Int(i64),
    /// SQLite stores it as RFC 3339 text ([`ts_text`]), PostgreSQL as `timestamptz`.
    Ts(Timestamp),
}

/// How a backend numbers statement parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ph {
    /// PostgreSQL: `$1`.
    Dollar,
    /// SQLite: `?1`.
    Question,
}

impl Ph {
    pub(crate) fn at(self, n: usize) -> String {
        match self {
            Ph::Dollar => format!("${n}"),
            Ph::Question => format!("?{n}"),
        }
    }

    /// Rewrites a statement written with `$n` parameters for this backend. Shared SQL is
    /// written with `$n` and contains no other `$`.
    pub(crate) fn sql(self, s: &str) -> String {
        match self {
            Ph::Dollar => s.to_string(),
            Ph::Question => s.replace('$', "?"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// timestamps

/// The current time truncated to microseconds, the precision both databases keep.
pub(crate) fn now() -> Timestamp {
    crate::registry::now()
}

/// SQLite form of a timestamp: RFC 3339, microseconds, `Z` (fixed width, sorts as time).
pub(crate) fn ts_text(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts_text(s: &str) -> Result<Timestamp> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| corrupt("timestamp", e))
}

// ---------------------------------------------------------------------------------------
// reading rows

/// Typed access to a result row, implemented for both backends' row types.
pub(crate) trait RowGet {
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
    fn ts(&self, i: usize) -> Result<Timestamp>;
    fn flag(&self, i: usize) -> Result<bool>;
    fn json<T: DeserializeOwned>(&self, i: usize) -> Result<T>;
}

pub(crate) fn corrupt(what: &'static str, e: impl Display) -> StoreError {
    StoreError::Corrupt { what, detail: e.to_string() }
}

pub(crate) fn parse_pid(s: &str) -> Result<PersonalId> {
    PersonalId::parse_until(s, 9999).map_err(|v| corrupt("personal ID", v))
}

fn parse_unit(s: &str) -> Result<UnitRef> {
    s.parse().map_err(|v: Violation| corrupt("unit", v))
}

fn parse_date(s: &str) -> Result<PartialDate> {
    s.parse().map_err(|v: Violation| corrupt("date", v))
}

fn parse_sex(s: &str) -> Result<Sex> {
    match s {
        "M" => Ok(Sex::Male),
        "F" => Ok(Sex::Female),
        _ => Err(corrupt("sex", s)),
    }
}

fn parse_status(s: &str) -> Result<LifeStatus> {
    LifeStatus::parse(s).map_err(|v| corrupt("status", v))
}

pub(crate) fn parse_relation(s: &str) -> Result<Relation> {
    Relation::parse(s).map_err(|v| corrupt("relation", v))
}

// ---------------------------------------------------------------------------------------
// search

/// A `WHERE` clause with its parameters, numbered from 1.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub sql: String,
    pub params: Vec<Val>,
}

impl Filter {
    fn and(&mut self, ph: Ph, cond: &str, v: Val) {
        self.params.push(v);
        self.sql.push_str(if self.sql.is_empty() { " WHERE " } else { " AND " });
        self.sql.push_str(&cond.replace('#', &ph.at(self.params.len())));
    }

    /// The next parameter placeholder (for `LIMIT`/`OFFSET`), registering its value.
    pub(crate) fn param(&mut self, ph: Ph, v: Val) -> String {
        self.params.push(v);
        ph.at(self.params.len())
    }
}

/// The smallest string greater than every string starting with `p`, if there is one.
pub(crate) fn prefix_upper(p: &str) -> Option<String> {
    let mut chars: Vec<char> = p.chars().collect();
    while let Some(c) = chars.pop() {
        let mut n = c as u32 + 1;
        if n == 0xD800 {
            n = 0xE000;
        }
        if let Some(next) = char::from_u32(n) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Page size: 50 when not given, at most 1000.
pub(crate) fn page_limit(limit: u32) -> u32 {
    match limit {
        0 => 50,
        l => l.min(1000),
    }
}

/// Parameters of the count statement: all but the last two (limit, offset).
pub(crate) fn count_params(f: &Filter) -> &[Val] {
    &f.params[..f.params.len() - 2]
}

/// Appends `LIMIT` and `OFFSET` parameters to a filter; the limit (see [`page_limit`]) and
/// the SQL tail that uses them.
pub(crate) fn limit_offset(f: &mut Filter, ph: Ph, limit: u32, offset: u64) -> (u32, String) {
    let limit = page_limit(limit);
    let lp = f.param(ph, Val::Int(limit as i64));
    let op = f.param(ph, Val::Int(offset.min(i64::MAX as u64) as i64));
    (limit, format!(" LIMIT {lp} OFFSET {op}"))
}

// ---------------------------------------------------------------------------------------
// scope

/// The one translation of a [`Scope`] into SQL: `cond` names the scope column with
/// `{level}` (replaced by `province` or `commune`) and the scope's code with `#`. `None`
/// for the nation, which filters nothing.
pub(crate) fn scope_cond(scope: &Scope, cond: &str) -> Option<(String, Val)> {
    let (level, code) = match scope {
        Scope::Nation => return None,
        Scope::Province(p) => ("province", p),
        Scope::Commune(c) => ("commune", c),
    };
    Some((cond.replace("{level}", level), Val::Text(code.clone())))
}

/// [`scope_cond`] for shared SQL with `$n` parameters: the condition (`TRUE` for the
/// nation) with the code as parameter `n`, and the parameters it takes.
pub(crate) fn scope_where(scope: &Scope, cond: &str, n: usize) -> (String, Vec<Val>) {
    match scope_cond(scope, cond) {
        None => ("TRUE".into(), vec![]),
        Some((sql, v)) => (sql.replace('#', &format!("${n}")), vec![v]),
    }
}

impl Filter {
    /// Adds the scope's condition ([`scope_cond`]), if it has one.
    pub(crate) fn scope(&mut self, ph: Ph, scope: &Scope, cond: &str) {
        if let Some((sql, v)) = scope_cond(scope, cond) {
            self.and(ph, &sql, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_upper_bounds_prefixes() {
        assert_eq!(prefix_upper("nguyen van").as_deref(), Some("nguyen vao"));
        assert_eq!(prefix_upper("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper("\u{10FFFF}"), None);
        let up = prefix_upper("nguyen van").unwrap();
        assert!("nguyen van an" < up.as_str() && "nguyen van" < up.as_str() && "nguyen vanh" < up.as_str());
    }

    #[test]
    fn scopes_become_one_condition() {
        assert_eq!(scope_where(&Scope::Nation, "x.scope_{level} = #", 2), ("TRUE".into(), vec![]));
        assert_eq!(
            scope_where(&Scope::Province("01".into()), "(l_{level} = # OR r_{level} = #)", 3),
            ("(l_province = $3 OR r_province = $3)".into(), vec![Val::Text("01".into())])
        );
        let mut f = Filter::default();
        f.scope(Ph::Question, &Scope::Commune("00004".into()), "k.scope_{level} = #");
        assert_eq!(f.sql, " WHERE k.scope_commune = ?1");
    }

    #[test]
    fn update_sql_sets_every_column_but_the_key() {
        let s = update_citizen_sql(Ph::Dollar);
        assert!(s.contains("family_name = $2"));
        assert!(s.contains("change_reason = $35"));
        assert!(!s.contains("created_at"));
        assert!(s.ends_with("WHERE personal_id = $1"));
    }
}
