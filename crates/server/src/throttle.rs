//! Brute-force protection that holds under concurrency, and a cap on argon2 work.
//!
//! [`LoginThrottle`] counts attempts per key (`officer:<username>`, `citizen:<personal ID>`,
//! `reset:<personal ID>`, `register:<personal ID>`). An attempt is *taken* under the lock
//! before the password or code is checked, and counts as a failure unless it is settled as a
//! success (which clears the key) or refunded (nothing was checked, e.g. the server was
//! busy). So 30 requests in flight at once get at most [`FREE_FAILURES`] checks: the others
//! find the key locked. After that the key stays locked with doubling back-off (30 s, 60 s,
//! … up to 15 min), and each later attempt takes the next failure before it is checked.
//!
//! The map is bounded: keys are normalised by the callers (only well-formed usernames and
//! personal IDs reach it), entries idle for [`IDLE_EXPIRY`] and not locked are swept, and at
//! capacity the oldest unlocked entries are evicted first, so a flood of made-up keys costs
//! a bounded amount of memory and cannot evict a locked key before any unlocked one.
//!
//! [`HashLimiter`] caps concurrent argon2 computations (19 MiB each) at about the core
//! count; a bounded number of requests may wait for a slot, and beyond that the answer is
//! `429 busy` at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Failed attempts allowed before a key is locked.
pub const FREE_FAILURES: u32 = 5;
/// An entry not locked and untouched this long is forgotten.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(3600);
/// Default number of keys kept.
pub const DEFAULT_CAPACITY: usize = 100_000;

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

/// Attempt counting per key with doubling back-off; see the module documentation.
pub struct LoginThrottle {
    table: Mutex<Table>,
    capacity: usize,
    idle_expiry: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(DEFAULT_CAPACITY, IDLE_EXPIRY)
    }
}

/// The lock after `failures` failures (the 5th: 30 s, then doubling up to 15 min).
fn backoff(failures: u32) -> Duration {
    Duration::from_secs((30u64 << (failures - FREE_FAILURES).min(5)).min(900))
}

impl LoginThrottle {
    pub fn new(capacity: usize, idle_expiry: Duration) -> Self {
        LoginThrottle {
            table: Mutex::new(Table { map: HashMap::new(), last_sweep: Instant::now() }),
            capacity: capacity.max(1),
            idle_expiry,
        }
    }

    /// Takes an attempt for `key`, or answers how long it stays locked. The attempt counts as
    /// a failure until [`Attempt::success`] or [`Attempt::refund`].
    pub fn begin(&self, key: &str) -> Result<Attempt<'_>, Duration> {
        let now = Instant::now();
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
        Ok(Attempt { throttle: self, key: key.to_string(), settled: false })
    }

    /// How long `key` stays locked, if it is.
    pub fn locked_for(&self, key: &str) -> Option<Duration> {
        let now = Instant::now();
        let t = self.table.lock().unwrap();
        t.map.get(key)?.locked_until?.checked_duration_since(now).filter(|d| !d.is_zero())
    }

    /// Forgets `key` (a proven success elsewhere, e.g. a reset clears the login lock).
    pub fn clear(&self, key: &str) {
        self.table.lock().unwrap().map.remove(key);
    }

    /// Keys currently held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.table.lock().unwrap().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn refund(&self, key: &str) {
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
    key: String,
    settled: bool,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt").field("key", &self.key).finish()
    }
}

impl Attempt<'_> {
    /// The password or code was right: the key's failures are forgotten.
    pub fn success(mut self) {
        self.settled = true;
        self.throttle.clear(&self.key);
    }

    /// Nothing was checked (busy, storage error, refused before the check): not counted.
    pub fn refund(mut self) {
        self.settled = true;
        self.throttle.refund(&self.key);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            tracing::debug!(key_kind = self.key.split(':').next().unwrap_or(""), "failed attempt");
        }
    }
}

pub fn locked_error(d: Duration) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "login_locked",
        format!("Đăng nhập sai quá nhiều lần; thử lại sau {} giây", d.as_secs() + 1),
        format!("too many failed logins; try again in {} s", d.as_secs() + 1),
    )
}

pub fn busy_error() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "busy",
        "Máy chủ đang bận, vui lòng thử lại sau giây lát",
        "the server is busy; please retry in a moment",
    )
}

