//! A retried send never posts twice. The dashboard's outbox sends each message
//! with `meta.clientId`; the worker keeps, per agent, the upstream's 201 answer
//! under `<kind>:<target id>:<clientId>` and answers a retry with it instead of
//! posting again.
//!
//! The pure [`Ledger`] is the state machine (reserve → store, or release) and
//! the bounded store (at most [`KEEP`] answers, none older than
//! [`MAX_AGE_MS`]). The agent's hub ([`crate::hub`]) holds it in memory and
//! mirrors its [`Write`]s into its storage; the hub runs one event at a
//! time and nothing awaits between reading the ledger and changing it, so
//! two racing retries cannot both be the first.

use std::collections::HashMap;

use mochat_api::Route;
use mochat_api::client_id;
use mochat_api::requests::PageQuery;

/// Answers kept per agent (the most recent ones).
pub const KEEP: usize = 1_000;
/// How long an answer is kept: a day.
pub const MAX_AGE_MS: u64 = 24 * 60 * 60 * 1000;
/// How long a reservation holds without being stored or released (a worker
/// that died mid-send must not block the key forever). Longer than any send
/// may take ([`crate::proxy::CALL_DEADLINE_MS`]).
pub const LEASE_MS: u64 = 60_000;
/// The ledger key of a request: only the two sends with a usable client id
/// have one. The kind keeps session and panel ids apart (ids are opaque).
pub fn request_key(route: &Route, body: Option<&[u8]>) -> Option<String> {
    let (kind, target) = match route {
        Route::SendSessionMessage { session_id } => ("session", session_id),
        Route::SendPanelMessage { panel_id } => ("panel", panel_id),
        _ => return None,
    };
    let id = client_id::of_body(body?)?;
    Some(format!("{kind}:{target}:{id}"))
}

/// The list call that reads back what a send route posted: its newest
/// `limit` messages.
pub fn list_route(send: &Route, limit: u32) -> Option<Route> {
    let query = PageQuery {
        limit: Some(limit),
        before: None,
    };
    match send {
        Route::SendSessionMessage { session_id } => Some(Route::ListSessionMessages {
            session_id: session_id.clone(),
            query,
        }),
        Route::SendPanelMessage { panel_id } => Some(Route::ListPanelMessages {
            panel_id: panel_id.clone(),
            query,
        }),
        _ => None,
    }
}

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A caller is sending it; `ticket` names that reservation.
    InFlight { ticket: u64 },
    /// The upstream's answer is stored.
    Done,
}

/// A key's slot and when it was reserved or stored (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub slot: Slot,
    pub at: u64,
}

/// What [`Ledger::begin`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begun {
    /// The answer is stored: return it.
    Stored,
    /// The caller holds the reservation: send, then store or release it.
    /// `lapsed`: it replaces a reservation whose holder never came back (a
    /// worker that died mid-send), so the message may already be upstream.
    Reserved { ticket: u64, lapsed: bool },
    /// Another caller holds it: ask again shortly.
    InFlight,
}

/// A storage write that mirrors a change of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Reserve {
        key: String,
        ticket: u64,
        at: u64,
    },
    /// Store the answer body (which the caller holds) under `key`.
    Store {
        key: String,
        at: u64,
    },
    Delete {
        key: String,
    },
}

/// The per-agent ledger of sends by key (bodies live in storage only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    entries: HashMap<String, Entry>,
    keep: usize,
    max_age_ms: u64,
    lease_ms: u64,
}

impl Default for Ledger {
    fn default() -> Self {
        Self::new(KEEP, MAX_AGE_MS, LEASE_MS)
    }
}

impl Ledger {
    pub fn new(keep: usize, max_age_ms: u64, lease_ms: u64) -> Self {
        Self {
            entries: HashMap::new(),
            keep,
            max_age_ms,
            lease_ms,
        }
    }

