//! What the hub keeps in its SQLite storage, and how it writes it.
//!
//! The hub answers from memory; storage is the truth that survives a restart
//! or an eviction. Writes are queued and applied once no forwarded call waits
//! for its upstream answer and the latest answer is on its way to the browser
//! ([`Store::later`], then [`Store::flush`]; see
//! [`super::Hub::schedule_flush`]), so they do not hold those answers back (a
//! Durable Object holds outgoing messages until the writes before them are
//! durable, and applying writes keeps the thread busy). Two exceptions: a
//! send's reservation is written a millisecond after it is taken, while the
//! send is out, and a read of storage first applies the queued changes it
//! could read (a meta, a title, a visitor, the ledger), so it sees them.
//! What a crash can cost is the queue of that moment, at most
//! [`super::FLUSH_HOLD_MAX_MS`] of changes:
//! - budget: requests admitted in it are forgotten, so after a restart the
//!   hub could admit that many more in the same window (the upstream's own
//!   limit then refuses them with a 429, which the hub passes on);
//! - ledger: a send's answer, when its reservation was written: a retry
//!   then reads the conversation back before posting (see [`crate::outbox`]);
//!   the reservation itself only in the millisecond before it is written
//!   (a retry then posts again);
//! - a visitor's name or session, a session's title, a message's meta
//!   (live dialect): the change is lost and the browser shows the older value.
//!
//! An agent's token is the exception: it is written before the answer.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use worker::{Result, SqlStorage, SqlStorageValue};

use super::budget::Spender;
use crate::outbox::{Entry, Slot, Write as LedgerWrite};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS agent (
    id TEXT PRIMARY KEY, token TEXT NOT NULL, name TEXT NOT NULL, username TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budget (at INTEGER NOT NULL, spender TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY, ticket INTEGER NOT NULL, at INTEGER NOT NULL, body TEXT);
CREATE TABLE IF NOT EXISTS visitors (
    key TEXT PRIMARY KEY, name TEXT, email TEXT, session_id TEXT);
CREATE TABLE IF NOT EXISTS visitor_seen (
    key TEXT PRIMARY KEY, first_seen INTEGER, last_seen INTEGER);
CREATE TABLE IF NOT EXISTS titles (session_id TEXT PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metas (
    message_id TEXT PRIMARY KEY, meta TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS metas_at ON metas (at);
";

/// Message metas kept for the live dialect (the oldest go first).
pub const METAS_KEEP: u64 = 20_000;

/// The agent whose token the hub keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAgent {
    pub id: String,
    pub token: String,
    pub name: String,
    pub username: String,
}

/// What the hub keeps of a widget visitor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VisitorRecord {
    pub name: Option<String>,
    pub email: Option<String>,
    pub session_id: Option<String>,
    /// When the visitor was minted (Unix ms; none from before it was kept).
    pub first_seen: Option<u64>,
    /// The visitor's latest call (Unix ms, to [`super::visitors::SEEN_STEP_MS`]).
    pub last_seen: Option<u64>,
}

/// A change to apply to storage.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Spent {
        at: u64,
        spender: Spender,
    },
    /// Requests at or before this time left the window.
    Expired {
        upto: u64,
    },
    Ledger {
        write: LedgerWrite,
        body: Option<String>,
    },
    Visitor {
        key: String,
        record: VisitorRecord,
    },
    Title {
        session_id: String,
        title: String,
    },
    Meta {
        message_id: String,
        meta: Map<String, Value>,
        at: u64,
    },
}

#[derive(Deserialize)]
struct HitRow {
    at: f64,
    spender: String,
}

#[derive(Deserialize)]
struct LegacyHitRow {
    at: f64,
}

#[derive(Deserialize)]
struct EntryRow {
    key: String,
    ticket: f64,
    at: f64,
    done: f64,
}

#[derive(Deserialize)]
struct BodyRow {
    body: Option<String>,
}

#[derive(Deserialize)]
struct VisitorRow {
    name: Option<String>,
    email: Option<String>,
    session_id: Option<String>,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
}

#[derive(Deserialize)]
struct TextRow {
    value: String,
}

fn int(n: u64) -> Result<SqlStorageValue> {
    SqlStorageValue::try_from_i64(i64::try_from(n).map_err(|e| e.to_string())?)
}

fn spender_name(s: Spender) -> &'static str {
    match s {
        Spender::Person => "person",
        Spender::Visitor => "visitor",
        Spender::Live => "live",
    }
}

fn spender_of(name: &str) -> Spender {
    match name {
        "visitor" => Spender::Visitor,
        "live" => Spender::Live,
        _ => Spender::Person,
    }
}

fn opt(value: Option<String>) -> SqlStorageValue {
    value.map_or(SqlStorageValue::Null, SqlStorageValue::String)
}

