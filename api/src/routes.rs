//! The route table: one [`Route`] per call of the MoChat API, with its method and
//! path. The worker allow-lists with [`Route::parse`], the client builds URLs with
//! [`Route::path`], the local server is tested against both.

use std::fmt;

use crate::error::ApiError;
use crate::requests::{PageQuery, WatchQuery};

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }

    /// Parses a method name; `None` for methods the API never uses.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "GET" => Some(Self::Get),
            "POST" => Some(Self::Post),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One call of the MoChat API. Ids are opaque; the route table only accepts
/// ids of `[A-Za-z0-9_-]`, 1 to 128 of them, so no path trick can pass.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Route {
    Register,
    BindAgent,
    CreateSession,
    ListSessions {
        query: PageQuery,
    },
    GetSession {
        session_id: String,
    },
    SessionDetail {
        session_id: String,
    },
    CloseSession {
        session_id: String,
    },
    SendSessionMessage {
        session_id: String,
    },
    ListSessionMessages {
        session_id: String,
        query: PageQuery,
    },
    AddParticipants {
        session_id: String,
    },
    RemoveParticipants {
        session_id: String,
    },
    WatchSession {
        session_id: String,
        query: WatchQuery,
    },
    SendPanelMessage {
        panel_id: String,
    },
    ListPanelMessages {
        panel_id: String,
        query: PageQuery,
    },
    WorkspaceGroup,
    JoinGroup,
}

/// Why a method and path are not a call of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No call has this path.
    NotFound,
    /// The path is known but not with this method; `allow` lists the right ones.
    MethodNotAllowed { allow: Vec<Method> },
}

/// The path prefix under which every call lives (the base URL ends in `/api`).
pub const API_PREFIX: &str = "/api";

/// Largest id the route table accepts.
pub const MAX_ID_LEN: usize = 128;

