//! Unread messages per session, as one browser has seen them: a message
//! counts unless it is in the open session or is the agent's own send (a
//! widget visitor's message, which the agent posts for them, counts). Each
//! message counts once, however it arrived (a watch event or the list's
//! newest message). Kept in `localStorage`, so counts survive a reload.

use std::collections::{BTreeMap, VecDeque};

use mochat_api::Message;
use mochat_api::widget::VISITOR_META_KEY;
use serde::{Deserialize, Serialize};

/// Message ids remembered per session to count each once.
const REMEMBERED: usize = 64;

/// The counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unread {
    counts: BTreeMap<String, u32>,
    seen: BTreeMap<String, VecDeque<String>>,
}

impl Unread {
    /// Counts as stored (empty when absent or unreadable).
    pub fn from_json(text: Option<&str>) -> Self {
        text.and_then(|t| crate::json::parse(t).ok())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        crate::json::to_text(self).unwrap_or_default()
    }

    /// Whether `message` is one `agent` sent itself (not for a visitor).
    pub fn is_own(message: &Message, agent: &str) -> bool {
        message.author == agent && !message.meta.contains_key(VISITOR_META_KEY)
    }

    /// Takes a message of `session_id`; true when it made the count grow.
    pub fn note(&mut self, session_id: &str, message: &Message, agent: &str, open: bool) -> bool {
        let seen = self.seen.entry(session_id.to_owned()).or_default();
        if seen.iter().any(|id| *id == message.message_id) {
            return false;
        }
        seen.push_back(message.message_id.clone());
        while seen.len() > REMEMBERED {
            seen.pop_front();
        }
        if open || Self::is_own(message, agent) {
            return false;
        }
        *self.counts.entry(session_id.to_owned()).or_default() += 1;
        true
    }

    /// The session was read.
    pub fn clear(&mut self, session_id: &str) {
        self.counts.remove(session_id);
    }

    pub fn count(&self, session_id: &str) -> u32 {
        self.counts.get(session_id).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u32 {
        self.counts.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn message(id: &str, author: &str, meta: serde_json::Value) -> Message {
        serde_json::from_value(json!({
            "messageId": id, "sessionId": "s", "content": "hi", "author": author,
            "authorInfo": {"userId": author, "type": "user", "name": "A"},
            "meta": meta, "createdAt": "2026-12-01T10:00:00.000Z"
        }))
        .expect("a message")
    }

    #[wasm_bindgen_test]
    fn others_count_once_own_sends_and_the_open_session_never() {
        let mut u = Unread::default();
        assert!(u.note("s1", &message("m1", "ada", json!({})), "me", false));
        assert!(
            !u.note("s1", &message("m1", "ada", json!({})), "me", false),
            "once"
        );
        assert!(
            !u.note("s1", &message("m2", "me", json!({})), "me", false),
            "own send"
        );
        let visitor = message("m3", "me", json!({"visitor": {"id": "v"}}));
        assert!(
            u.note("s1", &visitor, "me", false),
            "a visitor's message counts"
        );
        assert!(
            !u.note("s2", &message("m4", "ada", json!({})), "me", true),
            "open"
        );
        assert!(
            !u.note("s2", &message("m4", "ada", json!({})), "me", false),
            "seen open"
        );
        assert_eq!((u.count("s1"), u.count("s2"), u.total()), (2, 0, 2));
        u.clear("s1");
        assert_eq!(u.total(), 0);
    }

    #[wasm_bindgen_test]
    fn counts_survive_a_round_trip_through_storage() {
        let mut u = Unread::default();
        u.note("s1", &message("m1", "ada", json!({})), "me", false);
        let back = Unread::from_json(Some(&u.to_json()));
        assert_eq!(back, u);
        assert!(
            !back
                .clone()
                .note("s1", &message("m1", "ada", json!({})), "me", false)
        );
        assert_eq!(Unread::from_json(Some("garbage")), Unread::default());
        assert_eq!(Unread::from_json(None), Unread::default());
    }
}
