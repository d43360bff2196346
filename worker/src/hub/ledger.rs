//! A send's entry in the ledger, in the hub: asking it before posting (the
//! first send's stored answer, the reservation, or a wait for an identical
//! send in flight), recording the outcome, and reading a conversation back
//! to settle a send whose answer was lost. The ledger itself is pure:
//! [`crate::outbox`].

use std::rc::Rc;
use std::time::Duration;

use futures::future::select;
use mochat_api::requests::SendMessageRequest;
use mochat_api::{ApiError, Message, MessagePage, client_id};
use worker::Delay;

use super::calls::{Forward, Headers};
use super::store::Write;
use super::{Hub, Wake, views, wake_all};
use crate::limiter::now_ms;
use crate::outbox::{self, Begun};
use crate::respond::Halt;
use crate::upstream::{Dialect, Extra, Reply};

/// How long a retry waits for a racing identical send before answering 409.
pub const IN_FLIGHT_WAIT_MS: u64 = 10_000;
/// How many of a conversation's newest messages a read-back looks through.
pub const READ_BACK_LIMIT: u32 = 100;

/// What the ledger said about a send.
pub(super) enum Begun2 {
    /// The first send's stored answer.
    Stored(String),
    /// This call holds the reservation.
    Reserved(u64),
}

fn ledger_writes(hub: &Hub, writes: Vec<outbox::Write>, body: Option<&str>) {
    for write in writes {
        let body = matches!(write, outbox::Write::Store { .. })
            .then(|| body.unwrap_or_default().to_owned());
        hub.later(Write::Ledger { write, body });
    }
}

/// The stored answer under `key`: from memory (this incarnation's), else storage.
fn stored_body(hub: &Hub, key: &str) -> Option<String> {
    if let Some(body) = hub.core.borrow().ledger_bodies.get(key) {
        return Some(body.clone());
    }
    hub.store.ledger_body(key).ok().flatten()
}

/// Asks the ledger for `key`: its stored answer, the reservation, or, while
/// an identical send is in flight, waits for it (up to
/// [`IN_FLIGHT_WAIT_MS`], then reads the conversation back, then 409).
pub(super) async fn begin(hub: &Rc<Hub>, call: &Forward, key: &str) -> Result<Begun2, Halt> {
    let started = now_ms();
    loop {
        let now = now_ms();
        let (begun, writes) = hub.core.borrow_mut().ledger.begin(key, now);
        ledger_writes(hub, writes, None);
        match begun {
            Begun::Stored => match stored_body(hub, key) {
                Some(body) => return Ok(Begun2::Stored(body)),
                None => {
                    // Storage lost the body: start over for this key.
                    let writes = hub.core.borrow_mut().ledger.forget(key);
                    ledger_writes(hub, writes, None);
                }
            },
            Begun::Reserved { ticket, lapsed } => {
                // The last holder never came back: it may have posted before it died.
                if lapsed && let Some(body) = settle(hub, call, key, started).await? {
                    return Ok(Begun2::Stored(body));
                }
                return Ok(Begun2::Reserved(ticket));
            }
            Begun::InFlight => {
                let waited = now.saturating_sub(started);
                if waited >= IN_FLIGHT_WAIT_MS {
                    // Still held: if the message is upstream, its holder
                    // posted it and then died or lost its answer.
                    if let Some(body) = settle(hub, call, key, started).await? {
                        return Ok(Begun2::Stored(body));
                    }
                    return Err(ApiError::conflict(
                        "This message is still being sent; try again in a moment.",
                    )
                    .into());
                }
                let (wake, rx) = Wake::new();
                hub.core
                    .borrow_mut()
                    .ledger_waits
                    .entry(key.to_owned())
                    .or_default()
                    .push(wake);
                let timer = Delay::from(Duration::from_millis(IN_FLIGHT_WAIT_MS - waited));
                futures::pin_mut!(timer);
                let _ = select(rx, timer).await;
            }
        }
    }
}

/// Records the end of a reserved send: its 201 answer, or the release of
/// the reservation so a later retry can post. Wakes identical sends waiting.
pub(super) fn finish_ledger(
    hub: &Hub,
    key: &str,
    ticket: u64,
    outcome: &Result<(Reply, Headers), Halt>,
) {
    let now = now_ms();
    let created = match outcome {
        Ok((reply, _)) if reply.status == 201 => Some(reply.body.clone()),
        _ => None,
    };
    let mut core = hub.core.borrow_mut();
    let writes = match &created {
        Some(body) => {
            if core.ledger_bodies.len() >= outbox::KEEP {
                core.ledger_bodies.clear();
            }
            core.ledger_bodies.insert(key.to_owned(), body.clone());
            core.ledger.finish(key, now)
        }
        None => core.ledger.abort(key, ticket, now),
    };
    if let Some(mut waiters) = core.ledger_waits.remove(key) {
        wake_all(&mut waiters);
    }
    drop(core);
    ledger_writes(hub, writes, created.as_deref());
}

