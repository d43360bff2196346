//! The agent's request budget as the worker reports it (`RateLimit`,
//! `Retry-After`), for the rate-limit banner and for pacing background refreshes.

/// What one answer said about the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    /// Requests allowed per window (`RateLimit-Policy`'s `q`), when sent.
    pub limit: Option<u32>,
    /// Requests left in the window.
    pub remaining: u32,
    /// Seconds until the oldest request leaves the window.
    pub reset_secs: u64,
    /// Set on a 429: seconds to wait before trying again.
    pub retry_after: Option<u64>,
}

impl RateInfo {
    /// Reads `RateLimit: "agent";r=<remaining>;t=<secs>`, the policy's
    /// `q=<limit>` and, on a 429, `Retry-After`.
    pub fn from_headers(
        policy: Option<&str>,
        rate: Option<&str>,
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
        for part in rate?.split(';') {
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

    /// Seconds the banner counts down from, if the budget is spent.
    pub fn wait_secs(&self) -> Option<u64> {
        self.retry_after
            .or((self.remaining == 0).then_some(self.reset_secs.max(1)))
    }

    /// Whether background refreshes should hold back (few requests left).
    pub fn is_low(&self) -> bool {
        self.remaining < 20
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn reads_the_draft_11_header() {
        let info = RateInfo::from_headers(
            Some("\"agent\";q=120;w=60"),
            Some("\"agent\";r=119;t=60"),
            None,
            200,
        )
        .expect("parses");
        assert_eq!(
            info,
            RateInfo {
                limit: Some(120),
                remaining: 119,
                reset_secs: 60,
                retry_after: None
            }
        );
        assert_eq!(info.wait_secs(), None);
        assert!(!info.is_low());
    }

    #[wasm_bindgen_test]
    fn a_429_counts_down_from_retry_after() {
        let info = RateInfo::from_headers(None, Some("\"agent\";r=0;t=42"), Some("42"), 429)
            .expect("parses");
        assert_eq!(info.wait_secs(), Some(42));
        let spent =
            RateInfo::from_headers(None, Some("\"agent\";r=0;t=0"), None, 200).expect("parses");
        assert_eq!(spent.wait_secs(), Some(1));
        assert!(RateInfo::from_headers(None, None, None, 200).is_none());
        assert!(RateInfo::from_headers(None, Some("garbage"), None, 200).is_none());
    }
}
