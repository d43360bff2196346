//! The agent's request budget as the worker reports it
//! ([`mochat_api::ratelimit`] reads the headers), for the rate-limit banner
//! and for pacing background refreshes.

pub use mochat_api::ratelimit::RateInfo;

/// Requests left under which background refreshes hold back.
const LOW: u32 = 20;

/// Whether background refreshes should hold back (few requests left).
pub fn is_low(info: &RateInfo) -> bool {
    info.remaining < LOW
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn background_work_holds_back_when_few_requests_are_left() {
        let with = |remaining| RateInfo {
            limit: Some(120),
            remaining,
            reset_secs: 60,
            retry_after: None,
        };
        assert!(!is_low(&with(119)));
        assert!(!is_low(&with(20)));
        assert!(is_low(&with(19)));
    }
}