    /// A ledger holding entries read back from storage.
    pub fn restore(mut self, entries: impl IntoIterator<Item = (String, Entry)>) -> Self {
        self.entries.extend(entries);
        self
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The slot of `key`, if any (expired ones included until the next change).
    pub fn get(&self, key: &str) -> Option<Entry> {
        self.entries.get(key).copied()
    }

    fn expired(&self, entry: &Entry, now: u64) -> bool {
        let age = now.saturating_sub(entry.at);
        match entry.slot {
            Slot::Done => age >= self.max_age_ms,
            Slot::InFlight { .. } => age >= self.lease_ms,
        }
    }

    /// Drops answers older than the maximum age and reservations past their lease.
    fn expire(&mut self, now: u64, writes: &mut Vec<Write>) {
        let gone: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| self.expired(e, now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            self.entries.remove(&key);
            writes.push(Write::Delete { key });
        }
    }

    /// Asks for `key`: its stored answer, the reservation (first caller), or
    /// "in flight" (someone else holds it).
    pub fn begin(&mut self, key: &str, now: u64) -> (Begun, Vec<Write>) {
        let mut writes = Vec::new();
        // The previous reservation's ticket, so a new one always differs.
        let previous = match self.entries.get(key) {
            Some(Entry {
                slot: Slot::InFlight { ticket },
                ..
            }) => Some(*ticket),
            _ => None,
        };
        self.expire(now, &mut writes);
        match self.entries.get(key) {
            Some(Entry {
                slot: Slot::Done, ..
            }) => (Begun::Stored, writes),
            Some(Entry {
                slot: Slot::InFlight { .. },
                ..
            }) => (Begun::InFlight, writes),
            None => {
                let ticket = previous.map_or(now, |t| now.max(t.saturating_add(1)));
                self.entries.insert(
                    key.to_owned(),
                    Entry {
                        slot: Slot::InFlight { ticket },
                        at: now,
                    },
                );
                // A delete of this key (an expired lease) is superseded.
                writes.retain(|w| !matches!(w, Write::Delete { key: k } if k == key));
                writes.push(Write::Reserve {
                    key: key.to_owned(),
                    ticket,
                    at: now,
                });
                (
                    Begun::Reserved {
                        ticket,
                        lapsed: previous.is_some(),
                    },
                    writes,
                )
            }
        }
    }

    /// The send under `key` was answered 201: keep its answer (whoever held
    /// the reservation: the message is posted either way), then evict the
    /// oldest answers beyond the limit.
    pub fn finish(&mut self, key: &str, now: u64) -> Vec<Write> {
        let mut writes = Vec::new();
        self.expire(now, &mut writes);
        writes.retain(|w| !matches!(w, Write::Delete { key: k } if k == key));
        self.entries.insert(
            key.to_owned(),
            Entry {
                slot: Slot::Done,
                at: now,
            },
        );
        writes.push(Write::Store {
            key: key.to_owned(),
            at: now,
        });
        // The new answer counts too and is never the one evicted.
        let stored = self
            .entries
            .values()
            .filter(|e| e.slot == Slot::Done)
            .count();
        let excess = stored.saturating_sub(self.keep.max(1));
        if excess == 0 {
            return writes;
        }
        // Full (a busy agent's usual state): only the oldest are copied out.
        let mut done: Vec<(u64, &String)> = self
            .entries
            .iter()
            .filter(|(k, e)| e.slot == Slot::Done && k.as_str() != key)
            .map(|(k, e)| (e.at, k))
            .collect();
        let excess = excess.min(done.len());
        if excess == 0 {
            return writes;
        }
        done.select_nth_unstable(excess - 1);
        let oldest: Vec<String> = done[..excess].iter().map(|(_, k)| (*k).clone()).collect();
        for old in oldest {
            self.entries.remove(&old);
            writes.push(Write::Delete { key: old });
        }
        writes
    }

    /// The send under `key` failed: release the reservation named `ticket`
    /// so a later retry can post. A stored answer or a newer reservation stays.
    pub fn abort(&mut self, key: &str, ticket: u64, now: u64) -> Vec<Write> {
        let mut writes = Vec::new();
        let held = matches!(
            self.entries.get(key),
            Some(Entry { slot: Slot::InFlight { ticket: t }, .. }) if *t == ticket
        );
        if held {
            self.entries.remove(key);
            writes.push(Write::Delete {
                key: key.to_owned(),
            });
        }
        self.expire(now, &mut writes);
        writes
    }

    /// Forgets `key` (its stored body went missing).
    pub fn forget(&mut self, key: &str) -> Vec<Write> {
        match self.entries.remove(key) {
            Some(_) => vec![Write::Delete {
                key: key.to_owned(),
            }],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 60 * 60 * 1000;

    fn send(sid: &str) -> Route {
        Route::SendSessionMessage {
            session_id: sid.into(),
        }
    }

    #[test]
    fn client_ids_and_keys() {
        let body = br#"{"content":"hi","meta":{"clientId":"c1"}}"#;
        assert_eq!(
            request_key(&send("session_1"), Some(body)).as_deref(),
            Some("session:session_1:c1")
        );
        assert_eq!(
            request_key(
                &Route::SendPanelMessage {
                    panel_id: "panel_1".into()
                },
                Some(body)
            )
            .as_deref(),
            Some("panel:panel_1:c1")
        );
        // Not a send, no body, or no usable client id: no key (forwarded as usual).
        assert_eq!(
            request_key(
                &Route::ListSessionMessages {
                    session_id: "s".into(),
                    query: PageQuery::default(),
                },
                Some(body)
            ),
            None
        );
        assert_eq!(request_key(&send("s"), None), None);
        for other in [
            &b"not json"[..],
            br#"{"content":"hi"}"#,
            br#"{"content":"hi","meta":null}"#,
            br#"{"content":"hi","meta":{"clientId":7}}"#,
            br#"{"content":"hi","meta":{"clientId":""}}"#,
            br#"{"content":"hi","meta":{"clientId":"a b"}}"#,
            br#"{"content":"hi","meta":"clientId"}"#,
            br#"[1,2]"#,
            b"",
        ] {
            assert_eq!(
                request_key(&send("s"), Some(other)),
                None,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }

    #[test]
    fn first_caller_reserves_others_wait_then_get_the_answer() {
        let mut l = Ledger::default();
        let (first, writes) = l.begin("k", 1_000);
        assert_eq!(
            first,
            Begun::Reserved {
                ticket: 1_000,
                lapsed: false
            }
        );
        assert_eq!(
            writes,
            vec![Write::Reserve {
                key: "k".into(),
                ticket: 1_000,
                at: 1_000
            }]
        );
        // A racing retry: in flight, and nothing written.
        assert_eq!(l.begin("k", 1_001), (Begun::InFlight, vec![]));
        // Another key is independent.
        assert!(matches!(l.begin("k2", 1_001).0, Begun::Reserved { .. }));
        assert_eq!(
            l.finish("k", 1_500),
            vec![Write::Store {
                key: "k".into(),
                at: 1_500
            }]
        );
        assert_eq!(l.begin("k", 1_600), (Begun::Stored, vec![]));
        // A late abort of the finished reservation changes nothing.
        assert_eq!(l.abort("k", 1_000, 1_700), vec![]);
        assert_eq!(l.begin("k", 1_800).0, Begun::Stored);
    }

    #[test]
    fn an_abort_releases_only_its_own_reservation() {
        let mut l = Ledger::default();
        let Begun::Reserved { ticket, .. } = l.begin("k", 10).0 else {
            panic!("reserved")
        };
        assert_eq!(l.abort("k", ticket + 1, 20), vec![], "not its ticket");
        assert_eq!(l.begin("k", 30).0, Begun::InFlight);
        assert_eq!(
            l.abort("k", ticket, 40),
            vec![Write::Delete { key: "k".into() }]
        );
        assert!(l.is_empty());
        // A later retry posts; the released reservation did not lapse.
        assert!(matches!(
            l.begin("k", 50).0,
            Begun::Reserved { lapsed: false, .. }
        ));
    }

    #[test]
    fn a_send_is_read_back_from_its_conversation() {
        let send = Route::SendSessionMessage {
            session_id: "s1".into(),
        };
        assert_eq!(
            list_route(&send, 5),
            Some(Route::ListSessionMessages {
                session_id: "s1".into(),
                query: PageQuery {
                    limit: Some(5),
                    before: None,
                },
            })
        );
        let list = Route::ListSessions {
            query: PageQuery::default(),
        };
        assert_eq!(list_route(&list, 5), None);
    }

    #[test]
    fn a_lost_reservation_expires_after_its_lease() {
        let mut l = Ledger::new(KEEP, MAX_AGE_MS, 60_000);
        let (Begun::Reserved { ticket: first, .. }, _) = l.begin("k", 100_000) else {
            panic!("reserved")
        };
        assert_eq!(l.begin("k", 159_999).0, Begun::InFlight);
        let (again, writes) = l.begin("k", 160_000);
        let Begun::Reserved {
            ticket: second,
            lapsed,
        } = again
        else {
            panic!("a new reservation after the lease")
        };
        assert!(
            lapsed,
            "the holder never came back: the send may be upstream"
        );
        assert_ne!(first, second);
        assert_eq!(
            writes,
            vec![Write::Reserve {
                key: "k".into(),
                ticket: second,
                at: 160_000
            }],
            "no delete of the key it reserves again"
        );
        // The first holder's late abort does not release the new reservation.
        assert_eq!(l.abort("k", first, 160_001), vec![]);
        assert_eq!(l.begin("k", 160_002).0, Begun::InFlight);
        // Its late finish is kept all the same: the message was posted.
        l.finish("k", 160_003);
        assert_eq!(l.begin("k", 160_004).0, Begun::Stored);
        // Tickets differ even if the clock steps back.
        let mut l = Ledger::new(KEEP, MAX_AGE_MS, 10);
        let (Begun::Reserved { ticket: a, .. }, _) = l.begin("k", 1_000) else {
            panic!()
        };
        l.entries.get_mut("k").expect("entry").at = 0;
        let (Begun::Reserved { ticket: b, .. }, _) = l.begin("k", 500) else {
            panic!()
        };
        assert!(b > a, "{a} then {b}");
    }

    #[test]
    fn answers_are_kept_a_day() {
        let mut l = Ledger::default();
        l.begin("old", 0);
        l.finish("old", 0);
        l.begin("new", 10 * H);
        l.finish("new", 10 * H);
        assert_eq!(l.begin("old", 24 * H - 1).0, Begun::Stored);
        let (again, writes) = l.begin("old", 24 * H);
        assert!(
            matches!(again, Begun::Reserved { .. }),
            "a day later it posts again"
        );
        assert!(!writes.contains(&Write::Delete { key: "old".into() }));
        assert_eq!(l.get("new").map(|e| e.slot), Some(Slot::Done));
        // Expiry also happens on other keys' calls.
        let writes = l.finish("other", 34 * H);
        assert!(writes.contains(&Write::Delete { key: "new".into() }));
        assert!(l.get("new").is_none());
    }

    #[test]
    fn at_most_keep_answers_the_oldest_go_first() {
        let mut l = Ledger::new(3, MAX_AGE_MS, LEASE_MS);
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            let t = 1_000 + i as u64;
            l.begin(key, t);
            assert_eq!(l.finish(key, t).len(), 1, "no eviction below the limit");
        }
        // A reservation is not an answer and is not counted.
        l.begin("pending", 2_000);
        let writes = l.finish("d", 3_000);
        assert_eq!(
            writes,
            vec![
                Write::Store {
                    key: "d".into(),
                    at: 3_000
                },
                Write::Delete { key: "a".into() }
            ]
        );
        assert!(l.get("a").is_none());
        assert_eq!(l.len(), 4, "b, c, d and the reservation");
        // Re-finishing a kept key evicts nothing.
        assert_eq!(l.finish("c", 3_001).len(), 1);
        // Restored from storage with too many: trimmed on the next store.
        let over = (0..10).map(|i| {
            (
                format!("k{i}"),
                Entry {
                    slot: Slot::Done,
                    at: i,
                },
            )
        });
        let mut l = Ledger::new(3, MAX_AGE_MS, LEASE_MS).restore(over);
        let writes = l.finish("new", 100);
        assert_eq!(writes.len(), 1 + 8);
        let mut left: Vec<_> = l.entries.keys().cloned().collect();
        left.sort();
        assert_eq!(left, vec!["k8", "k9", "new"]);
    }
}
