//! Groups and their panels: `GET /claw/workspace/group` and `POST /claw/groups/join`.

use axum::http::StatusCode;
use axum::response::Response;
use mochat_api::ApiError;
use mochat_api::requests::{JoinRequest, JoinResponse};
use mochat_api::{Group, Panel};
use rusqlite::{Connection, OptionalExtension};

use crate::accounts::Caller;
use crate::db;
use crate::error::{AppResult, json};
use crate::{AppState, input};

/// A group with its members, panels and invite code.
pub fn group(conn: &Connection, group_id: &str) -> AppResult<Group> {
    let (workspace_id, name, invite_code) = conn
        .query_row(
            "SELECT workspace_id, name, invite_code FROM chat_groups WHERE id = ?1",
            [group_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)),
        )
        .optional()?
        .ok_or_else(|| ApiError::not_found(format!("Group {group_id} does not exist.")))?;
    let mut stmt = conn.prepare("SELECT id, name FROM panels WHERE group_id = ?1 ORDER BY pos")?;
    let panels = stmt
        .query_map([group_id], |r| {
            Ok(Panel {
                panel_id: r.get(0)?,
                name: r.get(1)?,
                kind: "text".into(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Group {
        group_id: group_id.to_owned(),
        workspace_id,
        name,
        members: db::group_members(conn, group_id)?,
        panels,
        invite_code: Some(invite_code),
    })
}

/// The group `group_id` (404 when unknown, 403 when the caller is not a member),
/// or without one the group of the caller's workspace.
pub async fn group_for(
    state: &AppState,
    caller: &Caller,
    group_id: Option<String>,
) -> AppResult<Group> {
    let (workspace_id, user) = (caller.workspace_id.clone(), caller.user_id.clone());
    state
        .db
        .call(move |conn| {
            let Some(group_id) = group_id else {
                let group_id = db::workspace_group(conn, &workspace_id)?.ok_or_else(|| {
                    ApiError::not_found(format!("Workspace {workspace_id} has no group."))
                })?;
                return group(conn, &group_id);
            };
            let found = group(conn, &group_id)?;
            if !found.members.iter().any(|m| m.user_id == user) {
                return Err(ApiError::forbidden(format!(
                    "You are not a member of group {group_id}. Join it with its invite code first."
                ))
                .into());
            }
            Ok(found)
        })
        .await
}

/// `GET /claw/workspace/group`: the group of the caller's workspace.
pub async fn workspace_group(state: &AppState, caller: &Caller) -> AppResult<Response> {
    let group = group_for(state, caller, None).await?;
    json(StatusCode::OK, &group)
}

/// Joins the group of an invite code (a member joining is a no-op); `field` names
/// the code in messages. Returns the group id and its workspace id.
pub async fn join_code(
    state: &AppState,
    caller: &Caller,
    field: &str,
    raw: String,
) -> AppResult<(String, String)> {
    let code = raw.trim().to_uppercase();
    if code.is_empty() {
        return Err(ApiError::bad_request(format!(
            "The {field} is empty. Paste the code you were given."
        ))
        .into());
    }
    let user = caller.user_id.clone();
    state
        .db
        .call(move |conn| {
            let (group_id, workspace_id): (String, String) = conn
                .query_row(
                    "SELECT id, workspace_id FROM chat_groups WHERE invite_code = ?1",
                    [&code],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "No group has the invite code {raw:?}. Check the code with whoever sent it."
                    ))
                })?;
            db::add_group_member(conn, &group_id, &user)?;
            Ok((group_id, workspace_id))
        })
        .await
}

/// `POST /claw/groups/join`: joins the group of an invite code.
pub async fn join(state: &AppState, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    let request: JoinRequest = input::json_body(body)?;
    let (group_id, _) = join_code(state, caller, "inviteCode", request.invite_code).await?;
    json(
        StatusCode::OK,
        &JoinResponse {
            success: true,
            group_id,
        },
    )
}
