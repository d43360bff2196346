//! The hub's own reading of the upstream, while browsers watch: the agent's
//! session list every [`poll_interval_ms`] (newest activity first; in the
//! live dialect only sessions updated since the last read), then the events
//! of only the watched sessions that changed, in order, within the hub's
//! live share. A change outside the worker reaches the watchers within
//! about one interval, however many sessions are watched; sooner for the
//! few sessions the hub holds an upstream watch of ([`super::follow`]).
//!
//! It runs while something is watched and stops on its own afterwards.

use std::rc::Rc;
use std::time::Duration;

use futures::future::select;
use mochat_api::requests::PageQuery;
use mochat_api::{Route, SessionPage};
use worker::Delay;

use super::budget::Spender;
use super::list::parse_ms;
use super::watch::{HOT_MS, align, read_from};
use super::{Hub, Wake, follow, wake_all};
use crate::limiter::now_ms;
use crate::upstream::{Dialect, Extra};

/// The shortest time between two reads of the list.
pub const MIN_POLL_MS: u64 = 2_000;
/// List reads kept in reserve when the hub reads a session (about 6 s of them).
pub const POLL_RESERVE: u32 = 3;
/// After a read of a session failed, the wait before the next (the others
/// are read meanwhile).
const READ_RETRY_MS: u64 = 5_000;
/// How long a session stays quiet before the hub reads it only to confirm
/// its own sends (a change meanwhile makes it read at once, confirming both).
pub const QUIET_MS: u64 = 10_000;

/// Time between reads of the list: at most 5/8 of the live share goes to
/// them, the rest to reading the sessions that changed.
pub fn poll_interval_ms(live_share: u32, window_ms: u64) -> u64 {
    let polls = (u64::from(live_share) * 5 / 8).max(1);
    (window_ms / polls).max(MIN_POLL_MS)
}

/// What the poller should do next.
enum Work {
    /// Read the session's events from its start.
    Align(String),
    /// Read the session's events after the feed's upstream cursor.
    CatchUp(String, u64),
}

/// Runs until nothing has been watched for a while.
pub async fn run(hub: Rc<Hub>) {
    let mut next_poll = 0u64;
    let mut list_read_at: Option<String> = None;
    loop {
        let now = now_ms();
        if !anything_hot(&hub, now) {
            break;
        }
        let (live_share, window_ms) = {
            let core = hub.core.borrow();
            (core.budget.shares().live, core.budget.window_ms())
        };
        if now >= next_poll {
            if hub.spend(Spender::Live, 1).allowed {
                poll_list(&hub, &mut list_read_at).await;
                next_poll = now_ms() + poll_interval_ms(live_share, window_ms);
            } else {
                let wait = hub
                    .core
                    .borrow_mut()
                    .budget
                    .wait_ms(Spender::Live, 1, now_ms());
                next_poll = now_ms() + wait.max(250);
            }
        }
        // Sessions: the urgent first, while the live share lasts, keeping
        // enough of it for the list reads of the next few seconds.
        while let Some(work) = next_work(&hub) {
            if !spare_beyond(&hub, POLL_RESERVE) {
                break;
            }
            let outcome = match &work {
                Work::Align(id) => align(&hub, id, Spender::Live).await,
                Work::CatchUp(id, from) => catch_up(&hub, id, *from).await,
            };
            if let Err(e) = outcome {
                let id = match &work {
                    Work::Align(id) | Work::CatchUp(id, _) => id.clone(),
                };
                // Leave it for a later round (a 429, an outage).
                if let Some(slot) = hub.core.borrow_mut().slots.get_mut(&id) {
                    slot.hot_until = slot.hot_until.min(now_ms() + HOT_MS);
                    slot.read_after = now_ms() + READ_RETRY_MS;
                }
                worker::console_log!("mochat-worker: live read of a session failed: {e:?}");
                break;
            }
        }
        follow::start(&hub);
        hub.schedule_flush();
        forget_cold(&hub);
        let (wake, rx) = Wake::new();
        *hub.poller_wake.borrow_mut() = Some(wake);
        let sleep = next_poll.saturating_sub(now_ms()).clamp(50, 1_000);
        let timer = Delay::from(Duration::from_millis(sleep));
        futures::pin_mut!(timer);
        let _ = select(rx, timer).await;
    }
    hub.poller_running.set(false);
    forget_cold(&hub);
}

/// Whether the live share has a request to spare now beyond `keep` more.
pub fn spare_beyond(hub: &Hub, keep: u32) -> bool {
    let mut core = hub.core.borrow_mut();
    core.budget.wait_ms(Spender::Live, 1 + keep, now_ms()) == 0
}

fn anything_hot(hub: &Hub, now: u64) -> bool {
    let core = hub.core.borrow();
    core.list_hot_until > now || core.slots.values().any(|s| s.hot_until > now)
}

