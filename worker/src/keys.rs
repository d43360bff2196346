//! The worker's keys and the strength its secrets must have.
//!
//! `SESSION_SECRET` is never used as a key itself: HKDF-SHA256 derives one
//! key per purpose from it (distinct labels), so a visitor token, which
//! anyone can mint, is signed under a key that has nothing to do with the
//! one that signs operator cookies. A secret under [`MIN_SECRET_BYTES`] and a
//! `DASHBOARD_PASSWORD` under [`MIN_PASSWORD_CHARS`] are refused (a 500 that
//! names the secret, like a missing one): a weak one can be guessed offline
//! from any token or cookie, or online despite the sign-in throttle.

use hkdf::Hkdf;
use mochat_api::edge::{
    COOKIE_KEY_LABEL, KEY_SALT, MIN_PASSWORD_CHARS, MIN_SECRET_BYTES, VISITOR_KEY_LABEL,
};
use mochat_api::{ApiError, ErrorCode};
use sha2::Sha256;
use worker::Env;

use crate::config::{self, DASHBOARD_PASSWORD, SESSION_SECRET};

/// One key per purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    /// Signs and verifies operator session cookies.
    pub cookie: [u8; 32],
    /// Signs and verifies widget visitor tokens.
    pub visitor: [u8; 32],
}

impl Keys {
    /// The keys of a secret long enough; `None` for a shorter one.
    pub fn derive(secret: &str) -> Option<Self> {
        if secret.len() < MIN_SECRET_BYTES {
            return None;
        }
        let hk = Hkdf::<Sha256>::new(Some(KEY_SALT), secret.as_bytes());
        let mut keys = Self {
            cookie: [0; 32],
            visitor: [0; 32],
        };
        // 32 bytes is far below HKDF-SHA256's limit (255 * 32): never fails.
        hk.expand(COOKIE_KEY_LABEL, &mut keys.cookie).ok()?;
        hk.expand(VISITOR_KEY_LABEL, &mut keys.visitor).ok()?;
        Some(keys)
    }

    /// The keys from `SESSION_SECRET`, or a 500 that says how to fix it.
    /// Derived once per secret and isolate (every signed-in call needs them).
    pub fn from_env(env: &Env) -> Result<Self, ApiError> {
        let secret = config::required(env, SESSION_SECRET)?;
        let cached = DERIVED.with_borrow(|d| {
            d.as_ref()
                .filter(|(s, _)| *s == secret)
                .map(|(_, keys)| keys.clone())
        });
        if let Some(keys) = cached {
            return Ok(keys);
        }
        let keys = Self::derive(&secret).ok_or_else(|| {
            misconfigured(format!(
                "The worker is not configured safely: {SESSION_SECRET} must have at least \
                 {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -hex 32 | wrangler secret put \
                 {SESSION_SECRET}`, or `.dev.vars` locally)."
            ))
        })?;
        DERIVED.with_borrow_mut(|d| *d = Some((secret, keys.clone())));
        Ok(keys)
    }
}

thread_local! {
    /// The last secret's keys (an isolate has one `SESSION_SECRET`).
    static DERIVED: std::cell::RefCell<Option<(String, Keys)>> = const { std::cell::RefCell::new(None) };
}

/// `DASHBOARD_PASSWORD`, or a 500 when it is missing or too short.
pub fn password(env: &Env) -> Result<String, ApiError> {
    let password = config::required(env, DASHBOARD_PASSWORD)?;
    if password_is_strong_enough(&password) {
        Ok(password)
    } else {
        Err(misconfigured(format!(
            "The worker is not configured safely: {DASHBOARD_PASSWORD} must have at least \
             {MIN_PASSWORD_CHARS} characters (`wrangler secret put {DASHBOARD_PASSWORD}`, \
             or `.dev.vars` locally)."
        )))
    }
}

/// Whether a dashboard password is long enough to set.
pub fn password_is_strong_enough(password: &str) -> bool {
    password.chars().count() >= MIN_PASSWORD_CHARS
}

fn misconfigured(message: String) -> ApiError {
    ApiError::new(ErrorCode::Internal, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-session-secret-0123456789abcdef";

    #[test]
    fn short_secrets_are_refused() {
        assert!(Keys::derive("").is_none());
        assert!(Keys::derive(&"x".repeat(MIN_SECRET_BYTES - 1)).is_none());
        assert!(Keys::derive(&"x".repeat(MIN_SECRET_BYTES)).is_some());
    }

    #[test]
    fn each_purpose_has_its_own_key_and_neither_is_the_secret() {
        let keys = Keys::derive(SECRET).expect("long enough");
        assert_ne!(keys.cookie, keys.visitor);
        assert_ne!(&keys.cookie[..], &SECRET.as_bytes()[..32]);
        assert_ne!(&keys.visitor[..], &SECRET.as_bytes()[..32]);
        // Derivation is deterministic: every isolate gets the same keys.
        assert!(Keys::derive(SECRET) == Some(keys.clone()));
        let other = Keys::derive("another-session-secret-0123456789ab").expect("long enough");
        assert_ne!(other.cookie, keys.cookie);
    }

    #[test]
    fn hkdf_is_rfc_5869() {
        // RFC 5869, test case 1 (the first 32 bytes of its OKM).
        let ikm = [0x0b_u8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let mut okm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&salt), &ikm)
            .expand(&info, &mut okm)
            .expect("32 bytes");
        assert_eq!(
            crate::session::hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        );
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(!password_is_strong_enough("hunter2"));
        assert!(!password_is_strong_enough("elevenchars"));
        assert!(password_is_strong_enough("twelve chars"));
        // Characters, not bytes: twelve of them, whatever the script.
        assert!(password_is_strong_enough("ääääääääääää"));
        assert!(!password_is_strong_enough("äääääääääää"));
    }
}
