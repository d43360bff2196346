//! Forwarded API calls: who may make them and what they cost, the ledger
//! that makes a retried send post once, the upstream call, and what the hub
//! learns from each answer (sessions for the live list, sends for the
//! watchers of their session, a detail's cursor in the hub's numbering).

use std::rc::Rc;
use std::time::Duration;

use futures::future::select;
use mochat_api::edge::{Health, UpstreamState};
use mochat_api::requests::{PageQuery, SendMessageRequest, WatchResponse};
use mochat_api::{
    ApiError, ErrorCode, Message, MessagePage, Route, Session, SessionDetail, SessionPage,
};
use serde_json::{Map, Value};
use worker::{Delay, Response};

use super::budget::Spender;
use super::protocol::{Caller, VisitorRef};
use super::store::Write;
use super::{Hub, Slot, Wake, views, visitors, wake_all, watch};
use crate::headers::{RETRY_AFTER, rate_limit_headers};
use crate::limiter::{Decision, now_ms};
use crate::outbox::{self, Begun};
use crate::respond::{self, Halt};
use crate::upstream::{Dialect, Extra, Reply};

/// How long a retry waits for a racing identical send before answering 409.
pub const IN_FLIGHT_WAIT_MS: u64 = 10_000;
/// How many of a conversation's newest messages a read-back looks through.
pub const READ_BACK_LIMIT: u32 = 100;
/// How long a health probe's finding is reused.
const PROBE_TTL_MS: u64 = 60_000;

