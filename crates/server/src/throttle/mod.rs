//! Brute-force protection that holds under concurrency and across servers, and a cap on
//! argon2 work.
//!
//! [`LoginThrottle`] counts attempts per key (`officer:<username>`, `citizen:<personal ID>`,
//! `reset:<personal ID>`, `register:<personal ID>`), per client address ([`client`]) and
//! globally. An attempt is *taken* before the password or code is checked, and counts as a
//! failure unless it is settled as a success (which clears the key and gives back the IP
//! and global counts) or refunded (nothing was checked, e.g. the server was busy). So 30
//! requests in flight at once get at most [`FREE_FAILURES`] checks: the others find the key
//! locked. After that the key stays locked with doubling back-off (30 s, 60 s, … up to
//! 15 min). A client address gets [`Limits::ip_failures`] failures per window, and all
//! clients together [`Limits::global_failures`]; beyond that the answer is 429 with
//! `Retry-After`.
//!
//! Each count is kept twice: in this process's bounded maps (keys normalised by the
//! callers, idle entries swept, at capacity the oldest unlocked entries evicted first), the
//! fast path that refuses what this server already knows is locked; and, when the state
//! has a database, in the shared table (`dancu_store::throttle`), where taking an attempt is
//! one conditional update, so several servers on one database share the locks.
//!
//! [`HashLimiter`] caps concurrent argon2 computations.

pub mod client;
mod hash;
mod window;

pub use client::TrustedProxies;
pub use hash::HashLimiter;
/// Fixed windows per key in memory, for request-rate limits (the public confirmation check).
pub use window::Windows as RateWindows;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use dancu_store::throttle::{SharedThrottle, Take};

use crate::error::ApiError;
use window::Windows;

/// Failed attempts allowed before a key is locked.
pub const FREE_FAILURES: u32 = 5;
/// An entry not locked and untouched this long is forgotten.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(3600);
/// Default number of keys kept.
pub const DEFAULT_CAPACITY: usize = 100_000;
/// The key of the global window in the shared table.
const GLOBAL_KEY: &str = "global";

/// Failures allowed per client address and for all clients together, per fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub ip_failures: u32,
    pub ip_window: Duration,
    pub global_failures: u32,
    pub global_window: Duration,
}

impl Default for Limits {
    /// 200 failures per address per 10 minutes (an office behind one NAT address stays
    /// well inside), 1,000 per minute in all (more than two cores verify anyway).
    fn default() -> Self {
        Limits {
            ip_failures: 200,
            ip_window: Duration::from_secs(600),
            global_failures: 1000,
            global_window: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

impl Entry {
    fn locked_at(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|u| u > now)
    }
}

struct Table {
    map: HashMap<String, Entry>,
    last_sweep: Instant,
}

/// Attempt counting per key, per address and globally; see the module documentation.
pub struct LoginThrottle {
    table: Mutex<Table>,
    ips: Mutex<Windows>,
    global: Mutex<Windows>,
    capacity: usize,
    idle_expiry: Duration,
    limits: Limits,
    shared: Option<SharedThrottle>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(DEFAULT_CAPACITY, IDLE_EXPIRY)
    }
}

/// The lock after `failures` failures (the 5th: 30 s, then doubling up to 15 min); the
/// shared table's `TAKE_KEY` computes the same.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs((30u64 << (failures - FREE_FAILURES).min(5)).min(900))
}

fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn ms_until(until: i64, now_ms: i64) -> Duration {
    Duration::from_millis(until.saturating_sub(now_ms).max(0) as u64)
}

/// Why an attempt was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The key is locked for this long.
    Locked(Duration),
    /// The client address used up its failures for this long.
    Ip(Duration),
    /// All clients together did, for this long.
    Global(Duration),
}

impl Refusal {
    pub fn retry_after(&self) -> Duration {
        match *self {
            Refusal::Locked(d) | Refusal::Ip(d) | Refusal::Global(d) => d,
        }
    }
}

