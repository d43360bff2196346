//! Reading query strings as the contract fixes them: plain non-negative
//! decimals within their ranges, no parameter twice, proper percent-encoding.
//! Every failure is a 400 that says what to fix.

use crate::error::ApiError;
use crate::limits::{PAGE_MAX, WATCH_LIMIT_MAX, WATCH_TIMEOUT_MAX_MS};
use crate::requests::{PageQuery, WatchQuery};

/// Decodes one `application/x-www-form-urlencoded` component.
pub fn decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The parameters of a query string (without `?`); a repeated or
/// undecodable one is a 400.
pub fn pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for piece in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let (Some(key), Some(value)) = (decode(key), decode(value)) else {
            return Err(ApiError::bad_request(format!(
                "The query parameter {piece:?} is not properly percent-encoded."
            )));
        };
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(ApiError::bad_request(format!(
                "The query parameter {key:?} is given more than once; give it once."
            )));
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A plain non-negative decimal within `min..=max`, or a 400 naming the range.
pub fn number(
    pairs: &[(String, String)],
    name: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, ApiError> {
    let Some(raw) = get(pairs, name) else {
        return Ok(None);
    };
    let value = (!raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse::<u64>().ok())
        .flatten()
        .filter(|v| (min..=max).contains(v));
    match value {
        Some(v) => Ok(Some(v)),
        None => Err(ApiError::bad_request(format!(
            "The query parameter {name} must be a whole number from {min} to {max}, not {raw:?}."
        ))),
    }
}

impl PageQuery {
    /// `?limit&before` of the message and session lists.
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let pairs = pairs(query)?;
        let limit = number(&pairs, "limit", 1, u64::from(PAGE_MAX))?;
        let before = get(&pairs, "before").map(str::to_owned);
        if before.as_deref() == Some("") {
            return Err(ApiError::bad_request(
                "The before cursor is empty. Pass the cursor of the previous page, or leave it out.",
            ));
        }
        Ok(Self {
            limit: limit.map(|l| l as u32),
            before,
        })
    }
}

impl WatchQuery {
    /// `?timeout&limit&cursor` of the watch.
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let pairs = pairs(query)?;
        Ok(Self {
            timeout_ms: number(&pairs, "timeout", 0, WATCH_TIMEOUT_MAX_MS)?,
            limit: number(&pairs, "limit", 1, u64::from(WATCH_LIMIT_MAX))?.map(|l| l as u32),
            cursor: number(&pairs, "cursor", 0, i64::MAX as u64)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        let q = PageQuery::parse(Some("limit=5&before=msg_1&x=")).expect("parses");
        assert_eq!((q.limit, q.before.as_deref()), (Some(5), Some("msg_1")));
        assert_eq!(
            PageQuery::parse(None).expect("parses"),
            PageQuery::default()
        );
        for bad in [
            "limit=0",
            "limit=101",
            "limit=-1",
            "limit=1.5",
            "limit=",
            "limit=+5",
            "limit=5&limit=5",
            "before=",
            "limit=%zz",
        ] {
            assert_eq!(
                PageQuery::parse(Some(bad)).map_err(|e| e.status()),
                Err(400),
                "{bad}"
            );
        }
    }

    #[test]
    fn watches() {
        let w = WatchQuery::parse(Some("timeout=0&cursor=7")).expect("parses");
        assert_eq!((w.timeout_ms, w.limit, w.cursor), (Some(0), None, Some(7)));
        assert!(WatchQuery::parse(Some("timeout=60001")).is_err());
        assert!(WatchQuery::parse(Some("limit=1001")).is_err());
        assert!(WatchQuery::parse(Some("cursor=abc")).is_err());
        assert!(WatchQuery::parse(Some("cursor=1&cursor=2")).is_err());
        assert_eq!(decode("a%20b+c").as_deref(), Some("a b c"));
    }
}
