//! Cooperative cancellation. The daemon's SIGTERM/SIGINT handler calls [`request`]; every
//! operation that can take longer than a moment (the filesystem walk, lock waits, HTTP retries
//! and their backoff sleeps) polls [`requested`] or sleeps through [`sleep`], so the process
//! stops within 2 s of being told, having saved what is pending. One process-wide flag, because
//! the answer to "should I stop?" is the same for every thread of the agent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks every long operation to stop at its next poll. Safe from any thread; idempotent.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// True once [`request`] was called.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// The longest a sleeping caller goes without looking at the flag.
pub const POLL: Duration = Duration::from_millis(50);

/// Sleeps for `total` in slices of at most [`POLL`]. Returns `true` when the whole time
/// passed, `false` as soon as cancellation was requested (possibly before sleeping at all).
pub fn sleep(total: Duration) -> bool {
    let end = Instant::now() + total;
    loop {
        if requested() {
            return false;
        }
        let now = Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(POLL));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The flag is process-wide and unit tests share the process: this test never sets it (the
    // daemon's SIGTERM end-to-end tests exercise `request`).
    #[test]
    fn sleep_waits_the_whole_time_when_not_cancelled() {
        let t = Instant::now();
        assert!(sleep(Duration::from_millis(120)));
        assert!(t.elapsed() >= Duration::from_millis(120));
    }
}
