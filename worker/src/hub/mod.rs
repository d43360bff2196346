//! The agent's hub: one Durable Object per agent (`id_from_name(agentId)`),
//! the one place the worker talks upstream for that agent. It owns the
//! agent's token, its budget (an exact sliding window with shares for
//! widget visitors and for its own live traffic), the ledger of sends by
//! client id, the widget visitors of the agent's sites, and live delivery:
//! every browser watch of the agent's sessions is answered here, from what
//! the hub knows, and the hub alone reads the upstream to learn more.
//!
//! A forwarded call is one round trip from the worker to the hub, which
//! decides from memory and writes to storage after answering
//! ([`store`] says what a crash can cost).

pub mod budget;
mod calls;
mod custody;
pub mod feed;
mod follow;
mod learn;
mod ledger;
pub mod list;
mod poller;
pub mod protocol;
pub mod store;
mod views;
mod visitors;
mod watch;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use mochat_api::limits::RATE_LIMIT;
use mochat_api::{ApiError, ErrorCode};
use worker::{Delay, DurableObject, Env, Request, Response, Result, State, durable_object};

use self::budget::{Budget, LIVE_SHARE_PERCENT, Shares, Spender, WIDGET_SHARE_PERCENT};
use self::feed::Feed;
use self::list::SessionList;
use self::protocol::{HubCall, Op};
use self::store::{Store, StoredAgent, Write};
use crate::config;
use crate::headers::rate_limit_headers;
use crate::limiter::Decision;
use crate::limiter::{now_ms, positive, window_secs};
use crate::outbox::Ledger;
use crate::respond::{self, Halt};
use crate::upstream::Upstream;

/// A one-time wake-up, shared by every list a waiter is registered in.
#[derive(Clone)]
pub struct Wake(Rc<RefCell<Option<oneshot::Sender<()>>>>);

impl Wake {
    pub fn new() -> (Self, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        (Self(Rc::new(RefCell::new(Some(tx)))), rx)
    }

    /// Wakes the waiter (once; later calls do nothing).
    pub fn fire(&self) {
        if let Some(tx) = self.0.borrow_mut().take() {
            let _ = tx.send(());
        }
    }

    pub fn is_spent(&self) -> bool {
        self.0.borrow().is_none()
    }
}

/// Fires and forgets every waiter of a list.
pub fn wake_all(waiters: &mut Vec<Wake>) {
    for w in waiters.drain(..) {
        w.fire();
    }
}

/// What the hub needs of a session besides its feed.
pub struct Slot {
    pub feed: Feed,
    pub waiters: Vec<Wake>,
    /// Watched until then (ms): a browser re-polls within this.
    pub hot_until: u64,
    /// An upstream read of this session is under way (one at a time).
    pub busy: bool,
    /// The upstream has events the feed has not read: `Some(true)` when
    /// watchers wait for them, `Some(false)` when only confirmations of
    /// sends through the hub are due.
    pub dirty: Option<bool>,
    /// Since when only confirmations are due (they wait for the session to
    /// be quiet, so one read confirms a send and whatever follows it).
    pub quiet_since: u64,
    /// The session's last activity (Unix ms, the upstream's clock) the
    /// feed is known to hold: a listed `updatedAt` no later is no news.
    pub known_ms: u64,
    /// The listed `updatedAt` that made the feed dirty (known once read).
    pub dirty_ms: u64,
    /// The agent takes part (checked upstream, or seen in its list).
    pub member: bool,
    /// A watcher waits from a cursor of its own (not "from now"): the feed
    /// is aligned as soon as it can be, not only once the session changes.
    pub wanted: bool,
    /// The hub holds an upstream watch of it ([`follow`]): its changes come
    /// through that watch, not through the list.
    pub held: bool,
    /// No upstream watch is held before then (ms), after one failed.
    pub hold_after: u64,
    /// Held watches it may start back to back now, and when that was
    /// counted (ms): [`follow::HELD_BURST`] at most.
    pub turns: f64,
    pub turns_at: u64,
    /// The list showed it changed while it was held (its next held watch,
    /// or a read when the hold ends, brings that change).
    pub listed_while_held: bool,
    /// The poller does not read it before then (ms), after a read failed.
    pub read_after: u64,
    /// Sends into it through the hub whose upstream answer has not come back.
    pub sending: u32,
}

