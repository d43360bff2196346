//! The widget visitors of the agent's sites, kept by the agent's hub: their
//! name, email and session, their own sub-quota inside the visitors' share
//! of the budget, what they may call (only their own session: list, send,
//! watch), and opening their session.

use std::collections::HashMap;
use std::rc::Rc;

use mochat_api::edge::CURSOR_NOW;
use mochat_api::limits::{RATE_WINDOW_SECS, TITLE_MAX_CHARS, message_text};
use mochat_api::ratelimit::{policy_of, state_of};
use mochat_api::requests::CreateSessionRequest;
use mochat_api::widget::{
    SiteInfo, VISITOR_CONTENT_MAX_CHARS, VISITOR_META_KEY, VISITOR_RATE_LIMIT, VisitorInfo,
    VisitorMark, clean_name, default_visitor_name, is_plausible_email,
};
use mochat_api::{ApiError, ErrorCode, Route, Session};
use serde_json::{Map, Value};
use worker::{Env, Response};

use super::budget::Spender;
use super::calls::{note_session, over_budget};
use super::protocol::{Caller, VisitorRef};
use super::store::{VisitorRecord, Write};
use super::{Hub, Slot};
use crate::config::WIDGET_VISITOR_LIMIT;
use crate::headers::{RATE_LIMIT, RATE_LIMIT_POLICY, RETRY_AFTER};
use crate::limiter::{Decision, SlidingWindow, now_ms, positive, window_secs};
use crate::respond::Halt;
use crate::upstream::Extra;
use mochat_api::edge::VisitorDetails;

/// Visitor records kept in memory (storage has them all).
const RECORDS_KEPT: usize = 10_000;

/// The hub's memory of visitors.
#[derive(Default)]
pub struct Visitors {
    records: HashMap<String, VisitorRecord>,
    windows: HashMap<String, SlidingWindow>,
}

/// One visitor's requests per window: 20, or `WIDGET_VISITOR_LIMIT` (tests only).
pub fn limit(env: &Env) -> u32 {
    let limit = positive(env, WIDGET_VISITOR_LIMIT, u64::from(VISITOR_RATE_LIMIT));
    u32::try_from(limit).unwrap_or(VISITOR_RATE_LIMIT)
}

fn key(v: &VisitorRef) -> String {
    format!("{}:{}", v.site, v.id)
}

fn visitor_of(caller: Option<&Caller>) -> Result<&VisitorRef, Halt> {
    match caller {
        Some(Caller::Visitor(v)) => Ok(v),
        _ => Err(ApiError::unauthorized(
            "This call is the chat widget's: it needs a visitor token. Reload the widget.",
        )
        .into()),
    }
}

/// The visitor's record: from memory, else storage, else the object that
/// kept visitors before they moved into their agent's hub.
pub async fn record(hub: &Hub, v: &VisitorRef) -> Result<VisitorRecord, Halt> {
    let key = key(v);
    if let Some(r) = hub.core.borrow().visitors.records.get(&key) {
        return Ok(r.clone());
    }
    let record = match hub.store.visitor(&key)? {
        Some(r) => r,
        None => {
            let legacy = crate::visitors::legacy_record(&hub.env, &v.site, &v.id).await?;
            if legacy != VisitorRecord::default() {
                hub.later(Write::Visitor {
                    key: key.clone(),
                    record: legacy.clone(),
                });
            }
            legacy
        }
    };
    remember(hub, key, record.clone());
    Ok(record)
}

fn remember(hub: &Hub, key: String, record: VisitorRecord) {
    let mut core = hub.core.borrow_mut();
    let records = &mut core.visitors.records;
    if records.len() >= RECORDS_KEPT && !records.contains_key(&key) {
        records.clear();
    }
    records.insert(key, record);
}

fn save(hub: &Hub, v: &VisitorRef, record: VisitorRecord) {
    let key = key(v);
    hub.later(Write::Visitor {
        key: key.clone(),
        record: record.clone(),
    });
    remember(hub, key, record);
}

