//! All HTTP of the dashboard: typed calls to the edge worker on this origin.
//! Views call these functions; they never build URLs or parse errors. The
//! worker holds every claw token: this module only ever names agents by id.

use std::cell::RefCell;

use gloo_net::http::{Request, RequestBuilder, Response};
use mochat_api::edge::{
    AGENTS_PATH, AgentList, EdgeWatchRequest, EdgeWatchResponse, HEALTH_PATH, Health,
    RegisteredAgent, SESSION_PATH, SESSIONS_PATH, SignInRequest, SignInStatus, WATCH_PATH,
};
use mochat_api::requests::{
    BindRequest, BindResponse, CreateSessionRequest, JoinRequest, JoinResponse, PageQuery,
    ParticipantsRequest, RegisterRequest, SendMessageRequest, WatchQuery, WatchResponse,
};
use mochat_api::routes::API_PREFIX;
use mochat_api::widget::{
    BEARER, CONVERSATION_PATH, IdentifyRequest, ME_PATH, NewVisitorRequest, VISITOR_PATH,
    VisitorInfo,
};
use mochat_api::{
    ApiError, ErrorCode, Group, Message, MessagePage, Method, Route, Session, SessionDetail,
    SessionPage,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use web_sys::AbortSignal;

use crate::json;
use crate::rate::RateInfo;

/// A failed call: the envelope's error, or a network error turned into one.
pub type ApiResult<T> = Result<T, ApiError>;

/// The function that hears every `RateLimit` header.
type RateListener = Box<dyn Fn(RateInfo)>;

thread_local! {
    /// The agent the dashboard acts as (`X-MoChat-Agent`); `None` is the worker's default.
    static AGENT: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The widget visitor's token (`Authorization: Bearer`), in the widget only.
    static VISITOR: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Called with the budget every API answer reports.
    static ON_RATE: RefCell<Option<RateListener>> = const { RefCell::new(None) };
}

/// Makes later calls as the widget visitor with this token.
pub fn set_visitor_token(token: Option<String>) {
    VISITOR.with(|v| *v.borrow_mut() = token);
}

fn with_visitor(b: RequestBuilder) -> RequestBuilder {
    match VISITOR.with(|v| v.borrow().clone()) {
        Some(token) => b.header("Authorization", &format!("{BEARER}{token}")),
        None => b,
    }
}

/// Picks the agent later calls act as.
pub fn set_agent(agent_id: Option<String>) {
    AGENT.with(|a| *a.borrow_mut() = agent_id);
}

/// The agent calls act as.
pub fn agent() -> Option<String> {
    AGENT.with(|a| a.borrow().clone())
}

/// Registers the function that hears every `RateLimit` header.
pub fn on_rate_limit(f: impl Fn(RateInfo) + 'static) {
    ON_RATE.with(|r| *r.borrow_mut() = Some(Box::new(f)));
}

fn network_error(err: gloo_net::Error) -> ApiError {
    ApiError::new(
        ErrorCode::UpstreamUnavailable,
        format!("Cannot reach the MoChat server ({err}). Check your connection."),
    )
}

/// Whether an error means the request was aborted by the page itself.
pub fn is_aborted(err: &ApiError) -> bool {
    err.message.contains("AbortError") || err.message.contains("aborted")
}

/// Reports the budget of an answer, then reads its JSON or its error envelope.
async fn decode<T: DeserializeOwned>(resp: Response) -> ApiResult<T> {
    read(&answer(resp).await?)
}

/// Reports the budget of an answer; its body when it is a 2xx, else its
/// error. (Not generic: one copy in the WebAssembly for every call.)
async fn answer(resp: Response) -> ApiResult<String> {
    let headers = resp.headers();
    if let Some(info) = RateInfo::from_headers(
        headers.get("RateLimit-Policy").as_deref(),
        headers.get("RateLimit").as_deref(),
        headers.get("Retry-After").as_deref(),
        resp.status(),
    ) {
        ON_RATE.with(|r| {
            if let Some(f) = r.borrow().as_ref() {
                f(info);
            }
        });
    }
    let status = resp.status();
    let body = resp.text().await.map_err(network_error)?;
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(ApiError::from_envelope(status, json::parse(&body).ok()))
    }
}

/// A 2xx body as `T` (an empty body reads as `null`).
fn read<T: DeserializeOwned>(body: &str) -> ApiResult<T> {
    let body = if body.is_empty() { "null" } else { body };
    json::parse(body).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("The server sent an answer this page cannot read ({e}). Reload the page."),
        )
    })
}

