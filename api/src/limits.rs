//! The numbers the contract fixes, in one place.

/// Default page size for `limit` when absent.
pub const PAGE_DEFAULT: u32 = 50;
/// Largest `limit` a page may ask for.
pub const PAGE_MAX: u32 = 100;
/// Default number of events a watch returns.
pub const WATCH_LIMIT_DEFAULT: u32 = 100;
/// Largest watch `limit`.
pub const WATCH_LIMIT_MAX: u32 = 1000;
/// Default watch `timeout` in milliseconds.
pub const WATCH_TIMEOUT_DEFAULT_MS: u64 = 25_000;
/// Largest watch `timeout` in milliseconds.
pub const WATCH_TIMEOUT_MAX_MS: u64 = 60_000;
/// Largest request body, in bytes (64 KiB).
pub const BODY_MAX_BYTES: usize = 64 * 1024;
/// Largest message content, in Unicode scalar values, after trimming.
pub const CONTENT_MAX_CHARS: usize = 10_000;
/// Largest `meta` object as compact UTF-8 JSON, in bytes (8 KiB).
pub const META_MAX_BYTES: usize = 8 * 1024;
/// Largest session title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// Requests an agent may make in any window of [`RATE_WINDOW_SECS`].
pub const RATE_LIMIT: u32 = 120;
/// Length of the rate-limit window in seconds.
pub const RATE_WINDOW_SECS: u64 = 60;
/// Name of the request header that carries an agent's token.
pub const CLAW_TOKEN_HEADER: &str = "X-Claw-Token";
/// Name of the header with which the browser picks an agent at the worker.
pub const AGENT_HEADER: &str = "X-MoChat-Agent";
/// Prefix of every claw token.
pub const CLAW_TOKEN_PREFIX: &str = "claw_";

/// A message's text as the API takes it: trimmed, 1 to `max` characters
/// ([`CONTENT_MAX_CHARS`], or less where the worker adds to it); otherwise
/// a 400 that says what to do.
pub fn message_text(raw: &str, max: usize) -> Result<&str, crate::ApiError> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars == 0 {
        return Err(crate::ApiError::bad_request(
            "The message content is empty. Write at least one character that is not white space.",
        ));
    }
    if chars > max {
        return Err(crate::ApiError::bad_request(format!(
            "The message content has {chars} characters; at most {max} are allowed. \
             Split it into several messages."
        )));
    }
    Ok(trimmed)
}

/// Whether `token` has the shape of a claw token: `claw_` and at least 16 of `[A-Za-z0-9_-]`.
pub fn is_claw_token(token: &str) -> bool {
    token.strip_prefix(CLAW_TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() >= 16
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claw_token_shape() {
        assert!(is_claw_token("claw_0123456789abcdef"));
        assert!(is_claw_token("claw_AAAA-BBBB_CCCC-DDDD"));
        assert!(!is_claw_token("claw_short"));
        assert!(!is_claw_token("claw_0123456789abcde!"));
        assert!(!is_claw_token("token_0123456789abcdef"));
    }
}
