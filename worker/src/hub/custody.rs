//! The agent's token, kept by its own hub: the default agent's comes from
//! the `CLAW_TOKEN` secret, a registered agent's from the hub's storage.
//! Agents registered before tokens moved into their hubs still have theirs
//! in the shared vault: the first call moves it here and clears it there.

use std::rc::Rc;

use mochat_api::edge::AGENTS_PATH;
use mochat_api::{ApiError, ErrorCode};
use worker::Response;

use super::Hub;
use super::store::StoredAgent;
use crate::config::{self, CLAW_TOKEN, DefaultAgent};
use crate::respond::{self, Halt};
use crate::vault;

/// Loads the agent's token into memory (once); 404 when the worker holds none.
pub async fn load(hub: &Rc<Hub>, agent_id: &str) -> Result<(), Halt> {
    if hub.core.borrow().agent.is_some() {
        return Ok(());
    }
    let Some(agent) = find(hub, agent_id).await? else {
        return Err(ApiError::not_found(format!(
            "Unknown agent: the worker holds no token for this agent. Pick one listed by \
             GET {AGENTS_PATH} (a widget site names its agent in WIDGET_SITES)."
        ))
        .into());
    };
    hub.core.borrow_mut().agent = Some(agent);
    Ok(())
}

async fn find(hub: &Hub, agent_id: &str) -> Result<Option<StoredAgent>, Halt> {
    let default = DefaultAgent::from_env(&hub.env);
    if agent_id == default.agent_id
        && let Some(token) = config::string(&hub.env, CLAW_TOKEN)
    {
        return Ok(Some(StoredAgent {
            id: default.agent_id,
            token,
            name: default.name,
            username: default.username,
        }));
    }
    if let Some(agent) = hub.store.agent()?.filter(|a| a.id == agent_id) {
        return Ok(Some(agent));
    }
    let Some(legacy) = vault::legacy_agent(&hub.env, agent_id).await? else {
        return Ok(None);
    };
    hub.store.keep_agent(&legacy)?;
    vault::forget_token(&hub.env, agent_id).await?;
    Ok(Some(legacy))
}

/// Keeps the token of an agent the worker just registered (written before answering).
pub fn keep(
    hub: &Rc<Hub>,
    agent_id: &str,
    token: String,
    name: String,
    username: String,
) -> Result<Response, Halt> {
    if !mochat_api::limits::is_claw_token(&token) {
        return Err(ApiError::new(ErrorCode::Internal, "Not a claw token.").into());
    }
    let agent = StoredAgent {
        id: agent_id.to_owned(),
        token,
        name,
        username,
    };
    hub.store.keep_agent(&agent)?;
    hub.core.borrow_mut().agent = Some(agent);
    Ok(respond::no_content(&[])?)
}
