//! Live delivery to browsers: `GET …/watch` for one session and
//! `POST /edge/watch` for many sessions and the list, both answered from
//! the hub's feeds. A watch costs the agent's budget nothing: the hub alone
//! reads the upstream ([`super::poller`], [`super::follow`]), one read or
//! watch per session at a time, however many browsers watch it.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use futures::future::{Either, select};
use mochat_api::edge::{
    CURSOR_NOW, EdgeWatchRequest, EdgeWatchResponse, ListChanges, OPEN_WATCHES_MAX, SessionEvents,
    WATCH_MAX_SESSIONS,
};
use mochat_api::limits::{WATCH_LIMIT_DEFAULT, WATCH_TIMEOUT_DEFAULT_MS, WATCH_TIMEOUT_MAX_MS};
use mochat_api::requests::{WatchQuery, WatchResponse};
use mochat_api::routes::is_valid_id;
use mochat_api::{ApiError, ErrorCode, Route, Session};
use worker::{Delay, Response};

use super::budget::Spender;
use super::calls::{note_session, over_budget, read_events};
use super::feed::Batch;
use super::list::{CursorError, parse_ms};
use super::protocol::Caller;
use super::{Hub, Wake, views, visitors};
use crate::limiter::now_ms;
use crate::respond::Halt;
use crate::upstream::Extra;

/// How long a session or the list stays followed after its last watch.
pub const HOT_MS: u64 = 30_000;
/// A watcher from before the hub knew a session gets events stamped from
/// this long before it came (clocks of worker and upstream differ a little).
const CLOCK_MARGIN_MS: u64 = 5_000;
/// Events read per upstream request.
pub const READ_LIMIT: u32 = 1_000;

/// One open watch of a caller; the count drops when it ends.
struct OpenWatch {
    hub: Rc<Hub>,
    key: String,
}

impl Drop for OpenWatch {
    fn drop(&mut self) {
        let mut core = self.hub.core.borrow_mut();
        if let Some(n) = core.open_watches.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                core.open_watches.remove(&self.key);
            }
        }
    }
}

fn open_watch(hub: &Rc<Hub>, caller: Option<&Caller>) -> Result<OpenWatch, Halt> {
    let key = caller.map(Caller::watch_key).unwrap_or_default();
    let mut core = hub.core.borrow_mut();
    let n = core.open_watches.entry(key.clone()).or_default();
    if *n >= OPEN_WATCHES_MAX {
        return Err(Halt::with_headers(
            ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "You have {OPEN_WATCHES_MAX} live watches open already (other tabs?). \
                     Close some, or wait a moment."
                ),
            ),
            vec![("Retry-After", "5".to_owned())],
        ));
    }
    *n += 1;
    Ok(OpenWatch {
        hub: Rc::clone(hub),
        key,
    })
}

/// A watcher of one session: where it is, and how to serve it.
struct Watcher {
    session_id: String,
    cursor: u64,
    /// The cursor it waits at, once the feed is aligned (a cursor beyond the
    /// newest event waits as if at the newest).
    at: Option<u64>,
    /// When it came, for one that came before the feed was aligned.
    since_ms: u64,
    limit: usize,
    /// Whether the events it is owed from before the feed were read already.
    replayed: std::cell::Cell<bool>,
}

impl Watcher {
    fn new(hub: &Hub, session_id: &str, cursor: u64, limit: usize, now: u64) -> Self {
        let mut core = hub.core.borrow_mut();
        let slot = core.slot(session_id);
        if slot.hot_until <= now && slot.feed.is_aligned() {
            // Nobody followed it for a while: the upstream may have moved on.
            slot.dirty = Some(true);
        }
        slot.hot_until = now + HOT_MS;
        slot.member = true;
        if cursor < CURSOR_NOW && !slot.feed.is_aligned() {
            slot.wanted = true;
        }
        let at = slot
            .feed
            .is_aligned()
            .then(|| cursor.min(slot.feed.latest()));
        Self {
            session_id: session_id.to_owned(),
            cursor,
            at,
            since_ms: now.saturating_sub(CLOCK_MARGIN_MS),
            limit,
            replayed: std::cell::Cell::new(false),
        }
    }

