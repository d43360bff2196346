//! Sessions: create, get, detail, close, list, and participant changes.

use axum::http::StatusCode;
use axum::response::Response;
use mochat_api::ApiError;
use mochat_api::model::ParticipantsChange;
use mochat_api::requests::{CreateSessionRequest, PageQuery, ParticipantsRequest};
use mochat_api::{EventType, Session, SessionDetail, SessionPage, SessionStatus};
use rusqlite::{Connection, params};

use crate::accounts::Caller;
use crate::db;
use crate::error::{AppError, AppResult, json};
use crate::{AppState, input, time};

/// Prefix of the session list's cursors.
const LIST_CURSOR_PREFIX: &str = "sl_";

/// Checks that every id names a user or agent (404 otherwise) and drops repeats.
fn known_users(conn: &Connection, ids: &[String]) -> AppResult<Vec<String>> {
    let mut unique: Vec<String> = Vec::new();
    for id in ids {
        if !db::user_exists(conn, id)? {
            return Err(ApiError::not_found(format!(
                "User {id} does not exist. Use the userId of an agent or person."
            ))
            .into());
        }
        if !unique.contains(id) {
            unique.push(id.clone());
        }
    }
    Ok(unique)
}

/// Creates a session; the creator always takes part.
pub fn create_session(
    tx: &Connection,
    caller: &Caller,
    participants: &[String],
    title: &str,
    now: i64,
) -> AppResult<Session> {
    let participants = known_users(tx, participants)?;
    let id = db::insert_session(
        tx,
        &caller.workspace_id,
        title,
        &caller.user_id,
        &participants,
        None,
        now,
    )?;
    db::existing_session(tx, &id)
}

/// `POST /claw/sessions`.
pub async fn create(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: CreateSessionRequest = input::json_body(body)?;
    let title = input::title(request.title)?;
    let caller = caller.clone();
    let session = state
        .db
        .transact(move |conn| {
            create_session(conn, &caller, &request.participants, &title, time::now_ms())
        })
        .await?;
    json(StatusCode::CREATED, &session)
}

/// `GET /claw/sessions/:id`.
pub async fn get(state: &AppState, caller: &Caller, session_id: String) -> AppResult<Response> {
    let user = caller.user_id.clone();
    let session = state
        .db
        .call(move |conn| db::session_for(conn, &session_id, &user))
        .await?;
    json(StatusCode::OK, &session)
}

/// A session the caller takes part in, with its participants resolved, its
/// size and its latest event seq.
pub fn load_detail(conn: &Connection, session_id: &str, user: &str) -> AppResult<SessionDetail> {
    let session = db::session_for(conn, session_id, user)?;
    let mut participant_info = Vec::with_capacity(session.participants.len());
    for id in &session.participants {
        participant_info.extend(db::user(conn, id)?);
    }
    let message_count: i64 = conn.query_row(
        "SELECT COUNT(*) FROM messages WHERE session_id = ?1",
        [session_id],
        |r| r.get(0),
    )?;
    let cursor = db::last_seq(conn, session_id)?;
    Ok(SessionDetail {
        session,
        participant_info,
        message_count: u64::try_from(message_count).unwrap_or(0),
        cursor,
    })
}

/// `GET /claw/sessions/:id/detail`.
pub async fn detail(state: &AppState, caller: &Caller, session_id: String) -> AppResult<Response> {
    let user = caller.user_id.clone();
    let detail = state
        .db
        .call(move |conn| load_detail(conn, &session_id, &user))
        .await?;
    json(StatusCode::OK, &detail)
}

/// Closes a session; only the first close changes anything and emits `session.update`.
pub fn close_session(
    tx: &Connection,
    caller: &str,
    session_id: &str,
    now: i64,
) -> AppResult<(Session, u64)> {
    let session = db::session_for(tx, session_id, caller)?;
    if session.status == SessionStatus::Closed {
        return Ok((session, 0));
    }
    tx.execute(
        "UPDATE sessions SET status = 'closed' WHERE id = ?1",
        [session_id],
    )?;
    db::bump_session(tx, session_id, now)?;
    let session = db::existing_session(tx, session_id)?;
    let payload = serde_json::to_value(&session).map_err(AppError::internal)?;
    let seq = db::append_event(tx, session_id, &EventType::SessionUpdate, now, &payload)?;
    Ok((session, seq))
}

/// Closes a session and wakes its watchers.
pub async fn close_and_notify(
    state: &AppState,
    caller: &Caller,
    session_id: String,
) -> AppResult<Session> {
    let user = caller.user_id.clone();
    let sid = session_id.clone();
    let (session, seq) = state
        .db
        .transact(move |conn| close_session(conn, &user, &sid, time::now_ms()))
        .await?;
    if seq > 0 {
        state.hub.notify(&session_id, seq);
    }
    Ok(session)
}

