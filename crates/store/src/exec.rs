//! A small SQL executor both backends implement, for features whose SQL is the same on
//! SQLite and PostgreSQL (electronic identity accounts, citizen sessions, confirmation
//! documents). Their logic is then written once, over [`SqlExec`], instead of once per
//! backend. Statements use `$n` parameters; integers are `bigint` on PostgreSQL and
//! timestamps `timestamptz` (SQLite keeps them as RFC 3339 text, see [`crate::rows`]).

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::model::Timestamp;
use crate::rows::{self, RowGet};
use crate::{Result, StoreError};

pub use crate::rows::Val;

/// One cell of an owned result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Ts(Timestamp),
}

/// A result row copied out of the backend's row type.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedRow(pub Vec<Cell>);

impl OwnedRow {
    fn cell(&self, i: usize) -> Result<&Cell> {
        self.0.get(i).ok_or_else(|| StoreError::Backend(format!("no column {i}")))
    }
}

impl RowGet for OwnedRow {
    fn text(&self, i: usize) -> Result<String> {
        match self.cell(i)? {
            Cell::Text(s) => Ok(s.clone()),
            other => Err(rows::corrupt("text", format!("{other:?}"))),
        }
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
    fn int(&self, i: usize) -> Result<i64> {
        match self.cell(i)? {
            Cell::Int(n) => Ok(*n),
            other => Err(rows::corrupt("integer", format!("{other:?}"))),
        }
    }
    fn ts(&self, i: usize) -> Result<Timestamp> {
        match self.cell(i)? {
            Cell::Ts(t) => Ok(*t),
            Cell::Text(s) => rows::parse_ts_text(s),
            other => Err(rows::corrupt("timestamp", format!("{other:?}"))),
        }
    }
    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.int(i)? != 0)
    }
    fn json<T: DeserializeOwned>(&self, i: usize) -> Result<T> {
        // Parsed from the cell itself, not a copy of it (the feed parses every payload).
        match self.cell(i)? {
            Cell::Text(s) => serde_json::from_str(s).map_err(|e| rows::corrupt("JSON", e)),
            other => Err(rows::corrupt("text", format!("{other:?}"))),
        }
    }
}

impl OwnedRow {
    /// An optional integer column.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    /// An optional timestamp column.
    pub fn opt_ts(&self, i: usize) -> Result<Option<Timestamp>> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.ts(i).map(Some),
        }
    }
}

/// A statement of a transaction, with what makes the transaction fail.
#[derive(Debug)]
pub struct Stmt {
    pub sql: String,
    pub params: Vec<Val>,
    /// Fails the transaction with this error if the statement breaks a unique constraint.
    pub on_unique: Option<StoreError>,
    /// Fails the transaction with this error unless exactly this many rows changed.
    pub expect_rows: Option<(u64, StoreError)>,
}

impl Stmt {
    pub fn new(sql: impl Into<String>, params: Vec<Val>) -> Self {
        Stmt { sql: sql.into(), params, on_unique: None, expect_rows: None }
    }
    pub fn on_unique(mut self, e: StoreError) -> Self {
        self.on_unique = Some(e);
        self
    }
    pub fn expect_rows(mut self, n: u64, e: StoreError) -> Self {
        self.expect_rows = Some((n, e));
        self
    }
}

/// What each backend provides for shared SQL.
#[async_trait]
pub trait SqlExec: Send + Sync {
    /// Runs a read-only query.
    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<OwnedRow>>;
    /// Runs the statements in one transaction: all or nothing.
    async fn transaction(&self, stmts: Vec<Stmt>) -> Result<()>;
    /// Like [`SqlExec::transaction`] (all or nothing, committed before it returns), but
    /// the statements may share one transaction with other callers' that arrive at the
    /// same time, each under a savepoint of its own (`crate::combine`): for small writes
    /// many clients make at once (submissions and moves of applications).
    async fn transaction_combined(&self, stmts: Vec<Stmt>) -> Result<()> {
        self.transaction(stmts).await
    }
    /// Runs a read by key (a row or a few, tens of microseconds): SQLite runs it on the
    /// calling thread, as its point reads, rather than on the blocking pool.
    async fn query_point(&self, sql: &str, params: Vec<Val>) -> Result<Vec<OwnedRow>> {
        self.query(sql, params).await
    }
}

/// Where [`page`] puts its `LIMIT`/`OFFSET` in a `page_sql` that must not end with them (a
/// page chosen in a subquery).
pub(crate) const PAGE_CLAUSE: &str = "{page}";

/// One page of a listing in shared SQL: `count_sql` counts what `params` select, and
/// `page_sql` (ordered, without `LIMIT`/`OFFSET`, which are appended as the next two
/// parameters, or put where it says [`PAGE_CLAUSE`]) returns the rows, each turned into an
/// item by `item`.
pub(crate) async fn page<T>(
    exec: &dyn SqlExec,
    count_sql: &str,
    page_sql: &str,
    mut params: Vec<Val>,
    limit: u32,
    offset: u64,
    item: impl Fn(&OwnedRow) -> Result<T>,
) -> Result<crate::model::Page<T>> {
    let limit = rows::page_limit(limit);
    let total = exec.query(count_sql, params.clone()).await?;
    let n = params.len();
    params.extend([Val::Int(limit.into()), Val::Int(offset as i64)]);
    let rows = exec.query(&paged_sql(page_sql, n), params).await?;
    let items = rows.iter().map(item).collect::<Result<Vec<_>>>()?;
    let total = total.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) as u64;
    Ok(crate::model::Page { items, total, limit, offset })
}

/// `page_sql` with the `LIMIT`/`OFFSET` of [`page`], taken from parameters `n + 1` and
/// `n + 2`: at [`PAGE_CLAUSE`] if it has one, else at the end.
pub(crate) fn paged_sql(page_sql: &str, n: usize) -> String {
    let clause = format!("LIMIT ${} OFFSET ${}", n + 1, n + 2);
    if page_sql.contains(PAGE_CLAUSE) {
        page_sql.replace(PAGE_CLAUSE, &clause)
    } else {
        format!("{page_sql} {clause}")
    }
}

/// Checks a statement's outcome against its expectations; shared by both backends.
pub(crate) fn check_outcome(
    stmt: &mut Stmt,
    outcome: std::result::Result<u64, (bool, StoreError)>,
) -> Result<()> {
    match outcome {
        // Taken only when it fails: a statement that passed can run again (a retry alone,
        // `crate::combine::settle`) with its expectations intact.
        Ok(n) => match &stmt.expect_rows {
            Some((want, _)) if *want != n => {
                Err(stmt.expect_rows.take().map_or(StoreError::NotFound, |(_, e)| e))
            }
            _ => Ok(()),
        },
        Err((true, e)) => Err(stmt.on_unique.take().unwrap_or(e)),
        Err((false, e)) => Err(e),
    }
}
