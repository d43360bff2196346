//! Handlers of the worker's own routes: `/edge/session`, `/edge/agents`, `/edge/health`.

use mochat_api::edge::{
    AgentList, EdgeAgent, Health, SESSION_TTL_SECS, SignInRequest, SignInStatus, UpstreamState,
};
use mochat_api::{ApiError, ErrorCode};
use worker::{Env, Request, Response};

use crate::config::{self, CLAW_TOKEN, DASHBOARD_PASSWORD, DefaultAgent, SESSION_SECRET};
use crate::guard;
use crate::hub::protocol::{self, HubCall, Op};
use crate::limiter::{self, Attempt};
use crate::respond::{self, Flow, Halt};
use crate::upstream::{self, Spoken, Upstream};
use crate::{session, vault};

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
    let verdict = limiter::throttle(env, &guard::client_address(req), attempt).await?;
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
        Attempt::Check | Attempt::Admit { .. } => {
            Err(ApiError::bad_request(r#"Send the password as JSON: {"password": "…"}."#).into())
        }
        Attempt::Failure => Err(ApiError::unauthorized("Wrong password. Try again.").into()),
        Attempt::Success => {
            let expires = guard::now_secs() + SESSION_TTL_SECS;
            let nonce = guard::random_hex()?;
            let cookie = session::set_cookie(&session::sign(&secret, expires, &nonce[..16]));
            Ok(respond::no_content(&[("Set-Cookie", cookie)])?)
        }
    }
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

/// `GET /edge/health`: always 200. `reachable` only when the upstream
/// answers in the configured dialect and, with a default agent, takes its
/// token; otherwise which of those fails, and what to change (nothing secret).
pub async fn health(env: &Env) -> Flow<Response> {
    let health = match Upstream::from_env(env) {
        Err(e) => Health {
            ok: false,
            upstream: UpstreamState::Unreachable,
            reason: Some(e.message),
        },
        Ok(upstream) => match upstream::speaks(&upstream).await {
            Spoken::Nothing => Health {
                ok: false,
                upstream: UpstreamState::Unreachable,
                reason: Some(
                    "The MoChat API does not answer: check UPSTREAM_URL and that it is up."
                        .to_owned(),
                ),
            },
            Spoken::Dialect(d) if d == upstream.dialect => token_health(env).await?,
            Spoken::Dialect(other) => Health {
                ok: false,
                upstream: UpstreamState::WrongDialect,
                reason: Some(format!(
                    "The MoChat API at UPSTREAM_URL speaks the {0} dialect; set \
                     UPSTREAM_DIALECT = \"{0}\".",
                    other.name()
                )),
            },
            Spoken::Neither => Health {
                ok: false,
                upstream: UpstreamState::WrongDialect,
                reason: Some(
                    "Something answers at UPSTREAM_URL, but not as a MoChat API: check the \
                     URL (it ends in /api)."
                        .to_owned(),
                ),
            },
        },
    };
    Ok(respond::json(200, &health, &[])?)
}

/// Whether the upstream takes the default agent's token (asked by its hub,
/// which keeps the finding a minute); with no default agent, nothing to ask.
async fn token_health(env: &Env) -> Flow<Health> {
    let reachable = Health {
        ok: true,
        upstream: UpstreamState::Reachable,
        reason: None,
    };
    if config::string(env, CLAW_TOKEN).is_none() {
        return Ok(reachable);
    }
    let call = HubCall {
        agent: DefaultAgent::from_env(env).agent_id,
        caller: None,
        op: Op::Probe,
    };
    let mut answer = protocol::ask(env, &call).await?;
    Ok(answer.json().await.unwrap_or(reachable))
}
