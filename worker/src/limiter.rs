//! Exact sliding windows: the pure [`SlidingWindow`] (also a widget
//! visitor's sub-quota in the agent's hub), and the per-address throttle
//! ([`SignInThrottle`], a Durable Object per client address and purpose:
//! failed sign-ins, visitors minted, conversations opened).
//!
//! A Durable Object runs one event at a time and nothing between reading the
//! window and writing it awaits, so concurrent requests are serialised: a
//! limit holds exactly, however many worker instances call it. Timestamps
//! are also written to the object's SQLite storage, so a restart or
//! eviction does not forget a window.

use std::cell::RefCell;
use std::collections::VecDeque;

use mochat_api::edge::{SIGN_IN_FAILURES, SIGN_IN_WINDOW_SECS};
use mochat_api::limits::RATE_WINDOW_SECS;
use serde::{Deserialize, Serialize};
use worker::{
    Date, DurableObject, Env, Method, Request, Response, Result, SqlStorage, State, durable_object,
};

use crate::durable::Object;

/// Timestamps (ms) of the events inside a window of `window_ms`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlidingWindow {
    limit: u32,
    window_ms: u64,
    hits: VecDeque<u64>,
}

/// What a window says about one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Whether the event was admitted (or, for a check, would be).
    pub allowed: bool,
    /// Events still allowed in the window.
    pub remaining: u32,
    /// Whole seconds, rounded up, until the oldest event leaves the window (0 when empty).
    pub reset_secs: u64,
}

impl Decision {
    /// `Retry-After` for a refusal: the reset, at least one second.
    pub fn retry_after(&self) -> u64 {
        self.reset_secs.max(1)
    }
}

impl SlidingWindow {
    pub fn new(limit: u32, window_ms: u64) -> Self {
        Self {
            limit,
            window_ms,
            hits: VecDeque::new(),
        }
    }

    /// A window holding earlier events (any order; sorted here).
    pub fn with_hits(limit: u32, window_ms: u64, hits: impl IntoIterator<Item = u64>) -> Self {
        let mut hits: Vec<u64> = hits.into_iter().collect();
        hits.sort_unstable();
        Self {
            limit,
            window_ms,
            hits: hits.into(),
        }
    }

    /// Drops events that left the window by `now`; returns the cut-off: events
    /// at or before it are gone (none before a whole window has passed since
    /// the epoch). An event at `t` is inside while `now - t < window`.
    pub fn prune(&mut self, now: u64) -> Option<u64> {
        let cutoff = now.checked_sub(self.window_ms)?;
        while self.hits.front().is_some_and(|&t| t <= cutoff) {
            self.hits.pop_front();
        }
        Some(cutoff)
    }

    /// The state at `now` without recording anything.
    pub fn check(&mut self, now: u64) -> Decision {
        self.prune(now);
        self.decision(now, self.len() < self.limit)
    }

    /// Admits an event at `now` if the window has room, and says so.
    pub fn try_admit(&mut self, now: u64) -> Decision {
        self.prune(now);
        if self.len() < self.limit {
            self.push(now);
            self.decision(now, true)
        } else {
            self.decision(now, false)
        }
    }

    /// Records an event at `now` whatever the count (a failed sign-in).
    pub fn record(&mut self, now: u64) -> Decision {
        self.prune(now);
        self.push(now);
        self.decision(now, self.len() <= self.limit)
    }

    /// Forgets every event.
    pub fn clear(&mut self) {
        self.hits.clear();
    }

    pub fn len(&self) -> u32 {
        u32::try_from(self.hits.len()).unwrap_or(u32::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }

    fn push(&mut self, now: u64) {
        // Keep the deque ordered even if the clock steps back.
        let at = self.hits.back().map_or(now, |&last| now.max(last));
        self.hits.push_back(at);
    }

    fn decision(&self, now: u64, allowed: bool) -> Decision {
        let reset_ms = self
            .hits
            .front()
            .map_or(0, |&oldest| (oldest + self.window_ms).saturating_sub(now));
        Decision {
            allowed,
            remaining: self.limit.saturating_sub(self.len()),
            reset_secs: reset_ms.div_ceil(1000),
        }
    }
}

/// Which rows to delete from storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delete {
    Nothing,
    All,
    UpTo(u64),
}

/// The storage writes that take a window from `before` to `after`. Window
/// operations only prune at the front (up to `cutoff`), append at the back, or clear.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SyncPlan {
    delete: Delete,
    insert: Vec<u64>,
}

