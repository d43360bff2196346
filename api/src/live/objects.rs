//! The objects of the live dialect: sessions, messages, participants,
//! events, panels and groups.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{EventType, SessionStatus, UserType};

/// A live session's status: `active` is the reference's `open`. Other values
/// (a close policy may leave one) are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum LiveStatus {
    Active,
    Closed,
    Other(String),
}

impl LiveStatus {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "active",
            Self::Closed => "closed",
            Self::Other(other) => other,
        }
    }

    /// The reference's status: only `active` takes messages, so anything else is closed.
    pub fn to_reference(&self) -> SessionStatus {
        match self {
            Self::Active => SessionStatus::Open,
            Self::Closed | Self::Other(_) => SessionStatus::Closed,
        }
    }
}

impl From<SessionStatus> for LiveStatus {
    fn from(status: SessionStatus) -> Self {
        match status {
            SessionStatus::Open => Self::Active,
            SessionStatus::Closed => Self::Closed,
        }
    }
}

impl From<String> for LiveStatus {
    fn from(value: String) -> Self {
        match value.as_str() {
            "active" => Self::Active,
            "closed" => Self::Closed,
            _ => Self::Other(value),
        }
    }
}

impl From<LiveStatus> for String {
    fn from(value: LiveStatus) -> Self {
        value.as_str().to_owned()
    }
}

/// A live session. There is no title (it is `metadata.title`) and no last message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveSession {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// The id of the session's conversation, as notifications name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converse_id: Option<String>,
    /// User ids.
    #[serde(default)]
    pub participants: Vec<String>,
    /// `private` or `public`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    pub status: LiveStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl LiveSession {
    /// The reference's title: `metadata.title`, or `""`.
    pub fn title(&self) -> &str {
        title_of(self.metadata.as_ref())
    }
}

fn title_of(metadata: Option<&Map<String, Value>>) -> &str {
    metadata
        .and_then(|m| m.get("title"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Who wrote a message, as a live message carries it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<UserType>,
}

/// A live message, of a session or of a panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveMessage {
    pub message_id: String,
    /// The author's user id.
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_info: Option<AuthorInfo>,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// The session's converse id, or the panel's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converse_id: Option<String>,
    /// Set for panel messages only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_recall: Option<bool>,
}

/// A participant as `sessions/create` and the participant calls take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    #[serde(rename = "type")]
    pub kind: UserType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl Participant {
    /// A participant named by user id.
    pub fn by_id(kind: UserType, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: Some(id.into()),
            unique_name: None,
            email: None,
            name: None,
            avatar: None,
            metadata: None,
        }
    }
}

/// A participant of `sessions/detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailParticipant {
    pub user_id: String,
    #[serde(default)]
    pub nickname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(rename = "type")]
    pub kind: UserType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
}

/// The answer of `sessions/detail`: the session with its participants resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveSessionDetail {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converse_id: Option<String>,
    #[serde(default)]
    pub participants: Vec<DetailParticipant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LiveStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl LiveSessionDetail {
    /// The reference's title: `metadata.title`, or `""`.
    pub fn title(&self) -> &str {
        title_of(self.metadata.as_ref())
    }
}

/// One event of `sessions/watch`. Clients act on `message.add`, whose payload
/// is a [`LiveMessage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveEvent {
    pub seq: u64,
    pub session_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub payload: Value,
}

impl LiveEvent {
    /// The message of a `message.add` event.
    pub fn message(&self) -> Option<LiveMessage> {
        (self.kind == EventType::MessageAdd)
            .then(|| serde_json::from_value(self.payload.clone()).ok())
            .flatten()
    }

    /// The session of a `session.update` event.
    pub fn session(&self) -> Option<LiveSession> {
        (self.kind == EventType::SessionUpdate)
            .then(|| serde_json::from_value(self.payload.clone()).ok())
            .flatten()
    }
}

/// A panel of a live group. Type 0 is a text panel, the only kind clients read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivePanel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The same id under its database name; some answers carry only this one.
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: i64,
}

impl LivePanel {
    /// The panel's id: `id`, else `_id`.
    pub fn panel_id(&self) -> Option<&str> {
        self.id.as_deref().or(self.object_id.as_deref())
    }
}

/// The answer of `groups/get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveGroup {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub panels: Vec<LivePanel>,
}
