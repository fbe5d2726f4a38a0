//! [`HashLimiter`] caps concurrent argon2 computations (19 MiB each) at about the core
//! count; a bounded number of requests may wait for a slot, and beyond that the answer is
//! `429 busy` at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::busy_error;
use crate::error::ApiError;

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
    use std::time::Duration;

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
