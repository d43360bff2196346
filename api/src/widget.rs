//! The embeddable widget's routes (`/edge/widget/…`, the worker's to define)
//! and bodies, shared by the worker, the widget app and the tests.
//!
//! | call | who | answer |
//! |---|---|---|
//! | `GET /edge/widget/frame?site=K&host=O` | anyone (framed only by the site's origins) | the widget page |
//! | `POST /edge/widget/visitor` `{site, name?, email?}` | anyone, same origin | 201 [`VisitorInfo`] with a token |
//! | `GET /edge/widget/me` | visitor | 200 [`VisitorInfo`] |
//! | `POST /edge/widget/me` `{name?, email?}` | visitor | 200 [`VisitorInfo`] |
//! | `POST /edge/widget/conversation` | visitor | 200 [`VisitorInfo`] with `sessionId` |
//!
//! A visitor also reaches three API calls, on their own session only:
//! list messages, send, watch (everything else: 403).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `GET`: the page the loader frames.
pub const FRAME_PATH: &str = "/edge/widget/frame";
/// `POST`: a new visitor of a site.
pub const VISITOR_PATH: &str = "/edge/widget/visitor";
/// `GET` / `POST`: the visitor's own record.
pub const ME_PATH: &str = "/edge/widget/me";
/// `POST`: opens (or returns) the visitor's session.
pub const CONVERSATION_PATH: &str = "/edge/widget/conversation";
/// The `Authorization` scheme of a visitor token.
pub const BEARER: &str = "Bearer ";
/// Prefix of every visitor token.
pub const VISITOR_TOKEN_PREFIX: &str = "vt1.";
/// How long a visitor token lasts (30 days).
pub const VISITOR_TTL_SECS: u64 = 30 * 24 * 3600;
/// Requests one visitor may make in any window of the agent's limit.
pub const VISITOR_RATE_LIMIT: u32 = 20;
/// The key of the visitor marker in a message's `meta`.
pub const VISITOR_META_KEY: &str = "visitor";
/// Longest visitor name, in characters.
pub const NAME_MAX_CHARS: usize = 80;
/// Longest email, in characters.
pub const EMAIL_MAX_CHARS: usize = 254;
/// What follows the visitor's name in front of their text (see [`VisitorMark::prefix`]).
const PREFIX_TAIL: &str = " (visitor): ";
/// Longest text a visitor may send: the API's limit, less the longest prefix
/// the worker puts in front of it.
pub const VISITOR_CONTENT_MAX_CHARS: usize =
    crate::limits::CONTENT_MAX_CHARS - NAME_MAX_CHARS - PREFIX_TAIL.len();

/// `POST /edge/widget/visitor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVisitorRequest {
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `POST /edge/widget/me`: what the host page knows of its visitor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// What the widget shows of its site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteInfo {
    pub key: String,
    pub title: String,
    /// `#rrggbb`.
    pub color: String,
    /// The answering agent's display name.
    pub agent_name: String,
}

/// A visitor as the widget sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitorInfo {
    pub visitor_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub site: SiteInfo,
    /// The visitor's session, once their first message opened it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Where the widget's watch of that session starts: the newest event the
    /// worker knows ([`crate::edge::CURSOR_NOW`] when it knows none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    /// Only in the answer that minted it: keep it, send it as `Authorization: Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The marker the worker puts in `meta.visitor` of every visitor's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorMark {
    pub id: String,
    pub name: String,
    /// The site's key.
    pub site: String,
    /// The site's title.
    #[serde(default)]
    pub title: String,
}

impl VisitorMark {
    /// The marker in a message's `meta`, if it has a well-formed one.
    pub fn from_meta(meta: &Map<String, Value>) -> Option<Self> {
        serde_json::from_value(meta.get(VISITOR_META_KEY)?.clone()).ok()
    }

    /// What the worker puts in front of a visitor's text upstream, so an
    /// agent or client that ignores `meta` still sees whose words they are:
    /// `Ada (visitor): `.
    pub fn prefix(&self) -> String {
        format!("{}{PREFIX_TAIL}", self.name)
    }

    /// The visitor's own text of `content` (as stored upstream, with this
    /// mark's prefix); content without the prefix is returned whole.
    pub fn own_text<'a>(&self, content: &'a str) -> &'a str {
        content.strip_prefix(&self.prefix()).unwrap_or(content)
    }
}

/// The name a visitor has before they give one: "Visitor" and four characters of their id.
pub fn default_visitor_name(visitor_id: &str) -> String {
    let tail: String = visitor_id.chars().take(4).collect();
    format!("Visitor {tail}")
}

