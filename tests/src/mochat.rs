//! A small typed client of a MoChat API (the local server, or the worker's
//! `/api`), for tests to act as another agent and to check what is upstream.
//! It speaks the reference's routes, or, in a live-dialect run, the live
//! dialect (mapped by [`mochat_api::dialect`]), answering in the
//! reference's shapes either way.

use std::time::Duration;

use mochat_api::dialect;
use mochat_api::limits::PAGE_MAX;
use mochat_api::live::LiveCall;
use mochat_api::requests::{PageQuery, SendMessageRequest};
use mochat_api::{Group, Message, MessagePage, Route, SessionDetail, SessionPage};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Dialect;

/// An agent talking to a MoChat API base URL (ending in `/api`).
#[derive(Clone)]
pub struct Mochat {
    pub base: String,
    pub token: String,
    /// The dialect it speaks.
    pub dialect: Dialect,
    http: reqwest::Client,
}

impl Mochat {
    /// A client in the run's dialect.
    pub fn new(base: String, token: String) -> Self {
        Self {
            base,
            token,
            dialect: Dialect::of_run(),
            http: reqwest::Client::new(),
        }
    }

    /// The same client speaking the reference's routes (the worker's `/api`
    /// always speaks them).
    pub fn rest(mut self) -> Self {
        self.dialect = Dialect::Rest;
        self
    }

    async fn send_raw(
        &self,
        method: &str,
        url: &str,
        body: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<(u16, String), String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut req = self
            .http
            .request(method, url)
            .header(mochat_api::limits::CLAW_TOKEN_HEADER, &self.token);
        if let Some(body) = body {
            req = req.header("Content-Type", "application/json").body(body);
        }
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await.map_err(|e| e.to_string())?))
    }

    /// One call of the route table (its query inside the route): its status
    /// and body in the reference's shapes, or why it could not be made.
    pub async fn exchange(
        &self,
        route: &Route,
        body: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<(u16, String), String> {
        if self.dialect == Dialect::Rest {
            let url = format!("{}{}", self.base, route.target());
            return self
                .send_raw(route.method().as_str(), &url, body, timeout)
                .await;
        }
        let (call, request) = match dialect::request(route, body.as_deref(), None) {
            Ok(r) => r,
            Err(e) => return Ok((e.status(), e.to_json())),
        };
        let post = |call: LiveCall, request: serde_json::Value| {
            let url = format!("{}{}", self.base, call.base_path());
            async move {
                self.send_raw(
                    "POST",
                    &url,
                    Some(request.to_string().into_bytes()),
                    timeout,
                )
                .await
            }
        };
        let (status, text) = post(call, request).await?;
        let mut answer = match dialect::answer(route, status, &text) {
            Ok((s, v)) => (s, v.to_string()),
            Err(e) => return Ok((e.status(), e.to_json())),
        };
        if dialect::cost(route) == 2 {
            let (_, id) = LiveCall::from_route(route);
            let get = Route::GetSession {
                session_id: id.unwrap_or_default().to_owned(),
            };
            let (status, text) = post(
                LiveCall::SessionsGet,
                serde_json::json!({"sessionId": id.unwrap_or_default()}),
            )
            .await?;
            answer = match dialect::answer(&get, status, &text) {
                Ok((s, v)) => (s, v.to_string()),
                Err(e) => (e.status(), e.to_json()),
            };
        }
        Ok(answer)
    }

    /// Calls `route` with an optional body; panics with the error envelope
    /// on failure.
    pub async fn call<T: DeserializeOwned>(
        &self,
        route: Route,
        body: Option<&impl Serialize>,
    ) -> T {
        let body = body.map(|b| serde_json::to_vec(b).expect("a JSON body"));
        let (status, text) = self
            .exchange(&route, body, None)
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", route.method(), route.path()));
        assert!(
            (200..300).contains(&status),
            "{} {}: {status} {text}",
            route.method(),
            route.path()
        );
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} {}: {e}: {text}", route.method(), route.path()))
    }

    pub async fn sessions(&self) -> SessionPage {
        let query = PageQuery {
            limit: Some(PAGE_MAX),
            before: None,
        };
        self.call(Route::ListSessions { query }, None::<&()>).await
    }

    pub async fn detail(&self, session_id: &str) -> SessionDetail {
        self.call(
            Route::SessionDetail {
                session_id: session_id.into(),
            },
            None::<&()>,
        )
        .await
    }

    /// How many messages a session holds (the live dialect's detail has no
    /// count: there, counted by paging).
    pub async fn message_count(&self, session_id: &str) -> u64 {
        match self.dialect {
            Dialect::Rest => self.detail(session_id).await.message_count,
            Dialect::Live => self.all_messages(session_id).await.len() as u64,
        }
    }

    pub async fn group(&self) -> Group {
        self.call(Route::WorkspaceGroup, None::<&()>).await
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
        let body = serde_json::to_vec(&SendMessageRequest {
            content: content.into(),
            meta: None,
        })
        .map_err(|e| (0, e.to_string()))?;
        let (status, text) = self
            .exchange(&route, Some(body), Some(Duration::from_secs(20)))
            .await
            .map_err(|e| (0, e))?;
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
            query: PageQuery {
                limit: Some(limit),
                before: None,
            },
        };
        let (status, text) = self
            .exchange(&route, None, Some(Duration::from_secs(10)))
            .await
            .ok()?;
        if !(200..300).contains(&status) {
            return None;
        }
        let page: MessagePage = serde_json::from_str(&text).ok()?;
        Some(page.messages)
    }

    /// Every message of a session, oldest first, by paging back with `before`.
    pub async fn all_messages(&self, session_id: &str) -> Vec<Message> {
        let list = Route::ListSessionMessages {
            session_id: session_id.into(),
            query: PageQuery::default(),
        };
        self.all_messages_of(list).await
    }

    /// Every message a list route (session or panel) pages through, oldest first.
    pub async fn all_messages_of(&self, list: Route) -> Vec<Message> {
        let mut all = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let query = PageQuery {
                limit: Some(PAGE_MAX),
                before: before.take(),
            };
            let route = match list.clone() {
                Route::ListSessionMessages { session_id, .. } => {
                    Route::ListSessionMessages { session_id, query }
                }
                Route::ListPanelMessages { panel_id, .. } => {
                    Route::ListPanelMessages { panel_id, query }
                }
                other => panic!("{other:?} is not a message list"),
            };
            let page: MessagePage = self.call(route, None::<&()>).await;
            all.splice(0..0, page.messages);
            match (page.has_more, page.cursor) {
                (true, Some(c)) => before = Some(c),
                _ => return all,
            }
        }
    }
}
