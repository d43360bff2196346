//! Writing answers: JSON bodies and error envelopes, always with the security
//! headers; and [`Halt`], the early exit every handler uses with `?`.

use mochat_api::{ApiError, ErrorCode};
use serde::Serialize;
use worker::{Headers, Response, ResponseBody};

use crate::headers::API_HEADERS;

/// JSON content type of every body the worker writes.
pub const JSON: &str = "application/json; charset=utf-8";

/// Why a handler stops early: an answer for the user, or a fault of the worker.
#[derive(Debug)]
pub enum Halt {
    /// An error the user can act on, with extra headers (`Allow`, `Retry-After`, …).
    Reply {
        error: ApiError,
        headers: Vec<(&'static str, String)>,
    },
    /// Something inside the worker failed; logged, answered with a generic 500.
    Fault(worker::Error),
}

/// What handlers return.
pub type Flow<T> = Result<T, Halt>;

impl Halt {
    /// An error answer with extra headers.
    pub fn with_headers(error: ApiError, headers: Vec<(&'static str, String)>) -> Self {
        Self::Reply { error, headers }
    }
}

impl From<ApiError> for Halt {
    fn from(error: ApiError) -> Self {
        Self::Reply {
            error,
            headers: Vec::new(),
        }
    }
}

impl From<worker::Error> for Halt {
    fn from(error: worker::Error) -> Self {
        Self::Fault(error)
    }
}

/// Headers with the security set, plus `extra`.
pub fn headers(extra: &[(&str, String)]) -> worker::Result<Headers> {
    let h = Headers::new();
    for (name, value) in API_HEADERS {
        h.set(name, value)?;
    }
    for (name, value) in extra {
        h.set(name, value)?;
    }
    Ok(h)
}

/// Adds the security headers to `h` (on forwarded answers).
pub fn secure(h: &Headers) -> worker::Result<()> {
    for (name, value) in API_HEADERS {
        h.set(name, value)?;
    }
    Ok(())
}

/// A JSON answer.
pub fn json<T: Serialize>(
    status: u16,
    value: &T,
    extra: &[(&str, String)],
) -> worker::Result<Response> {
    let body = serde_json::to_vec(value).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let h = headers(extra)?;
    h.set("Content-Type", JSON)?;
    Ok(Response::builder()
        .with_status(status)
        .with_headers(h)
        .fixed(body))
}

/// A JSON answer whose body is already serialized (a stored upstream answer).
pub fn json_text(status: u16, body: String, extra: &[(&str, String)]) -> worker::Result<Response> {
    let h = headers(extra)?;
    h.set("Content-Type", JSON)?;
    Ok(Response::builder()
        .with_status(status)
        .with_headers(h)
        .fixed(body.into_bytes()))
}

/// A `204 No Content`.
pub fn no_content(extra: &[(&str, String)]) -> worker::Result<Response> {
    Ok(Response::builder()
        .with_status(204)
        .with_headers(headers(extra)?)
        .body(ResponseBody::Empty))
}

/// An error envelope with its status.
pub fn error(err: &ApiError, extra: &[(&str, String)]) -> worker::Result<Response> {
    let h = headers(extra)?;
    h.set("Content-Type", JSON)?;
    Ok(Response::builder()
        .with_status(err.status())
        .with_headers(h)
        .fixed(err.to_json().into_bytes()))
}

/// The answer for a [`Halt`]. Faults are logged (messages of the runtime,
/// never request data) and answered with a generic 500.
pub fn halt(h: Halt) -> worker::Result<Response> {
    match h {
        Halt::Reply { error: e, headers } => error(&e, &headers),
        Halt::Fault(e) => {
            worker::console_error!("mochat-worker: internal error: {e}");
            error(
                &ApiError::new(
                    ErrorCode::Internal,
                    "The edge worker failed unexpectedly. Try again; if it keeps failing, \
                     check the worker's logs (`wrangler tail`).",
                ),
                &[],
            )
        }
    }
}
