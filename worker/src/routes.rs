//! What a request is: one of the worker's own `/edge/*` routes or one of the
//! 16 API calls (matched by [`mochat_api::Route::parse_api`]); anything else
//! is not found. Pure: works on the method name and the raw path.

use mochat_api::edge::{AGENTS_PATH, HEALTH_PATH, SESSION_PATH, SESSIONS_PATH, WATCH_PATH};
use mochat_api::routes::{Method, allow_header};
use mochat_api::widget;
use mochat_api::{Route, RouteError};

/// A request the worker answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `POST /edge/session`
    SignIn,
    /// `GET /edge/session`
    SessionStatus,
    /// `DELETE /edge/session`
    SignOut,
    /// `DELETE /edge/sessions`: every operator session ends.
    SignOutEverywhere,
    /// `GET /edge/agents`
    Agents,
    /// `GET /edge/health`
    Health,
    /// `GET /` (or `/index.html`): the dashboard's page.
    Dashboard,
    /// `POST /edge/watch`: the live watch of many sessions and the list.
    EdgeWatch,
    /// `GET /edge/widget/frame`: the widget page.
    WidgetFrame,
    /// `POST /edge/widget/visitor`: a new widget visitor.
    NewVisitor,
    /// `GET /edge/widget/me`: the visitor's record.
    VisitorRecord,
    /// `POST /edge/widget/me`: the visitor's name and email.
    Identify,
    /// `POST /edge/widget/conversation`: the visitor's session.
    OpenConversation,
    /// One of the API calls, forwarded upstream.
    Api(Route),
}

/// Who may make a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, sign-in, the widget page and minting a visitor.
    Public,
    /// A signed-in operator (session cookie).
    Operator,
    /// A widget visitor (visitor token).
    Visitor,
    /// Either: the API calls (a visitor only on their own session).
    OperatorOrVisitor,
}

/// Why a request matches no call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    NotFound,
    /// The path is known; `allow` is the `Allow` header value.
    MethodNotAllowed {
        allow: String,
    },
}

impl Call {
    /// Who may make the call.
    pub fn access(&self) -> Access {
        match self {
            Self::Health
            | Self::SignIn
            | Self::Dashboard
            | Self::WidgetFrame
            | Self::NewVisitor => Access::Public,
            Self::SessionStatus
            | Self::SignOut
            | Self::SignOutEverywhere
            | Self::Agents
            | Self::EdgeWatch
            | Self::Api(Route::Register) => Access::Operator,
            Self::VisitorRecord | Self::Identify | Self::OpenConversation => Access::Visitor,
            Self::Api(_) => Access::OperatorOrVisitor,
        }
    }

    /// Whether the handler reads the request body.
    pub fn takes_body(&self) -> bool {
        match self {
            Self::SignIn | Self::NewVisitor | Self::Identify | Self::EdgeWatch => true,
            Self::Api(route) => route.has_body(),
            _ => false,
        }
    }
}

/// Whether a raw path (as the URL parser left it: dot segments resolved,
/// percent-escapes kept) may be routed at all: no encoded slash or backslash,
/// no empty segment.
pub fn raw_path_is_safe(raw: &str) -> bool {
    let lower = raw.to_ascii_lowercase();
    raw.starts_with('/')
        && !raw.contains("//")
        && !raw.contains('\\')
        && !lower.contains("%2f")
        && !lower.contains("%5c")
}

