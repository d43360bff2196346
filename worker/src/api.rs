//! Handlers of the API calls and the live watch: each goes, in one round
//! trip, to the hub of the agent it speaks for (`X-MoChat-Agent`, absent:
//! the default agent), which holds the token and does everything upstream.
//! Registration, which has no agent yet, goes upstream from here and leaves
//! the new agent's token in that agent's hub.

use mochat_api::edge::{AGENTS_PATH, EdgeWatchRequest, RegisteredAgent};
use mochat_api::limits::{AGENT_HEADER, is_claw_token};
use mochat_api::requests::{RegisterRequest, RegisterResponse};
use mochat_api::routes::is_valid_id;
use mochat_api::{ApiError, ErrorCode, Route};
use worker::{Env, Request, Response};

use crate::config::{self, CLAW_TOKEN, DefaultAgent};
use crate::guard::Caller;
use crate::hub::protocol::{self, HubCall, Op};
use crate::respond::{self, Flow, Halt};
use crate::upstream::{Extra, Upstream};
use crate::vault::{self, VaultAgent};
use crate::visitor_token::Visitor;
use crate::widget;

/// The agent a dashboard request speaks for: `X-MoChat-Agent`, or the
/// default agent. Whether the worker holds its token, its hub says (404).
pub fn agent_id(req: &Request, env: &Env) -> Flow<String> {
    let named = req
        .headers()
        .get(AGENT_HEADER)?
        .map(|v| v.trim().to_owned());
    match named {
        None if config::string(env, CLAW_TOKEN).is_some() => {
            Ok(DefaultAgent::from_env(env).agent_id)
        }
        None => Err(ApiError::not_found(
            "No default agent is configured (the worker has no CLAW_TOKEN). \
             Pick an agent with the X-MoChat-Agent header, or register one.",
        )
        .into()),
        Some(id) if is_valid_id(&id) => Ok(id),
        Some(_) => Err(ApiError::not_found(format!(
            "Unknown agent: the worker holds no token for the agent named in {AGENT_HEADER}. \
             Pick one listed by GET {AGENTS_PATH}."
        ))
        .into()),
    }
}

fn text(body: Option<Vec<u8>>) -> Flow<Option<String>> {
    body.map(String::from_utf8)
        .transpose()
        .map_err(|_| ApiError::bad_request("The request body is not valid UTF-8 JSON.").into())
}

/// Any API call but registration, from the dashboard or a widget visitor
/// (a visitor's goes to their site's agent).
pub async fn forward(
    req: &Request,
    env: &Env,
    caller: &Caller,
    route: &Route,
    body: Option<Vec<u8>>,
) -> Flow<Response> {
    let (agent, hub_caller) = match caller {
        Caller::Visitor(v) => {
            let (agent, visitor) = widget::visitor_ref(env, v)?;
            (agent, crate::hub::protocol::Caller::Visitor(visitor))
        }
        _ => (agent_id(req, env)?, caller.for_hub(env)?),
    };
    let url = req.url()?;
    let call = HubCall {
        agent,
        caller: Some(hub_caller),
        op: Op::Api {
            method: route.method().as_str().to_owned(),
            path: url.path().to_owned(),
            query: url.query().unwrap_or_default().to_owned(),
            body: text(body)?,
        },
    };
    protocol::ask(env, &call).await
}

/// `POST /edge/watch`: the dashboard's one long poll, answered by the hub.
pub async fn edge_watch(
    req: &Request,
    env: &Env,
    caller: &Caller,
    body: Option<Vec<u8>>,
) -> Flow<Response> {
    let request: EdgeWatchRequest = serde_json::from_slice(body.as_deref().unwrap_or(b"{}"))
        .map_err(|e| {
            ApiError::bad_request(format!(
                "Send {{\"sessions\": {{\"<sessionId>\": <cursor>}}, \"list\": <cursor or null>, \
                 \"timeout\": <ms>}}: {e}."
            ))
        })?;
    let call = HubCall {
        agent: agent_id(req, env)?,
        caller: Some(caller.for_hub(env)?),
        op: Op::EdgeWatch { request },
    };
    protocol::ask(env, &call).await
}

/// `GET /edge/visitors?site=…&id=…`: a widget visitor's details, for an
/// operator acting as the agent of the visitor's site (any other agent:
/// 404, the visitor is not theirs to see).
pub async fn visitor_details(req: &Request, env: &Env, caller: &Caller) -> Flow<Response> {
    let url = req.url()?;
    let (site, id) = mochat_api::edge::visitor_query(url.query())?;
    let agent = agent_id(req, env)?;
    let (site_agent, visitor) = widget::visitor_ref(
        env,
        &Visitor {
            site,
            id,
            expires: 0,
        },
    )?;
    if site_agent != agent {
        return Err(ApiError::not_found(
            "No visitor of this agent's widget sites has that id. Act as the site's agent.",
        )
        .into());
    }
    let call = HubCall {
        agent,
        caller: Some(caller.for_hub(env)?),
        op: Op::VisitorDetails { visitor },
    };
    protocol::ask(env, &call).await
}

/// `POST /api/claw/register`: registers upstream, keeps the token in the
/// new agent's hub and lists the agent, answers `{agentId, botUserId,
/// workspaceId}`. No budget, no rate-limit headers.
pub async fn register(env: &Env, body: Option<Vec<u8>>) -> Flow<Response> {
    let upstream = Upstream::from_env(env)?;
    let asked: Option<RegisterRequest> =
        body.as_deref().and_then(|b| serde_json::from_slice(b).ok());
    let reply = upstream
        .call(None, &Route::Register, body.as_deref(), &Extra::default())
        .await?;
    if reply.status != 201 {
        return Ok(respond::json_text(reply.status, reply.body, &[])?);
    }
    let odd = || -> Halt {
        ApiError::new(
            ErrorCode::UpstreamUnavailable,
            "The MoChat API answered the registration in an unexpected form. \
             Check that UPSTREAM_URL points at a MoChat API.",
        )
        .into()
    };
    let registered: RegisterResponse = serde_json::from_str(&reply.body).map_err(|_| odd())?;
    if !is_claw_token(&registered.claw_token) || !is_valid_id(&registered.bot_user_id) {
        return Err(odd());
    }
    let (name, username) = asked.map(|a| (a.name, a.username)).unwrap_or_default();
    let keep = HubCall {
        agent: registered.bot_user_id.clone(),
        caller: None,
        op: Op::KeepAgent {
            token: registered.claw_token,
            name: name.clone(),
            username: username.clone(),
        },
    };
    let kept = protocol::ask(env, &keep).await?;
    if kept.status_code() != 204 {
        return Err(ApiError::new(
            ErrorCode::Internal,
            "The worker could not keep the new agent's token. Try registering again.",
        )
        .into());
    }
    vault::store(
        env,
        VaultAgent {
            agent_id: registered.bot_user_id.clone(),
            name,
            username,
            workspace_id: registered.workspace_id.clone(),
        },
    )
    .await?;
    let answer = RegisteredAgent {
        agent_id: registered.bot_user_id.clone(),
        bot_user_id: registered.bot_user_id,
        workspace_id: registered.workspace_id,
    };
    Ok(respond::json(201, &answer, &[])?)
}
