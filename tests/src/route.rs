//! Short constructors of the [`Route`]s the tests call most, ids and query
//! filled in. Send them with [`crate::Edge::call`] (the worker's `/api`) or
//! [`crate::Mochat::call`] (an API base URL).

use mochat_api::Route;
use mochat_api::requests::{PageQuery, WatchQuery};

/// `GET /claw/sessions`, with `?limit=` when given.
pub fn sessions(limit: Option<u32>) -> Route {
    Route::ListSessions {
        query: PageQuery {
            limit,
            before: None,
        },
    }
}

/// `GET /claw/sessions/:id`.
pub fn session(session_id: &str) -> Route {
    Route::GetSession {
        session_id: session_id.into(),
    }
}

/// `GET /claw/sessions/:id/detail`.
pub fn detail(session_id: &str) -> Route {
    Route::SessionDetail {
        session_id: session_id.into(),
    }
}

/// `POST /claw/sessions/:id/message`.
pub fn send(session_id: &str) -> Route {
    Route::SendSessionMessage {
        session_id: session_id.into(),
    }
}

/// `GET /claw/sessions/:id/messages`, with `?limit=` when given.
pub fn messages(session_id: &str, limit: Option<u32>) -> Route {
    Route::ListSessionMessages {
        session_id: session_id.into(),
        query: PageQuery {
            limit,
            before: None,
        },
    }
}

/// `GET /claw/sessions/:id/watch?timeout=…` (and `&cursor=…` when given).
pub fn watch(session_id: &str, timeout_ms: u64, cursor: Option<u64>) -> Route {
    Route::WatchSession {
        session_id: session_id.into(),
        query: WatchQuery {
            timeout_ms: Some(timeout_ms),
            limit: None,
            cursor,
        },
    }
}

/// `POST /claw/panels/:id/message`.
pub fn panel_send(panel_id: &str) -> Route {
    Route::SendPanelMessage {
        panel_id: panel_id.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The queries go out as the tests wrote them by hand before.
    #[test]
    fn queries_are_the_ones_written_by_hand() {
        assert_eq!(sessions(None).query_string(), "");
        assert_eq!(sessions(Some(5)).query_string(), "?limit=5");
        assert_eq!(messages("s1", None).query_string(), "");
        assert_eq!(messages("s1", Some(50)).query_string(), "?limit=50");
        assert_eq!(
            watch("s1", 20_000, Some(7)).query_string(),
            "?timeout=20000&cursor=7"
        );
        assert_eq!(watch("s1", 0, None).query_string(), "?timeout=0");
    }
}
