//! Messages in sessions and panels: sending, and paging back through history.

use axum::http::StatusCode;
use axum::response::Response;
use mochat_api::requests::SendMessageRequest;
use mochat_api::{Message, MessagePage, SessionStatus};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use crate::accounts::Caller;
use crate::db::{self, Target};
use crate::error::{AppError, AppResult, json};
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
        return Err(AppError::conflict(format!(
            "Session {session_id} is closed and takes no more messages. Start a new session."
        )));
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

/// `POST /claw/sessions/:id/message`.
pub async fn send_session(
    state: &AppState,
    caller: &Caller,
    session_id: String,
    body: &[u8],
) -> AppResult<Response> {
    let (content, meta) = message_body(body)?;
    let message = send(state, &caller.user_id, &session_id, content, meta).await?;
    if !state.answer_delay.is_zero() {
        // Tests only (`--answer-delay-ms`): stored, but not yet answered.
        tokio::time::sleep(state.answer_delay).await;
    }
    json(StatusCode::CREATED, &message)
}

/// Checks that a panel exists (404) and that the user is a member of its group (403).
fn panel_for(conn: &Connection, panel_id: &str, user: &str) -> AppResult<()> {
    let group: Option<String> = conn
        .query_row(
            "SELECT group_id FROM panels WHERE id = ?1",
            [panel_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(group) = group else {
        return Err(AppError::not_found(format!(
            "Panel {panel_id} does not exist or was deleted."
        )));
    };
    let member: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM group_members WHERE group_id = ?1 AND user_id = ?2)",
        params![group, user],
        |r| r.get(0),
    )?;
    if !member {
        return Err(AppError::forbidden(format!(
            "You are not a member of the group of panel {panel_id}. Join it with its invite code first."
        )));
    }
    Ok(())
}

/// Posts a message to a panel of a group the author belongs to.
pub fn send_to_panel(
    tx: &Connection,
    author: &str,
    panel_id: &str,
    content: &str,
    meta: &Map<String, Value>,
    now: i64,
) -> AppResult<Message> {
    panel_for(tx, panel_id, author)?;
    let (message, _) = db::insert_message(tx, Target::Panel(panel_id), author, content, meta, now)?;
    Ok(message)
}

/// `POST /claw/panels/:id/message`.
pub async fn send_panel(
    state: &AppState,
    caller: &Caller,
    panel_id: String,
    body: &[u8],
) -> AppResult<Response> {
    let (content, meta) = message_body(body)?;
    let user = caller.user_id.clone();
    let message = state
        .db
        .transact(move |conn| {
            send_to_panel(conn, &user, &panel_id, &content, &meta, time::now_ms())
        })
        .await?;
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
            AppError::bad_request(format!(
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

/// `GET /claw/sessions/:id/messages?limit&before`.
pub async fn list_session(
    state: &AppState,
    caller: &Caller,
    session_id: String,
    query: Option<&str>,
) -> AppResult<Response> {
    let query = input::page_query(query)?;
    let user = caller.user_id.clone();
    let page = state
        .db
        .call(move |conn| {
            db::session_for(conn, &session_id, &user)?;
            page(
                conn,
                Target::Session(&session_id),
                input::page_limit(&query),
                query.before.as_deref(),
            )
        })
        .await?;
    json(StatusCode::OK, &page)
}

/// `GET /claw/panels/:id/messages?limit&before`.
pub async fn list_panel(
    state: &AppState,
    caller: &Caller,
    panel_id: String,
    query: Option<&str>,
) -> AppResult<Response> {
    let query = input::page_query(query)?;
    let user = caller.user_id.clone();
    let page = state
        .db
        .call(move |conn| {
            panel_for(conn, &panel_id, &user)?;
            page(
                conn,
                Target::Panel(&panel_id),
                input::page_limit(&query),
                query.before.as_deref(),
            )
        })
        .await?;
    json(StatusCode::OK, &page)
}
