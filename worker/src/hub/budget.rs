//! The agent's request budget, split by who spends it. One exact sliding
//! window holds every upstream request the hub makes for its agent; widget
//! visitors together and the hub's own live traffic each have a cap inside
//! it, so whatever they do, people operating the agent keep the rest.
//!
//! With the defaults (limit 120 per 60 s, widget share 30 %, live share 50 %)
//! visitors can take at most 36 requests of any 60 s window, the hub's live
//! delivery at most 60 (half of it reading the list every 2 s, the rest
//! reading the sessions that changed and holding upstream watches), and an
//! operator always has at least 24 left.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

pub use crate::limiter::Decision;

/// Who spends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Spender {
    /// A signed-in operator: a send, opening a session, paging back, …
    Person,
    /// A widget visitor (their sends and pages, opening their conversation).
    Visitor,
    /// The hub itself: reading the session list and catching up sessions
    /// for the browsers that watch them.
    Live,
}

/// Percent of the limit widget visitors together may spend, by default.
pub const WIDGET_SHARE_PERCENT: u32 = 30;
/// Percent of the limit the hub's live delivery may spend, by default.
pub const LIVE_SHARE_PERCENT: u32 = 50;

/// The limit and the caps inside it, in requests per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shares {
    pub limit: u32,
    pub visitors: u32,
    pub live: u32,
}

impl Shares {
    /// Caps from percentages of `limit` (each at least 1, the two together
    /// leaving at least one request for people).
    pub fn from_percent(limit: u32, visitors_pct: u32, live_pct: u32) -> Self {
        let limit = limit.max(1);
        let part = |pct: u32| (u64::from(limit) * u64::from(pct.min(100)) / 100) as u32;
        let mut visitors = part(visitors_pct).max(1);
        let mut live = part(live_pct).max(1);
        while visitors + live >= limit && (visitors > 1 || live > 1) {
            if live >= visitors && live > 1 {
                live -= 1;
            } else {
                visitors -= 1;
            }
        }
        Self {
            limit,
            visitors,
            live,
        }
    }

    fn cap(&self, who: Spender) -> u32 {
        match who {
            Spender::Person => self.limit,
            Spender::Visitor => self.visitors,
            Spender::Live => self.live,
        }
    }
}

/// The window: when each admitted request was made, and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    shares: Shares,
    window_ms: u64,
    hits: VecDeque<(u64, Spender)>,
}

impl Budget {
    pub fn new(shares: Shares, window_ms: u64) -> Self {
        Self {
            shares,
            window_ms,
            hits: VecDeque::new(),
        }
    }

    /// A budget holding requests made earlier (restored after a restart).
    pub fn with_hits(
        shares: Shares,
        window_ms: u64,
        hits: impl IntoIterator<Item = (u64, Spender)>,
    ) -> Self {
        let mut hits: Vec<(u64, Spender)> = hits.into_iter().collect();
        hits.sort_by_key(|(at, _)| *at);
        Self {
            shares,
            window_ms,
            hits: hits.into(),
        }
    }

    pub fn shares(&self) -> Shares {
        self.shares
    }

    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// The requests still in the window at `now`, oldest first.
    pub fn hits(&mut self, now: u64) -> impl Iterator<Item = &(u64, Spender)> {
        self.prune(now);
        self.hits.iter()
    }

    /// Drops requests that left the window: one made at `t` is inside while `now - t < window`.
    fn prune(&mut self, now: u64) {
        if let Some(cutoff) = now.checked_sub(self.window_ms) {
            while self.hits.front().is_some_and(|&(t, _)| t <= cutoff) {
                self.hits.pop_front();
            }
        }
    }

