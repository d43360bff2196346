//! The widget's routes (see [`mochat_api::widget`]): minting visitors, their
//! record, opening their one session, and the three API calls a visitor may
//! make on it (list messages, send, watch). Every visitor request spends the
//! visitor's sub-quota first, then the site agent's budget.

use mochat_api::limits::{TITLE_MAX_CHARS, policy_of, value_of};
use mochat_api::requests::CreateSessionRequest;
use mochat_api::widget::{
    BEARER, IdentifyRequest, NewVisitorRequest, SiteInfo, VISITOR_META_KEY, VISITOR_TOKEN_PREFIX,
    VISITOR_TTL_SECS, VisitorInfo, VisitorMark, clean_name, default_visitor_name,
    is_plausible_email,
};
use mochat_api::{ApiError, ErrorCode, Route, Session};
use serde_json::{Map, Value};
use worker::{Context, Env, Request, Response};

use crate::api::{self, Speaker};
use crate::config::{self, DefaultAgent, SESSION_SECRET};
use crate::guard::now_secs;
use crate::headers::{RATE_LIMIT, RATE_LIMIT_POLICY, RETRY_AFTER};
use crate::limiter::Decision;
use crate::respond::{self, Flow, Halt};
use crate::sites::{self, Site};
use crate::vault;
use crate::visitor_token::{self, Visitor};
use crate::visitors::{self, Identity, Record};

/// The visitor token of a request (`Authorization: Bearer vt1.…`), if it carries one.
pub fn bearer(req: &Request) -> Flow<Option<String>> {
    Ok(req
        .headers()
        .get("Authorization")?
        .and_then(|v| v.strip_prefix(BEARER).map(|t| t.trim().to_owned()))
        .filter(|t| t.starts_with(VISITOR_TOKEN_PREFIX)))
}

/// The visitor a token speaks for, or 401.
pub fn verify(env: &Env, token: &str) -> Flow<Visitor> {
    let secret = config::required(env, SESSION_SECRET)?;
    visitor_token::verify(&secret, token, now_secs()).ok_or_else(|| {
        ApiError::unauthorized(
            "This chat's visitor token is not valid or has expired. Reload the page to start a new chat.",
        )
        .into()
    })
}

/// Whether a visitor may make `route`: only reading, writing and watching
/// their own session.
pub fn authorize(route: &Route, own: Option<&str>) -> Result<(), ApiError> {
    let target = match route {
        Route::ListSessionMessages { session_id }
        | Route::SendSessionMessage { session_id }
        | Route::WatchSession { session_id } => Some(session_id.as_str()),
        _ => None,
    };
    match (target, own) {
        (Some(t), Some(o)) if t == o => Ok(()),
        _ => Err(ApiError::forbidden(
            "A chat visitor can only read, send and watch their own conversation.",
        )),
    }
}

/// A visitor's send with `meta.visitor` set by the worker (whatever the
/// browser put there), so agents and the dashboard can tell who wrote it.
pub fn mark_send(body: &[u8], mark: &VisitorMark) -> Result<Vec<u8>, ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("The message is not valid: {why}."));
    let mut value: Map<String, Value> =
        serde_json::from_slice(body).map_err(|_| bad("send a JSON object"))?;
    let meta = value
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(meta) = meta else {
        return Err(bad("meta must be an object"));
    };
    let mark = serde_json::to_value(mark).map_err(|_| bad("the visitor marker"))?;
    meta.insert(VISITOR_META_KEY.to_owned(), mark);
    serde_json::to_vec(&value).map_err(|_| bad("it cannot be re-encoded"))
}

/// The title of a visitor's session: the site's title and the visitor's name.
pub fn session_title(site_title: &str, name: &str) -> String {
    format!("{site_title} · {name}")
        .chars()
        .take(TITLE_MAX_CHARS)
        .collect()
}

/// The rate-limit headers a visitor sees: their own sub-quota.
pub fn visitor_limits(decision: &Decision, quota: u32) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        (RATE_LIMIT_POLICY, policy_of("visitor", quota)),
        (
            RATE_LIMIT,
            value_of("visitor", decision.remaining, decision.reset_secs),
        ),
    ];
    if !decision.allowed {
        headers.push((RETRY_AFTER, decision.retry_after().to_string()));
    }
    headers
}

