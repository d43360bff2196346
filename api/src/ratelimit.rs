//! The rate-limit headers of the contract (ratelimit-headers draft 11), both
//! ways: their names, the values the worker and the local server write, and
//! [`RateInfo`], what a client (the dashboard, the tests) reads from them.

use crate::limits::{RATE_LIMIT, RATE_WINDOW_SECS};

/// The policy header: `"agent";q=<limit>;w=<window secs>`.
pub const POLICY_HEADER: &str = "RateLimit-Policy";
/// The state header: `"agent";r=<remaining>;t=<secs until room>`.
pub const STATE_HEADER: &str = "RateLimit";
/// On a 429: whole seconds to wait.
pub const RETRY_AFTER_HEADER: &str = "Retry-After";

/// `RateLimit-Policy` of the agent budget.
pub fn agent_policy() -> String {
    policy_of("agent", RATE_LIMIT, RATE_WINDOW_SECS)
}

/// `RateLimit-Policy` of a named budget of `quota` per `window_secs`.
pub fn policy_of(name: &str, quota: u32, window_secs: u64) -> String {
    format!("\"{name}\";q={quota};w={window_secs}")
}

/// `RateLimit` of the agent budget: `remaining` requests left, `reset_secs`
/// until the oldest request leaves the window.
pub fn agent_state(remaining: u32, reset_secs: u64) -> String {
    state_of("agent", remaining, reset_secs)
}

/// `RateLimit` of a named budget.
pub fn state_of(name: &str, remaining: u32, reset_secs: u64) -> String {
    format!("\"{name}\";r={remaining};t={reset_secs}")
}

/// What one answer said about the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    /// Requests allowed per window (`RateLimit-Policy`'s `q`), when sent.
    pub limit: Option<u32>,
    /// Requests left in the window.
    pub remaining: u32,
    /// Seconds until the oldest request leaves the window.
    pub reset_secs: u64,
    /// Set on a 429: seconds to wait before trying again (at least 1).
    pub retry_after: Option<u64>,
}

impl RateInfo {
    /// Reads the values of [`POLICY_HEADER`], [`STATE_HEADER`] and, on a
    /// 429, [`RETRY_AFTER_HEADER`]; `None` without a readable state.
    pub fn from_headers(
        policy: Option<&str>,
        state: Option<&str>,
        retry_after: Option<&str>,
        status: u16,
    ) -> Option<Self> {
        let retry = (status == 429).then(|| {
            retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1)
                .max(1)
        });
        let (mut remaining, mut reset) = (None, None);
        for part in state?.split(';') {
            match part.trim().split_once('=') {
                Some(("r", v)) => remaining = v.trim().parse().ok(),
                Some(("t", v)) => reset = v.trim().parse().ok(),
                _ => {}
            }
        }
        let limit = policy.and_then(|p| {
            p.split(';')
                .find_map(|part| part.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse().ok())
        });
        Some(Self {
            limit,
            remaining: remaining?,
            reset_secs: reset.unwrap_or(0),
            retry_after: retry,
        })
    }

    /// Seconds to wait before the next request, if the budget is spent.
    pub fn wait_secs(&self) -> Option<u64> {
        self.retry_after
            .or((self.remaining == 0).then_some(self.reset_secs.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_is_read_back() {
        let info = RateInfo::from_headers(
            Some(&agent_policy()),
            Some(&agent_state(119, 60)),
            None,
            200,
        )
        .expect("parses");
        assert_eq!(
            info,
            RateInfo {
                limit: Some(RATE_LIMIT),
                remaining: 119,
                reset_secs: 60,
                retry_after: None
            }
        );
        assert_eq!(agent_policy(), "\"agent\";q=120;w=60");
        assert_eq!(state_of("visitor", 3, 9), "\"visitor\";r=3;t=9");
        assert_eq!(info.wait_secs(), None);
    }

    #[test]
    fn a_429_counts_down_from_retry_after() {
        let info = RateInfo::from_headers(None, Some("\"agent\";r=0;t=42"), Some("42"), 429)
            .expect("parses");
        assert_eq!(info.wait_secs(), Some(42));
        let odd = RateInfo::from_headers(None, Some("\"agent\";r=0;t=42"), Some("soon"), 429)
            .expect("parses");
        assert_eq!(
            odd.retry_after,
            Some(1),
            "an unreadable Retry-After waits a second"
        );
        let spent =
            RateInfo::from_headers(None, Some("\"agent\";r=0;t=0"), None, 200).expect("parses");
        assert_eq!(spent.wait_secs(), Some(1));
        assert!(RateInfo::from_headers(None, None, None, 200).is_none());
        assert!(RateInfo::from_headers(None, Some("garbage"), None, 200).is_none());
    }
}
