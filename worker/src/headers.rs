//! Security headers, written once: the worker's own answers get
//! [`API_HEADERS`]; the dashboard's page, which the worker serves, gets
//! [`app_csp`] and [`ASSET_HEADERS`]; the other static assets (which
//! Cloudflare serves without running the worker) get the same from
//! `dist/_headers`, which `cargo xtask build` writes with
//! [`assets_headers_file`]. The dashboard's CSP names the hashes of the
//! inline scripts Trunk wrote, so no other inline script runs.

pub use mochat_api::ratelimit::{
    POLICY_HEADER as RATE_LIMIT_POLICY, RETRY_AFTER_HEADER as RETRY_AFTER,
    STATE_HEADER as RATE_LIMIT,
};
use mochat_api::ratelimit::{agent_policy, agent_state};

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
/// from its own origin and the `avatars` origins the operator opted into
/// (`AVATAR_ORIGINS`, none by default: see [`mochat_api::avatars`]).
pub fn app_csp(inline: &[String], avatars: &[String]) -> String {
    let mut script = vec!["'self'".to_owned(), "'wasm-unsafe-eval'".to_owned()];
    script.extend(inline.iter().cloned());
    format!(
        "default-src 'self'; script-src {}; style-src 'self'; img-src {}; \
         font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'",
        script.join(" "),
        img_src(avatars)
    )
}

/// The sources of `img-src`: this origin and `data:` URLs, then the avatar
/// origins.
pub fn img_src(avatars: &[String]) -> String {
    let mut sources = vec!["'self'", "data:"];
    sources.extend(avatars.iter().map(String::as_str));
    sources.join(" ")
}

/// Headers on every static asset besides the CSP.
pub const ASSET_HEADERS: [(&str, &str); 5] = [
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
/// scripts have the hashes `inline`. It opts into no avatar origin: a page
/// the assets layer serves by itself carries no list for the client either.
pub fn assets_headers_file(inline: &[String]) -> String {
    let mut file = String::from(
        "# Written by `cargo xtask build` from worker/src/headers.rs: do not edit.\n/*\n",
    );
    file.push_str(&format!(
        "  Content-Security-Policy: {}\n",
        app_csp(inline, &[])
    ));
    for (name, value) in ASSET_HEADERS {
        file.push_str(&format!("  {name}: {value}\n"));
    }
    file
}

/// The rate-limit headers for an agent's request, per the contract.
pub fn rate_limit_headers(decision: &Decision) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        (RATE_LIMIT_POLICY, agent_policy()),
        (
            RATE_LIMIT,
            agent_state(decision.remaining, decision.reset_secs),
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
                (RATE_LIMIT_POLICY, "\"agent\";q=120;w=60".to_owned()),
                (RATE_LIMIT, "\"agent\";r=119;t=60".to_owned()),
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
        let csp = app_csp(&["'sha256-abc='".to_owned()], &[]);
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
        let opted = app_csp(&[], &["https://a.example".to_owned()]);
        assert!(
            opted.contains("img-src 'self' data: https://a.example;"),
            "{opted}"
        );
    }
}
