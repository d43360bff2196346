//! What a request is: one of the worker's own `/edge/*` routes or one of the
//! 16 API calls (matched by [`mochat_api::Route::parse_api`]); anything else
//! is not found. Pure: works on the method name and the raw path.

use mochat_api::edge::{
    AGENTS_PATH, HEALTH_PATH, SESSION_PATH, SESSIONS_PATH, VISITORS_PATH, WATCH_PATH,
};
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
    /// `GET /edge/visitors?site=…&id=…`: a widget visitor's details.
    VisitorDetails,
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
            | Self::VisitorDetails
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
        VISITORS_PATH => edge(&[(Method::Get, Call::VisitorDetails)]),
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
    use mochat_api::edge::EDGE_PREFIX;
    use mochat_api::live::LIVE_PREFIX;
    use mochat_api::routes::API_PREFIX;

    #[test]
    fn edge_routes() {
        assert_eq!(classify("POST", SESSION_PATH), Ok(Call::SignIn));
        assert_eq!(classify("GET", SESSION_PATH), Ok(Call::SessionStatus));
        assert_eq!(classify("DELETE", SESSION_PATH), Ok(Call::SignOut));
        assert_eq!(
            classify("DELETE", SESSIONS_PATH),
            Ok(Call::SignOutEverywhere)
        );
        assert_eq!(classify("GET", AGENTS_PATH), Ok(Call::Agents));
        assert_eq!(classify("GET", HEALTH_PATH), Ok(Call::Health));
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
        assert_eq!(classify("POST", WATCH_PATH), Ok(Call::EdgeWatch));
        assert_eq!(Call::EdgeWatch.access(), Access::Operator);
        assert_eq!(classify("GET", VISITORS_PATH), Ok(Call::VisitorDetails));
        assert_eq!(Call::VisitorDetails.access(), Access::Operator);
        assert!(!Call::VisitorDetails.takes_body());
        assert!(Call::EdgeWatch.takes_body());
        assert_eq!(
            classify("PUT", SESSION_PATH),
            Err(Miss::MethodNotAllowed {
                allow: "GET, POST, DELETE".into()
            })
        );
        assert_eq!(
            classify("POST", HEALTH_PATH),
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
            Call::Api(Route::ListSessions {
                query: Default::default()
            })
            .access(),
            Access::OperatorOrVisitor
        );
    }

    #[test]
    fn widget_routes() {
        assert_eq!(classify("GET", widget::FRAME_PATH), Ok(Call::WidgetFrame));
        assert_eq!(classify("POST", widget::VISITOR_PATH), Ok(Call::NewVisitor));
        assert_eq!(classify("GET", widget::ME_PATH), Ok(Call::VisitorRecord));
        assert_eq!(classify("POST", widget::ME_PATH), Ok(Call::Identify));
        assert_eq!(
            classify("POST", widget::CONVERSATION_PATH),
            Ok(Call::OpenConversation)
        );
        assert_eq!(
            classify("GET", widget::VISITOR_PATH),
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
                "{API_PREFIX}{}",
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
        let sessions = Route::CreateSession.api_target();
        assert_eq!(
            classify("PUT", &sessions),
            Err(Miss::MethodNotAllowed {
                allow: "POST, GET".into()
            })
        );
    }

    #[test]
    fn wrangler_runs_the_worker_first_on_every_path_it_answers() {
        let config = include_str!("../../wrangler.toml");
        let line = config
            .lines()
            .find(|l| l.starts_with("run_worker_first"))
            .expect("wrangler.toml lists run_worker_first");
        for pattern in [
            "/".to_owned(),
            "/index.html".to_owned(),
            format!("{API_PREFIX}/*"),
            format!("{EDGE_PREFIX}*"),
        ] {
            assert!(
                line.contains(&format!("\"{pattern}\"")),
                "{pattern} in {line}"
            );
        }
    }

    #[test]
    fn path_tricks_are_not_found() {
        let list = Route::CreateSession;
        let sessions = list.api_target();
        let detail = |id: &str| {
            Route::SessionDetail {
                session_id: id.into(),
            }
            .api_target()
        };
        let edge = EDGE_PREFIX.trim_end_matches('/');
        for path in [
            "".to_owned(),
            "//".to_owned(),
            API_PREFIX.to_owned(),
            format!("{API_PREFIX}/"),
            edge.to_owned(),
            EDGE_PREFIX.to_owned(),
            format!("{SESSION_PATH}/"),
            SESSION_PATH.replacen(EDGE_PREFIX, &format!("{EDGE_PREFIX}/"), 1),
            format!("{EDGE_PREFIX}widget/x"),
            format!("{API_PREFIX}/{}", list.path()),
            sessions.replacen("sessions", "/sessions", 1),
            format!("{sessions}/"),
            detail("a%2fb"),
            detail("a%2Fb"),
            detail("a%5Cb"),
            detail("a\\b"),
            detail("%2e%2e"),
            Route::GetSession {
                session_id: "..".into(),
            }
            .api_target(),
            detail("http:"),
            format!("{API_PREFIX}/http://evil.example{}", list.path()),
            format!("{LIVE_PREFIX}unknown"),
            list.path(),
            "/index.htm".to_owned(),
            "/index.html/".to_owned(),
        ] {
            assert_eq!(classify("GET", &path), Err(Miss::NotFound), "{path:?}");
            assert_eq!(classify("POST", &path), Err(Miss::NotFound), "{path:?}");
        }
    }
}