/// The message a send's client id already posted, read back from the
/// newest [`READ_BACK_LIMIT`] of its conversation (found by `meta.clientId`,
/// or, where the upstream keeps no meta, by author and content since the
/// reservation); when found it is stored under `key`, so later retries get
/// it at once.
async fn settle(
    hub: &Rc<Hub>,
    call: &Forward,
    key: &str,
    since_ms: u64,
) -> Result<Option<String>, Halt> {
    let (Some(list), Some((_, client_id))) = (
        outbox::list_route(&call.route, READ_BACK_LIMIT),
        key.rsplit_once(':'),
    ) else {
        return Ok(None);
    };
    let decision = hub.spend(call.who, 1);
    if !decision.allowed {
        return Ok(None);
    }
    let upstream = hub.upstream()?.clone();
    let token = hub.token()?;
    let reply = upstream
        .call(Some(&token), &list, None, &Extra::default())
        .await?;
    let Some(page) = reply.parse::<MessagePage>() else {
        return Ok(None);
    };
    let sent: Option<SendMessageRequest> = call
        .body
        .as_deref()
        .and_then(|b| serde_json::from_slice(b).ok());
    let agent = hub.agent_id();
    let reserved = hub
        .core
        .borrow()
        .ledger
        .get(key)
        .map_or(since_ms, |e| e.at)
        .saturating_sub(5_000);
    let by_content = (upstream.dialect == Dialect::Live)
        .then(|| sent.as_ref().map(|s| (s.content.trim(), reserved)))
        .flatten();
    let found = page
        .messages
        .into_iter()
        .find(|m| is_the_send(m, &agent, client_id, by_content));
    let Some(mut message) = found else {
        return Ok(None);
    };
    if let Some(meta) = sent.and_then(|s| s.meta) {
        message.meta = meta;
    }
    // As the send's own answer would have been shown to this caller.
    let message = views::message_for(message, &agent, call.visitor.is_some());
    let body = serde_json::to_string(&message).unwrap_or_default();
    let now = now_ms();
    let writes = {
        let mut core = hub.core.borrow_mut();
        core.ledger_bodies.insert(key.to_owned(), body.clone());
        core.ledger.finish(key, now)
    };
    ledger_writes(hub, writes, Some(&body));
    Ok(Some(body))
}

/// Whether `m` is the send with `client_id`: posted by the agent (anyone
/// else in the conversation can copy a client id into their own message),
/// and carrying the id, or, where the upstream keeps no meta (`by_content`),
/// the same content since the reservation (Unix ms).
fn is_the_send(m: &Message, agent: &str, client_id: &str, by_content: Option<(&str, u64)>) -> bool {
    if m.author != agent {
        return false;
    }
    client_id::of_message(m) == Some(client_id)
        || by_content.is_some_and(|(content, since)| {
            content == m.content && super::list::parse_ms(&m.created_at) >= since
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(author: &str, client_id: &str, content: &str, at: &str) -> Message {
        serde_json::from_value(json!({
            "messageId": "m1", "sessionId": "s1", "content": content, "author": author,
            "authorInfo": {"userId": author, "type": "agent", "name": "A"},
            "meta": {"clientId": client_id}, "createdAt": at
        }))
        .expect("a message")
    }

    const AT: &str = "2026-12-01T10:00:00.000Z";

    #[test]
    fn a_read_back_takes_only_the_agents_own_message() {
        assert!(is_the_send(
            &message("agent", "c1", "hi", AT),
            "agent",
            "c1",
            None
        ));
        assert!(!is_the_send(
            &message("agent", "c2", "hi", AT),
            "agent",
            "c1",
            None
        ));
        // Someone else in the conversation copied the client id: not the send.
        assert!(!is_the_send(
            &message("mallory", "c1", "hi", AT),
            "agent",
            "c1",
            None
        ));
    }

    #[test]
    fn without_meta_the_content_since_the_reservation_tells() {
        let since = super::super::list::parse_ms(AT);
        let m = message("agent", "", "hello", AT);
        assert!(is_the_send(&m, "agent", "c1", Some(("hello", since))));
        assert!(!is_the_send(&m, "agent", "c1", Some(("hello!", since))));
        assert!(!is_the_send(&m, "agent", "c1", Some(("hello", since + 1))));
        let theirs = message("mallory", "", "hello", AT);
        assert!(!is_the_send(&theirs, "agent", "c1", Some(("hello", since))));
    }
}
