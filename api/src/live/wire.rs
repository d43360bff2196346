//! The live dialect on the wire: the `{code, data}` answer, the error
//! answer, and reading an answer the way the public clients do.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorCode};

use super::*;

/// A successful answer: `{"code":200,"data":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveOk<T> {
    pub code: u16,
    pub data: T,
}

impl<T> LiveOk<T> {
    /// Wraps `data` with code 200.
    pub fn new(data: T) -> Self {
        Self {
            code: OK_CODE,
            data,
        }
    }
}

/// An error answer: `{"code":N,"name":"<ERROR_CODE>","message":"…"}`; the HTTP
/// status equals `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveError {
    pub code: u16,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub message: String,
}

impl LiveError {
    /// The live form of a contract error: the name is its code, e.g. `NOT_FOUND`.
    pub fn from_api(error: &ApiError) -> Self {
        Self {
            code: error.status(),
            name: error.code.as_str().to_owned(),
            message: error.message.clone(),
        }
    }

    /// The contract error of a live error: its name when the contract knows it,
    /// otherwise the code that goes with its status.
    pub fn to_api(&self) -> ApiError {
        let code = match ErrorCode::from(self.name.clone()) {
            ErrorCode::Unknown(_) => ErrorCode::from_status(self.code),
            known => known,
        };
        let message = [&self.message, &self.name]
            .into_iter()
            .find(|m| !m.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| {
                format!(
                    "The live service refused the call with code {} and no explanation.",
                    self.code
                )
            });
        ApiError::new(code, message)
    }
}

impl From<&ApiError> for LiveError {
    fn from(error: &ApiError) -> Self {
        Self::from_api(error)
    }
}

/// Reads an answer the way the public clients do: a non-2xx status is an error
/// (its live error body, or a reference envelope, or a code from the status); a
/// numeric `code` other than 200 is an error; with `code` 200 the answer is
/// `data`; an answer without `code` is the data itself.
pub fn decode_answer<T: DeserializeOwned>(status: u16, body: &str) -> Result<T, LiveError> {
    let value: Option<Value> = serde_json::from_str(body).ok();
    let wrapped_code = value
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_u64);
    if !(200..300).contains(&status) || wrapped_code.is_some_and(|c| c != u64::from(OK_CODE)) {
        let live = value
            .filter(|_| wrapped_code.is_some())
            .and_then(|v| serde_json::from_value::<LiveError>(v).ok());
        return Err(match live {
            Some(mut error) => {
                if !(400..600).contains(&error.code) {
                    error.code = if (200..300).contains(&status) {
                        ErrorCode::UpstreamUnavailable.status()
                    } else {
                        status
                    };
                }
                error
            }
            None => LiveError::from_api(&ApiError::from_response(status, body)),
        });
    }
    let data = match value {
        Some(Value::Object(mut object)) if wrapped_code.is_some() => match object.remove("data") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(data) => data,
        },
        Some(other) => other,
        None => {
            return Err(LiveError {
                code: ErrorCode::UpstreamUnavailable.status(),
                name: ErrorCode::UpstreamUnavailable.as_str().to_owned(),
                message: "The live service answered with something that is not JSON.".into(),
            });
        }
    };
    serde_json::from_value(data).map_err(|e| LiveError {
        code: ErrorCode::UpstreamUnavailable.status(),
        name: ErrorCode::UpstreamUnavailable.as_str().to_owned(),
        message: format!("The live service answered in a shape this client does not know: {e}."),
    })
}
