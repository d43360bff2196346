//! What a request is: one of the worker's own `/edge/*` routes or one of the
//! 16 API calls (matched by [`mochat_api::Route::parse_api`]); anything else
//! is not found. Pure: works on the method name and the raw path.

use mochat_api::routes::{Method, allow_header};
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
    /// `GET /edge/agents`
    Agents,
    /// `GET /edge/health`
    Health,
    /// One of the API calls, forwarded upstream.
    Api(Route),
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
    /// Whether the call needs a signed-in session (all but health and sign-in).
    pub fn needs_session(&self) -> bool {
        !matches!(self, Self::Health | Self::SignIn)
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
        "/edge/session" => edge(&[
            (Method::Get, Call::SessionStatus),
            (Method::Post, Call::SignIn),
            (Method::Delete, Call::SignOut),
        ]),
        "/edge/agents" => edge(&[(Method::Get, Call::Agents)]),
        "/edge/health" => edge(&[(Method::Get, Call::Health)]),
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
        assert_eq!(classify("GET", "/edge/agents"), Ok(Call::Agents));
        assert_eq!(classify("GET", "/edge/health"), Ok(Call::Health));
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
        assert!(!Call::Health.needs_session());
        assert!(!Call::SignIn.needs_session());
        assert!(Call::SignOut.needs_session());
        assert!(Call::Agents.needs_session());
        assert!(Call::Api(Route::Register).needs_session());
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
            "/",
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
            "/index.html",
        ] {
            assert_eq!(classify("GET", path), Err(Miss::NotFound), "{path:?}");
            assert_eq!(classify("POST", path), Err(Miss::NotFound), "{path:?}");
        }
    }
}
