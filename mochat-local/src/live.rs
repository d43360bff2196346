//! The live dialect's calls (`POST /api/claw/<noun>/<verb>`): each reads and
//! checks its body (400), runs the same logic as the reference's route, and
//! answers `{"code":200,"data":…}` in the live shapes.

use axum::response::Response;
use mochat_api::ApiError;
use mochat_api::limits::{
    META_MAX_BYTES, PAGE_DEFAULT, PAGE_MAX, WATCH_LIMIT_DEFAULT, WATCH_LIMIT_MAX,
    WATCH_TIMEOUT_DEFAULT_MS, WATCH_TIMEOUT_MAX_MS,
};
use mochat_api::live::{
    BindBody, BindData, CLOSE_POLICIES, CloseSessionBody, CloseSessionData, CreateSessionBody,
    DEFAULT_VISIBILITY, GroupBody, JoinBody, JoinData, ListSessionsBody, LiveCall, MessagesBody,
    MessagesData, PanelMessagesBody, PanelMessagesData, PanelSendBody, PanelSendData, Participant,
    ParticipantsBody, ParticipantsData, SESSION_LIST_DEFAULT, SESSION_LIST_MAX, SelfRegisterBody,
    SelfRegisterData, SendBody, SendData, SessionIdBody, SessionListData, VISIBILITIES, WatchBody,
    WatchData,
};
use mochat_api::{EventType, MessagePage};
use rusqlite::{Connection, OptionalExtension, params};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::accounts::{self, Caller, NewUsername};
use crate::db::{self, SessionExtras};
use crate::error::{AppError, AppResult, live_ok};
use crate::{AppState, groups, input, live_shapes, messages, sessions, time, watch};

/// Runs a live call for an authenticated, admitted caller.
pub async fn call(
    state: &AppState,
    call: LiveCall,
    caller: &Caller,
    body: &[u8],
) -> AppResult<Response> {
    match call {
        LiveCall::AgentsSelfRegister => self_register(state, body).await,
        LiveCall::AgentsBind => bind(state, caller, body).await,
        LiveCall::SessionsCreate => create(state, caller, body).await,
        LiveCall::SessionsGet => get(state, caller, body).await,
        LiveCall::SessionsDetail => detail(state, caller, body).await,
        LiveCall::SessionsClose => close(state, caller, body).await,
        LiveCall::SessionsList => list(state, caller, body).await,
        LiveCall::SessionsSend => send(state, caller, body).await,
        LiveCall::SessionsMessages => session_messages(state, caller, body).await,
        LiveCall::SessionsAddParticipants => participants(state, caller, body, true).await,
        LiveCall::SessionsRemoveParticipants => participants(state, caller, body, false).await,
        LiveCall::SessionsWatch => watch(state, caller, body).await,
        LiveCall::PanelsSend => panel_send(state, caller, body).await,
        LiveCall::PanelsMessages => panel_messages(state, caller, body).await,
        LiveCall::GroupsGet => group(state, caller, body).await,
        LiveCall::GroupsJoinByInvite => join(state, caller, body).await,
    }
}

// ---- reading bodies ------------------------------------------------------------------------

/// A body whose fields are all optional: an empty body is `{}`.
fn optional_body<T: DeserializeOwned + Default>(body: &[u8]) -> AppResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        input::json_body(body)
    }
}

/// A required id field: not empty.
fn id(field: &str, value: String) -> AppResult<String> {
    if value.is_empty() {
        return Err(ApiError::bad_request(format!(
            "The field {field} is empty; pass the id it names."
        ))
        .into());
    }
    Ok(value)
}

/// An optional id field: absent, or not empty.
fn optional_id(field: &str, value: Option<String>) -> AppResult<Option<String>> {
    value.map(|v| id(field, v)).transpose()
}

/// A `limit`: absent means `default`; otherwise 1 to `max`.
fn limit(value: Option<u32>, default: u32, max: u32) -> AppResult<u32> {
    match value {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(format!(
            "The field limit must be a whole number from 1 to {max}, not {n}."
        ))
        .into()),
    }
}

/// Who a participant entry names.
enum Who {
    Id(String),
    UniqueName(String),
    Email(String),
}

