//! Security headers, written once: the worker's own answers get
//! [`API_HEADERS`]; static assets (which Cloudflare serves without running
//! the worker) get theirs from `dist/_headers`, which `cargo xtask build`
//! writes with [`assets_headers_file`] (the dashboard's CSP names the hashes
//! of the inline scripts Trunk wrote, so no other inline script runs).

use mochat_api::limits::{rate_limit_policy, rate_limit_value};

use crate::limiter::Decision;

/// CSP of the worker's JSON answers: they load nothing and are never framed.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Headers on every answer the worker writes or forwards.
pub const API_HEADERS: [(&str, &str); 6] = [
    ("Content-Security-Policy", API_CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
];

/// CSP of the dashboard: its own scripts and WebAssembly, the inline
/// scripts whose `'sha256-…'` are `inline`, nothing else inline, and images
/// only from its own origin (an avatar elsewhere would tell that site when
/// an operator is at work, and from where: the client shows initials).
pub fn app_csp(inline: &[String]) -> String {
    let mut script = vec!["'self'".to_owned(), "'wasm-unsafe-eval'".to_owned()];
    script.extend(inline.iter().cloned());
    format!(
        "default-src 'self'; script-src {}; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'",
        script.join(" ")
    )
}

/// Headers on every static asset besides the CSP.
const ASSET_HEADERS: [(&str, &str); 5] = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    (
        "Permissions-Policy",
        "camera=(), microphone=(), geolocation=()",
    ),
];

/// The content of `dist/_headers` (Workers static assets apply it to every
/// asset answer; it is not itself served), for a dashboard whose inline
/// scripts have the hashes `inline`.
pub fn assets_headers_file(inline: &[String]) -> String {
    let mut file = String::from(
        "# Written by `cargo xtask build` from worker/src/headers.rs: do not edit.\n/*\n",
    );
    file.push_str(&format!("  Content-Security-Policy: {}\n", app_csp(inline)));
    for (name, value) in ASSET_HEADERS {
        file.push_str(&format!("  {name}: {value}\n"));
    }
    file
}

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
    fn policies_allow_wasm_and_the_hashed_loader_only() {
        let csp = app_csp(&["'sha256-abc='".to_owned()]);
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc=';"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(!csp.contains("'unsafe-eval'"));
        assert!(csp.contains("img-src 'self' data:;"), "no remote images");
        assert!(!csp.contains("https:"));
        assert!(API_CSP.contains("frame-ancestors 'none'"));
        let file = assets_headers_file(&["'sha256-abc='".to_owned()]);
        assert!(file.contains(&format!("\n/*\n  Content-Security-Policy: {csp}\n")));
        assert!(file.contains("  X-Frame-Options: DENY\n"));
    }
}
