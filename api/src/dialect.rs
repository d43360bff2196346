//! The two dialects of the MoChat API mapped onto each other, written once:
//! a call of the reference's route table becomes the live dialect's call
//! and JSON body ([`request`]), and a live answer becomes the reference's
//! status and body ([`answer`]). The edge worker speaks to a live upstream
//! through these; the tests' own client does too.
//!
//! What the live dialect lacks is filled where it can be and said where it
//! cannot: a session has no title (kept in `metadata.title`), no newest
//! message and no creator in the list; a detail has no cursor or message
//! count (the worker fills them from what it knows); a group has no members
//! or invite code; a close or a participant change answers without the
//! session (a second call, `sessions/get`, reads it: [`cost`] is 2); the
//! session list has no paging cursor (pages are cut here from one list of
//! at most 500); participants are named as people (`type: "user"`) since
//! the reference gives only ids.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::live::{
    BindBody, BindData, CloseSessionBody, CloseSessionData, CreateSessionBody, GroupBody, JoinBody,
    JoinData, ListSessionsBody, LiveCall, LiveEvent, LiveGroup, LiveMessage, LiveSession,
    LiveSessionDetail, LiveStatus, MessagesBody, MessagesData, PanelMessagesBody,
    PanelMessagesData, PanelSendBody, PanelSendData, Participant, ParticipantsBody,
    ParticipantsData, SESSION_LIST_MAX, SelfRegisterBody, SelfRegisterData, SendBody, SendData,
    SessionIdBody, SessionListData, WatchBody, WatchData, decode_answer,
};
use crate::requests::{
    BindRequest, BindResponse, CreateSessionRequest, JoinRequest, JoinResponse, PageQuery,
    ParticipantsRequest, RegisterRequest, RegisterResponse, SendMessageRequest, WatchQuery,
    WatchResponse,
};
use crate::{
    ApiError, ErrorCode, Event, EventType, Group, Message, MessagePage, Panel, Route, Session,
    SessionDetail, SessionPage, User, UserType,
};

/// The greeting `agents/bind` posts (the reference's bind takes none).
pub const GREETING: &str = "Hello! This agent is now connected to you on MoChat.";
/// Sessions read for the session list (the live dialect's most).
const LIST_READ: u32 = SESSION_LIST_MAX;

/// Upstream requests a call takes in this dialect.
pub fn cost(route: &Route) -> u32 {
    match route {
        Route::CloseSession { .. }
        | Route::AddParticipants { .. }
        | Route::RemoveParticipants { .. } => 2,
        _ => 1,
    }
}

fn bad(why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!(
        "The request body is not valid for this call: {why}."
    ))
}

fn parse<T: DeserializeOwned>(body: Option<&[u8]>) -> Result<T, ApiError> {
    let body = body.unwrap_or_default();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "This call needs a JSON object as its body, and the body was empty.",
        ));
    }
    serde_json::from_slice(body).map_err(bad)
}