/// Matches a method name and raw path.
pub fn classify(method: &str, raw_path: &str) -> Result<Call, Miss> {
    if !raw_path_is_safe(raw_path) {
        return Err(Miss::NotFound);
    }
    let edge = |allowed: &[(Method, Call)]| {
        allowed
            .iter()
            .find(|(m, _)| m.as_str() == method)
            .map(|(_, call)| call.clone())
            .ok_or_else(|| Miss::MethodNotAllowed {
                allow: allow_header(&allowed.iter().map(|(m, _)| *m).collect::<Vec<_>>()),
            })
    };
    match raw_path {
        SESSION_PATH => edge(&[
            (Method::Get, Call::SessionStatus),
            (Method::Post, Call::SignIn),
            (Method::Delete, Call::SignOut),
        ]),
        SESSIONS_PATH => edge(&[(Method::Delete, Call::SignOutEverywhere)]),
        AGENTS_PATH => edge(&[(Method::Get, Call::Agents)]),
        HEALTH_PATH => edge(&[(Method::Get, Call::Health)]),
        // A HEAD of the page (uptime checks) gets its headers too.
        "/" | "/index.html" if method == "HEAD" => Ok(Call::Dashboard),
        "/" | "/index.html" => edge(&[(Method::Get, Call::Dashboard)]),
        WATCH_PATH => edge(&[(Method::Post, Call::EdgeWatch)]),
        widget::FRAME_PATH => edge(&[(Method::Get, Call::WidgetFrame)]),
        widget::VISITOR_PATH => edge(&[(Method::Post, Call::NewVisitor)]),
        widget::ME_PATH => edge(&[
            (Method::Get, Call::VisitorRecord),
            (Method::Post, Call::Identify),
        ]),
        widget::CONVERSATION_PATH => edge(&[(Method::Post, Call::OpenConversation)]),
        _ => match Route::parse_api(method, raw_path) {
            Ok(route) => Ok(Call::Api(route)),
            Err(RouteError::NotFound) => Err(Miss::NotFound),
            Err(RouteError::MethodNotAllowed { allow }) => Err(Miss::MethodNotAllowed {
                allow: allow_header(&allow),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_routes() {
        assert_eq!(classify("POST", "/edge/session"), Ok(Call::SignIn));
        assert_eq!(classify("GET", "/edge/session"), Ok(Call::SessionStatus));
        assert_eq!(classify("DELETE", "/edge/session"), Ok(Call::SignOut));
        assert_eq!(
            classify("DELETE", "/edge/sessions"),
            Ok(Call::SignOutEverywhere)
        );
        assert_eq!(classify("GET", "/edge/agents"), Ok(Call::Agents));
        assert_eq!(classify("GET", "/edge/health"), Ok(Call::Health));
        assert_eq!(classify("GET", "/"), Ok(Call::Dashboard));
        assert_eq!(classify("GET", "/index.html"), Ok(Call::Dashboard));
        assert_eq!(classify("HEAD", "/"), Ok(Call::Dashboard));
        assert_eq!(Call::Dashboard.access(), Access::Public);
        assert_eq!(
            classify("POST", "/"),
            Err(Miss::MethodNotAllowed {
                allow: "GET".into()
            })
        );
        assert_eq!(classify("POST", "/edge/watch"), Ok(Call::EdgeWatch));
        assert_eq!(Call::EdgeWatch.access(), Access::Operator);
        assert!(Call::EdgeWatch.takes_body());
        assert_eq!(
            classify("PUT", "/edge/session"),
            Err(Miss::MethodNotAllowed {
                allow: "GET, POST, DELETE".into()
            })
        );
        assert_eq!(
            classify("POST", "/edge/health"),
            Err(Miss::MethodNotAllowed {
                allow: "GET".into()
            })
        );
        assert_eq!(Call::Health.access(), Access::Public);
        assert_eq!(Call::SignIn.access(), Access::Public);
        assert_eq!(Call::SignOut.access(), Access::Operator);
        assert_eq!(Call::SignOutEverywhere.access(), Access::Operator);
        assert_eq!(Call::Agents.access(), Access::Operator);
        assert_eq!(Call::Api(Route::Register).access(), Access::Operator);
        assert_eq!(
            Call::Api(Route::ListSessions).access(),
            Access::OperatorOrVisitor
        );
    }

    #[test]
    fn widget_routes() {
        assert_eq!(classify("GET", "/edge/widget/frame"), Ok(Call::WidgetFrame));
        assert_eq!(
            classify("POST", "/edge/widget/visitor"),
            Ok(Call::NewVisitor)
        );
        assert_eq!(classify("GET", "/edge/widget/me"), Ok(Call::VisitorRecord));
        assert_eq!(classify("POST", "/edge/widget/me"), Ok(Call::Identify));
        assert_eq!(
            classify("POST", "/edge/widget/conversation"),
            Ok(Call::OpenConversation)
        );
        assert_eq!(
            classify("GET", "/edge/widget/visitor"),
            Err(Miss::MethodNotAllowed {
                allow: "POST".into()
            })
        );
        assert_eq!(Call::WidgetFrame.access(), Access::Public);
        assert_eq!(Call::NewVisitor.access(), Access::Public);
        assert_eq!(Call::OpenConversation.access(), Access::Visitor);
        assert!(Call::Identify.takes_body());
        assert!(!Call::WidgetFrame.takes_body());
    }

    #[test]
    fn api_routes_come_from_the_contract_table() {
        for (method, pattern) in Route::TABLE {
            let path = format!(
                "/api{}",
                pattern
                    .replace(":sessionId", "s_1")
                    .replace(":panelId", "p_1")
            );
            let call = classify(method.as_str(), &path).expect("routes");
            let Call::Api(route) = call else {
                panic!("{path} is an API call")
            };
            assert_eq!(route.method(), method);
        }
        assert_eq!(
            classify("PUT", "/api/claw/sessions"),
            Err(Miss::MethodNotAllowed {
                allow: "POST, GET".into()
            })
        );
    }

    #[test]
    fn path_tricks_are_not_found() {
        for path in [
            "",
            "//",
            "/api",
            "/api/",
            "/edge",
            "/edge/",
            "/edge/session/",
            "/edge//session",
            "/edge/widget/x",
            "/api//claw/sessions",
            "/api/claw//sessions",
            "/api/claw/sessions/",
            "/api/claw/sessions/a%2fb/detail",
            "/api/claw/sessions/a%2Fb/detail",
            "/api/claw/sessions/a%5Cb/detail",
            "/api/claw/sessions/a\\b/detail",
            "/api/claw/sessions/%2e%2e/detail",
            "/api/claw/sessions/..",
            "/api/claw/sessions/http:/detail",
            "/api/http://evil.example/claw/sessions",
            "/api/claw/unknown",
            "/claw/sessions",
            "/index.htm",
            "/index.html/",
        ] {
            assert_eq!(classify("GET", path), Err(Miss::NotFound), "{path:?}");
            assert_eq!(classify("POST", path), Err(Miss::NotFound), "{path:?}");
        }
    }
}