impl Slot {
    /// The feed of a session the hub just created: aligned at its start,
    /// known up to its creation.
    pub fn created(session: &mochat_api::Session) -> Self {
        let mut slot = Self::new(&session.session_id);
        slot.member = true;
        slot.feed.align_at(0, Some(0));
        slot.known_ms = list::parse_ms(&session.updated_at);
        // Followed from its first moment: nothing to catch up on.
        slot.hot_until = now_ms() + watch::HOT_MS;
        slot
    }

    pub fn new(session_id: &str) -> Self {
        Self {
            feed: Feed::new(session_id),
            waiters: Vec::new(),
            hot_until: 0,
            busy: false,
            dirty: None,
            quiet_since: 0,
            known_ms: 0,
            dirty_ms: 0,
            member: false,
            wanted: false,
            held: false,
            hold_after: 0,
            turns: follow::HELD_BURST,
            turns_at: 0,
            listed_while_held: false,
            read_after: 0,
            sending: 0,
        }
    }
}

/// The hub's memory.
pub struct Core {
    /// The agent, once its token is known.
    pub agent: Option<StoredAgent>,
    pub budget: Budget,
    /// The upstream refused with a 429 until then (ms): nothing goes out.
    pub blocked_until: u64,
    pub ledger: Ledger,
    /// Sends waiting for an identical one in flight, by ledger key.
    pub ledger_waits: HashMap<String, Vec<Wake>>,
    /// Answers stored by this incarnation (storage has them a moment later).
    pub ledger_bodies: HashMap<String, String>,
    pub slots: HashMap<String, Slot>,
    pub list: SessionList,
    /// Someone watches the list until then (ms).
    pub list_hot_until: u64,
    pub list_waiters: Vec<Wake>,
    pub visitors: visitors::Visitors,
    /// Open watches per caller key.
    pub open_watches: HashMap<String, usize>,
    /// The last health probe: when, and what it found.
    pub probe: Option<(u64, mochat_api::edge::Health)>,
}

impl Core {
    /// The slot of `session_id`, made when it has none.
    pub fn slot(&mut self, session_id: &str) -> &mut Slot {
        self.slots
            .entry(session_id.to_owned())
            .or_insert_with(|| Slot::new(session_id))
    }
}

/// The agent's hub.
pub struct Hub {
    pub env: Env,
    pub store: Store,
    pub upstream: std::result::Result<Upstream, ApiError>,
    pub visitor_limit: u32,
    pub core: RefCell<Core>,
    flush_scheduled: Cell<bool>,
    /// Forwarded calls waiting for their upstream answer ([`Answering`]).
    answering: Cell<u32>,
    /// When the latest of them was answered (Unix ms).
    answered_at: Cell<u64>,
    /// Wakes a flush that waits for those answers.
    flush_wake: RefCell<Option<Wake>>,
    pub poller_running: Cell<bool>,
    pub poller_wake: RefCell<Option<Wake>>,
    /// This hub, for the tasks it starts.
    me: RefCell<std::rc::Weak<Hub>>,
}

/// How long queued writes may wait for forwarded calls' answers.
pub const FLUSH_HOLD_MAX_MS: u64 = 1_000;

/// How long queued writes wait after the latest answer: the time for that
/// answer to travel through the front worker to the browser. Applying
/// writes is synchronous work on the same thread, so a flush while the
/// answer is on its way makes the answer wait (measured with `cargo xtask
/// bench`'s proxy row, back to back against flushing 1 ms after the answer:
/// about 0.25 ms less per call).
pub const FLUSH_SETTLE_MS: u64 = 10;

/// A forwarded call under way: queued writes wait until its answer is out
/// ([`Hub::schedule_flush`]).
pub struct Answering(Rc<Hub>);

impl Drop for Answering {
    fn drop(&mut self) {
        let left = self.0.answering.get().saturating_sub(1);
        self.0.answering.set(left);
        self.0.answered_at.set(now_ms());
        if left == 0
            && let Some(wake) = self.0.flush_wake.borrow_mut().take()
        {
            wake.fire();
        }
    }
}

/// The Durable Object around the [`Hub`].
#[durable_object]
pub struct AgentHub {
    hub: Rc<Hub>,
}

fn percent(env: &Env, name: &str, default: u32) -> u32 {
    config::string(env, name)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|p| *p <= 100)
        .unwrap_or(default)
}