fn to_value(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn people(ids: Vec<String>) -> Vec<Participant> {
    ids.into_iter()
        .map(|id| Participant::by_id(UserType::User, id))
        .collect()
}

/// The live call and body of a reference call: `body` as the reference
/// takes it (a 400 when it is not), `updated_after` the live list's filter
/// (RFC3339; the reference's list has none).
pub fn request(
    route: &Route,
    body: Option<&[u8]>,
    updated_after: Option<&str>,
) -> Result<(LiveCall, Value), ApiError> {
    let (call, id) = LiveCall::from_route(route);
    let id = id.unwrap_or_default().to_owned();
    let body = match route {
        Route::Register => register_body(parse(body)?),
        Route::BindAgent => {
            let r: BindRequest = parse(body)?;
            to_value(&BindBody {
                email: r.email,
                greeting_msg: GREETING.to_owned(),
            })
        }
        Route::CreateSession => create_body(parse(body)?),
        Route::ListSessions { .. } => to_value(&ListSessionsBody {
            updated_after: updated_after.map(str::to_owned),
            limit: Some(LIST_READ),
        }),
        Route::GetSession { .. } | Route::SessionDetail { .. } => {
            to_value(&SessionIdBody { session_id: id })
        }
        Route::CloseSession { .. } => to_value(&CloseSessionBody {
            session_id: id,
            policy: None,
        }),
        Route::SendSessionMessage { .. } => {
            let r: SendMessageRequest = parse(body)?;
            to_value(&SendBody {
                session_id: id,
                content: r.content,
                reply_to: None,
                group_id: None,
            })
        }
        Route::ListSessionMessages { query, .. } => to_value(&MessagesBody {
            session_id: id,
            before_message_id: query.before.clone(),
            limit: query.limit,
        }),
        Route::AddParticipants { .. } | Route::RemoveParticipants { .. } => {
            let r: ParticipantsRequest = parse(body)?;
            to_value(&ParticipantsBody {
                session_id: id,
                participants: people(r.participants),
            })
        }
        Route::WatchSession { query, .. } => watch_body(id, query.clone()),
        Route::SendPanelMessage { .. } => panel_send_body(id, parse(body)?),
        Route::ListPanelMessages { query, .. } => panel_page_body(id, query.clone()),
        Route::WorkspaceGroup => to_value(&GroupBody::default()),
        Route::JoinGroup => {
            let r: JoinRequest = parse(body)?;
            to_value(&JoinBody {
                code: r.invite_code,
            })
        }
    };
    Ok((call, body))
}

/// `agents/selfRegister`: the username goes in `metadata`.
fn register_body(r: RegisterRequest) -> Value {
    let mut metadata = Map::new();
    metadata.insert("username".into(), Value::String(r.username));
    to_value(&SelfRegisterBody {
        name: Some(r.name),
        avatar: r.avatar,
        metadata: Some(metadata),
    })
}

/// `sessions/create`: a title goes in `metadata`.
fn create_body(r: CreateSessionRequest) -> Value {
    let metadata = r.title.filter(|t| !t.is_empty()).map(|t| {
        let mut m = Map::new();
        m.insert("title".into(), Value::String(t));
        m
    });
    to_value(&CreateSessionBody {
        participants: people(r.participants),
        visibility: None,
        metadata,
    })
}

fn watch_body(session_id: String, q: WatchQuery) -> Value {
    to_value(&WatchBody {
        session_id,
        cursor: q.cursor,
        timeout_ms: q.timeout_ms,
        limit: q.limit,
    })
}

fn panel_send_body(panel_id: String, r: SendMessageRequest) -> Value {
    to_value(&PanelSendBody {
        panel_id,
        content: r.content,
        group_id: None,
        reply_to: None,
    })
}

fn panel_page_body(panel_id: String, q: PageQuery) -> Value {
    to_value(&PanelMessagesBody {
        panel_id,
        group_id: None,
        before_message_id: q.before,
        limit: q.limit,
    })
}

/// A live message in the reference's shape.
pub fn message(m: LiveMessage, session_id: Option<&str>, panel_id: Option<&str>) -> Message {
    let info = m.author_info.unwrap_or_default();
    Message {
        message_id: m.message_id,
        session_id: session_id.map(str::to_owned),
        panel_id: panel_id.map(str::to_owned),
        content: m.content,
        author_info: User {
            user_id: info.user_id.unwrap_or_else(|| m.author.clone()),
            kind: info.kind.unwrap_or(UserType::User),
            name: info.nickname.unwrap_or_else(|| m.author.clone()),
            username: None,
            email: info.email,
            avatar: info.avatar,
        },
        author: m.author,
        meta: m.meta.unwrap_or_default(),
        created_at: m.created_at,
    }
}

/// A live session in the reference's shape (no newest message: the list
/// does not carry it).
pub fn session(s: LiveSession) -> Session {
    let created_at = s.created_at.clone().unwrap_or_default();
    let created_by = s
        .metadata
        .as_ref()
        .and_then(|m| m.get("createdBy"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| s.participants.first().cloned())
        .unwrap_or_default();
    Session {
        title: s.title().to_owned(),
        session_id: s.session_id,
        workspace_id: s.workspace_id.unwrap_or_default(),
        participants: s.participants,
        status: s.status.to_reference(),
        created_by,
        updated_at: s.updated_at.unwrap_or_else(|| created_at.clone()),
        created_at,
        last_message: None,
    }
}

fn detail(d: LiveSessionDetail) -> SessionDetail {
    let live = LiveSession {
        session_id: d.session_id.clone(),
        workspace_id: d.workspace_id.clone(),
        converse_id: d.converse_id.clone(),
        participants: d.participants.iter().map(|p| p.user_id.clone()).collect(),
        visibility: d.visibility.clone(),
        status: d.status.clone().unwrap_or(LiveStatus::Active),
        metadata: d.metadata.clone(),
        created_at: d.created_at.clone(),
        updated_at: d.updated_at.clone(),
    };
    SessionDetail {
        session: session(live),
        participant_info: d
            .participants
            .into_iter()
            .map(|p| User {
                name: if p.nickname.is_empty() {
                    p.user_id.clone()
                } else {
                    p.nickname
                },
                user_id: p.user_id,
                kind: p.kind,
                username: None,
                email: p.email,
                avatar: p.avatar,
            })
            .collect(),
        // Not in the live dialect: the agent's hub fills them.
        message_count: 0,
        cursor: 0,
    }
}

fn event(e: LiveEvent) -> Event {
    let payload = match e.kind {
        EventType::MessageAdd => e
            .message()
            .map(|m| to_value(&message(m, Some(&e.session_id), None)))
            .unwrap_or(e.payload),
        EventType::SessionUpdate => e
            .session()
            .map(|s| to_value(&session(s)))
            .unwrap_or(e.payload),
        _ => e.payload,
    };
    Event {
        seq: e.seq,
        timestamp: e.timestamp.unwrap_or_default(),
        session_id: e.session_id,
        kind: e.kind,
        payload,
    }
}

/// A page of messages: the live dialect sends newest first, the reference oldest first.
fn page(
    messages: Vec<LiveMessage>,
    next: Option<String>,
    session_id: Option<&str>,
    panel_id: Option<&str>,
) -> MessagePage {
    let mut messages: Vec<Message> = messages
        .into_iter()
        .map(|m| message(m, session_id, panel_id))
        .collect();
    messages.reverse();
    MessagePage {
        messages,
        has_more: next.is_some(),
        cursor: next,
    }
}

/// One page of the session list, cut from the whole list: `before` is the
/// id of the last session of the previous page.
fn session_page(data: SessionListData, q: &PageQuery) -> Result<SessionPage, ApiError> {
    let limit = q.limit.unwrap_or(crate::limits::PAGE_DEFAULT) as usize;
    let mut all: Vec<Session> = data.sessions.into_iter().map(session).collect();
    all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
    let start = match &q.before {
        None => 0,
        Some(before) => {
            all.iter()
                .position(|s| &s.session_id == before)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "The before cursor is not one this list gave. Start again from the \
                         first page.",
                    )
                })?
                + 1
        }
    };
    let rest: Vec<Session> = all.into_iter().skip(start).collect();
    let has_more = rest.len() > limit;
    let sessions: Vec<Session> = rest.into_iter().take(limit).collect();
    let cursor = has_more
        .then(|| sessions.last().map(|s| s.session_id.clone()))
        .flatten();
    Ok(SessionPage {
        sessions,
        has_more,
        cursor,
    })
}

