//! Handlers of the worker's own routes: `/edge/session`, `/edge/agents`, `/edge/health`.

use mochat_api::edge::{
    AgentList, EdgeAgent, Health, SESSION_TTL_SECS, SHARED_SIGN_IN_FAILURES,
    SHARED_SIGN_IN_WINDOW_SECS, SignInRequest, SignInStatus, UpstreamState,
};
use mochat_api::{ApiError, ErrorCode};
use worker::{Env, Request, Response};

use crate::config::{self, CLAW_TOKEN, DefaultAgent};
use crate::guard::{self, Caller};
use crate::hub::protocol::{self, HubCall, Op};
use crate::keys::{self, Keys};
use crate::limiter::{self, Attempt};
use crate::respond::{self, Flow, Halt};
use crate::revocation::{self, Change};
use crate::upstream::{self, Spoken, Upstream};
use crate::{session, vault};

/// The sign-in throttle every address shares (no address looks like it).
const SHARED_SIGN_IN_KEY: &str = "sign-in:everyone";

/// `POST /edge/session {password}`: 204 with the session cookie; 401 for a
/// wrong password; 429 after too many failures from this address (an IPv6
/// address counts as its /64), or from all addresses together.
pub async fn sign_in(req: &Request, env: &Env, body: Option<Vec<u8>>) -> Flow<Response> {
    let password = keys::password(env)?;
    let keys = Keys::from_env(env)?;
    let given: Option<SignInRequest> = body.and_then(|b| serde_json::from_slice(&b).ok());
    let attempt = match &given {
        None => Attempt::Check,
        Some(g) if session::password_matches(&g.password, &password) => Attempt::Success,
        Some(_) => Attempt::Failure,
    };
    // The budget every address shares first: while it is spent, nothing
    // else is asked (not even whether the password was right).
    let shared = |failed| Attempt::Shared {
        limit: SHARED_SIGN_IN_FAILURES,
        window_secs: SHARED_SIGN_IN_WINDOW_SECS,
        failed,
    };
    let everyone = limiter::throttle(env, SHARED_SIGN_IN_KEY, shared(false)).await?;
    if everyone.blocked {
        return Err(Halt::with_headers(
            ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "Too many failed sign-ins to this dashboard lately, from many addresses: \
                     sign-in is paused. Try again in {} minutes; if this is an attack, \
                     change DASHBOARD_PASSWORD.",
                    everyone.retry_after.div_ceil(60)
                ),
            ),
            vec![("Retry-After", everyone.retry_after.to_string())],
        ));
    }
    let verdict = limiter::throttle(env, &guard::client_address(req), attempt).await?;
    if attempt == Attempt::Failure && !verdict.blocked {
        limiter::throttle(env, SHARED_SIGN_IN_KEY, shared(true)).await?;
    }
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
        Attempt::Check | Attempt::Admit { .. } | Attempt::Shared { .. } => {
            Err(ApiError::bad_request(r#"Send the password as JSON: {"password": "…"}."#).into())
        }
        Attempt::Failure => Err(ApiError::unauthorized("Wrong password. Try again.").into()),
        Attempt::Success => {
            let expires = guard::now_secs() + SESSION_TTL_SECS;
            let nonce = guard::random_hex()?;
            let cookie = session::set_cookie(&session::sign(&keys.cookie, expires, &nonce));
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

/// `DELETE /edge/session`: this session ends (its cookie no longer counts,
/// wherever it was copied) and the cookie is cleared; `DELETE /edge/sessions`
/// (`everywhere`): every session that began by now ends.
pub async fn sign_out(env: &Env, caller: &Caller, everywhere: bool) -> Flow<Response> {
    let change = match caller {
        _ if everywhere => Change::Everywhere,
        Caller::Operator(signed) => Change::Revoke {
            id: signed.id.clone(),
            expires: signed.end,
        },
        _ => return Err(ApiError::unauthorized("Sign in first.").into()),
    };
    revocation::change(env, &change, limiter::now_ms()).await?;
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

/// How long this isolate answers `/edge/health` from its last finding: the
/// route is public, so it must not be a way to make the worker call the
/// upstream as fast as anyone likes.
const HEALTH_CACHE_MS: u64 = 5_000;

thread_local! {
    /// The last finding of `/edge/health` in this isolate, and when (Unix ms).
    static LAST_HEALTH: std::cell::RefCell<Option<(u64, Health)>> =
        const { std::cell::RefCell::new(None) };
}

/// `GET /edge/health`: always 200. `reachable` only when the upstream
/// answers in the configured dialect and, with a default agent, takes its
/// token; otherwise which of those fails, and what to change (nothing
/// secret). A finding is reused for [`HEALTH_CACHE_MS`].
pub async fn health(env: &Env) -> Flow<Response> {
    let now = limiter::now_ms();
    let cached = LAST_HEALTH.with_borrow(|last| {
        last.as_ref()
            .filter(|(at, _)| now.saturating_sub(*at) < HEALTH_CACHE_MS)
            .map(|(_, h)| h.clone())
    });
    let health = match cached {
        Some(health) => health,
        None => {
            let health = find_health(env).await?;
            LAST_HEALTH.set(Some((now, health.clone())));
            health
        }
    };
    Ok(respond::json(200, &health, &[])?)
}

/// What `/edge/health` says, found now.
async fn find_health(env: &Env) -> Flow<Health> {
    Ok(match Upstream::from_env(env) {
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
    })
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
