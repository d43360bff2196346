//! Messages typed but not yet acknowledged. Each carries a client id (also
//! sent in `meta.clientId`), survives a reload in `localStorage`, and is sent
//! again when the connection returns; one the timeline already holds (same
//! client id) is dropped instead of being posted twice. They are sent one at
//! a time, oldest first ([`Outbox::next_pending`]), so they arrive in order.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use mochat_api::{Message, client_id};

/// Where an outgoing message is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Delivery {
    /// Being sent.
    Pending,
    /// The last attempt failed with this message.
    Failed(String),
}

/// One outgoing message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub client_id: String,
    pub content: String,
    pub delivery: Delivery,
}

impl Outgoing {
    /// The `meta` sent with this message: `{"clientId": …}`.
    pub fn meta(&self) -> Map<String, Value> {
        client_id::meta_with(&self.client_id)
    }
}

/// The outgoing messages of one conversation, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    items: Vec<Outgoing>,
}

impl Outbox {
    /// Reads an outbox saved by [`Outbox::to_json`]; anything unreadable is empty.
    pub fn from_json(json: Option<&str>) -> Self {
        json.and_then(|j| crate::json::parse(j).ok())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        crate::json::to_text(self).unwrap_or_default()
    }

    pub fn items(&self) -> &[Outgoing] {
        &self.items
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Queues `content` under a new client id; returns it.
    pub fn push(&mut self, client_id: String, content: String) -> Outgoing {
        let item = Outgoing {
            client_id,
            content,
            delivery: Delivery::Pending,
        };
        self.items.push(item.clone());
        item
    }

    /// The message was stored upstream: it leaves the outbox.
    pub fn acknowledge(&mut self, client_id: &str) {
        self.items.retain(|i| i.client_id != client_id);
    }

    /// The attempt for `client_id` failed: it and every item after it wait
    /// (failed) until they are retried together, so the order holds.
    pub fn fail_from(&mut self, client_id: &str, reason: String) {
        let Some(at) = self.items.iter().position(|i| i.client_id == client_id) else {
            return;
        };
        for i in &mut self.items[at..] {
            i.delivery = Delivery::Failed(reason.clone());
        }
    }

    /// The oldest item waiting to be sent, if any (only once every older one
    /// is acknowledged or pending: a failed item holds back the ones after it).
    pub fn next_pending(&self) -> Option<Outgoing> {
        self.items
            .iter()
            .take_while(|i| i.delivery == Delivery::Pending)
            .next()
            .cloned()
    }

    /// Whether any item failed.
    pub fn has_failed(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i.delivery, Delivery::Failed(_)))
    }

    /// Marks every failed item pending again and returns all items to send, in order.
    pub fn retry_all(&mut self) -> Vec<Outgoing> {
        for i in &mut self.items {
            i.delivery = Delivery::Pending;
        }
        self.items.clone()
    }

    /// Drops items whose message already arrived (e.g. the answer was lost but
    /// the watch delivered it); returns whether anything changed.
    pub fn reconcile(&mut self, arrived: &Message) -> bool {
        match client_id::of_message(arrived) {
            Some(id) => {
                let before = self.items.len();
                self.acknowledge(id);
                before != self.items.len()
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn survives_a_reload_and_retries_in_order() {
        let mut outbox = Outbox::default();
        outbox.push("c1".into(), "one".into());
        outbox.push("c2".into(), "two".into());
        outbox.fail_from("c1", "offline".into());
        let saved = outbox.to_json();
        let mut again = Outbox::from_json(Some(&saved));
        assert_eq!(again, outbox);
        assert_eq!(
            again.items()[0].delivery,
            Delivery::Failed("offline".into())
        );
        let resend: Vec<_> = again.retry_all().into_iter().map(|o| o.content).collect();
        assert_eq!(resend, ["one", "two"]);
        again.acknowledge("c1");
        assert_eq!(again.items().len(), 1);
        assert_eq!(Outbox::from_json(Some("not json")), Outbox::default());
    }

    #[wasm_bindgen_test]
    fn sends_one_at_a_time_oldest_first() {
        let mut outbox = Outbox::default();
        for (id, text) in [("c1", "one"), ("c2", "two"), ("c3", "three")] {
            outbox.push(id.into(), text.into());
        }
        assert_eq!(outbox.next_pending().map(|i| i.content), Some("one".into()));
        outbox.acknowledge("c1");
        outbox.fail_from("c2", "offline".into());
        assert!(outbox.has_failed());
        assert_eq!(
            outbox.next_pending(),
            None,
            "a failed item holds the rest back"
        );
        assert!(
            outbox
                .items()
                .iter()
                .all(|i| i.delivery != Delivery::Pending)
        );
        outbox.retry_all();
        assert_eq!(outbox.next_pending().map(|i| i.content), Some("two".into()));
        outbox.acknowledge("c2");
        assert_eq!(
            outbox.next_pending().map(|i| i.content),
            Some("three".into())
        );
    }

    #[wasm_bindgen_test]
    fn a_message_that_arrived_is_not_sent_again() {
        let mut outbox = Outbox::default();
        let item = outbox.push("c9".into(), "hello".into());
        assert_eq!(item.meta()["clientId"], "c9");
        let mut arrived = crate::timeline::tests::msg("m1", "2026-01-01T00:00:00.000Z");
        arrived.meta = item.meta();
        assert!(outbox.reconcile(&arrived));
        assert!(outbox.is_empty());
        assert!(!outbox.reconcile(&arrived));
    }
}
