//! The objects of the contract: users, messages, sessions, events, groups and pages.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Whether a user is an AI agent or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    Agent,
    User,
}

/// A participant: an agent or a person. Users and agents share one id space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_id: String,
    #[serde(rename = "type")]
    pub kind: UserType,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// A message in a session or in a panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel_id: Option<String>,
    pub content: String,
    /// The author's user id.
    pub author: String,
    pub author_info: User,
    #[serde(default)]
    pub meta: Map<String, Value>,
    /// RFC3339 UTC with milliseconds.
    pub created_at: String,
}

/// Whether a session still takes messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Open,
    Closed,
}

/// A conversation between agents and people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub session_id: String,
    pub workspace_id: String,
    #[serde(default)]
    pub title: String,
    pub participants: Vec<String>,
    pub status: SessionStatus,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub last_message: Option<Message>,
}

/// A session with its participants resolved, its size and where a watch starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDetail {
    #[serde(flatten)]
    pub session: Session,
    pub participant_info: Vec<User>,
    pub message_count: u64,
    /// The latest event seq of the session: where a watch should start.
    pub cursor: u64,
}

/// The kind of a watch event. Unknown kinds are kept, so a new one never breaks a client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum EventType {
    /// `message.add`: the payload is a [`Message`].
    MessageAdd,
    /// `session.update`: the payload is a [`Session`].
    SessionUpdate,
    /// `session.participants`: the payload is a [`ParticipantsChange`].
    SessionParticipants,
    /// Any other kind.
    Unknown(String),
}

impl EventType {
    /// The wire name of this kind.
    pub fn as_str(&self) -> &str {
        match self {
            Self::MessageAdd => "message.add",
            Self::SessionUpdate => "session.update",
            Self::SessionParticipants => "session.participants",
            Self::Unknown(other) => other,
        }
    }
}

impl From<String> for EventType {
    fn from(value: String) -> Self {
        match value.as_str() {
            "message.add" => Self::MessageAdd,
            "session.update" => Self::SessionUpdate,
            "session.participants" => Self::SessionParticipants,
            _ => Self::Unknown(value),
        }
    }
}

impl From<EventType> for String {
    fn from(value: EventType) -> Self {
        value.as_str().to_owned()
    }
}

/// The payload of a `session.participants` event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ParticipantsChange {
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub removed: Vec<String>,
}

/// One event of a session's watch stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Strictly increasing per session: 1, 2, 3, …
    pub seq: u64,
    pub session_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub timestamp: String,
    pub payload: Value,
}

impl Event {
    /// The message of a `message.add` event.
    pub fn message(&self) -> Option<Message> {
        (self.kind == EventType::MessageAdd)
            .then(|| serde_json::from_value(self.payload.clone()).ok())
            .flatten()
    }

    /// The session of a `session.update` event.
    pub fn session(&self) -> Option<Session> {
        (self.kind == EventType::SessionUpdate)
            .then(|| serde_json::from_value(self.payload.clone()).ok())
            .flatten()
    }

    /// The change of a `session.participants` event.
    pub fn participants(&self) -> Option<ParticipantsChange> {
        (self.kind == EventType::SessionParticipants)
            .then(|| serde_json::from_value(self.payload.clone()).ok())
            .flatten()
    }
}

/// A channel of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    pub panel_id: String,
    pub name: String,
    /// Always `"text"` today.
    #[serde(rename = "type", default = "text_panel")]
    pub kind: String,
}

fn text_panel() -> String {
    "text".to_owned()
}

/// A workspace group with its members and panels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub group_id: String,
    pub workspace_id: String,
    pub name: String,
    pub members: Vec<User>,
    pub panels: Vec<Panel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_code: Option<String>,
}

/// A page of sessions, newest activity first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionPage {
    pub sessions: Vec<Session>,
    pub has_more: bool,
    /// What to pass as `before` for the next page; `null` when `hasMore` is false.
    pub cursor: Option<String>,
}

