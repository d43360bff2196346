//! The live service's dialect of the MoChat API, written once: every call a
//! `POST /api/claw/<noun>/<verb>` with a JSON body, answers wrapped as
//! `{"code":200,"data":{…}}`, errors `{"code":N,"name":"<ERROR_CODE>","message":"…"}`
//! with the HTTP status equal to `code`. The local server answers it; the edge
//! worker calls it and turns its answers back into the reference's shapes.
//!
//! Shapes follow the public MoChat clients: unknown fields are tolerated, and a
//! field the live service does not always send is an `Option`.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorCode};
use crate::model::{EventType, SessionStatus, UserType};
use crate::routes::{Method, Route, RouteError, is_valid_id};

/// Where every live call lives: `/api/claw/` followed by [`LiveCall::path`].
pub const LIVE_PREFIX: &str = "/api/claw/";
/// Default `limit` of `sessions/list`.
pub const SESSION_LIST_DEFAULT: u32 = 200;
/// Largest `limit` of `sessions/list`.
pub const SESSION_LIST_MAX: u32 = 500;
/// The visibility of a session created without one.
pub const DEFAULT_VISIBILITY: &str = "private";
/// The visibilities `sessions/create` accepts.
pub const VISIBILITIES: [&str; 2] = ["private", "public"];
/// The policies `sessions/close` accepts.
pub const CLOSE_POLICIES: [&str; 3] = ["archive", "lock", "cleanup"];
/// The `code` of a successful answer.
pub const OK_CODE: u16 = 200;

// ---- calls ----------------------------------------------------------------------------

/// One call of the live dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiveCall {
    SessionsCreate,
    SessionsGet,
    SessionsDetail,
    SessionsClose,
    SessionsList,
    SessionsSend,
    SessionsMessages,
    SessionsAddParticipants,
    SessionsRemoveParticipants,
    SessionsWatch,
    PanelsSend,
    PanelsMessages,
    GroupsGet,
    GroupsJoinByInvite,
    AgentsSelfRegister,
    AgentsBind,
}

/// Which id of the reference's path a live call carries in its body instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyId {
    /// `sessionId`.
    Session,
    /// `panelId`.
    Panel,
}

impl BodyId {
    /// The body field that holds the id.
    pub fn field(self) -> &'static str {
        match self {
            Self::Session => "sessionId",
            Self::Panel => "panelId",
        }
    }
}

impl LiveCall {
    /// Every call, in the order of the reference's route table.
    pub const ALL: [LiveCall; 16] = [
        Self::AgentsSelfRegister,
        Self::AgentsBind,
        Self::SessionsCreate,
        Self::SessionsList,
        Self::SessionsGet,
        Self::SessionsDetail,
        Self::SessionsClose,
        Self::SessionsSend,
        Self::SessionsMessages,
        Self::SessionsAddParticipants,
        Self::SessionsRemoveParticipants,
        Self::SessionsWatch,
        Self::PanelsSend,
        Self::PanelsMessages,
        Self::GroupsGet,
        Self::GroupsJoinByInvite,
    ];

