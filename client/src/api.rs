//! All HTTP of the dashboard and the widget: typed calls to the edge worker
//! on this origin, every one through one request function ([`Api::fetch`]),
//! which any call may abort. Views call these methods on the [`Api`] in
//! context; they never build URLs or parse errors. The worker holds every
//! claw token: this module only ever names agents by id.

use gloo_net::http::{Request, RequestBuilder, Response};
use leptos::prelude::*;
use mochat_api::edge::{
    AGENTS_PATH, AgentList, EdgeWatchRequest, EdgeWatchResponse, HEALTH_PATH, Health,
    RegisteredAgent, SESSION_PATH, SESSIONS_PATH, SignInRequest, SignInStatus, VisitorDetails,
    WATCH_PATH,
};
use mochat_api::limits::AGENT_HEADER;
use mochat_api::ratelimit::{self, RateInfo};
use mochat_api::requests::{
    BindRequest, BindResponse, CreateSessionRequest, JoinRequest, JoinResponse, PageQuery,
    ParticipantsRequest, RegisterRequest, SendMessageRequest, WatchQuery, WatchResponse,
};
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

use crate::{boot, json};

/// A failed call: the envelope's error, or a network error turned into one.
pub type ApiResult<T> = Result<T, ApiError>;

/// The code of the error a call returns when its abort signal fired (the
/// page cancelled it; nobody needs to be told).
const ABORTED: &str = "ABORTED";

/// Whether a call failed because the page aborted it.
pub fn is_aborted(err: &ApiError) -> bool {
    matches!(&err.code, ErrorCode::Unknown(code) if code == ABORTED)
}

/// Who the calls are made as, and where their answers report the budget:
/// one per app, in context (see [`use_api`]).
#[derive(Clone, Copy)]
pub struct Api {
    /// The agent the dashboard acts as (`X-MoChat-Agent`); `None`: the worker's default.
    agent: RwSignal<Option<String>>,
    /// The widget visitor's token (`Authorization: Bearer`), in the widget only.
    visitor: StoredValue<Option<String>>,
    /// Set from every answer's rate-limit headers.
    rate: RwSignal<Option<RateInfo>>,
}

/// The [`Api`] of this app.
pub fn use_api() -> Api {
    expect_context::<Api>()
}

