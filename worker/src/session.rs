//! Dashboard sessions: the signed `mochat_session` cookie and the password check.
//! Pure functions of their inputs (the clock comes in as Unix seconds).
//!
//! Cookie value: `v1.<expires>.<nonce>.<mac>` where `expires` is Unix
//! seconds, `nonce` tells one sign-in from another (1 to 32 of `[0-9a-f]`;
//! cookies from before it, `v1.<expires>.<mac>`, still verify) and `mac` is
//! lower-case hex HMAC-SHA256 of everything before it under the cookie key
//! (derived from `SESSION_SECRET`, see [`crate::keys`]).

use hmac::{Hmac, Mac};
use mochat_api::edge::{SESSION_COOKIE, SESSION_TTL_SECS};
use sha2::{Digest, Sha256};

pub(crate) type HmacSha256 = Hmac<Sha256>;

const VERSION: &str = "v1";

pub(crate) fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this never fails.
    <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
}

/// A fresh cookie value for a session that ends at `expires` (Unix
/// seconds); `nonce` (`[0-9a-f]`, at most 32) names this sign-in.
pub fn sign(key: &[u8], expires: u64, nonce: &str) -> String {
    let payload = format!("{VERSION}.{expires}.{nonce}");
    let mut m = mac(key);
    m.update(payload.as_bytes());
    format!("{payload}.{}", hex(&m.finalize().into_bytes()))
}

/// The session's end (Unix seconds) if `value` is a cookie this key signed
/// and it has not expired at `now`. Forged, altered, malformed and expired
/// values are `None`.
pub fn verify(key: &[u8], value: &str, now: u64) -> Option<u64> {
    verify_session(key, value, now).map(|(expires, _)| expires)
}

/// As [`verify`], with the session's id (its nonce; `0` for a cookie from
/// before nonces).
pub fn verify_session(key: &[u8], value: &str, now: u64) -> Option<(u64, String)> {
    let (payload, tag) = value.rsplit_once('.')?;
    let rest = payload.strip_prefix(VERSION)?.strip_prefix('.')?;
    let (expires, nonce) = rest.split_once('.').unwrap_or((rest, "0"));
    if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) || expires.len() > 12 {
        return None;
    }
    if nonce.is_empty() || nonce.len() > 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let expires: u64 = expires.parse().ok()?;
    let tag = unhex(tag)?;
    let mut m = mac(key);
    m.update(payload.as_bytes());
    m.verify_slice(&tag).ok()?;
    // A session never lasts longer than the TTL, whatever was signed.
    (expires > now && expires <= now.saturating_add(SESSION_TTL_SECS))
        .then(|| (expires, nonce.to_owned()))
}

/// The value of cookie `name` in a `Cookie` request header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// `Set-Cookie` that starts a session with cookie value `value`.
pub fn set_cookie(value: &str) -> String {
    format!(
        "{SESSION_COOKIE}={value}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={SESSION_TTL_SECS}"
    )
}

/// `Set-Cookie` that clears the session cookie.
pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0")
}

/// Whether `given` is the password, in time that does not depend on where
/// they differ (both sides are hashed first, so the lengths are equal too).
pub fn password_matches(given: &str, expected: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    ct_eq(&a, &b)
}

/// Constant-time equality of two byte strings (length differences return early).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `expires` (Unix seconds) as RFC3339 UTC with milliseconds.
pub fn rfc3339(unix_secs: u64) -> String {
    i64::try_from(unix_secs)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret-0123456789";
    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_signed_cookie_verifies_until_it_expires() {
        let exp = NOW + SESSION_TTL_SECS;
        let value = sign(SECRET, exp, "a1b2");
        assert!(value.starts_with(&format!("v1.{exp}.a1b2.")));
        assert_eq!(verify(SECRET, &value, NOW), Some(exp));
        assert_eq!(verify(SECRET, &value, exp - 1), Some(exp));
        assert_eq!(verify(SECRET, &value, exp), None, "expired at its end");
        assert_eq!(verify(SECRET, &value, exp + 1000), None);
    }

    #[test]
    fn forgeries_are_refused() {
        let value = sign(SECRET, NOW + 100, "ff");
        assert_eq!(verify(b"another-secret", &value, NOW), None, "other key");
        // Another sign-in's nonce with this MAC: refused.
        assert_eq!(
            verify(SECRET, &value.replacen(".ff.", ".fe.", 1), NOW),
            None
        );
        // Moving the expiry keeps the old MAC: refused.
        let moved = value.replacen(&format!("{}", NOW + 100), &format!("{}", NOW + 200), 1);
        assert_eq!(verify(SECRET, &moved, NOW), None);
        // A flipped MAC digit.
        let mut flipped = value.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).expect("ascii");
        assert_eq!(verify(SECRET, &flipped, NOW), None);
        // A far-future session signed with the right key is still capped by the TTL.
        let far = sign(SECRET, NOW + SESSION_TTL_SECS + 10, "0");
        assert_eq!(verify(SECRET, &far, NOW), None);
        for junk in [
            "",
            ".",
            "v1",
            "v1.",
            "v1..",
            "v2.1.00",
            "v1.-5.00",
            "v1.1e9.00",
            "v1.99999999999999999999.00",
            "v1.1800000100.zz",
            "v1.1800000100.abc",
            "v1.1800000100",
            "v1.1800000100.xyz.00",
            "v1.1800000100..00",
        ] {
            assert_eq!(verify(SECRET, junk, NOW), None, "{junk:?}");
        }
    }

    #[test]
    fn cookies_signed_before_nonces_still_verify() {
        let payload = format!("v1.{}", NOW + 100);
        let mut m = mac(SECRET);
        m.update(payload.as_bytes());
        let old = format!("{payload}.{}", hex(&m.finalize().into_bytes()));
        assert_eq!(verify(SECRET, &old, NOW), Some(NOW + 100));
    }

    #[test]
    fn cookie_header_parsing() {
        let h = "a=1; mochat_session=v1.2.ab ; other=x=y";
        assert_eq!(cookie(h, "mochat_session"), Some("v1.2.ab"));
        assert_eq!(cookie(h, "other"), Some("x=y"));
        assert_eq!(cookie(h, "missing"), None);
        assert_eq!(cookie("", "a"), None);
        assert_eq!(cookie("mochat_session_x=1", "mochat_session"), None);
    }

    #[test]
    fn set_cookie_attributes() {
        let c = set_cookie("v1.1.ab");
        assert!(c.starts_with("mochat_session=v1.1.ab;"));
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=43200",
        ] {
            assert!(c.contains(attr), "{attr}");
        }
        assert!(clear_cookie().starts_with("mochat_session=;"));
        assert!(clear_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn constant_time_comparisons() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(ct_eq(b"", b""));
        assert!(password_matches("hunter2", "hunter2"));
        assert!(!password_matches("hunter2", "hunter3"));
        assert!(!password_matches("", "hunter2"));
        assert!(!password_matches("hunter2 ", "hunter2"));
    }

    #[test]
    fn hex_round_trips() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&bytes), "0001abff");
        assert_eq!(unhex("0001abff"), Some(bytes.to_vec()));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("0G"), None);
        assert_eq!(unhex("AB"), None, "upper case is not what sign writes");
    }

    #[test]
    fn expiry_is_rfc3339_with_millis() {
        assert_eq!(rfc3339(1_798_761_600), "2027-01-01T00:00:00.000Z");
    }
}
