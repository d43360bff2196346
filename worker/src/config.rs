//! Names of every binding, variable and secret the worker reads, and the reading of them.

use mochat_api::{ApiError, ErrorCode};
use worker::Env;

/// `[vars]`: base URL of the MoChat API, ending in `/api` (e.g. `https://mochat.io/api`).
pub const UPSTREAM_URL: &str = "UPSTREAM_URL";
/// Optional var: `rest` (the reference's routes, default) or `live` (the
/// live service's POST dialect).
pub const UPSTREAM_DIALECT: &str = "UPSTREAM_DIALECT";
/// Secret: the default agent's claw token.
pub const CLAW_TOKEN: &str = "CLAW_TOKEN";
/// Secret: the dashboard's sign-in password.
pub const DASHBOARD_PASSWORD: &str = "DASHBOARD_PASSWORD";
/// Secret: the HMAC-SHA256 key that signs session cookies.
pub const SESSION_SECRET: &str = "SESSION_SECRET";
/// Optional var: the default agent's `botUserId` (else [`DEFAULT_AGENT_FALLBACK_ID`]).
pub const DEFAULT_AGENT_ID: &str = "DEFAULT_AGENT_ID";
/// Optional var: the default agent's display name.
pub const DEFAULT_AGENT_NAME: &str = "DEFAULT_AGENT_NAME";
/// Optional var: the default agent's username.
pub const DEFAULT_AGENT_USERNAME: &str = "DEFAULT_AGENT_USERNAME";

/// Durable Object binding: one [`crate::hub::AgentHub`] per agent.
pub const AGENT_HUB: &str = "AGENT_HUB";
/// Optional var: percent of the agent's limit widget visitors together may use (default 35).
pub const WIDGET_SHARE: &str = "WIDGET_SHARE";
/// Optional var: percent of the agent's limit the hub's live delivery may use (default 40).
pub const LIVE_SHARE: &str = "LIVE_SHARE";
/// Optional, for tests and benchmarks only: the per-agent limit (default 120).
pub const RATE_LIMIT: &str = "RATE_LIMIT";
/// Optional, for tests and benchmarks only: the window in seconds (default 60).
pub const RATE_WINDOW_SECS: &str = "RATE_WINDOW_SECS";
/// Durable Object binding: one [`crate::limiter::SignInThrottle`] per client
/// address (failed sign-ins) or per kind and address (minting visitors,
/// opening conversations).
pub const SIGN_IN_THROTTLE: &str = "SIGN_IN_THROTTLE";
/// Optional var: new widget visitors one client address may mint per window (default 10).
pub const VISITOR_MINT_LIMIT: &str = "VISITOR_MINT_LIMIT";
/// Optional var: widget conversations one client address may open per window (default 10).
pub const CONVERSATION_OPEN_LIMIT: &str = "CONVERSATION_OPEN_LIMIT";
/// Durable Object binding: the one [`crate::vault::TokenVault`], the list
/// of agents registered through the worker.
pub const TOKEN_VAULT: &str = "TOKEN_VAULT";
/// Optional var: origins the dashboard and the widget may load avatars
/// from, separated by spaces (none by default: see [`mochat_api::avatars`]).
pub const AVATAR_ORIGINS: &str = "AVATAR_ORIGINS";
/// Optional var: the widget's sites, JSON (see [`crate::sites`]).
pub const WIDGET_SITES: &str = "WIDGET_SITES";
/// Optional, for tests only: one visitor's requests per window (default 20).
pub const WIDGET_VISITOR_LIMIT: &str = "WIDGET_VISITOR_LIMIT";
/// Durable Object binding: [`crate::visitors::WidgetVisitor`], where visitors
/// were kept before they moved into their agent's hub (read once per visitor).
pub const WIDGET_VISITOR: &str = "WIDGET_VISITOR";
/// Assets binding: the built client (the widget page is read from it).
pub const ASSETS: &str = "ASSETS";
/// Durable Object binding: the one [`crate::revocation::SessionRegistry`],
/// which operator sessions have ended before their cookies expire.
pub const SESSION_REGISTRY: &str = "SESSION_REGISTRY";
/// Name of the single session registry instance.
pub const SESSION_INSTANCE: &str = "sessions";
/// Name of the single vault instance.
pub const VAULT_INSTANCE: &str = "vault";

