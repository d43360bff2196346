//! The SQLite database: opening it, the schema, and the loaders that turn rows into
//! the contract's objects. One connection behind a mutex, used on blocking threads.

use std::sync::{Arc, Mutex};

use mochat_api::{EventType, Message, User, UserType};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Map, Value};

use crate::config::Storage;
use crate::error::{AppError, AppResult};
use crate::{ids, time};

mod sessions;
pub use sessions::*;

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