    /// Events for it now (none yet: the cursor it had).
    fn take(&self, hub: &Hub) -> Batch {
        let core = hub.core.borrow();
        let none = Batch {
            cursor: self.cursor,
            events: Vec::new(),
        };
        let Some(slot) = core.slots.get(&self.session_id) else {
            return none;
        };
        let feed = &slot.feed;
        if !feed.is_aligned() {
            return none;
        }
        let batch = match self.at {
            Some(at) => feed.after(at, self.limit),
            None if self.cursor <= feed.latest() => feed.after(self.cursor, self.limit),
            None => feed.since(self.since_ms, self.limit, parse_ms),
        };
        if batch.events.is_empty() { none } else { batch }
    }

    /// Events for it now: from the feed, or, once, those it is owed from
    /// before the feed's floor (a cursor older than anything the feed holds,
    /// e.g. 0 after a detail aligned the feed at its cursor).
    async fn next(&self, hub: &Rc<Hub>) -> Result<Batch, Halt> {
        let batch = self.take(hub);
        if !batch.events.is_empty() || self.replayed.get() {
            return Ok(batch);
        }
        let floor = hub
            .core
            .borrow()
            .slots
            .get(&self.session_id)
            .and_then(|s| s.feed.floor());
        match floor.filter(|f| self.cursor < *f) {
            Some(floor) => {
                self.replayed.set(true);
                replay(hub, &self.session_id, self.cursor, floor, self.limit).await
            }
            None => Ok(batch),
        }
    }

    /// Registers `wake` for the next change of its session.
    fn wait(&self, hub: &Hub, wake: &Wake, now: u64) -> bool {
        let mut core = hub.core.borrow_mut();
        let Some(slot) = core.slots.get_mut(&self.session_id) else {
            return false;
        };
        slot.hot_until = now + HOT_MS;
        slot.waiters.retain(|w| !w.is_spent());
        slot.waiters.push(wake.clone());
        !slot.feed.is_aligned()
    }
}

/// Whether the agent takes part in `session_id`: known, or asked upstream
/// (one read of the hub's live share). `Err` is the answer a watch of it gets.
async fn membership(hub: &Rc<Hub>, session_id: &str) -> Result<(), ApiError> {
    let known = {
        let core = hub.core.borrow();
        core.slots.get(session_id).is_some_and(|s| s.member) || core.list.get(session_id).is_some()
    };
    if known {
        return Ok(());
    }
    let decision = hub.spend(Spender::Live, 1);
    if !decision.allowed {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "The agent's budget is spent; watching this session starts in {} seconds.",
                decision.retry_after()
            ),
        ));
    }
    let upstream = hub.upstream.clone()?;
    let token = hub
        .token()
        .map_err(|_| ApiError::not_found("Unknown agent."))?;
    let route = Route::GetSession {
        session_id: session_id.to_owned(),
    };
    let reply = upstream
        .call(Some(&token), &route, None, &Extra::default())
        .await
        .map_err(|h| match h {
            Halt::Reply { error, .. } => error,
            Halt::Fault(e) => ApiError::new(ErrorCode::Internal, e.to_string()),
        })?;
    match reply.parse::<Session>() {
        Some(session) => {
            note_session(hub, session);
            let mut core = hub.core.borrow_mut();
            core.slot(session_id).member = true;
            Ok(())
        }
        None => Err(
            serde_json::from_str::<mochat_api::ErrorEnvelope>(&reply.body)
                .map(|e| e.error)
                .unwrap_or_else(|_| ApiError::not_found("No such session.")),
        ),
    }
}

/// Waits for `wake` or until `deadline` (ms).
pub(super) async fn until(wake: futures::channel::oneshot::Receiver<()>, deadline: u64) {
    let left = deadline.saturating_sub(now_ms());
    let timer = Delay::from(Duration::from_millis(left));
    futures::pin_mut!(timer);
    if let Either::Right(_) = select(wake, timer).await {}
}