/// `POST /claw/sessions/:id/close`.
pub async fn close(state: &AppState, caller: &Caller, session_id: String) -> AppResult<Response> {
    let session = close_and_notify(state, caller, session_id).await?;
    json(StatusCode::OK, &session)
}

/// `GET /claw/sessions?limit&before`: the caller's sessions, newest activity first.
pub async fn list(state: &AppState, caller: &Caller, query: PageQuery) -> AppResult<Response> {
    let limit = input::page_limit(&query);
    let user = caller.user_id.clone();
    let page = state
        .db
        .call(move |conn| {
            let before = match query.before.as_deref() {
                None => i64::MAX,
                Some(raw) => raw
                    .strip_prefix(LIST_CURSOR_PREFIX)
                    .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|n| n.parse::<i64>().ok())
                    .filter(|&n| n >= 1 && n <= db::max_activity(conn).unwrap_or(0))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "The before cursor {raw:?} was not issued by this server. Pass the \
                             cursor of the previous page, or leave it out for the newest sessions."
                        ))
                    })?,
            };
            let mut stmt = conn.prepare(
                "SELECT s.id, s.activity FROM sessions s
                 JOIN participants p ON p.session_id = s.id AND p.user_id = ?1
                 WHERE s.activity < ?2 ORDER BY s.activity DESC LIMIT ?3",
            )?;
            let mut rows: Vec<(String, i64)> = stmt
                .query_map(params![user, before, limit + 1], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let has_more = rows.len() > limit as usize;
            rows.truncate(limit as usize);
            let cursor = rows
                .last()
                .filter(|_| has_more)
                .map(|(_, activity)| format!("{LIST_CURSOR_PREFIX}{activity}"));
            let mut sessions = Vec::with_capacity(rows.len());
            for (id, _) in &rows {
                sessions.extend(db::session(conn, id)?);
            }
            Ok(SessionPage {
                sessions,
                has_more,
                cursor,
            })
        })
        .await?;
    json(StatusCode::OK, &page)
}

/// Adds (`add`) or removes participants; real changes emit one `session.participants`.
pub fn change_participants(
    tx: &Connection,
    caller: &str,
    session_id: &str,
    ids: &[String],
    add: bool,
    now: i64,
) -> AppResult<(Session, u64)> {
    db::existing_session(tx, session_id)?;
    let ids = known_users(tx, ids)?;
    let session = db::session_for(tx, session_id, caller)?;
    if session.status == SessionStatus::Closed {
        return Err(ApiError::conflict(format!(
            "Session {session_id} is closed; its participants can no longer change."
        ))
        .into());
    }
    let mut change = ParticipantsChange::default();
    for id in ids {
        if add && db::add_participant(tx, session_id, &id)? {
            change.added.push(id);
        } else if !add && db::remove_participant(tx, session_id, &id)? {
            change.removed.push(id);
        }
    }
    if change.added.is_empty() && change.removed.is_empty() {
        return Ok((session, 0));
    }
    db::bump_session(tx, session_id, now)?;
    let seq = db::append_participants_event(tx, session_id, &change, now)?;
    let session = db::existing_session(tx, session_id)?;
    Ok((session, seq))
}

/// Adds or removes participants and wakes the session's watchers. `ids` finds
/// the user ids in the same transaction (the live dialect resolves names there).
pub async fn change_and_notify(
    state: &AppState,
    caller: &Caller,
    session_id: String,
    add: bool,
    ids: impl FnOnce(&Connection) -> AppResult<Vec<String>> + Send + 'static,
) -> AppResult<Session> {
    let user = caller.user_id.clone();
    let sid = session_id.clone();
    let (session, seq) = state
        .db
        .transact(move |conn| {
            let ids = ids(conn)?;
            change_participants(conn, &user, &sid, &ids, add, time::now_ms())
        })
        .await?;
    if seq > 0 {
        state.hub.notify(&session_id, seq);
    }
    Ok(session)
}

/// `POST` / `DELETE /claw/sessions/:id/participants`.
pub async fn participants(
    state: &AppState,
    caller: &Caller,
    session_id: String,
    body: &[u8],
    add: bool,
) -> AppResult<Response> {
    let request: ParticipantsRequest = input::json_body(body)?;
    let session = change_and_notify(state, caller, session_id, add, move |_| {
        Ok(request.participants)
    })
    .await?;
    json(StatusCode::OK, &session)
}
