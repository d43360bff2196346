//! The fetch beneath the upstream adapter: URLs rebuilt from the matched
//! route (never from the raw path), only safe headers going out with the
//! agent's token, deadlines, and the redaction of anything token-shaped.

use std::time::Duration;

use futures::future::{Either, select};
use futures::pin_mut;
use mochat_api::limits::{
    CLAW_TOKEN_HEADER, CLAW_TOKEN_PREFIX, WATCH_TIMEOUT_DEFAULT_MS, WATCH_TIMEOUT_MAX_MS,
};
use mochat_api::{ApiError, ErrorCode, Route};
use worker::{
    AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
    Response, ResponseBody,
};

use crate::respond::{Flow, Halt};

/// How long any call but a watch may take to answer.
pub const CALL_DEADLINE_MS: u64 = 30_000;
/// Extra time a watch gets beyond its own timeout.
pub const WATCH_GRACE_MS: u64 = 15_000;
/// How long the health probe waits.
pub const PROBE_DEADLINE_MS: u64 = 3_000;

/// The upstream URL of a call: base + the route's own path and query (both
/// written again from the matched route, never copied from the request).
pub fn upstream_url(base: &str, route: &Route) -> String {
    format!("{base}{}", route.target())
}

/// How long to wait for the upstream's answer to `route`: a watch may hold
/// for its `timeout` (default 25 s, at most 60 s) plus a grace.
pub fn deadline_ms(route: &Route) -> u64 {
    let Route::WatchSession { query, .. } = route else {
        return CALL_DEADLINE_MS;
    };
    query
        .timeout_ms
        .unwrap_or(WATCH_TIMEOUT_DEFAULT_MS)
        .min(WATCH_TIMEOUT_MAX_MS)
        + WATCH_GRACE_MS
}

