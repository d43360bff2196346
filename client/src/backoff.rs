//! Exponential back-off with jitter for the live connection, and the decision
//! of how long to wait after a failed long poll.

use mochat_api::{ApiError, ErrorCode};

/// Delays of 0.5 s, 1 s, 2 s, … up to 30 s, each scaled by a jitter in [0.5, 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    failures: u32,
}

/// The first delay, in milliseconds.
pub const BASE_MS: u32 = 500;
/// The longest delay, in milliseconds.
pub const MAX_MS: u32 = 30_000;

/// Whether an error may pass by itself (a full budget, an unreachable or
/// failing server), so a send is worth retrying without the user.
pub fn is_transient(err: &ApiError) -> bool {
    matches!(
        err.code,
        ErrorCode::RateLimited | ErrorCode::UpstreamUnavailable | ErrorCode::Internal
    )
}

impl Backoff {
    /// Forgets past failures (after a success).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a failure; returns the delay before the next attempt. `random`
    /// is in [0, 1) (`Math.random()` in the app, fixed in tests).
    pub fn next_delay_ms(&mut self, random: f64) -> u32 {
        let exp = BASE_MS
            .saturating_mul(1u32 << self.failures.min(16))
            .min(MAX_MS);
        self.failures = self.failures.saturating_add(1);
        let jitter = 0.5 + random.clamp(0.0, 1.0) / 2.0;
        (f64::from(exp) * jitter) as u32
    }

    /// How long to wait after `err`: a 429 waits out `Retry-After` (seconds);
    /// everything else backs off.
    pub fn delay_after(
        &mut self,
        err: &ApiError,
        retry_after_secs: Option<u64>,
        random: f64,
    ) -> u32 {
        match (&err.code, retry_after_secs) {
            (ErrorCode::RateLimited, Some(secs)) => {
                self.failures = self.failures.saturating_add(1);
                u32::try_from(secs.saturating_mul(1000))
                    .unwrap_or(MAX_MS)
                    .max(1000)
            }
            _ => self.next_delay_ms(random),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn doubles_up_to_the_cap_with_jitter() {
        let mut b = Backoff::default();
        let top: Vec<u32> = (0..9).map(|_| b.next_delay_ms(0.999_999)).collect();
        assert_eq!(top[0], 499);
        assert_eq!(top[1], 999);
        assert_eq!(top[2], 1999);
        assert_eq!(*top.last().expect("nine"), 29_999);
        let mut b = Backoff::default();
        assert_eq!(b.next_delay_ms(0.0), 250);
        b.reset();
        assert_eq!(b.failures(), 0);
    }

    #[wasm_bindgen_test]
    fn rate_limited_waits_out_retry_after() {
        let mut b = Backoff::default();
        let err = ApiError::new(ErrorCode::RateLimited, "slow down");
        assert_eq!(b.delay_after(&err, Some(12), 0.3), 12_000);
        let other = ApiError::new(ErrorCode::UpstreamUnavailable, "down");
        assert_eq!(b.delay_after(&other, None, 0.0), 500);
    }
}
