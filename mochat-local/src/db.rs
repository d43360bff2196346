//! The SQLite database: opening it, the schema, and the loaders that turn rows into
//! the contract's objects. One connection behind a mutex, used on blocking threads.

use std::sync::{Arc, Mutex};

use mochat_api::live::DEFAULT_VISIBILITY;
use mochat_api::model::ParticipantsChange;
use mochat_api::{Event, EventType, Message, Session, SessionStatus, User, UserType};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Map, Value};

use crate::config::Storage;
use crate::error::{AppError, AppResult};
use crate::{ids, time};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, username TEXT,
    email TEXT UNIQUE, avatar TEXT, workspace_id TEXT NOT NULL, token TEXT UNIQUE,
    created_ms INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS users_username
    ON users (workspace_id, username COLLATE NOCASE) WHERE username IS NOT NULL;
CREATE TABLE IF NOT EXISTS chat_groups (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, name TEXT NOT NULL,
    invite_code TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS group_members (
    pos INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT NOT NULL, user_id TEXT NOT NULL,
    UNIQUE (group_id, user_id));
CREATE TABLE IF NOT EXISTS panels (
    pos INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, group_id TEXT NOT NULL,
    name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL,
    created_by TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
    activity INTEGER NOT NULL UNIQUE, last_message_id TEXT, last_seq INTEGER NOT NULL DEFAULT 0,
    dm_key TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS participants (
    pos INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, user_id TEXT NOT NULL,
    UNIQUE (session_id, user_id));
CREATE INDEX IF NOT EXISTS participants_user ON participants (user_id);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, session_id TEXT,
    panel_id TEXT, author TEXT NOT NULL, content TEXT NOT NULL, meta TEXT NOT NULL,
    created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_session ON messages (session_id, seq);
CREATE INDEX IF NOT EXISTS messages_panel ON messages (panel_id, seq);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    payload TEXT NOT NULL, PRIMARY KEY (session_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS session_extras (
    session_id TEXT PRIMARY KEY, visibility TEXT NOT NULL, metadata TEXT NOT NULL);
";

/// The database handle shared by every request.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (and creates) the database, in WAL mode with full sync, and makes
    /// sure the default workspace exists.
    pub fn open(storage: &Storage) -> Result<Self, String> {
        let conn = match storage {
            Storage::Memory => Connection::open_in_memory(),
            Storage::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
                Connection::open(path)
            }
        }
        .map_err(|e| format!("cannot open the database: {e}"))?;
        let setup = |conn: &Connection| -> rusqlite::Result<()> {
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.execute_batch(SCHEMA)
        };
        setup(&conn).map_err(|e| format!("cannot prepare the database: {e}"))?;
        let db = Self {
            conn: Arc::new(Mutex::new(conn)),
        };
        db.with(ensure_default_workspace)
            .map_err(|e| e.error.message)?;
        Ok(db)
    }

    /// Runs `f` with the connection on the current thread (for start-up work).
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> AppResult<T>) -> AppResult<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn)
    }

    /// Runs `f` in one transaction on a blocking thread; an error rolls it back.
    pub async fn transact<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        self.call(move |conn| in_tx(conn, f)).await
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.with(f))
            .await
            .map_err(AppError::internal)?
    }
}

/// Runs `f` in a transaction, committed when `f` succeeds.
pub fn in_tx<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> AppResult<T>,
) -> AppResult<T> {
    let tx = conn.transaction()?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

/// Reads a setting.
pub fn setting(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
}

/// Writes a setting.
pub fn set_setting(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The id of the workspace registration puts agents in.
pub fn default_workspace(conn: &Connection) -> AppResult<String> {
    setting(conn, "default_workspace")?
        .ok_or_else(|| AppError::internal("the default workspace is missing"))
}

/// Creates a workspace with its group, its first panel and an invite code.
/// Returns the workspace id and the group id.
pub fn create_workspace(
    conn: &Connection,
    name: &str,
    group_name: &str,
    panels: &[&str],
    now: i64,
) -> rusqlite::Result<(String, String)> {
    let workspace_id = ids::new_id("ws");
    let group_id = ids::new_id("group");
    conn.execute(
        "INSERT INTO workspaces (id, name, created_ms) VALUES (?1, ?2, ?3)",
        params![workspace_id, name, now],
    )?;
    conn.execute(
        "INSERT INTO chat_groups (id, workspace_id, name, invite_code, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            group_id,
            workspace_id,
            group_name,
            ids::new_invite_code(),
            now
        ],
    )?;
    for panel in panels {
        conn.execute(
            "INSERT INTO panels (id, group_id, name) VALUES (?1, ?2, ?3)",
            params![ids::new_id("panel"), group_id, panel],
        )?;
    }
    Ok((workspace_id, group_id))
}

fn ensure_default_workspace(conn: &mut Connection) -> AppResult<()> {
    let tx = conn.transaction()?;
    if setting(&tx, "default_workspace")?.is_none() {
        let (workspace_id, _) = create_workspace(
            &tx,
            "Local workspace",
            "MoChat",
            &["general"],
            time::now_ms(),
        )?;
        set_setting(&tx, "default_workspace", &workspace_id)?;
    }
    tx.commit()?;
    Ok(())
}

/// The group of a workspace.
pub fn workspace_group(conn: &Connection, workspace_id: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT id FROM chat_groups WHERE workspace_id = ?1 ORDER BY created_ms LIMIT 1",
        [workspace_id],
        |r| r.get(0),
    )
    .optional()
}

