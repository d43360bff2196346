//! Token custody: the one [`TokenVault`] Durable Object keeps the claw tokens
//! of agents registered through the worker (SQLite storage, survives
//! restarts), and the worker-side calls to it. Tokens go in and come out only
//! between the worker and the vault; no answer to a browser carries one.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use worker::{
    Date, DurableObject, Env, Method, Request, RequestInit, Response, Result, SqlStorage,
    SqlStorageValue, State, Stub, durable_object,
};

use crate::config::{TOKEN_VAULT, VAULT_INSTANCE};

/// An agent in the vault, as listed (no token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultAgent {
    pub agent_id: String,
    pub name: String,
    pub username: String,
    pub workspace_id: String,
}

/// An agent with its token, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredAgent {
    #[serde(flatten)]
    pub agent: VaultAgent,
    pub token: String,
}

#[derive(Serialize, Deserialize)]
struct TokenAnswer {
    token: String,
}

#[derive(Deserialize)]
struct AgentRow {
    agent_id: String,
    name: String,
    username: String,
    workspace_id: String,
}

#[derive(Deserialize)]
struct TokenRow {
    token: String,
}

/// The vault. Internal routes (reachable only through the binding):
/// `GET /agents`, `GET /token/<agentId>`, `POST /agents` with a [`StoredAgent`].
#[durable_object]
pub struct TokenVault {
    sql: SqlStorage,
    ready: Cell<bool>,
}

impl TokenVault {
    fn table(&self) -> Result<()> {
        if !self.ready.get() {
            self.sql.exec(
                "CREATE TABLE IF NOT EXISTS agents (
                    agent_id TEXT PRIMARY KEY,
                    token TEXT NOT NULL,
                    name TEXT NOT NULL,
                    username TEXT NOT NULL,
                    workspace_id TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                )",
                None,
            )?;
            self.ready.set(true);
        }
        Ok(())
    }
}

impl DurableObject for TokenVault {
    fn new(state: State, _env: Env) -> Self {
        Self {
            sql: state.storage().sql(),
            ready: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        self.table()?;
        let path = req.path();
        match (req.method(), path.as_str()) {
            (Method::Get, "/agents") => {
                let rows: Vec<AgentRow> = self
                    .sql
                    .exec(
                        "SELECT agent_id, name, username, workspace_id FROM agents \
                         ORDER BY created_at, agent_id",
                        None,
                    )?
                    .to_array()?;
                let agents: Vec<VaultAgent> = rows
                    .into_iter()
                    .map(|r| VaultAgent {
                        agent_id: r.agent_id,
                        name: r.name,
                        username: r.username,
                        workspace_id: r.workspace_id,
                    })
                    .collect();
                Response::from_json(&agents)
            }
            (Method::Get, p) if p.starts_with("/token/") => {
                let id = &p["/token/".len()..];
                let rows: Vec<TokenRow> = self
                    .sql
                    .exec(
                        "SELECT token FROM agents WHERE agent_id = ?",
                        vec![id.into()],
                    )?
                    .to_array()?;
                match rows.into_iter().next() {
                    Some(row) => Response::from_json(&TokenAnswer { token: row.token }),
                    None => Ok(Response::empty()?.with_status(404)),
                }
            }
            (Method::Post, "/agents") => {
                let s: StoredAgent = req.json().await?;
                let now = i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX);
                self.sql.exec(
                    "INSERT INTO agents (agent_id, token, name, username, workspace_id, created_at)
                     VALUES (?, ?, ?, ?, ?, ?)
                     ON CONFLICT(agent_id) DO UPDATE SET token = excluded.token,
                        name = excluded.name, username = excluded.username,
                        workspace_id = excluded.workspace_id",
                    vec![
                        s.agent.agent_id.into(),
                        s.token.into(),
                        s.agent.name.into(),
                        s.agent.username.into(),
                        s.agent.workspace_id.into(),
                        SqlStorageValue::try_from_i64(now)?,
                    ],
                )?;
                Ok(Response::empty()?.with_status(204))
            }
            _ => Ok(Response::empty()?.with_status(404)),
        }
    }
}

thread_local! {
    /// Tokens already fetched by this isolate. A token never changes for an
    /// agent id, so the cache cannot go stale in a harmful way.
    static CACHE: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

fn stub(env: &Env) -> Result<Stub> {
    env.durable_object(TOKEN_VAULT)?
        .id_from_name(VAULT_INSTANCE)?
        .get_stub()
}

fn internal(path: &str, method: Method, body: Option<String>) -> Result<Request> {
    let mut init = RequestInit::new();
    init.with_method(method);
    if let Some(b) = body {
        let h = worker::Headers::new();
        h.set("Content-Type", "application/json")?;
        init.with_headers(h).with_body(Some(b.into()));
    }
    Request::new_with_init(&format!("https://vault.internal{path}"), &init)
}

/// Every agent in the vault, oldest first.
pub async fn list(env: &Env) -> Result<Vec<VaultAgent>> {
    let mut resp = stub(env)?
        .fetch_with_request(internal("/agents", Method::Get, None)?)
        .await?;
    resp.json().await
}

/// The token of a registered agent, or `None` for an unknown id. `agent_id`
/// must already be a valid id (`mochat_api::routes::is_valid_id`).
pub async fn token(env: &Env, agent_id: &str) -> Result<Option<String>> {
    if let Some(t) = CACHE.with(|c| c.borrow().get(agent_id).cloned()) {
        return Ok(Some(t));
    }
    let req = internal(&format!("/token/{agent_id}"), Method::Get, None)?;
    let mut resp = stub(env)?.fetch_with_request(req).await?;
    if resp.status_code() == 404 {
        return Ok(None);
    }
    let answer: TokenAnswer = resp.json().await?;
    CACHE.with(|c| {
        c.borrow_mut()
            .insert(agent_id.to_owned(), answer.token.clone())
    });
    Ok(Some(answer.token))
}

/// Keeps a newly registered agent and its token.
pub async fn store(env: &Env, agent: StoredAgent) -> Result<()> {
    let body =
        serde_json::to_string(&agent).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let resp = stub(env)?
        .fetch_with_request(internal("/agents", Method::Post, Some(body))?)
        .await?;
    if resp.status_code() != 204 {
        return Err(worker::Error::RustError(format!(
            "the token vault answered {} to a store",
            resp.status_code()
        )));
    }
    CACHE.with(|c| c.borrow_mut().insert(agent.agent.agent_id, agent.token));
    Ok(())
}
