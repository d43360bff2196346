//! Request and response bodies of the 16 calls of the MoChat API.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::Event;

/// `POST /claw/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub name: String,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// Answer of `POST /claw/register` from MoChat itself. Carries the secret token:
/// it never reaches a browser (the worker answers [`crate::edge::RegisteredAgent`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    #[serde(rename = "claw_token")]
    pub claw_token: String,
    pub bot_user_id: String,
    pub workspace_id: String,
}

/// `POST /claw/agents/bind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindRequest {
    pub email: String,
}

/// Answer of `POST /claw/agents/bind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindResponse {
    pub success: bool,
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_user_id: Option<String>,
}

/// `POST /claw/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSessionRequest {
    pub participants: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// `POST /claw/sessions/:id/message` and `POST /claw/panels/:id/message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
}

/// `POST` and `DELETE /claw/sessions/:id/participants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantsRequest {
    pub participants: Vec<String>,
}

/// Answer of `GET /claw/sessions/:id/watch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchResponse {
    pub session_id: String,
    /// The seq of the last event returned, or the caller's cursor when none was.
    pub cursor: u64,
    pub events: Vec<Event>,
}

/// `POST /claw/groups/join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    pub invite_code: String,
}

/// Answer of `POST /claw/groups/join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinResponse {
    pub success: bool,
    pub group_id: String,
}

/// Query of the two message lists and of the session list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub before: Option<String>,
}

/// Query of the watch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct WatchQuery {
    pub timeout_ms: Option<u64>,
    pub limit: Option<u32>,
    pub cursor: Option<u64>,
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

impl PageQuery {
    /// `?limit=…&before=…`, or `""` when both are absent.
    pub fn to_query(&self) -> String {
        query_string(&[
            ("limit", self.limit.map(|l| l.to_string())),
            ("before", self.before.clone()),
        ])
    }
}

impl WatchQuery {
    /// `?timeout=…&limit=…&cursor=…`, or `""` when all are absent.
    pub fn to_query(&self) -> String {
        query_string(&[
            ("timeout", self.timeout_ms.map(|t| t.to_string())),
            ("limit", self.limit.map(|l| l.to_string())),
            ("cursor", self.cursor.map(|c| c.to_string())),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(value: Value) -> T {
        let typed: T = serde_json::from_value(value.clone()).expect("parses");
        assert_eq!(serde_json::to_value(&typed).expect("serialises"), value);
        typed
    }

    /// The JSON examples of the API reference, verbatim.
    #[test]
    fn reference_examples_round_trip() {
        let r: RegisterRequest = round_trip(json!({"name": "Agent Name",
            "username": "agent_username", "avatar": "https://example.com/avatar.png"}));
        assert_eq!(r.username, "agent_username");
        let r: RegisterResponse = round_trip(json!({"claw_token": "claw_xxxxxxxxxxxx",
            "botUserId": "67890abcdef", "workspaceId": "ws_12345"}));
        assert_eq!(r.claw_token, "claw_xxxxxxxxxxxx");
        let b: BindRequest = round_trip(json!({"email": "user@example.com"}));
        assert_eq!(b.email, "user@example.com");
        let b: BindResponse = round_trip(json!({"success": true, "sessionId": "session_abc123"}));
        assert!(b.success);
        let c: CreateSessionRequest =
            round_trip(json!({"participants": ["userId1", "userId2"], "title": "Session Title"}));
        assert_eq!(c.participants.len(), 2);
        let m: SendMessageRequest = round_trip(json!({"content": "Message text", "meta": {}}));
        assert_eq!(m.meta, Some(Map::new()));
        let p: ParticipantsRequest = round_trip(json!({"participants": ["userId3"]}));
        assert_eq!(p.participants, ["userId3"]);
        let j: JoinRequest = round_trip(json!({"inviteCode": "abc123"}));
        assert_eq!(j.invite_code, "abc123");
    }

    #[test]
    fn contract_responses_round_trip() {
        let b: BindResponse = round_trip(json!({"success": true, "sessionId": "session_abc123",
            "ownerUserId": "user_1"}));
        assert_eq!(b.owner_user_id.as_deref(), Some("user_1"));
        let w: WatchResponse = round_trip(json!({"sessionId": "s", "cursor": 0, "events": []}));
        assert!(w.events.is_empty());
        let j: JoinResponse = round_trip(json!({"success": true, "groupId": "group_1"}));
        assert_eq!(j.group_id, "group_1");
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(PageQuery::default().to_query(), "");
        let q = PageQuery {
            limit: Some(20),
            before: Some("msg_1 2/3".into()),
        };
        assert_eq!(q.to_query(), "?limit=20&before=msg_1%202%2F3");
        let w = WatchQuery {
            timeout_ms: Some(25_000),
            limit: None,
            cursor: Some(7),
        };
        assert_eq!(w.to_query(), "?timeout=25000&cursor=7");
    }
}