impl SyncPlan {
    fn between(before: &VecDeque<u64>, after: &VecDeque<u64>, cutoff: Option<u64>) -> Self {
        let pruned = cutoff.map_or(0, |c| before.iter().take_while(|&&t| t <= c).count());
        let kept = before.len() - pruned;
        if after.len() < kept {
            // Cleared (and possibly appended to since).
            return Self {
                delete: Delete::All,
                insert: after.iter().copied().collect(),
            };
        }
        Self {
            delete: match cutoff {
                Some(c) if pruned > 0 => Delete::UpTo(c),
                _ => Delete::Nothing,
            },
            insert: after.iter().skip(kept).copied().collect(),
        }
    }
}

/// A [`SlidingWindow`] mirrored into a Durable Object's SQLite storage.
pub(crate) struct StoredWindow {
    sql: SqlStorage,
    limit: u32,
    window_ms: u64,
    window: RefCell<Option<SlidingWindow>>,
}

#[derive(Deserialize)]
struct HitRow {
    at: f64,
}

impl StoredWindow {
    pub(crate) fn new(state: &State, limit: u32, window_ms: u64) -> Self {
        Self {
            sql: state.storage().sql(),
            limit,
            window_ms,
            window: RefCell::new(None),
        }
    }

    /// Runs `f` on the window (loaded on first use), then writes what changed.
    pub(crate) fn update(
        &self,
        now: u64,
        f: impl FnOnce(&mut SlidingWindow) -> Decision,
    ) -> Result<Decision> {
        let mut slot = self.window.borrow_mut();
        let window = match slot.as_mut() {
            Some(w) => w,
            None => {
                self.sql.exec(
                    "CREATE TABLE IF NOT EXISTS hits (at INTEGER NOT NULL)",
                    None,
                )?;
                let rows: Vec<HitRow> = self.sql.exec("SELECT at FROM hits", None)?.to_array()?;
                let hits = rows.into_iter().map(|r| r.at as u64);
                slot.insert(SlidingWindow::with_hits(self.limit, self.window_ms, hits))
            }
        };
        let before = window.hits.clone();
        let decision = f(window);
        // The window's own length: a call may have set it (the shared budget).
        let plan = SyncPlan::between(&before, &window.hits, now.checked_sub(window.window_ms));
        match plan.delete {
            Delete::Nothing => {}
            Delete::All => {
                self.sql.exec("DELETE FROM hits", None)?;
            }
            Delete::UpTo(cutoff) => {
                self.sql
                    .exec("DELETE FROM hits WHERE at <= ?", vec![to_sql(cutoff)?])?;
            }
        }
        for at in plan.insert {
            self.sql
                .exec("INSERT INTO hits (at) VALUES (?)", vec![to_sql(at)?])?;
        }
        Ok(decision)
    }
}

fn to_sql(ms: u64) -> Result<worker::SqlStorageValue> {
    worker::SqlStorageValue::try_from_i64(i64::try_from(ms).map_err(|e| e.to_string())?)
}

/// A positive number from a test-only var (see worker/README.md), else `default`.
pub(crate) fn positive(env: &Env, name: &str, default: u64) -> u64 {
    crate::config::string(env, name)
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// The rate window in seconds (`RATE_WINDOW_SECS`, tests and benchmarks only; default 60).
pub(crate) fn window_secs(env: &Env) -> u64 {
    positive(env, crate::config::RATE_WINDOW_SECS, RATE_WINDOW_SECS)
}

pub(crate) fn now_ms() -> u64 {
    Date::now().as_millis()
}

/// What the worker asks an address's throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Attempt {
    /// Only whether sign-in is blocked (a malformed request).
    Check,
    /// The right password: clears the failures unless blocked.
    Success,
    /// A wrong password: counted unless blocked.
    Failure,
    /// One more of something limited to `limit` per window (a visitor
    /// minted, a conversation opened): counted if there is room.
    Admit { limit: u32 },
    /// A sign-in against the budget all addresses share: refused while
    /// `limit` failures are in the last `window_secs`; a failure (`failed`)
    /// is counted; a success clears nothing.
    Shared {
        limit: u32,
        window_secs: u64,
        failed: bool,
    },
}

/// The throttle's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// Too many failures: refuse, whatever the password.
    pub blocked: bool,
    /// Seconds until the oldest failure leaves the window (for `Retry-After`).
    pub retry_after: u64,
}

/// The pure rule of the sign-in throttle: blocked while the window holds
/// [`SIGN_IN_FAILURES`] failures; a success clears it; a failure is counted.
pub fn sign_in_rule(window: &mut SlidingWindow, now: u64, attempt: Attempt) -> Verdict {
    let state = window.check(now);
    if !state.allowed {
        return Verdict {
            blocked: true,
            retry_after: state.retry_after(),
        };
    }
    match attempt {
        Attempt::Check | Attempt::Admit { .. } => {}
        Attempt::Success => window.clear(),
        Attempt::Failure | Attempt::Shared { failed: true, .. } => {
            window.record(now);
        }
        Attempt::Shared { failed: false, .. } => {}
    }
    Verdict {
        blocked: false,
        retry_after: 0,
    }
}