/// Whether a visitor may make `route`: only reading, writing and watching
/// their own session.
pub fn allowed(route: &Route, own: Option<&str>) -> Result<(), ApiError> {
    let target = match route {
        Route::ListSessionMessages { session_id, .. }
        | Route::SendSessionMessage { session_id }
        | Route::WatchSession { session_id, .. } => Some(session_id.as_str()),
        _ => None,
    };
    match (target, own) {
        (Some(t), Some(o)) if t == o => Ok(()),
        _ => Err(ApiError::forbidden(
            "A chat visitor can only read, send and watch their own conversation.",
        )),
    }
}

/// The visitor's record, when they may make `route` (403 otherwise).
pub async fn authorize(hub: &Hub, v: &VisitorRef, route: &Route) -> Result<VisitorRecord, Halt> {
    let record = record(hub, v).await?;
    allowed(route, record.session_id.as_deref())?;
    Ok(record)
}

/// The rate-limit headers a visitor sees: their own sub-quota.
pub fn visitor_limits(decision: &Decision, quota: u32) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        (
            RATE_LIMIT_POLICY,
            policy_of("visitor", quota, RATE_WINDOW_SECS),
        ),
        (
            RATE_LIMIT,
            state_of("visitor", decision.remaining, decision.reset_secs),
        ),
    ];
    if !decision.allowed {
        headers.push((RETRY_AFTER, decision.retry_after().to_string()));
    }
    headers
}

fn with_window<T>(hub: &Hub, v: &VisitorRef, f: impl FnOnce(&mut SlidingWindow) -> T) -> T {
    let window_ms = window_secs(&hub.env) * 1000;
    let mut core = hub.core.borrow_mut();
    let windows = &mut core.visitors.windows;
    if windows.len() >= RECORDS_KEPT {
        let now = now_ms();
        windows.retain(|_, w| {
            w.prune(now);
            !w.is_empty()
        });
    }
    let window = windows
        .entry(key(v))
        .or_insert_with(|| SlidingWindow::new(hub.visitor_limit, window_ms));
    f(window)
}

/// How finely a visitor's last call is kept: its record is written again
/// when the last one it holds is this much older.
pub const SEEN_STEP_MS: u64 = 60_000;

/// Spends one request of the visitor's sub-quota (429 past it), and notes
/// the call as the visitor's latest.
pub fn spend(hub: &Hub, v: &VisitorRef) -> Result<Vec<(&'static str, String)>, Halt> {
    let now = now_ms();
    let decision = with_window(hub, v, |w| w.try_admit(now));
    let limits = visitor_limits(&decision, hub.visitor_limit);
    if decision.allowed {
        seen(hub, v, now);
        return Ok(limits);
    }
    Err(Halt::with_headers(
        ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "You are sending faster than this chat allows. Wait {} seconds.",
                decision.retry_after()
            ),
        ),
        limits,
    ))
}

/// Notes a call of the visitor at `now`, when their record is in memory (a
/// call after a restart that reads it from storage is noted at the next).
fn seen(hub: &Hub, v: &VisitorRef, now: u64) {
    let stale = hub
        .core
        .borrow()
        .visitors
        .records
        .get(&key(v))
        .filter(|r| r.last_seen.is_none_or(|at| now >= at + SEEN_STEP_MS))
        .cloned();
    if let Some(mut record) = stale {
        record.last_seen = Some(now);
        save(hub, v, record);
    }
}

/// `GET /edge/visitors`: what the hub keeps of `v`, for an operator of
/// their site's agent; 404 for a visitor it never minted.
pub async fn details(hub: &Rc<Hub>, v: &VisitorRef) -> Result<Response, Halt> {
    let record = record(hub, v).await?;
    if record == VisitorRecord::default() {
        return Err(ApiError::not_found(format!(
            "No visitor {} of site {} is known to this agent.",
            v.id, v.site
        ))
        .into());
    }
    let at = |ms: Option<u64>| ms.map(|ms| crate::session::rfc3339(ms / 1000));
    let details = VisitorDetails {
        visitor_id: v.id.clone(),
        name: record
            .name
            .clone()
            .unwrap_or_else(|| default_visitor_name(&v.id)),
        email: record.email.clone(),
        site: v.site.clone(),
        site_title: v.title.clone(),
        session_id: record.session_id.clone(),
        first_seen: at(record.first_seen),
        last_seen: at(record.last_seen),
    };
    hub.json(200, &details, &[])
}