    /// The path after [`LIVE_PREFIX`], e.g. `sessions/watch`.
    pub fn path(self) -> &'static str {
        match self {
            Self::SessionsCreate => "sessions/create",
            Self::SessionsGet => "sessions/get",
            Self::SessionsDetail => "sessions/detail",
            Self::SessionsClose => "sessions/close",
            Self::SessionsList => "sessions/list",
            Self::SessionsSend => "sessions/send",
            Self::SessionsMessages => "sessions/messages",
            Self::SessionsAddParticipants => "sessions/addParticipants",
            Self::SessionsRemoveParticipants => "sessions/removeParticipants",
            Self::SessionsWatch => "sessions/watch",
            Self::PanelsSend => "groups/panels/send",
            Self::PanelsMessages => "groups/panels/messages",
            Self::GroupsGet => "groups/get",
            Self::GroupsJoinByInvite => "groups/joinByInvite",
            Self::AgentsSelfRegister => "agents/selfRegister",
            Self::AgentsBind => "agents/bind",
        }
    }

    /// The path from the root of the origin, e.g. `/api/claw/sessions/watch`.
    pub fn url_path(self) -> String {
        format!("{LIVE_PREFIX}{}", self.path())
    }

    /// The call at `path` (from the root of the origin, no query), if any.
    /// Matching is exact: no trailing slash, no other case, no encoding.
    pub fn from_path(path: &str) -> Option<Self> {
        let rest = path.strip_prefix(LIVE_PREFIX)?;
        Self::ALL.into_iter().find(|call| call.path() == rest)
    }

    /// Matches a method name and a path: every live call is a `POST`.
    pub fn parse(method: &str, path: &str) -> Result<Self, RouteError> {
        let call = Self::from_path(path).ok_or(RouteError::NotFound)?;
        if Method::parse(method) == Some(Method::Post) {
            Ok(call)
        } else {
            Err(RouteError::MethodNotAllowed {
                allow: vec![Method::Post],
            })
        }
    }

    /// Whether the call needs an agent's token (all but `agents/selfRegister`).
    pub fn needs_token(self) -> bool {
        self != Self::AgentsSelfRegister
    }

    /// The id the reference has in its path and this call in its body.
    pub fn body_id(self) -> Option<BodyId> {
        match self {
            Self::SessionsGet
            | Self::SessionsDetail
            | Self::SessionsClose
            | Self::SessionsSend
            | Self::SessionsMessages
            | Self::SessionsAddParticipants
            | Self::SessionsRemoveParticipants
            | Self::SessionsWatch => Some(BodyId::Session),
            Self::PanelsSend | Self::PanelsMessages => Some(BodyId::Panel),
            Self::SessionsCreate
            | Self::SessionsList
            | Self::GroupsGet
            | Self::GroupsJoinByInvite
            | Self::AgentsSelfRegister
            | Self::AgentsBind => None,
        }
    }

    /// The live call of a reference route, and the id of its path, which the
    /// live body carries as [`BodyId::field`].
    pub fn from_route(route: &Route) -> (Self, Option<&str>) {
        let call = match route {
            Route::Register => Self::AgentsSelfRegister,
            Route::BindAgent => Self::AgentsBind,
            Route::CreateSession => Self::SessionsCreate,
            Route::ListSessions => Self::SessionsList,
            Route::GetSession { .. } => Self::SessionsGet,
            Route::SessionDetail { .. } => Self::SessionsDetail,
            Route::CloseSession { .. } => Self::SessionsClose,
            Route::SendSessionMessage { .. } => Self::SessionsSend,
            Route::ListSessionMessages { .. } => Self::SessionsMessages,
            Route::AddParticipants { .. } => Self::SessionsAddParticipants,
            Route::RemoveParticipants { .. } => Self::SessionsRemoveParticipants,
            Route::WatchSession { .. } => Self::SessionsWatch,
            Route::SendPanelMessage { .. } => Self::PanelsSend,
            Route::ListPanelMessages { .. } => Self::PanelsMessages,
            Route::WorkspaceGroup => Self::GroupsGet,
            Route::JoinGroup => Self::GroupsJoinByInvite,
        };
        let id = match route {
            Route::GetSession { session_id }
            | Route::SessionDetail { session_id }
            | Route::CloseSession { session_id }
            | Route::SendSessionMessage { session_id }
            | Route::ListSessionMessages { session_id }
            | Route::AddParticipants { session_id }
            | Route::RemoveParticipants { session_id }
            | Route::WatchSession { session_id } => Some(session_id.as_str()),
            Route::SendPanelMessage { panel_id } | Route::ListPanelMessages { panel_id } => {
                Some(panel_id.as_str())
            }
            Route::Register
            | Route::BindAgent
            | Route::CreateSession
            | Route::ListSessions
            | Route::WorkspaceGroup
            | Route::JoinGroup => None,
        };
        (call, id)
    }

    /// The reference route of this call, given the id its body carries (see
    /// [`LiveCall::body_id`]; ignored by calls without one). `None` when the
    /// call needs an id and `id` is missing or not a valid id.
    pub fn to_route(self, id: Option<&str>) -> Option<Route> {
        let id = || id.filter(|id| is_valid_id(id)).map(str::to_owned);
        Some(match self {
            Self::AgentsSelfRegister => Route::Register,
            Self::AgentsBind => Route::BindAgent,
            Self::SessionsCreate => Route::CreateSession,
            Self::SessionsList => Route::ListSessions,
            Self::GroupsGet => Route::WorkspaceGroup,
            Self::GroupsJoinByInvite => Route::JoinGroup,
            Self::SessionsGet => Route::GetSession { session_id: id()? },
            Self::SessionsDetail => Route::SessionDetail { session_id: id()? },
            Self::SessionsClose => Route::CloseSession { session_id: id()? },
            Self::SessionsSend => Route::SendSessionMessage { session_id: id()? },
            Self::SessionsMessages => Route::ListSessionMessages { session_id: id()? },
            Self::SessionsAddParticipants => Route::AddParticipants { session_id: id()? },
            Self::SessionsRemoveParticipants => Route::RemoveParticipants { session_id: id()? },
            Self::SessionsWatch => Route::WatchSession { session_id: id()? },
            Self::PanelsSend => Route::SendPanelMessage { panel_id: id()? },
            Self::PanelsMessages => Route::ListPanelMessages { panel_id: id()? },
        })
    }
}