/// Reads a participant entry: by `id`, else `uniqueName`, else `email` (400 when
/// it names nobody). `type` is not checked against the user: ids are unique
/// across agents and people.
fn who(position: usize, participant: &Participant) -> AppResult<Who> {
    let given = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    if let Some(id) = given(&participant.id) {
        Ok(Who::Id(id))
    } else if let Some(name) = given(&participant.unique_name) {
        Ok(Who::UniqueName(name))
    } else if let Some(email) = given(&participant.email) {
        Ok(Who::Email(input::email(&email)?))
    } else {
        Err(ApiError::bad_request(format!(
            "Participant {} names nobody: give its id, its uniqueName (an agent's username) \
             or a person's email.",
            position + 1
        ))
        .into())
    }
}

fn whos(participants: &[Participant]) -> AppResult<Vec<Who>> {
    participants
        .iter()
        .enumerate()
        .map(|(i, p)| who(i, p))
        .collect()
}

/// The user ids of participant entries. Ids pass as they are (the session
/// logic answers 404 for unknown ones); names and emails must match a user.
fn resolve(conn: &Connection, workspace_id: &str, whos: Vec<Who>) -> AppResult<Vec<String>> {
    let mut ids = Vec::with_capacity(whos.len());
    for who in whos {
        let id = match who {
            Who::Id(id) => id,
            Who::UniqueName(name) => conn
                .query_row(
                    "SELECT id FROM users WHERE workspace_id = ?1 AND username = ?2 COLLATE NOCASE",
                    params![workspace_id, name],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "Nobody has the uniqueName {name:?} in this workspace. Check the \
                         username, or name the participant by id."
                    ))
                })?,
            Who::Email(email) => conn
                .query_row("SELECT id FROM users WHERE email = ?1", [&email], |r| {
                    r.get(0)
                })
                .optional()?
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "Nobody with the email {email} is known here. Bind them first \
                         (agents/bind), or name the participant by id."
                    ))
                })?,
        };
        ids.push(id);
    }
    Ok(ids)
}

/// Session metadata: `title` becomes the session's title (a string of at most
/// 200 characters); the rest is kept as it is, at most 8 KiB as JSON.
fn metadata(raw: Option<Map<String, Value>>) -> AppResult<(String, Map<String, Value>)> {
    let mut metadata = raw.unwrap_or_default();
    let title = match metadata.remove("title") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(title)) => input::title(Some(title))?,
        Some(_) => {
            return Err(ApiError::bad_request(
                "The field metadata.title must be a string: the session's title.",
            )
            .into());
        }
    };
    let size = serde_json::to_vec(&metadata).map_or(usize::MAX, |v| v.len());
    if size > META_MAX_BYTES {
        return Err(ApiError::bad_request(format!(
            "The metadata object takes {size} bytes as JSON; at most {META_MAX_BYTES} are allowed."
        ))
        .into());
    }
    Ok((title, metadata))
}

fn visibility(raw: Option<String>) -> AppResult<String> {
    match raw {
        None => Ok(DEFAULT_VISIBILITY.to_owned()),
        Some(v) if VISIBILITIES.contains(&v.as_str()) => Ok(v),
        Some(v) => Err(ApiError::bad_request(format!(
            "The visibility must be private or public, not {v:?}."
        ))
        .into()),
    }
}

/// A page as the live dialect answers it: newest first, and the cursor of the
/// next older page.
fn newest_first(page: MessagePage) -> (Vec<mochat_api::Message>, Option<String>) {
    let mut messages = page.messages;
    messages.reverse();
    (messages, page.cursor)
}

fn before(value: Option<String>) -> AppResult<Option<String>> {
    optional_id("beforeMessageId", value)
}

// ---- agents ----------------------------------------------------------------------------------

/// `agents/selfRegister` (no token): a new agent in the default workspace. Its
/// username is `metadata.username` when given (taken is a 409), otherwise
/// derived from its name; other metadata is not kept.
pub async fn self_register(state: &AppState, body: &[u8]) -> AppResult<Response> {
    let request: SelfRegisterBody = optional_body(body)?;
    let name = match request.name.as_deref().map(str::trim) {
        None | Some("") => "Agent".to_owned(),
        Some(name) => input::short_text("name", name, 100)?,
    };
    let avatar = accounts::avatar(request.avatar)?;
    let username = match request.metadata.as_ref().and_then(|m| m.get("username")) {
        None | Some(Value::Null) => NewUsername::FromName,
        Some(Value::String(raw)) => NewUsername::Given(accounts::username(raw)?),
        Some(_) => {
            return Err(
                ApiError::bad_request("The field metadata.username must be a string.").into(),
            );
        }
    };
    let registered = state
        .db
        .transact(move |conn| {
            accounts::register_agent(conn, &name, username, avatar.as_deref(), time::now_ms())
        })
        .await?;
    let group_id = registered
        .group_id
        .ok_or_else(|| AppError::internal("the default workspace has no group"))?;
    live_ok(&SelfRegisterData {
        token: registered.token,
        bot_user_id: registered.agent_id.clone(),
        agent_id: Some(registered.agent_id),
        workspace_id: registered.workspace_id,
        group_id,
    })
}

