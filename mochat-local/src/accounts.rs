//! Agents and people: token authentication, `POST /claw/register` and
//! `POST /claw/agents/bind`.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mochat_api::limits::CLAW_TOKEN_HEADER;
use mochat_api::requests::{BindRequest, BindResponse, RegisterRequest, RegisterResponse};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Map;

use crate::db::{self, Target};
use crate::error::{AppError, AppResult, json};
use crate::{AppState, ids, input, time};

/// The agent a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub workspace_id: String,
}

/// Finds the agent of the request's `X-Claw-Token` (401 when missing or unknown).
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> AppResult<Caller> {
    let token = headers
        .get(CLAW_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AppError::unauthorized(format!(
                "This call needs an agent token in the {CLAW_TOKEN_HEADER} header. \
                 Register an agent with POST /api/claw/register to get one."
            ))
        })?
        .to_owned();
    let caller = state
        .db
        .call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT id, workspace_id FROM users WHERE token = ?1 AND kind = 'agent'",
                    [token],
                    |r| {
                        Ok(Caller {
                            user_id: r.get(0)?,
                            workspace_id: r.get(1)?,
                        })
                    },
                )
                .optional()?)
        })
        .await?;
    caller.ok_or_else(|| {
        AppError::unauthorized(format!(
            "The token in {CLAW_TOKEN_HEADER} is not known to this server. \
             Check it, or register an agent with POST /api/claw/register."
        ))
    })
}

/// Creates an agent in a workspace (and its group). Returns its id and token;
/// a taken username is a 409.
pub fn create_agent(
    conn: &Connection,
    workspace_id: &str,
    name: &str,
    username: &str,
    avatar: Option<&str>,
    now: i64,
) -> AppResult<(String, String)> {
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE workspace_id = ?1 AND username = ?2 COLLATE NOCASE)",
        params![workspace_id, username],
        |r| r.get(0),
    )?;
    if taken {
        return Err(AppError::conflict(format!(
            "The username {username} is already taken in this workspace. Pick another one."
        )));
    }
    let id = ids::new_id("agent");
    let token = ids::new_token();
    conn.execute(
        "INSERT INTO users (id, kind, name, username, avatar, workspace_id, token, created_ms)
         VALUES (?1, 'agent', ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, name, username, avatar, workspace_id, token, now],
    )?;
    if let Some(group_id) = db::workspace_group(conn, workspace_id)? {
        db::add_group_member(conn, &group_id, &id)?;
    }
    Ok((id, token))
}

/// `POST /claw/register`: a new agent in the default workspace.
pub async fn register(state: &AppState, body: &[u8]) -> AppResult<Response> {
    let request: RegisterRequest = input::json_body(body)?;
    let name = input::short_text("name", &request.name, 100)?;
    let username = input::short_text("username", &request.username, 64)?;
    if username.chars().any(char::is_whitespace) {
        return Err(AppError::bad_request(
            "The username must not contain white space.",
        ));
    }
    let avatar = match request.avatar {
        Some(a) if a.chars().count() > 2048 => {
            return Err(AppError::bad_request(
                "The avatar URL must have at most 2048 characters.",
            ));
        }
        other => other.filter(|a| !a.trim().is_empty()),
    };
    let response = state
        .db
        .transact(move |conn| {
            let workspace_id = db::default_workspace(conn)?;
            let (bot_user_id, claw_token) = create_agent(
                conn,
                &workspace_id,
                &name,
                &username,
                avatar.as_deref(),
                time::now_ms(),
            )?;
            Ok(RegisterResponse {
                claw_token,
                bot_user_id,
                workspace_id,
            })
        })
        .await?;
    json(StatusCode::CREATED, &response)
}

/// Finds the person with this (lowercased) email, or creates them in `workspace_id`.
pub fn find_or_create_person(
    conn: &Connection,
    email: &str,
    name: Option<&str>,
    workspace_id: &str,
    now: i64,
) -> AppResult<String> {
    let existing: Option<String> = conn
        .query_row("SELECT id FROM users WHERE email = ?1", [email], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = ids::new_id("user");
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or(email));
    conn.execute(
        "INSERT INTO users (id, kind, name, email, workspace_id, created_ms)
         VALUES (?1, 'user', ?2, ?3, ?4, ?5)",
        params![id, name, email, workspace_id, now],
    )?;
    if let Some(group_id) = db::workspace_group(conn, workspace_id)? {
        db::add_group_member(conn, &group_id, &id)?;
    }
    Ok(id)
}

/// The bind itself: finds or creates the person, and the direct session with its
/// greeting. Returns the response and the seq to announce (0 when nothing changed).
pub fn bind_email(
    tx: &Connection,
    caller: &Caller,
    email: &str,
    now: i64,
) -> AppResult<(BindResponse, u64)> {
    let owner = find_or_create_person(tx, email, None, &caller.workspace_id, now)?;
    let dm_key = format!("{}:{owner}", caller.user_id);
    let existing: Option<String> = tx
        .query_row(
            "SELECT id FROM sessions WHERE dm_key = ?1",
            [&dm_key],
            |r| r.get(0),
        )
        .optional()?;
    let (session_id, seq) = match existing {
        Some(id) => (id, 0),
        None => {
            let agent = db::user(tx, &caller.user_id)?
                .ok_or_else(|| AppError::internal("the calling agent vanished"))?;
            let person = db::user(tx, &owner)?
                .ok_or_else(|| AppError::internal("the bound person vanished"))?;
            let title = format!("{} · {}", agent.name, person.name);
            let id = db::insert_session(
                tx,
                &caller.workspace_id,
                &title,
                &caller.user_id,
                std::slice::from_ref(&owner),
                Some(&dm_key),
                now,
            )?;
            let greeting = format!(
                "Hi {}! I'm {}, your agent on MoChat. Write here whenever you need me.",
                person.name, agent.name
            );
            let (_, seq) = db::insert_message(
                tx,
                Target::Session(&id),
                &caller.user_id,
                &greeting,
                &Map::new(),
                now,
            )?;
            (id, seq)
        }
    };
    Ok((
        BindResponse {
            success: true,
            session_id,
            owner_user_id: Some(owner),
        },
        seq,
    ))
}

/// `POST /claw/agents/bind`.
pub async fn bind(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: BindRequest = input::json_body(body)?;
    let email = input::email(&request.email)?;
    let caller = caller.clone();
    let (response, seq) = state
        .db
        .transact(move |conn| bind_email(conn, &caller, &email, time::now_ms()))
        .await?;
    if seq > 0 {
        state.hub.notify(&response.session_id, seq);
    }
    json(StatusCode::OK, &response)
}
