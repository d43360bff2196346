//! The widget's routes (see [`mochat_api::widget`]): minting visitors, their
//! record, opening their one session. A visitor's record, sub-quota and
//! calls live in the hub of their site's agent ([`crate::hub`]); the worker
//! checks the token, the site and, for minting and opening, the client
//! address's throttle.

use mochat_api::widget::{
    BEARER, IdentifyRequest, NewVisitorRequest, VISITOR_TOKEN_PREFIX, VISITOR_TTL_SECS,
};
use mochat_api::{ApiError, ErrorCode};
use worker::{Env, Request, Response};

use crate::config::{CONVERSATION_OPEN_LIMIT, DefaultAgent, VISITOR_MINT_LIMIT};
use crate::guard::{self, now_secs};
use crate::hub::protocol::{self, Caller, HubCall, Op, VisitorRef};
use crate::keys::Keys;
use crate::limiter::{self, Attempt, positive};
use crate::respond::{Flow, Halt};
use crate::sites;
use crate::visitor_token::{self, Visitor};

/// New visitors one client address may mint per window, by default.
pub const MINT_LIMIT: u32 = 10;
/// Conversations one client address may open per window, by default.
pub const OPEN_LIMIT: u32 = 10;

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
    let keys = Keys::from_env(env)?;
    visitor_token::verify(&keys.visitor, token, now_secs()).ok_or_else(|| {
        ApiError::unauthorized(
            "This chat's visitor token is not valid or has expired. Reload the page to start a new chat.",
        )
        .into()
    })
}

/// The agent that answers a visitor's site, and the visitor as its hub sees them.
pub fn visitor_ref(env: &Env, visitor: &Visitor) -> Flow<(String, VisitorRef)> {
    let site = sites::find(env, &visitor.site)?;
    let agent = site
        .agent_id
        .clone()
        .unwrap_or_else(|| DefaultAgent::from_env(env).agent_id);
    Ok((
        agent,
        VisitorRef {
            site: visitor.site.clone(),
            id: visitor.id.clone(),
            title: site.title,
            color: site.color,
            participants: site.participants,
        },
    ))
}

/// One call to the hub of the visitor's site agent.
async fn ask(env: &Env, visitor: &Visitor, op: Op) -> Flow<Response> {
    let (agent, visitor) = visitor_ref(env, visitor)?;
    let call = HubCall {
        agent,
        caller: Some(Caller::Visitor(visitor)),
        op,
    };
    let answer = protocol::ask(env, &call).await?;
    if answer.status_code() == 404 {
        // The hub knows no token for the site's agent: the operator's to fix.
        return Err(ApiError::new(
            ErrorCode::Internal,
            "This widget's agent is not known to the worker: fix agentId in WIDGET_SITES.",
        )
        .into());
    }
    Ok(answer)
}

/// One more `purpose` (minting, opening) from the request's address; 429 past `limit`.
async fn throttle(req: &Request, env: &Env, purpose: &str, limit: u32) -> Flow<()> {
    let key = format!("{purpose}:{}", guard::client_address(req));
    let verdict = limiter::throttle(env, &key, Attempt::Admit { limit }).await?;
    if !verdict.blocked {
        return Ok(());
    }
    Err(Halt::with_headers(
        ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "Too many new chats from your network. Wait {} seconds, then try again.",
                verdict.retry_after
            ),
        ),
        vec![("Retry-After", verdict.retry_after.to_string())],
    ))
}

fn parse<T: serde::de::DeserializeOwned>(body: Option<Vec<u8>>) -> Result<T, ApiError> {
    serde_json::from_slice(body.as_deref().unwrap_or(b"{}")).map_err(|e| {
        ApiError::bad_request(format!(
            "The request body is not valid JSON for this call: {e}."
        ))
    })
}

/// `POST /edge/widget/visitor`: a new visitor of a site, with their token;
/// throttled per client address.
pub async fn new_visitor(req: &Request, env: &Env, body: Option<Vec<u8>>) -> Flow<Response> {
    let asked: NewVisitorRequest = parse(body)?;
    sites::find(env, &asked.site)?;
    let limit = positive(env, VISITOR_MINT_LIMIT, u64::from(MINT_LIMIT));
    throttle(req, env, "mint", u32::try_from(limit).unwrap_or(MINT_LIMIT)).await?;
    let keys = Keys::from_env(env)?;
    let expires = now_secs() + VISITOR_TTL_SECS;
    let visitor = Visitor {
        site: asked.site,
        id: guard::random_hex()?,
        expires,
    };
    let token = visitor_token::sign(&keys.visitor, &visitor.site, &visitor.id, expires);
    let op = Op::NewVisitor {
        name: asked.name,
        email: asked.email,
        token,
    };
    ask(env, &visitor, op).await
}

/// `GET /edge/widget/me`.
pub async fn me(env: &Env, visitor: &Visitor) -> Flow<Response> {
    ask(env, visitor, Op::VisitorMe).await
}

/// `POST /edge/widget/me`: the host page told who the visitor is.
pub async fn identify(env: &Env, visitor: &Visitor, body: Option<Vec<u8>>) -> Flow<Response> {
    let asked: IdentifyRequest = parse(body)?;
    let op = Op::Identify {
        name: asked.name,
        email: asked.email,
    };
    ask(env, visitor, op).await
}

/// `POST /edge/widget/conversation`: the visitor's session, opened on first
/// use; throttled per client address.
pub async fn open_conversation(req: &Request, env: &Env, visitor: &Visitor) -> Flow<Response> {
    let limit = positive(env, CONVERSATION_OPEN_LIMIT, u64::from(OPEN_LIMIT));
    throttle(req, env, "open", u32::try_from(limit).unwrap_or(OPEN_LIMIT)).await?;
    ask(env, visitor, Op::OpenConversation).await
}
