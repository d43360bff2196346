//! The agent's session list as the hub follows it: every session it has seen
//! (through a call, a send or its own reading of the list), each stamped with
//! the list version at which it last changed. A list cursor names a version
//! of one hub's incarnation, so `POST /edge/watch` can hand a browser exactly
//! the sessions that changed since its cursor.

use std::collections::HashMap;

use mochat_api::{Message, Session};

/// Sessions the hub remembers; beyond this the least recently active are forgotten.
pub const KEEP: usize = 5_000;

/// Why a list cursor cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorError {
    /// Not one this hub issued (another incarnation's, or garbage).
    Foreign,
    /// Changes it would need were forgotten.
    TooOld,
}

#[derive(Debug, Clone, PartialEq)]
struct Known {
    session: Session,
    /// `updatedAt` in Unix ms, for ordering.
    updated_ms: u64,
    /// The version at which it last changed.
    changed: u64,
}

/// The followed list.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionList {
    epoch: String,
    version: u64,
    /// Cursors below this version may have lost changes.
    floor: u64,
    known: HashMap<String, Known>,
}

/// Unix ms of an RFC3339 timestamp (0 when it is not one).
pub fn parse_ms(timestamp: &str) -> u64 {
    chrono::DateTime::parse_from_rfc3339(timestamp)
        .map(|t| u64::try_from(t.timestamp_millis()).unwrap_or(0))
        .unwrap_or(0)
}

fn same(a: &Session, b: &Session) -> bool {
    a.updated_at == b.updated_at
        && a.status == b.status
        && a.title == b.title
        && a.participants == b.participants
        && a.last_message.as_ref().map(|m| &m.message_id)
            == b.last_message.as_ref().map(|m| &m.message_id)
}

impl SessionList {
    /// An empty list; `epoch` names this incarnation of the hub in cursors.
    pub fn new(epoch: &str) -> Self {
        Self {
            epoch: epoch.to_owned(),
            version: 0,
            floor: 0,
            known: HashMap::new(),
        }
    }

    /// The cursor of the list as it is now.
    pub fn cursor(&self) -> String {
        format!("{}.{}", self.epoch, self.version)
    }

    /// The version a cursor names.
    pub fn parse_cursor(&self, cursor: &str) -> Result<u64, CursorError> {
        let (epoch, version) = cursor.rsplit_once('.').ok_or(CursorError::Foreign)?;
        let version: u64 = version.parse().map_err(|_| CursorError::Foreign)?;
        if epoch != self.epoch || version > self.version {
            return Err(CursorError::Foreign);
        }
        if version < self.floor {
            return Err(CursorError::TooOld);
        }
        Ok(version)
    }

    pub fn get(&self, session_id: &str) -> Option<&Session> {
        self.known.get(session_id).map(|k| &k.session)
    }

    /// Takes a session as the upstream shows it; true when it changed (or
    /// is new). What the incoming copy lacks (a title or newest message the
    /// live dialect does not list) is kept from what the hub knew.
    pub fn upsert(&mut self, mut session: Session) -> bool {
        if let Some(known) = self.known.get(&session.session_id) {
            if session.last_message.is_none() {
                session.last_message.clone_from(&known.session.last_message);
            }
            if session.title.is_empty() {
                session.title.clone_from(&known.session.title);
            }
            if same(&known.session, &session) {
                return false;
            }
        }
        self.version += 1;
        let known = Known {
            updated_ms: parse_ms(&session.updated_at),
            changed: self.version,
            session,
        };
        self.known.insert(known.session.session_id.clone(), known);
        self.forget_beyond_keep();
        true
    }

    /// A message the hub learned for a session it knows: the session's
    /// newest message and activity move to it. True when that changed it.
    pub fn note_message(&mut self, message: &Message) -> bool {
        let Some(session_id) = message.session_id.as_deref() else {
            return false;
        };
        let Some(known) = self.known.get(session_id) else {
            return false;
        };
        if parse_ms(&message.created_at) < known.updated_ms
            || known.session.last_message.as_ref().map(|m| &m.message_id)
                == Some(&message.message_id)
        {
            return false;
        }
        let mut session = known.session.clone();
        session.last_message = Some(message.clone());
        session.updated_at.clone_from(&message.created_at);
        self.upsert(session)
    }