impl fmt::Display for LiveCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

// ---- wire -----------------------------------------------------------------------------

/// A successful answer: `{"code":200,"data":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveOk<T> {
    pub code: u16,
    pub data: T,
}

impl<T> LiveOk<T> {
    /// Wraps `data` with code 200.
    pub fn new(data: T) -> Self {
        Self {
            code: OK_CODE,
            data,
        }
    }
}

/// An error answer: `{"code":N,"name":"<ERROR_CODE>","message":"…"}`; the HTTP
/// status equals `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveError {
    pub code: u16,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub message: String,
}

impl LiveError {
    /// The live form of a contract error: the name is its code, e.g. `NOT_FOUND`.
    pub fn from_api(error: &ApiError) -> Self {
        Self {
            code: error.status(),
            name: error.code.as_str().to_owned(),
            message: error.message.clone(),
        }
    }

    /// The contract error of a live error: its name when the contract knows it,
    /// otherwise the code that goes with its status.
    pub fn to_api(&self) -> ApiError {
        let code = match ErrorCode::from(self.name.clone()) {
            ErrorCode::Unknown(_) => ErrorCode::from_status(self.code),
            known => known,
        };
        let message = [&self.message, &self.name]
            .into_iter()
            .find(|m| !m.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| {
                format!(
                    "The live service refused the call with code {} and no explanation.",
                    self.code
                )
            });
        ApiError::new(code, message)
    }
}

impl From<&ApiError> for LiveError {
    fn from(error: &ApiError) -> Self {
        Self::from_api(error)
    }
}

/// Reads an answer the way the public clients do: a non-2xx status is an error
/// (its live error body, or a reference envelope, or a code from the status); a
/// numeric `code` other than 200 is an error; with `code` 200 the answer is
/// `data`; an answer without `code` is the data itself.
pub fn decode_answer<T: DeserializeOwned>(status: u16, body: &str) -> Result<T, LiveError> {
    let value: Option<Value> = serde_json::from_str(body).ok();
    let wrapped_code = value
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_u64);
    if !(200..300).contains(&status) || wrapped_code.is_some_and(|c| c != u64::from(OK_CODE)) {
        let live = value
            .filter(|_| wrapped_code.is_some())
            .and_then(|v| serde_json::from_value::<LiveError>(v).ok());
        return Err(match live {
            Some(mut error) => {
                if !(400..600).contains(&error.code) {
                    error.code = if (200..300).contains(&status) {
                        ErrorCode::UpstreamUnavailable.status()
                    } else {
                        status
                    };
                }
                error
            }
            None => LiveError::from_api(&ApiError::from_response(status, body)),
        });
    }
    let data = match value {
        Some(Value::Object(mut object)) if wrapped_code.is_some() => match object.remove("data") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(data) => data,
        },
        Some(other) => other,
        None => {
            return Err(LiveError {
                code: ErrorCode::UpstreamUnavailable.status(),
                name: ErrorCode::UpstreamUnavailable.as_str().to_owned(),
                message: "The live service answered with something that is not JSON.".into(),
            });
        }
    };
    serde_json::from_value(data).map_err(|e| LiveError {
        code: ErrorCode::UpstreamUnavailable.status(),
        name: ErrorCode::UpstreamUnavailable.as_str().to_owned(),
        message: format!("The live service answered in a shape this client does not know: {e}."),
    })
}

// ---- objects --------------------------------------------------------------------------

/// A live session's status: `active` is the reference's `open`. Other values
/// (a close policy may leave one) are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum LiveStatus {
    Active,
    Closed,
    Other(String),
}

impl LiveStatus {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "active",
            Self::Closed => "closed",
            Self::Other(other) => other,
        }
    }

    /// The reference's status: only `active` takes messages, so anything else is closed.
    pub fn to_reference(&self) -> SessionStatus {
        match self {
            Self::Active => SessionStatus::Open,
            Self::Closed | Self::Other(_) => SessionStatus::Closed,
        }
    }
}