/// The visitor's sub-quota as it stands (watch answers).
pub fn limits(hub: &Hub, v: &VisitorRef) -> Vec<(&'static str, String)> {
    let now = now_ms();
    let decision = with_window(hub, v, |w| w.check(now));
    visitor_limits(&decision, hub.visitor_limit)
}

/// The marker of the visitor's messages.
pub fn mark(v: &VisitorRef, record: &VisitorRecord) -> VisitorMark {
    VisitorMark {
        id: v.id.clone(),
        name: record
            .name
            .clone()
            .unwrap_or_else(|| default_visitor_name(&v.id)),
        site: v.site.clone(),
        title: v.title.clone(),
    }
}

/// A visitor's send with `meta.visitor` set by the worker (whatever the
/// browser put there), so agents and the dashboard can tell who wrote it,
/// and the visitor's name in front of the text ([`VisitorMark::prefix`]) for
/// agents and clients that ignore `meta` (browsers get it taken off again:
/// [`super::views`]).
pub fn mark_send(body: &[u8], mark: &VisitorMark) -> Result<Vec<u8>, ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("The message is not valid: {why}."));
    let mut value: Map<String, Value> =
        serde_json::from_slice(body).map_err(|_| bad("send a JSON object"))?;
    let text = match value.get("content") {
        Some(Value::String(text)) => message_text(text, VISITOR_CONTENT_MAX_CHARS)?,
        _ => return Err(bad("its content must be text")),
    };
    let content = format!("{}{text}", mark.prefix());
    value.insert("content".to_owned(), Value::String(content));
    let meta = value
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(meta) = meta else {
        return Err(bad("meta must be an object"));
    };
    let mark = serde_json::to_value(mark).map_err(|_| bad("the visitor marker"))?;
    meta.insert(VISITOR_META_KEY.to_owned(), mark);
    serde_json::to_vec(&value).map_err(|_| bad("it cannot be re-encoded"))
}

/// The title of a visitor's session: the site's title and the visitor's name.
pub fn session_title(site_title: &str, name: &str) -> String {
    format!("{site_title} · {name}")
        .chars()
        .take(TITLE_MAX_CHARS)
        .collect()
}

/// A checked change of name or email.
pub fn identity(
    name: Option<String>,
    email: Option<String>,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let email = match email.map(|e| e.trim().to_owned()) {
        Some(e) if !is_plausible_email(&e) => {
            return Err(ApiError::bad_request(
                "That email address does not look right; check it and try again.",
            ));
        }
        other => other,
    };
    Ok((name.as_deref().and_then(clean_name), email))
}

fn info(hub: &Hub, v: &VisitorRef, record: VisitorRecord, token: Option<String>) -> VisitorInfo {
    let core = hub.core.borrow();
    let cursor = record.session_id.as_ref().map(|sid| {
        core.slots
            .get(sid)
            .filter(|s| s.feed.is_aligned())
            .map_or(CURSOR_NOW, |s| s.feed.latest())
    });
    VisitorInfo {
        visitor_id: v.id.clone(),
        name: record.name.unwrap_or_else(|| default_visitor_name(&v.id)),
        email: record.email,
        site: SiteInfo {
            key: v.site.clone(),
            title: v.title.clone(),
            color: v.color.clone(),
            agent_name: core
                .agent
                .as_ref()
                .map_or_else(|| "MoChat".to_owned(), |a| a.name.clone()),
        },
        session_id: record.session_id,
        cursor,
        token,
    }
}

/// `POST /edge/widget/visitor`: keeps a new visitor (minted by the worker).
pub fn new_visitor(
    hub: &Rc<Hub>,
    caller: Option<&Caller>,
    name: Option<String>,
    email: Option<String>,
    token: String,
) -> Result<Response, Halt> {
    let v = visitor_of(caller)?;
    let (name, email) = identity(name, email)?;
    let now = now_ms();
    let record = VisitorRecord {
        name,
        email,
        session_id: None,
        first_seen: Some(now),
        last_seen: Some(now),
    };
    save(hub, v, record.clone());
    hub.json(201, &info(hub, v, record, Some(token)), &[])
}

