//! Login throttle state shared by every server on one database (table `login_throttle`,
//! migration 0011), written once for both backends over [`crate::exec::SqlExec`].
//!
//! Taking an attempt is one conditional `UPDATE` in a transaction (after an `INSERT … ON
//! CONFLICT DO NOTHING` that makes sure the row exists): it changes the row only if the key
//! is not locked (or its window not full), so two servers racing for the last free attempt
//! cannot both get it (SQLite: one writer; PostgreSQL: the row lock re-checks the condition).
//! Times are Unix milliseconds, passed in by the caller.

use dancu_domain::Violation;

use crate::exec::{Stmt, Val};
use crate::rows::RowGet;
use crate::{Result, Store, StoreError};

/// How a take ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// The attempt is counted (as a failure until refunded or cleared). `locked_until` is
    /// the key's lock after it, 0 if none (window keys: 0).
    Taken { locked_until: i64 },
    /// Locked, or the window is full, until this time.
    Refused { until: i64 },
}

/// The shared throttle table of one database; see the module documentation.
#[derive(Clone)]
pub struct SharedThrottle {
    pub(crate) store: std::sync::Arc<dyn Store>,
}

const ENSURE: &str = "INSERT INTO login_throttle (key, last_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

/// A key's attempt: counted unless the key is locked; the `$3`-th failure and each later one
/// lock it for 30 s, doubling up to 15 min.
const TAKE_KEY: &str = "UPDATE login_throttle SET failures = failures + 1, last_at = $2, \
     locked_until = CASE WHEN failures + 1 >= $3 THEN $2 + (CASE failures + 1 - $3 \
       WHEN 0 THEN 30000 WHEN 1 THEN 60000 WHEN 2 THEN 120000 WHEN 3 THEN 240000 \
       WHEN 4 THEN 480000 ELSE 900000 END) ELSE 0 END \
     WHERE key = $1 AND locked_until <= $2";

/// `$5` of a window's failures at once: a new window starts when `$3` ms have passed;
/// refused when the current one cannot hold `$5` more within `$4`.
const TAKE_WINDOW: &str = "UPDATE login_throttle SET \
     failures = CASE WHEN window_start <= CAST($2 AS BIGINT) - CAST($3 AS BIGINT) THEN CAST($5 AS BIGINT) \
       ELSE failures + CAST($5 AS BIGINT) END, \
     window_start = CASE WHEN window_start <= CAST($2 AS BIGINT) - CAST($3 AS BIGINT) THEN $2 \
       ELSE window_start END, last_at = $2 \
     WHERE key = $1 AND (window_start <= CAST($2 AS BIGINT) - CAST($3 AS BIGINT) \
       OR failures + CAST($5 AS BIGINT) <= CAST($4 AS BIGINT))";

const REFUND_KEY: &str = "UPDATE login_throttle SET failures = failures - 1, \
     locked_until = CASE WHEN failures - 1 >= $2 THEN locked_until ELSE 0 END \
     WHERE key = $1 AND failures > 0";

const REFUND_WINDOW: &str =
    "UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0";

const READ: &str = "SELECT failures, locked_until, window_start FROM login_throttle WHERE key = $1";

fn refused_marker() -> StoreError {
    StoreError::Conflict(Violation::new("key", "throttle.refused", "Bị khóa", "refused"))
}

fn is_refusal(e: &StoreError) -> bool {
    matches!(e, StoreError::Conflict(v) if v.rule == "throttle.refused")
}

impl SharedThrottle {
    /// Takes an attempt for a locking key (`free` failures before the lock).
    pub async fn take_key(&self, key: &str, now_ms: i64, free: u32) -> Result<Take> {
        let taken = self
            .run_take(
                key,
                now_ms,
                Stmt::new(
                    TAKE_KEY,
                    vec![Val::Text(key.to_string()), Val::Int(now_ms), Val::Int(free.into())],
                ),
                true,
            )
            .await?;
        let (_, locked_until, _) = self.read(key).await?;
        Ok(if taken { Take::Taken { locked_until } } else { Take::Refused { until: locked_until } })
    }

    /// Takes a failure in `key`'s fixed window of `window_ms`, at most `limit` per window.
    pub async fn take_window(&self, key: &str, now_ms: i64, window_ms: i64, limit: u32) -> Result<Take> {
        if self.run_take(key, now_ms, Self::window_stmt(key, now_ms, window_ms, limit, 1), true).await? {
            return Ok(Take::Taken { locked_until: 0 });
        }
        let (_, _, start) = self.read(key).await?;
        Ok(Take::Refused { until: start + window_ms })
    }

