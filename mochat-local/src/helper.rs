//! The demo's helper agent: an in-process task that hears every change through
//! the same [`Hub`](crate::watch::Hub) as watchers, and answers messages from
//! others in the open sessions it takes part in, through the normal send path.

use std::collections::HashMap;
use std::time::Duration;

use mochat_api::{EventType, Message, SessionStatus};
use tokio::sync::broadcast::error::RecvError;

use crate::watch::Change;
use crate::{AppState, db, demo, messages};

/// How long the helper "thinks" before answering.
const THINKING: Duration = Duration::from_millis(300);

/// The reply to a message.
pub fn reply_to(content: &str) -> String {
    let quoted: String = content.chars().take(80).collect();
    format!("Helper here — you said: \"{quoted}\"")
}

/// Whether the helper should answer this message: not its own, not a bot's reply.
fn wants_reply(helper_id: &str, message: &Message) -> bool {
    message.author != helper_id && !message.meta.contains_key("bot")
}

/// Runs until the server stops.
pub async fn run(state: AppState, helper_id: String) {
    let mut changes = state.hub.subscribe_all();
    let mut shutdown = state.shutdown.clone();
    // The last seq the helper has read, per session.
    let mut seen: HashMap<String, u64> = HashMap::new();
    loop {
        let change = tokio::select! {
            received = changes.recv() => match received {
                Ok(change) => change,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the helper missed changes");
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let after = seen
            .get(&change.session_id)
            .copied()
            .unwrap_or(change.seq.saturating_sub(1));
        if change.seq <= after {
            continue;
        }
        match pending(&state, &helper_id, &change, after).await {
            Ok((to_answer, last)) => {
                seen.insert(change.session_id.clone(), last);
                for message in to_answer {
                    tokio::time::sleep(THINKING).await;
                    let reply = reply_to(&message.content);
                    if let Err(e) = messages::send(
                        &state,
                        &helper_id,
                        &change.session_id,
                        reply,
                        demo::helper_meta(),
                    )
                    .await
                    {
                        tracing::debug!(error = %e.error, "the helper could not answer");
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e.error, "the helper could not read a session"),
        }
    }
}

/// The messages after `after` in a changed session that the helper should answer
/// (none unless it takes part and the session is open), and the last seq read.
async fn pending(
    state: &AppState,
    helper_id: &str,
    change: &Change,
    after: u64,
) -> crate::error::AppResult<(Vec<Message>, u64)> {
    let (helper, sid) = (helper_id.to_owned(), change.session_id.clone());
    state
        .db
        .call(move |conn| {
            let Some(session) = db::session(conn, &sid)? else {
                return Ok((Vec::new(), after));
            };
            let events = db::events_after(conn, &sid, after, 1000)?;
            let last = events.last().map_or(after, |e| e.seq);
            let taking_part =
                session.participants.contains(&helper) && session.status == SessionStatus::Open;
            let to_answer = events
                .iter()
                .filter(|e| taking_part && e.kind == EventType::MessageAdd)
                .filter_map(|e| e.message())
                .filter(|m| wants_reply(&helper, m))
                .collect();
            Ok((to_answer, last))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_quote_80_characters() {
        let long = "x".repeat(100);
        assert_eq!(
            reply_to(&long),
            format!("Helper here — you said: \"{}\"", "x".repeat(80))
        );
    }
}
