//! The live service's dialect on the wire: every call a `POST` to
//! `/claw/<noun>/<verb>` under the base URL, the path's id and the query in
//! the JSON body; the mapping both ways is [`mochat_api::dialect`]. A close
//! or a participant change takes a second call that reads the session.

use mochat_api::Route;
use mochat_api::dialect;
use mochat_api::live::LiveCall;
use serde_json::{Value, json};
use worker::Method;

use super::{Extra, Reply};
use crate::proxy::{self, CALL_DEADLINE_MS, Outgoing, WATCH_GRACE_MS};
use crate::respond::Flow;

/// Upstream requests a call takes in this dialect.
pub(super) fn cost(route: &Route) -> u32 {
    dialect::cost(route)
}

/// One `POST` of the live dialect: status, body text, `Retry-After`.
async fn post(
    base: &str,
    token: Option<&str>,
    call: LiveCall,
    body: &Value,
    deadline_ms: u64,
) -> Flow<(u16, String, Option<String>)> {
    let upstream = proxy::send(Outgoing {
        url: format!("{base}{}", call.base_path()),
        method: Method::Post,
        token: token.map(str::to_owned),
        content_type: Some("application/json".to_owned()),
        body: Some(body.to_string().into_bytes()),
        deadline_ms,
    })
    .await?;
    let retry_after = upstream.headers().get("Retry-After").ok().flatten();
    let status = upstream.status_code();
    Ok((status, proxy::text(upstream).await?, retry_after))
}

/// The reference's reply of a live answer.
fn reply(route: &Route, status: u16, text: &str) -> Reply {
    match dialect::answer(route, status, text) {
        Ok((status, body)) => Reply::json(status, &body),
        Err(error) => Reply::error(&error),
    }
}

pub(super) async fn call(
    base: &str,
    token: Option<&str>,
    route: &Route,
    body: Option<&[u8]>,
    extra: &Extra,
) -> Flow<Reply> {
    let (live, request) = match dialect::request(route, body, extra.updated_after.as_deref()) {
        Ok(request) => request,
        Err(error) => return Ok(Reply::error(&error)),
    };
    let deadline = match route {
        Route::WatchSession { .. } => proxy::deadline_ms(route),
        _ => CALL_DEADLINE_MS,
    }
    .max(WATCH_GRACE_MS);
    let (status, text, retry_after) = post(base, token, live, &request, deadline).await?;
    let mut answer = reply(route, status, &text);
    if !answer.is_success() {
        answer.retry_after = retry_after;
        return Ok(answer);
    }
    if cost(route) == 2 {
        // The answer has no session: read it.
        let (_, id) = LiveCall::from_route(route);
        let get = json!({ "sessionId": id.unwrap_or_default() });
        let (status, text, retry_after) =
            post(base, token, LiveCall::SessionsGet, &get, CALL_DEADLINE_MS).await?;
        let get_route = Route::GetSession {
            session_id: id.unwrap_or_default().to_owned(),
        };
        answer = reply(&get_route, status, &text);
        answer.retry_after = retry_after.filter(|_| !answer.is_success());
    }
    Ok(answer)
}

/// Whether the upstream answers as the live dialect does: the session list
/// without a token is refused with a numeric `code` 401. `None`: no answer.
pub(super) async fn probe(base: &str) -> Option<bool> {
    let url = format!("{base}{}", LiveCall::SessionsList.base_path());
    let (status, body) = proxy::probe(&url, Method::Post, Some("{}")).await?;
    let code = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("code").and_then(Value::as_u64));
    Some(code == Some(401) && (status == 401 || status == 200))
}