/// Replaces anything shaped like a claw token (`claw_` + 16 or more of
/// `[A-Za-z0-9_-]`) with `claw_[redacted]`.
pub fn redact_tokens(text: &str) -> String {
    let token_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(CLAW_TOKEN_PREFIX) {
        // A token starts at a boundary, not inside a longer word.
        let boundary = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !token_char(c));
        let tail = &rest[at + CLAW_TOKEN_PREFIX.len()..];
        let run = tail.find(|c: char| !token_char(c)).unwrap_or(tail.len());
        out.push_str(&rest[..at]);
        if boundary && run >= 16 {
            out.push_str("claw_[redacted]");
            rest = &tail[run..];
        } else {
            out.push_str(CLAW_TOKEN_PREFIX);
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// A request to send upstream.
pub struct Outgoing {
    pub url: String,
    pub method: Method,
    pub token: Option<String>,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
    pub deadline_ms: u64,
}

fn unavailable(detail: &str) -> Halt {
    ApiError::new(
        ErrorCode::UpstreamUnavailable,
        format!("The MoChat API {detail}. Try again in a moment."),
    )
    .into()
}

/// Sends `out`; the upstream's answer, or 502 `UPSTREAM_UNAVAILABLE` when it
/// cannot be reached or does not answer within the deadline.
pub async fn send(out: Outgoing) -> Flow<Response> {
    let headers = Headers::new();
    if let Some(ct) = &out.content_type {
        headers.set("Content-Type", ct)?;
    }
    headers.set("Accept", "application/json")?;
    if let Some(token) = &out.token {
        headers.set(CLAW_TOKEN_HEADER, token)?;
    }
    let mut init = RequestInit::new();
    init.with_method(out.method)
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    if let Some(body) = &out.body {
        init.with_body(Some(
            worker::js_sys::Uint8Array::from(body.as_slice()).into(),
        ));
    }
    let request = Request::new_with_init(&out.url, &init)?;
    let response = fetch_within(request, out.deadline_ms).await;
    match response {
        Fetched::Answer(resp) if (300..400).contains(&resp.status_code()) => Err(unavailable(
            "answered with a redirect; set UPSTREAM_URL to the final https URL ending in /api",
        )),
        Fetched::Answer(resp) => Ok(resp),
        Fetched::Failed => Err(unavailable("could not be reached")),
        Fetched::TimedOut => Err(unavailable("did not answer in time")),
    }
}

/// An answer's whole body as text, read by the runtime in one call (the
/// `worker` crate's `text()` reads a fetched body chunk by chunk through a
/// Rust stream: about a millisecond more per call, measured). Only the
/// stream is wrapped, in a new `Response` without status or headers, to read it.
pub async fn text(resp: Response) -> Flow<String> {
    let stream = match resp.body() {
        ResponseBody::Stream(stream) => stream,
        ResponseBody::Body(bytes) => return Ok(String::from_utf8_lossy(bytes).into_owned()),
        ResponseBody::Empty => return Ok(String::new()),
    };
    let reader = worker::web_sys::Response::new_with_opt_readable_stream(Some(stream))
        .map_err(worker::Error::from)?;
    let read = reader.text().map_err(worker::Error::from)?;
    let text = worker::wasm_bindgen_futures::JsFuture::from(read)
        .await
        .map_err(worker::Error::from)?;
    Ok(text.as_string().unwrap_or_default())
}

enum Fetched {
    Answer(Response),
    Failed,
    TimedOut,
}

async fn fetch_within(request: Request, deadline_ms: u64) -> Fetched {
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let call = fetch.send_with_signal(&signal);
    let timer = Delay::from(Duration::from_millis(deadline_ms));
    pin_mut!(call, timer);
    match select(call, timer).await {
        Either::Left((Ok(resp), _)) => Fetched::Answer(resp),
        Either::Left((Err(_), _)) => Fetched::Failed,
        Either::Right(_) => {
            controller.abort();
            Fetched::TimedOut
        }
    }
}

/// One request without a token (the health probe): its status and body,
/// when something answers within [`PROBE_DEADLINE_MS`].
pub async fn probe(url: &str, method: Method, body: Option<&str>) -> Option<(u16, String)> {
    let mut init = RequestInit::new();
    init.with_method(method)
        .with_redirect(RequestRedirect::Manual);
    if let Some(body) = body {
        let headers = Headers::new();
        headers.set("Content-Type", "application/json").ok()?;
        init.with_headers(headers).with_body(Some(body.into()));
    }
    let request = Request::new_with_init(url, &init).ok()?;
    match fetch_within(request, PROBE_DEADLINE_MS).await {
        Fetched::Answer(resp) => {
            let status = resp.status_code();
            Some((status, text(resp).await.unwrap_or_default()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mochat_api::requests::WatchQuery;

    #[test]
    fn urls_come_from_the_route() {
        let route = Route::ListSessionMessages {
            session_id: "s_1".into(),
            query: Default::default(),
        }
        .with_query(Some("limit=5&before=c1&extra=dropped"))
        .expect("a valid query");
        let base = "http://127.0.0.1:11000/api";
        assert_eq!(
            upstream_url(base, &route),
            format!("{base}{}", route.path()) + "?limit=5&before=c1"
        );
        let list = Route::ListSessions {
            query: Default::default(),
        };
        assert_eq!(upstream_url(base, &list), format!("{base}{}", list.path()));
        assert_eq!(
            upstream_url(base, &Route::WorkspaceGroup),
            format!("{base}{}", Route::WorkspaceGroup.path())
        );
    }

    #[test]
    fn watches_get_their_timeout_and_a_grace() {
        let watch = |timeout_ms| Route::WatchSession {
            session_id: "s_1".into(),
            query: WatchQuery {
                timeout_ms,
                cursor: Some(3),
                limit: None,
            },
        };
        assert_eq!(deadline_ms(&watch(None)), 25_000 + WATCH_GRACE_MS);
        assert_eq!(deadline_ms(&watch(Some(60_000))), 60_000 + WATCH_GRACE_MS);
        assert_eq!(deadline_ms(&watch(Some(999_999))), 60_000 + WATCH_GRACE_MS);
        assert_eq!(deadline_ms(&watch(Some(0))), WATCH_GRACE_MS);
        let list = Route::ListSessions {
            query: Default::default(),
        };
        assert_eq!(deadline_ms(&list), CALL_DEADLINE_MS);
    }

    #[test]
    fn tokens_are_redacted() {
        let t = "claw_0123456789abcdefXYZ";
        assert_eq!(
            redact_tokens(&format!(r#"{{"claw_token":"{t}","x":"{t} and {t}"}}"#)),
            r#"{"claw_token":"claw_[redacted]","x":"claw_[redacted] and claw_[redacted]"}"#
        );
        assert_eq!(redact_tokens("claw_short is fine"), "claw_short is fine");
        assert_eq!(
            redact_tokens("myclaw_0123456789abcdef"),
            "myclaw_0123456789abcdef"
        );
        assert_eq!(
            redact_tokens("claw_claw_0123456789abcdef"),
            "claw_[redacted]"
        );
        assert_eq!(redact_tokens("ünïcödé claw_"), "ünïcödé claw_");
        assert_eq!(redact_tokens(""), "");
    }
}