/// `GET /api/claw/sessions/:id/watch`, answered by the hub.
pub async fn session_watch(
    hub: &Rc<Hub>,
    caller: Option<&Caller>,
    session_id: &str,
    q: &WatchQuery,
) -> Result<Response, Halt> {
    let timeout = q.timeout_ms.unwrap_or(WATCH_TIMEOUT_DEFAULT_MS);
    let limit = q.limit.unwrap_or(WATCH_LIMIT_DEFAULT) as usize;
    let cursor = q.cursor.unwrap_or(0);
    let visitor = match caller {
        Some(Caller::Visitor(v)) => {
            let route = Route::WatchSession {
                session_id: session_id.to_owned(),
                query: q.clone(),
            };
            visitors::authorize(hub, v, &route).await?;
            Some(v)
        }
        _ => {
            membership(hub, session_id).await?;
            None
        }
    };
    let _open = open_watch(hub, caller)?;
    let now = now_ms();
    let deadline = now + timeout;
    let watcher = Watcher::new(hub, session_id, cursor, limit, now);
    hub.poke_poller();
    let batch = loop {
        let batch = watcher.next(hub).await?;
        if !batch.events.is_empty() || now_ms() >= deadline {
            break batch;
        }
        let (wake, rx) = Wake::new();
        if watcher.wait(hub, &wake, now_ms()) {
            hub.poke_poller();
        }
        until(rx, deadline).await;
    };
    let agent = hub.agent_id();
    let answer = WatchResponse {
        session_id: session_id.to_owned(),
        cursor: batch.cursor,
        events: batch
            .events
            .into_iter()
            .map(|e| views::event_for(e, &agent, visitor.is_some()))
            .collect(),
    };
    let headers = match visitor {
        Some(v) => visitors::limits(hub, v),
        None => hub.agent_headers(),
    };
    hub.json(200, &answer, &headers)
}

/// Events after `cursor` up to `floor` that the feed never held, read from
/// the upstream once for a watcher from before them (paid from the live
/// share). Up to the floor the feed numbers events as the upstream does.
async fn replay(
    hub: &Rc<Hub>,
    session_id: &str,
    cursor: u64,
    floor: u64,
    limit: usize,
) -> Result<Batch, Halt> {
    let decision = hub.spend(Spender::Live, 1);
    if !decision.allowed {
        return Err(over_budget(Spender::Live, &decision));
    }
    let limit = u32::try_from(limit).unwrap_or(READ_LIMIT).min(READ_LIMIT);
    let events = match read_events(hub, session_id, cursor, limit, 0).await? {
        Ok(page) => page.events,
        Err(reply) => {
            worker::console_log!(
                "mochat-worker: a replay of a session's history failed ({})",
                reply.status
            );
            Vec::new()
        }
    };
    let events: Vec<_> = events.into_iter().filter(|e| e.seq <= floor).collect();
    Ok(Batch {
        cursor: events.last().map_or(cursor, |e| e.seq),
        events,
    })
}

fn bad(message: &str) -> Halt {
    ApiError::bad_request(message).into()
}

/// The request's timeout and list position, or a 400 that says what to fix.
fn checked(hub: &Hub, request: &EdgeWatchRequest) -> Result<(u64, Option<u64>), Halt> {
    if request.sessions.len() > WATCH_MAX_SESSIONS {
        return Err(bad(&format!(
            "Watch at most {WATCH_MAX_SESSIONS} sessions at once."
        )));
    }
    let timeout = request.timeout.unwrap_or(WATCH_TIMEOUT_DEFAULT_MS);
    if timeout > WATCH_TIMEOUT_MAX_MS {
        return Err(bad(&format!(
            "timeout must be from 0 to {WATCH_TIMEOUT_MAX_MS} milliseconds."
        )));
    }
    let since = match &request.list {
        None => None,
        Some(cursor) => Some(hub.core.borrow().list.parse_cursor(cursor).map_err(|e| {
            bad(match e {
                CursorError::Foreign => {
                    "The list cursor is not one this worker issued (it may have restarted). \
                     Reload the session list and start again with list: null."
                }
                CursorError::TooOld => {
                    "The list cursor is too old to serve. Reload the session list and start \
                     again with list: null."
                }
            })
        })?),
    };
    Ok((timeout, since))
}

