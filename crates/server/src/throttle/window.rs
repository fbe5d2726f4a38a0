//! Fixed-window failure counters in memory (per client IP, and one global), the fast path
//! in front of the shared table: a window this server already knows is full is refused
//! without asking the database.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// Counters by key, at most `capacity` of them.
pub struct Windows {
    map: HashMap<String, Window>,
    capacity: usize,
}

impl Windows {
    pub fn new(capacity: usize) -> Self {
        Windows { map: HashMap::new(), capacity: capacity.max(1) }
    }

    /// Counts a failure for `key`, or answers how long its window stays full.
    pub fn take(&mut self, key: &str, window: Duration, limit: u32, now: Instant) -> Result<(), Duration> {
        if !self.map.contains_key(key) && self.map.len() >= self.capacity {
            self.make_room(window, now);
        }
        let w = self.map.entry(key.to_string()).or_insert(Window { start: now, count: 0 });
        if now.duration_since(w.start) >= window {
            *w = Window { start: now, count: 0 };
        }
        if w.count >= limit {
            return Err((w.start + window).saturating_duration_since(now));
        }
        w.count += 1;
        Ok(())
    }

    /// Gives a failure back (a success, or nothing was checked).
    pub fn refund(&mut self, key: &str) {
        if let Some(w) = self.map.get_mut(key) {
            w.count = w.count.saturating_sub(1);
            if w.count == 0 {
                self.map.remove(key);
            }
        }
    }

    /// Marks `key` full for `d` (learnt from the shared table).
    pub fn block(&mut self, key: &str, window: Duration, limit: u32, d: Duration, now: Instant) {
        let start = (now + d).checked_sub(window).unwrap_or(now);
        self.map.insert(key.to_string(), Window { start, count: limit });
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Drops ended windows; if still full, the eighth with the fewest failures (a flood of
    /// new addresses cannot push out a full window before the others).
    fn make_room(&mut self, window: Duration, now: Instant) {
        self.map.retain(|_, w| now.duration_since(w.start) < window);
        if self.map.len() < self.capacity {
            return;
        }
        let mut order: Vec<(u32, Instant, String)> =
            self.map.iter().map(|(k, w)| (w.count, w.start, k.clone())).collect();
        order.sort();
        for (_, _, k) in order.into_iter().take((self.capacity / 8).max(1)) {
            self.map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_window_refuses_until_it_ends() {
        let mut w = Windows::new(16);
        let now = Instant::now();
        let win = Duration::from_secs(60);
        for _ in 0..3 {
            w.take("ip:1", win, 3, now).unwrap();
        }
        let wait = w.take("ip:1", win, 3, now + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        w.take("ip:2", win, 3, now).unwrap();
        w.refund("ip:1");
        w.take("ip:1", win, 3, now).unwrap();
        w.take("ip:1", win, 3, now + win).unwrap();
    }

    #[test]
    fn the_map_is_bounded_and_keeps_full_windows() {
        let mut w = Windows::new(32);
        let now = Instant::now();
        let win = Duration::from_secs(600);
        for _ in 0..5 {
            w.take("ip:victim", win, 5, now).unwrap();
        }
        for i in 0..5_000 {
            w.take(&format!("ip:{i}"), win, 5, now).unwrap();
            assert!(w.len() <= 32);
        }
        assert!(w.take("ip:victim", win, 5, now).is_err());
    }
}
