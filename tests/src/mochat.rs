//! A small typed client of a MoChat API (the local server, or the worker's
//! `/api`), for tests to act as another agent and to check what is upstream.

use mochat_api::requests::SendMessageRequest;
use mochat_api::{Group, Message, MessagePage, Route, SessionDetail, SessionPage};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An agent talking to a MoChat API base URL (ending in `/api`).
#[derive(Clone)]
pub struct Mochat {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Mochat {
    pub fn new(base: String, token: String) -> Self {
        Self {
            base,
            token,
            http: reqwest::Client::new(),
        }
    }

    /// Calls `route` with an optional query and body; panics with the error envelope on failure.
    pub async fn call<T: DeserializeOwned>(
        &self,
        route: Route,
        query: &str,
        body: Option<&impl Serialize>,
    ) -> T {
        let url = format!("{}{}{query}", self.base, route.path());
        let method =
            reqwest::Method::from_bytes(route.method().as_str().as_bytes()).expect("a method");
        let mut req = self
            .http
            .request(method, &url)
            .header("X-Claw-Token", &self.token);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "{} {url}: {status} {text}",
            route.method()
        );
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"))
    }

    pub async fn sessions(&self) -> SessionPage {
        self.call(Route::ListSessions, "?limit=100", None::<&()>)
            .await
    }

    pub async fn detail(&self, session_id: &str) -> SessionDetail {
        self.call(
            Route::SessionDetail {
                session_id: session_id.into(),
            },
            "",
            None::<&()>,
        )
        .await
    }

    pub async fn group(&self) -> Group {
        self.call(Route::WorkspaceGroup, "", None::<&()>).await
    }

    pub async fn send(&self, session_id: &str, content: &str) -> Message {
        let body = SendMessageRequest {
            content: content.into(),
            meta: None,
        };
        self.call(
            Route::SendSessionMessage {
                session_id: session_id.into(),
            },
            "",
            Some(&body),
        )
        .await
    }

    /// A send that reports failure instead of panicking: the status (0 when
    /// the server could not be reached) and body.
    pub async fn try_send(
        &self,
        session_id: &str,
        content: &str,
    ) -> Result<Message, (u16, String)> {
        let route = Route::SendSessionMessage {
            session_id: session_id.into(),
        };
        let url = format!("{}{}", self.base, route.path());
        let resp = self
            .http
            .post(&url)
            .header("X-Claw-Token", &self.token)
            .json(&SendMessageRequest {
                content: content.into(),
                meta: None,
            })
            .timeout(std::time::Duration::from_secs(20))
            .send()
            .await
            .map_err(|e| (0, e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| (0, e.to_string()))?;
        if status == 201 {
            serde_json::from_str(&text).map_err(|e| (status, e.to_string()))
        } else {
            Err((status, text))
        }
    }

    /// The newest `limit` messages of a session, or `None` if the server does not answer.
    pub async fn try_latest(&self, session_id: &str, limit: u32) -> Option<Vec<Message>> {
        let route = Route::ListSessionMessages {
            session_id: session_id.into(),
        };
        let url = format!("{}{}?limit={limit}", self.base, route.path());
        let resp = self
            .http
            .get(&url)
            .header("X-Claw-Token", &self.token)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let page: MessagePage = resp.json().await.ok()?;
        Some(page.messages)
    }

    /// Every message of a session, oldest first, by paging back with `before`.
    pub async fn all_messages(&self, session_id: &str) -> Vec<Message> {
        let list = Route::ListSessionMessages {
            session_id: session_id.into(),
        };
        self.all_messages_of(list).await
    }

    /// Every message a list route (session or panel) pages through, oldest first.
    pub async fn all_messages_of(&self, list: Route) -> Vec<Message> {
        let mut all = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let query = match &before {
                Some(c) => format!("?limit=100&before={c}"),
                None => "?limit=100".to_owned(),
            };
            let page: MessagePage = self.call(list.clone(), &query, None::<&()>).await;
            all.splice(0..0, page.messages);
            match (page.has_more, page.cursor) {
                (true, Some(c)) => before = Some(c),
                _ => return all,
            }
        }
    }
}