/// One per client address (`<address>`: failed sign-ins in the last
/// [`SIGN_IN_WINDOW_SECS`]) or per purpose and address (`<purpose>:<address>`:
/// what [`Attempt::Admit`] counts). `POST /attempt` with an [`Attempt`]
/// answers a [`Verdict`].
#[durable_object]
pub struct SignInThrottle {
    window: StoredWindow,
}

impl DurableObject for SignInThrottle {
    fn new(state: State, _env: Env) -> Self {
        Self {
            window: StoredWindow::new(&state, SIGN_IN_FAILURES, SIGN_IN_WINDOW_SECS * 1000),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let attempt: Attempt = req.json().await?;
        let now = now_ms();
        let mut verdict = Verdict {
            blocked: false,
            retry_after: 0,
        };
        self.window.update(now, |w| {
            if let Attempt::Admit { limit } = attempt {
                w.limit = limit.max(1);
                let d = w.try_admit(now);
                verdict = Verdict {
                    blocked: !d.allowed,
                    retry_after: if d.allowed { 0 } else { d.retry_after() },
                };
                return d;
            }
            if let Attempt::Shared {
                limit, window_secs, ..
            } = attempt
            {
                w.limit = limit.max(1);
                w.window_ms = window_secs.max(1) * 1000;
            }
            verdict = sign_in_rule(w, now, attempt);
            w.check(now)
        })?;
        Response::from_json(&verdict)
    }
}

/// Asks the throttle of `key` (an address, or `<purpose>:<address>`).
pub async fn throttle(env: &Env, key: &str, attempt: Attempt) -> Result<Verdict> {
    Object::named(env, crate::config::SIGN_IN_THROTTLE, key)?
        .call(Method::Post, "/attempt", Some(&attempt))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    #[test]
    fn admits_exactly_the_limit_in_any_window() {
        let mut w = SlidingWindow::new(120, MIN);
        let start = 1_000_000;
        for i in 0..120 {
            let d = w.try_admit(start + i * 10);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 119 - u32::try_from(i).expect("small"));
        }
        let refused = w.try_admit(start + 1200);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        // The oldest (at `start`) leaves at start + 60 s: 58.8 s away, rounded up.
        assert_eq!(refused.reset_secs, 59);
        assert_eq!(refused.retry_after(), 59);
        assert_eq!(w.len(), 120, "a refusal is not counted");
        // One millisecond before the oldest leaves: still full.
        assert!(!w.try_admit(start + MIN - 1).allowed);
        // When it leaves, exactly one more fits.
        assert!(w.try_admit(start + MIN).allowed);
        assert!(!w.try_admit(start + MIN).allowed);
        // After the second oldest (start + 10) leaves, another.
        assert!(w.try_admit(start + MIN + 10).allowed);
    }

    #[test]
    fn reset_is_rounded_up_and_zero_when_empty() {
        let mut w = SlidingWindow::new(3, MIN);
        assert_eq!(
            w.check(5_000),
            Decision {
                allowed: true,
                remaining: 3,
                reset_secs: 0
            }
        );
        let d = w.try_admit(5_000);
        assert_eq!(
            d,
            Decision {
                allowed: true,
                remaining: 2,
                reset_secs: 60
            }
        );
        assert_eq!(w.check(5_001).reset_secs, 60, "59.999 s rounds up");
        assert_eq!(w.check(6_000).reset_secs, 59);
        assert_eq!(w.check(64_999).reset_secs, 1);
        assert_eq!(
            w.check(65_000),
            Decision {
                allowed: true,
                remaining: 3,
                reset_secs: 0
            }
        );
        let full = SlidingWindow::new(1, MIN).try_admit(0);
        assert_eq!(full.retry_after(), 60);
        assert_eq!(
            Decision {
                allowed: false,
                remaining: 0,
                reset_secs: 0
            }
            .retry_after(),
            1
        );
    }

    #[test]
    fn restored_windows_behave_like_live_ones() {
        let mut w = SlidingWindow::with_hits(2, MIN, [30_000, 10_000, 90_000]);
        assert_eq!(w.prune(75_000), Some(15_000));
        assert_eq!(SlidingWindow::new(1, MIN).prune(59_999), None);
        assert_eq!(w.len(), 2);
        assert!(!w.try_admit(75_000).allowed);
        assert_eq!(w.check(75_000).reset_secs, 15);
    }

