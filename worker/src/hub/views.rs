//! What a browser may see of a message. Everyone: `meta.visitor` only on
//! messages whose author is the agent (the worker marks visitors' messages,
//! which the agent posts; anyone else's marker is forged), and such a
//! message's text without the name the worker put in front of it upstream
//! (the mark says whose it is). A widget visitor
//! also sees only the author's `userId`, `type`, `name` and `avatar`, and
//! only `clientId` and `visitor` in `meta`.

use mochat_api::client_id::CLIENT_ID_KEY;
use mochat_api::widget::{VISITOR_META_KEY, VisitorMark};
use mochat_api::{Event, EventType, Message, User};
use serde_json::Map;

/// The message as the caller may see it.
pub fn message_for(mut message: Message, agent: &str, for_visitor: bool) -> Message {
    if message.author != agent {
        message.meta.remove(VISITOR_META_KEY);
    } else if let Some(mark) = VisitorMark::from_meta(&message.meta) {
        message.content = mark.own_text(&message.content).to_owned();
    }
    if for_visitor {
        let info = message.author_info;
        message.author_info = User {
            user_id: info.user_id,
            kind: info.kind,
            name: info.name,
            username: None,
            email: None,
            avatar: info.avatar,
        };
        let mut meta = Map::new();
        for key in [CLIENT_ID_KEY, VISITOR_META_KEY] {
            if let Some(v) = message.meta.remove(key) {
                meta.insert(key.to_owned(), v);
            }
        }
        message.meta = meta;
    }
    message
}

/// The event as the caller may see it (its message, when it carries one).
pub fn event_for(mut event: Event, agent: &str, for_visitor: bool) -> Event {
    if event.kind != EventType::MessageAdd {
        return event;
    }
    if let Some(message) = event.message() {
        let message = message_for(message, agent, for_visitor);
        if let Ok(payload) = serde_json::to_value(&message) {
            event.payload = payload;
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(author: &str) -> Message {
        serde_json::from_value(json!({
            "messageId": "m1", "sessionId": "s1", "content": "hi", "author": author,
            "authorInfo": {"userId": author, "type": "user", "name": "Ada",
                           "username": "ada", "email": "ada@example.com", "avatar": "a.png"},
            "meta": {"clientId": "c1", "visitor": {"id": "v", "name": "V", "site": "s"},
                     "secret": "x"},
            "createdAt": "2026-12-01T10:00:00.000Z"
        }))
        .expect("a message")
    }

    #[test]
    fn a_visitor_sees_only_names_and_their_marks() {
        let m = message_for(message("agent"), "agent", true);
        assert_eq!(m.author_info.email, None);
        assert_eq!(m.author_info.username, None);
        assert_eq!(m.author_info.avatar.as_deref(), Some("a.png"));
        assert_eq!(
            m.meta.keys().collect::<Vec<_>>(),
            vec!["clientId", "visitor"]
        );
    }

    #[test]
    fn a_visitors_text_is_shown_without_the_name_in_front() {
        let mut stored = message("agent");
        stored.content = "V (visitor): hi".into();
        for for_visitor in [true, false] {
            assert_eq!(
                message_for(stored.clone(), "agent", for_visitor).content,
                "hi"
            );
        }
        // Anyone else's text stays as written, marked or not.
        let mut other = message("someone");
        other.content = "V (visitor): hi".into();
        assert_eq!(
            message_for(other, "agent", false).content,
            "V (visitor): hi"
        );
    }

    #[test]
    fn visitor_marks_of_anyone_but_the_agent_are_dropped() {
        let operator = message_for(message("someone"), "agent", false);
        assert!(!operator.meta.contains_key("visitor"));
        assert!(
            operator.meta.contains_key("secret"),
            "operators see all else"
        );
        assert_eq!(
            operator.author_info.email.as_deref(),
            Some("ada@example.com")
        );
        let own = message_for(message("agent"), "agent", false);
        assert!(own.meta.contains_key("visitor"));
        let event = Event {
            seq: 1,
            session_id: "s1".into(),
            kind: EventType::MessageAdd,
            timestamp: "t".into(),
            payload: serde_json::to_value(message("someone")).expect("json"),
        };
        let seen = event_for(event, "agent", true);
        assert_eq!(seen.payload["meta"], json!({"clientId": "c1"}));
        assert!(seen.payload["authorInfo"].get("email").is_none());
    }
}