/// Adds a user to a group; false when they already were a member.
pub fn add_group_member(
    conn: &Connection,
    group_id: &str,
    user_id: &str,
) -> rusqlite::Result<bool> {
    let added = conn.execute(
        "INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?1, ?2)",
        params![group_id, user_id],
    )?;
    Ok(added > 0)
}

// ---- users ------------------------------------------------------------------------

const USER_COLUMNS: &str = "id, kind, name, username, email, avatar";

fn user_at(row: &Row<'_>, first: usize) -> rusqlite::Result<User> {
    let kind: String = row.get(first + 1)?;
    Ok(User {
        user_id: row.get(first)?,
        kind: if kind == "agent" {
            UserType::Agent
        } else {
            UserType::User
        },
        name: row.get(first + 2)?,
        username: row.get(first + 3)?,
        email: row.get(first + 4)?,
        avatar: row.get(first + 5)?,
    })
}

/// A user or agent by id.
pub fn user(conn: &Connection, user_id: &str) -> rusqlite::Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
        [user_id],
        |r| user_at(r, 0),
    )
    .optional()
}

/// Whether a user or agent with this id exists.
pub fn user_exists(conn: &Connection, user_id: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
        [user_id],
        |r| r.get(0),
    )
}

/// The members of a group, in joining order.
pub fn group_members(conn: &Connection, group_id: &str) -> rusqlite::Result<Vec<User>> {
    let mut stmt = conn.prepare(
        "SELECT u.id, u.kind, u.name, u.username, u.email, u.avatar
         FROM group_members g JOIN users u ON u.id = g.user_id
         WHERE g.group_id = ?1 ORDER BY g.pos",
    )?;
    stmt.query_map([group_id], |r| user_at(r, 0))?.collect()
}

// ---- messages -----------------------------------------------------------------------

/// Where a message goes.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Session(&'a str),
    Panel(&'a str),
}

const MESSAGE_SELECT: &str = "SELECT m.id, m.session_id, m.panel_id, m.content, m.author, m.meta,
    m.created_ms, u.id, u.kind, u.name, u.username, u.email, u.avatar
    FROM messages m JOIN users u ON u.id = m.author";

fn message_at(row: &Row<'_>) -> rusqlite::Result<Message> {
    let meta: String = row.get(5)?;
    Ok(Message {
        message_id: row.get(0)?,
        session_id: row.get(1)?,
        panel_id: row.get(2)?,
        content: row.get(3)?,
        author: row.get(4)?,
        meta: serde_json::from_str(&meta).unwrap_or_default(),
        created_at: time::rfc3339(row.get(6)?),
        author_info: user_at(row, 7)?,
    })
}

/// A message by id.
pub fn message(conn: &Connection, message_id: &str) -> rusqlite::Result<Option<Message>> {
    conn.query_row(
        &format!("{MESSAGE_SELECT} WHERE m.id = ?1"),
        [message_id],
        message_at,
    )
    .optional()
}

/// The sequence number of a message of `target`, if `message_id` is one.
pub fn message_seq(
    conn: &Connection,
    target: Target<'_>,
    message_id: &str,
) -> rusqlite::Result<Option<i64>> {
    let (column, id) = target_column(target);
    conn.query_row(
        &format!("SELECT seq FROM messages WHERE id = ?1 AND {column} = ?2"),
        params![message_id, id],
        |r| r.get(0),
    )
    .optional()
}

fn target_column(target: Target<'_>) -> (&'static str, &str) {
    match target {
        Target::Session(id) => ("session_id", id),
        Target::Panel(id) => ("panel_id", id),
    }
}

/// Up to `limit` messages of `target` older than `before_seq`, newest first.
pub fn messages_before(
    conn: &Connection,
    target: Target<'_>,
    before_seq: i64,
    limit: u32,
) -> rusqlite::Result<Vec<Message>> {
    let (column, id) = target_column(target);
    let mut stmt = conn.prepare(&format!(
        "{MESSAGE_SELECT} WHERE m.{column} = ?1 AND m.seq < ?2 ORDER BY m.seq DESC LIMIT ?3"
    ))?;
    stmt.query_map(params![id, before_seq, limit], message_at)?
        .collect()
}