/// Caps concurrent password hashing (argon2id, 19 MiB each); see the module documentation.
pub struct HashLimiter {
    slots: Arc<Semaphore>,
    permits: usize,
    max_waiting: usize,
    admitted: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

/// Decrements a counter when dropped (moved into the blocking task, so a cancelled request
/// still holds its slot until its hash is done).
struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashLimiter {
    /// `permits` hashes at once (at least 1), `max_waiting` more may queue.
    pub fn new(permits: usize, max_waiting: usize) -> Self {
        let permits = permits.max(1);
        HashLimiter {
            slots: Arc::new(Semaphore::new(permits)),
            permits,
            max_waiting,
            admitted: Arc::new(AtomicUsize::new(0)),
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn permits(&self) -> usize {
        self.permits
    }

    /// The most hashes that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Acquire)
    }

    /// Runs `f` (a hash or a verification) on the blocking pool when a slot is free, or
    /// answers `429 busy` at once when the queue is full.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let before = self.admitted.fetch_add(1, Ordering::AcqRel);
        let admitted = Admitted(self.admitted.clone());
        if before >= self.permits + self.max_waiting {
            return Err(busy_error());
        }
        let permit = self.slots.clone().acquire_owned().await.map_err(|_| ApiError::internal())?;
        let running = self.running.clone();
        let peak = self.peak.clone();
        tokio::task::spawn_blocking(move || {
            let _slot = permit;
            let _admitted = admitted;
            let now = running.fetch_add(1, Ordering::AcqRel) + 1;
            peak.fetch_max(now, Ordering::AcqRel);
            let out = f();
            running.fetch_sub(1, Ordering::AcqRel);
            out
        })
        .await
        .map_err(|_| ApiError::internal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_attempts_then_locked() {
        let t = LoginThrottle::default();
        let attempts: Vec<_> = (0..5).map(|_| t.begin("officer:a").expect("free attempt")).collect();
        // Five taken and still in flight: the sixth is refused before any check.
        assert!(t.begin("officer:a").unwrap_err() > Duration::from_secs(20));
        drop(attempts);
        assert!(t.locked_for("officer:a").is_some());
        // Another key is unaffected.
        t.begin("officer:b").unwrap().success();
        assert!(t.locked_for("officer:b").is_none());
    }

    #[test]
    fn success_clears_and_refund_gives_back() {
        let t = LoginThrottle::default();
        for _ in 0..4 {
            drop(t.begin("k").unwrap());
        }
        // The fifth attempt locks the key while it is checked; a success clears it.
        let a = t.begin("k").unwrap();
        assert!(t.locked_for("k").is_some());
        a.success();
        assert!(t.locked_for("k").is_none());
        assert!(t.is_empty());
        for _ in 0..4 {
            drop(t.begin("k").unwrap());
        }
        let a = t.begin("k").unwrap();
        a.refund();
        assert!(t.locked_for("k").is_none(), "a refunded attempt does not lock");
        drop(t.begin("k").unwrap());
        assert!(t.locked_for("k").is_some());
    }

    #[test]
    fn back_off_doubles_up_to_fifteen_minutes() {
        assert_eq!(backoff(5), Duration::from_secs(30));
        assert_eq!(backoff(6), Duration::from_secs(60));
        assert_eq!(backoff(9), Duration::from_secs(480));
        assert_eq!(backoff(10), Duration::from_secs(900));
        assert_eq!(backoff(40), Duration::from_secs(900));
    }

    #[test]
    fn the_map_is_bounded_and_keeps_locked_keys() {
        let t = LoginThrottle::new(64, IDLE_EXPIRY);
        for _ in 0..5 {
            drop(t.begin("victim").unwrap());
        }
        for i in 0..10_000 {
            drop(t.begin(&format!("flood:{i}")).unwrap());
            assert!(t.len() <= 64);
        }
        assert!(t.locked_for("victim").is_some(), "a flood of new keys does not unlock a locked key");
    }

    #[test]
    fn idle_entries_expire() {
        let t = LoginThrottle::new(4, Duration::ZERO);
        for i in 0..4 {
            drop(t.begin(&format!("k{i}")).unwrap());
        }
        // Full: the idle (not locked) entries are swept before anything else.
        drop(t.begin("new").unwrap());
        assert_eq!(t.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn hashing_is_capped_and_overflow_is_refused_at_once() {
        let h = Arc::new(HashLimiter::new(2, 3));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let h = h.clone();
            tasks.push(tokio::spawn(async move {
                h.run(|| std::thread::sleep(Duration::from_millis(50))).await.map_err(|e| e.code)
            }));
        }
        let mut ok = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err("busy") => busy += 1,
                Err(other) => panic!("{other}"),
            }
        }
        assert!(h.peak() <= 2, "peak {}", h.peak());
        assert!((2..=5).contains(&ok), "ok {ok}");
        assert_eq!(ok + busy, 20);
    }
}
