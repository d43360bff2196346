//! The messages of one conversation as the view shows them: merged from history
//! pages, live events and the outbox, in order, each exactly once.

use std::collections::HashSet;

use mochat_api::Message;

/// Messages ordered oldest first, de-duplicated by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    messages: Vec<Message>,
    ids: HashSet<String>,
    /// Cursor for the next older page; `None` once the start is reached.
    older: Option<String>,
    has_older: bool,
}

impl Timeline {
    /// A timeline from the newest page of history.
    pub fn from_page(messages: Vec<Message>, has_more: bool, cursor: Option<String>) -> Self {
        let mut t = Self::default();
        t.prepend_page(messages, has_more, cursor);
        t
    }

    /// The messages, oldest first.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Whether an older page exists, and its cursor.
    pub fn older_cursor(&self) -> Option<String> {
        self.has_older.then(|| self.older.clone()).flatten()
    }

    pub fn contains(&self, message_id: &str) -> bool {
        self.ids.contains(message_id)
    }

    /// Adds an older page (chronological) in front; returns how many were new.
    pub fn prepend_page(
        &mut self,
        page: Vec<Message>,
        has_more: bool,
        cursor: Option<String>,
    ) -> usize {
        let fresh: Vec<Message> = page
            .into_iter()
            .filter(|m| self.ids.insert(m.message_id.clone()))
            .collect();
        let added = fresh.len();
        self.messages.splice(0..0, fresh);
        self.has_older = has_more;
        self.older = cursor;
        added
    }

    /// Adds a live message at its place (normally the end); false if already shown.
    pub fn push(&mut self, message: Message) -> bool {
        if !self.ids.insert(message.message_id.clone()) {
            return false;
        }
        // Live events arrive in order; a late one is placed by its timestamp.
        let at = self
            .messages
            .iter()
            .rposition(|m| m.created_at <= message.created_at)
            .map_or(0, |i| i + 1);
        self.messages.insert(at, message);
        true
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mochat_api::{User, UserType};
    use wasm_bindgen_test::wasm_bindgen_test;

    pub(crate) fn msg(id: &str, at: &str) -> Message {
        Message {
            message_id: id.into(),
            session_id: Some("s".into()),
            panel_id: None,
            content: format!("text {id}"),
            author: "u".into(),
            author_info: User {
                user_id: "u".into(),
                kind: UserType::User,
                name: "Ada".into(),
                username: None,
                email: None,
                avatar: None,
            },
            meta: Default::default(),
            created_at: at.into(),
        }
    }

    fn ids(t: &Timeline) -> Vec<&str> {
        t.messages().iter().map(|m| m.message_id.as_str()).collect()
    }

    #[wasm_bindgen_test]
    fn pages_prepend_in_order_without_repeats() {
        let mut t = Timeline::from_page(
            vec![
                msg("m3", "2026-01-01T00:00:03.000Z"),
                msg("m4", "2026-01-01T00:00:04.000Z"),
            ],
            true,
            Some("m3".into()),
        );
        assert_eq!(t.older_cursor().as_deref(), Some("m3"));
        // An overlapping older page: m3 is not shown twice.
        let added = t.prepend_page(
            vec![
                msg("m1", "2026-01-01T00:00:01.000Z"),
                msg("m2", "2026-01-01T00:00:02.000Z"),
                msg("m3", "2026-01-01T00:00:03.000Z"),
            ],
            false,
            None,
        );
        assert_eq!(added, 2);
        assert_eq!(ids(&t), ["m1", "m2", "m3", "m4"]);
        assert_eq!(t.older_cursor(), None);
    }

    #[wasm_bindgen_test]
    fn live_messages_are_deduplicated_and_ordered() {
        let mut t = Timeline::from_page(vec![msg("m1", "2026-01-01T00:00:01.000Z")], false, None);
        assert!(t.push(msg("m3", "2026-01-01T00:00:03.000Z")));
        assert!(!t.push(msg("m3", "2026-01-01T00:00:03.000Z")));
        assert!(t.push(msg("m2", "2026-01-01T00:00:02.000Z")));
        assert_eq!(ids(&t), ["m1", "m2", "m3"]);
        assert!(t.contains("m2"));
    }
}
