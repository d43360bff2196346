#![doc = include_str!("../README.md")]

pub mod api;
pub mod config;
pub mod dashboard;
pub mod durable;
pub mod edge;
pub mod frame;
pub mod guard;
pub mod headers;
pub mod hub;
pub mod keys;
pub mod limiter;
pub mod outbox;
pub mod proxy;
pub mod respond;
pub mod revocation;
pub mod routes;
pub mod session;
pub mod sites;
pub mod upstream;
pub mod vault;
pub mod visitor_token;
pub mod visitors;
pub mod widget;

use mochat_api::edge::EDGE_PREFIX;
use mochat_api::live::LIVE_PREFIX;
use mochat_api::{ApiError, Route};
use worker::{Context, Env, Request, Response, event};

use crate::respond::{Flow, Halt};
use crate::routes::{Call, Miss};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    match handle(req, &env).await {
        Ok(response) => Ok(response),
        Err(halt) => respond::halt(halt),
    }
}

fn miss(m: Miss) -> Halt {
    match m {
        Miss::NotFound => ApiError::not_found(format!(
            "No such route. The API lives under {LIVE_PREFIX}… and the worker's own routes \
             under {EDGE_PREFIX}…."
        ))
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
/// the contract's order (body 413, caller 401, Origin 403), then the handler.
async fn handle(mut req: Request, env: &Env) -> Flow<Response> {
    // The method as sent (worker's `Method` maps unknown ones to GET).
    let method = req.inner().method();
    let call = routes::classify(&method, &req.path()).map_err(miss)?;
    let body = guard::body(&mut req, call.takes_body()).await?;
    let caller = guard::caller(&req, env, call.access()).await?;
    guard::origin(&req, &method)?;
    match call {
        Call::SignIn => edge::sign_in(&req, env, body).await,
        Call::SessionStatus => edge::session_status(caller.session_end()),
        Call::SignOut => edge::sign_out(env, &caller, false).await,
        Call::SignOutEverywhere => edge::sign_out(env, &caller, true).await,
        Call::Agents => edge::agents(env).await,
        Call::Health => edge::health(env).await,
        Call::Dashboard => dashboard::page(env).await,
        Call::EdgeWatch => api::edge_watch(&req, env, &caller, body).await,
        Call::VisitorDetails => api::visitor_details(&req, env, &caller).await,
        Call::WidgetFrame => frame::page(&req, env).await,
        Call::NewVisitor => widget::new_visitor(&req, env, body).await,
        Call::VisitorRecord => widget::me(env, caller.visitor()?).await,
        Call::Identify => widget::identify(env, caller.visitor()?, body).await,
        Call::OpenConversation => widget::open_conversation(&req, env, caller.visitor()?).await,
        Call::Api(Route::Register) => api::register(env, body).await,
        Call::Api(route) => api::forward(&req, env, &caller, &route, body).await,
    }
}
