//! The widget page (`GET /edge/widget/frame?site=K&host=O`): the Trunk-built
//! `dist/widget/index.html`, answered with a CSP whose `frame-ancestors` is
//! exactly the site's origins, so no other page can frame it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mochat_api::{ApiError, ErrorCode};
use sha2::{Digest, Sha256};
use worker::{Env, Headers, Request, Response};

use crate::config::{self, ASSETS};
use crate::headers::img_src;
use crate::respond::Flow;
use crate::sites;

/// Where the assets layer serves the widget's HTML.
const WIDGET_HTML: &str = "https://assets.internal/widget/";

/// The bodies of the inline `<script>` elements (those without `src`).
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let tag = &after[..open_end];
        let body_start = open_end + 1;
        let Some(close) = after[body_start..].find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(&after[body_start..body_start + close]);
        }
        rest = &after[body_start + close..];
    }
    out
}

/// `'sha256-…'` of a script body, as CSP wants it.
pub fn hash_source(script: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(script.as_bytes()))
    )
}

/// `'sha256-…'` source expressions of the page's inline scripts (the
/// dashboard's `_headers` uses them too: `cargo xtask build`).
pub fn script_hashes(html: &str) -> Vec<String> {
    inline_scripts(html).into_iter().map(hash_source).collect()
}

/// The widget page's CSP: its own scripts (and the hashed loader), its own
/// origin for everything else but the `avatars` origins' pictures, framable
/// only by `origins`.
pub fn csp(hashes: &[String], origins: &[String], avatars: &[String]) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {}; style-src 'self'; \
         img-src {}; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'none'; frame-ancestors {}",
        hashes.join(" "),
        img_src(avatars),
        origins.join(" ")
    )
}

/// The HTML the assets layer holds at `url`; a 500 saying to build and
/// deploy when it is missing (`what`: "dashboard", "widget").
pub async fn built_page(env: &Env, url: &str, what: &str) -> Flow<String> {
    let mut asset = env.assets(ASSETS)?.fetch(url, None).await?;
    if asset.status_code() != 200 {
        return Err(ApiError::new(
            ErrorCode::Internal,
            format!("The {what} is not built: run `cargo xtask build` and deploy again."),
        )
        .into());
    }
    Ok(asset.text().await?)
}

/// The page with the avatar origins the client may load from, in the
/// `<meta>` it reads ([`mochat_api::avatars::META_NAME`]), last in `<head>`.
/// No origin, no element. The origins were checked (`https://host[:port]`),
/// so they need no escaping.
pub fn with_avatar_meta(html: String, avatars: &[String]) -> String {
    if avatars.is_empty() {
        return html;
    }
    let Some(at) = html.find("</head>") else {
        return html;
    };
    let meta = format!(
        "<meta name=\"{}\" content=\"{}\">",
        mochat_api::avatars::META_NAME,
        avatars.join(" ")
    );
    format!("{}{meta}{}", &html[..at], &html[at..])
}

/// The widget page for a site and the page (`host`) that frames it.
pub async fn page(req: &Request, env: &Env) -> Flow<Response> {
    let url = req.url()?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let site = sites::find(env, &param("site"))?;
    if !site.origins.contains(&param("host")) {
        return Err(ApiError::forbidden(
            "This page may not embed this MoChat widget: add its origin to the site's \
             origins in the worker's WIDGET_SITES.",
        )
        .into());
    }
    let avatars = config::avatar_origins(env)?;
    let html = with_avatar_meta(built_page(env, WIDGET_HTML, "widget").await?, &avatars);
    let h = Headers::new();
    h.set("Content-Type", "text/html; charset=utf-8")?;
    h.set(
        "Content-Security-Policy",
        &csp(&script_hashes(&html), &site.origins, &avatars),
    )?;
    h.set("X-Content-Type-Options", "nosniff")?;
    h.set("Referrer-Policy", "no-referrer")?;
    h.set("Cache-Control", "no-store")?;
    h.set(
        "Permissions-Policy",
        "camera=(), microphone=(), geolocation=()",
    )?;
    Ok(Response::builder()
        .with_status(200)
        .with_headers(h)
        .fixed(html.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head><script type="module">import init from '/w.js';init();</script>
<script src="/other.js"></script><link rel="modulepreload" href="/w.js"></head>
<body><script>console.log(1)</script></body></html>"#;

    #[test]
    fn finds_only_inline_scripts() {
        assert_eq!(
            inline_scripts(PAGE),
            vec!["import init from '/w.js';init();", "console.log(1)"]
        );
        assert!(inline_scripts("<p>no scripts</p>").is_empty());
        assert!(inline_scripts("<script>unclosed").is_empty());
    }

    #[test]
    fn the_csp_names_each_hash_and_origin() {
        let hashes = script_hashes("<script>alert(1)</script>");
        // sha256("alert(1)"), as browsers compute it.
        assert_eq!(
            hashes,
            vec!["'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"]
        );
        let csp = csp(
            &hashes,
            &["https://a.example".into(), "http://127.0.0.1:9".into()],
            &[],
        );
        assert!(csp.ends_with("frame-ancestors https://a.example http://127.0.0.1:9"));
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(
            csp.contains("img-src 'self' data:;"),
            "no remote pictures by default"
        );
        assert!(!csp.contains('*'));
    }

    #[test]
    fn the_avatar_origins_go_in_a_meta_element_last_in_head() {
        let page = "<html><head><script>x</script></head></html>".to_owned();
        assert_eq!(with_avatar_meta(page.clone(), &[]), page);
        let with = with_avatar_meta(
            page.clone(),
            &["https://a.example".into(), "https://b.example".into()],
        );
        assert_eq!(
            with,
            "<html><head><script>x</script><meta name=\"mochat-avatar-origins\" \
             content=\"https://a.example https://b.example\"></head></html>"
        );
        assert_eq!(
            script_hashes(&with),
            script_hashes(&page),
            "scripts untouched"
        );
    }
}