    #[test]
    fn a_clock_stepping_back_keeps_order() {
        let mut w = SlidingWindow::new(10, MIN);
        w.try_admit(100_000);
        w.try_admit(99_000);
        assert_eq!(w.hits, VecDeque::from([100_000, 100_000]));
        assert_eq!(
            w.check(50_000).reset_secs,
            110,
            "clock far behind: no underflow"
        );
    }

    #[test]
    fn storage_follows_the_window() {
        let q = |v: &[u64]| v.iter().copied().collect::<VecDeque<u64>>();
        // Admit with nothing to prune.
        let p = SyncPlan::between(&q(&[10, 20]), &q(&[10, 20, 30]), Some(5));
        assert_eq!(
            p,
            SyncPlan {
                delete: Delete::Nothing,
                insert: vec![30]
            }
        );
        // Prune one, admit one with the same timestamp as the last kept.
        let p = SyncPlan::between(&q(&[10, 20]), &q(&[20, 20]), Some(10));
        assert_eq!(
            p,
            SyncPlan {
                delete: Delete::UpTo(10),
                insert: vec![20]
            }
        );
        // A refusal writes nothing.
        let p = SyncPlan::between(&q(&[10, 20]), &q(&[10, 20]), Some(5));
        assert_eq!(
            p,
            SyncPlan {
                delete: Delete::Nothing,
                insert: vec![]
            }
        );
        // A clear.
        let p = SyncPlan::between(&q(&[10, 20]), &q(&[]), Some(5));
        assert_eq!(
            p,
            SyncPlan {
                delete: Delete::All,
                insert: vec![]
            }
        );
        // Everything pruned.
        let p = SyncPlan::between(&q(&[10, 20]), &q(&[]), Some(25));
        assert_eq!(
            p,
            SyncPlan {
                delete: Delete::UpTo(25),
                insert: vec![]
            }
        );
    }

    #[test]
    fn sign_in_blocks_after_five_failures_until_the_window_frees() {
        let mut w = SlidingWindow::new(SIGN_IN_FAILURES, SIGN_IN_WINDOW_SECS * 1000);
        for i in 0..5 {
            let v = sign_in_rule(&mut w, i * 1000, Attempt::Failure);
            assert!(!v.blocked, "failure {i} is answered 401, not 429");
        }
        // Even the right password is refused now.
        let v = sign_in_rule(&mut w, 5_000, Attempt::Success);
        assert_eq!(
            v,
            Verdict {
                blocked: true,
                retry_after: 55
            }
        );
        assert!(sign_in_rule(&mut w, 5_000, Attempt::Check).blocked);
        assert!(sign_in_rule(&mut w, 59_999, Attempt::Failure).blocked);
        assert_eq!(w.len(), 5, "blocked attempts are not counted");
        // The first failure leaves at 60 s: one more try.
        let v = sign_in_rule(&mut w, 60_000, Attempt::Success);
        assert!(!v.blocked);
        assert!(w.is_empty(), "a success clears the count");
        assert!(!sign_in_rule(&mut w, 60_001, Attempt::Failure).blocked);
    }

    #[test]
    fn the_shared_budget_counts_failures_from_everywhere_and_no_success_clears_it() {
        use mochat_api::edge::{SHARED_SIGN_IN_FAILURES, SHARED_SIGN_IN_WINDOW_SECS};
        let hour = SHARED_SIGN_IN_WINDOW_SECS * 1000;
        let mut w = SlidingWindow::new(SHARED_SIGN_IN_FAILURES, hour);
        let shared = |failed| Attempt::Shared {
            limit: SHARED_SIGN_IN_FAILURES,
            window_secs: SHARED_SIGN_IN_WINDOW_SECS,
            failed,
        };
        for i in 0..u64::from(SHARED_SIGN_IN_FAILURES) {
            assert!(!sign_in_rule(&mut w, i, shared(false)).blocked);
            assert!(
                !sign_in_rule(&mut w, i, shared(true)).blocked,
                "failure {i}"
            );
            if i == 10 {
                sign_in_rule(&mut w, i, shared(false));
                assert_eq!(w.len(), 11, "a success elsewhere clears nothing");
            }
        }
        let v = sign_in_rule(&mut w, 1_000, shared(false));
        assert!(v.blocked, "spent: everyone waits");
        assert_eq!(v.retry_after, SHARED_SIGN_IN_WINDOW_SECS - 1);
        assert!(sign_in_rule(&mut w, hour - 1, shared(false)).blocked);
        assert!(
            !sign_in_rule(&mut w, hour, shared(false)).blocked,
            "the oldest left"
        );
    }
}