/// Whether `id` may stand in a path: `[A-Za-z0-9_-]{1,128}`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Route {
    /// Every route pattern, for documentation and tests: method and path with `:id`s.
    pub const TABLE: [(Method, &'static str); 16] = [
        (Method::Post, "/claw/register"),
        (Method::Post, "/claw/agents/bind"),
        (Method::Post, "/claw/sessions"),
        (Method::Get, "/claw/sessions"),
        (Method::Get, "/claw/sessions/:sessionId"),
        (Method::Get, "/claw/sessions/:sessionId/detail"),
        (Method::Post, "/claw/sessions/:sessionId/close"),
        (Method::Post, "/claw/sessions/:sessionId/message"),
        (Method::Get, "/claw/sessions/:sessionId/messages"),
        (Method::Post, "/claw/sessions/:sessionId/participants"),
        (Method::Delete, "/claw/sessions/:sessionId/participants"),
        (Method::Get, "/claw/sessions/:sessionId/watch"),
        (Method::Post, "/claw/panels/:panelId/message"),
        (Method::Get, "/claw/panels/:panelId/messages"),
        (Method::Get, "/claw/workspace/group"),
        (Method::Post, "/claw/groups/join"),
    ];

    /// The HTTP method of this call.
    pub fn method(&self) -> Method {
        match self {
            Self::ListSessions { .. }
            | Self::GetSession { .. }
            | Self::SessionDetail { .. }
            | Self::ListSessionMessages { .. }
            | Self::WatchSession { .. }
            | Self::ListPanelMessages { .. }
            | Self::WorkspaceGroup => Method::Get,
            Self::RemoveParticipants { .. } => Method::Delete,
            Self::Register
            | Self::BindAgent
            | Self::CreateSession
            | Self::CloseSession { .. }
            | Self::SendSessionMessage { .. }
            | Self::AddParticipants { .. }
            | Self::SendPanelMessage { .. }
            | Self::JoinGroup => Method::Post,
        }
    }

    /// The path relative to the base URL, e.g. `/claw/sessions/session_1/detail`.
    pub fn path(&self) -> String {
        match self {
            Self::Register => "/claw/register".into(),
            Self::BindAgent => "/claw/agents/bind".into(),
            Self::CreateSession | Self::ListSessions { .. } => "/claw/sessions".into(),
            Self::GetSession { session_id } => format!("/claw/sessions/{session_id}"),
            Self::SessionDetail { session_id } => format!("/claw/sessions/{session_id}/detail"),
            Self::CloseSession { session_id } => format!("/claw/sessions/{session_id}/close"),
            Self::SendSessionMessage { session_id } => {
                format!("/claw/sessions/{session_id}/message")
            }
            Self::ListSessionMessages { session_id, .. } => {
                format!("/claw/sessions/{session_id}/messages")
            }
            Self::AddParticipants { session_id } | Self::RemoveParticipants { session_id } => {
                format!("/claw/sessions/{session_id}/participants")
            }
            Self::WatchSession { session_id, .. } => format!("/claw/sessions/{session_id}/watch"),
            Self::SendPanelMessage { panel_id } => format!("/claw/panels/{panel_id}/message"),
            Self::ListPanelMessages { panel_id, .. } => format!("/claw/panels/{panel_id}/messages"),
            Self::WorkspaceGroup => "/claw/workspace/group".into(),
            Self::JoinGroup => "/claw/groups/join".into(),
        }
    }

    /// The query the call carries, `?…`, or `""` when it has none.
    pub fn query_string(&self) -> String {
        match self {
            Self::ListSessions { query }
            | Self::ListSessionMessages { query, .. }
            | Self::ListPanelMessages { query, .. } => query.to_query(),
            Self::WatchSession { query, .. } => query.to_query(),
            _ => String::new(),
        }
    }

    /// The path and the query, e.g. `/claw/sessions/session_1/messages?limit=20`.
    pub fn target(&self) -> String {
        self.path() + &self.query_string()
    }

    /// [`Route::target`] from the root of an origin that serves the API
    /// under [`API_PREFIX`], e.g. `/api/claw/sessions?limit=5`.
    pub fn api_target(&self) -> String {
        format!("{API_PREFIX}{}", self.target())
    }

    /// This call with the query of a request read into it (`raw` without the
    /// `?`). A call that takes no query ignores it; a query it takes but
    /// cannot read is a 400 that says which parameter is wrong.
    pub fn with_query(mut self, raw: Option<&str>) -> Result<Self, ApiError> {
        match &mut self {
            Self::ListSessions { query }
            | Self::ListSessionMessages { query, .. }
            | Self::ListPanelMessages { query, .. } => *query = PageQuery::parse(raw)?,
            Self::WatchSession { query, .. } => *query = WatchQuery::parse(raw)?,
            _ => {}
        }
        Ok(self)
    }

    /// Whether the call needs an agent's token (all but registration).
    pub fn needs_token(&self) -> bool {
        !matches!(self, Self::Register)
    }

    /// Whether the call carries a JSON body.
    pub fn has_body(&self) -> bool {
        matches!(
            self,
            Self::Register
                | Self::BindAgent
                | Self::CreateSession
                | Self::SendSessionMessage { .. }
                | Self::SendPanelMessage { .. }
                | Self::AddParticipants { .. }
                | Self::RemoveParticipants { .. }
                | Self::JoinGroup
        )
    }

    /// Every call whose path is `segments` (one or two: they differ by method).
    fn candidates(segments: &[&str]) -> Vec<Route> {
        let id = |s: &str| is_valid_id(s).then(|| s.to_owned());
        match segments {
            ["claw", "register"] => vec![Self::Register],
            ["claw", "agents", "bind"] => vec![Self::BindAgent],
            ["claw", "sessions"] => vec![
                Self::CreateSession,
                Self::ListSessions {
                    query: PageQuery::default(),
                },
            ],
            ["claw", "workspace", "group"] => vec![Self::WorkspaceGroup],
            ["claw", "groups", "join"] => vec![Self::JoinGroup],
            ["claw", "sessions", sid] => id(sid)
                .map(|session_id| vec![Self::GetSession { session_id }])
                .unwrap_or_default(),
            ["claw", "sessions", sid, action] => {
                let Some(session_id) = id(sid) else {
                    return vec![];
                };
                match *action {
                    "detail" => vec![Self::SessionDetail { session_id }],
                    "close" => vec![Self::CloseSession { session_id }],
                    "message" => vec![Self::SendSessionMessage { session_id }],
                    "messages" => vec![Self::ListSessionMessages {
                        session_id,
                        query: PageQuery::default(),
                    }],
                    "watch" => vec![Self::WatchSession {
                        session_id,
                        query: WatchQuery::default(),
                    }],
                    "participants" => vec![
                        Self::AddParticipants {
                            session_id: session_id.clone(),
                        },
                        Self::RemoveParticipants { session_id },
                    ],
                    _ => vec![],
                }
            }
            ["claw", "panels", pid, action] => {
                let Some(panel_id) = id(pid) else {
                    return vec![];
                };
                match *action {
                    "message" => vec![Self::SendPanelMessage { panel_id }],
                    "messages" => vec![Self::ListPanelMessages {
                        panel_id,
                        query: PageQuery::default(),
                    }],
                    _ => vec![],
                }
            }
            _ => vec![],
        }
    }

    /// Matches a method name and a path relative to the base URL (no query, no
    /// `/api` prefix). Empty segments, trailing slashes, dot segments, encoded
    /// characters and unknown paths are [`RouteError::NotFound`].
    pub fn parse(method: &str, path: &str) -> Result<Route, RouteError> {
        let Some(rest) = path.strip_prefix('/') else {
            return Err(RouteError::NotFound);
        };
        let segments: Vec<&str> = rest.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(RouteError::NotFound);
        }
        let candidates = Self::candidates(&segments);
        if candidates.is_empty() {
            return Err(RouteError::NotFound);
        }
        let wanted = Method::parse(method);
        match candidates.iter().find(|r| Some(r.method()) == wanted) {
            Some(route) => Ok(route.clone()),
            None => Err(RouteError::MethodNotAllowed {
                allow: candidates.iter().map(Route::method).collect(),
            }),
        }
    }

    /// Like [`Route::parse`], for a path that still carries the `/api` prefix.
    pub fn parse_api(method: &str, path: &str) -> Result<Route, RouteError> {
        match path.strip_prefix(API_PREFIX) {
            Some(rest) if rest.starts_with('/') => Self::parse(method, rest),
            _ => Err(RouteError::NotFound),
        }
    }
}