/// `GET /edge/widget/me`: spends one of the visitor's requests, like every
/// call a visitor makes (it may read storage).
pub async fn me(hub: &Rc<Hub>, caller: Option<&Caller>) -> Result<Response, Halt> {
    let v = visitor_of(caller)?;
    let limits = spend(hub, v)?;
    let record = record(hub, v).await?;
    hub.json(200, &info(hub, v, record, None), &limits)
}

/// `POST /edge/widget/me`: the host page told who the visitor is.
pub fn identify(
    hub: &Rc<Hub>,
    caller: Option<&Caller>,
    name: Option<String>,
    email: Option<String>,
) -> Result<Response, Halt> {
    let v = visitor_of(caller)?;
    let (name, email) = identity(name, email)?;
    let limits = spend(hub, v)?;
    let key = key(v);
    let mut record = hub
        .core
        .borrow()
        .visitors
        .records
        .get(&key)
        .cloned()
        .or_else(|| hub.store.visitor(&key).ok().flatten())
        .unwrap_or_default();
    let before = (record.name.clone(), record.email.clone());
    record.name = name.or(record.name);
    record.email = email.or(record.email);
    // The host page says it on every page view: written only when it changed.
    if (record.name.clone(), record.email.clone()) == before {
        remember(hub, key, record.clone());
    } else {
        save(hub, v, record.clone());
    }
    hub.json(200, &info(hub, v, record, None), &limits)
}

