//! Agents and people: token authentication, `POST /claw/register` and
//! `POST /claw/agents/bind`, and the registration and binding both dialects share.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mochat_api::ApiError;
use mochat_api::Route;
use mochat_api::limits::CLAW_TOKEN_HEADER;
use mochat_api::live::LiveCall;
use mochat_api::requests::{BindRequest, BindResponse, RegisterRequest, RegisterResponse};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Map;

use crate::db::{self, Target};
use crate::error::{AppError, AppResult, json};
use crate::routing::Dialect;
use crate::{AppState, ids, input, time};

/// The agent a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub workspace_id: String,
}

/// Finds the agent of the request's `X-Claw-Token` (401 when missing or unknown);
/// the messages point to the registration call of the request's dialect.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    dialect: Dialect,
) -> AppResult<Caller> {
    let register = match dialect {
        Dialect::Rest => format!("POST {}", Route::Register.api_target()),
        Dialect::Live => format!("POST {}", LiveCall::AgentsSelfRegister.url_path()),
    };
    let token = headers
        .get(CLAW_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(format!(
                "This call needs an agent token in the {CLAW_TOKEN_HEADER} header. \
                 Register an agent with {register} to get one."
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
        ApiError::unauthorized(format!(
            "The token in {CLAW_TOKEN_HEADER} is not known to this server. \
             Check it, or register an agent with {register}."
        ))
        .into()
    })
}

/// Whether a username is taken in a workspace (ignoring case).
fn username_taken(conn: &Connection, workspace_id: &str, username: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE workspace_id = ?1 AND username = ?2 COLLATE NOCASE)",
        params![workspace_id, username],
        |r| r.get(0),
    )
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
    if username_taken(conn, workspace_id, username)? {
        return Err(ApiError::conflict(format!(
            "The username {username} is already taken in this workspace. Pick another one."
        ))
        .into());
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

/// A username: 1 to 64 characters, no white space.
pub fn username(raw: &str) -> AppResult<String> {
    let username = input::short_text("username", raw, 64)?;
    if username.chars().any(char::is_whitespace) {
        return Err(ApiError::bad_request("The username must not contain white space.").into());
    }
    Ok(username)
}

/// An optional avatar URL of at most 2048 characters; blank means none.
pub fn avatar(raw: Option<String>) -> AppResult<Option<String>> {
    match raw {
        Some(a) if a.chars().count() > 2048 => {
            Err(ApiError::bad_request("The avatar URL must have at most 2048 characters.").into())
        }
        other => Ok(other.filter(|a| !a.trim().is_empty())),
    }
}

/// The username of a new agent: the one asked for, or one derived from its name.
pub enum NewUsername {
    /// Taken is a 409.
    Given(String),
    /// The name in lowercase letters, digits and `_` (`agent` when none is left),
    /// with `_` and four random characters added when that is taken.
    FromName,
}

/// What registration created.
pub struct Registered {
    pub agent_id: String,
    pub token: String,
    pub workspace_id: String,
    /// The workspace's group, which the agent joined.
    pub group_id: Option<String>,
}

/// The name as a username base: ASCII letters and digits in lowercase, runs of
/// anything else as one `_`, at most 32 characters.
fn username_base(name: &str) -> String {
    let mut base = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            base.push(c.to_ascii_lowercase());
        } else if !base.is_empty() && !base.ends_with('_') {
            base.push('_');
        }
        if base.len() >= 32 {
            break;
        }
    }
    let base = base.trim_end_matches('_');
    if base.is_empty() {
        "agent".to_owned()
    } else {
        base.to_owned()
    }
}

