//! The calls of the live dialect: which path each is, its body id, and
//! the reference call each one is.

use std::fmt;

use crate::requests::{PageQuery, WatchQuery};
use crate::routes::{Method, Route, RouteError, is_valid_id};

use super::*;

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

    /// The path relative to the API's base URL (which ends in `/api`), as
    /// [`Route::path`] is: e.g. `/claw/sessions/watch`.
    pub fn base_path(self) -> String {
        let prefix = LIVE_PREFIX
            .strip_prefix(crate::routes::API_PREFIX)
            .unwrap_or(LIVE_PREFIX);
        format!("{prefix}{}", self.path())
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
            Route::ListSessions { .. } => Self::SessionsList,
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
            | Route::ListSessionMessages { session_id, .. }
            | Route::AddParticipants { session_id }
            | Route::RemoveParticipants { session_id }
            | Route::WatchSession { session_id, .. } => Some(session_id.as_str()),
            Route::SendPanelMessage { panel_id } | Route::ListPanelMessages { panel_id, .. } => {
                Some(panel_id.as_str())
            }
            Route::Register
            | Route::BindAgent
            | Route::CreateSession
            | Route::ListSessions { .. }
            | Route::WorkspaceGroup
            | Route::JoinGroup => None,
        };
        (call, id)
    }

    /// The reference route of this call, given the id its body carries (see
    /// [`LiveCall::body_id`]; ignored by calls without one), with the
    /// reference's default query. `None` when the call needs an id and `id`
    /// is missing or not a valid id.
    pub fn to_route(self, id: Option<&str>) -> Option<Route> {
        let id = || id.filter(|id| is_valid_id(id)).map(str::to_owned);
        Some(match self {
            Self::AgentsSelfRegister => Route::Register,
            Self::AgentsBind => Route::BindAgent,
            Self::SessionsCreate => Route::CreateSession,
            Self::SessionsList => Route::ListSessions {
                query: PageQuery::default(),
            },
            Self::GroupsGet => Route::WorkspaceGroup,
            Self::GroupsJoinByInvite => Route::JoinGroup,
            Self::SessionsGet => Route::GetSession { session_id: id()? },
            Self::SessionsDetail => Route::SessionDetail { session_id: id()? },
            Self::SessionsClose => Route::CloseSession { session_id: id()? },
            Self::SessionsSend => Route::SendSessionMessage { session_id: id()? },
            Self::SessionsMessages => Route::ListSessionMessages {
                session_id: id()?,
                query: PageQuery::default(),
            },
            Self::SessionsAddParticipants => Route::AddParticipants { session_id: id()? },
            Self::SessionsRemoveParticipants => Route::RemoveParticipants { session_id: id()? },
            Self::SessionsWatch => Route::WatchSession {
                session_id: id()?,
                query: WatchQuery::default(),
            },
            Self::PanelsSend => Route::SendPanelMessage { panel_id: id()? },
            Self::PanelsMessages => Route::ListPanelMessages {
                panel_id: id()?,
                query: PageQuery::default(),
            },
        })
    }
}

impl fmt::Display for LiveCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}