/// Spends one request of the visitor's sub-quota; 429 past it.
async fn spend(env: &Env, visitor: &Visitor) -> Flow<Vec<(&'static str, String)>> {
    let decision = visitors::admit(env, visitor).await?;
    let limits = visitor_limits(&decision, visitors::limit(env));
    if decision.allowed {
        return Ok(limits);
    }
    Err(Halt::with_headers(
        ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "You are sending faster than this chat allows. Wait {} seconds.",
                decision.retry_after()
            ),
        ),
        limits,
    ))
}

/// The site agent's id and token; a site naming an agent the worker has no
/// token for is the operator's to fix.
async fn site_agent(env: &Env, site: &Site) -> Flow<(String, String)> {
    let id = site
        .agent_id
        .clone()
        .unwrap_or_else(|| DefaultAgent::from_env(env).agent_id);
    match api::token_of(env, &id).await? {
        Some(token) => Ok((id, token)),
        None => Err(ApiError::new(
            ErrorCode::Internal,
            "This widget's agent is not known to the worker: fix agentId in WIDGET_SITES.",
        )
        .into()),
    }
}

async fn agent_name(env: &Env, site: &Site) -> Flow<String> {
    let default = DefaultAgent::from_env(env);
    let Some(id) = site.agent_id.as_ref().filter(|id| **id != default.agent_id) else {
        return Ok(default.name);
    };
    Ok(vault::list(env)
        .await?
        .into_iter()
        .find(|a| &a.agent_id == id)
        .map_or_else(|| "MoChat".to_owned(), |a| a.name))
}

async fn info(
    env: &Env,
    visitor: &Visitor,
    site: &Site,
    record: Record,
    token: Option<String>,
) -> Flow<VisitorInfo> {
    Ok(VisitorInfo {
        visitor_id: visitor.id.clone(),
        name: record
            .name
            .unwrap_or_else(|| default_visitor_name(&visitor.id)),
        email: record.email,
        site: SiteInfo {
            key: visitor.site.clone(),
            title: site.title.clone(),
            color: site.color.clone(),
            agent_name: agent_name(env, site).await?,
        },
        session_id: record.session_id,
        token,
    })
}

fn identity(name: Option<String>, email: Option<String>) -> Result<Identity, ApiError> {
    let email = match email.map(|e| e.trim().to_owned()) {
        Some(e) if !is_plausible_email(&e) => {
            return Err(ApiError::bad_request(
                "That email address does not look right; check it and try again.",
            ));
        }
        other => other,
    };
    Ok(Identity {
        name: name.as_deref().and_then(clean_name),
        email,
    })
}

fn parse<T: serde::de::DeserializeOwned>(body: Option<Vec<u8>>) -> Result<T, ApiError> {
    serde_json::from_slice(body.as_deref().unwrap_or(b"{}")).map_err(|e| {
        ApiError::bad_request(format!(
            "The request body is not valid JSON for this call: {e}."
        ))
    })
}

/// A fresh random visitor id (32 hex digits).
fn new_visitor_id() -> Flow<String> {
    let crypto = worker::js_sys::Reflect::get(
        &worker::js_sys::global(),
        &worker::wasm_bindgen::JsValue::from_str("crypto"),
    )
    .map_err(|_| worker::Error::RustError("no crypto".into()))?;
    let uuid = worker::js_sys::Reflect::get(&crypto, &"randomUUID".into())
        .ok()
        .and_then(|f| {
            worker::js_sys::Function::from(f)
                .call0(&crypto)
                .ok()?
                .as_string()
        })
        .ok_or_else(|| worker::Error::RustError("crypto.randomUUID failed".into()))?;
    Ok(uuid.replace('-', ""))
}