fn group(g: LiveGroup) -> Group {
    Group {
        group_id: g.id,
        // Not in the live dialect.
        workspace_id: String::new(),
        name: g.name.unwrap_or_default(),
        members: Vec::new(),
        panels: g
            .panels
            .into_iter()
            .filter(|p| p.kind == 0)
            .filter_map(|p| {
                Some(Panel {
                    panel_id: p.panel_id()?.to_owned(),
                    name: p.name,
                    kind: "text".to_owned(),
                })
            })
            .collect(),
        invite_code: None,
    }
}

fn reply(status: u16, value: &impl Serialize) -> (u16, Value) {
    (status, to_value(value))
}

fn unexpected() -> ApiError {
    ApiError::new(
        ErrorCode::UpstreamUnavailable,
        "The MoChat API answered in an unexpected form. Check UPSTREAM_URL and UPSTREAM_DIALECT.",
    )
}

/// The reference's status and body of a live answer (`status`, `text`) to
/// `route`. A close or a participant
/// change answers `null`: the session is [`cost`]'s second call.
pub fn answer(route: &Route, status: u16, text: &str) -> Result<(u16, Value), ApiError> {
    let (_, id) = LiveCall::from_route(route);
    fn data<T: DeserializeOwned>(status: u16, text: &str) -> Result<T, ApiError> {
        decode_answer(status, text).map_err(|e| e.to_api())
    }
    Ok(match route {
        Route::Register => {
            let d: SelfRegisterData = data(status, text)?;
            reply(
                201,
                &RegisterResponse {
                    claw_token: d.token,
                    bot_user_id: d.bot_user_id,
                    workspace_id: d.workspace_id,
                },
            )
        }
        Route::BindAgent => {
            let d: BindData = data(status, text)?;
            reply(
                200,
                &BindResponse {
                    success: true,
                    session_id: d.session_id,
                    owner_user_id: Some(d.owner_user_id),
                },
            )
        }
        Route::CreateSession => reply(201, &session(data(status, text)?)),
        Route::GetSession { .. } => reply(200, &session(data(status, text)?)),
        Route::SessionDetail { .. } => reply(200, &detail(data(status, text)?)),
        Route::CloseSession { .. } => {
            let _: CloseSessionData = data(status, text)?;
            reply(200, &Value::Null)
        }
        Route::AddParticipants { .. } | Route::RemoveParticipants { .. } => {
            let _: ParticipantsData = data(status, text)?;
            reply(200, &Value::Null)
        }
        Route::ListSessions { query } => reply(200, &session_page(data(status, text)?, query)?),
        Route::SendSessionMessage { .. } => {
            let d: SendData = data(status, text)?;
            let m = d.message.ok_or_else(unexpected)?;
            reply(201, &message(m, id, None))
        }
        Route::ListSessionMessages { .. } => {
            let d: MessagesData = data(status, text)?;
            reply(200, &page(d.messages, d.next_cursor, id, None))
        }
        Route::WatchSession { .. } => {
            let d: WatchData = data(status, text)?;
            reply(
                200,
                &WatchResponse {
                    session_id: d.session_id,
                    cursor: d.cursor,
                    events: d.events.into_iter().map(event).collect(),
                },
            )
        }
        Route::SendPanelMessage { .. } => {
            let d: PanelSendData = data(status, text)?;
            reply(201, &message(d.message, None, id))
        }
        Route::ListPanelMessages { .. } => {
            let d: PanelMessagesData = data(status, text)?;
            reply(200, &page(d.messages, d.next_cursor, None, id))
        }
        Route::WorkspaceGroup => reply(200, &group(data(status, text)?)),
        Route::JoinGroup => {
            let d: JoinData = data(status, text)?;
            reply(
                200,
                &JoinResponse {
                    success: true,
                    group_id: d.group_id,
                },
            )
        }
    })
}

#[cfg(test)]
mod tests;
