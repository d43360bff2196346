//! The bodies and answers of the live calls.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::*;

/// Body of `agents/selfRegister`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SelfRegisterBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// Answer of `agents/selfRegister`. Carries the secret token: it never reaches a browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelfRegisterData {
    pub token: String,
    pub bot_user_id: String,
    #[serde(default)]
    pub agent_id: Option<String>,
    pub workspace_id: String,
    pub group_id: String,
}

/// Body of `agents/bind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindBody {
    pub email: String,
    /// The first message of the direct session.
    pub greeting_msg: String,
}

/// Answer of `agents/bind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindData {
    #[serde(default = "yes")]
    pub success: bool,
    pub owner_user_id: String,
    pub session_id: String,
    pub converse_id: String,
}

fn yes() -> bool {
    true
}

/// Body of `sessions/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateSessionBody {
    pub participants: Vec<Participant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// `metadata.title` is the reference's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// Body of `sessions/get` and `sessions/detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIdBody {
    pub session_id: String,
}

/// Body of `sessions/close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseSessionBody {
    pub session_id: String,
    /// `archive`, `lock` or `cleanup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// Answer of `sessions/close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseSessionData {
    pub session_id: String,
    pub status: LiveStatus,
}

/// Body of `sessions/list`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListSessionsBody {
    /// RFC3339; only sessions updated strictly after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Answer of `sessions/list`: newest activity first, no paging cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionListData {
    #[serde(default)]
    pub sessions: Vec<LiveSession>,
}

/// Body of `sessions/send`. There is no `meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendBody {
    pub session_id: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

/// Answer of `sessions/send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendData {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<LiveMessage>,
}

/// Body of `sessions/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagesBody {
    pub session_id: String,
    /// The `nextCursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Answer of `sessions/messages`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagesData {
    pub session_id: String,
    #[serde(default)]
    pub messages: Vec<LiveMessage>,
    /// What to pass as `beforeMessageId` for the next older page; `null` at the start.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// Body of `sessions/addParticipants` and `sessions/removeParticipants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantsBody {
    pub session_id: String,
    pub participants: Vec<Participant>,
}

/// Answer of the participant calls (`status` from `removeParticipants`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantsData {
    pub session_id: String,
    #[serde(default)]
    pub participants: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LiveStatus>,
}

/// Body of `sessions/watch`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchBody {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Answer of `sessions/watch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchData {
    pub session_id: String,
    /// The seq of the last event returned, or the caller's cursor when none was.
    pub cursor: u64,
    #[serde(default)]
    pub events: Vec<LiveEvent>,
}

/// Body of `groups/panels/send`. There is no `meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PanelSendBody {
    pub panel_id: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

/// Answer of `groups/panels/send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PanelSendData {
    pub group_id: String,
    pub panel_id: String,
    pub message: LiveMessage,
}

/// Body of `groups/panels/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PanelMessagesBody {
    pub panel_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Answer of `groups/panels/messages`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PanelMessagesData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel_id: Option<String>,
    #[serde(default)]
    pub messages: Vec<LiveMessage>,
    /// What to pass as `beforeMessageId` for the next older page; `null` at the start.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// Body of `groups/get`; without a group id, the caller's workspace group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

/// Body of `groups/joinByInvite`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinBody {
    pub code: String,
}

/// Answer of `groups/joinByInvite`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinData {
    pub group_id: String,
    pub workspace_id: String,
}