/// A page of messages, oldest first within the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub has_more: bool,
    /// What to pass as `before` for the next older page.
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agent() -> Value {
        json!({"userId": "67890abcdef", "type": "agent", "name": "Agent Name",
               "username": "agent_username", "avatar": "https://example.com/avatar.png"})
    }

    fn message() -> Value {
        json!({"messageId": "msg_1", "sessionId": "session_abc123", "content": "Message text",
               "author": "67890abcdef", "authorInfo": agent(), "meta": {},
               "createdAt": "2026-11-29T07:14:43.123Z"})
    }

    fn session() -> Value {
        json!({"sessionId": "session_abc123", "workspaceId": "ws_12345", "title": "Session Title",
               "participants": ["userId1", "userId2"], "status": "open", "createdBy": "67890abcdef",
               "createdAt": "2026-11-29T07:14:43.123Z", "updatedAt": "2026-11-29T07:14:43.123Z",
               "lastMessage": message()})
    }

    fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(value: Value) -> T {
        let typed: T = serde_json::from_value(value.clone()).expect("parses");
        assert_eq!(serde_json::to_value(&typed).expect("serialises"), value);
        typed
    }

    #[test]
    fn user_message_session_round_trip() {
        let user: User = round_trip(agent());
        assert_eq!(user.kind, UserType::Agent);
        let msg: Message = round_trip(message());
        assert_eq!(msg.author_info.user_id, msg.author);
        let s: Session = round_trip(session());
        assert_eq!(s.status, SessionStatus::Open);
    }

    #[test]
    fn detail_flattens_the_session() {
        let mut value = session();
        value["participantInfo"] = json!([agent()]);
        value["messageCount"] = json!(1);
        value["cursor"] = json!(7);
        let detail: SessionDetail = round_trip(value);
        assert_eq!(detail.cursor, 7);
        assert_eq!(detail.session.session_id, "session_abc123");
    }

    #[test]
    fn events_keep_unknown_types_and_decode_payloads() {
        let ev: Event = round_trip(json!({"seq": 3, "sessionId": "session_abc123",
            "type": "message.add", "timestamp": "2026-11-29T07:14:43.123Z", "payload": message()}));
        assert_eq!(ev.message().map(|m| m.message_id), Some("msg_1".into()));
        assert!(ev.session().is_none());
        let other: Event = round_trip(json!({"seq": 4, "sessionId": "s", "type": "typing.start",
            "timestamp": "2026-11-29T07:14:43.123Z", "payload": {}}));
        assert_eq!(other.kind, EventType::Unknown("typing.start".into()));
        let change: Event = round_trip(json!({"seq": 5, "sessionId": "s",
            "type": "session.participants", "timestamp": "2026-11-29T07:14:43.123Z",
            "payload": {"added": ["u1"], "removed": []}}));
        assert_eq!(
            change.participants().map(|c| c.added),
            Some(vec!["u1".to_owned()])
        );
    }

    #[test]
    fn group_and_pages_round_trip() {
        let g: Group = round_trip(json!({"groupId": "group_1", "workspaceId": "ws_12345",
            "name": "Workspace", "members": [agent()],
            "panels": [{"panelId": "panel_1", "name": "general", "type": "text"}],
            "inviteCode": "abc123"}));
        assert_eq!(g.panels[0].kind, "text");
        let p: SessionPage =
            round_trip(json!({"sessions": [session()], "hasMore": false, "cursor": null}));
        assert!(p.cursor.is_none());
        let m: MessagePage =
            round_trip(json!({"messages": [message()], "hasMore": true, "cursor": "msg_1"}));
        assert!(m.has_more);
    }

    #[test]
    fn unknown_fields_are_tolerated() {
        let mut value = message();
        value["reactions"] = json!([]);
        let msg: Message = serde_json::from_value(value).expect("tolerates unknown fields");
        assert_eq!(msg.content, "Message text");
    }
}
