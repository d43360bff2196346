//! Handlers of the 16 API calls: pick the agent, spend its budget, forward;
//! and registration, whose token the worker keeps.

use std::time::Duration;

use futures::channel::oneshot;
use mochat_api::edge::RegisteredAgent;
use mochat_api::limits::{AGENT_HEADER, is_claw_token};
use mochat_api::requests::{RegisterRequest, RegisterResponse};
use mochat_api::routes::is_valid_id;
use mochat_api::{ApiError, ErrorCode, Route};
use worker::{Context, Date, Delay, Env, Method, Request, RequestInit, Response};

use crate::config::{self, CLAW_TOKEN, DefaultAgent};
use crate::headers::rate_limit_headers;
use crate::limiter::Decision;
use crate::outbox::{self, LedgerAnswer, LedgerCall};
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

fn outgoing(
    req: &Request,
    base: &str,
    route: &Route,
    token: Option<String>,
    body: Option<Vec<u8>>,
) -> Flow<Outgoing> {
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

/// The token of agent `id` (the default agent's, or one in the vault), if
/// the worker holds it.
pub async fn token_of(env: &Env, id: &str) -> Flow<Option<String>> {
    let default = DefaultAgent::from_env(env);
    if let Some(token) = config::string(env, CLAW_TOKEN).filter(|_| id == default.agent_id) {
        return Ok(Some(token));
    }
    if is_valid_id(id) {
        return Ok(vault::token(env, id).await?);
    }
    Ok(None)
}

/// The agent a request speaks for (`X-MoChat-Agent`, absent: the default) and its token.
async fn agent(req: &Request, env: &Env) -> Flow<(String, String)> {
    let named = req
        .headers()
        .get(AGENT_HEADER)?
        .map(|v| v.trim().to_owned());
    match named {
        None => match config::string(env, CLAW_TOKEN) {
            Some(token) => Ok((DefaultAgent::from_env(env).agent_id, token)),
            None => Err(ApiError::not_found(
                "No default agent is configured (the worker has no CLAW_TOKEN). \
                 Pick an agent with the X-MoChat-Agent header, or register one.",
            )
            .into()),
        },
        Some(id) => match token_of(env, &id).await? {
            Some(token) => Ok((id, token)),
            None => Err(ApiError::not_found(
                "Unknown agent: the worker holds no token for the agent named in X-MoChat-Agent. \
                 Pick one listed by GET /edge/agents.",
            )
            .into()),
        },
    }
}

/// Spends one request of the agent's budget.
pub async fn admit(env: &Env, agent_id: &str) -> Flow<Decision> {
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

/// Who a forwarded call speaks as.
pub struct Speaker {
    pub agent_id: String,
    pub token: String,
    /// Rate-limit headers the caller sees instead of the agent's (a widget
    /// visitor sees their own sub-quota); `None`: the agent's.
    pub shown: Option<Vec<(&'static str, String)>>,
}

/// Any call but registration, from the dashboard: agent (404) → [`forward_as`].
pub async fn forward(
    req: &Request,
    env: &Env,
    ctx: &Context,
    route: Route,
    body: Option<Vec<u8>>,
) -> Flow<Response> {
    let (agent_id, token) = agent(req, env).await?;
    let speaker = Speaker {
        agent_id,
        token,
        shown: None,
    };
    forward_as(req, env, ctx, route, body, speaker).await
}

/// 429 for an agent over its budget.
pub fn agent_over_budget(decision: &Decision, limits: Vec<(&'static str, String)>) -> Halt {
    Halt::with_headers(
        ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "This agent made {} requests in the last minute, its limit. Wait {} seconds.",
                mochat_api::limits::RATE_LIMIT,
                decision.retry_after()
            ),
        ),
        limits,
    )
}

/// Budget (429) → upstream. A send with a `meta.clientId` goes through the
/// agent's ledger (`send_once`).
pub async fn forward_as(
    req: &Request,
    env: &Env,
    ctx: &Context,
    route: Route,
    body: Option<Vec<u8>>,
    speaker: Speaker,
) -> Flow<Response> {
    let Speaker {
        agent_id,
        token,
        shown,
    } = speaker;
    // Benchmark only (worker/README.md): no admission check, no rate-limit headers.
    let limits = if config::limiter_disabled(env) {
        Vec::new()
    } else {
        let decision = admit(env, &agent_id).await?;
        let limits = rate_limit_headers(&decision);
        if !decision.allowed {
            return Err(agent_over_budget(&decision, limits));
        }
        shown.unwrap_or(limits)
    };
    let base = config::upstream_base(env)?;
    let key = outbox::request_key(&route, body.as_deref());
    let out = outgoing(req, &base, &route, Some(token), body)?;
    let answer = match key {
        Some(key) => send_once(env, ctx, &route, agent_id, key, out, &limits).await,
        None => match proxy::send(out).await {
            Ok(upstream) => proxy::pass_through(upstream, &limits).await,
            Err(halt) => Err(halt),
        },
    };
    // The request counted; an error answer (a 502, a 409) carries the budget too.
    match answer {
        Err(Halt::Reply { error, mut headers }) => {
            headers.extend(limits);
            Err(Halt::Reply { error, headers })
        }
        other => other,
    }
}

/// How long a retry waits for a racing identical send before answering 409.
pub const IN_FLIGHT_WAIT_MS: u64 = 10_000;
/// How often it asks the ledger again meanwhile.
pub const IN_FLIGHT_POLL_MS: u64 = 250;

/// What the upstream made of a reserved send.
enum Sent {
    /// 201: the message, as stored in the ledger.
    Created(String),
    /// Any other answer (the reservation was released).
    Other(Response),
}

/// A send with a client id: the stored answer of an earlier identical send,
/// or a 409 while another one is in flight, or the first send itself, whose
/// 201 answer is stored under `key` for the retries to come.
async fn send_once(
    env: &Env,
    ctx: &Context,
    route: &Route,
    agent_id: String,
    key: String,
    mut out: Outgoing,
    limits: &[(&'static str, String)],
) -> Flow<Response> {
    let started = Date::now().as_millis();
    let token = out.token.clone().unwrap_or_default();
    let ticket = loop {
        let begin = LedgerCall::Begin { key: key.clone() };
        match outbox::ask(env, &agent_id, &begin).await? {
            LedgerAnswer::Stored { body } => return Ok(respond::json_text(201, body, limits)?),
            LedgerAnswer::Reserved { ticket, lapsed } => {
                // The last holder never came back: it may have posted before it died.
                if lapsed && let Some(body) = settle(env, route, &agent_id, &key, &token).await? {
                    return Ok(respond::json_text(201, body, limits)?);
                }
                break ticket;
            }
            LedgerAnswer::InFlight | LedgerAnswer::Done => {
                if Date::now().as_millis().saturating_sub(started) >= IN_FLIGHT_WAIT_MS {
                    // Still held: if the message is upstream, its holder
                    // posted it and then died or lost its answer.
                    if let Some(body) = settle(env, route, &agent_id, &key, &token).await? {
                        return Ok(respond::json_text(201, body, limits)?);
                    }
                    return Err(ApiError::conflict(
                        "This message is still being sent; try again in a moment.",
                    )
                    .into());
                }
                Delay::from(Duration::from_millis(IN_FLIGHT_POLL_MS)).await;
            }
        }
    };
    // The send and its bookkeeping run to the end even if the browser goes
    // away meanwhile (that is the retry this exists for): not tied to the
    // browser's signal, and kept alive by `waitUntil`.
    out.client = None;
    let (tx, rx) = oneshot::channel();
    let env = env.clone();
    ctx.wait_until(async move {
        let sent = send_and_record(&env, &agent_id, key, ticket, out).await;
        let _ = tx.send(sent);
    });
    let sent = rx
        .await
        .map_err(|_| worker::Error::RustError("the reserved send was dropped".into()))?;
    match sent? {
        Sent::Created(body) => Ok(respond::json_text(201, body, limits)?),
        Sent::Other(upstream) => proxy::pass_through(upstream, limits).await,
    }
}

/// How many of a conversation's newest messages a read-back looks through.
pub const READ_BACK_LIMIT: u32 = 100;

/// The message a send's client id already posted, read back from the newest
/// [`READ_BACK_LIMIT`] of its conversation; when found it is stored under
/// `key`, so later retries get it at once.
async fn settle(
    env: &Env,
    route: &Route,
    agent_id: &str,
    key: &str,
    token: &str,
) -> Flow<Option<String>> {
    let (Some(list), Some((_, client_id))) = (outbox::list_route(route), key.rsplit_once(':'))
    else {
        return Ok(None);
    };
    let query = format!("limit={READ_BACK_LIMIT}");
    let mut upstream = call_upstream(env, token.to_owned(), &list, Some(&query), None).await?;
    if upstream.status_code() != 200 {
        return Ok(None);
    }
    let text = upstream.text().await?;
    let Some(body) = outbox::sent_with(&text, client_id) else {
        return Ok(None);
    };
    let finish = LedgerCall::Finish {
        key: key.to_owned(),
        body: body.clone(),
    };
    outbox::ask(env, agent_id, &finish).await?;
    Ok(Some(body))
}

/// Sends a reserved message; stores a 201 answer, releases the reservation otherwise.
async fn send_and_record(
    env: &Env,
    agent_id: &str,
    key: String,
    ticket: u64,
    out: Outgoing,
) -> Flow<Sent> {
    let outcome = match proxy::send(out).await {
        Ok(mut upstream) if upstream.status_code() == 201 => match upstream.text().await {
            Ok(body) => {
                let finish = LedgerCall::Finish {
                    key,
                    body: body.clone(),
                };
                if let Err(e) = outbox::ask(env, agent_id, &finish).await {
                    // The message is posted; only a retry's dedupe is lost
                    // (the reservation lapses after its lease).
                    worker::console_error!("mochat-worker: could not record a sent message: {e}");
                }
                return Ok(Sent::Created(body));
            }
            Err(e) => Err(Halt::from(e)),
        },
        Ok(upstream) => Ok(Sent::Other(upstream)),
        Err(halt) => Err(halt),
    };
    let abort = LedgerCall::Abort { key, ticket };
    if let Err(e) = outbox::ask(env, agent_id, &abort).await {
        worker::console_error!("mochat-worker: could not release a send reservation: {e}");
    }
    outcome
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

/// A call the worker makes on its own account (not a browser's request):
/// the upstream's answer, unread.
pub async fn call_upstream(
    env: &Env,
    token: String,
    route: &Route,
    query: Option<&str>,
    body: Option<Vec<u8>>,
) -> Flow<Response> {
    let base = config::upstream_base(env)?;
    proxy::send(Outgoing {
        url: proxy::upstream_url(&base, route, query),
        method: method(route),
        token: Some(token),
        content_type: body.as_ref().map(|_| "application/json".to_owned()),
        accept: Some("application/json".to_owned()),
        body,
        deadline_ms: proxy::CALL_DEADLINE_MS,
        client: None,
    })
    .await
}
