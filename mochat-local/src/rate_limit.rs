//! The per-agent budget: an exact sliding window over the times of admitted requests.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mochat_api::ratelimit::{agent_state, policy_of};

/// What is left of an agent's budget after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub remaining: u32,
    /// Whole seconds (rounded up) until the oldest request leaves the window; 0 when empty.
    pub reset_secs: u64,
}

impl Budget {
    /// The `RateLimit` header value.
    pub fn header(&self) -> String {
        agent_state(self.remaining, self.reset_secs)
    }
}

/// Counts requests per agent over any window of `window`.
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    agents: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            agents: Mutex::new(HashMap::new()),
        }
    }

    /// The `RateLimit-Policy` header value.
    pub fn policy(&self) -> String {
        let window_secs = u64::try_from(self.window.as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
        policy_of("agent", self.limit, window_secs)
    }

    /// Admits and counts a request of `agent` at `now`, or refuses it (not counted).
    pub fn check(&self, agent: &str, now: Instant) -> Result<Budget, Budget> {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        let times = agents.entry(agent.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= self.window)
        {
            times.pop_front();
        }
        let admitted = times.len() < self.limit as usize;
        if admitted {
            times.push_back(now);
        }
        let reset_secs = times.front().map_or(0, |&oldest| {
            let left = (oldest + self.window).saturating_duration_since(now);
            u64::try_from(left.as_millis().div_ceil(1000)).unwrap_or(u64::MAX)
        });
        let remaining = self
            .limit
            .saturating_sub(u32::try_from(times.len()).unwrap_or(u32::MAX));
        if admitted {
            Ok(Budget {
                remaining,
                reset_secs,
            })
        } else {
            Err(Budget {
                remaining: 0,
                reset_secs: reset_secs.max(1),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_window() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        let start = Instant::now();
        let first = limiter.check("a", start).expect("admitted");
        assert_eq!(
            first,
            Budget {
                remaining: 2,
                reset_secs: 60
            }
        );
        assert!(limiter.check("a", start + Duration::from_secs(10)).is_ok());
        let third = limiter
            .check("a", start + Duration::from_millis(20_500))
            .expect("admitted");
        assert_eq!(
            third,
            Budget {
                remaining: 0,
                reset_secs: 40
            }
        );
        let refused = limiter
            .check("a", start + Duration::from_secs(30))
            .expect_err("refused");
        assert_eq!(
            refused,
            Budget {
                remaining: 0,
                reset_secs: 30
            }
        );
        assert!(limiter.check("b", start).is_ok(), "budgets are per agent");
        assert!(
            limiter.check("a", start + Duration::from_secs(60)).is_ok(),
            "oldest left"
        );
        assert_eq!(limiter.policy(), "\"agent\";q=3;w=60");
        assert_eq!(
            RateLimiter::new(120, Duration::from_secs(60)).policy(),
            mochat_api::ratelimit::agent_policy()
        );
    }
}
