//! Messages in sessions and panels: sending, and paging back through history.

use axum::http::StatusCode;
use axum::response::Response;
use mochat_api::ApiError;
use mochat_api::requests::{PageQuery, SendMessageRequest};
use mochat_api::{Message, MessagePage, SessionStatus};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use crate::accounts::Caller;
use crate::db::{self, Target};
use crate::error::{AppResult, json};
use crate::{AppState, input, time};

/// Posts a message to a session the author takes part in (404, 403, 409 when closed).
/// Returns the message and the seq of its event.
pub fn send_to_session(
    tx: &Connection,
    author: &str,
    session_id: &str,
    content: &str,
    meta: &Map<String, Value>,
    now: i64,
) -> AppResult<(Message, u64)> {
    let session = db::session_for(tx, session_id, author)?;
    if session.status == SessionStatus::Closed {
        return Err(ApiError::conflict(format!(
            "Session {session_id} is closed and takes no more messages. Start a new session."
        ))
        .into());
    }
    db::insert_message(tx, Target::Session(session_id), author, content, meta, now)
}

/// Sends a message to a session the way an HTTP call does, and wakes its watchers.
/// Also used by in-process agents (the demo helper).
pub async fn send(
    state: &AppState,
    author: &str,
    session_id: &str,
    content: String,
    meta: Map<String, Value>,
) -> AppResult<Message> {
    let (author, sid) = (author.to_owned(), session_id.to_owned());
    let (message, seq) = state
        .db
        .transact(move |conn| send_to_session(conn, &author, &sid, &content, &meta, time::now_ms()))
        .await?;
    state.hub.notify(session_id, seq);
    Ok(message)
}

fn message_body(body: &[u8]) -> AppResult<(String, Map<String, Value>)> {
    let request: SendMessageRequest = input::json_body(body)?;
    Ok((
        input::content(&request.content)?,
        input::meta(request.meta)?,
    ))
}

/// Sends a session message for an HTTP call of either dialect: [`send`], then
/// the test-only wait of `--answer-delay-ms` before answering.
pub async fn send_answered(
    state: &AppState,
    caller: &Caller,
    session_id: &str,
    content: String,
    meta: Map<String, Value>,
) -> AppResult<Message> {
    let message = send(state, &caller.user_id, session_id, content, meta).await?;
    if !state.answer_delay.is_zero() {
        // Tests only (`--answer-delay-ms`): stored, but not yet answered.
        tokio::time::sleep(state.answer_delay).await;
    }
    Ok(message)
}

/// `POST /claw/sessions/:id/message`.
pub async fn send_session(
    state: &AppState,
    caller: &Caller,
    session_id: String,
    body: &[u8],
) -> AppResult<Response> {
    let (content, meta) = message_body(body)?;
    let message = send_answered(state, caller, &session_id, content, meta).await?;
    json(StatusCode::CREATED, &message)
}

/// Checks that a panel exists (404), that it is in `group` when one is named
/// (404), and that the user is a member of its group (403). Returns the group id.
fn panel_for(
    conn: &Connection,
    panel_id: &str,
    group: Option<&str>,
    user: &str,
) -> AppResult<String> {
    let found: Option<String> = conn
        .query_row(
            "SELECT group_id FROM panels WHERE id = ?1",
            [panel_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(found) = found else {
        return Err(ApiError::not_found(format!(
            "Panel {panel_id} does not exist or was deleted."
        ))
        .into());
    };
    if let Some(group) = group.filter(|g| *g != found) {
        return Err(ApiError::not_found(format!(
            "Panel {panel_id} is not a panel of group {group}. Leave groupId out, or pass the \
             panel's own group."
        ))
        .into());
    }
    let member: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM group_members WHERE group_id = ?1 AND user_id = ?2)",
        params![found, user],
        |r| r.get(0),
    )?;
    if !member {
        return Err(ApiError::forbidden(format!(
            "You are not a member of the group of panel {panel_id}. Join it with its invite code first."
        )).into());
    }
    Ok(found)
}

