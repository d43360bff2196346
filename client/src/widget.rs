//! The chat widget's shell: the same conversation (message list, composer,
//! outbox, watch) as the dashboard, for one visitor of one site, inside the
//! iframe the loader (`www/widget.js`) opens. It talks to the host page only
//! by `postMessage` pinned to the host's exact origin (see
//! [`mochat_api::widget::bridge`]).

use leptos::prelude::*;
use leptos::task::spawn_local;
use mochat_api::edge::CURSOR_NOW;
use mochat_api::widget::{VISITOR_CONTENT_MAX_CHARS, VisitorInfo, bridge};
use mochat_api::{ApiError, ErrorCode, Message};
use serde_json::{Value, json};
use wasm_bindgen::JsCast;

use crate::api::{Api, use_api};
use crate::app::AppState;
use crate::browser;
use crate::conversation::{Composer, Conversation, Source};
use crate::message::Viewer;
use crate::widgets::{ErrorNote, RateBanner};

/// The page's query: which site, and the host page's origin.
fn query_param(name: &str) -> String {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|p| p.get(name))
        .unwrap_or_default()
}

fn storage_key(site: &str) -> String {
    format!("mochat.visitor.{site}")
}

/// Posts a bridge message to the host page, pinned to its origin.
fn post_to_host(host: &str, kind: &str, extra: Value) {
    let mut msg = json!({ "v": bridge::VERSION, "type": kind });
    if let (Some(m), Value::Object(extra)) = (msg.as_object_mut(), extra) {
        m.extend(extra);
    }
    let Some(data) = crate::json::to_js(&msg) else {
        return;
    };
    if let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) {
        let _ = parent.post_message(&data, host);
    }
}

/// A bridge message from the host, if `event` is one from exactly `host`.
fn from_host(event: &web_sys::MessageEvent, host: &str) -> Option<Value> {
    if event.origin() != host {
        return None;
    }
    let value: Value = crate::json::from_js(&event.data()).ok()?;
    (value.get("v").and_then(Value::as_u64) == Some(bridge::VERSION)).then_some(value)
}

/// Signs the visitor in: the kept token if it is still good, else a new one.
async fn visitor(api: Api, site: String) -> Result<VisitorInfo, ApiError> {
    let key = storage_key(&site);
    if let Some(token) = browser::load(&key) {
        api.set_visitor_token(Some(token));
        match api.visitor_me().await {
            Ok(info) => return Ok(info),
            Err(e) if e.code == ErrorCode::Unauthorized => browser::store(&key, None),
            Err(e) => return Err(e),
        }
    }
    api.set_visitor_token(None);
    let info = api.new_visitor(site).await?;
    if let Some(token) = &info.token {
        browser::store(&key, Some(token));
        api.set_visitor_token(Some(token.clone()));
    }
    Ok(info)
}

/// One visitor's visit: who they are, their first message until the
/// conversation exists, and what went wrong.
#[derive(Clone, Copy)]
struct Visit {
    api: Api,
    site: StoredValue<String>,
    /// The host page's origin (every bridge message is pinned to it).
    host: StoredValue<String>,
    info: RwSignal<Option<VisitorInfo>>,
    error: RwSignal<Option<ApiError>>,
    /// The first message, typed before the session existed (maybe before
    /// the visitor was known: the composer is there from the first frame).
    first: RwSignal<Option<String>>,
    opening: StoredValue<bool>,
}

impl Visit {
    fn new(api: Api, site: String, host: String) -> Self {
        Self {
            api,
            site: StoredValue::new(site),
            host: StoredValue::new(host),
            info: RwSignal::new(None),
            error: RwSignal::new(None),
            first: RwSignal::new(None),
            opening: StoredValue::new(false),
        }
    }

    /// Posts a bridge message to the host page.
    fn post(self, kind: &str, extra: Value) {
        post_to_host(&self.host.get_value(), kind, extra);
    }

    /// Signs the visitor in. Ready (to the host) only once the visitor is
    /// known: the host then sends what it knows of them, which needs the
    /// visitor's token.
    fn start(self) {
        self.error.set(None);
        let site = self.site.get_value();
        spawn_local(async move {
            match visitor(self.api, site).await {
                Ok(v) => {
                    self.info.set(Some(v));
                    self.post(bridge::READY, json!({}));
                    self.open_conversation();
                }
                Err(e) => self.error.set(Some(e)),
            }
        });
    }

    /// Opens the visitor's conversation for the first message, once the
    /// visitor is known (and once).
    fn open_conversation(self) {
        let ready = self
            .info
            .with_untracked(|i| i.as_ref().is_some_and(|v| v.session_id.is_none()));
        if !ready || self.opening.get_value() || self.first.with_untracked(Option::is_none) {
            return;
        }
        self.opening.set_value(true);
        self.error.set(None);
        spawn_local(async move {
            match self.api.open_conversation().await {
                Ok(v) => self.info.set(Some(v)),
                Err(e) => self.error.set(Some(e)),
            }
            self.opening.set_value(false);
        });
    }

    /// The visitor sent their first message.
    fn start_chat(self, content: String) {
        self.first.set(Some(content));
        if self.info.with_untracked(Option::is_none) && self.error.with_untracked(Option::is_some) {
            self.start();
        }
        self.open_conversation();
    }

    /// The token expired (the watch reported it): forget it, start again.
    fn restart(self) {
        if let Some(site) = self.info.get_untracked().map(|i| i.site.key) {
            browser::store(&storage_key(&site), None);
        }
        self.info.set(None);
        self.start();
    }