fn network_error(err: gloo_net::Error) -> ApiError {
    ApiError::new(
        ErrorCode::UpstreamUnavailable,
        format!("Cannot reach the MoChat server ({err}). Check your connection."),
    )
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

impl Api {
    /// Calls made as the agent `agent` says, reporting budgets to `rate`;
    /// provided as context.
    pub fn provide(agent: RwSignal<Option<String>>, rate: RwSignal<Option<RateInfo>>) -> Self {
        let api = Self {
            agent,
            visitor: StoredValue::new(None),
            rate,
        };
        provide_context(api);
        api
    }

    /// The agent calls act as (`None`: the worker's default).
    pub fn agent(self) -> Option<String> {
        self.agent.try_get_untracked().flatten()
    }

    /// Makes later calls as the widget visitor with this token.
    pub fn set_visitor_token(self, token: Option<String>) {
        self.visitor.try_set_value(token);
    }

    /// The one request function: `method` on `url` with an optional JSON
    /// body, as the current agent or visitor; reports the answer's budget;
    /// the 2xx body, or the error (an abort through `abort`: [`is_aborted`]).
    /// Not generic: one copy in the WebAssembly for every call.
    async fn fetch(
        self,
        method: Method,
        url: &str,
        body: Option<String>,
        abort: Option<&AbortSignal>,
    ) -> ApiResult<String> {
        let failed = |e: gloo_net::Error| {
            if abort.is_some_and(AbortSignal::aborted) {
                ApiError::new(ErrorCode::Unknown(ABORTED.to_owned()), "Cancelled.")
            } else {
                network_error(e)
            }
        };
        // The page's boot script may have read this already (see `boot`).
        let booted = match (method, &body) {
            (Method::Get, None) if self.is_default() => boot::take(url).await,
            _ => None,
        };
        let b = self.builder(method, url).abort_signal(abort);
        let resp = match (booted, body) {
            (Some(answer), _) => Ok(Response::from(answer)),
            (None, Some(text)) => {
                b.header("Content-Type", "application/json")
                    .body(text)
                    .map_err(network_error)?
                    .send()
                    .await
            }
            (None, None) => b.send().await,
        }
        .map_err(failed)?;
        self.report(&resp);
        let status = resp.status();
        let text = resp.text().await.map_err(failed)?;
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(ApiError::from_envelope(status, json::parse(&text).ok()))
        }
    }

    /// Whether calls go as the worker's default agent, without a visitor
    /// (as the page's boot script reads).
    fn is_default(self) -> bool {
        self.agent().is_none() && self.visitor.try_get_value().flatten().is_none()
    }

    fn builder(self, method: Method, url: &str) -> RequestBuilder {
        let b = match method {
            Method::Get => Request::get(url),
            Method::Post => Request::post(url),
            Method::Delete => Request::delete(url),
        };
        let b = match self.agent() {
            Some(id) => b.header(AGENT_HEADER, &id),
            None => b,
        };
        match self.visitor.try_get_value().flatten() {
            Some(token) => b.header("Authorization", &format!("{BEARER}{token}")),
            None => b,
        }
    }

    /// Hands the budget an answer reports to the app.
    fn report(self, resp: &Response) {
        let headers = resp.headers();
        if let Some(info) = RateInfo::from_headers(
            headers.get(ratelimit::POLICY_HEADER).as_deref(),
            headers.get(ratelimit::STATE_HEADER).as_deref(),
            headers.get(ratelimit::RETRY_AFTER_HEADER).as_deref(),
            resp.status(),
        ) {
            self.rate.try_set(Some(info));
        }
    }

    /// One of the worker's own routes.
    async fn edge<T: DeserializeOwned>(
        self,
        method: Method,
        path: &str,
        body: Option<String>,
        abort: Option<&AbortSignal>,
    ) -> ApiResult<T> {
        read(&self.fetch(method, path, body, abort).await?)
    }

    /// One call of the route table (its query inside the route).
    async fn call<T: DeserializeOwned>(
        self,
        route: Route,
        body: Option<String>,
        abort: Option<&AbortSignal>,
    ) -> ApiResult<T> {
        read(
            &self
                .fetch(route.method(), &route.api_target(), body, abort)
                .await?,
        )
    }

    /// A call of the route table with a JSON body.
    async fn post<T: DeserializeOwned>(
        self,
        route: Route,
        body: &(impl Serialize + ?Sized),
    ) -> ApiResult<T> {
        self.call(route, Some(body_of(body)?), None).await
    }

    // --- the worker's own routes ---------------------------------------------

    /// `GET /edge/health`: whether the worker reaches the MoChat API.
    pub async fn health(self) -> ApiResult<Health> {
        self.edge(Method::Get, HEALTH_PATH, None, None).await
    }

    /// `GET /edge/session`: the current sign-in, or 401.
    pub async fn session_status(self) -> ApiResult<SignInStatus> {
        self.edge(Method::Get, SESSION_PATH, None, None).await
    }

    /// `POST /edge/session`: signs in with the dashboard password.
    pub async fn sign_in(self, password: String) -> ApiResult<()> {
        let body = body_of(&SignInRequest { password })?;
        self.edge(Method::Post, SESSION_PATH, Some(body), None)
            .await
    }

    /// `DELETE /edge/session`: signs out (this session ends wherever its cookie
    /// was copied); `everywhere`: `DELETE /edge/sessions`, every session ends.
    pub async fn sign_out(self, everywhere: bool) -> ApiResult<()> {
        let path = if everywhere {
            SESSIONS_PATH
        } else {
            SESSION_PATH
        };
        self.edge(Method::Delete, path, None, None).await
    }

    /// `POST /edge/watch`: one long poll for many sessions and the session
    /// list of the current agent; `abort` cancels it when the view goes away.
    pub async fn edge_watch(
        self,
        request: &EdgeWatchRequest,
        abort: &AbortSignal,
    ) -> ApiResult<EdgeWatchResponse> {
        let body = body_of(request)?;
        self.edge(Method::Post, WATCH_PATH, Some(body), Some(abort))
            .await
    }

    /// `GET /edge/agents`: the agents whose tokens the worker holds.
    pub async fn agents(self) -> ApiResult<AgentList> {
        self.edge(Method::Get, AGENTS_PATH, None, None).await
    }

    /// `GET /edge/visitors`: what the worker keeps of a widget visitor.
    pub async fn visitor_details(self, site: String, id: String) -> ApiResult<VisitorDetails> {
        let target = mochat_api::edge::visitor_target(&site, &id);
        self.edge(Method::Get, &target, None, None).await
    }

    // --- the widget's routes -------------------------------------------------

    /// `POST /edge/widget/visitor`: a new visitor of `site`, with their token.
    pub async fn new_visitor(self, site: String) -> ApiResult<VisitorInfo> {
        let body = body_of(&NewVisitorRequest {
            site,
            ..NewVisitorRequest::default()
        })?;
        self.edge(Method::Post, VISITOR_PATH, Some(body), None)
            .await
    }

    /// `GET /edge/widget/me`: the visitor's record (401 when the token is no longer valid).
    pub async fn visitor_me(self) -> ApiResult<VisitorInfo> {
        self.edge(Method::Get, ME_PATH, None, None).await
    }

    /// `POST /edge/widget/me`: who the host page says the visitor is.
    pub async fn identify(
        self,
        name: Option<String>,
        email: Option<String>,
    ) -> ApiResult<VisitorInfo> {
        let body = body_of(&IdentifyRequest { name, email })?;
        self.edge(Method::Post, ME_PATH, Some(body), None).await
    }

    /// `POST /edge/widget/conversation`: opens (or returns) the visitor's session.
    pub async fn open_conversation(self) -> ApiResult<VisitorInfo> {
        self.edge(Method::Post, CONVERSATION_PATH, None, None).await
    }

    // --- the 16 calls --------------------------------------------------------

    /// Registers a new agent; the worker keeps its token.
    pub async fn register(self, req: RegisterRequest) -> ApiResult<RegisteredAgent> {
        self.post(Route::Register, &req).await
    }

    /// Binds the current agent to a person's email.
    pub async fn bind(self, email: String) -> ApiResult<BindResponse> {
        self.post(Route::BindAgent, &BindRequest { email }).await
    }

    pub async fn create_session(
        self,
        participants: Vec<String>,
        title: Option<String>,
    ) -> ApiResult<Session> {
        let req = CreateSessionRequest {
            participants,
            title,
        };
        self.post(Route::CreateSession, &req).await
    }

    pub async fn list_sessions(self, query: PageQuery) -> ApiResult<SessionPage> {
        self.call(Route::ListSessions { query }, None, None).await
    }

    pub async fn session_detail(self, session_id: String) -> ApiResult<SessionDetail> {
        let route = Route::SessionDetail { session_id };
        self.call(route, None, None).await
    }

    pub async fn close_session(self, session_id: String) -> ApiResult<Session> {
        let route = Route::CloseSession { session_id };
        self.call(route, None, None).await
    }

    pub async fn session_messages(
        self,
        session_id: String,
        query: PageQuery,
    ) -> ApiResult<MessagePage> {
        let route = Route::ListSessionMessages { session_id, query };
        self.call(route, None, None).await
    }

    pub async fn send_session_message(
        self,
        session_id: String,
        req: SendMessageRequest,
    ) -> ApiResult<Message> {
        self.post(Route::SendSessionMessage { session_id }, &req)
            .await
    }

    pub async fn add_participants(
        self,
        session_id: String,
        participants: Vec<String>,
    ) -> ApiResult<Session> {
        let req = ParticipantsRequest { participants };
        self.post(Route::AddParticipants { session_id }, &req).await
    }

    pub async fn remove_participants(
        self,
        session_id: String,
        participants: Vec<String>,
    ) -> ApiResult<Session> {
        let req = ParticipantsRequest { participants };
        self.post(Route::RemoveParticipants { session_id }, &req)
            .await
    }

    /// One long poll; `abort` cancels it when the view goes away.
    pub async fn watch(
        self,
        session_id: String,
        query: WatchQuery,
        abort: &AbortSignal,
    ) -> ApiResult<WatchResponse> {
        let route = Route::WatchSession { session_id, query };
        self.call(route, None, Some(abort)).await
    }

    pub async fn panel_messages(
        self,
        panel_id: String,
        query: PageQuery,
    ) -> ApiResult<MessagePage> {
        let route = Route::ListPanelMessages { panel_id, query };
        self.call(route, None, None).await
    }

    pub async fn send_panel_message(
        self,
        panel_id: String,
        req: SendMessageRequest,
    ) -> ApiResult<Message> {
        self.post(Route::SendPanelMessage { panel_id }, &req).await
    }

    pub async fn workspace_group(self) -> ApiResult<Group> {
        self.call(Route::WorkspaceGroup, None, None).await
    }

    pub async fn join_group(self, invite_code: String) -> ApiResult<JoinResponse> {
        self.post(Route::JoinGroup, &JoinRequest { invite_code })
            .await
    }
}
