//! The dashboard's live view of its agent: one `POST /edge/watch` long poll
//! (answered by the worker, at no cost to the agent's budget) for the
//! session list and every listed session. New sessions and new messages
//! appear without a reload; unread counts per session are kept (see
//! [`crate::unread`]); the open session's events go to its conversation.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos::task::spawn_local;
use mochat_api::edge::{CURSOR_NOW, EdgeWatchRequest, EdgeWatchResponse, WATCH_MAX_SESSIONS};
use mochat_api::limits::PAGE_MAX;
use mochat_api::requests::PageQuery;
use mochat_api::{ApiError, ErrorCode, Event, Message, Session};
use send_wrapper::SendWrapper;
use web_sys::AbortController;

use crate::alerts::{self, Mutes};
use crate::api::{self, Api, use_api};
use crate::app::AppState;
use crate::backoff::Backoff;
use crate::boot;
use crate::browser;
use crate::conn::Conn;
use crate::unread::Unread;

/// Characters of a message a desktop notification shows.
pub const NOTIFY_PREVIEW_CHARS: usize = 140;

/// Hears the open session's events.
type Listener = Rc<dyn Fn(Event)>;

/// The live state of the agent the dashboard acts as (a context).
#[derive(Clone, Copy)]
pub struct Live {
    /// The agent's sessions, newest activity first (`None` while loading).
    pub sessions: RwSignal<Option<Result<Vec<Session>, ApiError>>>,
    /// Where the next older page of the list starts (`None`: all loaded).
    pub older: RwSignal<Option<String>>,
    /// An older page is on its way.
    pub loading_older: RwSignal<bool>,
    /// Why the last older page did not load.
    pub older_error: RwSignal<Option<ApiError>>,
    /// Unread messages per session.
    pub unread: RwSignal<Unread>,
    /// Sessions that neither notify nor chime.
    pub muted: RwSignal<Mutes>,
    /// The open session.
    pub open: RwSignal<Option<String>>,
    /// The agent's user id (its own sends are never unread).
    agent: StoredValue<String>,
    /// Where each session's watch stands.
    cursors: StoredValue<BTreeMap<String, u64>>,
    /// The list feed's cursor (`None`: start it).
    list: StoredValue<Option<String>>,
    listener: StoredValue<Option<(String, Listener)>, LocalStorage>,
    /// How it calls the worker.
    api: Api,
}

/// Where `what` of the agent calls act as is kept (`localStorage`).
fn key(api: Api, what: &str) -> String {
    format!(
        "mochat.{what}.{}",
        api.agent().unwrap_or_else(|| "default".into())
    )
}

impl Live {
    /// The live state of `agent_id` (the agent calls act as), provided as
    /// context; its long poll runs until the owner goes away.
    pub fn provide(agent_id: String) -> Self {
        let state = expect_context::<AppState>();
        let api = use_api();
        let cursors: BTreeMap<String, u64> = browser::load(&key(api, "cursors"))
            .and_then(|t| crate::json::parse(&t).ok())
            .unwrap_or_default();
        let live = Self {
            sessions: RwSignal::new(None),
            older: RwSignal::new(None),
            loading_older: RwSignal::new(false),
            older_error: RwSignal::new(None),
            unread: RwSignal::new(Unread::from_json(
                browser::load(&key(api, "unread")).as_deref(),
            )),
            muted: RwSignal::new(Mutes::from_json(
                browser::load(&key(api, "muted")).as_deref(),
            )),
            open: RwSignal::new(None),
            agent: StoredValue::new(agent_id),
            cursors: StoredValue::new(cursors),
            list: StoredValue::new(None),
            listener: StoredValue::new_local(None),
            api,
        };
        provide_context(live);
        let unread_key = key(api, "unread");
        Effect::new(move |_| {
            live.unread
                .with(|u| browser::store(&unread_key, Some(&u.to_json())));
        });
        let muted_key = key(api, "muted");
        Effect::new(move |_| {
            live.muted
                .with(|m| browser::store(&muted_key, Some(&m.to_json())));
        });
        // The feed starts beside the list's first read and waits for it
        // before it asks for changes (see `run`).
        let (listed, list_shown) = oneshot::channel();
        spawn_local(async move {
            live.read_list().await;
            let _ = listed.send(());
        });
        let controller = AbortController::new().ok();
        if let Some(c) = &controller {
            spawn_local(run(live, c.signal(), state, list_shown));
        }
        let controller = SendWrapper::new(controller);
        on_cleanup(move || {
            if let Some(c) = controller.take() {
                c.abort();
            }
        });
        live
    }