impl From<SessionStatus> for LiveStatus {
    fn from(status: SessionStatus) -> Self {
        match status {
            SessionStatus::Open => Self::Active,
            SessionStatus::Closed => Self::Closed,
        }
    }
}

impl From<String> for LiveStatus {
    fn from(value: String) -> Self {
        match value.as_str() {
            "active" => Self::Active,
            "closed" => Self::Closed,
            _ => Self::Other(value),
        }
    }
}

impl From<LiveStatus> for String {
    fn from(value: LiveStatus) -> Self {
        value.as_str().to_owned()
    }
}

/// A live session. There is no title (it is `metadata.title`) and no last message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveSession {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// The id of the session's conversation, as notifications name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converse_id: Option<String>,
    /// User ids.
    #[serde(default)]
    pub participants: Vec<String>,
    /// `private` or `public`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    pub status: LiveStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl LiveSession {
    /// The reference's title: `metadata.title`, or `""`.
    pub fn title(&self) -> &str {
        title_of(self.metadata.as_ref())
    }
}

fn title_of(metadata: Option<&Map<String, Value>>) -> &str {
    metadata
        .and_then(|m| m.get("title"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Who wrote a message, as a live message carries it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<UserType>,
}

/// A live message, of a session or of a panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveMessage {
    pub message_id: String,
    /// The author's user id.
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_info: Option<AuthorInfo>,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// The session's converse id, or the panel's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converse_id: Option<String>,
    /// Set for panel messages only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_recall: Option<bool>,
}

/// A participant as `sessions/create` and the participant calls take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    #[serde(rename = "type")]
    pub kind: UserType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl Participant {
    /// A participant named by user id.
    pub fn by_id(kind: UserType, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: Some(id.into()),
            unique_name: None,
            email: None,
            name: None,
            avatar: None,
            metadata: None,
        }
    }
}

/// A participant of `sessions/detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailParticipant {
    pub user_id: String,
    #[serde(default)]
    pub nickname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(rename = "type")]
    pub kind: UserType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
}

/// The answer of `sessions/detail`: the session with its participants resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveSessionDetail {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converse_id: Option<String>,
    #[serde(default)]
    pub participants: Vec<DetailParticipant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LiveStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl LiveSessionDetail {
    /// The reference's title: `metadata.title`, or `""`.
    pub fn title(&self) -> &str {
        title_of(self.metadata.as_ref())
    }
}

/// One event of `sessions/watch`. Clients act on `message.add`, whose payload
/// is a [`LiveMessage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveEvent {
    pub seq: u64,
    pub session_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub payload: Value,
}

impl LiveEvent {
    /// The message of a `message.add` event.
    pub fn message(&self) -> Option<LiveMessage> {
        (self.kind == EventType::MessageAdd)
            .then(|| serde_json::from_value(self.payload.clone()).ok())
            .flatten()
    }

    /// The session of a `session.update` event.
    pub fn session(&self) -> Option<LiveSession> {
        (self.kind == EventType::SessionUpdate)
            .then(|| serde_json::from_value(self.payload.clone()).ok())
            .flatten()
    }
}

/// A panel of a live group. Type 0 is a text panel, the only kind clients read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivePanel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The same id under its database name; some answers carry only this one.
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: i64,
}

impl LivePanel {
    /// The panel's id: `id`, else `_id`.
    pub fn panel_id(&self) -> Option<&str> {
        self.id.as_deref().or(self.object_id.as_deref())
    }
}

/// The answer of `groups/get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveGroup {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub panels: Vec<LivePanel>,
}

// ---- bodies and answers of the calls -----------------------------------------------------

/// Body of `agents/selfRegister`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SelfRegisterBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// Answer of `agents/selfRegister`. Carries the secret token: it never reaches a browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelfRegisterData {
    pub token: String,
    pub bot_user_id: String,
    #[serde(default)]
    pub agent_id: Option<String>,
    pub workspace_id: String,
    pub group_id: String,
}

/// Body of `agents/bind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindBody {
    pub email: String,
    /// The first message of the direct session.
    pub greeting_msg: String,
}

/// Answer of `agents/bind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindData {
    #[serde(default = "yes")]
    pub success: bool,
    pub owner_user_id: String,
    pub session_id: String,
    pub converse_id: String,
}

fn yes() -> bool {
    true
}

/// Body of `sessions/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateSessionBody {
    pub participants: Vec<Participant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// `metadata.title` is the reference's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// Body of `sessions/get` and `sessions/detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIdBody {
    pub session_id: String,
}

