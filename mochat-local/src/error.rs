//! [`AppError`]: every failure of a request, written as the contract's envelope
//! (or as the live dialect's error body), and the JSON success answers of both dialects.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mochat_api::live::{LiveError, LiveOk};
use mochat_api::{ApiError, ErrorCode};
use serde::Serialize;

use crate::routing::Dialect;

/// An error answer: the envelope plus any headers it needs (`Allow`, `Retry-After`).
#[derive(Debug)]
pub struct AppError {
    pub error: ApiError,
    pub headers: Vec<(HeaderName, String)>,
}

/// What handlers return.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ApiError::new(code, message),
            headers: Vec::new(),
        }
    }

    /// A failure of the server itself; the details go to the log, not to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            ErrorCode::Internal,
            "The local server failed to complete the request (see its log). Try again.",
        )
    }

    /// Adds a header to the error answer.
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl From<ApiError> for AppError {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            headers: Vec::new(),
        }
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(error: rusqlite::Error) -> Self {
        Self::internal(format!("database: {error}"))
    }
}

impl AppError {
    /// The answer in a dialect: the envelope, or the live `{code, name, message}`
    /// (HTTP status equal to `code`), with the same headers.
    pub fn into_dialect_response(self, dialect: Dialect) -> Response {
        let status =
            StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = match dialect {
            Dialect::Rest => self.error.to_json().into_bytes(),
            Dialect::Live => {
                serde_json::to_vec(&LiveError::from_api(&self.error)).unwrap_or_else(|_| {
                    br#"{"code":500,"name":"INTERNAL","message":"error"}"#.to_vec()
                })
            }
        };
        let mut response = json_bytes(status, body);
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.into_dialect_response(Dialect::Rest)
    }
}

/// A handler's result as an answer in `dialect`.
pub fn respond(result: AppResult<Response>, dialect: Dialect) -> Response {
    result.unwrap_or_else(|error| error.into_dialect_response(dialect))
}

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// A JSON success answer.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> AppResult<Response> {
    let body = serde_json::to_vec(value).map_err(AppError::internal)?;
    Ok(json_bytes(status, body))
}

/// A live-dialect success answer: HTTP 200, `{"code":200,"data":…}`.
pub fn live_ok<T: Serialize>(data: &T) -> AppResult<Response> {
    json(StatusCode::OK, &LiveOk::new(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_envelopes_with_their_status_and_headers() {
        let response = AppError::new(ErrorCode::RateLimited, "slow down")
            .with_header(header::RETRY_AFTER, "3")
            .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
    }

    #[tokio::test]
    async fn live_errors_carry_the_status_as_their_code() {
        let response = AppError::from(ApiError::not_found("No such session."))
            .with_header(header::ALLOW, "POST")
            .into_dialect_response(Dialect::Live);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::ALLOW], "POST");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("a body");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).expect("json"),
            serde_json::json!({"code": 404, "name": "NOT_FOUND", "message": "No such session."})
        );
    }
}
