//! Ending operator sessions before their cookies expire. Each sign-in's
//! cookie names a random session id; signing out revokes that id (until the
//! cookie would have expired anyway), and "sign out everywhere" sets a time
//! before which no session counts. So a stolen cookie dies with a sign-out,
//! and rotating `SESSION_SECRET` (which also cuts off every widget visitor)
//! is no longer the only remedy.
//!
//! Kept in the one [`SessionRegistry`] Durable Object. Each isolate keeps
//! what it last read for [`CACHE_MS`] and learns its own revocations at once,
//! so a revocation made elsewhere takes effect everywhere within that time.

use std::collections::BTreeMap;

use mochat_api::edge::SESSION_TTL_SECS;
use serde::{Deserialize, Serialize};
use worker::{DurableObject, Env, Method, Request, Response, Result, State};
use worker::{Storage, durable_object};

use crate::config::{SESSION_INSTANCE, SESSION_REGISTRY};
use crate::durable::Object;

/// How long an isolate trusts what it read of the registry.
pub const CACHE_MS: u64 = 10_000;

/// Which sessions no longer count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revocations {
    /// Sessions that began at or before this time (Unix seconds) have ended.
    pub not_before: u64,
    /// Revoked session ids, each with when its cookie expires (then it is forgotten).
    pub revoked: BTreeMap<String, u64>,
}

impl Revocations {
    /// Whether the session `id` whose cookie expires at `expires` has ended.
    pub fn has_ended(&self, id: &str, expires: u64) -> bool {
        let began = expires.saturating_sub(SESSION_TTL_SECS);
        began <= self.not_before || self.revoked.contains_key(id)
    }

    /// Revokes session `id` until `expires`; forgets what expired by `now`.
    pub fn revoke(&mut self, id: &str, expires: u64, now: u64) {
        self.revoked.retain(|_, until| *until > now);
        self.revoked.insert(id.to_owned(), expires);
    }

    /// Ends every session that began by `now`.
    pub fn everywhere(&mut self, now: u64) {
        self.not_before = self.not_before.max(now);
        self.revoked.retain(|_, until| *until > now);
    }
}

/// What a caller asks the registry to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    /// End one session.
    Revoke { id: String, expires: u64 },
    /// End every session that began by now.
    Everywhere,
}

thread_local! {
    /// This isolate's copy of the registry and when it was read (Unix ms).
    static CACHED: std::cell::RefCell<Option<(u64, Revocations)>> =
        const { std::cell::RefCell::new(None) };
}

fn registry(env: &Env) -> Result<Object> {
    Object::named(env, SESSION_REGISTRY, SESSION_INSTANCE)
}

/// The revocations, from this isolate's copy when it is fresh.
pub async fn current(env: &Env, now_ms: u64) -> Result<Revocations> {
    let fresh = CACHED.with_borrow(|c| {
        c.as_ref()
            .filter(|(at, _)| now_ms.saturating_sub(*at) < CACHE_MS)
            .map(|(_, r)| r.clone())
    });
    if let Some(r) = fresh {
        return Ok(r);
    }
    let read: Revocations = registry(env)?.get("/revocations").await?;
    CACHED.set(Some((now_ms, read.clone())));
    Ok(read)
}

/// Applies a change, and keeps the registry's answer as this isolate's copy.
pub async fn change(env: &Env, change: &Change, now_ms: u64) -> Result<()> {
    let read: Revocations = registry(env)?
        .call(Method::Post, "/revocations", Some(change))
        .await?;
    CACHED.set(Some((now_ms, read)));
    Ok(())
}

/// The registry. Internal routes (only through the binding): `GET
/// /revocations`, and `POST /revocations` with a [`Change`]; both answer
/// the [`Revocations`] as they now are.
#[durable_object]
pub struct SessionRegistry {
    storage: Storage,
}

const KEY: &str = "revocations";

impl DurableObject for SessionRegistry {
    fn new(state: State, _env: Env) -> Self {
        Self {
            storage: state.storage(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let mut revocations: Revocations = self.storage.get(KEY).await?.unwrap_or_default();
        if req.method() == Method::Post {
            let change: Change = req.json().await?;
            let now = crate::guard::now_secs();
            match change {
                Change::Revoke { id, expires } => revocations.revoke(&id, expires, now),
                Change::Everywhere => revocations.everywhere(now),
            }
            self.storage.put(KEY, &revocations).await?;
        }
        Response::from_json(&revocations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_revoked_session_has_ended_and_others_have_not() {
        let mut r = Revocations::default();
        let expires = NOW + SESSION_TTL_SECS;
        assert!(!r.has_ended("a1", expires));
        r.revoke("a1", expires, NOW);
        assert!(r.has_ended("a1", expires));
        assert!(!r.has_ended("b2", expires), "another sign-in");
    }

    #[test]
    fn everywhere_ends_what_began_by_then_and_not_what_began_after() {
        let mut r = Revocations::default();
        r.everywhere(NOW);
        assert!(
            r.has_ended("a1", NOW + SESSION_TTL_SECS),
            "began at that second"
        );
        assert!(
            r.has_ended("a1", NOW - 5 + SESSION_TTL_SECS),
            "began before"
        );
        assert!(
            !r.has_ended("a1", NOW + 1 + SESSION_TTL_SECS),
            "signed in after"
        );
        r.everywhere(NOW - 100);
        assert_eq!(r.not_before, NOW, "never moves back");
    }

    #[test]
    fn expired_revocations_are_forgotten() {
        let mut r = Revocations::default();
        r.revoke("old", NOW + 10, NOW);
        r.revoke("new", NOW + SESSION_TTL_SECS, NOW + 20);
        assert_eq!(r.revoked.keys().collect::<Vec<_>>(), vec!["new"]);
    }
}