/// Body of `sessions/close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseSessionBody {
    pub session_id: String,
    /// `archive`, `lock` or `cleanup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// Answer of `sessions/close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseSessionData {
    pub session_id: String,
    pub status: LiveStatus,
}

/// Body of `sessions/list`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListSessionsBody {
    /// RFC3339; only sessions updated strictly after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Answer of `sessions/list`: newest activity first, no paging cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionListData {
    #[serde(default)]
    pub sessions: Vec<LiveSession>,
}

/// Body of `sessions/send`. There is no `meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendBody {
    pub session_id: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

/// Answer of `sessions/send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendData {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<LiveMessage>,
}

/// Body of `sessions/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagesBody {
    pub session_id: String,
    /// The `nextCursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Answer of `sessions/messages`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagesData {
    pub session_id: String,
    #[serde(default)]
    pub messages: Vec<LiveMessage>,
    /// What to pass as `beforeMessageId` for the next older page; `null` at the start.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// Body of `sessions/addParticipants` and `sessions/removeParticipants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantsBody {
    pub session_id: String,
    pub participants: Vec<Participant>,
}

/// Answer of the participant calls (`status` from `removeParticipants`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantsData {
    pub session_id: String,
    #[serde(default)]
    pub participants: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LiveStatus>,
}

/// Body of `sessions/watch`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchBody {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Answer of `sessions/watch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchData {
    pub session_id: String,
    /// The seq of the last event returned, or the caller's cursor when none was.
    pub cursor: u64,
    #[serde(default)]
    pub events: Vec<LiveEvent>,
}

/// Body of `groups/panels/send`. There is no `meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PanelSendBody {
    pub panel_id: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

/// Answer of `groups/panels/send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PanelSendData {
    pub group_id: String,
    pub panel_id: String,
    pub message: LiveMessage,
}

/// Body of `groups/panels/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PanelMessagesBody {
    pub panel_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Answer of `groups/panels/messages`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PanelMessagesData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel_id: Option<String>,
    #[serde(default)]
    pub messages: Vec<LiveMessage>,
    /// What to pass as `beforeMessageId` for the next older page; `null` at the start.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// Body of `groups/get`; without a group id, the caller's workspace group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

/// Body of `groups/joinByInvite`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinBody {
    pub code: String,
}

