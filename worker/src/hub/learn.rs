//! What the hub learns from each upstream answer, and what the caller gets
//! of it: sessions go into the live list, sends to the watchers of their
//! session, a detail's cursor is put in the hub's numbering, and what the
//! live dialect does not carry (titles, meta) is kept and put back.

use std::rc::Rc;

use mochat_api::requests::{CreateSessionRequest, SendMessageRequest};
use mochat_api::{Message, MessagePage, Route, Session, SessionDetail, SessionPage};
use serde_json::{Map, Value};

use super::budget::Spender;
use super::calls::Forward;
use super::store::Write;
use super::{Hub, Slot, views, wake_all, watch};
use crate::limiter::now_ms;
use crate::respond::Halt;
use crate::upstream::{Dialect, Reply};

/// What the caller of a forwarded call is, for what it may see.
struct Seen<'a> {
    hub: &'a Rc<Hub>,
    call: &'a Forward,
    agent: String,
    live: bool,
}

/// Learns from an upstream answer; returns it as the caller gets it.
pub(super) async fn learn(
    hub: &Rc<Hub>,
    call: &Forward,
    reply: Reply,
    captured: Option<Position>,
    dialect: Dialect,
) -> Result<Reply, Halt> {
    if !reply.is_success() {
        return Ok(reply);
    }
    let seen = Seen {
        hub,
        call,
        agent: hub.agent_id(),
        live: dialect == Dialect::Live,
    };
    Ok(match &call.route {
        Route::CreateSession => seen.created(reply),
        Route::SendSessionMessage { session_id } => seen.sent(reply, Some(session_id)),
        Route::SendPanelMessage { .. } => seen.sent(reply, None),
        Route::SessionDetail { session_id } => seen.detail(reply, session_id, captured).await?,
        Route::GetSession { .. }
        | Route::CloseSession { .. }
        | Route::AddParticipants { .. }
        | Route::RemoveParticipants { .. } => seen.session(reply),
        Route::ListSessions { .. } => seen.sessions(reply),
        Route::ListSessionMessages { .. } | Route::ListPanelMessages { .. } => seen.messages(reply),
        _ => reply,
    })
}

impl Seen<'_> {
    fn for_visitor(&self) -> bool {
        self.call.visitor.is_some()
    }

    /// A new session: its title kept (the live dialect drops it), into the list.
    fn created(&self, mut reply: Reply) -> Reply {
        let hub = self.hub;
        let Some(mut session) = reply.parse::<Session>() else {
            return reply;
        };
        if self.live {
            let asked: Option<CreateSessionRequest> = self
                .call
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
        reply
    }

    /// A send (of a session: delivered to its watchers at once); its meta
    /// kept where the live dialect drops it.
    fn sent(&self, reply: Reply, session_id: Option<&String>) -> Reply {
        let Some(mut message) = reply.parse::<Message>() else {
            return reply;
        };
        if self.live {
            message.meta = sent_meta(self.call.body.as_deref());
            keep_meta(self.hub, &message);
        }
        let mut for_visitor = false;
        if let Some(session_id) = session_id {
            message.session_id.get_or_insert_with(|| session_id.clone());
            deliver(self.hub, session_id, &message);
            for_visitor = self.for_visitor();
        }
        Reply::json(
            reply.status,
            &views::message_for(message, &self.agent, for_visitor),
        )
    }

    /// A detail: its cursor in the hub's numbering (in the live dialect,
    /// with the count and newest message at that cursor).
    async fn detail(
        &self,
        reply: Reply,
        session_id: &str,
        captured: Option<Position>,
    ) -> Result<Reply, Halt> {
        let hub = self.hub;
        let Some(mut detail) = reply.parse::<SessionDetail>() else {
            return Ok(reply);
        };
        fill_title(hub, &mut detail.session);
        let at = detail_position(hub, session_id, &detail, captured, self.live).await?;
        detail.cursor = at.cursor;
        if self.live {
            // The live dialect sends neither: the count and the newest
            // message it includes come from the feed at the cursor, so
            // a message delivered after it counts once.
            detail.message_count = at.count.unwrap_or(detail.message_count);
            if detail.session.last_message.is_none() {
                detail.session.last_message = at.newest;
            }
        }
        note_session(hub, detail.session.clone());
        detail.session = shown_session(hub, detail.session, &self.agent);
        Ok(Reply::json(reply.status, &detail))
    }

    /// One session, as a call changed or read it.
    fn session(&self, reply: Reply) -> Reply {
        let Some(mut session) = reply.parse::<Session>() else {
            return reply;
        };
        fill_title(self.hub, &mut session);
        note_session(self.hub, session.clone());
        Reply::json(reply.status, &shown_session(self.hub, session, &self.agent))
    }

    /// A page of sessions: titles and newest messages the hub knows filled in.
    fn sessions(&self, reply: Reply) -> Reply {
        let hub = self.hub;
        let Some(mut page) = reply.parse::<SessionPage>() else {
            return reply;
        };
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
            .map(|session| shown_session(hub, session, &self.agent))
            .collect();
        Reply::json(reply.status, &page)
    }

    /// A page of messages, each as the caller may see it.
    fn messages(&self, reply: Reply) -> Reply {
        let for_visitor = self.for_visitor();
        let needs_work = self.live || for_visitor || reply.body.contains("\"visitor\"");
        if !needs_work {
            return reply;
        }
        let Some(mut page) = reply.parse::<MessagePage>() else {
            return reply;
        };
        page.messages = page
            .messages
            .into_iter()
            .map(|m| {
                let m = if self.live {
                    with_kept_meta(self.hub, m)
                } else {
                    m
                };
                views::message_for(m, &self.agent, for_visitor)
            })
            .collect();
        Reply::json(reply.status, &page)
    }
}

/// The `meta` a send asked for (the live dialect does not carry it: the hub
/// keeps it and puts it back).
pub(super) fn sent_meta(body: Option<&[u8]>) -> Map<String, Value> {
    body.and_then(|b| serde_json::from_slice::<SendMessageRequest>(b).ok())
        .and_then(|s| s.meta)
        .unwrap_or_default()
}

/// Where a session's feed stands: the cursor a detail hands out, and the
/// message count and newest message up to that cursor (when known).
#[derive(Debug, Clone)]
pub(super) struct Position {
    cursor: u64,
    count: Option<u64>,
    newest: Option<Message>,
}

impl Position {
    pub(super) fn of(feed: &super::feed::Feed) -> Self {
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
        let slot = core.slot(session_id);
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
