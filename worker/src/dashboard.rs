//! The dashboard's page (`GET /`): the Trunk-built `index.html`, answered by
//! the worker rather than by the assets layer so that its CSP can carry the
//! avatar origins the operator opted into (`AVATAR_ORIGINS`), with the same
//! list in the page for the client. Without the var it is the page and CSP
//! `dist/_headers` gives every other path.

use worker::{Env, Headers, Response};

use crate::config;
use crate::frame::{built_page, script_hashes, with_avatar_meta};
use crate::headers::{ASSET_HEADERS, app_csp};
use crate::respond::Flow;

/// Where the assets layer serves the dashboard's HTML.
const DASHBOARD_HTML: &str = "https://assets.internal/";

/// The dashboard's page with its CSP.
pub async fn page(env: &Env) -> Flow<Response> {
    let avatars = config::avatar_origins(env)?;
    let html = with_avatar_meta(
        built_page(env, DASHBOARD_HTML, "dashboard").await?,
        &avatars,
    );
    let h = Headers::new();
    h.set("Content-Type", "text/html; charset=utf-8")?;
    h.set(
        "Content-Security-Policy",
        &app_csp(&script_hashes(&html), &avatars),
    )?;
    for (name, value) in ASSET_HEADERS {
        h.set(name, value)?;
    }
    h.set("Cache-Control", "no-cache")?;
    Ok(Response::builder()
        .with_status(200)
        .with_headers(h)
        .fixed(html.into_bytes()))
}