    /// The agent's user id, once the dashboard knows it.
    pub fn set_agent(self, agent_id: String) {
        self.agent.set_value(agent_id);
    }

    /// Loads the first page of the list (again, after the feed lost its place).
    pub fn load_list(self) {
        spawn_local(self.read_list());
    }

    async fn read_list(self) {
        let page = self
            .api
            .list_sessions(PageQuery {
                limit: Some(boot::FIRST_PAGE),
                before: None,
            })
            .await;
        if let Ok(p) = &page {
            let _ = self
                .older
                .try_set(p.has_more.then(|| p.cursor.clone()).flatten());
        }
        let _ = self.sessions.try_set(Some(page.map(|p| p.sessions)));
    }

    /// Loads the next older page of the list (the API's `before` cursor), once
    /// at a time; its sessions join the list in their place.
    pub fn load_older(self) {
        let Some(before) = self.older.get_untracked() else {
            return;
        };
        if self.loading_older.get_untracked() {
            return;
        }
        self.loading_older.set(true);
        spawn_local(async move {
            let page = self
                .api
                .list_sessions(PageQuery {
                    limit: Some(PAGE_MAX),
                    before: Some(before),
                })
                .await;
            match page {
                Ok(p) => {
                    let _ = self.sessions.try_update(|list| {
                        if let Some(Ok(list)) = list {
                            merge(list, p.sessions);
                        }
                    });
                    let _ = self.older.try_set(p.has_more.then_some(p.cursor).flatten());
                    let _ = self.older_error.try_set(None);
                }
                Err(e) => {
                    let _ = self.older_error.try_set(Some(e));
                }
            }
            let _ = self.loading_older.try_set(false);
        });
    }

    /// The conversation of `session_id` is open from `cursor` (its detail's):
    /// its events go to `on_event`, and it is read.
    pub fn follow(self, session_id: &str, cursor: u64, on_event: impl Fn(Event) + 'static) {
        self.cursors.update_value(|c| {
            c.insert(session_id.to_owned(), cursor);
        });
        self.listener
            .set_value(Some((session_id.to_owned(), Rc::new(on_event))));
        self.open.set(Some(session_id.to_owned()));
        self.unread.update(|u| u.clear(session_id));
    }

    /// The conversation of `session_id` closed.
    pub fn unfollow(self, session_id: &str) {
        let ours = self
            .listener
            .try_with_value(|l| l.as_ref().is_some_and(|(id, _)| id == session_id))
            .unwrap_or(false);
        if ours {
            self.listener.set_value(None);
            let _ = self.open.try_set(None);
        }
    }

    /// A session the dashboard just changed (created, closed): into the list now.
    pub fn upsert(self, session: Session) {
        self.sessions.update(|list| {
            if let Some(Ok(list)) = list {
                merge(list, vec![session]);
            }
        });
    }

    /// What the next long poll asks for: every listed session (its cursor,
    /// or "from now" for one never watched) and the list.
    fn request(self) -> EdgeWatchRequest {
        let listed: Vec<String> = self.sessions.with_untracked(|s| match s {
            Some(Ok(list)) => list.iter().map(|s| s.session_id.clone()).collect(),
            _ => Vec::new(),
        });
        let open = self.open.get_untracked();
        let sessions = self.cursors.with_value(|cursors| {
            open.iter()
                .chain(listed.iter().filter(|id| Some(*id) != open.as_ref()))
                .take(WATCH_MAX_SESSIONS)
                .map(|id| (id.clone(), cursors.get(id).copied().unwrap_or(CURSOR_NOW)))
                .collect()
        });
        EdgeWatchRequest {
            sessions,
            list: self.list.get_value(),
            timeout: Some(25_000),
        }
    }