/// A watcher for each session the agent is in; for the others, their error.
async fn watchers_for(
    hub: &Rc<Hub>,
    request: &EdgeWatchRequest,
    now: u64,
) -> (BTreeMap<String, SessionEvents>, Vec<Watcher>) {
    let mut errors: BTreeMap<String, SessionEvents> = BTreeMap::new();
    let mut watchers = Vec::new();
    for (session_id, cursor) in &request.sessions {
        let refused = if is_valid_id(session_id) {
            membership(hub, session_id).await.err()
        } else {
            Some(ApiError::not_found("No such session."))
        };
        match refused {
            Some(error) => {
                errors.insert(
                    session_id.clone(),
                    SessionEvents {
                        cursor: *cursor,
                        events: Vec::new(),
                        error: Some(error),
                    },
                );
            }
            None => watchers.push(Watcher::new(
                hub,
                session_id,
                *cursor,
                WATCH_LIMIT_DEFAULT as usize,
                now,
            )),
        }
    }
    (errors, watchers)
}

/// `POST /edge/watch`: one long poll for many sessions and the list.
pub async fn edge_watch(
    hub: &Rc<Hub>,
    caller: Option<&Caller>,
    request: EdgeWatchRequest,
) -> Result<Response, Halt> {
    let (timeout, since) = checked(hub, &request)?;
    let _open = open_watch(hub, caller)?;
    let now = now_ms();
    hub.core.borrow_mut().list_hot_until = now + HOT_MS;
    let (errors, watchers) = watchers_for(hub, &request, now).await;
    hub.poke_poller();
    let deadline = now + timeout;
    let agent = hub.agent_id();
    loop {
        let mut sessions = errors.clone();
        for w in &watchers {
            // A replay refused (budget, upstream) leaves it waiting on the feed.
            let batch = w.next(hub).await.unwrap_or_else(|_| w.take(hub));
            if !batch.events.is_empty() {
                sessions.insert(
                    w.session_id.clone(),
                    SessionEvents {
                        cursor: batch.cursor,
                        events: batch
                            .events
                            .into_iter()
                            .map(|e| views::event_for(e, &agent, false))
                            .collect(),
                        error: None,
                    },
                );
            }
        }
        let (cursor, changed) = {
            let core = hub.core.borrow();
            let changed = since
                .map(|v| core.list.changed_since(v))
                .unwrap_or_default();
            (core.list.cursor(), changed)
        };
        let changed: Vec<Session> = changed
            .into_iter()
            .map(|s| super::calls::shown_session(hub, s, &agent))
            .collect();
        if since.is_none() || !sessions.is_empty() || !changed.is_empty() || now_ms() >= deadline {
            let answer = EdgeWatchResponse {
                sessions,
                list: ListChanges { cursor, changed },
            };
            return hub.json(200, &answer, &hub.agent_headers());
        }
        let (wake, rx) = Wake::new();
        let now = now_ms();
        let mut poke = false;
        for w in &watchers {
            poke |= w.wait(hub, &wake, now);
        }
        {
            let mut core = hub.core.borrow_mut();
            core.list_hot_until = now + HOT_MS;
            core.list_waiters.retain(|w| !w.is_spent());
            core.list_waiters.push(wake);
        }
        if poke {
            hub.poke_poller();
        }
        until(rx, deadline).await;
    }
}

