//! Exponential back-off between connections, cut short by a stop flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// `min_secs` after the first failure, doubling up to `max_secs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub min_secs: f64,
    pub max_secs: f64,
}

impl Backoff {
    /// The wait before attempt `attempt + 1` (attempt 0 or 1: `min_secs`).
    pub fn delay(&self, attempt: u32) -> Duration {
        let secs = (self.min_secs * 2f64.powi(attempt.saturating_sub(1).min(16) as i32)).min(self.max_secs).max(0.0);
        Duration::from_secs_f64(if secs.is_finite() { secs } else { 0.0 })
    }

    /// Sleeps [`Backoff::delay`], returning early when `stop` is set.
    pub fn wait(&self, attempt: u32, stop: &AtomicBool) {
        let until = Instant::now() + self.delay(attempt);
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_maximum() {
        let b = Backoff { min_secs: 0.5, max_secs: 3.0 };
        let d: Vec<f64> = (0..6).map(|a| b.delay(a).as_secs_f64()).collect();
        assert_eq!(d, vec![0.5, 0.5, 1.0, 2.0, 3.0, 3.0]);
        assert_eq!(Backoff { min_secs: 1.0, max_secs: 30.0 }.delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn a_stop_cuts_the_wait_short() {
        let stop = AtomicBool::new(true);
        let t = Instant::now();
        Backoff { min_secs: 10.0, max_secs: 10.0 }.wait(1, &stop);
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}