/// `POST /edge/widget/visitor`: a new visitor of a site, with their token.
pub async fn new_visitor(env: &Env, body: Option<Vec<u8>>) -> Flow<Response> {
    let asked: NewVisitorRequest = parse(body)?;
    let site = sites::find(env, &asked.site)?;
    let secret = config::required(env, SESSION_SECRET)?;
    let expires = now_secs() + VISITOR_TTL_SECS;
    let visitor = Visitor {
        site: asked.site,
        id: new_visitor_id()?,
        expires,
    };
    let token = visitor_token::sign(&secret, &visitor.site, &visitor.id, expires);
    let change = identity(asked.name, asked.email)?;
    let record = if change == Identity::default() {
        Record::default()
    } else {
        visitors::identify(env, &visitor, &change).await?
    };
    let answer = info(env, &visitor, &site, record, Some(token)).await?;
    Ok(respond::json(201, &answer, &[])?)
}

/// `GET /edge/widget/me`.
pub async fn me(env: &Env, visitor: &Visitor) -> Flow<Response> {
    let site = sites::find(env, &visitor.site)?;
    let record = visitors::record(env, visitor).await?;
    Ok(respond::json(
        200,
        &info(env, visitor, &site, record, None).await?,
        &[],
    )?)
}

/// `POST /edge/widget/me`: the host page told who the visitor is.
pub async fn identify(env: &Env, visitor: &Visitor, body: Option<Vec<u8>>) -> Flow<Response> {
    let asked: IdentifyRequest = parse(body)?;
    let site = sites::find(env, &visitor.site)?;
    let record = visitors::identify(env, visitor, &identity(asked.name, asked.email)?).await?;
    Ok(respond::json(
        200,
        &info(env, visitor, &site, record, None).await?,
        &[],
    )?)
}

/// `POST /edge/widget/conversation`: the visitor's session, opened on first
/// use with the site's agent and participants. Two racing opens keep the
/// first session; the loser's is closed again.
pub async fn open_conversation(env: &Env, visitor: &Visitor) -> Flow<Response> {
    let site = sites::find(env, &visitor.site)?;
    let record = visitors::record(env, visitor).await?;
    if record.session_id.is_some() {
        return Ok(respond::json(
            200,
            &info(env, visitor, &site, record, None).await?,
            &[],
        )?);
    }
    let limits = spend(env, visitor).await?;
    let (agent_id, token) = site_agent(env, &site).await?;
    let decision = api::admit(env, &agent_id).await?;
    if !decision.allowed {
        return Err(api::agent_over_budget(
            &decision,
            crate::headers::rate_limit_headers(&decision),
        ));
    }
    let name = record
        .name
        .clone()
        .unwrap_or_else(|| default_visitor_name(&visitor.id));
    let create = CreateSessionRequest {
        participants: site.participants.clone(),
        title: Some(session_title(&site.title, &name)),
    };
    let body = serde_json::to_vec(&create).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut upstream =
        api::call_upstream(env, token.clone(), &Route::CreateSession, None, Some(body)).await?;
    if upstream.status_code() != 201 {
        return crate::proxy::pass_through(upstream, &limits).await;
    }
    let session: Session = upstream.json().await.map_err(|_| {
        Halt::from(ApiError::new(
            ErrorCode::UpstreamUnavailable,
            "The MoChat API answered in an unexpected form. Try again in a moment.",
        ))
    })?;
    let kept = visitors::keep_session(env, visitor, &session.session_id).await?;
    if kept.session_id.as_deref() != Some(session.session_id.as_str()) {
        let close = Route::CloseSession {
            session_id: session.session_id,
        };
        if let Err(Halt::Fault(e)) = api::call_upstream(env, token, &close, None, None).await {
            worker::console_error!(
                "mochat-worker: could not close a duplicate visitor session: {e}"
            );
        }
    }
    Ok(respond::json(
        200,
        &info(env, visitor, &site, kept, None).await?,
        &limits,
    )?)
}

