//! The cursor of a session's long poll: always passes back what the server
//! returned, never goes backwards, and lets each event through exactly once.

use mochat_api::Event;
use mochat_api::requests::WatchResponse;

/// Where the next watch starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchCursor {
    cursor: u64,
}

impl WatchCursor {
    /// Starts after `cursor` (the detail's cursor: everything up to it is in the history).
    pub fn new(cursor: u64) -> Self {
        Self { cursor }
    }

    /// The cursor to send with the next watch.
    pub fn get(&self) -> u64 {
        self.cursor
    }

    /// Takes a watch answer: returns its new events (seq above the cursor,
    /// oldest first, each once) and moves the cursor to the last one seen.
    pub fn accept(&mut self, answer: WatchResponse) -> Vec<Event> {
        let mut fresh: Vec<Event> = answer
            .events
            .into_iter()
            .filter(|e| e.seq > self.cursor)
            .collect();
        fresh.sort_by_key(|e| e.seq);
        fresh.dedup_by_key(|e| e.seq);
        let last = fresh.last().map_or(0, |e| e.seq);
        self.cursor = self.cursor.max(answer.cursor).max(last);
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mochat_api::EventType;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn event(seq: u64) -> Event {
        Event {
            seq,
            session_id: "s".into(),
            kind: EventType::MessageAdd,
            timestamp: "2026-11-29T07:14:43.123Z".into(),
            payload: serde_json::json!({}),
        }
    }

    fn answer(cursor: u64, seqs: &[u64]) -> WatchResponse {
        WatchResponse {
            session_id: "s".into(),
            cursor,
            events: seqs.iter().map(|s| event(*s)).collect(),
        }
    }

    fn seqs(events: &[Event]) -> Vec<u64> {
        events.iter().map(|e| e.seq).collect()
    }

    #[wasm_bindgen_test]
    fn passes_back_the_returned_cursor_and_lets_each_event_through_once() {
        let mut c = WatchCursor::new(7);
        assert_eq!(c.get(), 7);
        assert_eq!(seqs(&c.accept(answer(9, &[8, 9]))), [8, 9]);
        assert_eq!(c.get(), 9);
        // A timeout: no events, the cursor unchanged.
        assert!(c.accept(answer(9, &[])).is_empty());
        assert_eq!(c.get(), 9);
        // A repeated answer (e.g. after a reconnect) shows nothing twice.
        assert_eq!(seqs(&c.accept(answer(10, &[8, 9, 10]))), [10]);
        assert_eq!(c.get(), 10);
    }

    #[wasm_bindgen_test]
    fn never_goes_backwards() {
        let mut c = WatchCursor::new(20);
        assert!(c.accept(answer(3, &[2, 3])).is_empty());
        assert_eq!(c.get(), 20);
        assert_eq!(seqs(&c.accept(answer(22, &[22, 21, 21]))), [21, 22]);
    }
}
