//! Calls between the worker and an agent's hub: one internal request each,
//! a JSON [`HubCall`] in, the answer for the browser out (status, headers
//! and body as the browser gets them). The worker has already matched the
//! route and checked the caller; the hub does everything that concerns the
//! agent.

use mochat_api::edge::EdgeWatchRequest;
use serde::{Deserialize, Serialize};
use worker::{Env, Method, Response};

use crate::config::AGENT_HUB;
use crate::durable::Object;
use crate::respond::Flow;

/// Who makes a call, as far as the hub needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Caller {
    /// A signed-in operator; `key` names their session (a hash of its cookie).
    Operator { key: String },
    /// A widget visitor of one of the agent's sites.
    Visitor(VisitorRef),
}

impl Caller {
    /// The key the open-watch count is kept under.
    pub fn watch_key(&self) -> String {
        match self {
            Self::Operator { key } => format!("op:{key}"),
            Self::Visitor(v) => format!("v:{}:{}", v.site, v.id),
        }
    }
}

/// A visitor and what the hub needs of their site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitorRef {
    pub site: String,
    pub id: String,
    /// The site's title (session titles, `meta.visitor.title`).
    pub title: String,
    /// The site's colour, for the widget.
    pub color: String,
    /// More participants of every visitor's session.
    pub participants: Vec<String>,
}

/// What the hub is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Op {
    /// One of the API calls but registration (the route already matched).
    Api {
        method: String,
        path: String,
        query: String,
        #[serde(default)]
        body: Option<String>,
    },
    /// `POST /edge/watch`.
    EdgeWatch { request: EdgeWatchRequest },
    /// `POST /edge/widget/visitor`: keep a new visitor; `token` is theirs.
    NewVisitor {
        name: Option<String>,
        email: Option<String>,
        token: String,
    },
    /// `GET /edge/widget/me`.
    VisitorMe,
    /// `POST /edge/widget/me`.
    Identify {
        name: Option<String>,
        email: Option<String>,
    },
    /// `POST /edge/widget/conversation`.
    OpenConversation,
    /// `GET /edge/visitors`: an operator asks about `visitor`.
    VisitorDetails { visitor: VisitorRef },
    /// Keep the token of an agent just registered (the worker never keeps it).
    KeepAgent {
        token: String,
        name: String,
        username: String,
    },
    /// `GET /edge/health`: does the upstream take this agent's token?
    Probe,
}

/// One call to an agent's hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubCall {
    /// The agent's id (its `botUserId`): the hub it goes to.
    pub agent: String,
    pub caller: Option<Caller>,
    #[serde(flatten)]
    pub op: Op,
}

/// Sends `call` to its agent's hub; the hub's answer is the browser's.
pub async fn ask(env: &Env, call: &HubCall) -> Flow<Response> {
    Ok(Object::named(env, AGENT_HUB, &call.agent)?
        .send(Method::Post, "/call", Some(call))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mochat_api::Route;

    #[test]
    fn calls_round_trip() {
        let call = HubCall {
            agent: "u1".into(),
            caller: Some(Caller::Visitor(VisitorRef {
                site: "acme".into(),
                id: "v1".into(),
                title: "Acme".into(),
                color: "#000000".into(),
                participants: vec!["h".into()],
            })),
            op: Op::Api {
                method: "GET".into(),
                path: Route::ListSessionMessages {
                    session_id: "s1".into(),
                    query: Default::default(),
                }
                .api_target(),
                query: "limit=5".into(),
                body: None,
            },
        };
        let text = serde_json::to_string(&call).expect("serialises");
        let back: HubCall = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, call);
        assert_eq!(back.caller.expect("caller").watch_key(), "v:acme:v1");
        let probe: HubCall =
            serde_json::from_str(r#"{"agent":"a","caller":null,"op":"probe"}"#).expect("parses");
        assert_eq!(probe.op, Op::Probe);
    }
}
