//! Widget sites, from the `WIDGET_SITES` var: site key → the origins that may
//! frame the widget, the agent that answers, extra participants, title, colour.

use std::collections::BTreeMap;

use mochat_api::routes::is_valid_id;
use mochat_api::{ApiError, ErrorCode};
use serde::Deserialize;
use worker::Env;

use crate::config::{self, WIDGET_SITES};

/// One site that embeds the widget.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Site {
    /// Exact origins (`https://example.com`) whose pages may frame the widget.
    pub origins: Vec<String>,
    /// The agent that answers (absent: the default agent).
    #[serde(default)]
    pub agent_id: Option<String>,
    /// More user ids added to every visitor's session.
    #[serde(default)]
    pub participants: Vec<String>,
    /// Shown in the widget's header and in session titles.
    pub title: String,
    /// `#rrggbb`, the launcher's and header's colour.
    #[serde(default = "default_color")]
    pub color: String,
}

fn default_color() -> String {
    "#4f46e5".to_owned()
}

/// Whether `s` is a serialized origin: `http(s)://host[:port]`, nothing else.
pub fn is_origin(s: &str) -> bool {
    worker::Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.origin().ascii_serialization() == s
    })
}

fn is_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reads and checks the `WIDGET_SITES` JSON; the error says what to fix.
pub fn parse_sites(json: &str) -> Result<BTreeMap<String, Site>, String> {
    let sites: BTreeMap<String, Site> =
        serde_json::from_str(json).map_err(|e| format!("WIDGET_SITES is not valid: {e}"))?;
    for (key, site) in &sites {
        if key.len() > 64 || !is_valid_id(key) {
            return Err(format!(
                "WIDGET_SITES: site key {key:?} must be 1 to 64 of [A-Za-z0-9_-]"
            ));
        }
        if site.origins.is_empty() || !site.origins.iter().all(|o| is_origin(o)) {
            return Err(format!(
                "WIDGET_SITES: site {key:?} needs origins like \"https://example.com\" (no path, no trailing slash)"
            ));
        }
        let ids_ok = site
            .agent_id
            .iter()
            .chain(&site.participants)
            .all(|id| is_valid_id(id));
        if !ids_ok {
            return Err(format!(
                "WIDGET_SITES: site {key:?} names an invalid user id"
            ));
        }
        if !is_color(&site.color) || site.title.trim().is_empty() {
            return Err(format!(
                "WIDGET_SITES: site {key:?} needs a title and a colour like \"#0f766e\""
            ));
        }
    }
    Ok(sites)
}

/// The site with this key: 404 if there is none, 500 if the configuration is broken.
pub fn find(env: &Env, key: &str) -> Result<Site, ApiError> {
    let Some(json) = config::string(env, WIDGET_SITES) else {
        return Err(ApiError::not_found(
            "This MoChat edge has no widget sites configured (WIDGET_SITES is empty).",
        ));
    };
    let mut sites = parse_sites(&json).map_err(|e| ApiError::new(ErrorCode::Internal, e))?;
    sites.remove(key).ok_or_else(|| {
        ApiError::not_found(
            "Unknown widget site: check the data-site attribute of the MoChat script tag.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact() {
        assert!(is_origin("https://example.com"));
        assert!(is_origin("http://127.0.0.1:8080"));
        assert!(!is_origin("https://example.com/"));
        assert!(!is_origin("https://example.com/page"));
        assert!(!is_origin("https://EXAMPLE.com"));
        assert!(!is_origin("ftp://example.com"));
        assert!(!is_origin("*"));
        assert!(!is_origin("null"));
    }

    #[test]
    fn sites_parse_and_are_checked() {
        let ok = r##"{"acme": {"origins": ["https://acme.example"], "title": "Acme", "participants": ["u_1"]}}"##;
        let sites = parse_sites(ok).unwrap();
        assert_eq!(sites["acme"].color, "#4f46e5");
        assert_eq!(sites["acme"].agent_id, None);
        for bad in [
            r#"{"acme": {"origins": [], "title": "Acme"}}"#,
            r#"{"acme": {"origins": ["https://acme.example/"], "title": "Acme"}}"#,
            r#"{"a.b": {"origins": ["https://acme.example"], "title": "Acme"}}"#,
            r#"{"acme": {"origins": ["https://acme.example"], "title": " "}}"#,
            r#"{"acme": {"origins": ["https://acme.example"], "title": "A", "color": "red"}}"#,
            r#"{"acme": {"origins": ["https://acme.example"], "title": "A", "agentId": "a/b"}}"#,
            r#"{"acme": {"origins": ["https://acme.example"], "title": "A", "extra": 1}}"#,
            "[]",
        ] {
            assert!(parse_sites(bad).is_err(), "{bad}");
        }
    }
}
