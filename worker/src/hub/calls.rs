//! Forwarded API calls: who may make them and what they cost, then the
//! ledger ([`super::ledger`]: a retried send posts once), the upstream call,
//! and what the hub learns from the answer ([`super::learn`]); and the
//! health probe.

use std::rc::Rc;

use mochat_api::edge::{Health, UpstreamState};
use mochat_api::requests::{WatchQuery, WatchResponse};
use mochat_api::{ApiError, ErrorCode, MessagePage, Route};
use worker::Response;

use super::budget::Spender;
use super::learn::{Position, learn};
pub use super::learn::{note_session, shown_session};
use super::ledger::{Begun2, begin, finish_ledger};
use super::protocol::{Caller, VisitorRef};
use super::{Hub, views, visitors, watch};
use crate::headers::{RETRY_AFTER, rate_limit_headers};
use crate::limiter::{Decision, now_ms};
use crate::outbox::{self};
use crate::respond::{self, Halt};
use crate::upstream::{Extra, Reply};

/// How long a health probe's finding is reused.
const PROBE_TTL_MS: u64 = 60_000;

/// Headers of an answer: the budget the caller sees, then the upstream's
/// `Retry-After` and `Allow` when it sent them.
pub(super) type Headers = Vec<(&'static str, String)>;

/// An API call from the worker (the route already matched).
pub async fn api(
    hub: &Rc<Hub>,
    caller: Option<&Caller>,
    method: &str,
    path: &str,
    query: &str,
    body: Option<String>,
) -> Result<Response, Halt> {
    let route = Route::parse_api(method, path)
        .map_err(|_| Halt::from(ApiError::not_found("No such API call.")))?
        .with_query(Some(query))?;
    if let Route::WatchSession { session_id, query } = &route {
        return watch::session_watch(hub, caller, session_id, query).await;
    }
    let mut body = body.map(String::into_bytes);
    let visitor = match caller {
        Some(Caller::Visitor(v)) => Some(v),
        _ => None,
    };
    let (who, shown) = match visitor {
        Some(v) => {
            let record = visitors::authorize(hub, v, &route).await?;
            let limits = visitors::spend(hub, v)?;
            if matches!(route, Route::SendSessionMessage { .. }) {
                body = Some(visitors::mark_send(
                    body.as_deref().unwrap_or(b"{}"),
                    &visitors::mark(v, &record),
                )?);
            }
            (Spender::Visitor, Some(limits))
        }
        None => (Spender::Person, None),
    };
    if let Some(page) = from_memory(hub, &route, visitor) {
        let headers = shown.unwrap_or_else(|| hub.agent_headers());
        return hub.json(200, &page, &headers);
    }
    let call = Forward {
        route,
        body,
        who,
        visitor: visitor.cloned(),
        shown,
    };
    forward(hub, call).await
}

/// A call on its way upstream.
pub(super) struct Forward {
    pub route: Route,
    pub body: Option<Vec<u8>>,
    pub who: Spender,
    pub visitor: Option<VisitorRef>,
    /// The visitor's own rate-limit headers, shown instead of the agent's.
    pub shown: Option<Headers>,
}

/// The 429 of a spender over their budget.
pub fn over_budget(who: Spender, decision: &Decision) -> Halt {
    let message = match who {
        Spender::Visitor => format!(
            "This chat is busy right now. Wait {} seconds, then try again.",
            decision.retry_after()
        ),
        _ => format!(
            "This agent made {} requests in the last minute, its limit. Wait {} seconds.",
            mochat_api::limits::RATE_LIMIT,
            decision.retry_after()
        ),
    };
    Halt::with_headers(
        ApiError::new(ErrorCode::RateLimited, message),
        rate_limit_headers(decision),
    )
}

/// Budget (429), ledger (for a send with a client id), upstream, learning.
/// A retry answered from the ledger counts like any request (as the one it
/// repeats did).
async fn forward(hub: &Rc<Hub>, call: Forward) -> Result<Response, Halt> {
    let _answering = hub.answering();
    let upstream = hub.upstream()?.clone();
    let decision = hub.spend(call.who, upstream.cost(&call.route));
    if !decision.allowed {
        return Err(over_budget(call.who, &decision));
    }
    let headers = call
        .shown
        .clone()
        .unwrap_or_else(|| rate_limit_headers(&decision));
    let key = outbox::request_key(&call.route, call.body.as_deref());
    let ticket = match &key {
        Some(key) => match begin(hub, &call, key).await? {
            Begun2::Stored(body) => return Ok(respond::json_text(201, body, &headers)?),
            Begun2::Reserved(ticket) => Some(ticket),
        },
        None => None,
    };
    let outcome = send(hub, &call, headers).await;
    if let (Some(key), Some(ticket)) = (&key, ticket) {
        finish_ledger(hub, key, ticket, &outcome);
    }
    let (reply, headers) = outcome?;
    Ok(answer(reply, headers)?)
}

/// Calls the upstream (already paid for) and learns from the answer.
async fn send(hub: &Rc<Hub>, call: &Forward, headers: Headers) -> Result<(Reply, Headers), Halt> {
    let upstream = hub.upstream()?.clone();
    // Everything the hub handed out up to now is in the detail's history:
    // its cursor in the hub's numbering is where the hub stands now.
    let captured = match &call.route {
        Route::SessionDetail { session_id } => hub
            .core
            .borrow()
            .slots
            .get(session_id)
            .and_then(|s| s.feed.is_aligned().then(|| Position::of(&s.feed))),
        _ => None,
    };
    let token = hub.token()?;
    let _sending = match &call.route {
        Route::SendSessionMessage { session_id } => Some(InFlight::begin(hub, session_id)),
        _ => None,
    };
    let reply = upstream
        .call(
            Some(&token),
            &call.route,
            call.body.as_deref(),
            &Extra::default(),
        )
        .await;
    let reply = match reply {
        Ok(reply) => reply,
        Err(Halt::Reply { error, headers: h }) => {
            let mut all = headers.clone();
            all.extend(h);
            return Err(Halt::Reply {
                error,
                headers: all,
            });
        }
        Err(fault) => return Err(fault),
    };
    if reply.status == 429 {
        hub.blocked_for(reply.retry_after.as_deref());
    }
    let reply = learn(hub, call, reply, captured, upstream.dialect).await?;
    Ok((reply, headers))
}

/// A send into a session under way through the hub, until its answer is
/// learned: a read of the session waits for it before taking in what it
/// read ([`watch::sends_answered`]).
struct InFlight {
    hub: Rc<Hub>,
    session_id: String,
}

impl InFlight {
    fn begin(hub: &Rc<Hub>, session_id: &str) -> Self {
        if let Some(slot) = hub.core.borrow_mut().slots.get_mut(session_id) {
            slot.sending += 1;
        }
        Self {
            hub: Rc::clone(hub),
            session_id: session_id.to_owned(),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut core) = self.hub.core.try_borrow_mut()
            && let Some(slot) = core.slots.get_mut(&self.session_id)
        {
            slot.sending = slot.sending.saturating_sub(1);
            super::wake_all(&mut slot.waiters);
        }
    }
}

/// The answer for the browser: the reply with the caller's headers.
fn answer(reply: Reply, mut headers: Headers) -> worker::Result<Response> {
    if let Some(retry) = reply.retry_after {
        headers.retain(|(n, _)| *n != RETRY_AFTER);
        headers.push((RETRY_AFTER, retry));
    }
    if let Some(allow) = reply.allow {
        headers.push(("Allow", allow));
    }
    respond::json_text(reply.status, reply.body, &headers)
}

/// The newest page of a session's messages from the hub's memory, when the
/// hub knows its whole (short) history (e.g. a widget conversation it
/// opened): the tabs watching it then load their history without an
/// upstream read.
fn from_memory(hub: &Hub, route: &Route, visitor: Option<&VisitorRef>) -> Option<MessagePage> {
    let Route::ListSessionMessages {
        session_id,
        query: page,
    } = route
    else {
        return None;
    };
    if page.before.is_some() {
        return None;
    }
    let limit = page.limit.unwrap_or(mochat_api::limits::PAGE_DEFAULT) as usize;
    // Safe even for a session nobody watched for a while: the browser's watch
    // starts from the hub's cursor, and anything the hub missed meanwhile is
    // read (and handed to it) as soon as the watch arrives.
    let core = hub.core.borrow();
    let slot = core.slots.get(session_id)?;
    if slot.dirty.is_some() || slot.busy {
        return None;
    }
    let mut messages = slot.feed.whole_history(limit)?;
    messages.sort_by_key(|m| super::list::parse_ms(&m.created_at));
    let agent = core.agent.as_ref().map(|a| a.id.as_str()).unwrap_or("");
    let messages = messages
        .into_iter()
        .map(|m| views::message_for(m, agent, visitor.is_some()))
        .collect();
    Some(MessagePage {
        messages,
        has_more: false,
        cursor: None,
    })
}

/// `GET /edge/health`'s question to the default agent's hub: does the
/// upstream take its token? One cheap read, its finding kept a minute.
pub async fn probe(hub: &Rc<Hub>) -> Result<Response, Halt> {
    let now = now_ms();
    if let Some((at, health)) = hub.core.borrow().probe.clone()
        && now.saturating_sub(at) < PROBE_TTL_MS
    {
        return hub.json(200, &health, &[]);
    }
    let upstream = hub.upstream()?.clone();
    if !hub.spend(Spender::Live, 1).allowed {
        // No budget to ask with: say what was last known, or that it answers.
        let health = Health {
            ok: true,
            upstream: UpstreamState::Reachable,
            reason: None,
        };
        return hub.json(200, &health, &[]);
    }
    let token = hub.token()?;
    let reply = upstream
        .call(
            Some(&token),
            &Route::WorkspaceGroup,
            None,
            &Extra::default(),
        )
        .await;
    let health = match reply {
        Ok(r) if r.is_success() => Health {
            ok: true,
            upstream: UpstreamState::Reachable,
            reason: None,
        },
        Ok(r) if r.status == 401 || r.status == 403 => Health {
            ok: false,
            upstream: UpstreamState::TokenRefused,
            reason: Some(
                "The MoChat API refuses the default agent's token: set CLAW_TOKEN to a valid \
                 claw token (`wrangler secret put CLAW_TOKEN`)."
                    .to_owned(),
            ),
        },
        Ok(r) if r.status == 429 => Health {
            ok: true,
            upstream: UpstreamState::Reachable,
            reason: None,
        },
        Ok(_) => Health {
            ok: false,
            upstream: UpstreamState::WrongDialect,
            reason: Some(format!(
                "The MoChat API does not answer as the {} dialect expects; check UPSTREAM_URL \
                 and UPSTREAM_DIALECT.",
                upstream.dialect.name()
            )),
        },
        Err(_) => Health {
            ok: false,
            upstream: UpstreamState::Unreachable,
            reason: Some("The MoChat API could not be reached; check UPSTREAM_URL.".to_owned()),
        },
    };
    hub.core.borrow_mut().probe = Some((now, health.clone()));
    hub.json(200, &health, &[])
}

/// Reads the events of `session_id` after upstream cursor `from` (one
/// request, already paid for); with a `timeout_ms`, the upstream waits up
/// to that long for one.
pub async fn read_events(
    hub: &Hub,
    session_id: &str,
    from: u64,
    limit: u32,
    timeout_ms: u64,
) -> Result<Result<WatchResponse, Reply>, Halt> {
    let upstream = hub.upstream()?.clone();
    let token = hub.token()?;
    let route = Route::WatchSession {
        session_id: session_id.to_owned(),
        query: WatchQuery {
            cursor: Some(from),
            timeout_ms: Some(timeout_ms),
            limit: Some(limit),
        },
    };
    let reply = upstream
        .call(Some(&token), &route, None, &Extra::default())
        .await?;
    if reply.status == 429 {
        hub.blocked_for(reply.retry_after.as_deref());
    }
    Ok(reply.parse::<WatchResponse>().ok_or(reply))
}
