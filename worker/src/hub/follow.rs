//! Holding one upstream watch of a watched session while the live share
//! allows: a change made outside the worker (another agent, a person in
//! another client) reaches the session's watchers as soon as the upstream
//! has it, not at the next read of the list. At most [`HELD_MAX`] sessions
//! are held at once; the others, and a session whose held watch failed, are
//! followed through the list ([`super::poller`]).
//!
//! Cost: an idle held watch is one upstream request per
//! [`HELD_TIMEOUT_MS`] (2.4 a minute), plus one per change it brings in
//! (which a read after the list would have cost too): [`HELD_BURST`] back
//! to back, then one per [`refill_ms`]. Each is paid from the live share,
//! and only while a quarter of it is left for the list's work.

use std::rc::Rc;

use super::budget::Spender;
use super::calls::read_events;
use super::poller::{POLL_RESERVE, spare_beyond};
use super::watch::{READ_LIMIT, sends_answered, take_in};
use super::{Hub, Slot, Wake};
use crate::limiter::now_ms;

/// Sessions held with an upstream watch at once, at most.
pub const HELD_MAX: usize = 4;
/// How long one held upstream watch waits (the live service's clients use
/// the same, inside their 30 s HTTP timeout).
pub const HELD_TIMEOUT_MS: u64 = 25_000;
/// After a held watch failed (an outage, a 429), the list follows the
/// session for this long before the hub holds it again.
const RETRY_MS: u64 = 5_000;
/// After a held watch gave way (budget), the wait before holding it again.
const YIELD_MS: u64 = 1_000;
/// Held watches of one session that may start back to back (each message
/// of a quick exchange brought at once); after that they come at
/// [`refill_ms`], and in between the list follows the session.
pub const HELD_BURST: f64 = 5.0;

/// Time for one more held watch of a session: all held sessions together
/// refill at most half of the live share (8 s each with the defaults).
pub fn refill_ms(live_share: u32, window_ms: u64) -> f64 {
    let per_window = f64::from(live_share.max(1)) / (2.0 * HELD_MAX as f64);
    window_ms as f64 / per_window
}

/// Takes one held watch from the session's allowance; `Err` holds how long
/// until there is one.
fn take_turn(hub: &Hub, session_id: &str, now: u64) -> Result<(), u64> {
    let mut core = hub.core.borrow_mut();
    let refill = refill_ms(core.budget.shares().live, core.budget.window_ms());
    let Some(slot) = core.slots.get_mut(session_id) else {
        return Ok(());
    };
    let since = now.saturating_sub(slot.turns_at) as f64;
    slot.turns = (slot.turns + since / refill).min(HELD_BURST);
    slot.turns_at = now;
    if slot.turns >= 1.0 {
        slot.turns -= 1.0;
        Ok(())
    } else {
        Err(((1.0 - slot.turns) * refill).ceil() as u64)
    }
}

/// Whether the live share can spare a held watch: beyond the list reads of
/// the next few seconds, a quarter of it stays for reading sessions the list
/// shows changed. When the share runs low, held sessions go back to the
/// list, which costs nothing while a session is quiet.
fn spare_for_holds(hub: &Hub) -> bool {
    let quarter = hub.core.borrow().budget.shares().live / 4;
    spare_beyond(hub, POLL_RESERVE + quarter)
}

/// Gives back a turn [`take_turn`] took for a watch that did not go out.
fn give_back_turn(hub: &Hub, session_id: &str) {
    if let Some(slot) = hub.core.borrow_mut().slots.get_mut(session_id) {
        slot.turns = (slot.turns + 1.0).min(HELD_BURST);
    }
}

/// Holds an upstream watch for watched sessions that have none, up to
/// [`HELD_MAX`].
pub fn start(hub: &Rc<Hub>) {
    let now = now_ms();
    let blocked = hub.core.borrow().blocked_until > now;
    if blocked || !spare_for_holds(hub) {
        return;
    }
    let chosen: Vec<String> = {
        let mut core = hub.core.borrow_mut();
        let held = core.slots.values().filter(|s| s.held).count();
        let free = HELD_MAX.saturating_sub(held);
        let ids: Vec<String> = core
            .slots
            .iter()
            .filter(|(_, s)| can_hold(s, now))
            .map(|(id, _)| id.clone())
            .take(free)
            .collect();
        for id in &ids {
            if let Some(slot) = core.slots.get_mut(id) {
                slot.held = true;
            }
        }
        ids
    };
    for id in chosen {
        worker::wasm_bindgen_futures::spawn_local(hold(Rc::clone(hub), id));
    }
}

