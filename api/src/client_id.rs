//! `meta.clientId`: the id a sender gives a message so that a retried send
//! posts once. The dashboard writes one on every send; the worker keys its
//! ledger of sends by it and reads it back to find a send that went through.

use serde_json::{Map, Value};

use crate::Message;

/// The key of the client id in a message's `meta`.
pub const CLIENT_ID_KEY: &str = "clientId";
/// Longest client id that is honoured.
pub const MAX_CLIENT_ID_LEN: usize = 100;

/// Whether `id` is a usable client id: 1..=100 of `[A-Za-z0-9_-]`.
pub fn is_valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A fresh client id from the time (Unix ms) and a random number in `[0, 1)`:
/// unique enough per browser, and always valid.
pub fn new_client_id(now_ms: f64, random: f64) -> String {
    format!(
        "c{:x}{:08x}",
        now_ms as u64,
        (random * f64::from(u32::MAX)) as u32
    )
}

/// `meta` carrying only `id`: `{"clientId": id}`.
pub fn meta_with(id: &str) -> Map<String, Value> {
    let mut meta = Map::new();
    meta.insert(CLIENT_ID_KEY.to_owned(), Value::String(id.to_owned()));
    meta
}

/// The usable client id of a message, if it carries one.
pub fn of_message(message: &Message) -> Option<&str> {
    of_meta(&message.meta)
}

/// The usable client id in a `meta` object, if any.
pub fn of_meta(meta: &Map<String, Value>) -> Option<&str> {
    meta.get(CLIENT_ID_KEY)
        .and_then(Value::as_str)
        .filter(|id| is_valid_client_id(id))
}

/// The usable `meta.clientId` of a send's JSON body, if any.
pub fn of_body(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    of_meta(value.get("meta")?.as_object()?).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rule() {
        assert!(is_valid_client_id("c18c9a2b3f4e5a6b7"));
        assert!(is_valid_client_id("c-e2e_1"));
        assert!(is_valid_client_id(&"a".repeat(100)));
        for bad in ["", "a b", "a/b", "é", &"a".repeat(101)] {
            assert!(!is_valid_client_id(bad), "{bad:?}");
        }
        for (now, random) in [(0.0, 0.0), (1.7e12, 0.999_999), (f64::MAX, 1.0)] {
            assert!(is_valid_client_id(&new_client_id(now, random)));
        }
        assert_ne!(new_client_id(1.0, 0.1), new_client_id(1.0, 0.2));
    }

    #[test]
    fn read_from_meta_and_bodies() {
        assert_eq!(Value::Object(meta_with("c9")), json!({"clientId": "c9"}));
        assert_eq!(of_meta(&meta_with("c9")), Some("c9"));
        assert_eq!(of_meta(&meta_with("a b")), None);
        let body = br#"{"content":"hi","meta":{"clientId":"c1"}}"#;
        assert_eq!(of_body(body).as_deref(), Some("c1"));
        for other in [
            &b"not json"[..],
            br#"{"content":"hi"}"#,
            br#"{"content":"hi","meta":{"clientId":7}}"#,
            br#"{"content":"hi","meta":{"clientId":""}}"#,
            br#"{"content":"hi","meta":[]}"#,
        ] {
            assert_eq!(of_body(other), None, "{}", String::from_utf8_lossy(other));
        }
    }
}