    /// Takes one answer: events (to the open conversation, or counted),
    /// the list's changes (merged; a session new to the list is watched from
    /// its start, so all its messages count).
    fn apply(self, answer: EdgeWatchResponse) {
        let open = self.open.get_untracked();
        let agent = self.agent.get_value();
        // What the list shows now: a changed session's newest message counts
        // only when it is newer than that (the first changes after a start
        // repeat what the list already showed).
        let known: BTreeMap<String, (Option<String>, f64)> =
            self.sessions.with_untracked(|s| match s {
                Some(Ok(list)) => list
                    .iter()
                    .map(|s| {
                        let last = s.last_message.as_ref().map(|m| m.message_id.clone());
                        (
                            s.session_id.clone(),
                            (last, browser::parse_time(&s.updated_at)),
                        )
                    })
                    .collect(),
                _ => BTreeMap::new(),
            });
        // Until the list is shown, a session it does not show is not new to
        // it: the list's load brings it, and it is watched from now.
        let list_shown = self.sessions.with_untracked(|s| matches!(s, Some(Ok(_))));
        let listener = self.listener.get_value();
        let mut unread = self.unread.get_untracked();
        let mut counted = false;
        // The newest message that counted, per session: what to tell of.
        let mut fresh: BTreeMap<String, Message> = BTreeMap::new();
        for (session_id, batch) in answer.sessions {
            if batch.error.is_some() {
                // Not the agent's (any more): stop watching it.
                self.cursors.update_value(|c| {
                    c.remove(&session_id);
                });
                continue;
            }
            self.cursors.update_value(|c| {
                let at = c.entry(session_id.clone()).or_insert(0);
                *at = if *at == CURSOR_NOW {
                    batch.cursor
                } else {
                    (*at).max(batch.cursor)
                };
            });
            let is_open = open.as_deref() == Some(session_id.as_str());
            for event in batch.events {
                if let Some(m) = event.message()
                    && unread.note(&session_id, &m, &agent, is_open)
                {
                    counted = true;
                    fresh.insert(session_id.clone(), m);
                }
                if is_open && let Some((_, hear)) = listener.as_ref() {
                    hear(event);
                }
            }
        }
        let mut changed = answer.list.changed;
        for s in &changed {
            match known.get(&s.session_id) {
                None if list_shown => self.cursors.update_value(|c| {
                    c.entry(s.session_id.clone()).or_insert(0);
                }),
                None => {}
                Some((shown, shown_at)) => {
                    let Some(m) = &s.last_message else { continue };
                    let newer = shown.as_deref() != Some(m.message_id.as_str())
                        && browser::parse_time(&m.created_at) > *shown_at;
                    let is_open = open.as_deref() == Some(s.session_id.as_str());
                    if newer && unread.note(&s.session_id, m, &agent, is_open) {
                        counted = true;
                        fresh.insert(s.session_id.clone(), m.clone());
                    }
                }
            }
        }
        if counted {
            self.unread.set(unread);
            self.tell(fresh);
        }
        self.list.set_value(Some(answer.list.cursor));
        if !changed.is_empty() {
            self.sessions.update(|list| {
                if let Some(Ok(list)) = list {
                    merge(list, std::mem::take(&mut changed));
                }
            });
        }
        let cursors = self.cursors.with_value(crate::json::to_text);
        browser::store(&key(self.api, "cursors"), cursors.as_deref());
    }
}

