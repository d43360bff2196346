//! Visitor tokens: what the worker gives a widget visitor instead of a
//! session cookie (third-party cookies are blocked in many browsers; the
//! widget keeps the token in its own storage).
//!
//! Token: `vt1.<site>.<visitorId>.<expires>.<mac>`, `mac` the hex HMAC-SHA256
//! of `visitor|vt1.<site>.<visitorId>.<expires>` under the visitor key, which
//! is not the cookie key (both derived from `SESSION_SECRET`, see
//! [`crate::keys`]); the `visitor|` prefix is a second guard.

use hmac::Mac;
use mochat_api::routes::is_valid_id;
use mochat_api::widget::{VISITOR_TOKEN_PREFIX, VISITOR_TTL_SECS};

use crate::session::{HmacSha256, hex, mac, unhex};

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    pub site: String,
    pub id: String,
    pub expires: u64,
}

fn tag(key: &[u8], payload: &str) -> HmacSha256 {
    let mut m = mac(key);
    m.update(b"visitor|");
    m.update(payload.as_bytes());
    m
}

/// A token for visitor `id` of `site` that ends at `expires` (Unix seconds).
pub fn sign(key: &[u8], site: &str, id: &str, expires: u64) -> String {
    let payload = format!("{VISITOR_TOKEN_PREFIX}{site}.{id}.{expires}");
    let m = tag(key, &payload);
    format!("{payload}.{}", hex(&m.finalize().into_bytes()))
}

/// The visitor of a token this key signed that has not expired at `now`.
pub fn verify(key: &[u8], token: &str, now: u64) -> Option<Visitor> {
    if token.len() > 512 {
        return None;
    }
    let (payload, given) = token.rsplit_once('.')?;
    let rest = payload.strip_prefix(VISITOR_TOKEN_PREFIX)?;
    let mut parts = rest.split('.');
    let (site, id, expires) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_valid_id(site) || !is_valid_id(id) {
        return None;
    }
    if expires.is_empty() || expires.len() > 12 || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let expires: u64 = expires.parse().ok()?;
    tag(key, payload).verify_slice(&unhex(given)?).ok()?;
    (expires > now && expires <= now.saturating_add(VISITOR_TTL_SECS)).then(|| Visitor {
        site: site.to_owned(),
        id: id.to_owned(),
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret-0123456789";
    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_token_verifies_until_it_expires() {
        let exp = NOW + VISITOR_TTL_SECS;
        let t = sign(SECRET, "acme", "v0123", exp);
        assert!(t.starts_with("vt1.acme.v0123."));
        let v = verify(SECRET, &t, NOW).unwrap();
        assert_eq!(
            (v.site.as_str(), v.id.as_str(), v.expires),
            ("acme", "v0123", exp)
        );
        assert_eq!(verify(SECRET, &t, exp), None);
        assert_eq!(verify(b"other-secret", &t, NOW), None);
    }

    #[test]
    fn altered_tokens_fail() {
        let t = sign(SECRET, "acme", "v0123", NOW + 60);
        assert_eq!(verify(SECRET, &t.replace("acme", "acmf"), NOW), None);
        assert_eq!(verify(SECRET, &t.replace("v0123", "v0124"), NOW), None);
        assert_eq!(verify(SECRET, &format!("{t}0"), NOW), None);
        assert_eq!(verify(SECRET, "vt1.acme.v.1.zz", NOW), None);
        assert_eq!(verify(SECRET, "", NOW), None);
        // Too far in the future: never signed by this worker.
        let far = sign(SECRET, "acme", "v0123", NOW + VISITOR_TTL_SECS + 10);
        assert_eq!(verify(SECRET, &far, NOW), None);
    }

    #[test]
    fn session_cookies_are_not_visitor_tokens() {
        let cookie = crate::session::sign(SECRET, NOW + 60, "1");
        assert_eq!(verify(SECRET, &cookie, NOW), None);
    }

    #[test]
    fn a_visitor_tokens_mac_is_no_cookie_mac_under_the_workers_keys() {
        // The same secret gives the two a different key: a token's MAC, which
        // anyone can get by minting a visitor, says nothing of the cookie key.
        let keys =
            crate::keys::Keys::derive("test-session-secret-0123456789abcdef").expect("long enough");
        let token = sign(&keys.visitor, "acme", "v0123", NOW + 60);
        assert!(verify(&keys.visitor, &token, NOW).is_some());
        assert_eq!(verify(&keys.cookie, &token, NOW), None);
        let cookie = crate::session::sign(&keys.cookie, NOW + 60, "ab");
        assert!(crate::session::verify(&keys.cookie, &cookie, NOW).is_some());
        assert_eq!(crate::session::verify(&keys.visitor, &cookie, NOW), None);
    }
}
