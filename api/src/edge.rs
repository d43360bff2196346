//! Bodies of the edge worker's own routes (`/edge/*`), fixed in `shared/CONTRACT.md`.

use serde::{Deserialize, Serialize};

/// `POST /edge/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRequest {
    pub password: String,
}

/// Answer of `GET /edge/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInStatus {
    pub signed_in: bool,
    /// RFC3339 UTC.
    pub expires_at: String,
}

/// One agent whose token the worker holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeAgent {
    /// The agent's `botUserId`.
    pub agent_id: String,
    pub name: String,
    pub username: String,
    pub is_default: bool,
}

/// Answer of `GET /edge/agents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentList {
    pub agents: Vec<EdgeAgent>,
}

/// Whether the worker can reach the MoChat API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamState {
    Reachable,
    Unreachable,
}

/// Answer of `GET /edge/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub ok: bool,
    pub upstream: UpstreamState,
}

/// Answer of `POST /api/claw/register` through the worker: the token stays in the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredAgent {
    pub agent_id: String,
    pub bot_user_id: String,
    pub workspace_id: String,
}

/// Name of the worker's session cookie.
pub const SESSION_COOKIE: &str = "mochat_session";
/// Lifetime of a worker session, in seconds (12 h).
pub const SESSION_TTL_SECS: u64 = 12 * 60 * 60;
/// Failed sign-ins per client address allowed in [`SIGN_IN_WINDOW_SECS`].
pub const SIGN_IN_FAILURES: u32 = 5;
/// Window of the sign-in throttle, in seconds.
pub const SIGN_IN_WINDOW_SECS: u64 = 60;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn edge_shapes() {
        let h: Health = serde_json::from_value(json!({"ok": false, "upstream": "unreachable"}))
            .expect("parses");
        assert_eq!(h.upstream, UpstreamState::Unreachable);
        let a = AgentList {
            agents: vec![EdgeAgent {
                agent_id: "u1".into(),
                name: "Ops".into(),
                username: "ops".into(),
                is_default: true,
            }],
        };
        assert_eq!(
            serde_json::to_value(&a).expect("serialises"),
            json!({"agents": [{"agentId": "u1", "name": "Ops", "username": "ops", "isDefault": true}]})
        );
        let r: RegisteredAgent = serde_json::from_value(
            json!({"agentId": "u2", "botUserId": "u2", "workspaceId": "ws_1"}),
        )
        .expect("parses");
        assert_eq!(r.agent_id, r.bot_user_id);
    }
}
