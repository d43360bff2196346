//! The one handler behind every path: route (of either dialect, see `routing`) →
//! method → body size → auth → rate limit → the call's handler, in the contract's
//! order of precedence, with one log line per request. Both dialects share the
//! token check and each agent's budget; errors are written in the call's dialect.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mochat_api::limits::BODY_MAX_BYTES;
use mochat_api::ratelimit::{POLICY_HEADER, STATE_HEADER};
use mochat_api::{ErrorCode, Route};

use crate::accounts::{self, Caller};
use crate::error::{AppError, AppResult, json, respond};
use crate::routing::{self, Call, Refusal};
use crate::{AppState, groups, live, messages, sessions, watch};

/// The agent an authenticated request spoke for, kept on its response for the log.
#[derive(Clone)]
struct Agent(String);

/// Answers any request (the router's fallback) and logs it: method, path,
/// status, duration and, once authenticated, the agent's user id (never a
/// token), so a test can count what one agent asked of the server.
pub async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = handle(&state, request).await;
    let agent = response
        .extensions()
        .get::<Agent>()
        .map_or("-", |a| a.0.as_str());
    tracing::info!(
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        agent = %agent,
        "request"
    );
    response
}

async fn handle(state: &AppState, request: Request) -> Response {
    let path = request.uri().path();
    if path == "/api/health" {
        return if request.method() == Method::GET {
            json(StatusCode::OK, &serde_json::json!({"ok": true})).into_response()
        } else {
            AppError::new(
                ErrorCode::MethodNotAllowed,
                "GET /api/health is the only method here.",
            )
            .with_header(header::ALLOW, "GET")
            .into_response()
        };
    }
    let call = match routing::resolve(state.dialects, request.method().as_str(), path) {
        Ok(call) => call,
        Err(Refusal { dialect, error }) => return error.into_dialect_response(dialect),
    };
    let (parts, body) = request.into_parts();
    let body = match read_body(&parts.headers, body).await {
        Ok(body) => body,
        Err(error) => return error.into_dialect_response(call.dialect()),
    };
    let call = call.settle(state.dialects, &body);
    let dialect = call.dialect();
    let query = parts.uri.query();
    if !call.needs_token() {
        let answer = match call {
            Call::Rest(_) => accounts::register(state, &body).await,
            Call::Live(_) => live::self_register(state, &body).await,
        };
        return respond(answer, dialect);
    }
    let caller = match accounts::authenticate(state, &parts.headers, dialect).await {
        Ok(caller) => caller,
        Err(error) => return error.into_dialect_response(dialect),
    };
    let mut response = admitted(state, call, &caller, query, &body).await;
    response
        .extensions_mut()
        .insert(Agent(caller.user_id.clone()));
    response
}

/// An authenticated call: the agent's budget (429 past it, with the rate-limit
/// headers either way), then the call.
async fn admitted(
    state: &AppState,
    call: Call,
    caller: &Caller,
    query: Option<&str>,
    body: &[u8],
) -> Response {
    let dialect = call.dialect();
    let Some(limiter) = &state.limiter else {
        return respond(run(state, call, caller, query, body).await, dialect);
    };
    let (mut response, budget) = match limiter.check(&caller.user_id, Instant::now()) {
        Ok(budget) => (
            respond(run(state, call, caller, query, body).await, dialect),
            budget,
        ),
        Err(budget) => {
            let error = AppError::new(
                ErrorCode::RateLimited,
                format!(
                    "This agent made too many requests. Wait {} s and try again.",
                    budget.reset_secs
                ),
            )
            .with_header(header::RETRY_AFTER, budget.reset_secs.to_string());
            (error.into_dialect_response(dialect), budget)
        }
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (POLICY_HEADER, limiter.policy()),
        (STATE_HEADER, budget.header()),
    ] {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

/// Runs an authenticated, admitted call of either dialect.
async fn run(
    state: &AppState,
    call: Call,
    caller: &Caller,
    query: Option<&str>,
    body: &[u8],
) -> AppResult<Response> {
    match call {
        Call::Rest(route) => rest(state, route.with_query(query)?, caller, body).await,
        Call::Live(call) => live::call(state, call, caller, body).await,
    }
}

/// Reads the whole body, refusing more than 64 KiB with a 413.
async fn read_body(headers: &HeaderMap, body: Body) -> AppResult<Bytes> {
    let too_large = || {
        AppError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "The request body is larger than {} KiB; send less.",
                BODY_MAX_BYTES / 1024
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_MAX_BYTES as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, BODY_MAX_BYTES)
        .await
        .map_err(|_| too_large())
}

/// Runs the handler of an authenticated, admitted call of the reference's dialect.
async fn rest(state: &AppState, route: Route, caller: &Caller, body: &[u8]) -> AppResult<Response> {
    match route {
        Route::Register => accounts::register(state, body).await,
        Route::BindAgent => accounts::bind(state, caller, body).await,
        Route::CreateSession => sessions::create(state, caller, body).await,
        Route::ListSessions { query } => sessions::list(state, caller, query).await,
        Route::GetSession { session_id } => sessions::get(state, caller, session_id).await,
        Route::SessionDetail { session_id } => sessions::detail(state, caller, session_id).await,
        Route::CloseSession { session_id } => sessions::close(state, caller, session_id).await,
        Route::SendSessionMessage { session_id } => {
            messages::send_session(state, caller, session_id, body).await
        }
        Route::ListSessionMessages { session_id, query } => {
            messages::list_session(state, caller, session_id, query).await
        }
        Route::AddParticipants { session_id } => {
            sessions::participants(state, caller, session_id, body, true).await
        }
        Route::RemoveParticipants { session_id } => {
            sessions::participants(state, caller, session_id, body, false).await
        }
        Route::WatchSession { session_id, query } => {
            watch::watch(state, caller, session_id, query).await
        }
        Route::SendPanelMessage { panel_id } => {
            messages::send_panel(state, caller, panel_id, body).await
        }
        Route::ListPanelMessages { panel_id, query } => {
            messages::list_panel(state, caller, panel_id, query).await
        }
        Route::WorkspaceGroup => groups::workspace_group(state, caller).await,
        Route::JoinGroup => groups::join(state, caller, body).await,
    }
}
