//! The list of agents registered through the worker: the one [`TokenVault`]
//! Durable Object (SQLite storage), read by `GET /edge/agents`. Tokens no
//! longer live here: each agent's hub keeps its own ([`crate::hub`]). Agents
//! registered before that still have their token in the vault's table; the
//! first call of such an agent moves it to its hub and clears it here
//! ([`legacy_agent`], [`forget_token`]). Tokens go only between the vault
//! and a hub; no answer to a browser carries one.

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use worker::{
    Date, DurableObject, Env, Method, Request, Response, Result, SqlStorage, SqlStorageValue,
    State, durable_object,
};

use crate::config::{TOKEN_VAULT, VAULT_INSTANCE};
use crate::durable::Object;
use crate::hub::store::StoredAgent;

/// An agent in the vault, as listed (no token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultAgent {
    pub agent_id: String,
    pub name: String,
    pub username: String,
    pub workspace_id: String,
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
/// `GET /agents`, `POST /agents` with a [`VaultAgent`], and for agents
/// registered before their hub kept their token: `GET /token/<agentId>`
/// (404 when there is none) and `POST /forget/<agentId>`.
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
                match rows.into_iter().next().filter(|r| !r.token.is_empty()) {
                    Some(row) => Response::from_json(&TokenAnswer { token: row.token }),
                    None => Ok(Response::empty()?.with_status(404)),
                }
            }
            (Method::Post, p) if p.starts_with("/forget/") => {
                let id = &p["/forget/".len()..];
                self.sql.exec(
                    "UPDATE agents SET token = '' WHERE agent_id = ?",
                    vec![id.into()],
                )?;
                Ok(Response::empty()?.with_status(204))
            }
            (Method::Post, "/agents") => {
                let a: VaultAgent = req.json().await?;
                let now = i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX);
                self.sql.exec(
                    "INSERT INTO agents (agent_id, token, name, username, workspace_id, created_at)
                     VALUES (?, '', ?, ?, ?, ?)
                     ON CONFLICT(agent_id) DO UPDATE SET token = '',
                        name = excluded.name, username = excluded.username,
                        workspace_id = excluded.workspace_id",
                    vec![
                        a.agent_id.into(),
                        a.name.into(),
                        a.username.into(),
                        a.workspace_id.into(),
                        SqlStorageValue::try_from_i64(now)?,
                    ],
                )?;
                Ok(Response::empty()?.with_status(204))
            }
            _ => Ok(Response::empty()?.with_status(404)),
        }
    }
}

fn vault(env: &Env) -> Result<Object> {
    Object::named(env, TOKEN_VAULT, VAULT_INSTANCE)
}

/// Every agent in the vault, oldest first.
pub async fn list(env: &Env) -> Result<Vec<VaultAgent>> {
    vault(env)?.get("/agents").await
}

/// Lists a newly registered agent (its token went to its hub).
pub async fn store(env: &Env, agent: VaultAgent) -> Result<()> {
    let resp = vault(env)?
        .send(Method::Post, "/agents", Some(&agent))
        .await?;
    if resp.status_code() != 204 {
        return Err(worker::Error::RustError(format!(
            "the agent list answered {} to a store",
            resp.status_code()
        )));
    }
    Ok(())
}

/// An agent registered before hubs kept tokens, with the token the vault
/// still holds for it (`agent_id` must be a valid id).
pub async fn legacy_agent(env: &Env, agent_id: &str) -> Result<Option<StoredAgent>> {
    let mut resp = vault(env)?
        .send::<()>(Method::Get, &format!("/token/{agent_id}"), None)
        .await?;
    if resp.status_code() == 404 {
        return Ok(None);
    }
    let answer: TokenAnswer = resp.json().await?;
    let listed = list(env)
        .await?
        .into_iter()
        .find(|a| a.agent_id == agent_id);
    Ok(Some(StoredAgent {
        id: agent_id.to_owned(),
        token: answer.token,
        name: listed.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        username: listed.map(|a| a.username).unwrap_or_default(),
    }))
}

/// Clears an agent's token from the vault once its hub keeps it.
pub async fn forget_token(env: &Env, agent_id: &str) -> Result<()> {
    vault(env)?
        .send::<()>(Method::Post, &format!("/forget/{agent_id}"), None)
        .await?;
    Ok(())
}
