//! Sessions, their events (the watch's feed) and what the live dialect
//! keeps of them beyond the reference.

use mochat_api::live::DEFAULT_VISIBILITY;
use mochat_api::model::ParticipantsChange;
use mochat_api::{ApiError, Event, EventType, Session, SessionStatus};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use super::message;
use crate::error::{AppError, AppResult};
use crate::{ids, time};

// ---- sessions -----------------------------------------------------------------------

/// The next value of the activity counter that orders the session list.
fn next_activity(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COALESCE(MAX(activity), 0) + 1 FROM sessions",
        [],
        |r| r.get(0),
    )
}

/// The largest activity value handed out so far (bounds valid list cursors).
pub fn max_activity(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(activity), 0) FROM sessions", [], |r| {
        r.get(0)
    })
}

/// Creates a session with its participants (creator first). No event: a new
/// session's history starts empty.
pub fn insert_session(
    conn: &Connection,
    workspace_id: &str,
    title: &str,
    creator: &str,
    participants: &[String],
    dm_key: Option<&str>,
    now: i64,
) -> rusqlite::Result<String> {
    let id = ids::new_id("session");
    conn.execute(
        "INSERT INTO sessions (id, workspace_id, title, status, created_by, created_ms,
             updated_ms, activity, dm_key)
         VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?5, ?6, ?7)",
        params![
            id,
            workspace_id,
            title,
            creator,
            now,
            next_activity(conn)?,
            dm_key
        ],
    )?;
    add_participant(conn, &id, creator)?;
    for user_id in participants {
        add_participant(conn, &id, user_id)?;
    }
    Ok(id)
}

/// Adds a participant; false when they already were one.
pub fn add_participant(
    conn: &Connection,
    session_id: &str,
    user_id: &str,
) -> rusqlite::Result<bool> {
    let added = conn.execute(
        "INSERT OR IGNORE INTO participants (session_id, user_id) VALUES (?1, ?2)",
        params![session_id, user_id],
    )?;
    Ok(added > 0)
}

/// Removes a participant; false when they were not one.
pub fn remove_participant(
    conn: &Connection,
    session_id: &str,
    user_id: &str,
) -> rusqlite::Result<bool> {
    let removed = conn.execute(
        "DELETE FROM participants WHERE session_id = ?1 AND user_id = ?2",
        params![session_id, user_id],
    )?;
    Ok(removed > 0)
}

/// Marks activity on a session: a new `updatedAt` and the front of the list.
pub fn bump_session(conn: &Connection, session_id: &str, now: i64) -> rusqlite::Result<()> {
    let activity = next_activity(conn)?;
    conn.execute(
        "UPDATE sessions SET updated_ms = MAX(updated_ms, ?2), activity = ?3 WHERE id = ?1",
        params![session_id, now, activity],
    )?;
    Ok(())
}

