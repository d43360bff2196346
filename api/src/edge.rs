//! Bodies of the edge worker's own routes (`/edge/*`): sign-in, agents,
//! health and the live watch of many sessions (`POST /edge/watch`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::model::{Event, Session};

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

/// Whether the worker can use the MoChat API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamState {
    /// It answers in the configured dialect (and takes the default agent's token).
    Reachable,
    /// Nothing answers, or not in time.
    Unreachable,
    /// Something answers, but in the other dialect (or not as MoChat at all).
    WrongDialect,
    /// It answers in the right dialect but refuses the default agent's token.
    TokenRefused,
}

/// Answer of `GET /edge/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub ok: bool,
    pub upstream: UpstreamState,
    /// What is wrong and how to fix it, when `ok` is false (nothing secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Answer of `GET /edge/visitors?site=…&id=…`: what the worker knows of a
/// widget visitor (the visitor's own record; nothing the visitor did not
/// give or the worker did not see).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitorDetails {
    pub visitor_id: String,
    /// The name the visitor or the host page gave, else the default one.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The site's key and title.
    pub site: String,
    pub site_title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// RFC3339 UTC; absent for a visitor from before the worker kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// RFC3339 UTC, to the minute: the visitor's latest call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

/// `GET /edge/visitors` of visitor `id` of `site` (both ids of
/// `[A-Za-z0-9_-]`, which need no encoding).
pub fn visitor_target(site: &str, id: &str) -> String {
    format!("{VISITORS_PATH}?site={site}&id={id}")
}

/// The `site` and `id` of `GET /edge/visitors` (a 400 naming what is
/// missing or malformed).
pub fn visitor_query(raw: Option<&str>) -> Result<(String, String), ApiError> {
    let pairs = crate::query::pairs(raw)?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| crate::routes::is_valid_id(v))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Name the visitor with ?site=<site key>&id=<visitor id> ({name} is missing \
                     or not 1 to 128 of A-Z a-z 0-9 _ -)."
                ))
            })
    };
    Ok((get("site")?, get("id")?))
}

/// Answer of `POST /api/claw/register` through the worker: the token stays in the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredAgent {
    pub agent_id: String,
    pub bot_user_id: String,
    pub workspace_id: String,
}

/// Where the worker's own routes live (the widget's too).
pub const EDGE_PREFIX: &str = "/edge/";
/// `GET` the sign-in, `POST` sign in, `DELETE` sign out.
pub const SESSION_PATH: &str = "/edge/session";
/// `DELETE`: every session ends (sign out everywhere).
pub const SESSIONS_PATH: &str = "/edge/sessions";
/// `GET ?site=…&id=…`: a widget visitor's details, for an operator acting
/// as the agent of the visitor's site ([`VisitorDetails`]).
pub const VISITORS_PATH: &str = "/edge/visitors";
/// `GET`: the agents whose tokens the worker holds.
pub const AGENTS_PATH: &str = "/edge/agents";
/// `GET`: whether the worker reaches the MoChat API.
pub const HEALTH_PATH: &str = "/edge/health";
/// The path of the live watch of many sessions.
pub const WATCH_PATH: &str = "/edge/watch";
/// Most sessions one `POST /edge/watch` may name.
pub const WATCH_MAX_SESSIONS: usize = 100;
/// Most watches one caller (an operator session or a visitor token) may hold open.
pub const OPEN_WATCHES_MAX: usize = 20;
/// A watch cursor that means "from now on": beyond any session's newest
/// event, so the watch waits as if at the newest (the largest integer a
/// JavaScript number holds exactly).
pub const CURSOR_NOW: u64 = (1 << 53) - 1;

/// `POST /edge/watch`: one long poll for many sessions and for the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeWatchRequest {
    /// Session id → the last event seq seen (0..=100 entries).
    #[serde(default)]
    pub sessions: BTreeMap<String, u64>,
    /// The list cursor from the last answer; `null` starts the list feed.
    #[serde(default)]
    pub list: Option<String>,
    /// Milliseconds to wait, 0..=60000 (default 25000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