impl DurableObject for AgentHub {
    fn new(state: State, env: Env) -> Self {
        let limit = u32::try_from(positive(&env, config::RATE_LIMIT, u64::from(RATE_LIMIT)))
            .unwrap_or(RATE_LIMIT);
        let shares = Shares::from_percent(
            limit,
            percent(&env, config::WIDGET_SHARE, WIDGET_SHARE_PERCENT),
            percent(&env, config::LIVE_SHARE, LIVE_SHARE_PERCENT),
        );
        let window_ms = window_secs(&env) * 1000;
        let store = Store::open(state.storage().sql());
        let hits = store.budget_hits().unwrap_or_default();
        let ledger = store.ledger().unwrap_or_default();
        let epoch = format!("{:x}", now_ms());
        let hub = Hub {
            upstream: Upstream::from_env(&env),
            visitor_limit: visitors::limit(&env),
            core: RefCell::new(Core {
                agent: None,
                budget: Budget::with_hits(shares, window_ms, hits),
                blocked_until: 0,
                ledger: Ledger::default().restore(ledger),
                ledger_waits: HashMap::new(),
                ledger_bodies: HashMap::new(),
                slots: HashMap::new(),
                list: SessionList::new(&epoch),
                list_hot_until: 0,
                list_waiters: Vec::new(),
                visitors: visitors::Visitors::default(),
                open_watches: HashMap::new(),
                probe: None,
            }),
            env,
            store,
            flush_scheduled: Cell::new(false),
            answering: Cell::new(0),
            answered_at: Cell::new(0),
            flush_wake: RefCell::new(None),
            poller_running: Cell::new(false),
            poller_wake: RefCell::new(None),
            me: RefCell::new(std::rc::Weak::new()),
        };
        let hub = Rc::new(hub);
        *hub.me.borrow_mut() = Rc::downgrade(&hub);
        Self { hub }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        // Parsed from the text in Rust: `req.json()` builds a JS object first
        // and converts it field by field, which costs more.
        let call: HubCall = match req.text().await.map(|t| serde_json::from_str(&t)) {
            Ok(Ok(call)) => call,
            _ => return Response::error("not a hub call", 400),
        };
        let hub = Rc::clone(&self.hub);
        let answer = hub.handle(call).await;
        hub.schedule_flush();
        match answer {
            Ok(response) => Ok(response),
            Err(halt) => respond::halt(halt),
        }
    }
}

impl Hub {
    async fn handle(self: &Rc<Self>, call: HubCall) -> std::result::Result<Response, Halt> {
        if let Op::KeepAgent {
            token,
            name,
            username,
        } = call.op
        {
            return custody::keep(self, &call.agent, token, name, username);
        }
        custody::load(self, &call.agent).await?;
        let caller = call.caller;
        match call.op {
            Op::Api {
                method,
                path,
                query,
                body,
            } => calls::api(self, caller.as_ref(), &method, &path, &query, body).await,
            Op::EdgeWatch { request } => watch::edge_watch(self, caller.as_ref(), request).await,
            Op::NewVisitor { name, email, token } => {
                visitors::new_visitor(self, caller.as_ref(), name, email, token)
            }
            Op::VisitorMe => visitors::me(self, caller.as_ref()).await,
            Op::Identify { name, email } => visitors::identify(self, caller.as_ref(), name, email),
            Op::OpenConversation => visitors::open_conversation(self, caller.as_ref()).await,
            Op::VisitorDetails { visitor } => visitors::details(self, &visitor).await,
            Op::Probe => calls::probe(self).await,
            Op::KeepAgent { .. } => unreachable!("handled above"),
        }
    }

    /// The upstream, or the configuration error that keeps it away.
    pub fn upstream(&self) -> std::result::Result<&Upstream, Halt> {
        self.upstream.as_ref().map_err(|e| Halt::from(e.clone()))
    }

