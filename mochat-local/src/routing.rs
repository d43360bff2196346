//! Which call a request is, in which dialect, under `--dialect rest|live|both`:
//! the reference's route table, the live service's `POST /api/claw/<noun>/<verb>`
//! calls, or both on the same paths. A refused request is answered in the
//! dialect its path belongs to.

use axum::http::header;
use mochat_api::ApiError;
use mochat_api::live::{LIVE_PREFIX, LiveCall};
use mochat_api::routes::allow_header;
use mochat_api::{ErrorCode, Method, Route, RouteError};

use crate::config::Dialects;
use crate::error::AppError;

/// The dialect of one request: how its body is read and its answer written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The reference's: answers as they are, errors `{"error":{"code","message"}}`.
    Rest,
    /// The live service's: answers `{"code":200,"data":…}`, errors `{"code","name","message"}`.
    Live,
}

/// A call of either dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Rest(Route),
    Live(LiveCall),
}

impl Call {
    pub fn dialect(&self) -> Dialect {
        match self {
            Self::Rest(_) => Dialect::Rest,
            Self::Live(_) => Dialect::Live,
        }
    }

    /// Whether the call needs an agent's token (all but the two registrations).
    pub fn needs_token(&self) -> bool {
        match self {
            Self::Rest(route) => route.needs_token(),
            Self::Live(call) => call.needs_token(),
        }
    }

    /// `POST /api/claw/agents/bind` is a call of both dialects. With both
    /// answered, a JSON object body with a `greeting_msg` field is the live call;
    /// any other body is the reference's.
    pub fn settle(self, dialects: Dialects, body: &[u8]) -> Self {
        match self {
            Self::Rest(Route::BindAgent) if dialects == Dialects::Both && has_greeting(body) => {
                Self::Live(LiveCall::AgentsBind)
            }
            other => other,
        }
    }
}

fn has_greeting(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
        .is_ok_and(|object| object.contains_key("greeting_msg"))
}

/// A request that is no call: the error and the dialect to answer it in.
#[derive(Debug)]
pub struct Refusal {
    pub dialect: Dialect,
    pub error: AppError,
}

/// Finds the call of a method and path under `dialects`. Unknown paths are 404
/// and known paths with the wrong method 405 (with `Allow`).
pub fn resolve(dialects: Dialects, method: &str, path: &str) -> Result<Call, Refusal> {
    let live_path = LiveCall::from_path(path);
    if dialects.live() && Method::parse(method) == Some(Method::Post) {
        match live_path {
            Some(LiveCall::AgentsBind) if dialects.rest() => {
                return Ok(Call::Rest(Route::BindAgent));
            }
            Some(call) => return Ok(Call::Live(call)),
            None => {}
        }
    }
    if !dialects.rest() {
        return Err(live_refusal(method, path, live_path.is_some()));
    }
    // `/api/claw/agents/bind` is a path of both dialects: the reference's
    // route first, so a wrong method there is the reference's 405.
    let live_only = live_path.filter(|call| *call != LiveCall::AgentsBind);
    match Route::parse_api(method, path) {
        Ok(route) => Ok(Call::Rest(route)),
        Err(_) if live_only.is_some() && dialects.live() => Err(live_refusal(method, path, true)),
        Err(_) if live_only.is_some() => Err(Refusal {
            dialect: Dialect::Rest,
            error: ApiError::not_found(format!(
                "There is no API call at {path}: this server answers only the reference's \
                 routes (it runs with --dialect rest). Use the reference's route, or start it \
                 with --dialect both."
            ))
            .into(),
        }),
        Err(RouteError::NotFound) => Err(Refusal {
            dialect: Dialect::Rest,
            error: ApiError::not_found(format!(
                "There is no API call at {path}. The calls live under {LIVE_PREFIX}; see the API \
                 reference."
            ))
            .into(),
        }),
        Err(RouteError::MethodNotAllowed { allow }) => {
            let allow = allow_header(&allow);
            Err(Refusal {
                dialect: Dialect::Rest,
                error: AppError::new(
                    ErrorCode::MethodNotAllowed,
                    format!("{method} is not allowed on {path}; use {allow}."),
                )
                .with_header(header::ALLOW, allow),
            })
        }
    }
}