/// New events of one watched session, or why it cannot be watched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEvents {
    pub cursor: u64,
    pub events: Vec<Event>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

/// What changed in the agent's session list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListChanges {
    pub cursor: String,
    /// The changed sessions as `GET /claw/sessions` shows them, newest activity first.
    pub changed: Vec<Session>,
}

/// Answer of `POST /edge/watch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeWatchResponse {
    /// Only sessions with events, or with an error.
    pub sessions: BTreeMap<String, SessionEvents>,
    pub list: ListChanges,
}

/// Name of the worker's session cookie.
pub const SESSION_COOKIE: &str = "mochat_session";
/// Lifetime of a worker session, in seconds (12 h).
pub const SESSION_TTL_SECS: u64 = 12 * 60 * 60;
/// HKDF-SHA256's salt when the worker derives its keys from `SESSION_SECRET`.
pub const KEY_SALT: &[u8] = b"mochat-worker";
/// The HKDF label of the key that signs operator session cookies.
pub const COOKIE_KEY_LABEL: &[u8] = b"mochat session cookie v1";
/// The HKDF label of the key that signs widget visitor tokens.
pub const VISITOR_KEY_LABEL: &[u8] = b"mochat visitor token v1";
/// The least `SESSION_SECRET` may have, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// The least `DASHBOARD_PASSWORD` may have, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Failed sign-ins per client address allowed in [`SIGN_IN_WINDOW_SECS`].
pub const SIGN_IN_FAILURES: u32 = 5;
/// Window of the sign-in throttle, in seconds.
pub const SIGN_IN_WINDOW_SECS: u64 = 60;
/// Failed sign-ins from all addresses together allowed in
/// [`SHARED_SIGN_IN_WINDOW_SECS`]: someone with many addresses still gets
/// only this many guesses an hour; while it is spent, every sign-in waits.
pub const SHARED_SIGN_IN_FAILURES: u32 = 100;
/// Window of the shared sign-in budget, in seconds (an hour).
pub const SHARED_SIGN_IN_WINDOW_SECS: u64 = 60 * 60;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_visitor_is_named_by_site_and_id() {
        assert_eq!(
            visitor_query(Some("site=acme&id=v_1")),
            Ok(("acme".to_owned(), "v_1".to_owned()))
        );
        let target = visitor_target("acme", "v_1");
        let (path, query) = target.split_once('?').expect("a query");
        assert_eq!(path, VISITORS_PATH);
        assert_eq!(
            visitor_query(Some(query)),
            Ok(("acme".to_owned(), "v_1".to_owned()))
        );
        for bad in [
            None,
            Some(""),
            Some("site=acme"),
            Some("id=v_1"),
            Some("site=a/b&id=v"),
        ] {
            let e = visitor_query(bad).expect_err("refused");
            assert_eq!(e.status(), 400, "{bad:?}");
        }
    }

    #[test]
    fn edge_shapes() {
        let h: Health = serde_json::from_value(json!({"ok": false, "upstream": "unreachable"}))
            .expect("parses");
        assert_eq!(h.upstream, UpstreamState::Unreachable);
        let h: Health = serde_json::from_value(
            json!({"ok": false, "upstream": "wrong_dialect", "reason": "set UPSTREAM_DIALECT"}),
        )
        .expect("parses");
        assert_eq!(h.upstream, UpstreamState::WrongDialect);
        let w: EdgeWatchRequest =
            serde_json::from_value(json!({"sessions": {"s1": 3}, "list": null})).expect("parses");
        assert_eq!(w.sessions.get("s1"), Some(&3));
        assert_eq!(w.timeout, None);
        let answer = EdgeWatchResponse {
            sessions: BTreeMap::new(),
            list: ListChanges {
                cursor: "e.1".into(),
                changed: vec![],
            },
        };
        assert_eq!(
            serde_json::to_value(&answer).expect("serialises"),
            json!({"sessions": {}, "list": {"cursor": "e.1", "changed": []}})
        );
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