/// Watched now, known to the hub from its start, and not being read.
fn can_hold(slot: &Slot, now: u64) -> bool {
    !slot.held
        && !slot.busy
        && slot.member
        && slot.hot_until > now
        && slot.hold_after <= now
        && slot.feed.is_aligned()
}

/// Why a held watch ended.
enum End {
    /// Nobody watches the session any more (or it was forgotten).
    Cold,
    /// The live share is short, the session used its turns, or another
    /// read of it began: the list follows it for that long (ms).
    Yielded(u64),
    /// The upstream refused or could not be reached.
    Failed,
}

/// One upstream watch after another, from the feed's upstream cursor, while
/// browsers watch the session and the budget allows.
async fn hold(hub: Rc<Hub>, session_id: String) {
    let end = loop {
        let from = {
            let core = hub.core.borrow();
            match core.slots.get(&session_id) {
                Some(s) if s.hot_until <= now_ms() && s.waiters.iter().all(Wake::is_spent) => {
                    break End::Cold;
                }
                Some(s) if s.feed.is_aligned() && !s.busy => s.feed.upstream_cursor(),
                Some(_) => break End::Yielded(YIELD_MS),
                None => break End::Cold,
            }
        };
        if !spare_for_holds(&hub) {
            break End::Yielded(YIELD_MS);
        }
        if let Err(wait) = take_turn(&hub, &session_id, now_ms()) {
            break End::Yielded(wait);
        }
        if !hub.spend(Spender::Live, 1).allowed {
            give_back_turn(&hub, &session_id);
            break End::Yielded(YIELD_MS);
        }
        if let Some(slot) = hub.core.borrow_mut().slots.get_mut(&session_id) {
            // This watch brings whatever the list saw change until now.
            slot.listed_while_held = false;
        }
        match read_events(&hub, &session_id, from, READ_LIMIT, HELD_TIMEOUT_MS).await {
            Ok(Ok(page)) => {
                sends_answered(&hub, &session_id).await;
                let more = page.events.len() >= READ_LIMIT as usize;
                take_in(&hub, &session_id, from, page, more);
            }
            Ok(Err(reply)) => {
                worker::console_log!(
                    "mochat-worker: a held watch of a session was refused ({})",
                    reply.status
                );
                if matches!(reply.status, 403 | 404)
                    && let Some(slot) = hub.core.borrow_mut().slots.get_mut(&session_id)
                {
                    // Not the agent's (any more): asked again before it is followed.
                    slot.member = false;
                }
                break End::Failed;
            }
            Err(e) => {
                worker::console_log!("mochat-worker: a held watch of a session failed: {e:?}");
                break End::Failed;
            }
        }
    };
    let now = now_ms();
    let mut core = hub.core.borrow_mut();
    let blocked_until = core.blocked_until;
    if let Some(slot) = core.slots.get_mut(&session_id) {
        slot.held = false;
        slot.hold_after = match end {
            End::Cold => 0,
            End::Yielded(wait) => now + wait,
            End::Failed => {
                // Neither held nor read for a while (an outage, a 429).
                let after = (now + RETRY_MS).max(blocked_until);
                slot.read_after = after;
                after
            }
        };
        if !matches!(end, End::Cold) || slot.listed_while_held {
            // The list did not mark what changed while the session was held:
            // one read makes sure nothing slipped between two watches.
            slot.dirty = Some(true);
        }
        slot.listed_while_held = false;
    }
    drop(core);
    hub.poke_poller();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_watches_refill_within_half_the_live_share() {
        // Defaults: a live share of 60 a minute, four sessions held.
        assert_eq!(refill_ms(60, 60_000), 8_000.0);
        // A larger budget refills faster; a zero share does not divide by 0.
        assert!(refill_ms(500_000, 60_000) < 1.0);
        assert_eq!(refill_ms(0, 60_000), 480_000.0);
    }
}