/// A name as given, trimmed, without control characters, at most [`NAME_MAX_CHARS`];
/// `None` when nothing is left.
pub fn clean_name(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(NAME_MAX_CHARS)
        .collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// Whether an email looks like one (`a@b`, no spaces, not too long).
pub fn is_plausible_email(email: &str) -> bool {
    email.len() <= EMAIL_MAX_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !host.contains('@')
        })
}

/// Versioned messages between the loader (host page) and the widget frame,
/// sent with `postMessage` pinned to the other side's exact origin. On the
/// wire: `{"v": 1, "type": "mochat:…", …}`.
pub mod bridge {
    /// Schema version; a message with another `v` is ignored.
    pub const VERSION: u64 = 1;
    /// Frame → host: the widget is up.
    pub const READY: &str = "mochat:ready";
    /// Frame → host: the visitor pressed close.
    pub const CLOSE: &str = "mochat:close";
    /// Frame → host: `{count}` unread answers while the panel is hidden.
    pub const UNREAD: &str = "mochat:unread";
    /// Frame → host: `{messageId}` a message arrived.
    pub const MESSAGE: &str = "mochat:message";
    /// Host → frame: `{open}` the panel was shown or hidden.
    pub const VISIBILITY: &str = "mochat:visibility";
    /// Host → frame: `{name?, email?}` who the visitor is.
    pub const IDENTIFY: &str = "mochat:identify";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_emails() {
        assert_eq!(
            clean_name("  Ada\u{0}\n Lovelace "),
            Some("Ada Lovelace".into())
        );
        assert_eq!(clean_name(" \t "), None);
        assert_eq!(clean_name(&"x".repeat(500)).map(|n| n.len()), Some(80));
        assert_eq!(default_visitor_name("a1b2c3"), "Visitor a1b2");
        assert!(is_plausible_email("ada@example.com"));
        assert!(!is_plausible_email("ada@example"));
        assert!(!is_plausible_email("ada @example.com"));
        assert!(!is_plausible_email("@example.com"));
    }

    #[test]
    fn visitor_marks_round_trip() {
        let meta = json!({"clientId": "c1", "visitor": {"id": "v1", "name": "Ada", "site": "acme", "title": "Acme"}});
        let mark = VisitorMark::from_meta(meta.as_object().unwrap()).unwrap();
        assert_eq!(mark.name, "Ada");
        assert_eq!(mark.site, "acme");
        assert!(VisitorMark::from_meta(json!({"visitor": "x"}).as_object().unwrap()).is_none());
    }

    #[test]
    fn visitor_text_is_prefixed_upstream_and_shown_without_it() {
        let mark = VisitorMark {
            id: "v1".into(),
            name: "Ada".into(),
            site: "acme".into(),
            title: "Acme".into(),
        };
        let stored = format!("{}Where is my order?", mark.prefix());
        assert_eq!(stored, "Ada (visitor): Where is my order?");
        assert_eq!(mark.own_text(&stored), "Where is my order?");
        // Only this mark's own prefix goes, and only in front.
        assert_eq!(mark.own_text("Bob (visitor): hi"), "Bob (visitor): hi");
        assert_eq!(mark.own_text("hi Ada (visitor): "), "hi Ada (visitor): ");
        // The longest name and the longest text still fit the API's limit.
        let longest = VisitorMark {
            name: "n".repeat(NAME_MAX_CHARS),
            ..mark
        };
        let text = "t".repeat(VISITOR_CONTENT_MAX_CHARS);
        let total = format!("{}{text}", longest.prefix()).chars().count();
        assert_eq!(total, crate::limits::CONTENT_MAX_CHARS);
    }

    #[test]
    fn visitor_info_uses_camel_case() {
        let info = VisitorInfo {
            visitor_id: "v1".into(),
            name: "Ada".into(),
            email: None,
            site: SiteInfo {
                key: "acme".into(),
                title: "Acme".into(),
                color: "#0f766e".into(),
                agent_name: "Helper".into(),
            },
            session_id: Some("s1".into()),
            cursor: Some(7),
            token: None,
        };
        let v = serde_json::to_value(&info).unwrap();
        assert_eq!(v["visitorId"], "v1");
        assert_eq!(v["cursor"], 7);
        assert_eq!(v["sessionId"], "s1");
        assert_eq!(v["site"]["agentName"], "Helper");
        assert!(v.get("token").is_none());
    }
}