/// Reads a session's events from its start (pages of [`READ_LIMIT`]), so
/// its feed knows its whole recent history and where the upstream stands.
/// `who` pays. One read per session at a time: a second caller waits for
/// the first.
pub async fn align(hub: &Rc<Hub>, session_id: &str, who: Spender) -> Result<(), Halt> {
    loop {
        let (aligned, busy) = {
            let mut core = hub.core.borrow_mut();
            let slot = core.slot(session_id);
            (slot.feed.is_aligned(), slot.busy)
        };
        if aligned {
            return Ok(());
        }
        if !busy {
            break;
        }
        let (wake, rx) = Wake::new();
        if let Some(slot) = hub.core.borrow_mut().slots.get_mut(session_id) {
            slot.waiters.push(wake);
        }
        until(rx, now_ms() + 5_000).await;
    }
    set_busy(hub, session_id, true);
    let outcome = read_from(hub, session_id, 0, who).await;
    set_busy(hub, session_id, false);
    outcome
}

fn set_busy(hub: &Hub, session_id: &str, busy: bool) {
    if let Some(slot) = hub.core.borrow_mut().slots.get_mut(session_id) {
        slot.busy = busy;
        if !busy {
            super::wake_all(&mut slot.waiters);
        }
    }
}

/// Reads events after upstream cursor `from` until the upstream has no
/// more (each page paid by `who`), into the session's feed.
pub async fn read_from(
    hub: &Rc<Hub>,
    session_id: &str,
    mut from: u64,
    who: Spender,
) -> Result<(), Halt> {
    loop {
        let decision = hub.spend(who, 1);
        if !decision.allowed {
            return Err(over_budget(who, &decision));
        }
        let read = read_events(hub, session_id, from, READ_LIMIT, 0).await?;
        let page = match read {
            Ok(page) => page,
            Err(reply) => {
                let error = serde_json::from_str::<mochat_api::ErrorEnvelope>(&reply.body)
                    .map(|e| e.error)
                    .unwrap_or_else(|_| {
                        ApiError::new(
                            ErrorCode::UpstreamUnavailable,
                            "The MoChat API did not answer a watch as expected.",
                        )
                    });
                return Err(error.into());
            }
        };
        let full = page.events.len() >= READ_LIMIT as usize;
        let next = page.cursor;
        sends_answered(hub, session_id).await;
        take_in(hub, session_id, from, page, full);
        if !full || next <= from {
            return Ok(());
        }
        from = next;
    }
}

/// The longest a read's answer waits for the hub's own sends.
const SEND_WAIT_MS: u64 = 5_000;

/// Waits (up to [`SEND_WAIT_MS`]) until no send into the session through
/// the hub is waiting for its answer. The upstream tells its watchers of a
/// message before the sender has its answer, so a read can bring the hub's
/// own send first; taken in then, it would reach watchers as a stranger's
/// message (in the live dialect, without the meta the hub keeps for it: the
/// visitor's mark, the client id). Once the answer is learned, the send is
/// in the feed and the read's copy only confirms it. The send's end wakes
/// the session's waiters, this one among them.
pub async fn sends_answered(hub: &Hub, session_id: &str) {
    let deadline = now_ms() + SEND_WAIT_MS;
    while now_ms() < deadline {
        let (wake, rx) = Wake::new();
        {
            let mut core = hub.core.borrow_mut();
            match core.slots.get_mut(session_id) {
                Some(slot) if slot.sending > 0 => slot.waiters.push(wake),
                _ => return,
            }
        }
        until(rx, deadline).await;
    }
}

/// Takes a page of the session's events read upstream from `from` into its
/// feed, and wakes whoever waits for them (watchers, the list). `more`: the
/// upstream has more after this page.
pub fn take_in(hub: &Hub, session_id: &str, from: u64, page: WatchResponse, more: bool) {
    let mut core = hub.core.borrow_mut();
    let slot = core.slot(session_id);
    slot.member = true;
    let fresh = slot.feed.absorb(from, page.events);
    if !more {
        slot.dirty = None;
        slot.known_ms = slot.known_ms.max(slot.dirty_ms);
    }
    let newest = fresh
        .iter()
        .rev()
        .find_map(mochat_api::Event::message)
        .or_else(|| slot.feed.newest_message());
    super::wake_all(&mut slot.waiters);
    if let Some(message) = newest
        && core.list.note_message(&message)
    {
        super::wake_all(&mut core.list_waiters);
    }
}