/// One of the 16 calls made with a visitor token: own session only (403),
/// sub-quota (429), then as the site's agent, sends marked as the visitor's.
pub async fn visitor_call(
    req: &Request,
    env: &Env,
    ctx: &Context,
    visitor: &Visitor,
    route: Route,
    body: Option<Vec<u8>>,
) -> Flow<Response> {
    let record = visitors::record(env, visitor).await?;
    authorize(&route, record.session_id.as_deref())?;
    let limits = spend(env, visitor).await?;
    let site = sites::find(env, &visitor.site)?;
    let (agent_id, token) = site_agent(env, &site).await?;
    let body = match (&route, body) {
        (Route::SendSessionMessage { .. }, Some(raw)) => {
            let mark = VisitorMark {
                id: visitor.id.clone(),
                name: record
                    .name
                    .unwrap_or_else(|| default_visitor_name(&visitor.id)),
                site: visitor.site.clone(),
                title: site.title.clone(),
            };
            Some(mark_send(&raw, &mark)?)
        }
        (_, body) => body,
    };
    let speaker = Speaker {
        agent_id,
        token,
        shown: Some(limits),
    };
    api::forward_as(req, env, ctx, route, body, speaker).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str) -> String {
        id.to_owned()
    }

    #[test]
    fn a_visitor_reaches_only_their_own_session() {
        let own = Some("s_mine");
        for route in [
            Route::ListSessionMessages {
                session_id: session("s_mine"),
            },
            Route::SendSessionMessage {
                session_id: session("s_mine"),
            },
            Route::WatchSession {
                session_id: session("s_mine"),
            },
        ] {
            assert!(authorize(&route, own).is_ok(), "{route:?}");
            assert!(
                authorize(&route, None).is_err(),
                "no session yet: {route:?}"
            );
        }
        let other = Route::ListSessionMessages {
            session_id: session("s_other"),
        };
        assert_eq!(authorize(&other, own).unwrap_err().status(), 403);
        for route in [
            Route::ListSessions,
            Route::CreateSession,
            Route::SessionDetail {
                session_id: session("s_mine"),
            },
            Route::CloseSession {
                session_id: session("s_mine"),
            },
            Route::AddParticipants {
                session_id: session("s_mine"),
            },
            Route::GetSession {
                session_id: session("s_mine"),
            },
            Route::WorkspaceGroup,
            Route::JoinGroup,
            Route::BindAgent,
            Route::Register,
            Route::ListPanelMessages {
                panel_id: "p".into(),
            },
        ] {
            assert!(authorize(&route, own).is_err(), "{route:?}");
        }
    }

    #[test]
    fn sends_carry_the_workers_visitor_mark() {
        let mark = VisitorMark {
            id: "v1".into(),
            name: "Ada".into(),
            site: "acme".into(),
            title: "Acme".into(),
        };
        let body = br#"{"content":"hi","meta":{"clientId":"c1","visitor":{"id":"forged"}}}"#;
        let out: Value = serde_json::from_slice(&mark_send(body, &mark).unwrap()).unwrap();
        assert_eq!(out["content"], "hi");
        assert_eq!(out["meta"]["clientId"], "c1");
        assert_eq!(out["meta"]["visitor"]["id"], "v1");
        assert_eq!(out["meta"]["visitor"]["name"], "Ada");
        let bare: Value =
            serde_json::from_slice(&mark_send(br#"{"content":"x"}"#, &mark).unwrap()).unwrap();
        assert_eq!(bare["meta"]["visitor"]["site"], "acme");
        for bad in [&b"[1]"[..], b"not json", br#"{"content":"x","meta":3}"#] {
            assert_eq!(mark_send(bad, &mark).unwrap_err().status(), 400);
        }
    }

    #[test]
    fn titles_and_limits() {
        assert_eq!(session_title("Acme", "Ada"), "Acme · Ada");
        assert_eq!(session_title(&"x".repeat(300), "Ada").chars().count(), 200);
        let over = Decision {
            allowed: false,
            remaining: 0,
            reset_secs: 42,
        };
        let h = visitor_limits(&over, 20);
        assert_eq!(h[0].1, "\"visitor\";q=20;w=60");
        assert_eq!(h[1].1, "\"visitor\";r=0;t=42");
        assert_eq!(h[2], ("Retry-After", "42".to_owned()));
    }
}