/// `POST /edge/widget/conversation`: the visitor's session, opened on first
/// use with the site's participants. Two racing opens keep the first
/// session; the other is closed again.
pub async fn open_conversation(hub: &Rc<Hub>, caller: Option<&Caller>) -> Result<Response, Halt> {
    let v = visitor_of(caller)?;
    let current = record(hub, v).await?;
    if current.session_id.is_some() {
        return hub.json(200, &info(hub, v, current, None), &[]);
    }
    let limits = spend(hub, v)?;
    let decision = hub.spend(Spender::Visitor, 1);
    if !decision.allowed {
        return Err(over_budget(Spender::Visitor, &decision));
    }
    let name = current
        .name
        .clone()
        .unwrap_or_else(|| default_visitor_name(&v.id));
    let create = CreateSessionRequest {
        participants: v.participants.clone(),
        title: Some(session_title(&v.title, &name)),
    };
    let body = serde_json::to_vec(&create).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let upstream = hub.upstream()?.clone();
    let token = hub.token()?;
    let reply = upstream
        .call(
            Some(&token),
            &Route::CreateSession,
            Some(&body),
            &Extra::default(),
        )
        .await?;
    if reply.status == 429 {
        hub.blocked_for(reply.retry_after.as_deref());
    }
    let Some(mut session) = reply.parse::<Session>() else {
        let error = serde_json::from_str::<mochat_api::ErrorEnvelope>(&reply.body)
            .map(|e| e.error)
            .unwrap_or_else(|_| {
                ApiError::new(
                    ErrorCode::UpstreamUnavailable,
                    "The MoChat API answered in an unexpected form. Try again in a moment.",
                )
            });
        return Err(Halt::with_headers(error, limits));
    };
    if session.title.is_empty() {
        session.title = create.title.clone().unwrap_or_default();
    }
    // Another open of this visitor may have finished while this one waited.
    let mut kept = record(hub, v).await?;
    if let Some(first) = &kept.session_id {
        if *first != session.session_id {
            let close = Route::CloseSession {
                session_id: session.session_id.clone(),
            };
            if hub.spend(Spender::Visitor, upstream.cost(&close)).allowed
                && let Err(Halt::Fault(e)) = upstream
                    .call(Some(&token), &close, None, &Extra::default())
                    .await
            {
                worker::console_error!(
                    "mochat-worker: could not close a duplicate visitor session: {e}"
                );
            }
        }
    } else {
        kept.session_id = Some(session.session_id.clone());
        save(hub, v, kept.clone());
        hub.later(Write::Title {
            session_id: session.session_id.clone(),
            title: session.title.clone(),
        });
        let created = Slot::created(&session);
        let id = session.session_id.clone();
        note_session(hub, session);
        hub.core.borrow_mut().slots.entry(id).or_insert(created);
    }
    hub.json(200, &info(hub, v, kept, None), &limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_reaches_only_their_own_session() {
        let own = Some("s_mine");
        let mine = "s_mine".to_owned();
        for route in [
            Route::ListSessionMessages {
                session_id: mine.clone(),
                query: Default::default(),
            },
            Route::SendSessionMessage {
                session_id: mine.clone(),
            },
            Route::WatchSession {
                session_id: mine.clone(),
                query: Default::default(),
            },
        ] {
            assert!(allowed(&route, own).is_ok(), "{route:?}");
            assert!(allowed(&route, None).is_err(), "no session yet: {route:?}");
        }
        let other = Route::ListSessionMessages {
            session_id: "s_other".into(),
            query: Default::default(),
        };
        assert_eq!(allowed(&other, own).unwrap_err().status(), 403);
        for route in [
            Route::ListSessions {
                query: Default::default(),
            },
            Route::CreateSession,
            Route::SessionDetail {
                session_id: mine.clone(),
            },
            Route::CloseSession {
                session_id: mine.clone(),
            },
            Route::AddParticipants {
                session_id: mine.clone(),
            },
            Route::GetSession { session_id: mine },
            Route::WorkspaceGroup,
            Route::JoinGroup,
            Route::BindAgent,
            Route::Register,
            Route::ListPanelMessages {
                panel_id: "p".into(),
                query: Default::default(),
            },
        ] {
            assert!(allowed(&route, own).is_err(), "{route:?}");
        }
    }

    #[test]
    fn sends_carry_the_workers_visitor_mark() {
        let mark = VisitorMark {
            id: "v1".into(),
            name: "Ada".into(),
            site: "acme".into(),
            title: "Acme".into(),
        };
        let body = br#"{"content":"hi","meta":{"clientId":"c1","visitor":{"id":"forged"}}}"#;
        let out: Value = serde_json::from_slice(&mark_send(body, &mark).unwrap()).unwrap();
        assert_eq!(out["content"], "Ada (visitor): hi");
        assert_eq!(out["meta"]["clientId"], "c1");
        assert_eq!(out["meta"]["visitor"]["id"], "v1");
        assert_eq!(out["meta"]["visitor"]["name"], "Ada");
        let bare: Value =
            serde_json::from_slice(&mark_send(br#"{"content":"x"}"#, &mark).unwrap()).unwrap();
        assert_eq!(bare["meta"]["visitor"]["site"], "acme");
        let long = format!(
            r#"{{"content":"{}"}}"#,
            "x".repeat(VISITOR_CONTENT_MAX_CHARS + 1)
        );
        let longest = format!(
            r#"{{"content":"  {}  "}}"#,
            "x".repeat(VISITOR_CONTENT_MAX_CHARS)
        );
        assert!(mark_send(longest.as_bytes(), &mark).is_ok());
        for bad in [
            &b"[1]"[..],
            b"not json",
            br#"{"content":"x","meta":3}"#,
            br#"{"content":" \n "}"#,
            br#"{"content":7}"#,
            br#"{}"#,
            long.as_bytes(),
        ] {
            assert_eq!(mark_send(bad, &mark).unwrap_err().status(), 400);
        }
    }

    #[test]
    fn titles_limits_and_identities() {
        assert_eq!(session_title("Acme", "Ada"), "Acme · Ada");
        assert_eq!(session_title(&"x".repeat(300), "Ada").chars().count(), 200);
        let over = Decision {
            allowed: false,
            remaining: 0,
            reset_secs: 42,
        };
        let h = visitor_limits(&over, 20);
        assert_eq!(h[0].1, "\"visitor\";q=20;w=60");
        assert_eq!(h[1].1, "\"visitor\";r=0;t=42");
        assert_eq!(h[2], ("Retry-After", "42".to_owned()));
        assert_eq!(
            identity(Some("  Ada \u{7}".into()), Some(" ada@example.com ".into())),
            Ok((Some("Ada".into()), Some("ada@example.com".into())))
        );
        assert_eq!(
            identity(None, Some("nope".into())).map_err(|e| e.status()),
            Err(400)
        );
    }
}