/// `Allow` header value for a list of methods, e.g. `GET, POST`.
pub fn allow_header(methods: &[Method]) -> String {
    methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn sid() -> String {
        "session_abc123".to_owned()
    }

    /// One route of each kind, in the order of [`Route::TABLE`].
    pub(crate) fn every_route() -> Vec<Route> {
        let session_id = sid;
        let panel_id = || "panel_1".to_owned();
        vec![
            Route::Register,
            Route::BindAgent,
            Route::CreateSession,
            Route::ListSessions {
                query: PageQuery::default(),
            },
            Route::GetSession {
                session_id: session_id(),
            },
            Route::SessionDetail {
                session_id: session_id(),
            },
            Route::CloseSession {
                session_id: session_id(),
            },
            Route::SendSessionMessage {
                session_id: session_id(),
            },
            Route::ListSessionMessages {
                session_id: session_id(),
                query: PageQuery::default(),
            },
            Route::AddParticipants {
                session_id: session_id(),
            },
            Route::RemoveParticipants {
                session_id: session_id(),
            },
            Route::WatchSession {
                session_id: session_id(),
                query: WatchQuery::default(),
            },
            Route::SendPanelMessage {
                panel_id: panel_id(),
            },
            Route::ListPanelMessages {
                panel_id: panel_id(),
                query: PageQuery::default(),
            },
            Route::WorkspaceGroup,
            Route::JoinGroup,
        ]
    }

    #[test]
    fn every_route_parses_back_from_its_method_and_path() {
        let routes = every_route();
        assert_eq!(routes.len(), Route::TABLE.len());
        for (route, (method, pattern)) in routes.iter().zip(Route::TABLE) {
            assert_eq!(route.method(), method, "{route:?}");
            let concrete = pattern
                .replace(":sessionId", &sid())
                .replace(":panelId", "panel_1");
            assert_eq!(route.path(), concrete, "{route:?}");
            assert_eq!(
                Route::parse(method.as_str(), &route.path()).as_ref(),
                Ok(route)
            );
            assert_eq!(
                Route::parse_api(method.as_str(), &format!("/api{}", route.path())).as_ref(),
                Ok(route)
            );
        }
    }

    #[test]
    fn a_route_carries_its_query_there_and_back() {
        let route = Route::parse("GET", "/claw/sessions/s1/messages")
            .expect("parses")
            .with_query(Some("limit=20&before=msg%201"))
            .expect("reads");
        let query = PageQuery {
            limit: Some(20),
            before: Some("msg 1".into()),
        };
        assert_eq!(
            route,
            Route::ListSessionMessages {
                session_id: "s1".into(),
                query: query.clone(),
            }
        );
        assert_eq!(
            route.target(),
            "/claw/sessions/s1/messages?limit=20&before=msg%201"
        );
        let watch = Route::parse("GET", "/claw/sessions/s1/watch")
            .expect("parses")
            .with_query(Some("cursor=7&timeout=0"))
            .expect("reads");
        assert_eq!(watch.target(), "/claw/sessions/s1/watch?timeout=0&cursor=7");
        // A call without a query ignores one; a bad value is a 400 naming it.
        let group = Route::WorkspaceGroup
            .with_query(Some("x=1"))
            .expect("ignored");
        assert_eq!(group.target(), "/claw/workspace/group");
        let bad = Route::ListSessions {
            query: query.clone(),
        }
        .with_query(Some("limit=abc"))
        .expect_err("refused");
        assert_eq!(bad.code, crate::ErrorCode::BadRequest);
        assert!(bad.message.contains("limit"), "{}", bad.message);
    }

    #[test]
    fn wrong_method_lists_the_allowed_ones() {
        assert_eq!(
            Route::parse("PUT", "/claw/sessions"),
            Err(RouteError::MethodNotAllowed {
                allow: vec![Method::Post, Method::Get]
            })
        );
        assert_eq!(
            Route::parse("GET", "/claw/sessions/s1/participants"),
            Err(RouteError::MethodNotAllowed {
                allow: vec![Method::Post, Method::Delete]
            })
        );
        assert_eq!(
            allow_header(&[Method::Post, Method::Delete]),
            "POST, DELETE"
        );
    }

    #[test]
    fn path_tricks_are_not_found() {
        for path in [
            "",
            "claw/sessions",
            "/claw/sessions/",
            "//claw/sessions",
            "/claw//sessions",
            "/claw/sessions/../register",
            "/claw/sessions/..",
            "/claw/sessions/a%2fb",
            "/claw/sessions/a%2Fb/detail",
            "/claw/sessions/http:/detail",
            "/claw/sessions/s1/unknown",
            "/claw/panels/p1",
            "/claw/unknown",
            "/claw/sessions/s1/detail/extra",
        ] {
            assert_eq!(
                Route::parse("GET", path),
                Err(RouteError::NotFound),
                "{path}"
            );
        }
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert_eq!(
            Route::parse("GET", &format!("/claw/sessions/{long}")),
            Err(RouteError::NotFound)
        );
        assert_eq!(
            Route::parse_api("GET", "/apiclaw/sessions"),
            Err(RouteError::NotFound)
        );
        assert_eq!(
            Route::parse_api("GET", "/claw/sessions"),
            Err(RouteError::NotFound)
        );
    }

    #[test]
    fn only_register_goes_without_a_token() {
        let open: Vec<_> = every_route()
            .into_iter()
            .filter(|r| !r.needs_token())
            .collect();
        assert_eq!(open, vec![Route::Register]);
    }
}