impl Live {
    /// Tells of the messages that just counted (one notification per
    /// session, one chime in all), leaving out muted sessions.
    fn tell(self, fresh: BTreeMap<String, Message>) {
        let fresh: Vec<(String, Message)> = self.muted.with_untracked(|m| {
            fresh
                .into_iter()
                .filter(|(id, _)| !m.is_muted(id))
                .collect()
        });
        let mut chimed = false;
        for (session_id, m) in fresh {
            let title = self.sessions.with_untracked(|s| match s {
                Some(Ok(list)) => list
                    .iter()
                    .find(|x| x.session_id == session_id)
                    .map(|x| x.title.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            });
            let who = crate::message::author_name(&m);
            let heading = if title.is_empty() {
                format!("{who} on MoChat")
            } else {
                format!("{who} in {title}")
            };
            let preview: String = m.content.chars().take(NOTIFY_PREVIEW_CHARS).collect();
            browser::notify(&heading, &preview);
            if !chimed && alerts::sound_on() {
                alerts::chime();
                chimed = true;
            }
        }
    }
}

/// Puts changed sessions into the list, newest activity first.
pub fn merge(list: &mut Vec<Session>, changed: Vec<Session>) {
    for s in changed {
        match list.iter_mut().find(|x| x.session_id == s.session_id) {
            Some(x) => *x = s,
            None => list.push(s),
        }
    }
    list.sort_by(|a, b| {
        browser::parse_time(&b.updated_at)
            .partial_cmp(&browser::parse_time(&a.updated_at))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// The long poll: passes back the cursors it got, backs off with jitter on
/// errors, waits out `Retry-After`, pauses while the tab is hidden or the
/// browser offline, starts the list again when the worker lost its place,
/// and stops when aborted. After the first answer (which starts the list's
/// feed) it waits for `list_shown`: the list's changes are told against the
/// list as shown, and the worker learned its first page as it answered it,
/// so those sessions come back as changes.
async fn run(
    live: Live,
    signal: web_sys::AbortSignal,
    state: AppState,
    list_shown: oneshot::Receiver<()>,
) {
    let mut list_shown = Some(list_shown);
    let mut backoff = Backoff::default();
    while !signal.aborted() {
        if !browser::is_visible() || !browser::is_online() {
            if !browser::is_online() {
                state.conn.set(Conn::Offline);
            }
            sleep(Duration::from_millis(500)).await;
            continue;
        }
        let request = live.request();
        match live.api.edge_watch(&request, &signal).await {
            Ok(answer) => {
                backoff.reset();
                state.conn.set(Conn::Live);
                live.apply(answer);
                if let Some(shown) = list_shown.take() {
                    let _ = shown.await;
                }
            }
            Err(e) if api::is_aborted(&e) => break,
            Err(e) if e.code == ErrorCode::Unauthorized => {
                state.signed_out.update(|n| *n += 1);
                break;
            }
            Err(e) if e.code == ErrorCode::BadRequest && request.list.is_some() => {
                // The worker lost the list's place (it restarted): start again.
                live.list.set_value(None);
                live.load_list();
            }
            Err(e) => {
                state.conn.set(Conn::Reconnecting);
                let retry_after = state.rate.get_untracked().and_then(|r| r.retry_after);
                let delay = backoff.delay_after(&e, retry_after, browser::random());
                sleep(Duration::from_millis(u64::from(delay))).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn session(id: &str, updated: &str) -> Session {
        serde_json::from_value(json!({
            "sessionId": id, "workspaceId": "w", "title": id, "participants": [],
            "status": "open", "createdBy": "a", "createdAt": updated, "updatedAt": updated
        }))
        .expect("a session")
    }

    #[wasm_bindgen_test]
    fn changes_merge_newest_first() {
        let mut list = vec![
            session("b", "2026-12-01T10:00:02.000Z"),
            session("a", "2026-12-01T10:00:01.000Z"),
        ];
        merge(
            &mut list,
            vec![
                session("a", "2026-12-01T10:00:09.000Z"),
                session("c", "2026-12-01T10:00:05.000Z"),
            ],
        );
        let ids: Vec<&str> = list.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(ids, ["a", "c", "b"]);
    }
}