/// What one attempt took, to be given back or cleared.
#[derive(Debug, Default)]
struct Held {
    key: String,
    local_key: bool,
    ip: Option<String>,
    global: bool,
    shared_key: bool,
    shared_ip: bool,
    shared_global: bool,
}

impl LoginThrottle {
    pub fn new(capacity: usize, idle_expiry: Duration) -> Self {
        let capacity = capacity.max(1);
        LoginThrottle {
            table: Mutex::new(Table { map: HashMap::new(), last_sweep: Instant::now() }),
            ips: Mutex::new(Windows::new(capacity)),
            global: Mutex::new(Windows::new(1)),
            capacity,
            idle_expiry,
            limits: Limits::default(),
            shared: None,
        }
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Shares the counts with every server on the same database.
    pub fn shared(mut self, shared: SharedThrottle) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Takes an attempt for `key` from the request's client address ([`client::current`]),
    /// or answers why not (the answer is then a 429 with `Retry-After`). The attempt counts
    /// as a failure until [`Attempt::success`] or [`Attempt::refund`].
    pub async fn begin(&self, key: &str) -> Result<Attempt<'_>, ApiError> {
        self.begin_from(key, client::current()).await
    }

    /// [`Self::begin`] for a given client address.
    pub async fn begin_from(&self, key: &str, ip: Option<IpAddr>) -> Result<Attempt<'_>, ApiError> {
        let mut held = Held { key: key.to_string(), ..Default::default() };
        let refused = match self.take(&mut held, ip).await {
            Ok(None) => return Ok(Attempt { throttle: self, held: Some(held) }),
            Ok(Some(r)) => locked_error(r),
            Err(e) => e,
        };
        self.release(&held, false).await;
        Err(refused)
    }

    /// Takes every count in turn, recording each in `held`; stops at the first refusal.
    async fn take(&self, held: &mut Held, ip: Option<IpAddr>) -> Result<Option<Refusal>, ApiError> {
        let now = Instant::now();
        let l = self.limits;
        if let Err(d) = self.take_key(&held.key, now) {
            return Ok(Some(Refusal::Locked(d)));
        }
        held.local_key = true;
        let ip_key = ip.map(client::ip_key);
        if let Some(k) = &ip_key {
            if let Err(d) = self.ips.lock().unwrap().take(k, l.ip_window, l.ip_failures, now) {
                return Ok(Some(Refusal::Ip(d)));
            }
            held.ip = ip_key.clone();
        }
        if let Err(d) = self.global.lock().unwrap().take(GLOBAL_KEY, l.global_window, l.global_failures, now)
        {
            return Ok(Some(Refusal::Global(d)));
        }
        held.global = true;
        let Some(shared) = &self.shared else { return Ok(None) };

        let now_ms = unix_ms();
        match shared.take_key(&held.key, now_ms, FREE_FAILURES).await? {
            Take::Refused { until } => {
                let d = ms_until(until, now_ms);
                self.lock_for(&held.key, d);
                return Ok(Some(Refusal::Locked(d)));
            }
            Take::Taken { locked_until } => {
                held.shared_key = true;
                if locked_until > now_ms {
                    self.lock_for(&held.key, ms_until(locked_until, now_ms));
                }
            }
        }
        if let Some(k) = &ip_key {
            let window = l.ip_window.as_millis() as i64;
            if let Take::Refused { until } = shared.take_window(k, now_ms, window, l.ip_failures).await? {
                let d = ms_until(until, now_ms);
                self.ips.lock().unwrap().block(k, l.ip_window, l.ip_failures, d, now);
                return Ok(Some(Refusal::Ip(d)));
            }
            held.shared_ip = true;
        }
        let window = l.global_window.as_millis() as i64;
        if let Take::Refused { until } =
            shared.take_window(GLOBAL_KEY, now_ms, window, l.global_failures).await?
        {
            let d = ms_until(until, now_ms);
            self.global.lock().unwrap().block(GLOBAL_KEY, l.global_window, l.global_failures, d, now);
            return Ok(Some(Refusal::Global(d)));
        }
        held.shared_global = true;
        Ok(None)
    }

    /// Gives back what `held` took; on `success` the key is cleared instead.
    async fn release(&self, held: &Held, success: bool) {
        if success {
            self.clear_local(&held.key);
        } else if held.local_key {
            self.refund_key(&held.key);
        }
        if let Some(k) = &held.ip {
            self.ips.lock().unwrap().refund(k);
        }
        if held.global {
            self.global.lock().unwrap().refund(GLOBAL_KEY);
        }
        let Some(shared) = &self.shared else { return };
        let mut done = Ok(());
        if held.shared_key {
            done = if success {
                shared.clear(&held.key).await
            } else {
                shared.refund_key(&held.key, FREE_FAILURES).await
            };
        }
        if let (true, Some(k)) = (held.shared_ip, &held.ip) {
            done = done.and(shared.refund_window(k).await);
        }
        if held.shared_global {
            done = done.and(shared.refund_window(GLOBAL_KEY).await);
        }
        if let Err(e) = done {
            // Left counted: errs on the side of the lock.
            tracing::warn!(error = %e, "could not give back a login attempt in the shared throttle");
        }
    }

    /// The per-key count in memory: takes an attempt or answers how long the key is locked.
    fn take_key(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut t = self.table.lock().unwrap();
        if now.duration_since(t.last_sweep) >= Duration::from_secs(60) {
            self.sweep(&mut t, now);
        }
        if !t.map.contains_key(key) && t.map.len() >= self.capacity {
            self.make_room(&mut t, now);
        }
        let e = t.map.entry(key.to_string()).or_insert(Entry { failures: 0, locked_until: None, last: now });
        if let Some(until) = e.locked_until.filter(|u| *u > now) {
            return Err(until - now);
        }
        e.failures += 1;
        e.last = now;
        if e.failures >= FREE_FAILURES {
            e.locked_until = Some(now + backoff(e.failures));
        }
        Ok(())
    }

    /// Caches a lock learnt from the shared table.
    fn lock_for(&self, key: &str, d: Duration) {
        let now = Instant::now();
        let mut t = self.table.lock().unwrap();
        let e = t.map.entry(key.to_string()).or_insert(Entry { failures: 0, locked_until: None, last: now });
        e.failures = e.failures.max(FREE_FAILURES);
        e.locked_until = Some(e.locked_until.map_or(now + d, |u| u.max(now + d)));
        e.last = now;
    }

    /// How long `key` stays locked, as far as this server knows.
    pub fn locked_for(&self, key: &str) -> Option<Duration> {
        let now = Instant::now();
        let t = self.table.lock().unwrap();
        t.map.get(key)?.locked_until?.checked_duration_since(now).filter(|d| !d.is_zero())
    }

    /// Forgets `key` (a proven success elsewhere, e.g. a reset clears the login lock).
    pub async fn clear(&self, key: &str) {
        self.clear_local(key);
        if let Some(shared) = &self.shared {
            if let Err(e) = shared.clear(key).await {
                tracing::warn!(error = %e, "could not clear a key in the shared login throttle");
            }
        }
    }

    fn clear_local(&self, key: &str) {
        self.table.lock().unwrap().map.remove(key);
    }

    /// Keys currently held in memory (for tests and metrics).
    pub fn len(&self) -> usize {
        self.table.lock().unwrap().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Client addresses currently counted in memory.
    pub fn ip_len(&self) -> usize {
        self.ips.lock().unwrap().len()
    }

    fn refund_key(&self, key: &str) {
        let mut t = self.table.lock().unwrap();
        if let Some(e) = t.map.get_mut(key) {
            e.failures = e.failures.saturating_sub(1);
            if e.failures < FREE_FAILURES {
                e.locked_until = None;
            }
            if e.failures == 0 {
                t.map.remove(key);
            }
        }
    }

    fn sweep(&self, t: &mut Table, now: Instant) {
        let idle = self.idle_expiry;
        t.map.retain(|_, e| e.locked_at(now) || now.duration_since(e.last) < idle);
        t.last_sweep = now;
        if let (Some(shared), Ok(rt)) = (self.shared.clone(), tokio::runtime::Handle::try_current()) {
            let (now_ms, idle_ms) = (unix_ms(), idle.as_millis() as i64);
            rt.spawn(async move {
                if let Err(e) = shared.sweep(now_ms, now_ms - idle_ms).await {
                    tracing::warn!(error = %e, "sweeping the shared login throttle failed");
                }
            });
        }
    }

    /// At capacity: drop expired entries, then (if still full) the oldest eighth, unlocked
    /// entries before locked ones.
    fn make_room(&self, t: &mut Table, now: Instant) {
        self.sweep(t, now);
        if t.map.len() < self.capacity {
            return;
        }
        let mut order: Vec<(bool, Instant, String)> =
            t.map.iter().map(|(k, e)| (e.locked_at(now), e.last, k.clone())).collect();
        order.sort();
        let n = (self.capacity / 8).max(1);
        for (_, _, k) in order.into_iter().take(n) {
            t.map.remove(&k);
        }
        tracing::warn!(capacity = self.capacity, evicted = n, "login throttle full; oldest entries evicted");
    }
}

