//! One conversation, a session or a panel: history paged upwards with the
//! reading position kept, live updates (a long-poll watch for sessions, a
//! budget-aware refresh for panels), and the composer with its outbox.

use std::time::Duration;

use gloo_timers::future::sleep;
use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;
use mochat_api::edge::CURSOR_NOW;
use mochat_api::limits::CONTENT_MAX_CHARS;
use mochat_api::requests::{PageQuery, SendMessageRequest, WatchQuery};
use mochat_api::{ApiError, ErrorCode, Event, Message, MessagePage};
use send_wrapper::SendWrapper;
use web_sys::AbortController;

use crate::api::{self, ApiResult};
use crate::app::AppState;
use crate::backoff::{Backoff, is_transient};
use crate::browser;
use crate::conn::Conn;
use crate::live::Live;
use crate::message::MessageList;
use crate::outbox::{Delivery, Outbox, Outgoing, new_client_id};
use crate::timeline::Timeline;
use crate::watch_cursor::WatchCursor;
use crate::widgets::ErrorNote;

/// What a conversation shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Session(String),
    Panel(String),
}

impl Source {
    fn storage_key(&self) -> String {
        let agent = api::agent().unwrap_or_else(|| "default".to_owned());
        match self {
            Self::Session(id) => format!("mochat.outbox.{agent}.session.{id}"),
            Self::Panel(id) => format!("mochat.outbox.{agent}.panel.{id}"),
        }
    }

    async fn page(&self, before: Option<String>) -> ApiResult<MessagePage> {
        let query = PageQuery {
            limit: Some(50),
            before,
        };
        match self {
            Self::Session(id) => api::session_messages(id.clone(), query).await,
            Self::Panel(id) => api::panel_messages(id.clone(), query).await,
        }
    }

    async fn send(&self, item: &Outgoing) -> ApiResult<Message> {
        let req = SendMessageRequest {
            content: item.content.clone(),
            meta: Some(item.meta()),
        };
        match self {
            Self::Session(id) => api::send_session_message(id.clone(), req).await,
            Self::Panel(id) => api::send_panel_message(id.clone(), req).await,
        }
    }
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
    #[prop(default = None)] initial: Option<String>,
    /// Longest text the composer takes (a widget visitor's is shorter).
    #[prop(default = CONTENT_MAX_CHARS)]
    max_chars: usize,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let timeline = RwSignal::new(None::<Timeline>);
    let error = RwSignal::new(None::<ApiError>);
    let loading_older = RwSignal::new(false);
    let outbox = RwSignal::new(Outbox::from_json(
        browser::load(&source.storage_key()).as_deref(),
    ));
    let scroller = NodeRef::<Div>::new();
    let alive = StoredValue::new(true);
    let stick_to_bottom = StoredValue::new(true);
    // Messages that arrived here while the tab was hidden (the title badge).
    let unseen = state.unseen;

    // Keep the outbox across reloads.
    let key = source.storage_key();
    Effect::new(move |_| {
        let o = outbox.get();
        browser::store(&key, (!o.is_empty()).then(|| o.to_json()).as_deref());
    });