fn opt_int(value: Option<u64>) -> Result<SqlStorageValue> {
    value.map_or(Ok(SqlStorageValue::Null), int)
}

/// The hub's storage.
pub struct Store {
    sql: SqlStorage,
    queue: RefCell<Vec<Write>>,
    /// Metas written since the oldest were last trimmed.
    metas_written: std::cell::Cell<u64>,
}

impl Store {
    /// Opens the hub's storage, creating its tables on first use (a failure
    /// is logged; every later use of storage then fails with its own error).
    pub fn open(sql: SqlStorage) -> Self {
        if let Err(e) = sql.exec(SCHEMA, None) {
            worker::console_error!("mochat-worker: the hub's storage cannot open: {e}");
        }
        Self {
            sql,
            queue: RefCell::new(Vec::new()),
            metas_written: std::cell::Cell::new(0),
        }
    }

    fn rows<T: for<'de> Deserialize<'de>>(
        &self,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<Vec<T>> {
        // Budget writes are read back only when the hub starts (queue empty):
        // a read waits for the others only, so it sees every change.
        let readable = self
            .queue
            .borrow()
            .iter()
            .any(|w| !matches!(w, Write::Spent { .. } | Write::Expired { .. }));
        if readable {
            self.flush()?;
        }
        self.sql.exec(query, Some(bindings))?.to_array()
    }

    fn text(&self, query: &str, key: &str) -> Result<Option<String>> {
        Ok(self
            .rows::<TextRow>(query, vec![key.to_owned().into()])?
            .into_iter()
            .next()
            .map(|r| r.value))
    }

    /// The agent whose token is kept here, if any.
    pub fn agent(&self) -> Result<Option<StoredAgent>> {
        let rows: Vec<StoredAgent> = self.rows(
            "SELECT id, token, name, username FROM agent LIMIT 1",
            vec![],
        )?;
        Ok(rows.into_iter().next())
    }

    /// Keeps the agent's token, at once (before the answer goes out).
    pub fn keep_agent(&self, agent: &StoredAgent) -> Result<()> {
        self.sql.exec("DELETE FROM agent", None)?;
        self.sql.exec(
            "INSERT INTO agent (id, token, name, username) VALUES (?, ?, ?, ?)",
            Some(vec![
                agent.id.clone().into(),
                agent.token.clone().into(),
                agent.name.clone().into(),
                agent.username.clone().into(),
            ]),
        )?;
        Ok(())
    }

    /// The requests of the budget's window, including those an earlier
    /// version of this object kept (its `hits` table, counted as people's).
    pub fn budget_hits(&self) -> Result<Vec<(u64, Spender)>> {
        let mut hits: Vec<(u64, Spender)> = self
            .rows::<HitRow>("SELECT at, spender FROM budget", vec![])?
            .into_iter()
            .map(|r| (r.at as u64, spender_of(&r.spender)))
            .collect();
        let legacy = self.text(
            "SELECT name AS value FROM sqlite_master WHERE type = 'table' AND name = ?",
            "hits",
        )?;
        if legacy.is_some() {
            let old: Vec<LegacyHitRow> = self.rows("SELECT at FROM hits", vec![])?;
            hits.extend(old.into_iter().map(|r| (r.at as u64, Spender::Person)));
            self.sql.exec("DROP TABLE hits", None)?;
        }
        Ok(hits)
    }

    /// The ledger's entries (bodies stay in storage).
    pub fn ledger(&self) -> Result<Vec<(String, Entry)>> {
        let rows: Vec<EntryRow> = self.rows(
            "SELECT key, ticket, at, body IS NOT NULL AS done FROM outbox",
            vec![],
        )?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let slot = if r.done != 0.0 {
                    Slot::Done
                } else {
                    Slot::InFlight {
                        ticket: r.ticket as u64,
                    }
                };
                (
                    r.key,
                    Entry {
                        slot,
                        at: r.at as u64,
                    },
                )
            })
            .collect())
    }

    /// The stored answer of a send.
    pub fn ledger_body(&self, key: &str) -> Result<Option<String>> {
        let rows: Vec<BodyRow> = self.rows(
            "SELECT body FROM outbox WHERE key = ?",
            vec![key.to_owned().into()],
        )?;
        Ok(rows.into_iter().next().and_then(|r| r.body))
    }

    pub fn visitor(&self, key: &str) -> Result<Option<VisitorRecord>> {
        let rows: Vec<VisitorRow> = self.rows(
            "SELECT v.name, v.email, v.session_id, s.first_seen, s.last_seen
             FROM visitors v LEFT JOIN visitor_seen s ON s.key = v.key WHERE v.key = ?",
            vec![key.to_owned().into()],
        )?;
        Ok(rows.into_iter().next().map(|r| VisitorRecord {
            name: r.name,
            email: r.email,
            session_id: r.session_id,
            first_seen: r.first_seen.map(|n| n as u64),
            last_seen: r.last_seen.map(|n| n as u64),
        }))
    }

    pub fn title(&self, session_id: &str) -> Result<Option<String>> {
        self.text(
            "SELECT title AS value FROM titles WHERE session_id = ?",
            session_id,
        )
    }

    pub fn meta(&self, message_id: &str) -> Result<Option<Map<String, Value>>> {
        Ok(self
            .text(
                "SELECT meta AS value FROM metas WHERE message_id = ?",
                message_id,
            )?
            .and_then(|m| serde_json::from_str(&m).ok()))
    }

    /// Queues a change; [`Store::flush`] applies it.
    pub fn later(&self, write: Write) {
        self.queue.borrow_mut().push(write);
    }

    /// Whether changes wait to be written.
    pub fn has_queued(&self) -> bool {
        !self.queue.borrow().is_empty()
    }

    /// Whether a queued change must not wait for answers: a send's
    /// reservation, which keeps a retry after a crash from posting twice.
    pub fn has_urgent(&self) -> bool {
        self.queue.borrow().iter().any(|w| {
            matches!(
                w,
                Write::Ledger {
                    write: LedgerWrite::Reserve { .. },
                    ..
                }
            )
        })
    }

    /// Applies every queued change; one that fails does not stop the others
    /// (the first failure is returned).
    pub fn flush(&self) -> Result<()> {
        let queue = std::mem::take(&mut *self.queue.borrow_mut());
        let mut first = Ok(());
        for write in queue {
            if let Err(e) = self.apply(write)
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }

    fn apply(&self, write: Write) -> Result<()> {
        let exec = |q: &str, b: Vec<SqlStorageValue>| self.sql.exec(q, Some(b)).map(|_| ());
        match write {
            Write::Spent { at, spender } => exec(
                "INSERT INTO budget (at, spender) VALUES (?, ?)",
                vec![int(at)?, spender_name(spender).into()],
            ),
            Write::Expired { upto } => exec("DELETE FROM budget WHERE at <= ?", vec![int(upto)?]),
            Write::Ledger { write, body } => match write {
                LedgerWrite::Reserve { key, ticket, at } => exec(
                    "INSERT INTO outbox (key, ticket, at, body) VALUES (?, ?, ?, NULL)
                     ON CONFLICT(key) DO UPDATE SET ticket = excluded.ticket,
                        at = excluded.at, body = NULL",
                    vec![key.into(), int(ticket)?, int(at)?],
                ),
                LedgerWrite::Store { key, at } => exec(
                    "INSERT INTO outbox (key, ticket, at, body) VALUES (?, 0, ?, ?)
                     ON CONFLICT(key) DO UPDATE SET at = excluded.at, body = excluded.body",
                    vec![key.into(), int(at)?, body.unwrap_or_default().into()],
                ),
                LedgerWrite::Delete { key } => {
                    exec("DELETE FROM outbox WHERE key = ?", vec![key.into()])
                }
            },
            Write::Visitor { key, record } => {
                exec(
                    "INSERT INTO visitor_seen (key, first_seen, last_seen) VALUES (?, ?, ?)
                     ON CONFLICT(key) DO UPDATE SET first_seen = excluded.first_seen,
                        last_seen = excluded.last_seen",
                    vec![
                        key.clone().into(),
                        opt_int(record.first_seen)?,
                        opt_int(record.last_seen)?,
                    ],
                )?;
                exec(
                    "INSERT INTO visitors (key, name, email, session_id) VALUES (?, ?, ?, ?)
                     ON CONFLICT(key) DO UPDATE SET name = excluded.name,
                        email = excluded.email, session_id = excluded.session_id",
                    vec![
                        key.into(),
                        opt(record.name),
                        opt(record.email),
                        opt(record.session_id),
                    ],
                )
            }
            Write::Title { session_id, title } => exec(
                "INSERT INTO titles (session_id, title) VALUES (?, ?)
                 ON CONFLICT(session_id) DO UPDATE SET title = excluded.title",
                vec![session_id.into(), title.into()],
            ),
            Write::Meta {
                message_id,
                meta,
                at,
            } => {
                let text = Value::Object(meta).to_string();
                exec(
                    "INSERT OR REPLACE INTO metas (message_id, meta, at) VALUES (?, ?, ?)",
                    vec![message_id.into(), text.into(), int(at)?],
                )?;
                let written = self.metas_written.get() + 1;
                self.metas_written.set(written % 1_000);
                if written < 1_000 {
                    return Ok(());
                }
                exec(
                    "DELETE FROM metas WHERE at < (SELECT at FROM metas
                     ORDER BY at DESC LIMIT 1 OFFSET ?)",
                    vec![int(METAS_KEEP)?],
                )
            }
        }
    }
}
