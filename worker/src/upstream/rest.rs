//! The reference's REST dialect: the route's own method and path, the query
//! and body as the reference takes them, the answer as it comes.

use mochat_api::{ErrorCode, ErrorEnvelope, Route};
use worker::Method;

use super::Reply;
use crate::proxy::{self, Outgoing};
use crate::respond::Flow;

fn method(route: &Route) -> Method {
    match route.method() {
        mochat_api::Method::Get => Method::Get,
        mochat_api::Method::Post => Method::Post,
        mochat_api::Method::Delete => Method::Delete,
    }
}

pub(super) async fn call(
    base: &str,
    token: Option<&str>,
    route: &Route,
    body: Option<&[u8]>,
) -> Flow<Reply> {
    let has_body = route.has_body();
    let upstream = proxy::send(Outgoing {
        url: proxy::upstream_url(base, route),
        method: method(route),
        token: token.map(str::to_owned),
        content_type: has_body.then(|| "application/json".to_owned()),
        body: has_body.then(|| body.unwrap_or_default().to_vec()),
        deadline_ms: proxy::deadline_ms(route),
    })
    .await?;
    let header = |name: &str| upstream.headers().get(name).ok().flatten();
    let retry_after = header("Retry-After");
    let allow = header("Allow");
    let status = upstream.status_code();
    Ok(Reply {
        status,
        body: proxy::text(upstream).await?,
        retry_after,
        allow,
    })
}

/// Whether the upstream answers as the REST dialect does: the session list
/// without a token is a 401 in the reference's envelope. `None`: no answer.
pub(super) async fn probe(base: &str) -> Option<bool> {
    let list = Route::ListSessions {
        query: Default::default(),
    };
    let (status, body) = proxy::probe(&proxy::upstream_url(base, &list), Method::Get, None).await?;
    let envelope = serde_json::from_str::<ErrorEnvelope>(&body).ok();
    Some(status == 401 && envelope.is_some_and(|e| e.error.code == ErrorCode::Unauthorized))
}