/// Stores a message. For a session it also records the `message.add` event and
/// bumps the session; the returned seq is the event's (0 for panels).
pub fn insert_message(
    conn: &Connection,
    target: Target<'_>,
    author: &str,
    content: &str,
    meta: &Map<String, Value>,
    now: i64,
) -> AppResult<(Message, u64)> {
    let id = ids::new_id("msg");
    let (session_id, panel_id) = match target {
        Target::Session(id) => (Some(id), None),
        Target::Panel(id) => (None, Some(id)),
    };
    let meta_json = serde_json::to_string(meta).map_err(AppError::internal)?;
    conn.execute(
        "INSERT INTO messages (id, session_id, panel_id, author, content, meta, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, session_id, panel_id, author, content, meta_json, now],
    )?;
    let message =
        self::message(conn, &id)?.ok_or_else(|| AppError::internal("a new message vanished"))?;
    let mut seq = 0;
    if let Some(session_id) = session_id {
        conn.execute(
            "UPDATE sessions SET last_message_id = ?2 WHERE id = ?1",
            params![session_id, id],
        )?;
        bump_session(conn, session_id, now)?;
        let payload = serde_json::to_value(&message).map_err(AppError::internal)?;
        seq = append_event(conn, session_id, &EventType::MessageAdd, now, &payload)?;
    }
    Ok((message, seq))
}

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
        AppError::not_found(format!(
            "Session {session_id} does not exist or was deleted."
        ))
    })
}

/// A session the caller takes part in: 404 when unknown, 403 when not a participant.
pub fn session_for(conn: &Connection, session_id: &str, caller: &str) -> AppResult<Session> {
    let session = existing_session(conn, session_id)?;
    if !session.participants.iter().any(|p| p == caller) {
        return Err(AppError::forbidden(format!(
            "You are not a participant of session {session_id}. Ask a participant to add you."
        )));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(conn: &Connection, name: &str) -> String {
        let id = ids::new_id("agent");
        let ws = default_workspace(conn).expect("workspace");
        conn.execute(
            "INSERT INTO users (id, kind, name, username, workspace_id, created_ms)
             VALUES (?1, 'agent', ?2, ?2, ?3, 0)",
            params![id, name, ws],
        )
        .expect("insert");
        id
    }

    #[test]
    fn messages_and_events_share_one_story() {
        let db = Db::open(&Storage::Memory).expect("opens");
        db.with(|conn| {
            let a = agent(conn, "a");
            let ws = default_workspace(conn)?;
            let sid = insert_session(conn, &ws, "t", &a, &[], None, 1000)?;
            let (m1, s1) =
                insert_message(conn, Target::Session(&sid), &a, "one", &Map::new(), 1001)?;
            let (m2, s2) =
                insert_message(conn, Target::Session(&sid), &a, "two", &Map::new(), 1002)?;
            assert_eq!((s1, s2), (1, 2));
            let session = existing_session(conn, &sid)?;
            assert_eq!(
                session.last_message.map(|m| m.message_id),
                Some(m2.message_id.clone())
            );
            assert_eq!(session.participants, std::slice::from_ref(&a));
            let seq2 = message_seq(conn, Target::Session(&sid), &m2.message_id)?.expect("seq");
            let older = messages_before(conn, Target::Session(&sid), seq2, 10)?;
            assert_eq!(older, [m1]);
            let events = events_after(conn, &sid, 1, 10)?;
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].message().map(|m| m.content), Some("two".into()));
            assert_eq!(last_seq(conn, &sid)?, 2);
            assert!(session_for(conn, &sid, "agent_other").is_err());
            Ok(())
        })
        .expect("works");
    }

    #[test]
    fn extras_default_and_the_updated_after_filter_is_strict() {
        let db = Db::open(&Storage::Memory).expect("opens");
        db.with(|conn| {
            let a = agent(conn, "a");
            let ws = default_workspace(conn)?;
            let old = insert_session(conn, &ws, "old", &a, &[], None, 1000)?;
            let new = insert_session(conn, &ws, "new", &a, &[], None, 2000)?;
            assert_eq!(session_extras(conn, &old)?, SessionExtras::default());
            let mut metadata = Map::new();
            metadata.insert("topic".into(), Value::from("launch"));
            let extras = SessionExtras {
                visibility: "public".into(),
                metadata,
            };
            set_session_extras(conn, &new, &extras)?;
            assert_eq!(session_extras(conn, &new)?, extras);
            assert_eq!(
                sessions_updated_after(conn, &a, None, 10)?,
                [new.clone(), old.clone()]
            );
            assert_eq!(
                sessions_updated_after(conn, &a, Some(999), 10)?,
                [new.clone(), old]
            );
            assert_eq!(
                sessions_updated_after(conn, &a, Some(1000), 10)?,
                std::slice::from_ref(&new)
            );
            assert_eq!(sessions_updated_after(conn, &a, Some(1999), 1)?, [new]);
            assert!(sessions_updated_after(conn, &a, Some(2000), 10)?.is_empty());
            assert!(sessions_updated_after(conn, "agent_other", None, 10)?.is_empty());
            Ok(())
        })
        .expect("works");
    }
}
