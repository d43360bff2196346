//! Handlers of the 16 API calls: pick the agent, spend its budget, forward;
//! and registration, whose token the worker keeps.

use mochat_api::edge::RegisteredAgent;
use mochat_api::limits::{AGENT_HEADER, is_claw_token};
use mochat_api::requests::{RegisterRequest, RegisterResponse};
use mochat_api::routes::is_valid_id;
use mochat_api::{ApiError, ErrorCode, Route};
use worker::{Env, Method, Request, RequestInit, Response};

use crate::config::{self, CLAW_TOKEN, DefaultAgent};
use crate::headers::rate_limit_headers;
use crate::limiter::Decision;
use crate::proxy::{self, Outgoing};
use crate::respond::{self, Flow, Halt};
use crate::vault::{self, StoredAgent, VaultAgent};

fn method(route: &Route) -> Method {
    match route.method() {
        mochat_api::Method::Get => Method::Get,
        mochat_api::Method::Post => Method::Post,
        mochat_api::Method::Delete => Method::Delete,
    }
}

fn outgoing<'a>(
    req: &Request,
    base: &str,
    route: &Route,
    token: Option<&'a str>,
    body: Option<Vec<u8>>,
) -> Flow<Outgoing<'a>> {
    let url = req.url()?;
    let query = url.query();
    let has_body = route.has_body();
    Ok(Outgoing {
        url: proxy::upstream_url(base, route, query),
        method: method(route),
        token,
        content_type: if has_body {
            Some(
                req.headers()
                    .get("Content-Type")?
                    .unwrap_or_else(|| "application/json".to_owned()),
            )
        } else {
            None
        },
        accept: req.headers().get("Accept")?,
        body: if has_body {
            Some(body.unwrap_or_default())
        } else {
            None
        },
        deadline_ms: proxy::deadline_ms(route, query),
        client: Some(req.inner().signal()),
    })
}

/// The agent a request speaks for (`X-MoChat-Agent`, absent: the default) and its token.
async fn agent(req: &Request, env: &Env) -> Flow<(String, String)> {
    let default = DefaultAgent::from_env(env);
    let default_token = config::string(env, CLAW_TOKEN);
    let named = req
        .headers()
        .get(AGENT_HEADER)?
        .map(|v| v.trim().to_owned());
    match named {
        None => match default_token {
            Some(token) => Ok((default.agent_id, token)),
            None => Err(ApiError::not_found(
                "No default agent is configured (the worker has no CLAW_TOKEN). \
                 Pick an agent with the X-MoChat-Agent header, or register one.",
            )
            .into()),
        },
        Some(id) => {
            if let Some(token) = default_token.filter(|_| id == default.agent_id) {
                return Ok((id, token));
            }
            if is_valid_id(&id)
                && let Some(token) = vault::token(env, &id).await?
            {
                return Ok((id, token));
            }
            Err(ApiError::not_found(
                "Unknown agent: the worker holds no token for the agent named in X-MoChat-Agent. \
                 Pick one listed by GET /edge/agents.",
            )
            .into())
        }
    }
}

/// Spends one request of the agent's budget.
async fn admit(env: &Env, agent_id: &str) -> Flow<Decision> {
    let stub = env
        .durable_object(config::AGENT_LIMITER)?
        .id_from_name(agent_id)?
        .get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    let mut resp = stub
        .fetch_with_request(Request::new_with_init(
            "https://limiter.internal/admit",
            &init,
        )?)
        .await?;
    Ok(resp.json().await?)
}

/// Any call but registration: agent (404) → budget (429) → upstream.
pub async fn forward(
    req: &Request,
    env: &Env,
    route: Route,
    body: Option<Vec<u8>>,
) -> Flow<Response> {
    let (agent_id, token) = agent(req, env).await?;
    let decision = admit(env, &agent_id).await?;
    let limits = rate_limit_headers(&decision);
    if !decision.allowed {
        return Err(Halt::with_headers(
            ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "This agent made {} requests in the last minute, its limit. Wait {} seconds.",
                    mochat_api::limits::RATE_LIMIT,
                    decision.retry_after()
                ),
            ),
            limits,
        ));
    }
    let base = config::upstream_base(env)?;
    let out = outgoing(req, &base, &route, Some(&token), body)?;
    match proxy::send(out).await {
        Ok(upstream) => proxy::pass_through(upstream, &limits).await,
        // The request counted; its 502 carries the budget too.
        Err(Halt::Reply { error, mut headers }) => {
            headers.extend(limits);
            Err(Halt::Reply { error, headers })
        }
        Err(fault) => Err(fault),
    }
}

/// `POST /api/claw/register`: registers upstream, keeps the token, answers
/// `{agentId, botUserId, workspaceId}`. No budget, no rate-limit headers.
pub async fn register(req: &Request, env: &Env, body: Option<Vec<u8>>) -> Flow<Response> {
    let base = config::upstream_base(env)?;
    let asked: Option<RegisterRequest> =
        body.as_deref().and_then(|b| serde_json::from_slice(b).ok());
    let out = outgoing(req, &base, &Route::Register, None, body)?;
    let mut upstream = proxy::send(out).await?;
    if upstream.status_code() != 201 {
        return proxy::pass_through(upstream, &[]).await;
    }
    let odd = || -> Halt {
        ApiError::new(
            ErrorCode::UpstreamUnavailable,
            "The MoChat API answered the registration in an unexpected form. \
             Check that UPSTREAM_URL points at a MoChat API.",
        )
        .into()
    };
    let text = upstream.text().await?;
    let registered: RegisterResponse = serde_json::from_str(&text).map_err(|_| odd())?;
    if !is_claw_token(&registered.claw_token) || !is_valid_id(&registered.bot_user_id) {
        return Err(odd());
    }
    let (name, username) = asked.map(|a| (a.name, a.username)).unwrap_or_default();
    let answer = RegisteredAgent {
        agent_id: registered.bot_user_id.clone(),
        bot_user_id: registered.bot_user_id.clone(),
        workspace_id: registered.workspace_id.clone(),
    };
    vault::store(
        env,
        StoredAgent {
            agent: VaultAgent {
                agent_id: registered.bot_user_id,
                name,
                username,
                workspace_id: registered.workspace_id,
            },
            token: registered.claw_token,
        },
    )
    .await?;
    Ok(respond::json(201, &answer, &[])?)
}
