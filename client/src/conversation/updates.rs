//! A conversation's live updates, by where it is shown: in the dashboard,
//! its session rides the dashboard's one long poll ([`Live`]); in the
//! widget, a long poll of its own session; a panel, which has no watch, is
//! refreshed every few seconds while the budget allows.

use std::time::Duration;

use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos::task::spawn_local;
use mochat_api::edge::CURSOR_NOW;
use mochat_api::limits::PAGE_MAX;
use mochat_api::requests::WatchQuery;
use mochat_api::{ErrorCode, Event, Message};
use send_wrapper::SendWrapper;
use web_sys::{AbortController, AbortSignal};

use super::Source;
use super::history::History;
use crate::api::{self, Api, ApiResult};
use crate::app::AppState;
use crate::backoff::Backoff;
use crate::browser;
use crate::conn::Conn;
use crate::live::Live;
use crate::watch_cursor::WatchCursor;

/// How long one long poll waits for news (ms).
const WATCH_TIMEOUT_MS: u64 = 25_000;
/// How often a panel is refreshed.
const PANEL_REFRESH: Duration = Duration::from_secs(10);
/// Most pages one refresh of a panel reads to catch up.
const CATCH_UP_PAGES: usize = 10;

/// What the updates of a shown conversation work with.
#[derive(Clone, Copy)]
pub struct Shown {
    pub api: Api,
    pub state: AppState,
    /// Whether the conversation is still shown.
    pub alive: StoredValue<bool>,
}

impl Shown {
    fn is_alive(self) -> bool {
        self.alive.try_get_value().unwrap_or(false)
    }
}

/// Hands `source`'s new messages to `arrive` and its other events (session
/// updates, participants) to `on_other`, from `watch_from` (sessions;
/// absent: from now), for as long as the conversation is shown.
pub fn follow(
    source: &Source,
    watch_from: Option<u64>,
    shown: Shown,
    history: History,
    arrive: impl Fn(Message) + Copy + 'static,
    on_other: Option<Callback<Event>>,
) {
    let from = watch_from.unwrap_or(CURSOR_NOW);
    let on_event = move |ev: Event| {
        if let Some(m) = ev.message() {
            arrive(m);
        } else if let Some(cb) = on_other {
            cb.run(ev);
        }
    };
    match (source, use_context::<Live>()) {
        (Source::Session(id), Some(live)) => {
            live.follow(id, from, on_event);
            let id = id.clone();
            on_cleanup(move || live.unfollow(&id));
        }
        (Source::Session(id), None) => {
            let Ok(controller) = AbortController::new() else {
                return;
            };
            let watch = Watch {
                session_id: id.clone(),
                shown,
            };
            spawn_local(watch.run(from, controller.signal(), on_event));
            let controller = SendWrapper::new(controller);
            on_cleanup(move || controller.abort());
        }
        (Source::Panel(_), _) => {
            spawn_local(refresh_panel(source.clone(), shown, history, arrive));
        }
    }
}

/// The widget's long poll of its own session.
struct Watch {
    session_id: String,
    shown: Shown,
}

impl Watch {
    /// Always passes back the returned cursor, backs off with jitter on
    /// errors, waits out `Retry-After` on a 429, pauses while the tab is
    /// hidden or the browser offline, and stops when aborted.
    async fn run(self, from: u64, signal: AbortSignal, on_event: impl Fn(Event) + 'static) {
        let state = self.shown.state;
        let mut backoff = Backoff::default();
        let mut cursor = WatchCursor::new(from);
        while self.shown.is_alive() {
            if !browser::is_visible() || !browser::is_online() {
                if !browser::is_online() {
                    state.conn.set(Conn::Offline);
                }
                sleep(Duration::from_millis(500)).await;
                continue;
            }
            let query = WatchQuery {
                timeout_ms: Some(WATCH_TIMEOUT_MS),
                limit: None,
                cursor: Some(cursor.get()),
            };
            match self
                .shown
                .api
                .watch(self.session_id.clone(), query, &signal)
                .await
            {
                Ok(w) => {
                    backoff.reset();
                    state.conn.set(Conn::Live);
                    for ev in cursor.accept(w) {
                        on_event(ev);
                    }
                }
                Err(e) if api::is_aborted(&e) => break,
                Err(e) if e.code == ErrorCode::Unauthorized => {
                    state.signed_out.update(|n| *n += 1);
                    break;
                }
                Err(e) if matches!(e.code, ErrorCode::NotFound | ErrorCode::Forbidden) => break,
                Err(e) => {
                    state.conn.set(Conn::Reconnecting);
                    let retry_after = state.rate.get_untracked().and_then(|r| r.retry_after);
                    let delay = backoff.delay_after(&e, retry_after, browser::random());
                    sleep(Duration::from_millis(u64::from(delay))).await;
                }
            }
        }
    }
}

/// A panel's new messages, again every [`PANEL_REFRESH`] while the tab is
/// shown, the browser online and the budget not low. However many were
/// posted meanwhile, none is skipped: it pages back until it reaches a
/// message already shown (see [`catch_up`]).
async fn refresh_panel(
    source: Source,
    shown: Shown,
    history: History,
    arrive: impl Fn(Message) + 'static,
) {
    loop {
        sleep(PANEL_REFRESH).await;
        if !shown.is_alive() {
            break;
        }
        let low = shown
            .state
            .rate
            .try_get_untracked()
            .flatten()
            .is_some_and(|r| crate::rate::is_low(&r));
        if !browser::is_visible() || !browser::is_online() || low {
            continue;
        }
        if let Ok(pages) = catch_up(&source, shown.api, |id| history.shows(id)).await {
            for m in pages.into_iter().rev().flatten() {
                arrive(m);
            }
        }
    }
}

/// The pages since the newest message shown, newest page first (each page
/// oldest first): the newest page, then older ones until one holds a message
/// `shown` knows, or the start. At most [`CATCH_UP_PAGES`] pages a round;
/// the rest comes next round, from its own newest page back (the messages
/// between are then fetched again, and shown once).
async fn catch_up(
    source: &Source,
    api: Api,
    shown: impl Fn(&str) -> bool,
) -> ApiResult<Vec<Vec<Message>>> {
    let mut pages = Vec::new();
    let mut before = None;
    for _ in 0..CATCH_UP_PAGES {
        let page = source.page_of(api, before, PAGE_MAX).await?;
        let reached = page.messages.iter().any(|m| shown(&m.message_id));
        let older = page.cursor.clone().filter(|_| page.has_more && !reached);
        pages.push(page.messages);
        match older {
            Some(cursor) => before = Some(cursor),
            None => break,
        }
    }
    Ok(pages)
}
