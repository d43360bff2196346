//! One session's live feed in the agent's hub: the events browsers watch,
//! numbered in the order the hub learned them.
//!
//! The hub learns events three ways: a send that went through it (delivered
//! at once, before any upstream read), the newest message the session list
//! shows, and reads of the upstream's own event stream. The first two are
//! *pending* until an upstream read confirms them; a confirmed event is not
//! handed out again. So every event reaches a watcher exactly once, and when
//! nothing is pending the feed's numbers are the upstream's own `seq`s: a
//! cursor stays meaningful across a restart of the hub.
//!
//! A feed is *aligned* once it knows the upstream seq it has read up to (from
//! a session's detail, its creation, or a read of its events from the start);
//! before that it hands nothing out. Only the newest [`KEEP`] events are kept.

use std::collections::{HashMap, VecDeque};

use mochat_api::{Event, EventType, Message};
use serde_json::Value;

/// Events kept per session.
pub const KEEP: usize = 1_000;

/// A session's feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    session_id: String,
    /// Kept events, oldest first, with consecutive seqs ending at `latest`.
    events: VecDeque<Event>,
    /// How many of `events` add each message (every send looks one up).
    ids: HashMap<String, u32>,
    /// The newest event's seq (the alignment point when there is none).
    latest: u64,
    /// The upstream seq up to which every upstream event is in the feed;
    /// `None` until aligned.
    upstream: Option<u64>,
    /// Messages handed out before the upstream confirmed them.
    pending: Vec<String>,
    /// Messages in the session, when known.
    messages: Option<u64>,
    /// Whether `events` holds the whole history, from seq 1.
    complete: bool,
}

/// What a watcher gets: events after its cursor and the cursor to pass back.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub cursor: u64,
    pub events: Vec<Event>,
}

fn message_id(event: &Event) -> Option<&str> {
    (event.kind == EventType::MessageAdd)
        .then(|| event.payload.get("messageId").and_then(Value::as_str))
        .flatten()
}

