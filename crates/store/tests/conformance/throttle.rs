//! The login throttle's shared table (migration 0011): taking, refunding, windows, sweeping.

use dancu_store::throttle::Take;
use dancu_store::Database;

use crate::Harness;

const T: i64 = 1_800_000_000_000;

pub(crate) async fn shared_throttle_locks_counts_windows_and_sweeps(h: &Harness) {
    let t = Database::from_raw(h.store.clone()).accounts().throttle();
    // Five attempts are taken; the fifth locks the key for 30 s; the sixth is refused.
    for i in 1..=4 {
        assert_eq!(t.take_key("officer:a", T, 5).await.unwrap(), Take::Taken { locked_until: 0 }, "{i}");
    }
    assert_eq!(t.take_key("officer:a", T, 5).await.unwrap(), Take::Taken { locked_until: T + 30_000 });
    assert_eq!(t.take_key("officer:a", T + 1, 5).await.unwrap(), Take::Refused { until: T + 30_000 });
    // A refund of the fifth lifts the lock; the next failure after the lock doubles it.
    t.refund_key("officer:a", 5).await.unwrap();
    assert!(matches!(t.take_key("officer:a", T + 2, 5).await.unwrap(), Take::Taken { .. }));
    assert!(
        matches!(t.take_key("officer:a", T + 30_002, 5).await.unwrap(), Take::Taken { locked_until } if locked_until == T + 90_002)
    );
    // A cleared key starts over.
    t.clear("officer:a").await.unwrap();
    assert_eq!(t.take_key("officer:a", T, 5).await.unwrap(), Take::Taken { locked_until: 0 });

    // A window: two failures per minute, refused until the window ends, then open again.
    for _ in 0..2 {
        assert!(matches!(t.take_window("ip:192.0.2.1", T, 60_000, 2).await.unwrap(), Take::Taken { .. }));
    }
    assert_eq!(
        t.take_window("ip:192.0.2.1", T + 10, 60_000, 2).await.unwrap(),
        Take::Refused { until: T + 60_000 }
    );
    t.refund_window("ip:192.0.2.1").await.unwrap();
    assert!(matches!(t.take_window("ip:192.0.2.1", T + 20, 60_000, 2).await.unwrap(), Take::Taken { .. }));
    assert!(matches!(
        t.take_window("ip:192.0.2.1", T + 60_000, 60_000, 2).await.unwrap(),
        Take::Taken { .. }
    ));

    // Shares of a window: all or none, and the answer says when the window they count in
    // ends (10 per second: 4 + 4 taken, a third 4 refused, 2 still taken one at a time).
    assert_eq!(many(&t, T, 4).await, Ok(T + 1_000));
    assert_eq!(many(&t, T + 100, 4).await, Ok(T + 1_000));
    assert_eq!(many(&t, T + 200, 4).await, Err(T + 1_000));
    assert_eq!(many(&t, T + 300, 2).await, Ok(T + 1_000));
    assert_eq!(many(&t, T + 400, 1).await, Err(T + 1_000));
    // A new window begins when the last one is over. A server whose clock is behind the
    // window's start gets a share that ends at that start, not a window later.
    assert_eq!(many(&t, T + 1_000, 10).await, Ok(T + 2_000));
    assert_eq!(many(&t, T + 2_500, 3).await, Ok(T + 3_500));
    assert_eq!(many(&t, T + 2_400, 3).await, Ok(T + 2_500));
    assert_eq!(many(&t, T + 3_400, 4).await, Ok(T + 3_500));
    assert_eq!(
        t.take_window("partner:x", T + 3_400, 1_000, 10).await.unwrap(),
        Take::Refused { until: T + 3_500 }
    );

    // A sweep drops what is idle and unlocked, and keeps a locked key.
    for _ in 0..5 {
        t.take_key("officer:locked", T + 60_000, 5).await.unwrap();
    }
    t.sweep(T + 60_001, T + 60_001).await.unwrap();
    assert_eq!(h.scalar("SELECT count(*) FROM login_throttle").await, 1);
    assert!(matches!(t.take_key("officer:locked", T + 60_001, 5).await.unwrap(), Take::Refused { .. }));
}

async fn many(t: &dancu_store::throttle::SharedThrottle, now: i64, n: u32) -> Result<i64, i64> {
    t.take_window_many("partner:x", now, 1_000, 10, n).await.unwrap()
}