/// Posts a message to a panel of a group the author belongs to (and of `group`,
/// when one is named). Returns the panel's group id and the message.
pub fn send_to_panel(
    tx: &Connection,
    author: &str,
    panel_id: &str,
    group: Option<&str>,
    content: &str,
    meta: &Map<String, Value>,
    now: i64,
) -> AppResult<(String, Message)> {
    let group_id = panel_for(tx, panel_id, group, author)?;
    let (message, _) = db::insert_message(tx, Target::Panel(panel_id), author, content, meta, now)?;
    Ok((group_id, message))
}

/// Posts a panel message for an HTTP call of either dialect.
pub async fn post_panel(
    state: &AppState,
    caller: &Caller,
    panel_id: String,
    group: Option<String>,
    content: String,
    meta: Map<String, Value>,
) -> AppResult<(String, Message)> {
    let user = caller.user_id.clone();
    state
        .db
        .transact(move |conn| {
            send_to_panel(
                conn,
                &user,
                &panel_id,
                group.as_deref(),
                &content,
                &meta,
                time::now_ms(),
            )
        })
        .await
}

/// `POST /claw/panels/:id/message`.
pub async fn send_panel(
    state: &AppState,
    caller: &Caller,
    panel_id: String,
    body: &[u8],
) -> AppResult<Response> {
    let (content, meta) = message_body(body)?;
    let (_, message) = post_panel(state, caller, panel_id, None, content, meta).await?;
    json(StatusCode::CREATED, &message)
}

/// One page of a session's or panel's messages: the `limit` newest strictly older
/// than `before`, oldest first. The cursor is the id of the page's oldest message.
fn page(
    conn: &Connection,
    target: Target<'_>,
    limit: u32,
    before: Option<&str>,
) -> AppResult<MessagePage> {
    let before_seq = match before {
        None => i64::MAX,
        Some(cursor) => db::message_seq(conn, target, cursor)?.ok_or_else(|| {
            ApiError::bad_request(format!(
                "The before cursor {cursor:?} was not issued for this conversation. Pass the \
                 cursor of the previous page, or leave it out for the newest messages."
            ))
        })?,
    };
    let mut messages = db::messages_before(conn, target, before_seq, limit + 1)?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    messages.reverse();
    let cursor = messages
        .first()
        .filter(|_| has_more)
        .map(|m| m.message_id.clone());
    Ok(MessagePage {
        messages,
        has_more,
        cursor,
    })
}

/// A page of a session the caller takes part in (404, 403, then 400 for a
/// cursor of another conversation).
pub async fn session_page(
    state: &AppState,
    caller: &Caller,
    session_id: String,
    limit: u32,
    before: Option<String>,
) -> AppResult<MessagePage> {
    let user = caller.user_id.clone();
    state
        .db
        .call(move |conn| {
            db::session_for(conn, &session_id, &user)?;
            page(conn, Target::Session(&session_id), limit, before.as_deref())
        })
        .await
}

/// A page of a panel of a group the caller belongs to, with the panel's group id.
pub async fn panel_page(
    state: &AppState,
    caller: &Caller,
    panel_id: String,
    group: Option<String>,
    limit: u32,
    before: Option<String>,
) -> AppResult<(String, MessagePage)> {
    let user = caller.user_id.clone();
    state
        .db
        .call(move |conn| {
            let group_id = panel_for(conn, &panel_id, group.as_deref(), &user)?;
            let page = page(conn, Target::Panel(&panel_id), limit, before.as_deref())?;
            Ok((group_id, page))
        })
        .await
}

/// `GET /claw/sessions/:id/messages?limit&before`.
pub async fn list_session(
    state: &AppState,
    caller: &Caller,
    session_id: String,
    query: PageQuery,
) -> AppResult<Response> {
    let limit = input::page_limit(&query);
    let page = session_page(state, caller, session_id, limit, query.before).await?;
    json(StatusCode::OK, &page)
}

/// `GET /claw/panels/:id/messages?limit&before`.
pub async fn list_panel(
    state: &AppState,
    caller: &Caller,
    panel_id: String,
    query: PageQuery,
) -> AppResult<Response> {
    let limit = input::page_limit(&query);
    let (_, page) = panel_page(state, caller, panel_id, None, limit, query.before).await?;
    json(StatusCode::OK, &page)
}