/// Registers an agent in the default workspace (and its group).
pub fn register_agent(
    conn: &Connection,
    name: &str,
    username: NewUsername,
    avatar: Option<&str>,
    now: i64,
) -> AppResult<Registered> {
    let workspace_id = db::default_workspace(conn)?;
    let username = match username {
        NewUsername::Given(username) => username,
        NewUsername::FromName => {
            let base = username_base(name);
            let mut candidate = base.clone();
            let mut tries = 0;
            while username_taken(conn, &workspace_id, &candidate)? {
                tries += 1;
                if tries > 20 {
                    return Err(AppError::internal("no free username was found"));
                }
                candidate = format!("{base}_{}", ids::new_suffix(4));
            }
            candidate
        }
    };
    let (agent_id, token) = create_agent(conn, &workspace_id, name, &username, avatar, now)?;
    let group_id = db::workspace_group(conn, &workspace_id)?;
    Ok(Registered {
        agent_id,
        token,
        workspace_id,
        group_id,
    })
}

/// `POST /claw/register`: a new agent in the default workspace.
pub async fn register(state: &AppState, body: &[u8]) -> AppResult<Response> {
    let request: RegisterRequest = input::json_body(body)?;
    let name = input::short_text("name", &request.name, 100)?;
    let username = username(&request.username)?;
    let avatar = avatar(request.avatar)?;
    let registered = state
        .db
        .transact(move |conn| {
            register_agent(
                conn,
                &name,
                NewUsername::Given(username),
                avatar.as_deref(),
                time::now_ms(),
            )
        })
        .await?;
    json(
        StatusCode::CREATED,
        &RegisterResponse {
            claw_token: registered.token,
            bot_user_id: registered.agent_id,
            workspace_id: registered.workspace_id,
        },
    )
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
/// greeting (`greeting`, or a default one; posted only when the session is new).
/// Returns the response and the seq to announce (0 when nothing changed).
pub fn bind_email(
    tx: &Connection,
    caller: &Caller,
    email: &str,
    greeting: Option<&str>,
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
            let greeting = greeting.map_or_else(
                || {
                    format!(
                        "Hi {}! I'm {}, your agent on MoChat. Write here whenever you need me.",
                        person.name, agent.name
                    )
                },
                str::to_owned,
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

/// Binds the caller to a person by (checked) email and wakes the session's watchers.
pub async fn bind_and_notify(
    state: &AppState,
    caller: &Caller,
    email: String,
    greeting: Option<String>,
) -> AppResult<BindResponse> {
    let caller = caller.clone();
    let (response, seq) = state
        .db
        .transact(move |conn| {
            bind_email(conn, &caller, &email, greeting.as_deref(), time::now_ms())
        })
        .await?;
    if seq > 0 {
        state.hub.notify(&response.session_id, seq);
    }
    Ok(response)
}

/// `POST /claw/agents/bind`.
pub async fn bind(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: BindRequest = input::json_body(body)?;
    let email = input::email(&request.email)?;
    let response = bind_and_notify(state, caller, email, None).await?;
    json(StatusCode::OK, &response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_derived_from_names() {
        assert_eq!(username_base("Helper"), "helper");
        assert_eq!(username_base("  Ops Bot #2 "), "ops_bot_2");
        assert_eq!(username_base("Zoë's agent"), "zo_s_agent");
        assert_eq!(username_base("日本語"), "agent");
        assert_eq!(username_base(""), "agent");
        assert_eq!(username_base(&"x".repeat(100)).len(), 32);
    }

    #[test]
    fn registration_derives_a_free_username() {
        let db = db::Db::open(&crate::config::Storage::Memory).expect("opens");
        db.with(|conn| {
            let username = |id: &str| db::user(conn, id).ok().flatten().and_then(|u| u.username);
            let first = register_agent(conn, "Scout", NewUsername::FromName, None, 1)?;
            assert_eq!(username(&first.agent_id).as_deref(), Some("scout"));
            assert!(first.group_id.is_some());
            let second = register_agent(conn, "SCOUT", NewUsername::FromName, None, 2)?;
            let derived = username(&second.agent_id).unwrap_or_default();
            assert!(
                derived.starts_with("scout_") && derived.len() == 10,
                "{derived}"
            );
            let taken = register_agent(conn, "x", NewUsername::Given("Scout".into()), None, 3);
            assert_eq!(taken.err().map(|e| e.error.status()), Some(409));
            Ok(())
        })
        .expect("works");
    }
}