impl Feed {
    /// A feed that knows nothing yet.
    pub fn new(session_id: &str) -> Self {
        Self {
            session_id: session_id.to_owned(),
            events: VecDeque::new(),
            ids: HashMap::new(),
            latest: 0,
            upstream: None,
            pending: Vec::new(),
            messages: None,
            complete: false,
        }
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    pub fn is_aligned(&self) -> bool {
        self.upstream.is_some()
    }

    /// The newest seq a watcher can have seen.
    pub fn latest(&self) -> u64 {
        self.latest
    }

    /// Where the next upstream read starts (0 before alignment: from the start).
    pub fn upstream_cursor(&self) -> u64 {
        self.upstream.unwrap_or(0)
    }

    /// How many messages the session has, when known.
    pub fn message_count(&self) -> Option<u64> {
        self.messages
    }

    /// Whether some delivered messages still wait for the upstream's confirmation.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Aligns a feed that knows nothing at upstream seq `seq` (a detail's
    /// cursor; 0 for a session just created). Returns false when already aligned.
    pub fn align_at(&mut self, seq: u64, messages: Option<u64>) -> bool {
        if self.is_aligned() {
            return false;
        }
        self.latest = seq;
        self.upstream = Some(seq);
        self.messages = messages.or((seq == 0).then_some(0));
        self.complete = seq == 0;
        true
    }

    /// The seq at and below which an aligned feed holds no events, unless it
    /// holds the whole history: a watcher from before it is owed events the
    /// feed never had (it was aligned at a detail's cursor, or dropped them).
    pub fn floor(&self) -> Option<u64> {
        if !self.is_aligned() || self.complete {
            return None;
        }
        Some(self.events.front().map_or(self.latest, |e| e.seq - 1))
    }

    /// Whether a message is among the kept events.
    pub fn knows(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    fn push(&mut self, mut event: Event) -> Event {
        self.latest += 1;
        event.seq = self.latest;
        event.session_id.clone_from(&self.session_id);
        if event.kind == EventType::MessageAdd {
            self.messages = self.messages.map(|n| n + 1);
        }
        if let Some(id) = message_id(&event) {
            *self.ids.entry(id.to_owned()).or_default() += 1;
        }
        self.events.push_back(event.clone());
        while self.events.len() > KEEP {
            if let Some(old) = self.events.pop_front()
                && let Some(id) = message_id(&old)
                && let Some(n) = self.ids.get_mut(id)
            {
                *n -= 1;
                if *n == 0 {
                    self.ids.remove(id);
                }
            }
            self.complete = false;
        }
        event
    }

    /// A message the hub knows before the upstream stream shows it (a send
    /// through the hub, a list's newest message): handed out at once. Only
    /// an aligned feed takes it; a message already known is skipped.
    pub fn provisional(&mut self, message: &Message) -> Option<Event> {
        if !self.is_aligned() || self.knows(&message.message_id) {
            return None;
        }
        let payload = serde_json::to_value(message).ok()?;
        self.pending.push(message.message_id.clone());
        Some(self.push(Event {
            seq: 0,
            session_id: String::new(),
            kind: EventType::MessageAdd,
            timestamp: message.created_at.clone(),
            payload,
        }))
    }

    /// Takes in upstream events read from upstream cursor `from` (all with
    /// a greater seq, oldest first). Returns those new to watchers.
    ///
    /// A read from 0 aligns a feed that was not; a read from anywhere but
    /// the feed's own upstream cursor is stale and ignored.
    pub fn absorb(&mut self, from: u64, events: Vec<Event>) -> Vec<Event> {
        let mut fresh = Vec::new();
        match self.upstream {
            None if from == 0 => {
                // The whole history: numbered as upstream numbers it.
                self.complete = true;
                self.messages = Some(0);
                for event in events {
                    let seq = event.seq;
                    self.latest = seq.saturating_sub(1);
                    fresh.push(self.push(event));
                }
                self.upstream = Some(self.latest);
            }
            Some(up) if up == from => {
                let mut last = up;
                for event in events.into_iter().filter(|e| e.seq > up) {
                    last = last.max(event.seq);
                    let confirmed =
                        message_id(&event).and_then(|id| self.pending.iter().position(|p| p == id));
                    match confirmed {
                        Some(i) => {
                            self.pending.remove(i);
                        }
                        None => fresh.push(self.push(event)),
                    }
                }
                self.upstream = Some(last);
            }
            _ => {}
        }
        fresh
    }

    /// Events after `cursor`, at most `limit`, oldest first. A cursor at or
    /// beyond the newest seq gets nothing (it waits as if at the newest); one
    /// older than the kept events gets all that are kept.
    pub fn after(&self, cursor: u64, limit: usize) -> Batch {
        if !self.is_aligned() || cursor >= self.latest {
            return Batch {
                cursor,
                events: Vec::new(),
            };
        }
        let events: Vec<Event> = self
            .events
            .iter()
            .filter(|e| e.seq > cursor)
            .take(limit.max(1))
            .cloned()
            .collect();
        Batch {
            cursor: events.last().map_or(cursor, |e| e.seq),
            events,
        }
    }

    /// Events stamped at or after `since_ms` (a watcher that came with a
    /// cursor from before the hub knew the session), at most `limit`.
    pub fn since(&self, since_ms: u64, limit: usize, parse_ms: impl Fn(&str) -> u64) -> Batch {
        let events: Vec<Event> = self
            .events
            .iter()
            .filter(|e| parse_ms(&e.timestamp) >= since_ms)
            .take(limit.max(1))
            .cloned()
            .collect();
        Batch {
            cursor: events.last().map_or(self.latest, |e| e.seq),
            events,
        }
    }

    /// The session's newest messages, oldest first, when the feed holds its
    /// whole history and it fits in `limit` (so no paging cursor is needed).
    pub fn whole_history(&self, limit: usize) -> Option<Vec<Message>> {
        if !self.complete {
            return None;
        }
        let messages: Vec<Message> = self
            .events
            .iter()
            .filter(|e| e.kind == EventType::MessageAdd)
            .filter_map(Event::message)
            .collect();
        (messages.len() <= limit).then_some(messages)
    }

    /// The newest message among the kept events.
    pub fn newest_message(&self) -> Option<Message> {
        self.events
            .iter()
            .rev()
            .find(|e| e.kind == EventType::MessageAdd)
            .and_then(Event::message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(id: &str, at: &str) -> Message {
        serde_json::from_value(json!({
            "messageId": id, "sessionId": "s1", "content": id, "author": "u1",
            "authorInfo": {"userId": "u1", "type": "user", "name": "Ada"},
            "meta": {}, "createdAt": at
        }))
        .expect("a message")
    }

    fn add(seq: u64, id: &str) -> Event {
        Event {
            seq,
            session_id: "s1".into(),
            kind: EventType::MessageAdd,
            timestamp: "2026-12-01T10:00:00.000Z".into(),
            payload: serde_json::to_value(message(id, "2026-12-01T10:00:00.000Z")).expect("json"),
        }
    }

    fn other(seq: u64) -> Event {
        Event {
            seq,
            session_id: "s1".into(),
            kind: EventType::SessionUpdate,
            timestamp: "2026-12-01T10:00:00.000Z".into(),
            payload: json!({}),
        }
    }

    fn ids(events: &[Event]) -> Vec<(u64, String)> {
        events
            .iter()
            .map(|e| (e.seq, message_id(e).unwrap_or("-").to_owned()))
            .collect()
    }

    #[test]
    fn the_floor_is_where_the_kept_history_starts() {
        let mut f = Feed::new("s1");
        assert_eq!(f.floor(), None, "not aligned");
        f.align_at(4, Some(2));
        assert_eq!(f.floor(), Some(4), "aligned at a detail's cursor");
        f.absorb(4, vec![add(5, "m5"), add(6, "m6")]);
        assert_eq!(f.floor(), Some(4));
        let mut whole = Feed::new("s1");
        whole.absorb(0, vec![add(1, "m1")]);
        assert_eq!(whole.floor(), None, "the whole history is kept");
    }

    #[test]
    fn an_unaligned_feed_hands_out_nothing() {
        let mut f = Feed::new("s1");
        assert!(f.provisional(&message("m1", "t")).is_none());
        assert!(f.after(0, 100).events.is_empty());
        assert!(f.absorb(5, vec![add(6, "m6")]).is_empty(), "stale read");
        assert!(!f.is_aligned());
    }

    #[test]
    fn a_send_is_delivered_at_once_and_not_again_when_confirmed() {
        let mut f = Feed::new("s1");
        assert!(f.align_at(10, Some(7)));
        let sent = f.provisional(&message("mine", "t")).expect("delivered");
        assert_eq!(sent.seq, 11);
        assert_eq!(f.after(10, 100).events.len(), 1);
        assert!(f.provisional(&message("mine", "t")).is_none(), "known");
        // The upstream stream shows it later: nothing new for watchers.
        let fresh = f.absorb(10, vec![add(11, "mine")]);
        assert!(fresh.is_empty());
        assert!(!f.has_pending());
        assert_eq!((f.latest(), f.upstream_cursor()), (11, 11));
        assert_eq!(f.message_count(), Some(8));
    }

    #[test]
    fn an_outside_event_that_raced_a_send_is_still_delivered_once() {
        let mut f = Feed::new("s1");
        f.align_at(10, None);
        f.provisional(&message("mine", "t"));
        // Upstream: someone else wrote at 11, ours is 12.
        let fresh = f.absorb(10, vec![add(11, "theirs"), add(12, "mine")]);
        assert_eq!(ids(&fresh), vec![(12, "theirs".to_owned())]);
        // Numbers agree with upstream again once nothing is pending.
        assert_eq!((f.latest(), f.upstream_cursor()), (12, 12));
        // A watcher that saw our send (cursor 11) gets theirs; one at 10 gets both.
        assert_eq!(ids(&f.after(11, 100).events), vec![(12, "theirs".into())]);
        assert_eq!(f.after(10, 100).events.len(), 2);
        assert_eq!(
            f.after(12, 100),
            Batch {
                cursor: 12,
                events: vec![]
            }
        );
        assert_eq!(f.after(99, 100).cursor, 99, "beyond the newest: waits");
    }

    #[test]
    fn reading_from_the_start_aligns_with_the_whole_history() {
        let mut f = Feed::new("s1");
        let fresh = f.absorb(0, vec![add(1, "a"), other(2), add(3, "b")]);
        assert_eq!(fresh.len(), 3);
        assert_eq!((f.latest(), f.upstream_cursor()), (3, 3));
        assert_eq!(f.message_count(), Some(2));
        let history = f.whole_history(50).expect("complete");
        assert_eq!(history.len(), 2);
        assert!(f.whole_history(1).is_none(), "would need paging");
        assert_eq!(f.newest_message().map(|m| m.message_id), Some("b".into()));
        let batch = f.after(1, 1);
        assert_eq!(batch.cursor, 2);
        // Later reads continue from 3.
        let fresh = f.absorb(3, vec![add(4, "c")]);
        assert_eq!(ids(&fresh), vec![(4, "c".into())]);
    }

    #[test]
    fn a_new_session_is_aligned_at_zero_and_complete() {
        let mut f = Feed::new("s1");
        f.align_at(0, None);
        assert_eq!(f.whole_history(50), Some(vec![]));
        f.provisional(&message("first", "t"));
        assert_eq!(f.whole_history(50).map(|h| h.len()), Some(1));
        assert_eq!(f.message_count(), Some(1));
    }

    #[test]
    fn only_the_newest_events_are_kept() {
        let mut f = Feed::new("s1");
        let events: Vec<Event> = (1..=(KEEP as u64 + 5))
            .map(|i| add(i, &format!("m{i}")))
            .collect();
        f.absorb(0, events);
        assert_eq!(f.after(0, 10_000).events.len(), KEEP);
        assert_eq!(f.after(0, 1).events[0].seq, 6);
        assert!(f.whole_history(10_000).is_none());
        assert_eq!(f.message_count(), Some(KEEP as u64 + 5));
        assert!(!f.knows("m5"), "dropped with its event");
        assert!(f.knows("m6") && f.knows(&format!("m{}", KEEP + 5)));
    }

    #[test]
    fn watchers_from_before_the_hub_knew_get_events_by_time() {
        let mut f = Feed::new("s1");
        let mut late = add(2, "late");
        late.timestamp = "later".into();
        f.absorb(0, vec![add(1, "early"), late]);
        let parse = |t: &str| if t == "later" { 2_000 } else { 1_000 };
        let b = f.since(1_500, 100, parse);
        assert_eq!(ids(&b.events), vec![(2, "late".into())]);
        assert_eq!(b.cursor, 2);
        assert_eq!(f.since(9_000, 100, parse).cursor, 2);
    }
}