/// `value` as a JSON request body.
fn body_of(value: &(impl Serialize + ?Sized)) -> ApiResult<String> {
    json::to_text(value).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Internal,
            "This page could not write its request. Reload the page.",
        )
    })
}

/// The request with `body` as its JSON body.
fn with_json(b: RequestBuilder, body: &(impl Serialize + ?Sized)) -> ApiResult<Request> {
    with_body(b, body_of(body)?)
}

fn with_body(b: RequestBuilder, text: String) -> ApiResult<Request> {
    b.header("Content-Type", "application/json")
        .body(text)
        .map_err(network_error)
}

fn builder(method: Method, url: &str) -> RequestBuilder {
    let b = match method {
        Method::Get => Request::get(url),
        Method::Post => Request::post(url),
        Method::Delete => Request::delete(url),
    };
    let b = match agent() {
        Some(id) => b.header(mochat_api::limits::AGENT_HEADER, &id),
        None => b,
    };
    with_visitor(b)
}

/// Sends one call of the route table, with an optional JSON body, query and abort signal.
async fn call<T: DeserializeOwned>(
    route: Route,
    query: String,
    body: Option<&impl Serialize>,
    abort: Option<&AbortSignal>,
) -> ApiResult<T> {
    let body = body.map(body_of).transpose()?;
    read(&send(&route, &query, body, abort).await?)
}

/// The network side of [`call`]: the 2xx body, or the error.
async fn send(
    route: &Route,
    query: &str,
    body: Option<String>,
    abort: Option<&AbortSignal>,
) -> ApiResult<String> {
    let url = format!("{API_PREFIX}{}{query}", route.path());
    let b = builder(route.method(), &url).abort_signal(abort);
    let resp = match body {
        Some(text) => with_body(b, text)?.send().await,
        None => b.send().await,
    }
    .map_err(network_error)?;
    answer(resp).await
}

const NO_BODY: Option<&()> = None;

// --- the worker's own routes -------------------------------------------------

/// `GET /edge/health`: whether the worker reaches the MoChat API.
pub async fn health() -> ApiResult<Health> {
    decode(
        Request::get(HEALTH_PATH)
            .send()
            .await
            .map_err(network_error)?,
    )
    .await
}

/// `GET /edge/session`: the current sign-in, or 401.
pub async fn session_status() -> ApiResult<SignInStatus> {
    decode(
        Request::get(SESSION_PATH)
            .send()
            .await
            .map_err(network_error)?,
    )
    .await
}

/// `POST /edge/session`: signs in with the dashboard password.
pub async fn sign_in(password: String) -> ApiResult<()> {
    let resp = with_json(Request::post(SESSION_PATH), &SignInRequest { password })?
        .send()
        .await
        .map_err(network_error)?;
    decode(resp).await
}

/// `DELETE /edge/session`: signs out (this session ends wherever its cookie
/// was copied); `everywhere`: `DELETE /edge/sessions`, every session ends.
pub async fn sign_out(everywhere: bool) -> ApiResult<()> {
    let path = if everywhere {
        SESSIONS_PATH
    } else {
        SESSION_PATH
    };
    decode(Request::delete(path).send().await.map_err(network_error)?).await
}

/// `POST /edge/watch`: one long poll for many sessions and the session
/// list of the current agent; `abort` cancels it when the view goes away.
pub async fn edge_watch(
    request: &EdgeWatchRequest,
    abort: &AbortSignal,
) -> ApiResult<EdgeWatchResponse> {
    let resp = with_json(
        builder(Method::Post, WATCH_PATH).abort_signal(Some(abort)),
        request,
    )?
    .send()
    .await
    .map_err(network_error)?;
    decode(resp).await
}

/// `GET /edge/agents`: the agents whose tokens the worker holds.
pub async fn agents() -> ApiResult<AgentList> {
    decode(
        Request::get(AGENTS_PATH)
            .send()
            .await
            .map_err(network_error)?,
    )
    .await
}

// --- the widget's routes -----------------------------------------------------

/// `POST /edge/widget/visitor`: a new visitor of `site`, with their token.
pub async fn new_visitor(site: String) -> ApiResult<VisitorInfo> {
    let req = NewVisitorRequest {
        site,
        ..NewVisitorRequest::default()
    };
    let resp = with_json(Request::post(VISITOR_PATH), &req)?
        .send()
        .await
        .map_err(network_error)?;
    decode(resp).await
}