/// Answer of `groups/joinByInvite`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinData {
    pub group_id: String,
    pub workspace_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip<T: Serialize + DeserializeOwned>(value: Value) -> T {
        let typed: T = serde_json::from_value(value.clone()).expect("parses");
        assert_eq!(serde_json::to_value(&typed).expect("serialises"), value);
        typed
    }

    /// The examples of the MoChat README's "Platform API Reference" (placeholder
    /// values such as `"agent | user"` replaced by real ones).
    #[test]
    fn readme_examples_round_trip() {
        let r: SelfRegisterBody = round_trip(json!({"name": "Agent", "avatar": "https://a/b.png",
            "metadata": {"username": "agent_1"}}));
        assert_eq!(r.name.as_deref(), Some("Agent"));
        let r: SelfRegisterData = round_trip(json!({"workspaceId": "string", "groupId": "string",
            "botUserId": "string", "agentId": null, "token": "claw_xxxxxxxxxxxx"}));
        assert!(r.agent_id.is_none());
        let b: BindBody = round_trip(json!({"email": "user@example.com", "greeting_msg": "Hi!"}));
        assert_eq!(b.greeting_msg, "Hi!");
        let b: BindData = round_trip(json!({"success": true, "ownerUserId": "string",
            "sessionId": "string", "converseId": "string"}));
        assert!(b.success);
        let c: CreateSessionBody = round_trip(json!({"participants": [
            {"type": "agent", "id": "agent_1"}, {"type": "user", "email": "ada@example.com",
            "name": "Ada", "avatar": "https://a/b.png"}, {"type": "user", "uniqueName": "grace"}],
            "visibility": "private", "metadata": {"title": "Plan"}}));
        assert_eq!(
            c.participants[0],
            Participant::by_id(UserType::Agent, "agent_1")
        );
        let s: LiveSession = round_trip(json!({"sessionId": "string", "workspaceId": "string",
            "converseId": "string", "participants": ["userId1", "userId2"],
            "visibility": "private", "status": "active"}));
        assert_eq!(s.status.to_reference(), SessionStatus::Open);
        assert_eq!(s.title(), "");
        let m: SendBody = round_trip(json!({"sessionId": "string", "content": "string",
            "replyTo": "msg_1"}));
        assert_eq!(m.reply_to.as_deref(), Some("msg_1"));
        let d: SendData = round_trip(json!({"sessionId": "string", "message": {
            "messageId": "string", "content": "string", "author": "string",
            "authorInfo": {"userId": "string", "nickname": "string", "avatar": "string"},
            "createdAt": "ISO 8601"}}));
        assert_eq!(
            d.message.and_then(|m| m.author_info?.nickname),
            Some("string".into())
        );
        let g: LiveSession = round_trip(json!({"sessionId": "string", "workspaceId": "string",
            "converseId": "string", "participants": ["userId1", "userId2"],
            "visibility": "private", "status": "active", "metadata": {}}));
        assert_eq!(g.metadata, Some(Map::new()));
        let detail: LiveSessionDetail = round_trip(json!({"sessionId": "string", "participants": [
            {"userId": "string", "nickname": "string", "email": "string", "avatar": "string",
             "type": "agent", "online": true}]}));
        assert_eq!(detail.participants[0].kind, UserType::Agent);
        let q: MessagesBody = round_trip(json!({"sessionId": "string",
            "beforeMessageId": "msg_9", "limit": 50}));
        assert_eq!(q.limit, Some(50));
        let page: MessagesData = round_trip(json!({"sessionId": "string", "messages": [
            {"messageId": "string", "content": "string", "author": "string",
             "authorInfo": {"userId": "string", "nickname": "string"},
             "createdAt": "ISO 8601", "hasRecall": false}], "nextCursor": null}));
        assert!(page.next_cursor.is_none());
        let l: ListSessionsBody = round_trip(json!({"updatedAfter": "2026-01-01T00:00:00.000Z",
            "limit": 200}));
        assert_eq!(l.limit, Some(200));
        let list: SessionListData = round_trip(json!({"sessions": [{"sessionId": "string",
            "participants": ["..."], "status": "active", "updatedAt": "ISO 8601",
            "createdAt": "ISO 8601"}]}));
        assert_eq!(list.sessions.len(), 1);
        let w: WatchBody = round_trip(json!({"sessionId": "s", "cursor": 0, "timeoutMs": 25000,
            "limit": 100}));
        assert_eq!(w.timeout_ms, Some(25_000));
        let w: WatchData = round_trip(json!({"sessionId": "string", "cursor": 42, "events": [
            {"seq": 42, "type": "message", "sessionId": "string", "timestamp": "ISO 8601",
             "payload": {}}]}));
        assert_eq!(w.events[0].kind, EventType::Unknown("message".into()));
        let p: ParticipantsBody = round_trip(json!({"sessionId": "s", "participants": [
            {"type": "user", "id": "user_1"}]}));
        assert_eq!(p.participants.len(), 1);
        let a: ParticipantsData = round_trip(json!({"sessionId": "string",
            "participants": ["userId1", "userId2", "userId3"]}));
        assert!(a.status.is_none());
        let r: ParticipantsData = round_trip(json!({"sessionId": "string",
            "participants": ["userId1"], "status": "active"}));
        assert_eq!(r.status, Some(LiveStatus::Active));
        let c: CloseSessionBody = round_trip(json!({"sessionId": "s", "policy": "archive"}));
        assert_eq!(c.policy.as_deref(), Some("archive"));
        let c: CloseSessionData = round_trip(json!({"sessionId": "string", "status": "closed"}));
        assert_eq!(c.status, LiveStatus::Closed);
        let g: LiveGroup = round_trip(json!({"_id": "string", "panels": [
            {"id": "string", "name": "#Cafe_Talk", "type": 0},
            {"id": "string", "name": "#Town-Hall", "type": 0}]}));
        assert_eq!(g.panels[1].panel_id(), Some("string"));
        let s: PanelSendBody = round_trip(json!({"panelId": "p", "content": "hi",
            "groupId": "g", "replyTo": "m"}));
        assert_eq!(s.group_id.as_deref(), Some("g"));
        let s: PanelSendData = round_trip(json!({"groupId": "string", "panelId": "string",
            "message": {"messageId": "string", "content": "string", "author": "string",
            "authorInfo": {}, "createdAt": "ISO 8601"}}));
        assert_eq!(s.message.author_info, Some(AuthorInfo::default()));
        let q: PanelMessagesBody = round_trip(json!({"panelId": "p", "groupId": "g",
            "beforeMessageId": "m", "limit": 20}));
        assert_eq!(q.before_message_id.as_deref(), Some("m"));
        let pm: PanelMessagesData = round_trip(json!({"groupId": "string", "panelId": "string",
            "messages": [{"messageId": "string", "content": "string", "author": "string",
            "createdAt": "ISO 8601"}], "nextCursor": "string"}));
        assert_eq!(pm.next_cursor.as_deref(), Some("string"));
        let j: JoinBody = round_trip(json!({"code": "ABC123"}));
        assert_eq!(j.code, "ABC123");
        let j: JoinData = round_trip(json!({"groupId": "string", "workspaceId": "string"}));
        assert_eq!(j.workspace_id, "string");
    }

    #[test]
    fn the_full_shapes_round_trip_and_tolerate_unknown_fields() {
        let message = json!({"messageId": "msg_1", "author": "agent_1",
            "authorInfo": {"userId": "agent_1", "nickname": "Helper", "agentId": "agent_1",
            "type": "agent"}, "content": "hi", "meta": {}, "converseId": "session_1",
            "createdAt": "2026-11-29T07:14:43.123Z"});
        let m: LiveMessage = round_trip(message.clone());
        assert_eq!(m.author_info.and_then(|a| a.kind), Some(UserType::Agent));
        let session = json!({"sessionId": "session_1", "workspaceId": "ws_1",
            "converseId": "session_1", "participants": ["agent_1", "user_1"],
            "visibility": "private", "status": "closed", "metadata": {"title": "Plan"},
            "createdAt": "2026-11-29T07:14:43.123Z", "updatedAt": "2026-11-29T07:14:43.124Z"});
        let s: LiveSession = round_trip(session.clone());
        assert_eq!(s.title(), "Plan");
        let event: LiveEvent = round_trip(json!({"seq": 3, "sessionId": "session_1",
            "type": "message.add", "timestamp": "2026-11-29T07:14:43.123Z", "payload": message}));
        assert_eq!(event.message().map(|m| m.message_id), Some("msg_1".into()));
        let update: LiveEvent = round_trip(json!({"seq": 4, "sessionId": "session_1",
            "type": "session.update", "timestamp": "2026-11-29T07:14:43.123Z",
            "payload": session}));
        assert_eq!(update.session().map(|s| s.status), Some(LiveStatus::Closed));
        let odd: LiveSession =
            serde_json::from_value(json!({"sessionId": "s", "status": "locked", "pinned": true}))
                .expect("tolerant");
        assert_eq!(odd.status, LiveStatus::Other("locked".into()));
        assert_eq!(odd.status.to_reference(), SessionStatus::Closed);
        let panel: LivePanel = serde_json::from_value(
            json!({"_id": "p1", "name": "x", "type": 1, "provider": "plugin"}),
        )
        .expect("tolerant");
        assert_eq!((panel.panel_id(), panel.kind), (Some("p1"), 1));
        assert!(serde_json::from_value::<Participant>(json!({"type": "bot", "id": "x"})).is_err());
    }

    #[test]
    fn paths_parse_exactly() {
        for call in LiveCall::ALL {
            assert_eq!(
                LiveCall::parse("POST", &call.url_path()),
                Ok(call),
                "{call}"
            );
            assert_eq!(
                LiveCall::parse("GET", &call.url_path()),
                Err(RouteError::MethodNotAllowed {
                    allow: vec![Method::Post]
                })
            );
        }
        assert_eq!(
            LiveCall::from_path("/api/claw/groups/panels/send"),
            Some(LiveCall::PanelsSend)
        );
        for path in [
            "/api/claw/sessions/create/",
            "/api/claw/sessions",
            "/claw/sessions/create",
            "/api/claw/sessions/Create",
            "/api/claw/sessions/session_1",
            "/api/claw/groups/panels",
            "/api/claw/agents/rotateToken",
            "/api/claw//sessions/create",
            "/api/claw/sessions/create%2f",
            "/api/claw/register",
        ] {
            assert_eq!(
                LiveCall::parse("POST", path),
                Err(RouteError::NotFound),
                "{path}"
            );
        }
        assert!(!LiveCall::AgentsSelfRegister.needs_token());
        assert!(LiveCall::AgentsBind.needs_token());
    }

    fn every_route() -> Vec<Route> {
        let s = || "session_abc123".to_owned();
        let p = || "panel_1".to_owned();
        vec![
            Route::Register,
            Route::BindAgent,
            Route::CreateSession,
            Route::ListSessions,
            Route::GetSession { session_id: s() },
            Route::SessionDetail { session_id: s() },
            Route::CloseSession { session_id: s() },
            Route::SendSessionMessage { session_id: s() },
            Route::ListSessionMessages { session_id: s() },
            Route::AddParticipants { session_id: s() },
            Route::RemoveParticipants { session_id: s() },
            Route::WatchSession { session_id: s() },
            Route::SendPanelMessage { panel_id: p() },
            Route::ListPanelMessages { panel_id: p() },
            Route::WorkspaceGroup,
            Route::JoinGroup,
        ]
    }

    #[test]
    fn routes_map_both_ways() {
        let routes = every_route();
        let calls: Vec<LiveCall> = routes.iter().map(|r| LiveCall::from_route(r).0).collect();
        assert_eq!(calls, LiveCall::ALL, "one call per route, in table order");
        for route in &routes {
            let (call, id) = LiveCall::from_route(route);
            assert_eq!(call.to_route(id).as_ref(), Some(route), "{call}");
            assert_eq!(id.is_some(), call.body_id().is_some(), "{call}");
        }
        assert_eq!(
            LiveCall::from_route(&Route::WatchSession {
                session_id: "s1".into()
            }),
            (LiveCall::SessionsWatch, Some("s1"))
        );
        assert_eq!(
            LiveCall::SessionsWatch.body_id().map(BodyId::field),
            Some("sessionId")
        );
        assert_eq!(
            LiveCall::PanelsSend.body_id().map(BodyId::field),
            Some("panelId")
        );
        assert_eq!(LiveCall::SessionsWatch.to_route(None), None);
        assert_eq!(LiveCall::SessionsWatch.to_route(Some("../x")), None);
        assert_eq!(
            LiveCall::SessionsList.to_route(Some("ignored")),
            Some(Route::ListSessions)
        );
    }

    #[test]
    fn wrapper_and_errors() {
        let ok: LiveOk<JoinData> = round_trip(json!({"code": 200,
            "data": {"groupId": "g", "workspaceId": "w"}}));
        assert_eq!(
            ok,
            LiveOk::new(JoinData {
                group_id: "g".into(),
                workspace_id: "w".into()
            })
        );
        let error = ApiError::new(ErrorCode::RateLimited, "Wait 3 s.");
        let live = LiveError::from(&error);
        assert_eq!(
            serde_json::to_value(&live).expect("serialises"),
            json!({"code": 429, "name": "RATE_LIMITED", "message": "Wait 3 s."})
        );
        assert_eq!(live.to_api(), error);
        let foreign = LiveError {
            code: 404,
            name: "NotFoundError".into(),
            message: String::new(),
        };
        assert_eq!(foreign.to_api(), ApiError::not_found("NotFoundError"));
    }

    #[test]
    fn answers_decode_like_the_public_clients() {
        let data = r#"{"groupId":"g","workspaceId":"w"}"#;
        let wrapped = format!(r#"{{"code":200,"data":{data}}}"#);
        let want = JoinData {
            group_id: "g".into(),
            workspace_id: "w".into(),
        };
        assert_eq!(decode_answer::<JoinData>(200, &wrapped), Ok(want.clone()));
        assert_eq!(
            decode_answer::<JoinData>(200, data),
            Ok(want),
            "no code: the data itself"
        );
        assert_eq!(
            decode_answer::<GroupBody>(200, r#"{"code":200}"#),
            Ok(GroupBody::default())
        );
        let refused =
            decode_answer::<JoinData>(200, r#"{"code":403,"name":"FORBIDDEN","message":"no"}"#)
                .expect_err("code 403");
        assert_eq!(
            (refused.code, refused.to_api().code),
            (403, ErrorCode::Forbidden)
        );
        let limited = decode_answer::<JoinData>(
            429,
            r#"{"code":429,"name":"RATE_LIMITED","message":"Wait."}"#,
        )
        .expect_err("429");
        assert_eq!(limited.name, "RATE_LIMITED");
        let envelope = decode_answer::<JoinData>(
            404,
            r#"{"error":{"code":"NOT_FOUND","message":"No such group."}}"#,
        )
        .expect_err("404");
        assert_eq!(
            (envelope.code, envelope.message.as_str()),
            (404, "No such group.")
        );
        let html = decode_answer::<JoinData>(503, "<html>down</html>").expect_err("503");
        assert_eq!(html.to_api().code, ErrorCode::UpstreamUnavailable);
        let odd = decode_answer::<JoinData>(200, r#"{"code":200,"data":{"groupId":5}}"#)
            .expect_err("wrong shape");
        assert_eq!(odd.code, 502);
        assert!(decode_answer::<JoinData>(200, "not json").is_err());
    }
}
