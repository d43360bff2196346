#![doc = include_str!("../README.md")]

pub mod api;
pub mod config;
pub mod edge;
pub mod guard;
pub mod headers;
pub mod limiter;
pub mod outbox;
pub mod proxy;
pub mod respond;
pub mod routes;
pub mod session;
pub mod vault;

use mochat_api::{ApiError, Route};
use worker::{Context, Env, Request, Response, event};

use crate::respond::{Flow, Halt};
use crate::routes::{Call, Miss};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    match handle(req, &env, &ctx).await {
        Ok(response) => Ok(response),
        Err(halt) => respond::halt(halt),
    }
}

fn miss(m: Miss) -> Halt {
    match m {
        Miss::NotFound => ApiError::not_found(
            "No such route. The API lives under /api/claw/… and the worker's own routes under /edge/….",
        )
        .into(),
        Miss::MethodNotAllowed { allow } => Halt::with_headers(
            ApiError::new(
                mochat_api::ErrorCode::MethodNotAllowed,
                format!("This route does not take that method; use {allow}."),
            ),
            vec![("Allow", allow)],
        ),
    }
}

/// The route table: match (404, 405), then the checks every call shares in
/// the contract's order (body 413, session 401, Origin 403), then the handler.
async fn handle(mut req: Request, env: &Env, ctx: &Context) -> Flow<Response> {
    // The method as sent (worker's `Method` maps unknown ones to GET).
    let method = req.inner().method();
    let call = routes::classify(&method, &req.path()).map_err(miss)?;
    let takes_body = match &call {
        Call::SignIn => true,
        Call::Api(route) => route.has_body(),
        _ => false,
    };
    let body = guard::body(&mut req, takes_body).await?;
    let session = if call.needs_session() {
        Some(guard::session(&req, env)?)
    } else {
        None
    };
    guard::origin(&req, &method)?;
    match call {
        Call::SignIn => edge::sign_in(&req, env, body).await,
        Call::SessionStatus => edge::session_status(session.unwrap_or_default()),
        Call::SignOut => edge::sign_out(),
        Call::Agents => edge::agents(env).await,
        Call::Health => edge::health(env).await,
        Call::Api(Route::Register) => api::register(&req, env, body).await,
        Call::Api(route) => api::forward(&req, env, ctx, route, body).await,
    }
}