    /// Sessions changed after version `since`, newest activity first.
    pub fn changed_since(&self, since: u64) -> Vec<Session> {
        let mut changed: Vec<&Known> = self.known.values().filter(|k| k.changed > since).collect();
        changed.sort_by(|a, b| {
            b.updated_ms
                .cmp(&a.updated_ms)
                .then_with(|| b.session.session_id.cmp(&a.session.session_id))
        });
        changed.into_iter().map(|k| k.session.clone()).collect()
    }

    fn forget_beyond_keep(&mut self) {
        if self.known.len() <= KEEP {
            return;
        }
        let oldest = self
            .known
            .values()
            .min_by_key(|k| (k.updated_ms, k.changed))
            .map(|k| (k.session.session_id.clone(), k.changed));
        if let Some((id, changed)) = oldest {
            self.known.remove(&id);
            self.floor = self.floor.max(changed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session(id: &str, updated: &str) -> Session {
        serde_json::from_value(json!({
            "sessionId": id, "workspaceId": "w", "title": format!("T {id}"),
            "participants": ["a"], "status": "open", "createdBy": "a",
            "createdAt": "2026-12-01T10:00:00.000Z", "updatedAt": updated, "lastMessage": null
        }))
        .expect("a session")
    }

    fn message(session: &str, id: &str, at: &str) -> Message {
        serde_json::from_value(json!({
            "messageId": id, "sessionId": session, "content": "hi", "author": "u",
            "authorInfo": {"userId": "u", "type": "user", "name": "U"}, "meta": {},
            "createdAt": at
        }))
        .expect("a message")
    }

    #[test]
    fn cursors_name_versions_of_this_incarnation() {
        let mut l = SessionList::new("e1");
        let start = l.cursor();
        assert_eq!(l.parse_cursor(&start), Ok(0));
        assert!(l.upsert(session("s1", "2026-12-01T10:00:01.000Z")));
        assert_eq!(l.parse_cursor("e1.1"), Ok(1));
        assert_eq!(l.parse_cursor("e1.2"), Err(CursorError::Foreign));
        assert_eq!(l.parse_cursor("e0.1"), Err(CursorError::Foreign));
        assert_eq!(l.parse_cursor("junk"), Err(CursorError::Foreign));
        assert_eq!(l.changed_since(0).len(), 1);
        assert!(l.changed_since(1).is_empty());
    }

    #[test]
    fn only_real_changes_count_and_come_newest_first() {
        let mut l = SessionList::new("e");
        l.upsert(session("old", "2026-12-01T10:00:01.000Z"));
        l.upsert(session("new", "2026-12-01T10:00:05.000Z"));
        assert!(!l.upsert(session("old", "2026-12-01T10:00:01.000Z")));
        let v = 2;
        let ids = |s: Vec<Session>| s.into_iter().map(|s| s.session_id).collect::<Vec<_>>();
        assert_eq!(ids(l.changed_since(0)), vec!["new", "old"]);
        assert!(l.note_message(&message("old", "m1", "2026-12-01T10:00:09.000Z")));
        assert!(!l.note_message(&message("old", "m1", "2026-12-01T10:00:09.000Z")));
        assert!(!l.note_message(&message("nobody", "m2", "2026-12-01T10:00:09.000Z")));
        let changed = l.changed_since(v);
        assert_eq!(ids(changed.clone()), vec!["old"]);
        assert_eq!(changed[0].updated_at, "2026-12-01T10:00:09.000Z");
        // The live dialect lists no newest message and no title: kept.
        let mut bare = session("old", "2026-12-01T10:00:09.000Z");
        bare.title = String::new();
        assert!(!l.upsert(bare));
        assert_eq!(l.get("old").map(|s| s.title.as_str()), Some("T old"));
    }

    #[test]
    fn forgetting_makes_old_cursors_too_old() {
        let mut l = SessionList::new("e");
        for i in 0..=KEEP {
            l.upsert(session(
                &format!("s{i}"),
                &format!("2026-12-01T10:{:02}:{:02}.000Z", i / 60 % 60, i % 60),
            ));
        }
        assert_eq!(l.parse_cursor("e.0"), Err(CursorError::TooOld));
        assert!(l.parse_cursor(&l.cursor()).is_ok());
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_ms("1970-01-01T00:00:01.500Z"), 1_500);
        assert_eq!(parse_ms("2026-12-01T10:00:00+00:00"), 1_796_119_200_000);
        assert_eq!(parse_ms("nonsense"), 0);
    }
}