/// One taken attempt. Dropping it leaves it counted as a failure.
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    held: Option<Held>,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt").field("key", &self.held.as_ref().map(|h| &h.key)).finish()
    }
}

impl Attempt<'_> {
    /// The password or code was right: the key's failures are forgotten, and the address's
    /// and global counts given back.
    pub async fn success(mut self) {
        if let Some(h) = self.held.take() {
            self.throttle.release(&h, true).await;
        }
    }

    /// Nothing was checked (busy, storage error, refused before the check): not counted.
    pub async fn refund(mut self) {
        if let Some(h) = self.held.take() {
            self.throttle.release(&h, false).await;
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if let Some(h) = &self.held {
            tracing::debug!(key_kind = h.key.split(':').next().unwrap_or(""), "failed attempt");
        }
    }
}

/// The answer to a refused attempt: 429 with a stable code per cause; the request's
/// `Retry-After` header is set by [`client::layer`].
pub fn locked_error(r: Refusal) -> ApiError {
    let secs = r.retry_after().as_secs() + 1;
    client::note_retry_after(r.retry_after());
    let (code, vi, en) = match r {
        Refusal::Locked(_) => (
            "login_locked",
            format!("Đăng nhập sai quá nhiều lần; thử lại sau {secs} giây"),
            format!("too many failed logins; try again in {secs} s"),
        ),
        Refusal::Ip(_) => (
            "too_many_failures_from_address",
            format!("Quá nhiều lần đăng nhập sai từ địa chỉ này; thử lại sau {secs} giây"),
            format!("too many failed attempts from this address; try again in {secs} s"),
        ),
        Refusal::Global(_) => (
            "too_many_failures",
            format!("Hệ thống đang nhận quá nhiều lần đăng nhập sai; thử lại sau {secs} giây"),
            format!("too many failed attempts on this server; try again in {secs} s"),
        ),
    };
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, vi, en)
}