fn live_refusal(method: &str, path: &str, known: bool) -> Refusal {
    let error = if known {
        AppError::new(
            ErrorCode::MethodNotAllowed,
            format!("{method} is not allowed on {path}; live calls are POST with a JSON body."),
        )
        .with_header(header::ALLOW, "POST")
    } else {
        ApiError::not_found(format!(
            "There is no live call at {path}. Live calls are POST {LIVE_PREFIX}<noun>/<verb>, \
             e.g. {}.",
            LiveCall::SessionsList.url_path()
        ))
        .into()
    };
    Refusal {
        dialect: Dialect::Live,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(dialects: Dialects, method: &str, path: &str) -> Result<Call, (Dialect, u16)> {
        resolve(dialects, method, path).map_err(|r| (r.dialect, r.error.error.status()))
    }

    #[test]
    fn both_answers_each_dialect_on_its_paths() {
        let both = Dialects::Both;
        let watch = Route::WatchSession {
            session_id: "s1".into(),
            query: Default::default(),
        };
        let watch_s1 = watch.api_target();
        assert_eq!(
            call(both, "POST", &LiveCall::SessionsWatch.url_path()),
            Ok(Call::Live(LiveCall::SessionsWatch))
        );
        assert_eq!(call(both, "GET", &watch_s1), Ok(Call::Rest(watch.clone())));
        // A GET of a live path is the reference's session lookup.
        assert_eq!(
            call(both, "GET", &LiveCall::SessionsList.url_path()),
            Ok(Call::Rest(Route::GetSession {
                session_id: "list".into()
            }))
        );
        assert_eq!(
            call(both, "GET", &LiveCall::GroupsGet.url_path()),
            Err((Dialect::Live, 405))
        );
        assert_eq!(call(both, "POST", &watch_s1), Err((Dialect::Rest, 405)));
        assert_eq!(
            call(both, "POST", &format!("{LIVE_PREFIX}nope")),
            Err((Dialect::Rest, 404))
        );
        assert_eq!(
            call(both, "POST", &Route::BindAgent.api_target()),
            Ok(Call::Rest(Route::BindAgent)),
            "settled by the body"
        );
        // The path of both dialects refuses a wrong method as the reference does.
        assert_eq!(
            call(both, "GET", &Route::BindAgent.api_target()),
            Err((Dialect::Rest, 405))
        );
        assert_eq!(
            call(Dialects::Rest, "PUT", &Route::BindAgent.api_target()),
            Err((Dialect::Rest, 405))
        );
    }

    #[test]
    fn one_dialect_refuses_the_other() {
        assert_eq!(
            call(Dialects::Rest, "POST", &LiveCall::SessionsCreate.url_path()),
            Err((Dialect::Rest, 404))
        );
        assert_eq!(
            call(
                Dialects::Rest,
                "POST",
                &LiveCall::AgentsSelfRegister.url_path()
            ),
            Err((Dialect::Rest, 404))
        );
        assert_eq!(
            call(Dialects::Rest, "POST", &Route::BindAgent.api_target()),
            Ok(Call::Rest(Route::BindAgent))
        );
        assert_eq!(
            call(Dialects::Rest, "GET", &Route::CreateSession.api_target()),
            Ok(Call::Rest(Route::ListSessions {
                query: Default::default()
            }))
        );
        assert_eq!(
            call(Dialects::Live, "GET", &Route::CreateSession.api_target()),
            Err((Dialect::Live, 404))
        );
        assert_eq!(
            call(Dialects::Live, "POST", &Route::Register.api_target()),
            Err((Dialect::Live, 404))
        );
        assert_eq!(
            call(Dialects::Live, "GET", &LiveCall::SessionsList.url_path()),
            Err((Dialect::Live, 405))
        );
        assert_eq!(
            call(Dialects::Live, "POST", &Route::BindAgent.api_target()),
            Ok(Call::Live(LiveCall::AgentsBind))
        );
    }

    #[test]
    fn bind_is_settled_by_its_body() {
        let rest = Call::Rest(Route::BindAgent);
        let live = Call::Live(LiveCall::AgentsBind);
        let greeting = br#"{"email":"a@b.co","greeting_msg":"Hi"}"#;
        assert_eq!(rest.clone().settle(Dialects::Both, greeting), live);
        assert_eq!(
            rest.clone()
                .settle(Dialects::Both, br#"{"email":"a@b.co"}"#),
            rest
        );
        assert_eq!(rest.clone().settle(Dialects::Both, b"not json"), rest);
        assert_eq!(rest.clone().settle(Dialects::Rest, greeting), rest);
        assert_eq!(live.clone().settle(Dialects::Both, b"{}"), live);
    }
}
