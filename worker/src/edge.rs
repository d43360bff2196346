//! Handlers of the worker's own routes: `/edge/session`, `/edge/agents`, `/edge/health`.

use mochat_api::edge::{
    AgentList, EdgeAgent, Health, SESSION_TTL_SECS, SignInRequest, SignInStatus, UpstreamState,
};
use mochat_api::{ApiError, ErrorCode};
use worker::{Env, Method, Request, RequestInit, Response};

use crate::config::{self, CLAW_TOKEN, DASHBOARD_PASSWORD, DefaultAgent, SESSION_SECRET};
use crate::guard;
use crate::limiter::{Attempt, Verdict};
use crate::respond::{self, Flow, Halt};
use crate::{proxy, session, vault};

/// `POST /edge/session {password}`: 204 with the session cookie; 401 for a
/// wrong password; 429 after too many failures from this address.
pub async fn sign_in(req: &Request, env: &Env, body: Option<Vec<u8>>) -> Flow<Response> {
    let password = config::required(env, DASHBOARD_PASSWORD)?;
    let secret = config::required(env, SESSION_SECRET)?;
    let given: Option<SignInRequest> = body.and_then(|b| serde_json::from_slice(&b).ok());
    let attempt = match &given {
        None => Attempt::Check,
        Some(g) if session::password_matches(&g.password, &password) => Attempt::Success,
        Some(_) => Attempt::Failure,
    };
    let verdict = throttle(env, &guard::client_address(req), attempt).await?;
    if verdict.blocked {
        return Err(Halt::with_headers(
            ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "Too many failed sign-ins from your address. Wait {} seconds, then try again.",
                    verdict.retry_after
                ),
            ),
            vec![("Retry-After", verdict.retry_after.to_string())],
        ));
    }
    match attempt {
        Attempt::Check => {
            Err(ApiError::bad_request(r#"Send the password as JSON: {"password": "…"}."#).into())
        }
        Attempt::Failure => Err(ApiError::unauthorized("Wrong password. Try again.").into()),
        Attempt::Success => {
            let expires = guard::now_secs() + SESSION_TTL_SECS;
            let cookie = session::set_cookie(&session::sign(&secret, expires));
            Ok(respond::no_content(&[("Set-Cookie", cookie)])?)
        }
    }
}

async fn throttle(env: &Env, address: &str, attempt: Attempt) -> Flow<Verdict> {
    let stub = env
        .durable_object(config::SIGN_IN_THROTTLE)?
        .id_from_name(address)?
        .get_stub()?;
    let body =
        serde_json::to_string(&attempt).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let mut resp = stub
        .fetch_with_request(Request::new_with_init(
            "https://throttle.internal/attempt",
            &init,
        )?)
        .await?;
    Ok(resp.json().await?)
}

/// `GET /edge/session` (session already checked): when it ends.
pub fn session_status(expires: u64) -> Flow<Response> {
    let status = SignInStatus {
        signed_in: true,
        expires_at: session::rfc3339(expires),
    };
    Ok(respond::json(200, &status, &[])?)
}

/// `DELETE /edge/session`: clears the cookie.
pub fn sign_out() -> Flow<Response> {
    Ok(respond::no_content(&[(
        "Set-Cookie",
        session::clear_cookie(),
    )])?)
}

/// `GET /edge/agents`: the default agent (when `CLAW_TOKEN` is set), then
/// every agent registered through the worker.
pub async fn agents(env: &Env) -> Flow<Response> {
    let mut agents = Vec::new();
    let default = DefaultAgent::from_env(env);
    let has_default = config::string(env, CLAW_TOKEN).is_some();
    if has_default {
        agents.push(EdgeAgent {
            agent_id: default.agent_id.clone(),
            name: default.name,
            username: default.username,
            is_default: true,
        });
    }
    for a in vault::list(env).await? {
        if has_default && a.agent_id == default.agent_id {
            continue;
        }
        agents.push(EdgeAgent {
            agent_id: a.agent_id,
            name: a.name,
            username: a.username,
            is_default: false,
        });
    }
    Ok(respond::json(200, &AgentList { agents }, &[])?)
}

/// `GET /edge/health`: always 200; whether the upstream answers, nothing else.
pub async fn health(env: &Env) -> Flow<Response> {
    let reachable = match config::upstream_base(env) {
        Ok(base) => proxy::probe(&base).await,
        Err(_) => false,
    };
    let upstream = if reachable {
        UpstreamState::Reachable
    } else {
        UpstreamState::Unreachable
    };
    Ok(respond::json(
        200,
        &Health {
            ok: reachable,
            upstream,
        },
        &[],
    )?)
}
