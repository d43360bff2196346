//! The error envelope `{"error":{"code","message"}}` and its codes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An error code of the contract. Codes this crate does not know are kept in
/// [`ErrorCode::Unknown`], so a new upstream code never breaks a client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    RateLimited,
    UpstreamUnavailable,
    Internal,
    Unknown(String),
}

impl ErrorCode {
    /// The wire name, e.g. `RATE_LIMITED`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict => "CONFLICT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::RateLimited => "RATE_LIMITED",
            Self::UpstreamUnavailable => "UPSTREAM_UNAVAILABLE",
            Self::Internal => "INTERNAL",
            Self::Unknown(code) => code,
        }
    }

    /// The HTTP status that goes with this code (500 for unknown codes).
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::RateLimited => 429,
            Self::UpstreamUnavailable => 502,
            Self::Internal | Self::Unknown(_) => 500,
        }
    }

    /// The code that goes with an HTTP status, for errors that came without an envelope.
    pub fn from_status(status: u16) -> Self {
        match status {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            409 => Self::Conflict,
            413 => Self::PayloadTooLarge,
            429 => Self::RateLimited,
            502..=504 => Self::UpstreamUnavailable,
            _ => Self::Internal,
        }
    }
}

impl From<String> for ErrorCode {
    fn from(value: String) -> Self {
        match value.as_str() {
            "BAD_REQUEST" => Self::BadRequest,
            "UNAUTHORIZED" => Self::Unauthorized,
            "FORBIDDEN" => Self::Forbidden,
            "NOT_FOUND" => Self::NotFound,
            "METHOD_NOT_ALLOWED" => Self::MethodNotAllowed,
            "CONFLICT" => Self::Conflict,
            "PAYLOAD_TOO_LARGE" => Self::PayloadTooLarge,
            "RATE_LIMITED" => Self::RateLimited,
            "UPSTREAM_UNAVAILABLE" => Self::UpstreamUnavailable,
            "INTERNAL" => Self::Internal,
            _ => Self::Unknown(value),
        }
    }
}

impl From<ErrorCode> for String {
    fn from(value: ErrorCode) -> Self {
        value.as_str().to_owned()
    }
}

/// The body of an error: a code and a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// Serialises the envelope, `{"error":{"code","message"}}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&ErrorEnvelope {
            error: self.clone(),
        })
        .unwrap_or_else(|_| r#"{"error":{"code":"INTERNAL","message":"error"}}"#.to_owned())
    }

    /// Parses an error response: the envelope when the body holds one, otherwise
    /// a code derived from the status and a generic message.
    pub fn from_response(status: u16, body: &str) -> Self {
        Self::from_envelope(status, serde_json::from_str(body).ok())
    }

    /// The envelope's error, or (none read) a code derived from the status
    /// and a generic message.
    pub fn from_envelope(status: u16, envelope: Option<ErrorEnvelope>) -> Self {
        envelope.map(|e| e.error).unwrap_or_else(|| {
            Self::new(
                ErrorCode::from_status(status),
                format!("The server answered {status} without an explanation. Try again."),
            )
        })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code.as_str())
    }
}

impl std::error::Error for ApiError {}

/// `{"error": {...}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ApiError,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_envelope_round_trips() {
        let value = json!({"error": {"code": "RATE_LIMITED", "message": "Too many requests"}});
        let env: ErrorEnvelope = serde_json::from_value(value.clone()).expect("parses");
        assert_eq!(env.error.code, ErrorCode::RateLimited);
        assert_eq!(env.error.status(), 429);
        assert_eq!(serde_json::to_value(&env).expect("serialises"), value);
    }

    #[test]
    fn unknown_codes_are_kept() {
        let e = ApiError::from_response(
            418,
            r#"{"error":{"code":"TEAPOT","message":"short and stout"}}"#,
        );
        assert_eq!(e.code, ErrorCode::Unknown("TEAPOT".into()));
        assert_eq!(
            serde_json::to_value(&e).expect("serialises")["code"],
            "TEAPOT"
        );
    }

    #[test]
    fn every_code_maps_to_its_status_and_back() {
        for (code, status) in [
            (ErrorCode::BadRequest, 400),
            (ErrorCode::Unauthorized, 401),
            (ErrorCode::Forbidden, 403),
            (ErrorCode::NotFound, 404),
            (ErrorCode::MethodNotAllowed, 405),
            (ErrorCode::Conflict, 409),
            (ErrorCode::PayloadTooLarge, 413),
            (ErrorCode::RateLimited, 429),
            (ErrorCode::UpstreamUnavailable, 502),
        ] {
            assert_eq!(code.status(), status);
            assert_eq!(ErrorCode::from_status(status), code);
            assert_eq!(ErrorCode::from(code.as_str().to_owned()), code);
        }
    }

    #[test]
    fn bodies_without_envelope_get_a_code_from_the_status() {
        let e = ApiError::from_response(503, "<html>down</html>");
        assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
        assert!(!e.message.is_empty());
    }
}
