//! One conversation, a session or a panel, put together from parts that
//! each read alone: its history ([`history`]: pages, scrolling), its live
//! updates ([`updates`]), its outbox at work ([`sending`]) and the composer
//! ([`composer`]). This file only wires them and lays them out.

mod composer;
mod history;
mod replies;
mod sending;
mod updates;

use leptos::prelude::*;
use mochat_api::limits::{CONTENT_MAX_CHARS, PAGE_DEFAULT};
use mochat_api::requests::{PageQuery, SendMessageRequest};
use mochat_api::{Event, Message, MessagePage};

pub use composer::Composer;

use crate::api::{Api, ApiResult, use_api};
use crate::app::AppState;
use crate::browser;
use crate::live::NOTIFY_PREVIEW_CHARS;
use crate::message::MessageList;
use crate::outbox::{Outbox, Outgoing};
use crate::widgets::ErrorNote;
use history::History;
use sending::{OutboxList, Sending};

/// What a conversation shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Session(String),
    Panel(String),
}

impl Source {
    /// Where its outbox is kept, per agent acted as.
    fn storage_key(&self, api: Api) -> String {
        let agent = api.agent().unwrap_or_else(|| "default".to_owned());
        match self {
            Self::Session(id) => format!("mochat.outbox.{agent}.session.{id}"),
            Self::Panel(id) => format!("mochat.outbox.{agent}.panel.{id}"),
        }
    }

    /// A page of its messages before `before` (absent: the newest).
    async fn page(&self, api: Api, before: Option<String>) -> ApiResult<MessagePage> {
        self.page_of(api, before, PAGE_DEFAULT).await
    }

    /// A page of up to `limit` of its messages before `before`.
    async fn page_of(
        &self,
        api: Api,
        before: Option<String>,
        limit: u32,
    ) -> ApiResult<MessagePage> {
        let query = PageQuery {
            limit: Some(limit),
            before,
        };
        match self {
            Self::Session(id) => api.session_messages(id.clone(), query).await,
            Self::Panel(id) => api.panel_messages(id.clone(), query).await,
        }
    }

    /// Sends one message of the outbox.
    async fn send(&self, api: Api, item: &Outgoing) -> ApiResult<Message> {
        let req = SendMessageRequest {
            content: item.content.clone(),
            meta: Some(item.meta()),
        };
        match self {
            Self::Session(id) => api.send_session_message(id.clone(), req).await,
            Self::Panel(id) => api.send_panel_message(id.clone(), req).await,
        }
    }
}

/// Back to the tab (or away from the conversation): the title's count of
/// messages that came while it was hidden starts again.
fn reset_when_seen(unseen: RwSignal<u32>) {
    let visible = window_event_listener_untyped("visibilitychange", move |_| {
        if browser::is_visible() {
            unseen.set(0);
        }
    });
    on_cleanup(move || {
        visible.remove();
        unseen.try_set(0);
    });
}

/// A conversation view. `watch_from` (sessions only) is where its events
/// start (the detail's cursor, or the widget visitor's); absent, from now.
/// `on_session_event` hears session updates and participant changes.
#[component]
pub fn Conversation(
    source: Source,
    #[prop(optional)] watch_from: Option<u64>,
    #[prop(into, optional)] closed: Signal<bool>,
    #[prop(optional)] on_session_event: Option<Callback<Event>>,
    #[prop(optional)] on_message: Option<Callback<Message>>,
    /// Hears the first page of history once it is shown.
    #[prop(optional)]
    on_first_page: Option<Callback<Vec<Message>>>,
    #[prop(default = None)] initial: Option<String>,
    /// Longest text the composer takes (a widget visitor's is shorter).
    #[prop(default = CONTENT_MAX_CHARS)]
    max_chars: usize,
    /// Whether the composer offers saved replies (the operator's do).
    #[prop(optional)]
    saved_replies: bool,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let api = use_api();
    let alive = StoredValue::new(true);
    on_cleanup(move || alive.set_value(false));
    let history = History::new(source.clone(), api);
    let sending = Sending::new(source.clone(), api, state, alive);
    // Messages that arrived here while the tab was hidden (the title badge).
    let unseen = state.unseen;

    // A message arrived from history, the live updates or a send.
    let arrive = move |m: Message| {
        let added = history.add(m.clone());
        sending.reconcile(&m);
        if added {
            if let Some(cb) = on_message {
                cb.run(m.clone());
            }
            if !browser::is_visible() {
                unseen.update(|n| *n += 1);
                let preview: String = m.content.chars().take(NOTIFY_PREVIEW_CHARS).collect();
                crate::alerts::alert(&format!("{} on MoChat", m.author_info.name), &preview);
            }
        }
    };

    // A first message typed before the conversation existed (the widget):
    // queued now, sent with the rest of the outbox after the first page.
    if let Some(content) = initial {
        sending.queue(content);
    }
    // First page, then anything left in the outbox from an earlier visit.
    history.load_first(move |t| {
        for m in t.messages() {
            sending.reconcile(m);
        }
        if let Some(cb) = on_first_page {
            cb.run(t.messages().to_vec());
        }
        sending.retry_failed(arrive);
    });
    let shown = updates::Shown { api, state, alive };
    updates::follow(
        &source,
        watch_from,
        shown,
        history,
        arrive,
        on_session_event,
    );
    sending.retry_when_back(arrive);
    reset_when_seen(unseen);

    let send = move |content: String| {
        if sending.queue(content) {
            history.follow_bottom();
            sending.pump(arrive);
        }
    };
    let messages = history.messages();
    let outbox = sending.outbox;
    let area = Memo::new(
        move |_| match messages.with(|m| m.as_ref().map(Vec::is_empty)) {
            None => Area::Loading,
            Some(true) if outbox.with(Outbox::is_empty) => Area::Empty,
            Some(_) => Area::Messages,
        },
    );

    view! {
        <div class="conversation">
            // Focusable, so the history scrolls by keyboard too (arrows, Page Up).
            <div class="messages" tabindex="0" node_ref=history.scroller on:scroll=move |_| history.scrolled()>
                <HistoryTop history=history />
                // Rebuilt only when what shows changes, not for each message
                // (the list adds those in place).
                {move || match area.get() {
                    Area::Loading => view! { <p class="muted center" data-testid="loading">"Loading messages…"</p> }.into_any(),
                    Area::Empty => {
                        view! { <p class="muted center" data-testid="empty">"No messages yet. Say hello!"</p> }.into_any()
                    }
                    Area::Messages => view! { <MessageList messages=messages /> }.into_any(),
                }}
                <OutboxList outbox=outbox on_retry=move || sending.retry_failed(arrive) />
            </div>
            <ErrorNote error=history.error />
            <Composer closed=closed on_send=send max_chars=max_chars saved_replies=saved_replies />
        </div>
    }
}

/// What the history area shows.
#[derive(Clone, Copy, PartialEq)]
enum Area {
    Loading,
    Empty,
    Messages,
}

/// Above the oldest message: an older page on its way, or the start of the
/// conversation reached.
#[component]
fn HistoryTop(history: History) -> impl IntoView {
    move || {
        if history.loading_older.get() {
            Some(view! { <p class="muted center" data-testid="loading-older">"Loading older messages…"</p> }.into_any())
        } else if history.timeline.with(Option::is_some) && !history.has_older() {
            Some(view! { <p class="muted center" data-testid="history-start">"This is the start of the conversation."</p> }.into_any())
        } else {
            None
        }
    }
}