/// A session with its participants and last message.
pub fn session(conn: &Connection, session_id: &str) -> rusqlite::Result<Option<Session>> {
    let row = conn
        .query_row(
            "SELECT id, workspace_id, title, status, created_by, created_ms, updated_ms,
                    last_message_id
             FROM sessions WHERE id = ?1",
            [session_id],
            |r| {
                let status: String = r.get(3)?;
                let session = Session {
                    session_id: r.get(0)?,
                    workspace_id: r.get(1)?,
                    title: r.get(2)?,
                    participants: Vec::new(),
                    status: if status == "closed" {
                        SessionStatus::Closed
                    } else {
                        SessionStatus::Open
                    },
                    created_by: r.get(4)?,
                    created_at: time::rfc3339(r.get(5)?),
                    updated_at: time::rfc3339(r.get(6)?),
                    last_message: None,
                };
                Ok((session, r.get::<_, Option<String>>(7)?))
            },
        )
        .optional()?;
    let Some((mut session, last_message_id)) = row else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare("SELECT user_id FROM participants WHERE session_id = ?1 ORDER BY pos")?;
    session.participants = stmt
        .query_map([session_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if let Some(id) = last_message_id {
        session.last_message = message(conn, &id)?;
    }
    Ok(Some(session))
}

/// A session that must exist (404 otherwise).
pub fn existing_session(conn: &Connection, session_id: &str) -> AppResult<Session> {
    session(conn, session_id)?.ok_or_else(|| {
        ApiError::not_found(format!(
            "Session {session_id} does not exist or was deleted."
        ))
        .into()
    })
}

/// A session the caller takes part in: 404 when unknown, 403 when not a participant.
pub fn session_for(conn: &Connection, session_id: &str, caller: &str) -> AppResult<Session> {
    let session = existing_session(conn, session_id)?;
    if !session.participants.iter().any(|p| p == caller) {
        return Err(ApiError::forbidden(format!(
            "You are not a participant of session {session_id}. Ask a participant to add you."
        ))
        .into());
    }
    Ok(session)
}

// ---- events -------------------------------------------------------------------------

/// Records an event of a session under its next seq, and returns that seq.
pub fn append_event(
    conn: &Connection,
    session_id: &str,
    kind: &EventType,
    now: i64,
    payload: &Value,
) -> AppResult<u64> {
    let seq: i64 = conn.query_row(
        "UPDATE sessions SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq",
        [session_id],
        |r| r.get(0),
    )?;
    let payload = serde_json::to_string(payload).map_err(AppError::internal)?;
    conn.execute(
        "INSERT INTO events (session_id, seq, kind, ts_ms, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![session_id, seq, kind.as_str(), now, payload],
    )?;
    Ok(u64::try_from(seq).unwrap_or(0))
}

/// Records a `session.participants` event.
pub fn append_participants_event(
    conn: &Connection,
    session_id: &str,
    change: &ParticipantsChange,
    now: i64,
) -> AppResult<u64> {
    let payload = serde_json::to_value(change).map_err(AppError::internal)?;
    append_event(
        conn,
        session_id,
        &EventType::SessionParticipants,
        now,
        &payload,
    )
}

/// The latest event seq of a session (0 when it has none).
pub fn last_seq(conn: &Connection, session_id: &str) -> rusqlite::Result<u64> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT last_seq FROM sessions WHERE id = ?1",
            [session_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
}

/// Up to `limit` events of a session with a seq above `after`, oldest first.
pub fn events_after(
    conn: &Connection,
    session_id: &str,
    after: u64,
    limit: u32,
) -> rusqlite::Result<Vec<Event>> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare(
        "SELECT seq, kind, ts_ms, payload FROM events
         WHERE session_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    stmt.query_map(params![session_id, after, limit], |r| {
        let seq: i64 = r.get(0)?;
        let kind: String = r.get(1)?;
        let payload: String = r.get(3)?;
        Ok(Event {
            seq: u64::try_from(seq).unwrap_or(0),
            session_id: session_id.to_owned(),
            kind: EventType::from(kind),
            timestamp: time::rfc3339(r.get(2)?),
            payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
        })
    })?
    .collect()
}

// ---- what the live dialect keeps beyond the reference ---------------------------------

/// A session's live-dialect fields: its visibility and its metadata (without
/// `title`, which is the session's own column). Sessions created by the
/// reference's dialect have the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionExtras {
    pub visibility: String,
    pub metadata: Map<String, Value>,
}

impl Default for SessionExtras {
    fn default() -> Self {
        Self {
            visibility: DEFAULT_VISIBILITY.to_owned(),
            metadata: Map::new(),
        }
    }
}

/// Stores a session's live-dialect fields.
pub fn set_session_extras(
    conn: &Connection,
    session_id: &str,
    extras: &SessionExtras,
) -> AppResult<()> {
    let metadata = serde_json::to_string(&extras.metadata).map_err(AppError::internal)?;
    conn.execute(
        "INSERT INTO session_extras (session_id, visibility, metadata) VALUES (?1, ?2, ?3)
         ON CONFLICT (session_id) DO UPDATE SET visibility = excluded.visibility,
             metadata = excluded.metadata",
        params![session_id, extras.visibility, metadata],
    )?;
    Ok(())
}

/// A session's live-dialect fields (the defaults when it has none stored).
pub fn session_extras(conn: &Connection, session_id: &str) -> rusqlite::Result<SessionExtras> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT visibility, metadata FROM session_extras WHERE session_id = ?1",
            [session_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match row {
        Some((visibility, metadata)) => SessionExtras {
            visibility,
            metadata: serde_json::from_str(&metadata).unwrap_or_default(),
        },
        None => SessionExtras::default(),
    })
}

/// The ids of up to `limit` sessions of `user` whose `updatedAt` is after
/// `after_ms` (every one when `None`), newest activity first.
pub fn sessions_updated_after(
    conn: &Connection,
    user: &str,
    after_ms: Option<i64>,
    limit: u32,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT s.id FROM sessions s
         JOIN participants p ON p.session_id = s.id AND p.user_id = ?1
         WHERE s.updated_ms > ?2 ORDER BY s.activity DESC LIMIT ?3",
    )?;
    stmt.query_map(params![user, after_ms.unwrap_or(i64::MIN), limit], |r| {
        r.get(0)
    })?
    .collect()
}