    let scroll_to_bottom = move || {
        request_animation_frame(move || {
            if let Some(el) = scroller.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    };

    // A message arrived from history, the watch, a refresh or a send.
    let arrive = move |m: Message| {
        let mut added = false;
        timeline.update(|t| {
            if let Some(t) = t.as_mut() {
                added = t.push(m.clone());
            }
        });
        outbox.update(|o| {
            o.reconcile(&m);
        });
        if added {
            if let Some(cb) = on_message {
                cb.run(m.clone());
            }
            if !browser::is_visible() {
                unseen.update(|n| *n += 1);
                let preview: String = m.content.chars().take(140).collect();
                browser::notify(&format!("{} on MoChat", m.author_info.name), &preview);
            }
            if stick_to_bottom.get_value() {
                scroll_to_bottom();
            }
        }
    };

    // The outbox goes out one message at a time, oldest first, so messages
    // arrive in the order they were typed. A failure holds the rest back; a
    // transient one (budget spent, server unreachable) is retried by itself.
    let sending = StoredValue::new(false);
    let pump = {
        let source = source.clone();
        move || {
            if sending.try_get_value() != Some(false) {
                return;
            }
            sending.set_value(true);
            let source = source.clone();
            spawn_local(async move {
                let mut backoff = Backoff::default();
                while let Some(item) = outbox.try_with_untracked(Outbox::next_pending).flatten() {
                    match source.send(&item).await {
                        Ok(m) => {
                            backoff.reset();
                            outbox.try_update(|o| o.acknowledge(&item.client_id));
                            arrive(m);
                        }
                        Err(e) => {
                            outbox.try_update(|o| o.fail_from(&item.client_id, e.message.clone()));
                            if !is_transient(&e) || !alive.try_get_value().unwrap_or(false) {
                                break;
                            }
                            let retry_after =
                                state.rate.get_untracked().and_then(|r| r.retry_after);
                            let delay = backoff.delay_after(&e, retry_after, browser::random());
                            let delay = if e.code == ErrorCode::RateLimited {
                                delay
                            } else {
                                delay.min(5_000)
                            };
                            sleep(Duration::from_millis(u64::from(delay))).await;
                            if !alive.try_get_value().unwrap_or(false) {
                                break;
                            }
                            outbox.try_update(|o| {
                                o.retry_all();
                            });
                        }
                    }
                }
                sending.try_set_value(false);
            });
        }
    };
    // Everything that failed goes again, in order.
    let retry_failed = {
        let pump = pump.clone();
        move || {
            outbox.try_update(|o| {
                o.retry_all();
            });
            pump();
        }
    };

    // A first message typed before the conversation existed (the widget):
    // queued now, sent with the rest of the outbox after the first page.
    if let Some(content) = initial {
        let id = new_client_id(browser::now_ms(), browser::random());
        outbox.update(|o| {
            o.push(id, content);
        });
    }

    // First page, then anything left in the outbox from an earlier visit.
    {
        let source = source.clone();
        let retry_failed = retry_failed.clone();
        spawn_local(async move {
            match source.page(None).await {
                Ok(p) => {
                    let t = Timeline::from_page(p.messages, p.has_more, p.cursor);
                    outbox.update(|o| {
                        for m in t.messages() {
                            o.reconcile(m);
                        }
                    });
                    timeline.set(Some(t));
                    scroll_to_bottom();
                    retry_failed();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    }

    // Older pages when scrolled to the top, keeping the reading position.
    let load_older = {
        let source = source.clone();
        move || {
            let Some(cursor) =
                timeline.with_untracked(|t| t.as_ref().and_then(Timeline::older_cursor))
            else {
                return;
            };
            if loading_older.get_untracked() {
                return;
            }
            loading_older.set(true);
            let source = source.clone();
            spawn_local(async move {
                let result = source.page(Some(cursor)).await;
                let before = scroller
                    .get_untracked()
                    .map(|el| el.scroll_height() - el.scroll_top());
                match result {
                    Ok(p) => timeline.update(|t| {
                        if let Some(t) = t.as_mut() {
                            t.prepend_page(p.messages, p.has_more, p.cursor);
                        }
                    }),
                    Err(e) => error.set(Some(e)),
                }
                request_animation_frame(move || {
                    if let (Some(el), Some(before)) = (scroller.get_untracked(), before) {
                        el.set_scroll_top(el.scroll_height() - before);
                    }
                    loading_older.set(false);
                });
            });
        }
    };
    let on_scroll = {
        let load_older = load_older.clone();
        move |_| {
            if let Some(el) = scroller.get_untracked() {
                stick_to_bottom
                    .set_value(el.scroll_height() - el.scroll_top() - el.client_height() < 80);
                if el.scroll_top() < 120 {
                    load_older();
                }
            }
        }
    };

    // Live updates.
    let controller = AbortController::new().ok();
    let signal = controller.as_ref().map(|c| c.signal());
    let on_event = move |ev: Event| {
        if let Some(m) = ev.message() {
            arrive(m);
        } else if let Some(cb) = on_session_event {
            cb.run(ev);
        }
    };
    match (&source, use_context::<Live>()) {
        // The dashboard: its one long poll brings this session's events too.
        (Source::Session(id), Some(live)) => {
            live.follow(id, watch_from.unwrap_or(CURSOR_NOW), on_event);
            let id = id.clone();
            on_cleanup(move || live.unfollow(&id));
        }
        // The widget: a long poll of its own session.
        (Source::Session(id), None) => {
            spawn_local(watch_loop(
                id.clone(),
                watch_from.unwrap_or(CURSOR_NOW),
                signal,
                state,
                alive,
                on_event,
            ));
        }
        (Source::Panel(_), _) => {
            let source = source.clone();
            spawn_local(async move {
                loop {
                    sleep(Duration::from_secs(10)).await;
                    if !alive.try_get_value().unwrap_or(false) {
                        break;
                    }
                    let low = state.rate.get_untracked().is_some_and(|r| r.is_low());
                    if !browser::is_visible() || !browser::is_online() || low {
                        continue;
                    }
                    if let Ok(p) = source.page(None).await {
                        for m in p.messages {
                            arrive(m);
                        }
                    }
                }
            });
        }
    }
    let controller = SendWrapper::new(controller);
    on_cleanup(move || {
        alive.set_value(false);
        if let Some(c) = controller.take() {
            c.abort();
        }
    });

    // Coming back online, or the live connection coming back: resend what
    // failed. Back to the tab: reset the title.
    let online = window_event_listener(leptos::ev::online, {
        let retry_failed = retry_failed.clone();
        move |_| retry_failed()
    });
    Effect::new({
        let retry_failed = retry_failed.clone();
        move |was_live: Option<bool>| {
            let live = state.conn.get() == Conn::Live;
            if live && was_live == Some(false) && outbox.with_untracked(Outbox::has_failed) {
                retry_failed();
            }
            live
        }
    });
    let visible = window_event_listener_untyped("visibilitychange", move |_| {
        if browser::is_visible() {
            unseen.set(0);
        }
    });
    on_cleanup(move || {
        online.remove();
        visible.remove();
        unseen.try_set(0);
    });

    let send = {
        let pump = pump.clone();
        move |content: String| {
            let id = new_client_id(browser::now_ms(), browser::random());
            if outbox.try_update(|o| o.push(id, content)).is_some() {
                stick_to_bottom.set_value(true);
                scroll_to_bottom();
                pump();
            }
        }
    };
    // Retrying one retries all that failed, so the order holds.
    let retry_one = move |_client_id: String| retry_failed();

    let messages =
        Signal::derive(move || timeline.with(|t| t.as_ref().map(|t| t.messages().to_vec())));
    let has_older =
        move || timeline.with(|t| t.as_ref().is_some_and(|t| t.older_cursor().is_some()));

    view! {
        <div class="conversation">
            <div class="messages" node_ref=scroller on:scroll=on_scroll>
                {move || {
                    if loading_older.get() {
                        Some(view! { <p class="muted center" data-testid="loading-older">"Loading older messages…"</p> }.into_any())
                    } else if messages.with(Option::is_some) && !has_older() {
                        Some(view! { <p class="muted center" data-testid="history-start">"This is the start of the conversation."</p> }.into_any())
                    } else {
                        None
                    }
                }}
                {move || match messages.get() {
                    None => view! { <p class="muted center" data-testid="loading">"Loading messages…"</p> }.into_any(),
                    Some(list) if list.is_empty() && outbox.with(Outbox::is_empty) => {
                        view! { <p class="muted center" data-testid="empty">"No messages yet. Say hello!"</p> }.into_any()
                    }
                    Some(_) => view! { <MessageList messages=messages /> }.into_any(),
                }}
                <ul class="outbox" aria-label="Messages being sent">
                    <For
                        each=move || outbox.get().items().to_vec()
                        key=|i| (i.client_id.clone(), i.delivery.clone())
                        children=move |i| {
                            let id = i.client_id.clone();
                            let retry_one = retry_one.clone();
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
                                            <button class="link" on:click=move |_| retry_one(id.clone())>"Retry"</button>
                                        }.into_any(),
                                    }}
                                </li>
                            }
                        }
                    />
                </ul>
            </div>
            <ErrorNote error=error />
            <Composer closed=closed on_send=send max_chars=max_chars />
        </div>
    }
}

/// The long-poll loop of a session: always passes back the returned cursor,
/// backs off with jitter on errors, waits out `Retry-After` on a 429, pauses
/// while the tab is hidden or the browser offline, and stops when aborted.
async fn watch_loop(
    session_id: String,
    cursor: u64,
    signal: Option<web_sys::AbortSignal>,
    state: AppState,
    alive: StoredValue<bool>,
    on_event: impl Fn(Event) + 'static,
) {
    let Some(signal) = signal else { return };
    let mut backoff = Backoff::default();
    let mut cursor = WatchCursor::new(cursor);
    while alive.try_get_value().unwrap_or(false) {
        if !browser::is_visible() || !browser::is_online() {
            if !browser::is_online() {
                state.conn.set(Conn::Offline);
            }
            sleep(Duration::from_millis(500)).await;
            continue;
        }
        let query = WatchQuery {
            timeout_ms: Some(25_000),
            limit: None,
            cursor: Some(cursor.get()),
        };
        match api::watch(session_id.clone(), query, &signal).await {
            Ok(w) => {
                backoff.reset();
                state.conn.set(Conn::Live);
                for ev in cursor.accept(w) {
                    on_event(ev);
                }
            }
            Err(e) if signal.aborted() || api::is_aborted(&e) => break,
            Err(e) => {
                if e.code == ErrorCode::Unauthorized {
                    state.signed_out.update(|n| *n += 1);
                    break;
                }
                if matches!(e.code, ErrorCode::NotFound | ErrorCode::Forbidden) {
                    break;
                }
                state.conn.set(Conn::Reconnecting);
                let retry_after = state.rate.get_untracked().and_then(|r| r.retry_after);
                let delay = backoff.delay_after(&e, retry_after, browser::random());
                sleep(Duration::from_millis(u64::from(delay))).await;
            }
        }
    }
}

/// The message box: Enter sends, Shift+Enter makes a new line.
#[component]
pub fn Composer(
    #[prop(into)] closed: Signal<bool>,
    on_send: impl Fn(String) + Clone + 'static,
    /// Longest text it takes, in characters.
    #[prop(default = CONTENT_MAX_CHARS)]
    max_chars: usize,
) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let submit = move || {
        let content = text.get_untracked().trim().to_owned();
        if !content.is_empty() && !closed.get_untracked() {
            on_send(content);
            text.set(String::new());
        }
    };
    let on_key = {
        let submit = submit.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                ev.prevent_default();
                submit();
            }
        }
    };
    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <label for="composer-text" class="sr-only">"Message"</label>
            <textarea
                id="composer-text"
                data-testid="composer"
                rows="2"
                maxlength=max_chars
                placeholder=move || if closed.get() { "This session is closed." } else { "Message (Enter sends, Shift+Enter: new line)" }
                disabled=closed
                prop:value=text
                on:input=move |ev| text.set(event_target_value(&ev))
                on:keydown=on_key
            ></textarea>
            <button class="primary" type="submit" data-testid="send" disabled=move || closed.get() || text.with(|t| t.trim().is_empty())>
                "Send"
            </button>
        </form>
    }
}