/// `agents/bind`: finds or creates the person and the direct session, which
/// opens with `greeting_msg` (posted only when the session is new).
async fn bind(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: BindBody = input::json_body(body)?;
    let email = input::email(&request.email)?;
    if request.greeting_msg.trim().is_empty() {
        return Err(ApiError::bad_request(
            "The greeting_msg is empty; write the first message of the session.",
        )
        .into());
    }
    let greeting = input::content(&request.greeting_msg)?;
    let bound = accounts::bind_and_notify(state, caller, email, Some(greeting)).await?;
    live_ok(&BindData {
        success: true,
        owner_user_id: bound.owner_user_id.unwrap_or_default(),
        converse_id: bound.session_id.clone(),
        session_id: bound.session_id,
    })
}

// ---- sessions --------------------------------------------------------------------------------

/// `sessions/create`.
async fn create(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: CreateSessionBody = input::json_body(body)?;
    let whos = whos(&request.participants)?;
    let visibility = visibility(request.visibility)?;
    let (title, metadata) = metadata(request.metadata)?;
    let caller = caller.clone();
    let (session, extras) = state
        .db
        .transact(move |conn| {
            let ids = resolve(conn, &caller.workspace_id, whos)?;
            let session = sessions::create_session(conn, &caller, &ids, &title, time::now_ms())?;
            let extras = SessionExtras {
                visibility,
                metadata,
            };
            db::set_session_extras(conn, &session.session_id, &extras)?;
            Ok((session, extras))
        })
        .await?;
    live_ok(&live_shapes::session(&session, &extras))
}

/// `sessions/get`.
async fn get(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: SessionIdBody = input::json_body(body)?;
    let session_id = id("sessionId", request.session_id)?;
    let user = caller.user_id.clone();
    let (session, extras) = state
        .db
        .call(move |conn| {
            let session = db::session_for(conn, &session_id, &user)?;
            Ok((session, db::session_extras(conn, &session_id)?))
        })
        .await?;
    live_ok(&live_shapes::session(&session, &extras))
}

/// `sessions/detail`.
async fn detail(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: SessionIdBody = input::json_body(body)?;
    let session_id = id("sessionId", request.session_id)?;
    let user = caller.user_id.clone();
    let (detail, extras) = state
        .db
        .call(move |conn| {
            let detail = sessions::load_detail(conn, &session_id, &user)?;
            Ok((detail, db::session_extras(conn, &session_id)?))
        })
        .await?;
    live_ok(&live_shapes::detail(&detail, &extras))
}

/// `sessions/close`: every policy closes the session and keeps its history.
async fn close(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: CloseSessionBody = input::json_body(body)?;
    let session_id = id("sessionId", request.session_id)?;
    if let Some(policy) = request
        .policy
        .filter(|p| !CLOSE_POLICIES.contains(&p.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "The policy must be archive, lock or cleanup, not {policy:?}."
        ))
        .into());
    }
    let session = sessions::close_and_notify(state, caller, session_id).await?;
    live_ok(&CloseSessionData {
        session_id: session.session_id,
        status: session.status.into(),
    })
}

