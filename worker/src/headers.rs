//! Security headers: the worker's own answers get [`API_HEADERS`]; static
//! assets (which Cloudflare serves without running the worker) get theirs from
//! the `_headers` file in the assets directory, whose content is [`ASSETS_HEADERS_FILE`].

use mochat_api::limits::{rate_limit_policy, rate_limit_value};

use crate::limiter::Decision;

/// CSP of the worker's JSON answers: they load nothing and are never framed.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// CSP of the dashboard: its own scripts and WebAssembly, nothing inline.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Headers on every answer the worker writes or forwards.
pub const API_HEADERS: [(&str, &str); 6] = [
    ("Content-Security-Policy", API_CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
];

/// The content of `dist/_headers` (Workers static assets apply it to every
/// asset response; it is not itself served).
pub const ASSETS_HEADERS_FILE: &str = "\
/*
  Content-Security-Policy: default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'
  X-Content-Type-Options: nosniff
  Referrer-Policy: no-referrer
  X-Frame-Options: DENY
  Cross-Origin-Opener-Policy: same-origin
  Permissions-Policy: camera=(), microphone=(), geolocation=()
";

/// Name of the policy header (ratelimit-headers draft 11).
pub const RATE_LIMIT_POLICY: &str = "RateLimit-Policy";
/// Name of the state header (ratelimit-headers draft 11).
pub const RATE_LIMIT: &str = "RateLimit";
/// Name of the retry header on a 429.
pub const RETRY_AFTER: &str = "Retry-After";

/// The rate-limit headers for an agent's request, per the contract.
pub fn rate_limit_headers(decision: &Decision) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        (RATE_LIMIT_POLICY, rate_limit_policy()),
        (
            RATE_LIMIT,
            rate_limit_value(decision.remaining, decision.reset_secs),
        ),
    ];
    if !decision.allowed {
        headers.push((RETRY_AFTER, decision.retry_after().to_string()));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_header_values() {
        let ok = Decision {
            allowed: true,
            remaining: 119,
            reset_secs: 60,
        };
        assert_eq!(
            rate_limit_headers(&ok),
            vec![
                ("RateLimit-Policy", "\"agent\";q=120;w=60".to_owned()),
                ("RateLimit", "\"agent\";r=119;t=60".to_owned()),
            ]
        );
        let refused = Decision {
            allowed: false,
            remaining: 0,
            reset_secs: 0,
        };
        let h = rate_limit_headers(&refused);
        assert_eq!(h[1].1, "\"agent\";r=0;t=0");
        assert_eq!(h[2], ("Retry-After", "1".to_owned()), "at least one second");
    }

    #[test]
    fn policies_allow_wasm_and_forbid_framing_and_inline_code() {
        assert!(APP_CSP.contains("'wasm-unsafe-eval'"));
        assert!(APP_CSP.contains("frame-ancestors 'none'"));
        assert!(!APP_CSP.contains("unsafe-inline"));
        assert!(!APP_CSP.contains("'unsafe-eval'"));
        assert!(API_CSP.contains("frame-ancestors 'none'"));
        let line = format!("  Content-Security-Policy: {APP_CSP}\n");
        assert!(
            ASSETS_HEADERS_FILE.contains(&line),
            "_headers carries the same CSP"
        );
        for (name, value) in &API_HEADERS[1..4] {
            assert!(
                ASSETS_HEADERS_FILE.contains(&format!("  {name}: {value}\n")),
                "{name}"
            );
        }
    }
}
