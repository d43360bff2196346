//! Long-poll watch: the [`Hub`] that wakes waiting watchers the moment a change
//! commits, the wait both dialects share, and the `GET /claw/sessions/:id/watch` handler.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use mochat_api::requests::{WatchQuery, WatchResponse};
use tokio::sync::{broadcast, watch};

use crate::accounts::Caller;
use crate::error::{AppResult, json};
use crate::{AppState, db, input};

/// A change to a session: its latest event seq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub session_id: String,
    pub seq: u64,
}

/// Wake-ups after writes: one `watch` channel per watched session, plus one
/// broadcast of every change (for in-process agents such as the demo helper).
pub struct Hub {
    sessions: Mutex<HashMap<String, watch::Sender<u64>>>,
    all: broadcast::Sender<Change>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            all: broadcast::channel(4096).0,
        }
    }
}

impl Hub {
    /// Subscribes to a session's changes; later notifications wake the subscription.
    pub fn subscribe(self: &Arc<Self>, session_id: &str) -> Subscription {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let sender = sessions
            .entry(session_id.to_owned())
            .or_insert_with(|| watch::channel(0).0);
        Subscription {
            hub: Arc::clone(self),
            session_id: session_id.to_owned(),
            receiver: sender.subscribe(),
        }
    }

    /// Subscribes to the changes of every session.
    pub fn subscribe_all(&self) -> broadcast::Receiver<Change> {
        self.all.subscribe()
    }

    /// Announces that events up to `seq` of a session are committed.
    pub fn notify(&self, session_id: &str, seq: u64) {
        if let Some(sender) = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(session_id)
        {
            sender.send_replace(seq);
        }
        // No receiver is fine: nobody is listening.
        let _ = self.all.send(Change {
            session_id: session_id.to_owned(),
            seq,
        });
    }
}

/// A watcher's interest in one session; the last one to go removes the channel.
pub struct Subscription {
    hub: Arc<Hub>,
    session_id: String,
    receiver: watch::Receiver<u64>,
}

impl Subscription {
    /// Waits for the next notification after the subscription was made or last woken.
    pub async fn changed(&mut self) {
        if self.receiver.changed().await.is_err() {
            // The sender lives in the hub as long as this subscription does.
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut sessions = self.hub.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if sessions
            .get(&self.session_id)
            .is_some_and(|s| s.receiver_count() <= 1)
        {
            sessions.remove(&self.session_id);
        }
    }
}

/// The long poll of both dialects: the events of a session the caller takes
/// part in with a seq above `cursor` (at most `limit`, oldest first), at once
/// when there are any; otherwise waits up to `timeout_ms` for one and answers
/// no events with the cursor unchanged.
pub async fn wait_events(
    state: &AppState,
    caller: &Caller,
    session_id: String,
    timeout_ms: u64,
    limit: u32,
    cursor: u64,
) -> AppResult<WatchResponse> {
    // Subscribe before looking, so a change committed in between still wakes us.
    let mut subscription = state.hub.subscribe(&session_id);
    let mut shutdown = state.shutdown.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
    // A cursor beyond the latest seq waits as if it were the latest.
    let mut from: Option<u64> = None;
    loop {
        let (sid, user) = (session_id.clone(), caller.user_id.clone());
        let (start, events) = state
            .db
            .call(move |conn| {
                db::session_for(conn, &sid, &user)?;
                let start = match from {
                    Some(start) => start,
                    None => cursor.min(db::last_seq(conn, &sid)?),
                };
                Ok((start, db::events_after(conn, &sid, start, limit)?))
            })
            .await?;
        from = Some(start);
        if let Some(last) = events.last() {
            let cursor = last.seq;
            return Ok(WatchResponse {
                session_id,
                cursor,
                events,
            });
        }
        if timeout_ms == 0 || *shutdown.borrow() {
            break;
        }
        tokio::select! {
            () = subscription.changed() => {}
            () = tokio::time::sleep_until(deadline) => break,
            _ = shutdown.wait_for(|stopping| *stopping) => break,
        }
    }
    Ok(WatchResponse {
        session_id,
        cursor,
        events: Vec::new(),
    })
}

/// `GET /claw/sessions/:id/watch?timeout&limit&cursor`.
pub async fn watch(
    state: &AppState,
    caller: &Caller,
    session_id: String,
    query: WatchQuery,
) -> AppResult<Response> {
    let (timeout_ms, limit, cursor) = input::watch_values(&query);
    let answer = wait_events(state, caller, session_id, timeout_ms, limit, cursor).await?;
    json(StatusCode::OK, &answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notify_wakes_subscribers_and_channels_are_cleaned_up() {
        let hub = Arc::new(Hub::default());
        let mut all = hub.subscribe_all();
        let mut sub = hub.subscribe("s1");
        hub.notify("s1", 3);
        tokio::time::timeout(Duration::from_secs(1), sub.changed())
            .await
            .expect("woken");
        assert_eq!(
            all.recv().await.expect("broadcast"),
            Change {
                session_id: "s1".into(),
                seq: 3
            }
        );
        drop(sub);
        assert!(hub.sessions.lock().expect("lock").is_empty());
    }
}