/// `sessions/list`: the caller's sessions updated after `updatedAfter`, newest
/// activity first.
async fn list(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: ListSessionsBody = optional_body(body)?;
    let limit = limit(request.limit, SESSION_LIST_DEFAULT, SESSION_LIST_MAX)?;
    let after = match request.updated_after {
        None => None,
        Some(raw) => Some(time::parse_rfc3339(&raw).ok_or_else(|| {
            ApiError::bad_request(format!(
                "The updatedAfter {raw:?} is not a date and time; use ISO 8601 such as \
                 2026-11-29T07:14:43.123Z (an updatedAt of a session)."
            ))
        })?),
    };
    let user = caller.user_id.clone();
    let sessions = state
        .db
        .call(move |conn| {
            let mut sessions = Vec::new();
            for id in db::sessions_updated_after(conn, &user, after, limit)? {
                if let Some(session) = db::session(conn, &id)? {
                    let extras = db::session_extras(conn, &id)?;
                    sessions.push(live_shapes::session(&session, &extras));
                }
            }
            Ok(sessions)
        })
        .await?;
    live_ok(&SessionListData { sessions })
}

/// `sessions/send`: the live dialect has no `meta`; the message's meta is `{}`.
async fn send(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: SendBody = input::json_body(body)?;
    let session_id = id("sessionId", request.session_id)?;
    let content = input::content(&request.content)?;
    let message = messages::send_answered(state, caller, &session_id, content, Map::new()).await?;
    live_ok(&SendData {
        session_id,
        status: None,
        message: Some(live_shapes::message(&message, None)),
    })
}

/// `sessions/messages`: newest first.
async fn session_messages(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: MessagesBody = input::json_body(body)?;
    let session_id = id("sessionId", request.session_id)?;
    let limit = limit(request.limit, PAGE_DEFAULT, PAGE_MAX)?;
    let before = before(request.before_message_id)?;
    let page = messages::session_page(state, caller, session_id.clone(), limit, before).await?;
    let (messages, next_cursor) = newest_first(page);
    live_ok(&MessagesData {
        session_id,
        messages: messages
            .iter()
            .map(|m| live_shapes::message(m, None))
            .collect(),
        next_cursor,
    })
}

/// `sessions/addParticipants` and `sessions/removeParticipants`.
async fn participants(
    state: &AppState,
    caller: &Caller,
    body: &[u8],
    add: bool,
) -> AppResult<Response> {
    let request: ParticipantsBody = input::json_body(body)?;
    let session_id = id("sessionId", request.session_id)?;
    let whos = whos(&request.participants)?;
    let workspace_id = caller.workspace_id.clone();
    let session = sessions::change_and_notify(state, caller, session_id, add, move |conn| {
        resolve(conn, &workspace_id, whos)
    })
    .await?;
    live_ok(&ParticipantsData {
        session_id: session.session_id,
        participants: session.participants,
        status: (!add).then(|| session.status.into()),
    })
}

/// `sessions/watch`: the reference's long poll, with live payloads.
async fn watch(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: WatchBody = input::json_body(body)?;
    let session_id = id("sessionId", request.session_id)?;
    let timeout_ms = request.timeout_ms.unwrap_or(WATCH_TIMEOUT_DEFAULT_MS);
    if timeout_ms > WATCH_TIMEOUT_MAX_MS {
        return Err(ApiError::bad_request(format!(
            "The field timeoutMs must be a whole number from 0 to {WATCH_TIMEOUT_MAX_MS}, \
             not {timeout_ms}."
        ))
        .into());
    }
    let limit = limit(request.limit, WATCH_LIMIT_DEFAULT, WATCH_LIMIT_MAX)?;
    let cursor = request.cursor.unwrap_or(0);
    if i64::try_from(cursor).is_err() {
        return Err(ApiError::bad_request(format!(
            "The field cursor must be a whole number from 0 to {}, not {cursor}.",
            i64::MAX
        ))
        .into());
    }
    let answer = watch::wait_events(state, caller, session_id, timeout_ms, limit, cursor).await?;
    let extras = if answer
        .events
        .iter()
        .any(|e| e.kind == EventType::SessionUpdate)
    {
        let sid = answer.session_id.clone();
        state
            .db
            .call(move |conn| Ok(db::session_extras(conn, &sid)?))
            .await?
    } else {
        SessionExtras::default()
    };
    live_ok(&WatchData {
        session_id: answer.session_id,
        cursor: answer.cursor,
        events: answer
            .events
            .into_iter()
            .map(|e| live_shapes::event(e, &extras))
            .collect(),
    })
}

// ---- groups and panels -----------------------------------------------------------------------