    /// The host page's messages: the chat shown or hidden, who the visitor is.
    fn listen_to_host(self, open: RwSignal<bool>, unread: RwSignal<u32>) {
        let host = self.host.get_value();
        let listener = window_event_listener_untyped("message", move |ev| {
            let Ok(ev) = ev.dyn_into::<web_sys::MessageEvent>() else {
                return;
            };
            let Some(msg) = from_host(&ev, &host) else {
                return;
            };
            let field = |k: &str| msg.get(k).and_then(Value::as_str).map(str::to_owned);
            match msg.get("type").and_then(Value::as_str) {
                Some(bridge::VISIBILITY) => {
                    let shown = msg.get("open").and_then(Value::as_bool).unwrap_or(true);
                    open.set(shown);
                    if shown {
                        unread.set(0);
                    }
                }
                Some(bridge::IDENTIFY) => {
                    let (name, email) = (field("name"), field("email"));
                    spawn_local(async move {
                        match self.api.identify(name, email).await {
                            Ok(v) => self.info.set(Some(v)),
                            Err(e) => self.error.set(Some(e)),
                        }
                    });
                }
                _ => {}
            }
        });
        on_cleanup(move || listener.remove());
    }
}

/// The whole widget.
#[component]
pub fn WidgetApp() -> impl IntoView {
    let state = AppState::provide();
    let visit = Visit::new(use_api(), query_param("site"), query_param("host"));
    let info = visit.info;
    let open = RwSignal::new(true);
    let unread = RwSignal::new(0u32);
    visit.start();
    Effect::new(move |prev: Option<u32>| {
        let n = state.signed_out.get();
        if prev.is_some_and(|p| p != n) {
            visit.restart();
        }
        n
    });
    visit.listen_to_host(open, unread);
    Effect::new(move |_| visit.post(bridge::UNREAD, json!({ "count": unread.get() })));

    let on_message = Callback::new(move |m: Message| {
        let me = info.with_untracked(|i| i.as_ref().map(|i| i.visitor_id.clone()));
        let theirs = mochat_api::widget::VisitorMark::from_meta(&m.meta).map(|v| v.id);
        if theirs != me {
            if !open.get_untracked() {
                unread.update(|n| *n += 1);
            }
            visit.post(bridge::MESSAGE, json!({ "messageId": m.message_id }));
        }
    });
    // The conversation view changes only when the session does (not when
    // the visitor's name does), so nothing typed or shown is lost.
    let session = Memo::new(move |_| {
        info.with(|i| {
            i.as_ref()
                .and_then(|v| Some((v.session_id.clone()?, v.visitor_id.clone())))
        })
    });
    // Set through the CSSOM (`style:`), which the page's CSP allows; a
    // `style` attribute would be refused (no 'unsafe-inline').
    let accent = move || {
        info.with(|i| i.as_ref().map(|i| i.site.color.clone()))
            .unwrap_or_default()
    };

    view! {
        <div class="widget" style:--accent=accent data-testid="widget">
            <WidgetHead visit=visit />
            <main>
                <RateBanner visitor=true />
                <ErrorNote error=visit.error />
                {move || match session.get() {
                    Some((session_id, visitor_id)) => {
                        provide_context(Viewer(visitor_id));
                        view! {
                            <Conversation
                                source=Source::Session(session_id)
                                watch_from=info.with_untracked(|i| i.as_ref().and_then(|v| v.cursor)).unwrap_or(CURSOR_NOW)
                                on_message=on_message
                                initial=visit.first.try_update_untracked(Option::take).flatten()
                                max_chars=VISITOR_CONTENT_MAX_CHARS
                            />
                        }.into_any()
                    }
                    None => view! { <BeforeChat visit=visit /> }.into_any(),
                }}
            </main>
        </div>
    }
}

/// The widget's title bar: the site's title, its agent, and closing.
#[component]
fn WidgetHead(visit: Visit) -> impl IntoView {
    let info = visit.info;
    let title = move || {
        info.with(|i| i.as_ref().map(|i| i.site.title.clone()))
            .unwrap_or_else(|| "Chat".to_owned())
    };
    let subtitle = move || {
        info.with(|i| {
            i.as_ref()
                .map(|i| format!("{} answers here", i.site.agent_name))
        })
        .unwrap_or_default()
    };
    view! {
        <header class="widget-head">
            <div>
                <h1 data-testid="widget-title">{title}</h1>
                <p class="small">{subtitle}</p>
            </div>
            <button
                class="icon"
                aria-label="Close the chat"
                data-testid="widget-close"
                on:click=move |_| visit.post(bridge::CLOSE, json!({}))
            >
                "×"
            </button>
        </header>
    }
}

/// Before the conversation exists: a welcome (or a way to try again), the
/// first message on its way, and the composer.
#[component]
fn BeforeChat(visit: Visit) -> impl IntoView {
    let (info, error, first) = (visit.info, visit.error, visit.first);
    view! {
        <div class="conversation">
            <div class="messages">
                {move || match info.get() {
                    Some(v) => view! {
                        <p class="muted center" data-testid="welcome">
                            {format!("Hi {}! Ask us anything; {} answers here.", v.name, v.site.agent_name)}
                        </p>
                    }.into_any(),
                    None if error.with(Option::is_some) => view! {
                        <button class="primary center-block" on:click=move |_| visit.start()>"Try again"</button>
                    }.into_any(),
                    None => view! { <p class="muted center" data-testid="loading">"Connecting…"</p> }.into_any(),
                }}
                {move || first.get().map(|text| view! {
                    <ul class="outbox">
                        <li class="pending" data-testid="outgoing" data-state="sending">
                            {text}<span class="small muted">" · sending…"</span>
                        </li>
                    </ul>
                })}
            </div>
            <Composer
                closed=Signal::derive(|| false)
                on_send=move |content| visit.start_chat(content)
                max_chars=VISITOR_CONTENT_MAX_CHARS
            />
        </div>
    }
}
