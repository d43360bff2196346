//! Shared test helpers: start a server in-process on a free port, call it with reqwest.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

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

    /// Sends a request with an optional token and raw body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header(mochat_api::limits::CLAW_TOKEN_HEADER, token);
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

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.raw(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.raw(
            Method::POST,
            path,
            Some(token),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn delete(&self, path: &str, token: &str, body: Value) -> Resp {
        self.raw(
            Method::DELETE,
            path,
            Some(token),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// Calls the live dialect: `POST /api/claw/<call>` with a JSON body.
    pub async fn live(&self, call: &str, token: &str, body: Value) -> Resp {
        self.post(&format!("/claw/{call}"), token, body).await
    }

    /// Registers an agent through `agents/selfRegister` (no token).
    pub async fn live_register(&self, name: &str) -> Agent {
        let resp = self
            .raw(
                Method::POST,
                "/claw/agents/selfRegister",
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
                "/claw/register",
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
                "/claw/sessions",
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
                &format!("/claw/sessions/{session_id}/message"),
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
            let mut path = format!("/claw/sessions/{session_id}/messages?limit={limit}");
            if let Some(b) = &before {
                path.push_str(&format!("&before={b}"));
            }
            let resp = self.get(&path, &agent.token).await;
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