/// `groups/panels/send`: no `meta`, as for sessions.
async fn panel_send(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: PanelSendBody = input::json_body(body)?;
    let panel_id = id("panelId", request.panel_id)?;
    let group = optional_id("groupId", request.group_id)?;
    let content = input::content(&request.content)?;
    let (group_id, message) =
        messages::post_panel(state, caller, panel_id.clone(), group, content, Map::new()).await?;
    live_ok(&PanelSendData {
        message: live_shapes::message(&message, Some(&group_id)),
        group_id,
        panel_id,
    })
}

/// `groups/panels/messages`: newest first.
async fn panel_messages(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: PanelMessagesBody = input::json_body(body)?;
    let panel_id = id("panelId", request.panel_id)?;
    let group = optional_id("groupId", request.group_id)?;
    let limit = limit(request.limit, PAGE_DEFAULT, PAGE_MAX)?;
    let before = before(request.before_message_id)?;
    let (group_id, page) =
        messages::panel_page(state, caller, panel_id.clone(), group, limit, before).await?;
    let (messages, next_cursor) = newest_first(page);
    live_ok(&PanelMessagesData {
        messages: messages
            .iter()
            .map(|m| live_shapes::message(m, Some(&group_id)))
            .collect(),
        group_id: Some(group_id),
        panel_id: Some(panel_id),
        next_cursor,
    })
}

/// `groups/get`: a group the caller belongs to, by default its workspace's.
async fn group(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: GroupBody = optional_body(body)?;
    let group_id = optional_id("groupId", request.group_id)?;
    let group = groups::group_for(state, caller, group_id).await?;
    live_ok(&live_shapes::group(&group))
}

/// `groups/joinByInvite`.
async fn join(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: JoinBody = input::json_body(body)?;
    let (group_id, workspace_id) = groups::join_code(state, caller, "code", request.code).await?;
    live_ok(&JoinData {
        group_id,
        workspace_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mochat_api::UserType;

    #[test]
    fn participant_entries() {
        let by = |json: Value| -> AppResult<Who> {
            who(0, &serde_json::from_value(json).expect("a participant"))
        };
        assert!(
            matches!(by(serde_json::json!({"type": "agent", "id": "agent_1"})), Ok(Who::Id(id)) if id == "agent_1")
        );
        assert!(matches!(
            by(serde_json::json!({"type": "agent", "id": " ", "uniqueName": "helper"})),
            Ok(Who::UniqueName(n)) if n == "helper"
        ));
        assert!(matches!(
            by(serde_json::json!({"type": "user", "email": "Ada@Example.com"})),
            Ok(Who::Email(e)) if e == "ada@example.com"
        ));
        for bad in [
            serde_json::json!({"type": "user", "name": "Ada"}),
            serde_json::json!({"type": "user", "email": "not an email"}),
        ] {
            assert_eq!(by(bad).err().map(|e| e.error.status()), Some(400));
        }
        let p = Participant::by_id(UserType::User, "");
        assert!(who(3, &p).is_err_and(|e| e.error.message.contains("Participant 4")));
    }

    #[test]
    fn fields() {
        assert_eq!(limit(None, 50, 100).ok(), Some(50));
        assert_eq!(limit(Some(100), 50, 100).ok(), Some(100));
        assert!(limit(Some(0), 50, 100).is_err() && limit(Some(101), 50, 100).is_err());
        assert!(id("sessionId", String::new()).is_err());
        assert_eq!(optional_id("groupId", None).ok(), Some(None));
        assert_eq!(visibility(None).ok().as_deref(), Some("private"));
        assert!(visibility(Some("secret".into())).is_err());
        let mut raw = Map::new();
        raw.insert("title".into(), Value::from("Plan"));
        raw.insert("topic".into(), Value::from("launch"));
        let (title, rest) = metadata(Some(raw)).expect("valid");
        assert_eq!((title.as_str(), rest.len()), ("Plan", 1));
        let mut bad = Map::new();
        bad.insert("title".into(), Value::from(5));
        assert!(metadata(Some(bad)).is_err());
        let mut long = Map::new();
        long.insert("title".into(), Value::from("t".repeat(201)));
        assert!(metadata(Some(long)).is_err());
        let mut big = Map::new();
        big.insert("blob".into(), Value::from("x".repeat(META_MAX_BYTES)));
        assert!(metadata(Some(big)).is_err());
        assert!(optional_body::<ListSessionsBody>(b" ").is_ok());
        assert!(optional_body::<ListSessionsBody>(b"[]").is_err());
    }
}