/// `GET /edge/widget/me`: the visitor's record (401 when the token is no longer valid).
pub async fn visitor_me() -> ApiResult<VisitorInfo> {
    let resp = with_visitor(Request::get(ME_PATH))
        .send()
        .await
        .map_err(network_error)?;
    decode(resp).await
}

/// `POST /edge/widget/me`: who the host page says the visitor is.
pub async fn identify(name: Option<String>, email: Option<String>) -> ApiResult<VisitorInfo> {
    let resp = with_json(
        with_visitor(Request::post(ME_PATH)),
        &IdentifyRequest { name, email },
    )?
    .send()
    .await
    .map_err(network_error)?;
    decode(resp).await
}

/// `POST /edge/widget/conversation`: opens (or returns) the visitor's session.
pub async fn open_conversation() -> ApiResult<VisitorInfo> {
    let resp = with_visitor(Request::post(CONVERSATION_PATH))
        .send()
        .await
        .map_err(network_error)?;
    decode(resp).await
}

// --- the 16 calls ------------------------------------------------------------

/// Registers a new agent; the worker keeps its token.
pub async fn register(req: RegisterRequest) -> ApiResult<RegisteredAgent> {
    call(Route::Register, String::new(), Some(&req), None).await
}

/// Binds the current agent to a person's email.
pub async fn bind(email: String) -> ApiResult<BindResponse> {
    call(
        Route::BindAgent,
        String::new(),
        Some(&BindRequest { email }),
        None,
    )
    .await
}

pub async fn create_session(
    participants: Vec<String>,
    title: Option<String>,
) -> ApiResult<Session> {
    let req = CreateSessionRequest {
        participants,
        title,
    };
    call(Route::CreateSession, String::new(), Some(&req), None).await
}

pub async fn list_sessions(query: PageQuery) -> ApiResult<SessionPage> {
    call(Route::ListSessions, query.to_query(), NO_BODY, None).await
}

pub async fn session_detail(session_id: String) -> ApiResult<SessionDetail> {
    call(
        Route::SessionDetail { session_id },
        String::new(),
        NO_BODY,
        None,
    )
    .await
}

pub async fn close_session(session_id: String) -> ApiResult<Session> {
    call(
        Route::CloseSession { session_id },
        String::new(),
        NO_BODY,
        None,
    )
    .await
}

pub async fn session_messages(session_id: String, query: PageQuery) -> ApiResult<MessagePage> {
    call(
        Route::ListSessionMessages { session_id },
        query.to_query(),
        NO_BODY,
        None,
    )
    .await
}

pub async fn send_session_message(
    session_id: String,
    req: SendMessageRequest,
) -> ApiResult<Message> {
    call(
        Route::SendSessionMessage { session_id },
        String::new(),
        Some(&req),
        None,
    )
    .await
}

pub async fn add_participants(session_id: String, participants: Vec<String>) -> ApiResult<Session> {
    let req = ParticipantsRequest { participants };
    call(
        Route::AddParticipants { session_id },
        String::new(),
        Some(&req),
        None,
    )
    .await
}

pub async fn remove_participants(
    session_id: String,
    participants: Vec<String>,
) -> ApiResult<Session> {
    let req = ParticipantsRequest { participants };
    call(
        Route::RemoveParticipants { session_id },
        String::new(),
        Some(&req),
        None,
    )
    .await
}

/// One long poll; `abort` cancels it when the view goes away.
pub async fn watch(
    session_id: String,
    query: WatchQuery,
    abort: &AbortSignal,
) -> ApiResult<WatchResponse> {
    call(
        Route::WatchSession { session_id },
        query.to_query(),
        NO_BODY,
        Some(abort),
    )
    .await
}

pub async fn panel_messages(panel_id: String, query: PageQuery) -> ApiResult<MessagePage> {
    call(
        Route::ListPanelMessages { panel_id },
        query.to_query(),
        NO_BODY,
        None,
    )
    .await
}

pub async fn send_panel_message(panel_id: String, req: SendMessageRequest) -> ApiResult<Message> {
    call(
        Route::SendPanelMessage { panel_id },
        String::new(),
        Some(&req),
        None,
    )
    .await
}

pub async fn workspace_group() -> ApiResult<Group> {
    call(Route::WorkspaceGroup, String::new(), NO_BODY, None).await
}

pub async fn join_group(invite_code: String) -> ApiResult<JoinResponse> {
    call(
        Route::JoinGroup,
        String::new(),
        Some(&JoinRequest { invite_code }),
        None,
    )
    .await
}