/// The default agent's id when `DEFAULT_AGENT_ID` is not set.
pub const DEFAULT_AGENT_FALLBACK_ID: &str = "default";
/// The default agent's name when `DEFAULT_AGENT_NAME` is not set.
pub const DEFAULT_AGENT_FALLBACK_NAME: &str = "Default agent";
/// The default agent's username when `DEFAULT_AGENT_USERNAME` is not set.
pub const DEFAULT_AGENT_FALLBACK_USERNAME: &str = "default";

/// A string binding (var or secret; `wrangler dev --var` passes both as plain
/// strings, which `env.secret` reads as well). Absent or empty: `None`.
pub fn string(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// A required secret; its absence is the operator's to fix, so the message says how.
pub fn required(env: &Env, name: &str) -> Result<String, ApiError> {
    string(env, name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Internal,
            format!(
                "The worker is not configured: set the {name} secret \
                 (`wrangler secret put {name}`, or `.dev.vars` locally)."
            ),
        )
    })
}

/// The avatar origins the operator opted into; a malformed list is a 500
/// that names the var and the entry to fix.
pub fn avatar_origins(env: &Env) -> Result<Vec<String>, ApiError> {
    mochat_api::avatars::parse_origins(&string(env, AVATAR_ORIGINS).unwrap_or_default()).map_err(
        |e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("The worker is not configured: {e}"),
            )
        },
    )
}

/// The upstream base URL, checked and without a trailing slash.
pub fn upstream_base(env: &Env) -> Result<String, ApiError> {
    let raw = string(env, UPSTREAM_URL).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Internal,
            "The worker is not configured: set UPSTREAM_URL in wrangler.toml [vars] \
             (e.g. https://mochat.io/api).",
        )
    })?;
    parse_upstream(&raw).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Internal,
            "UPSTREAM_URL must be an http(s) URL without query, e.g. https://mochat.io/api.",
        )
    })
}

/// Checks an upstream base URL: `http`/`https`, a host, no query, fragment or
/// credentials. Returns it without trailing slashes.
pub fn parse_upstream(raw: &str) -> Option<String> {
    let url = worker::Url::parse(raw.trim()).ok()?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    ok.then(|| url.as_str().trim_end_matches('/').to_owned())
}

/// Who the default agent is (the one `CLAW_TOKEN` belongs to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultAgent {
    pub agent_id: String,
    pub name: String,
    pub username: String,
}

impl DefaultAgent {
    /// From the optional vars, with fallbacks.
    pub fn from_env(env: &Env) -> Self {
        Self {
            agent_id: string(env, DEFAULT_AGENT_ID)
                .unwrap_or_else(|| DEFAULT_AGENT_FALLBACK_ID.to_owned()),
            name: string(env, DEFAULT_AGENT_NAME)
                .unwrap_or_else(|| DEFAULT_AGENT_FALLBACK_NAME.to_owned()),
            username: string(env, DEFAULT_AGENT_USERNAME)
                .unwrap_or_else(|| DEFAULT_AGENT_FALLBACK_USERNAME.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls() {
        assert_eq!(
            parse_upstream("http://127.0.0.1:11000/api").as_deref(),
            Some("http://127.0.0.1:11000/api")
        );
        assert_eq!(
            parse_upstream(" https://mochat.io/api/ ").as_deref(),
            Some("https://mochat.io/api")
        );
        for bad in [
            "",
            "mochat.io/api",
            "ftp://mochat.io/api",
            "https://mochat.io/api?x=1",
            "https://user:pw@mochat.io/api",
            "https://mochat.io/api#frag",
        ] {
            assert_eq!(parse_upstream(bad), None, "{bad}");
        }
    }
}