/// The most urgent session read: aligning a watched session the hub knows
/// nothing of, then events watchers wait for, then confirmations.
fn next_work(hub: &Hub) -> Option<Work> {
    let now = now_ms();
    let core = hub.core.borrow();
    let hot = core.slots.iter().filter(|(_, s)| {
        s.hot_until > now && !s.busy && !s.held && s.member && s.read_after <= now
    });
    let mut best: Option<(u8, Work)> = None;
    for (id, slot) in hot {
        let candidate = if !slot.feed.is_aligned() {
            let waiting = slot.waiters.iter().any(|w| !w.is_spent());
            (waiting && (slot.wanted || slot.dirty.is_some())).then(|| (0, Work::Align(id.clone())))
        } else {
            match slot.dirty {
                Some(true) => Some((1, Work::CatchUp(id.clone(), slot.feed.upstream_cursor()))),
                Some(false) if now >= slot.quiet_since + QUIET_MS => {
                    Some((2, Work::CatchUp(id.clone(), slot.feed.upstream_cursor())))
                }
                _ => None,
            }
        };
        if let Some((rank, work)) = candidate
            && best.as_ref().is_none_or(|(r, _)| rank < *r)
        {
            best = Some((rank, work));
        }
    }
    best.map(|(_, w)| w)
}

async fn catch_up(hub: &Rc<Hub>, session_id: &str, from: u64) -> Result<(), crate::respond::Halt> {
    if let Some(slot) = hub.core.borrow_mut().slots.get_mut(session_id) {
        slot.busy = true;
    }
    let outcome = read_from(hub, session_id, from, Spender::Live).await;
    if let Some(slot) = hub.core.borrow_mut().slots.get_mut(session_id) {
        slot.busy = false;
        wake_all(&mut slot.waiters);
    }
    outcome
}

/// Reads the list (already paid for) and marks what changed.
async fn poll_list(hub: &Rc<Hub>, read_at: &mut Option<String>) {
    let Ok(upstream) = hub.upstream().cloned() else {
        return;
    };
    let Ok(token) = hub.token() else {
        return;
    };
    let extra = Extra {
        updated_after: read_at.clone(),
    };
    let list = Route::ListSessions {
        query: PageQuery {
            limit: Some(mochat_api::limits::PAGE_MAX),
            before: None,
        },
    };
    let Ok(reply) = upstream.call(Some(&token), &list, None, &extra).await else {
        return;
    };
    if reply.status == 429 {
        hub.blocked_for(reply.retry_after.as_deref());
        return;
    }
    let Some(page) = reply.parse::<SessionPage>() else {
        return;
    };
    let live = upstream.dialect == Dialect::Live;
    let now = now_ms();
    let mut newest = read_at.as_deref().map_or(0, parse_ms);
    let mut core = hub.core.borrow_mut();
    let core = &mut *core;
    let mut list_changed = false;
    for session in page.sessions {
        let changed_at = parse_ms(&session.updated_at);
        newest = newest.max(changed_at);
        let id = session.session_id.clone();
        if !core.list.upsert(session) {
            continue;
        }
        list_changed = true;
        let Some(slot) = core.slots.get_mut(&id) else {
            continue;
        };
        slot.member = true;
        if slot.held {
            // Its held upstream watch brings the change.
            slot.known_ms = slot.known_ms.max(changed_at);
            slot.listed_while_held = true;
        } else if slot.hot_until > now {
            // Watched and changed: read its events (from its start, when the
            // hub did not follow it yet). A change no newer than what the
            // feed already has (a send through the hub) only needs its
            // confirmation, whenever there is budget for it.
            let known = slot.feed.is_aligned() && changed_at <= slot.known_ms;
            if known {
                slot.quiet_since = now;
            } else {
                slot.dirty_ms = slot.dirty_ms.max(changed_at);
            }
            slot.dirty = Some(slot.dirty == Some(true) || !known);
        }
    }
    if list_changed {
        wake_all(&mut core.list_waiters);
    }
    if live && newest > 0 {
        // Changes within the same millisecond as the newest are read again.
        let back = chrono::DateTime::from_timestamp_millis(
            i64::try_from(newest.saturating_sub(1)).unwrap_or(0),
        );
        *read_at = back.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
}

/// Forgets the feeds of sessions nobody watched for a while (their events
/// would go stale); the list and the agent stay.
fn forget_cold(hub: &Hub) {
    let now = now_ms();
    let mut core = hub.core.borrow_mut();
    core.slots
        .retain(|_, s| s.hot_until + 10 * HOT_MS > now || !s.waiters.iter().all(Wake::is_spent));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_take_five_eighths_of_the_live_share() {
        assert_eq!(poll_interval_ms(48, 60_000), 2_000);
        assert_eq!(poll_interval_ms(8, 60_000), 12_000);
        assert_eq!(poll_interval_ms(1000, 60_000), MIN_POLL_MS);
        assert_eq!(poll_interval_ms(0, 60_000), 60_000);
    }
}