/// Headers of an answer: the budget the caller sees, then the upstream's
/// `Retry-After` and `Allow` when it sent them.
type Headers = Vec<(&'static str, String)>;

/// An API call from the worker (the route already matched).
pub async fn api(
    hub: &Rc<Hub>,
    caller: Option<&Caller>,
    method: &str,
    path: &str,
    query: &str,
    body: Option<String>,
) -> Result<Response, Halt> {
    let route = Route::parse_api(method, path)
        .map_err(|_| Halt::from(ApiError::not_found("No such API call.")))?;
    if let Route::WatchSession { session_id } = &route {
        return watch::session_watch(hub, caller, session_id, query).await;
    }
    let mut body = body.map(String::into_bytes);
    let visitor = match caller {
        Some(Caller::Visitor(v)) => Some(v),
        _ => None,
    };
    let (who, shown) = match visitor {
        Some(v) => {
            let record = visitors::authorize(hub, v, &route).await?;
            let limits = visitors::spend(hub, v)?;
            if matches!(route, Route::SendSessionMessage { .. }) {
                body = Some(visitors::mark_send(
                    body.as_deref().unwrap_or(b"{}"),
                    &visitors::mark(v, &record),
                )?);
            }
            (Spender::Visitor, Some(limits))
        }
        None => (Spender::Person, None),
    };
    if let Some(page) = from_memory(hub, &route, query, visitor) {
        let headers = shown.unwrap_or_else(|| hub.agent_headers());
        return hub.json(200, &page, &headers);
    }
    let call = Forward {
        route,
        query: query.to_owned(),
        body,
        who,
        visitor: visitor.cloned(),
        shown,
    };
    forward(hub, call).await
}

/// A call on its way upstream.
struct Forward {
    route: Route,
    query: String,
    body: Option<Vec<u8>>,
    who: Spender,
    visitor: Option<VisitorRef>,
    /// The visitor's own rate-limit headers, shown instead of the agent's.
    shown: Option<Headers>,
}

/// The 429 of a spender over their budget.
pub fn over_budget(who: Spender, decision: &Decision) -> Halt {
    let message = match who {
        Spender::Visitor => format!(
            "This chat is busy right now. Wait {} seconds, then try again.",
            decision.retry_after()
        ),
        _ => format!(
            "This agent made {} requests in the last minute, its limit. Wait {} seconds.",
            mochat_api::limits::RATE_LIMIT,
            decision.retry_after()
        ),
    };
    Halt::with_headers(
        ApiError::new(ErrorCode::RateLimited, message),
        rate_limit_headers(decision),
    )
}

/// Budget (429), ledger (for a send with a client id), upstream, learning.
/// A retry answered from the ledger counts like any request (as the one it
/// repeats did).
async fn forward(hub: &Rc<Hub>, call: Forward) -> Result<Response, Halt> {
    let upstream = hub.upstream()?.clone();
    let decision = hub.spend(call.who, upstream.cost(&call.route));
    if !decision.allowed {
        return Err(over_budget(call.who, &decision));
    }
    let headers = call
        .shown
        .clone()
        .unwrap_or_else(|| rate_limit_headers(&decision));
    let key = outbox::request_key(&call.route, call.body.as_deref());
    let ticket = match &key {
        Some(key) => match begin(hub, &call, key).await? {
            Begun2::Stored(body) => return Ok(respond::json_text(201, body, &headers)?),
            Begun2::Reserved(ticket) => Some(ticket),
        },
        None => None,
    };
    let outcome = send(hub, &call, headers).await;
    if let (Some(key), Some(ticket)) = (&key, ticket) {
        finish_ledger(hub, key, ticket, &outcome);
    }
    let (reply, headers) = outcome?;
    Ok(answer(reply, headers)?)
}

/// Calls the upstream (already paid for) and learns from the answer.
async fn send(hub: &Rc<Hub>, call: &Forward, headers: Headers) -> Result<(Reply, Headers), Halt> {
    let upstream = hub.upstream()?.clone();
    // Everything the hub handed out up to now is in the detail's history:
    // its cursor in the hub's numbering is where the hub stands now.
    let captured = match &call.route {
        Route::SessionDetail { session_id } => hub
            .core
            .borrow()
            .slots
            .get(session_id)
            .and_then(|s| s.feed.is_aligned().then(|| Position::of(&s.feed))),
        _ => None,
    };
    let token = hub.token()?;
    let reply = upstream
        .call(
            Some(&token),
            &call.route,
            &call.query,
            call.body.as_deref(),
            &Extra::default(),
        )
        .await;
    let reply = match reply {
        Ok(reply) => reply,
        Err(Halt::Reply { error, headers: h }) => {
            let mut all = headers.clone();
            all.extend(h);
            return Err(Halt::Reply {
                error,
                headers: all,
            });
        }
        Err(fault) => return Err(fault),
    };
    if reply.status == 429 {
        hub.blocked_for(reply.retry_after.as_deref());
    }
    let reply = learn(hub, call, reply, captured, upstream.dialect).await?;
    Ok((reply, headers))
}

/// The answer for the browser: the reply with the caller's headers.
fn answer(reply: Reply, mut headers: Headers) -> worker::Result<Response> {
    if let Some(retry) = reply.retry_after {
        headers.retain(|(n, _)| *n != RETRY_AFTER);
        headers.push((RETRY_AFTER, retry));
    }
    if let Some(allow) = reply.allow {
        headers.push(("Allow", allow));
    }
    respond::json_text(reply.status, reply.body, &headers)
}

/// The newest page of a session's messages from the hub's memory, when the
/// hub knows its whole (short) history (e.g. a widget conversation it
/// opened): the tabs watching it then load their history without an
/// upstream read.
fn from_memory(
    hub: &Hub,
    route: &Route,
    query: &str,
    visitor: Option<&VisitorRef>,
) -> Option<MessagePage> {
    let Route::ListSessionMessages { session_id } = route else {
        return None;
    };
    let page = PageQuery::parse(Some(query)).ok()?;
    if page.before.is_some() {
        return None;
    }
    let limit = page.limit.unwrap_or(mochat_api::limits::PAGE_DEFAULT) as usize;
    // Safe even for a session nobody watched for a while: the browser's watch
    // starts from the hub's cursor, and anything the hub missed meanwhile is
    // read (and handed to it) as soon as the watch arrives.
    let core = hub.core.borrow();
    let slot = core.slots.get(session_id)?;
    if slot.dirty.is_some() || slot.busy {
        return None;
    }
    let mut messages = slot.feed.whole_history(limit)?;
    messages.sort_by_key(|m| super::list::parse_ms(&m.created_at));
    let agent = core.agent.as_ref().map(|a| a.id.as_str()).unwrap_or("");
    let messages = messages
        .into_iter()
        .map(|m| views::message_for(m, agent, visitor.is_some()))
        .collect();
    Some(MessagePage {
        messages,
        has_more: false,
        cursor: None,
    })
}

/// What the ledger said about a send.
enum Begun2 {
    /// The first send's stored answer.
    Stored(String),
    /// This call holds the reservation.
    Reserved(u64),
}

fn ledger_writes(hub: &Hub, writes: Vec<outbox::Write>, body: Option<&str>) {
    for write in writes {
        let body = matches!(write, outbox::Write::Store { .. })
            .then(|| body.unwrap_or_default().to_owned());
        hub.later(Write::Ledger { write, body });
    }
}

/// The stored answer under `key`: from memory (this incarnation's), else storage.
fn stored_body(hub: &Hub, key: &str) -> Option<String> {
    if let Some(body) = hub.core.borrow().ledger_bodies.get(key) {
        return Some(body.clone());
    }
    hub.store.ledger_body(key).ok().flatten()
}

/// Asks the ledger for `key`: its stored answer, the reservation, or, while
/// an identical send is in flight, waits for it (up to
/// [`IN_FLIGHT_WAIT_MS`], then reads the conversation back, then 409).
async fn begin(hub: &Rc<Hub>, call: &Forward, key: &str) -> Result<Begun2, Halt> {
    let started = now_ms();
    loop {
        let now = now_ms();
        let (begun, writes) = hub.core.borrow_mut().ledger.begin(key, now);
        ledger_writes(hub, writes, None);
        match begun {
            Begun::Stored => match stored_body(hub, key) {
                Some(body) => return Ok(Begun2::Stored(body)),
                None => {
                    // Storage lost the body: start over for this key.
                    let writes = hub.core.borrow_mut().ledger.forget(key);
                    ledger_writes(hub, writes, None);
                }
            },
            Begun::Reserved { ticket, lapsed } => {
                // The last holder never came back: it may have posted before it died.
                if lapsed && let Some(body) = settle(hub, call, key, started).await? {
                    return Ok(Begun2::Stored(body));
                }
                return Ok(Begun2::Reserved(ticket));
            }
            Begun::InFlight => {
                let waited = now.saturating_sub(started);
                if waited >= IN_FLIGHT_WAIT_MS {
                    // Still held: if the message is upstream, its holder
                    // posted it and then died or lost its answer.
                    if let Some(body) = settle(hub, call, key, started).await? {
                        return Ok(Begun2::Stored(body));
                    }
                    return Err(ApiError::conflict(
                        "This message is still being sent; try again in a moment.",
                    )
                    .into());
                }
                let (wake, rx) = Wake::new();
                hub.core
                    .borrow_mut()
                    .ledger_waits
                    .entry(key.to_owned())
                    .or_default()
                    .push(wake);
                let timer = Delay::from(Duration::from_millis(IN_FLIGHT_WAIT_MS - waited));
                futures::pin_mut!(timer);
                let _ = select(rx, timer).await;
            }
        }
    }
}

/// Records the end of a reserved send: its 201 answer, or the release of
/// the reservation so a later retry can post. Wakes identical sends waiting.
fn finish_ledger(hub: &Hub, key: &str, ticket: u64, outcome: &Result<(Reply, Headers), Halt>) {
    let now = now_ms();
    let created = match outcome {
        Ok((reply, _)) if reply.status == 201 => Some(reply.body.clone()),
        _ => None,
    };
    let mut core = hub.core.borrow_mut();
    let writes = match &created {
        Some(body) => {
            if core.ledger_bodies.len() >= outbox::KEEP {
                core.ledger_bodies.clear();
            }
            core.ledger_bodies.insert(key.to_owned(), body.clone());
            core.ledger.finish(key, now)
        }
        None => core.ledger.abort(key, ticket, now),
    };
    if let Some(mut waiters) = core.ledger_waits.remove(key) {
        wake_all(&mut waiters);
    }
    drop(core);
    ledger_writes(hub, writes, created.as_deref());
}

/// The message a send's client id already posted, read back from the
/// newest [`READ_BACK_LIMIT`] of its conversation (found by `meta.clientId`,
/// or, where the upstream keeps no meta, by author and content since the
/// reservation); when found it is stored under `key`, so later retries get
/// it at once.
async fn settle(
    hub: &Rc<Hub>,
    call: &Forward,
    key: &str,
    since_ms: u64,
) -> Result<Option<String>, Halt> {
    let (Some(list), Some((_, client_id))) =
        (outbox::list_route(&call.route), key.rsplit_once(':'))
    else {
        return Ok(None);
    };
    let decision = hub.spend(call.who, 1);
    if !decision.allowed {
        return Ok(None);
    }
    let upstream = hub.upstream()?.clone();
    let token = hub.token()?;
    let query = format!("limit={READ_BACK_LIMIT}");
    let reply = upstream
        .call(Some(&token), &list, &query, None, &Extra::default())
        .await?;
    let Some(page) = reply.parse::<MessagePage>() else {
        return Ok(None);
    };
    let sent: Option<SendMessageRequest> = call
        .body
        .as_deref()
        .and_then(|b| serde_json::from_slice(b).ok());
    let agent = hub.agent_id();
    let reserved = hub
        .core
        .borrow()
        .ledger
        .get(key)
        .map_or(since_ms, |e| e.at)
        .saturating_sub(5_000);
    let by_content = (upstream.dialect == Dialect::Live)
        .then(|| sent.as_ref().map(|s| (s.content.trim(), reserved)))
        .flatten();
    let found = page
        .messages
        .into_iter()
        .find(|m| is_the_send(m, &agent, client_id, by_content));
    let Some(mut message) = found else {
        return Ok(None);
    };
    if let Some(meta) = sent.and_then(|s| s.meta) {
        message.meta = meta;
    }
    // As the send's own answer would have been shown to this caller.
    let message = views::message_for(message, &agent, call.visitor.is_some());
    let body = serde_json::to_string(&message).unwrap_or_default();
    let now = now_ms();
    let writes = {
        let mut core = hub.core.borrow_mut();
        core.ledger_bodies.insert(key.to_owned(), body.clone());
        core.ledger.finish(key, now)
    };
    ledger_writes(hub, writes, Some(&body));
    Ok(Some(body))
}

/// Whether `m` is the send with `client_id`: posted by the agent (anyone
/// else in the conversation can copy a client id into their own message),
/// and carrying the id, or, where the upstream keeps no meta (`by_content`),
/// the same content since the reservation (Unix ms).
fn is_the_send(m: &Message, agent: &str, client_id: &str, by_content: Option<(&str, u64)>) -> bool {
    if m.author != agent {
        return false;
    }
    m.meta.get("clientId").and_then(Value::as_str) == Some(client_id)
        || by_content.is_some_and(|(content, since)| {
            content == m.content && super::list::parse_ms(&m.created_at) >= since
        })
}

/// The `meta` a send asked for (the live dialect does not carry it: the hub
/// keeps it and puts it back).
fn sent_meta(body: Option<&[u8]>) -> Map<String, Value> {
    body.and_then(|b| serde_json::from_slice::<SendMessageRequest>(b).ok())
        .and_then(|s| s.meta)
        .unwrap_or_default()
}

/// Learns from an upstream answer; returns it as the caller gets it.
async fn learn(
    hub: &Rc<Hub>,
    call: &Forward,
    mut reply: Reply,
    captured: Option<Position>,
    dialect: Dialect,
) -> Result<Reply, Halt> {
    if !reply.is_success() {
        return Ok(reply);
    }
    let agent = hub.agent_id();
    let for_visitor = call.visitor.is_some();
    let live = dialect == Dialect::Live;
    match &call.route {
        Route::CreateSession => {
            if let Some(mut session) = reply.parse::<Session>() {
                if live {
                    let asked: Option<mochat_api::requests::CreateSessionRequest> = call
                        .body
                        .as_deref()
                        .and_then(|b| serde_json::from_slice(b).ok());
                    if let Some(title) = asked.and_then(|a| a.title).filter(|t| !t.is_empty()) {
                        hub.later(Write::Title {
                            session_id: session.session_id.clone(),
                            title: title.clone(),
                        });
                        session.title = title;
                        reply = Reply::json(reply.status, &session);
                    }
                }
                let created = Slot::created(&session);
                let id = session.session_id.clone();
                note_session(hub, session);
                hub.core.borrow_mut().slots.entry(id).or_insert(created);
            }
        }
        Route::SendSessionMessage { session_id } => {
            if let Some(mut message) = reply.parse::<Message>() {
                if live {
                    message.meta = sent_meta(call.body.as_deref());
                    keep_meta(hub, &message);
                }
                message.session_id.get_or_insert_with(|| session_id.clone());
                deliver(hub, session_id, &message);
                reply = Reply::json(
                    reply.status,
                    &views::message_for(message, &agent, for_visitor),
                );
            }
        }
        Route::SendPanelMessage { .. } => {
            if let Some(mut message) = reply.parse::<Message>() {
                if live {
                    message.meta = sent_meta(call.body.as_deref());
                    keep_meta(hub, &message);
                }
                reply = Reply::json(reply.status, &views::message_for(message, &agent, false));
            }
        }
        Route::SessionDetail { session_id } => {
            if let Some(mut detail) = reply.parse::<SessionDetail>() {
                fill_title(hub, &mut detail.session);
                let at = detail_position(hub, session_id, &detail, captured, live).await?;
                detail.cursor = at.cursor;
                if live {
                    // The live dialect sends neither: the count and the newest
                    // message it includes come from the feed at the cursor, so
                    // a message delivered after it counts once.
                    detail.message_count = at.count.unwrap_or(detail.message_count);
                    if detail.session.last_message.is_none() {
                        detail.session.last_message = at.newest;
                    }
                }
                note_session(hub, detail.session.clone());
                detail.session = shown_session(hub, detail.session, &agent);
                reply = Reply::json(reply.status, &detail);
            }
        }
        Route::GetSession { .. }
        | Route::CloseSession { .. }
        | Route::AddParticipants { .. }
        | Route::RemoveParticipants { .. } => {
            if let Some(mut session) = reply.parse::<Session>() {
                fill_title(hub, &mut session);
                note_session(hub, session.clone());
                reply = Reply::json(reply.status, &shown_session(hub, session, &agent));
            }
        }
        Route::ListSessions => {
            if let Some(mut page) = reply.parse::<SessionPage>() {
                for session in &mut page.sessions {
                    fill_title(hub, session);
                    if session.last_message.is_none() {
                        session.last_message = hub
                            .core
                            .borrow()
                            .list
                            .get(&session.session_id)
                            .and_then(|s| s.last_message.clone());
                    }
                    note_session(hub, session.clone());
                }
                page.sessions = page
                    .sessions
                    .into_iter()
                    .map(|session| shown_session(hub, session, &agent))
                    .collect();
                reply = Reply::json(reply.status, &page);
            }
        }
        Route::ListSessionMessages { .. } | Route::ListPanelMessages { .. } => {
            let needs_work = live || for_visitor || reply.body.contains("\"visitor\"");
            if needs_work && let Some(mut page) = reply.parse::<MessagePage>() {
                page.messages = page
                    .messages
                    .into_iter()
                    .map(|m| {
                        let m = if live { with_kept_meta(hub, m) } else { m };
                        views::message_for(m, &agent, for_visitor)
                    })
                    .collect();
                reply = Reply::json(reply.status, &page);
            }
        }
        _ => {}
    }
    Ok(reply)
}

/// Where a session's feed stands: the cursor a detail hands out, and the
/// message count and newest message up to that cursor (when known).
#[derive(Debug, Clone)]
struct Position {
    cursor: u64,
    count: Option<u64>,
    newest: Option<Message>,
}

impl Position {
    fn of(feed: &super::feed::Feed) -> Self {
        Self {
            cursor: feed.latest(),
            count: feed.message_count(),
            newest: feed.newest_message(),
        }
    }
}

/// The detail's position in the hub's numbering: taken before the upstream
/// call when the feed was aligned (everything handed out by then is in the
/// detail), else from the detail (reference) or the session's events (live).
async fn detail_position(
    hub: &Rc<Hub>,
    session_id: &str,
    detail: &SessionDetail,
    captured: Option<Position>,
    live: bool,
) -> Result<Position, Halt> {
    if let Some(at) = captured {
        return Ok(at);
    }
    if !live {
        let mut core = hub.core.borrow_mut();
        let slot = core
            .slots
            .entry(session_id.to_owned())
            .or_insert_with(|| Slot::new(session_id));
        slot.member = true;
        if slot.waiters.is_empty()
            && slot
                .feed
                .align_at(detail.cursor, Some(detail.message_count))
        {
            slot.known_ms = super::list::parse_ms(&detail.session.updated_at);
        }
        return Ok(Position {
            cursor: detail.cursor,
            count: None,
            newest: None,
        });
    }
    // The live dialect's detail has no cursor: the session's events tell it.
    watch::align(hub, session_id, Spender::Person).await?;
    let core = hub.core.borrow();
    Ok(core.slots.get(session_id).map_or(
        Position {
            cursor: 0,
            count: None,
            newest: None,
        },
        |s| Position::of(&s.feed),
    ))
}

/// A session title the live dialect did not carry, from what the hub kept.
fn fill_title(hub: &Hub, session: &mut Session) {
    if !session.title.is_empty() {
        return;
    }
    let known = hub
        .core
        .borrow()
        .list
        .get(&session.session_id)
        .map(|s| s.title.clone())
        .filter(|t| !t.is_empty());
    if let Some(title) = known.or_else(|| hub.store.title(&session.session_id).ok().flatten()) {
        session.title = title;
    }
}

/// A session as the upstream showed it: into the list (waking its watchers
/// when it changed).
pub fn note_session(hub: &Hub, session: Session) {
    let mut core = hub.core.borrow_mut();
    if let Some(slot) = core.slots.get_mut(&session.session_id) {
        slot.member = true;
    }
    if core.list.upsert(session) {
        wake_all(&mut core.list_waiters);
    }
}

/// A message the hub just learned of (a send through it): to the session's
/// watchers at once, and into the list.
pub fn deliver(hub: &Hub, session_id: &str, message: &Message) {
    let mut core = hub.core.borrow_mut();
    if let Some(slot) = core.slots.get_mut(session_id)
        && slot.feed.provisional(message).is_some()
    {
        slot.dirty.get_or_insert(false);
        slot.quiet_since = now_ms();
        slot.known_ms = slot
            .known_ms
            .max(super::list::parse_ms(&message.created_at));
        wake_all(&mut slot.waiters);
    }
    if core.list.note_message(message) {
        wake_all(&mut core.list_waiters);
    }
}

/// Keeps a live-dialect message's meta (the upstream drops it).
fn keep_meta(hub: &Hub, message: &Message) {
    if message.meta.is_empty() {
        return;
    }
    hub.later(Write::Meta {
        message_id: message.message_id.clone(),
        meta: message.meta.clone(),
        at: now_ms(),
    });
}

/// A session as an operator's browser may see it: its newest message as
/// [`views::message_for`] shows it (kept as it came, it is shown only once;
/// in the live dialect with the meta the hub kept for it).
pub fn shown_session(hub: &Hub, mut session: Session, agent: &str) -> Session {
    let live = hub.upstream().is_ok_and(|u| u.dialect == Dialect::Live);
    session.last_message = session.last_message.map(|m| {
        let m = if live { with_kept_meta(hub, m) } else { m };
        views::message_for(m, agent, false)
    });
    session
}

/// A live-dialect message with the meta the hub kept for it.
pub fn with_kept_meta(hub: &Hub, mut message: Message) -> Message {
    if message.meta.is_empty()
        && let Ok(Some(meta)) = hub.store.meta(&message.message_id)
    {
        message.meta = meta;
    }
    message
}

/// `GET /edge/health`'s question to the default agent's hub: does the
/// upstream take its token? One cheap read, its finding kept a minute.
pub async fn probe(hub: &Rc<Hub>) -> Result<Response, Halt> {
    let now = now_ms();
    if let Some((at, health)) = hub.core.borrow().probe.clone()
        && now.saturating_sub(at) < PROBE_TTL_MS
    {
        return hub.json(200, &health, &[]);
    }
    let upstream = hub.upstream()?.clone();
    if !hub.spend(Spender::Live, 1).allowed {
        // No budget to ask with: say what was last known, or that it answers.
        let health = Health {
            ok: true,
            upstream: UpstreamState::Reachable,
            reason: None,
        };
        return hub.json(200, &health, &[]);
    }
    let token = hub.token()?;
    let reply = upstream
        .call(
            Some(&token),
            &Route::WorkspaceGroup,
            "",
            None,
            &Extra::default(),
        )
        .await;
    let health = match reply {
        Ok(r) if r.is_success() => Health {
            ok: true,
            upstream: UpstreamState::Reachable,
            reason: None,
        },
        Ok(r) if r.status == 401 || r.status == 403 => Health {
            ok: false,
            upstream: UpstreamState::TokenRefused,
            reason: Some(
                "The MoChat API refuses the default agent's token: set CLAW_TOKEN to a valid \
                 claw token (`wrangler secret put CLAW_TOKEN`)."
                    .to_owned(),
            ),
        },
        Ok(r) if r.status == 429 => Health {
            ok: true,
            upstream: UpstreamState::Reachable,
            reason: None,
        },
        Ok(_) => Health {
            ok: false,
            upstream: UpstreamState::WrongDialect,
            reason: Some(format!(
                "The MoChat API does not answer as the {} dialect expects; check UPSTREAM_URL \
                 and UPSTREAM_DIALECT.",
                upstream.dialect.name()
            )),
        },
        Err(_) => Health {
            ok: false,
            upstream: UpstreamState::Unreachable,
            reason: Some("The MoChat API could not be reached; check UPSTREAM_URL.".to_owned()),
        },
    };
    hub.core.borrow_mut().probe = Some((now, health.clone()));
    hub.json(200, &health, &[])
}

/// Reads the events of `session_id` after upstream cursor `from` (one
/// request, already paid for).
pub async fn read_events(
    hub: &Hub,
    session_id: &str,
    from: u64,
    limit: u32,
) -> Result<Result<WatchResponse, Reply>, Halt> {
    let upstream = hub.upstream()?.clone();
    let token = hub.token()?;
    let query = format!("cursor={from}&timeout=0&limit={limit}");
    let route = Route::WatchSession {
        session_id: session_id.to_owned(),
    };
    let reply = upstream
        .call(Some(&token), &route, &query, None, &Extra::default())
        .await?;
    if reply.status == 429 {
        hub.blocked_for(reply.retry_after.as_deref());
    }
    Ok(reply.parse::<WatchResponse>().ok_or(reply))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(author: &str, client_id: &str, content: &str, at: &str) -> Message {
        serde_json::from_value(json!({
            "messageId": "m1", "sessionId": "s1", "content": content, "author": author,
            "authorInfo": {"userId": author, "type": "agent", "name": "A"},
            "meta": {"clientId": client_id}, "createdAt": at
        }))
        .expect("a message")
    }

    const AT: &str = "2026-12-01T10:00:00.000Z";

    #[test]
    fn a_read_back_takes_only_the_agents_own_message() {
        assert!(is_the_send(
            &message("agent", "c1", "hi", AT),
            "agent",
            "c1",
            None
        ));
        assert!(!is_the_send(
            &message("agent", "c2", "hi", AT),
            "agent",
            "c1",
            None
        ));
        // Someone else in the conversation copied the client id: not the send.
        assert!(!is_the_send(
            &message("mallory", "c1", "hi", AT),
            "agent",
            "c1",
            None
        ));
    }

    #[test]
    fn without_meta_the_content_since_the_reservation_tells() {
        let since = super::super::list::parse_ms(AT);
        let m = message("agent", "", "hello", AT);
        assert!(is_the_send(&m, "agent", "c1", Some(("hello", since))));
        assert!(!is_the_send(&m, "agent", "c1", Some(("hello!", since))));
        assert!(!is_the_send(&m, "agent", "c1", Some(("hello", since + 1))));
        let theirs = message("mallory", "", "hello", AT);
        assert!(!is_the_send(&theirs, "agent", "c1", Some(("hello", since))));
    }
}
