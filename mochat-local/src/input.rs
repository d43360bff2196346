//! Reading what clients send: JSON bodies, query strings, and the field rules of
//! the contract (content, meta, titles, emails). Every failure is a 400 that says
//! what to fix.

use mochat_api::ApiError;
use mochat_api::limits::{
    CONTENT_MAX_CHARS, META_MAX_BYTES, PAGE_DEFAULT, TITLE_MAX_CHARS, WATCH_LIMIT_DEFAULT,
    WATCH_TIMEOUT_DEFAULT_MS, message_text,
};
use mochat_api::requests::{PageQuery, WatchQuery};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::AppResult;

/// Parses a JSON body into a request shape of the contract.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> AppResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "This call needs a JSON object as its body, and the body was empty.",
        )
        .into());
    }
    // Serde would also read a struct from an array of its fields; only objects are bodies.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request(
            "This call needs a JSON object ({\"field\": …}) as its body.",
        )
        .into());
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "The body is not valid JSON"
        } else {
            "The body does not have the fields this call needs"
        };
        ApiError::bad_request(format!("{what}: {e}.")).into()
    })
}

/// The page size of a [`PageQuery`] with its default applied.
pub fn page_limit(query: &PageQuery) -> u32 {
    query.limit.unwrap_or(PAGE_DEFAULT)
}

/// The watch query with its defaults applied: (timeout ms, limit, cursor).
pub fn watch_values(query: &WatchQuery) -> (u64, u32, u64) {
    (
        query.timeout_ms.unwrap_or(WATCH_TIMEOUT_DEFAULT_MS),
        query.limit.unwrap_or(WATCH_LIMIT_DEFAULT),
        query.cursor.unwrap_or(0),
    )
}

/// Message content: trimmed, 1..=10,000 characters.
pub fn content(raw: &str) -> AppResult<String> {
    Ok(message_text(raw, CONTENT_MAX_CHARS)?.to_owned())
}

/// Message meta: an object (absent or null means `{}`), at most 8 KiB as compact JSON.
pub fn meta(raw: Option<Map<String, Value>>) -> AppResult<Map<String, Value>> {
    let meta = raw.unwrap_or_default();
    let size = serde_json::to_vec(&meta)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > META_MAX_BYTES {
        return Err(ApiError::bad_request(format!(
            "The meta object takes {size} bytes as JSON; at most {META_MAX_BYTES} are allowed."
        ))
        .into());
    }
    Ok(meta)
}

/// A session title: default `""`, at most 200 characters.
pub fn title(raw: Option<String>) -> AppResult<String> {
    let title = raw.unwrap_or_default();
    let chars = title.chars().count();
    if chars > TITLE_MAX_CHARS {
        return Err(ApiError::bad_request(format!(
            "The title has {chars} characters; at most {TITLE_MAX_CHARS} are allowed."
        ))
        .into());
    }
    Ok(title)
}

/// An email of the shape `local@domain.tld`, lowercased for matching.
pub fn email(raw: &str) -> AppResult<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            let labels: Vec<&str> = domain.split('.').collect();
            !local.is_empty()
                && !domain.contains('@')
                && labels.len() >= 2
                && labels.iter().all(|l| !l.is_empty())
        });
    if valid {
        Ok(email)
    } else {
        Err(ApiError::bad_request(format!(
            "{raw:?} is not an email address; use the form name@example.com."
        ))
        .into())
    }
}

/// A required short text field (names, usernames): trimmed, 1..=`max` characters.
pub fn short_text(field: &str, raw: &str, max: usize) -> AppResult<String> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(ApiError::bad_request(format!(
            "The field {field} must have 1 to {max} characters."
        ))
        .into());
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mochat_api::requests::SendMessageRequest;

    #[test]
    fn bodies() {
        let ok: SendMessageRequest = json_body(br#"{"content":"hi","extra":1}"#).expect("parses");
        assert_eq!(ok.content, "hi");
        for bad in [
            &b""[..],
            b"{",
            br#"{"content":5}"#,
            br#"{}"#,
            br#"{"content":"x","meta":[]}"#,
            br#"["hi"]"#,
            b"\xef\xbb\xbf{\"content\":\"hi\"}",
        ] {
            let err = json_body::<SendMessageRequest>(bad).expect_err("rejects");
            assert_eq!(err.error.status(), 400);
        }
    }

    #[test]
    fn query_defaults() {
        // (Parsing itself is api::query's, tested there.)
        assert_eq!(page_limit(&PageQuery::default()), 50);
        let w = WatchQuery::parse(Some("timeout=0&cursor=7")).expect("parses");
        assert_eq!(watch_values(&w), (0, 100, 7));
        assert_eq!(watch_values(&WatchQuery::default()), (25_000, 100, 0));
    }

    #[test]
    fn fields() {
        assert_eq!(content("  hi \n").expect("ok"), "hi");
        assert!(content(" \u{3000}\t").is_err());
        assert!(content(&"é".repeat(10_000)).is_ok());
        assert!(content(&"x".repeat(10_001)).is_err());
        let mut big = Map::new();
        big.insert("k".into(), Value::String("x".repeat(8 * 1024)));
        assert!(meta(Some(big)).is_err());
        assert!(meta(None).expect("ok").is_empty());
        assert_eq!(title(None).expect("ok"), "");
        assert!(title(Some("t".repeat(201))).is_err());
        assert_eq!(email(" Ada@Example.COM ").expect("ok"), "ada@example.com");
        for bad in [
            "ada",
            "ada@example",
            "@example.com",
            "a b@example.com",
            "a@b@c.d",
            "a@.com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }
}
