//! The checks in front of every call, in the contract's order: body size
//! (413), caller (401: session cookie or widget visitor token), `Origin` (403).

use futures::StreamExt;
use mochat_api::edge::SESSION_COOKIE;
use mochat_api::limits::BODY_MAX_BYTES;
use mochat_api::{ApiError, ErrorCode};
use sha2::{Digest, Sha256};
use worker::{Date, Env, Request};

use crate::keys::Keys;
use crate::respond::{Flow, Halt};
use crate::revocation;
use crate::routes::Access;
use crate::session;
use crate::visitor_token::Visitor;
use crate::widget;

/// How much of an over-long chunked body is read (and dropped) before the 413.
const DRAIN_MAX_BYTES: usize = 1024 * 1024;

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "The request body is over {} KiB; send less.",
            BODY_MAX_BYTES / 1024
        ),
    )
}

/// Whether a declared `Content-Length` is over the limit (unparsable: no).
pub fn declared_too_large(content_length: Option<&str>) -> bool {
    content_length
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > BODY_MAX_BYTES as u64)
}

/// The request's body, read up to the limit when `wanted` (413 past it);
/// otherwise only the declared length is checked and the body is left alone.
pub async fn body(req: &mut Request, wanted: bool) -> Flow<Option<Vec<u8>>> {
    let declared = req.headers().get("Content-Length")?;
    if declared_too_large(declared.as_deref()) {
        return Err(too_large().into());
    }
    if !wanted || req.inner().body().is_none() {
        return Ok(None);
    }
    // A declared length within the limit, without chunked framing, is the
    // body's length (the runtime holds the client to it): the runtime reads
    // it in one call, much cheaper than the chunk by chunk read below.
    let chunked = req.headers().get("Transfer-Encoding")?.is_some();
    if !chunked && declared.is_some_and(|v| v.trim().parse::<u64>().is_ok()) {
        let bytes = req.bytes().await?;
        if bytes.len() > BODY_MAX_BYTES {
            return Err(too_large().into());
        }
        return Ok(Some(bytes));
    }
    let mut stream = req.stream()?;
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        seen += chunk.len();
        if seen > DRAIN_MAX_BYTES {
            break;
        }
        if seen <= BODY_MAX_BYTES {
            bytes.extend_from_slice(&chunk);
        }
    }
    // An unannounced (chunked) body over the limit is read on to its end
    // before the 413 (up to a cap): answering mid-upload broke the next
    // request on the same connection under `wrangler dev`.
    if seen > BODY_MAX_BYTES {
        return Err(too_large().into());
    }
    Ok(Some(bytes))
}

/// 32 random hex digits (a UUID from the runtime's CSPRNG, without dashes).
pub fn random_hex() -> Flow<String> {
    let crypto = worker::js_sys::Reflect::get(
        &worker::js_sys::global(),
        &worker::wasm_bindgen::JsValue::from_str("crypto"),
    )
    .map_err(|_| worker::Error::RustError("no crypto".into()))?;
    let uuid = worker::js_sys::Reflect::get(&crypto, &"randomUUID".into())
        .ok()
        .and_then(|f| {
            worker::js_sys::Function::from(f)
                .call0(&crypto)
                .ok()?
                .as_string()
        })
        .ok_or_else(|| worker::Error::RustError("crypto.randomUUID failed".into()))?;
    Ok(uuid.replace('-', ""))
}

/// Now, in Unix seconds.
pub fn now_secs() -> u64 {
    Date::now().as_millis() / 1000
}

/// A signed-in operator's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// When it ends (Unix seconds).
    pub end: u64,
    /// Its id (the sign-in's nonce in the cookie), which signing out revokes.
    pub id: String,
    /// A name for it that reveals nothing of the cookie (for counting its watches).
    pub key: String,
}

/// The request's valid session, or 401: signed by the cookie key, not
/// expired, and not ended by a sign-out ([`crate::revocation`]).
pub async fn session(req: &Request, env: &Env) -> Flow<Signed> {
    let keys = Keys::from_env(env)?;
    let cookies = req.headers().get("Cookie")?.unwrap_or_default();
    let value = session::cookie(&cookies, SESSION_COOKIE);
    let valid = value.and_then(|value| session::verify_session(&keys.cookie, value, now_secs()));
    let (Some(value), Some((end, id))) = (value, valid) else {
        return Err(not_signed_in());
    };
    let revocations = revocation::current(env, Date::now().as_millis()).await?;
    if revocations.has_ended(&id, end) {
        return Err(not_signed_in());
    }
    let digest = Sha256::digest(value.as_bytes());
    Ok(Signed {
        end,
        id,
        key: crate::session::hex(&digest[..12]),
    })
}

fn not_signed_in() -> Halt {
    ApiError::unauthorized(
        "You are not signed in, or your session has ended. Sign in to the dashboard again.",
    )
    .into()
}