    /// The agent's token (loaded by [`custody::load`] before any call).
    pub fn token(&self) -> std::result::Result<String, Halt> {
        self.core
            .borrow()
            .agent
            .as_ref()
            .map(|a| a.token.clone())
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "The hub has no token.").into())
    }

    /// The agent's id.
    pub fn agent_id(&self) -> String {
        self.core
            .borrow()
            .agent
            .as_ref()
            .map(|a| a.id.clone())
            .unwrap_or_default()
    }

    /// Spends `n` requests for `who`, or says when to retry. The hub never
    /// asks the upstream for more than the agent's limit in any window.
    pub fn spend(&self, who: Spender, n: u32) -> Decision {
        let now = now_ms();
        let mut core = self.core.borrow_mut();
        if core.blocked_until > now {
            let mut d = core.budget.state(now);
            d.allowed = false;
            d.reset_secs = (core.blocked_until - now).div_ceil(1000).max(1);
            return d;
        }
        let decision = core.budget.try_spend(who, n, now);
        if decision.allowed {
            let window = core.budget.window_ms();
            drop(core);
            if let Some(upto) = now.checked_sub(window) {
                self.later(Write::Expired { upto });
            }
            for _ in 0..n {
                self.later(Write::Spent {
                    at: now,
                    spender: who,
                });
            }
        }
        decision
    }

    /// The upstream said 429: nothing goes out until `Retry-After` passes.
    pub fn blocked_for(&self, retry_after: Option<&str>) {
        let secs = retry_after
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .clamp(1, 120);
        self.core.borrow_mut().blocked_until = now_ms() + secs * 1000;
    }

    /// The agent's budget as it stands.
    pub fn state(&self) -> Decision {
        self.core.borrow_mut().budget.state(now_ms())
    }

    /// The agent's `RateLimit` headers as they stand.
    pub fn agent_headers(&self) -> Vec<(&'static str, String)> {
        rate_limit_headers(&self.state())
    }

    /// Queues a storage write, applied a moment from now (see [`store`]).
    pub fn later(&self, write: Write) {
        self.store.later(write);
        self.schedule_flush();
    }

    /// Applies queued storage writes once no forwarded call waits for its
    /// upstream answer and the latest answer had [`FLUSH_SETTLE_MS`] to
    /// reach the browser (but at most [`FLUSH_HOLD_MAX_MS`] later, and a
    /// millisecond after it is taken for a send's reservation, see
    /// [`Store::has_urgent`]): a Durable Object holds every answer until the
    /// writes made before it are durable, so a write made while a call is
    /// out would hold that call's answer back (measured: about 1 ms per call
    /// here).
    pub fn schedule_flush(&self) {
        if self.flush_scheduled.get() {
            // A reservation must not wait for the calls under way.
            if self.store.has_urgent()
                && let Some(wake) = self.flush_wake.borrow_mut().take()
            {
                wake.fire();
            }
            return;
        }
        if !self.store.has_queued() {
            return;
        }
        let Some(hub) = self.me.borrow().upgrade() else {
            return;
        };
        self.flush_scheduled.set(true);
        worker::wasm_bindgen_futures::spawn_local(async move {
            let latest = now_ms() + FLUSH_HOLD_MAX_MS;
            loop {
                // A timer, not a microtask: a send's request leaves the
                // object before its reservation is written.
                Delay::from(Duration::from_millis(1)).await;
                let now = now_ms();
                if hub.store.has_urgent() || now >= latest {
                    break;
                }
                let settled = hub.answered_at.get() + FLUSH_SETTLE_MS;
                let until = match hub.answering.get() {
                    0 if now >= settled => break,
                    0 => settled,
                    _ => latest,
                };
                let (wake, woken) = Wake::new();
                *hub.flush_wake.borrow_mut() = Some(wake);
                watch::until(woken, until.min(latest)).await;
            }
            hub.flush_scheduled.set(false);
            if let Err(e) = hub.store.flush() {
                worker::console_error!("mochat-worker: the hub could not write its storage: {e}");
            }
        });
    }

    /// Marks a forwarded call as waiting for its answer until the mark drops.
    pub fn answering(self: &Rc<Self>) -> Answering {
        self.answering.set(self.answering.get() + 1);
        Answering(Rc::clone(self))
    }

    /// Wakes the poller (new work), starting it if it is not running.
    pub fn poke_poller(self: &Rc<Self>) {
        if let Some(w) = self.poller_wake.borrow_mut().take() {
            w.fire();
        }
        if !self.poller_running.get() {
            self.poller_running.set(true);
            worker::wasm_bindgen_futures::spawn_local(poller::run(Rc::clone(self)));
        }
    }

    /// A JSON answer with the agent's or the visitor's headers.
    pub fn json<T: serde::Serialize>(
        &self,
        status: u16,
        value: &T,
        headers: &[(&'static str, String)],
    ) -> std::result::Result<Response, Halt> {
        Ok(respond::json(status, value, headers)?)
    }
}
