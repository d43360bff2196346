//! Shared test helpers: start a server in-process on a free port, call it with reqwest.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use mochat_api::limits::CLAW_TOKEN_HEADER;
use mochat_api::live::{LIVE_PREFIX, LiveCall};
use mochat_api::routes::API_PREFIX;
use mochat_api::{Method as ApiMethod, Route};
use mochat_local::{Config, Server, Storage};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// An answer: status, headers and JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    /// The `error.code` of an error envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no envelope>")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an error answer with an envelope carrying a message.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(self.code(), code, "{:?}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{:?}",
            self.body
        );
    }

    /// The `data` of a live-dialect success, after checking status and wrapper.
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, 200, "{:?}", self.body);
        assert_eq!(self.body["code"], json!(200), "{:?}", self.body);
        assert!(self.body["data"].is_object(), "{:?}", self.body);
        &self.body["data"]
    }

    /// Asserts a live-dialect error: `{code, name, message}`, the status equal to `code`.
    pub fn assert_live_error(&self, status: u16, name: &str) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(self.body["code"], json!(status), "{:?}", self.body);
        assert_eq!(self.body["name"], json!(name), "{:?}", self.body);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{:?}",
            self.body
        );
        assert!(self.body.get("error").is_none(), "{:?}", self.body);
    }
}

/// Where a request goes, relative to the base URL (which ends in `/api`): a
/// call of the API, a [`Route`] or a [`LiveCall`], or any path for what is on
/// purpose not one (an unknown call, a path trick, a raw query).
pub trait Target {
    /// The path and query to send.
    fn to_target(&self) -> String;
    /// The method of the call, when this is one.
    fn call_method(&self) -> Option<ApiMethod> {
        None
    }
}

impl Target for str {
    fn to_target(&self) -> String {
        self.to_owned()
    }
}

impl Target for String {
    fn to_target(&self) -> String {
        self.clone()
    }
}

impl Target for Route {
    fn to_target(&self) -> String {
        self.target()
    }
    fn call_method(&self) -> Option<ApiMethod> {
        Some(self.method())
    }
}

impl Target for LiveCall {
    fn to_target(&self) -> String {
        self.base_path()
    }
    fn call_method(&self) -> Option<ApiMethod> {
        Some(ApiMethod::Post)
    }
}

impl<T: Target + ?Sized> Target for &T {
    fn to_target(&self) -> String {
        (**self).to_target()
    }
    fn call_method(&self) -> Option<ApiMethod> {
        (**self).call_method()
    }
}

/// A path of the live dialect relative to the base URL, for a call name
/// that is no [`LiveCall`]: `/claw/<name>`.
pub fn live_path(name: &str) -> String {
    let prefix = LIVE_PREFIX
        .strip_prefix(API_PREFIX)
        .expect("the live prefix is under the API's");
    format!("{prefix}{name}")
}

/// Short constructors of the routes the tests call, ids and query filled in.
pub mod route {
    use mochat_api::Route;
    use mochat_api::requests::{PageQuery, WatchQuery};

    fn page(limit: Option<u32>, before: Option<&str>) -> PageQuery {
        PageQuery {
            limit,
            before: before.map(str::to_owned),
        }
    }

    /// `GET /claw/sessions`, with `?limit=…&before=…` when given.
    pub fn sessions(limit: Option<u32>, before: Option<&str>) -> Route {
        Route::ListSessions {
            query: page(limit, before),
        }
    }

    /// `GET /claw/sessions/:id`.
    pub fn session(session_id: &str) -> Route {
        Route::GetSession {
            session_id: session_id.into(),
        }
    }

    /// `GET /claw/sessions/:id/detail`.
    pub fn detail(session_id: &str) -> Route {
        Route::SessionDetail {
            session_id: session_id.into(),
        }
    }

    /// `POST /claw/sessions/:id/close`.
    pub fn close(session_id: &str) -> Route {
        Route::CloseSession {
            session_id: session_id.into(),
        }
    }

    /// `POST /claw/sessions/:id/message`.
    pub fn send(session_id: &str) -> Route {
        Route::SendSessionMessage {
            session_id: session_id.into(),
        }
    }

    /// `GET /claw/sessions/:id/messages`, with `?limit=…&before=…` when given.
    pub fn messages(session_id: &str, limit: Option<u32>, before: Option<&str>) -> Route {
        Route::ListSessionMessages {
            session_id: session_id.into(),
            query: page(limit, before),
        }
    }

    /// `POST /claw/sessions/:id/participants`.
    pub fn add_participants(session_id: &str) -> Route {
        Route::AddParticipants {
            session_id: session_id.into(),
        }
    }

    /// `DELETE /claw/sessions/:id/participants`.
    pub fn remove_participants(session_id: &str) -> Route {
        Route::RemoveParticipants {
            session_id: session_id.into(),
        }
    }

    /// `GET /claw/sessions/:id/watch`, with `?timeout=…&cursor=…` when given.
    pub fn watch(session_id: &str, cursor: Option<u64>, timeout_ms: Option<u64>) -> Route {
        Route::WatchSession {
            session_id: session_id.into(),
            query: WatchQuery {
                timeout_ms,
                limit: None,
                cursor,
            },
        }
    }

    /// `POST /claw/panels/:id/message`.
    pub fn panel_send(panel_id: &str) -> Route {
        Route::SendPanelMessage {
            panel_id: panel_id.into(),
        }
    }

    /// `GET /claw/panels/:id/messages`, with `?limit=…&before=…` when given.
    pub fn panel_messages(panel_id: &str, limit: Option<u32>, before: Option<&str>) -> Route {
        Route::ListPanelMessages {
            panel_id: panel_id.into(),
            query: page(limit, before),
        }
    }
}