    /// Requests in the window: all of them, or one spender's.
    pub fn used(&self, who: Option<Spender>) -> u32 {
        let n = self
            .hits
            .iter()
            .filter(|(_, s)| who.is_none_or(|w| *s == w))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Milliseconds from `now` until the `k`-th oldest request (0-based) of
    /// `who` (all when `None`) leaves the window.
    fn until_leaves(&self, who: Option<Spender>, k: usize, now: u64) -> u64 {
        self.hits
            .iter()
            .filter(|(_, s)| who.is_none_or(|w| *s == w))
            .nth(k)
            .map_or(0, |&(t, _)| (t + self.window_ms).saturating_sub(now))
    }

    /// Milliseconds until `who` could spend `n` requests (0: now).
    pub fn wait_ms(&mut self, who: Spender, n: u32, now: u64) -> u64 {
        self.prune(now);
        let n = n.max(1);
        let total_over = (self.used(None) + n).saturating_sub(self.shares.limit);
        let mut wait = if total_over > 0 {
            self.until_leaves(None, total_over as usize - 1, now)
        } else {
            0
        };
        if who != Spender::Person {
            let own_over = (self.used(Some(who)) + n).saturating_sub(self.shares.cap(who));
            if own_over > 0 {
                wait = wait.max(self.until_leaves(Some(who), own_over as usize - 1, now));
            }
        }
        wait
    }

    /// Spends `n` requests for `who` at `now` if the window and `who`'s cap
    /// both have room for all of them; otherwise spends nothing.
    pub fn try_spend(&mut self, who: Spender, n: u32, now: u64) -> Decision {
        let wait = self.wait_ms(who, n, now);
        if wait > 0 || n > self.shares.cap(who) {
            return Decision {
                allowed: false,
                remaining: self.remaining(),
                reset_secs: wait.div_ceil(1000).max(1),
            };
        }
        for _ in 0..n {
            // Keep the deque ordered even if the clock steps back.
            let at = self.hits.back().map_or(now, |&(last, _)| now.max(last));
            self.hits.push_back((at, who));
        }
        Decision {
            allowed: true,
            ..self.state(now)
        }
    }

    /// The agent's state at `now`, spending nothing.
    pub fn state(&mut self, now: u64) -> Decision {
        self.prune(now);
        Decision {
            allowed: self.used(None) < self.shares.limit,
            remaining: self.remaining(),
            reset_secs: self.until_leaves(None, 0, now).div_ceil(1000),
        }
    }

    fn remaining(&self) -> u32 {
        self.shares.limit.saturating_sub(self.used(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    fn budget() -> Budget {
        Budget::new(Shares::from_percent(120, 30, 50), MIN)
    }

    #[test]
    fn default_shares() {
        let s = Shares::from_percent(120, WIDGET_SHARE_PERCENT, LIVE_SHARE_PERCENT);
        assert_eq!((s.limit, s.visitors, s.live), (120, 36, 60));
        let tiny = Shares::from_percent(2, 50, 50);
        assert_eq!((tiny.visitors, tiny.live), (1, 1));
        let small = Shares::from_percent(10, 90, 90);
        assert!(small.visitors + small.live < 10);
    }

    #[test]
    fn a_person_gets_exactly_the_limit() {
        let mut b = budget();
        for i in 0..120 {
            let d = b.try_spend(Spender::Person, 1, 1_000 + i);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 119 - u32::try_from(i).expect("small"));
        }
        let refused = b.try_spend(Spender::Person, 1, 2_000);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        // The oldest (at 1 000) leaves at 61 000: 59 s from 2 000.
        assert_eq!(refused.retry_after(), 59);
        assert_eq!(b.used(None), 120, "a refusal is not counted");
        assert!(!b.try_spend(Spender::Person, 1, 60_999).allowed);
        assert!(b.try_spend(Spender::Person, 1, 61_000).allowed);
    }

    #[test]
    fn visitors_and_live_traffic_stop_at_their_caps_and_people_keep_the_rest() {
        let mut b = budget();
        let mut now = 10_000;
        while b.try_spend(Spender::Visitor, 1, now).allowed {
            now += 1;
        }
        assert_eq!(b.used(Some(Spender::Visitor)), 36);
        while b.try_spend(Spender::Live, 1, now).allowed {
            now += 1;
        }
        assert_eq!(b.used(Some(Spender::Live)), 60);
        let mut people = 0;
        while b.try_spend(Spender::Person, 1, now).allowed {
            people += 1;
        }
        assert_eq!(people, 24);
        // A refused visitor waits until the oldest visitor request leaves.
        let d = b.try_spend(Spender::Visitor, 1, now);
        assert!(!d.allowed);
        assert_eq!(d.reset_secs, (10_000 + MIN - now).div_ceil(1000));
    }

    #[test]
    fn people_can_use_what_others_leave() {
        let mut b = budget();
        for i in 0..100 {
            assert!(b.try_spend(Spender::Person, 1, 1_000 + i).allowed);
        }
        // 20 left: visitors may take them (their cap is 36), then nobody can.
        for i in 0..20 {
            assert!(b.try_spend(Spender::Visitor, 1, 2_000 + i).allowed);
        }
        assert!(!b.try_spend(Spender::Visitor, 1, 3_000).allowed);
        assert!(!b.try_spend(Spender::Live, 1, 3_000).allowed);
        assert!(!b.try_spend(Spender::Person, 1, 3_000).allowed);
    }

    #[test]
    fn several_at_once_or_none() {
        let mut b = Budget::new(Shares::from_percent(3, 30, 50), MIN);
        assert!(b.try_spend(Spender::Person, 2, 0).allowed);
        let d = b.try_spend(Spender::Person, 2, 1);
        assert!(!d.allowed);
        assert_eq!(b.used(None), 2, "nothing spent on a refusal");
        assert!(b.try_spend(Spender::Person, 1, 2).allowed);
        assert_eq!(b.wait_ms(Spender::Person, 1, 2), MIN - 2);
        assert!(!b.try_spend(Spender::Visitor, 5, 2).allowed, "over any cap");
    }

    #[test]
    fn state_and_restore() {
        let mut b = Budget::with_hits(
            Shares::from_percent(120, 30, 50),
            MIN,
            [(30_000, Spender::Live), (10_000, Spender::Person)],
        );
        let s = b.state(40_000);
        assert_eq!((s.remaining, s.reset_secs), (118, 30));
        assert_eq!(b.state(75_000).remaining, 119);
        assert_eq!(
            b.state(200_000),
            Decision {
                allowed: true,
                remaining: 120,
                reset_secs: 0
            }
        );
    }
}