    /// Takes `n` (at least 1, at most `limit`) of `key`'s window at once, all or none: `Ok`
    /// with the end of the window they count in, or `Err` with the time the current window
    /// ends. A server that spends a share of a limit by itself asks once per share. On
    /// PostgreSQL the take commits asynchronously (see `run_take`).
    pub async fn take_window_many(
        &self,
        key: &str,
        now_ms: i64,
        window_ms: i64,
        limit: u32,
        n: u32,
    ) -> Result<std::result::Result<i64, i64>> {
        let taken =
            self.run_take(key, now_ms, Self::window_stmt(key, now_ms, window_ms, limit, n), false).await?;
        let (_, _, start) = self.read(key).await?;
        if !taken {
            return Ok(Err(start + window_ms));
        }
        // A window that starts after `now_ms` was begun by another server after this take,
        // which therefore counted in the window before, over by that start.
        Ok(Ok(if start > now_ms { start } else { start + window_ms }))
    }

    fn window_stmt(key: &str, now_ms: i64, window_ms: i64, limit: u32, n: u32) -> Stmt {
        let params = vec![
            Val::Text(key.to_string()),
            Val::Int(now_ms),
            Val::Int(window_ms),
            Val::Int(limit.into()),
            Val::Int(n.clamp(1, limit.max(1)).into()),
        ];
        Stmt::new(TAKE_WINDOW, params)
    }

    /// Gives back a key's attempt that checked nothing (`free` as when taken).
    pub async fn refund_key(&self, key: &str, free: u32) -> Result<()> {
        self.store
            .exec()
            .transaction(vec![Stmt::new(REFUND_KEY, vec![Val::Text(key.to_string()), Val::Int(free.into())])])
            .await
    }

    /// Gives back a window's failure (a success, or nothing was checked).
    pub async fn refund_window(&self, key: &str) -> Result<()> {
        self.store.exec().transaction(vec![Stmt::new(REFUND_WINDOW, vec![Val::Text(key.to_string())])]).await
    }

    /// Forgets a key (a success).
    pub async fn clear(&self, key: &str) -> Result<()> {
        let del = Stmt::new("DELETE FROM login_throttle WHERE key = $1", vec![Val::Text(key.to_string())]);
        self.store.exec().transaction(vec![del]).await
    }

    /// Deletes rows untouched since `idle_before` and not locked at `now_ms`.
    pub async fn sweep(&self, now_ms: i64, idle_before: i64) -> Result<()> {
        let del = Stmt::new(
            "DELETE FROM login_throttle WHERE last_at < $1 AND locked_until <= $2",
            vec![Val::Int(idle_before), Val::Int(now_ms)],
        );
        self.store.exec().transaction(vec![del]).await
    }

    /// Whether the conditional update changed the row (the attempt was taken).
    /// `durable`: the count survives a database crash once taken. Login counts are durable
    /// (a crash must not hand an attacker fresh guesses, and logins are few enough that a
    /// synced commit costs nothing). A partner's rate-limit shares are not: one row takes
    /// every share of that partner, and its lock must not be held across a disk flush, or
    /// the partner's calls queue behind each other's flush; a count lost in a database crash
    /// only loosens a rate limit for one window.
    async fn run_take(&self, key: &str, now_ms: i64, take: Stmt, durable: bool) -> Result<bool> {
        let ensure = Stmt::new(ENSURE, vec![Val::Text(key.to_string()), Val::Int(now_ms)]);
        let mut stmts = Vec::with_capacity(3);
        if !durable && self.store.backend() == "postgres" {
            stmts.push(Stmt::new("SET LOCAL synchronous_commit TO OFF", vec![]));
        }
        stmts.extend([ensure, take.expect_rows(1, refused_marker())]);
        match self.store.exec().transaction(stmts).await {
            Ok(()) => Ok(true),
            Err(e) if is_refusal(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// (failures, locked_until, window_start) of a key, zeros if absent.
    async fn read(&self, key: &str) -> Result<(i64, i64, i64)> {
        let rows = self.store.exec().query(READ, vec![Val::Text(key.to_string())]).await?;
        match rows.first() {
            Some(r) => Ok((r.int(0)?, r.int(1)?, r.int(2)?)),
            None => Ok((0, 0, 0)),
        }
    }
}