/// Who is calling, as far as the call's [`Access`] asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Not checked: a public call.
    Anyone,
    /// A signed-in operator.
    Operator(Signed),
    /// A widget visitor.
    Visitor(Visitor),
}

impl Caller {
    /// The visitor, or 401 for anyone else.
    pub fn visitor(&self) -> Flow<&Visitor> {
        match self {
            Self::Visitor(v) => Ok(v),
            _ => Err(ApiError::unauthorized(
                "This call is the chat widget's: it needs a visitor token. Reload the widget.",
            )
            .into()),
        }
    }

    /// Who the agent's hub sees: an operator's session or a visitor.
    pub fn for_hub(&self, env: &Env) -> Flow<crate::hub::protocol::Caller> {
        match self {
            Self::Operator(signed) => Ok(crate::hub::protocol::Caller::Operator {
                key: signed.key.clone(),
            }),
            Self::Visitor(v) => Ok(crate::hub::protocol::Caller::Visitor(
                widget::visitor_ref(env, v)?.1,
            )),
            Self::Anyone => Err(ApiError::unauthorized("Sign in first.").into()),
        }
    }

    /// The operator session's end (0 for anyone else).
    pub fn session_end(&self) -> u64 {
        match self {
            Self::Operator(signed) => signed.end,
            _ => 0,
        }
    }
}

/// The caller a call needs (401 otherwise): a session cookie for the
/// operator's calls, a visitor token for the widget's, either for the API
/// (a visitor token, when sent, decides).
pub async fn caller(req: &Request, env: &Env, access: Access) -> Flow<Caller> {
    match access {
        Access::Public => Ok(Caller::Anyone),
        Access::Operator => Ok(Caller::Operator(session(req, env).await?)),
        Access::Visitor | Access::OperatorOrVisitor => match widget::bearer(req)? {
            Some(token) => Ok(Caller::Visitor(widget::verify(env, &token)?)),
            None if access == Access::Visitor => Caller::Anyone.visitor().map(|_| Caller::Anyone),
            None => Ok(Caller::Operator(session(req, env).await?)),
        },
    }
}

/// Whether a method may come without a matching `Origin`.
pub fn is_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD")
}

/// Whether `origin` (the header, if any) is the request URL's own origin.
pub fn origin_matches(origin: Option<&str>, own: &str) -> bool {
    origin.is_some_and(|o| o == own)
}

/// 403 unless the request is GET/HEAD or carries `Origin` equal to its URL's origin.
pub fn origin(req: &Request, method: &str) -> Flow<()> {
    if is_safe_method(method) {
        return Ok(());
    }
    let own = req.url()?.origin().ascii_serialization();
    if origin_matches(req.headers().get("Origin")?.as_deref(), &own) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "This request must come from the dashboard's own page (its Origin header does not match).",
        )
        .into())
    }
}

/// The client address throttles count against: `CF-Connecting-IP` (else
/// `local`), an IPv6 address grouped by its /64 (one subscriber's block).
pub fn client_address(req: &Request) -> String {
    req.headers()
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .map(|ip| address_group(ip.trim()))
        .filter(|ip| !ip.is_empty() && ip.len() <= 64)
        .unwrap_or_else(|| "local".to_owned())
}

/// An address as throttles see it: IPv4 as it is, IPv6 as its /64.
pub fn address_group(ip: &str) -> String {
    match ip.parse::<std::net::Ipv6Addr>() {
        Ok(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Err(_) => ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_lengths() {
        assert!(!declared_too_large(None));
        assert!(!declared_too_large(Some("65536")));
        assert!(declared_too_large(Some("65537")));
        assert!(declared_too_large(Some(" 999999999999 ")));
        assert!(!declared_too_large(Some("junk")));
    }

    #[test]
    fn addresses_are_grouped_by_64_for_ipv6() {
        assert_eq!(address_group("203.0.113.7"), "203.0.113.7");
        assert_eq!(
            address_group("2001:db8:1:2:aaaa::1"),
            address_group("2001:db8:1:2:ffff:1:2:3")
        );
        assert_eq!(address_group("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_ne!(
            address_group("2001:db8:1:3::1"),
            address_group("2001:db8:1:2::1")
        );
    }

    #[test]
    fn origins() {
        assert!(is_safe_method("GET"));
        assert!(is_safe_method("HEAD"));
        assert!(!is_safe_method("POST"));
        assert!(
            !is_safe_method("get"),
            "methods are case-sensitive on the wire"
        );
        let own = "http://127.0.0.1:8787";
        assert!(origin_matches(Some(own), own));
        assert!(!origin_matches(None, own));
        assert!(!origin_matches(Some("null"), own));
        assert!(!origin_matches(Some("http://127.0.0.1:8788"), own));
        assert!(!origin_matches(Some("https://127.0.0.1:8787"), own));
        assert!(!origin_matches(Some("http://localhost:8787"), own));
        assert!(!origin_matches(Some("http://127.0.0.1:8787/"), own));
    }
}