/// A client of one server.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Self {
        Self {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Sends a request with an optional token and raw body, with `method`
    /// whatever the method of the call `to` is.
    pub async fn raw(
        &self,
        method: Method,
        to: impl Target,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        let target = to.to_target();
        let mut request = self.http.request(method, format!("{}{target}", self.base));
        if let Some(token) = token {
            request = request.header(CLAW_TOKEN_HEADER, token);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
        }
    }

    /// [`Api::raw`] with `method`, after checking that a call `to` is one of it.
    async fn checked(
        &self,
        method: ApiMethod,
        to: impl Target,
        token: &str,
        body: Option<Value>,
    ) -> Resp {
        if let Some(own) = to.call_method() {
            assert_eq!(own, method, "{} is a {own} call", to.to_target());
        }
        let method = Method::from_bytes(method.as_str().as_bytes()).expect("a method");
        let body = body.map(|b| b.to_string().into_bytes());
        self.raw(method, to, Some(token), body).await
    }

    pub async fn get(&self, to: impl Target, token: &str) -> Resp {
        self.checked(ApiMethod::Get, to, token, None).await
    }

    pub async fn post(&self, to: impl Target, token: &str, body: Value) -> Resp {
        self.checked(ApiMethod::Post, to, token, Some(body)).await
    }

    pub async fn delete(&self, to: impl Target, token: &str, body: Value) -> Resp {
        self.checked(ApiMethod::Delete, to, token, Some(body)).await
    }

    /// Calls the live dialect: `POST /api/claw/<call>` with a JSON body.
    pub async fn live(&self, call: LiveCall, token: &str, body: Value) -> Resp {
        self.post(call, token, body).await
    }

    /// Registers an agent through `agents/selfRegister` (no token).
    pub async fn live_register(&self, name: &str) -> Agent {
        let resp = self
            .raw(
                Method::POST,
                LiveCall::AgentsSelfRegister,
                None,
                Some(json!({"name": name}).to_string().into_bytes()),
            )
            .await;
        let data = resp.data();
        Agent {
            token: data["token"].as_str().expect("token").to_owned(),
            id: data["botUserId"].as_str().expect("id").to_owned(),
            workspace_id: data["workspaceId"].as_str().expect("workspace").to_owned(),
        }
    }

    /// Registers an agent with a unique username.
    pub async fn register(&self, name: &str) -> Agent {
        let username = format!("{}_{}", name.to_lowercase(), unique());
        let resp = self
            .raw(
                Method::POST,
                Route::Register,
                None,
                Some(
                    json!({"name": name, "username": username})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .await;
        assert_eq!(resp.status, 201, "{:?}", resp.body);
        Agent {
            token: resp.body["claw_token"].as_str().expect("token").to_owned(),
            id: resp.body["botUserId"].as_str().expect("id").to_owned(),
            workspace_id: resp.body["workspaceId"]
                .as_str()
                .expect("workspace")
                .to_owned(),
        }
    }

    /// Creates a session of `owner` with `others`; returns its id.
    pub async fn session(&self, owner: &Agent, others: &[&Agent], title: &str) -> String {
        let ids: Vec<&str> = others.iter().map(|a| a.id.as_str()).collect();
        let resp = self
            .post(
                Route::CreateSession,
                &owner.token,
                json!({"participants": ids, "title": title}),
            )
            .await;
        assert_eq!(resp.status, 201, "{:?}", resp.body);
        resp.body["sessionId"].as_str().expect("id").to_owned()
    }

    /// Sends a message; returns it.
    pub async fn send(&self, agent: &Agent, session_id: &str, content: &str) -> Value {
        let resp = self
            .post(
                route::send(session_id),
                &agent.token,
                json!({"content": content}),
            )
            .await;
        assert_eq!(resp.status, 201, "{:?}", resp.body);
        resp.body
    }

    /// Every message of a session, oldest first, by paging back with `limit`.
    pub async fn all_messages(&self, agent: &Agent, session_id: &str, limit: u32) -> Vec<Value> {
        let mut pages: Vec<Vec<Value>> = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let page = route::messages(session_id, Some(limit), before.as_deref());
            let resp = self.get(page, &agent.token).await;
            assert_eq!(resp.status, 200, "{:?}", resp.body);
            pages.push(resp.body["messages"].as_array().expect("messages").clone());
            if resp.body["hasMore"] != json!(true) {
                assert!(resp.body["cursor"].is_null());
                break;
            }
            before = Some(resp.body["cursor"].as_str().expect("cursor").to_owned());
        }
        pages.into_iter().rev().flatten().collect()
    }
}

/// A registered agent.
#[derive(Debug, Clone)]
pub struct Agent {
    pub token: String,
    pub id: String,
    pub workspace_id: String,
}

/// A number unique within this test process.
pub fn unique() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A fresh path in the temp folder.
pub fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mochat-local-test-{}-{name}", unique()))
}

/// An in-memory configuration on a free port, without rate limit.
pub fn memory_config() -> Config {
    Config {
        rate_limit: None,
        dev_vars: temp_path("dev.vars"),
        ..Config::in_memory()
    }
}

/// A file-backed configuration on a free port, without rate limit.
pub fn file_config(db: &std::path::Path) -> Config {
    Config {
        storage: Storage::File(db.to_path_buf()),
        ..memory_config()
    }
}

/// Starts a server and a client for it.
pub async fn start(config: Config) -> (Server, Api) {
    let server = mochat_local::start(config)
        .await
        .expect("the server starts");
    let api = Api::new(server.base_url());
    (server, api)
}

/// Removes a database file and its WAL companions.
pub fn remove_db(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