pub fn busy_error() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "busy",
        "Máy chủ đang bận, vui lòng thử lại sau giây lát",
        "the server is busy; please retry in a moment",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[tokio::test]
    async fn five_attempts_then_locked() {
        let t = LoginThrottle::default();
        let mut attempts = Vec::new();
        for _ in 0..5 {
            attempts.push(t.begin("officer:a").await.expect("free attempt"));
        }
        // Five taken and still in flight: the sixth is refused before any check.
        assert_eq!(t.begin("officer:a").await.unwrap_err().code, "login_locked");
        drop(attempts);
        assert!(t.locked_for("officer:a").is_some());
        // Another key is unaffected.
        t.begin("officer:b").await.unwrap().success().await;
        assert!(t.locked_for("officer:b").is_none());
    }

    #[tokio::test]
    async fn success_clears_and_refund_gives_back() {
        let t = LoginThrottle::default();
        for _ in 0..4 {
            drop(t.begin("k").await.unwrap());
        }
        // The fifth attempt locks the key while it is checked; a success clears it.
        let a = t.begin("k").await.unwrap();
        assert!(t.locked_for("k").is_some());
        a.success().await;
        assert!(t.locked_for("k").is_none());
        assert!(t.is_empty());
        for _ in 0..4 {
            drop(t.begin("k").await.unwrap());
        }
        t.begin("k").await.unwrap().refund().await;
        assert!(t.locked_for("k").is_none(), "a refunded attempt does not lock");
        drop(t.begin("k").await.unwrap());
        assert!(t.locked_for("k").is_some());
    }

    #[tokio::test]
    async fn an_address_gets_a_bounded_number_of_failures_over_all_keys() {
        let limits = Limits { ip_failures: 3, ..Limits::default() };
        let t = LoginThrottle::default().with_limits(limits);
        for i in 0..3 {
            drop(t.begin_from(&format!("officer:u{i}"), ip("192.0.2.1")).await.unwrap());
        }
        let e = t.begin_from("officer:other", ip("192.0.2.1")).await.unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (429, "too_many_failures_from_address"));
        assert!(t.locked_for("officer:other").is_none(), "a refused attempt is not counted against the key");
        // Another address is not affected; a success gives its count back.
        t.begin_from("officer:x", ip("192.0.2.2")).await.unwrap().success().await;
        for _ in 0..3 {
            drop(t.begin_from("officer:y", ip("192.0.2.2")).await.unwrap());
        }
    }

    #[tokio::test]
    async fn all_addresses_together_get_a_bounded_number_of_failures() {
        let limits = Limits { global_failures: 4, ..Limits::default() };
        let t = LoginThrottle::default().with_limits(limits);
        for i in 0..4 {
            drop(t.begin_from(&format!("citizen:{i}"), ip(&format!("198.51.100.{i}"))).await.unwrap());
        }
        let e = t.begin_from("citizen:9", ip("198.51.100.9")).await.unwrap_err();
        assert_eq!(e.code, "too_many_failures");
        assert!(e.message_en.contains("try again in"), "{}", e.message_en);
    }

    #[test]
    fn back_off_doubles_up_to_fifteen_minutes() {
        assert_eq!(backoff(5), Duration::from_secs(30));
        assert_eq!(backoff(6), Duration::from_secs(60));
        assert_eq!(backoff(9), Duration::from_secs(480));
        assert_eq!(backoff(10), Duration::from_secs(900));
        assert_eq!(backoff(40), Duration::from_secs(900));
    }

    #[tokio::test]
    async fn the_map_is_bounded_and_keeps_locked_keys() {
        let limits = Limits { global_failures: u32::MAX, ..Limits::default() };
        let t = LoginThrottle::new(64, IDLE_EXPIRY).with_limits(limits);
        for _ in 0..5 {
            drop(t.begin("victim").await.unwrap());
        }
        for i in 0..10_000 {
            drop(t.begin(&format!("flood:{i}")).await.unwrap());
            assert!(t.len() <= 64);
        }
        assert!(t.locked_for("victim").is_some(), "a flood of new keys does not unlock a locked key");
    }

    #[tokio::test]
    async fn idle_entries_expire() {
        let t = LoginThrottle::new(4, Duration::ZERO);
        for i in 0..4 {
            drop(t.begin(&format!("k{i}")).await.unwrap());
        }
        // Full: the idle (not locked) entries are swept before anything else.
        drop(t.begin("new").await.unwrap());
        assert_eq!(t.len(), 1);
    }
}
