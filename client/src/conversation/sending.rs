//! A conversation's outbox at work: what the reader typed goes out one
//! message at a time, oldest first, so messages arrive in the order they
//! were typed. A failure holds the rest back; a transient one (budget spent,
//! server unreachable) is retried by itself, and everything that failed goes
//! again when the browser or the live connection comes back. The outbox is
//! kept in the browser across reloads.

use std::time::Duration;

use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos::task::spawn_local;
use mochat_api::client_id::new_client_id;
use mochat_api::{ErrorCode, Message};

use super::Source;
use crate::api::Api;
use crate::app::AppState;
use crate::backoff::{Backoff, is_transient};
use crate::browser;
use crate::conn::Conn;
use crate::outbox::{Delivery, Outbox};

/// The longest a transient failure other than a 429 waits (ms).
const RETRY_MAX_MS: u32 = 5_000;

/// The outbox of one conversation and its sender.
#[derive(Clone, Copy)]
pub struct Sending {
    pub outbox: RwSignal<Outbox>,
    /// Whether the sender is running.
    busy: StoredValue<bool>,
    /// Whether the conversation is still shown.
    alive: StoredValue<bool>,
    source: StoredValue<Source>,
    api: Api,
    state: AppState,
}

impl Sending {
    /// The outbox of `source` as it was left (kept on every change).
    pub fn new(source: Source, api: Api, state: AppState, alive: StoredValue<bool>) -> Self {
        let key = source.storage_key(api);
        let outbox = RwSignal::new(Outbox::from_json(browser::load(&key).as_deref()));
        Effect::new(move |_| {
            let o = outbox.get();
            browser::store(&key, (!o.is_empty()).then(|| o.to_json()).as_deref());
        });
        Self {
            outbox,
            busy: StoredValue::new(false),
            alive,
            source: StoredValue::new(source),
            api,
            state,
        }
    }

    fn is_alive(self) -> bool {
        self.alive.try_get_value().unwrap_or(false)
    }

    /// Puts `content` in the outbox (not sent yet: see [`Self::pump`]);
    /// whether it went in.
    pub fn queue(self, content: String) -> bool {
        let id = new_client_id(browser::now_ms(), browser::random());
        self.outbox.try_update(|o| o.push(id, content)).is_some()
    }

    /// A message arrived: an outgoing one it is leaves the outbox.
    pub fn reconcile(self, m: &Message) {
        self.outbox.try_update(|o| {
            o.reconcile(m);
        });
    }

    /// Sends what is pending, in order, handing each sent message to
    /// `arrive`; does nothing while already sending.
    pub fn pump(self, arrive: impl Fn(Message) + Copy + 'static) {
        if self.busy.try_get_value() != Some(false) {
            return;
        }
        self.busy.set_value(true);
        let source = self.source.get_value();
        spawn_local(async move {
            let mut backoff = Backoff::default();
            while let Some(item) = self
                .outbox
                .try_with_untracked(Outbox::next_pending)
                .flatten()
            {
                match source.send(self.api, &item).await {
                    Ok(m) => {
                        backoff.reset();
                        self.outbox.try_update(|o| o.acknowledge(&item.client_id));
                        arrive(m);
                    }
                    Err(e) => {
                        self.outbox
                            .try_update(|o| o.fail_from(&item.client_id, e.message.clone()));
                        if !is_transient(&e) || !self.is_alive() {
                            break;
                        }
                        let retry_after = self
                            .state
                            .rate
                            .try_get_untracked()
                            .flatten()
                            .and_then(|r| r.retry_after);
                        let delay = backoff.delay_after(&e, retry_after, browser::random());
                        let delay = if e.code == ErrorCode::RateLimited {
                            delay
                        } else {
                            delay.min(RETRY_MAX_MS)
                        };
                        sleep(Duration::from_millis(u64::from(delay))).await;
                        if !self.is_alive() {
                            break;
                        }
                        self.outbox.try_update(|o| {
                            o.retry_all();
                        });
                    }
                }
            }
            self.busy.try_set_value(false);
        });
    }

    /// Everything that failed goes again, in order.
    pub fn retry_failed(self, arrive: impl Fn(Message) + Copy + 'static) {
        self.outbox.try_update(|o| {
            o.retry_all();
        });
        self.pump(arrive);
    }

    /// Coming back online, or the live connection coming back: what failed
    /// goes again (for as long as the conversation is shown).
    pub fn retry_when_back(self, arrive: impl Fn(Message) + Copy + 'static) {
        let online = window_event_listener(leptos::ev::online, move |_| {
            self.retry_failed(arrive);
        });
        on_cleanup(move || online.remove());
        let conn = self.state.conn;
        Effect::new(move |was_live: Option<bool>| {
            let live = conn.get() == Conn::Live;
            if live && was_live == Some(false) && self.outbox.with_untracked(Outbox::has_failed) {
                self.retry_failed(arrive);
            }
            live
        });
    }
}

/// The messages on their way, each with its state; a failed one offers to
/// try again (all that failed go again, so the order holds).
#[component]
pub fn OutboxList(
    outbox: RwSignal<Outbox>,
    on_retry: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <ul class="outbox" aria-label="Messages being sent">
            <For
                each=move || outbox.get().items().to_vec()
                key=|i| (i.client_id.clone(), i.delivery.clone())
                children=move |i| {
                    view! {
                        <li class="pending" data-testid="outgoing" data-state=match &i.delivery {
                            Delivery::Pending => "pending",
                            Delivery::Failed(_) => "failed",
                        }>
                            <p class="msg-text">{i.content.clone()}</p>
                            {match i.delivery.clone() {
                                Delivery::Pending => view! { <span class="muted small">"Sending…"</span> }.into_any(),
                                Delivery::Failed(why) => view! {
                                    <span class="error small">{format!("Not sent: {why}")}</span>
                                    <button class="link" on:click=move |_| on_retry()>"Retry"</button>
                                }.into_any(),
                            }}
                        </li>
                    }
                }
            />
        </ul>
    }
}
