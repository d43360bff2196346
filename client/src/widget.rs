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

use crate::api;
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
async fn visitor(site: String) -> Result<VisitorInfo, ApiError> {
    let key = storage_key(&site);
    if let Some(token) = browser::load(&key) {
        api::set_visitor_token(Some(token));
        match api::visitor_me().await {
            Ok(info) => return Ok(info),
            Err(e) if e.code == ErrorCode::Unauthorized => browser::store(&key, None),
            Err(e) => return Err(e),
        }
    }
    api::set_visitor_token(None);
    let info = api::new_visitor(site).await?;
    if let Some(token) = &info.token {
        browser::store(&key, Some(token));
        api::set_visitor_token(Some(token.clone()));
    }
    Ok(info)
}

/// The whole widget.
#[component]
pub fn WidgetApp() -> impl IntoView {
    let state = AppState::provide();

    let site = query_param("site");
    let host = query_param("host");
    let info = RwSignal::new(None::<VisitorInfo>);
    let error = RwSignal::new(None::<ApiError>);
    let open = RwSignal::new(true);
    let unread = RwSignal::new(0u32);
    // The first message, typed before the session existed (maybe before
    // the visitor was known: the composer is there from the first frame).
    let first = RwSignal::new(None::<String>);
    let opening = StoredValue::new(false);
    // Opens the visitor's conversation for the first message, once the
    // visitor is known (and once).
    let open_conversation = move || {
        let ready = info.with_untracked(|i| i.as_ref().is_some_and(|v| v.session_id.is_none()));
        if !ready || opening.get_value() || first.with_untracked(Option::is_none) {
            return;
        }
        opening.set_value(true);
        error.set(None);
        spawn_local(async move {
            match api::open_conversation().await {
                Ok(v) => info.set(Some(v)),
                Err(e) => error.set(Some(e)),
            }
            opening.set_value(false);
        });
    };

    // Ready (to the host) only once the visitor is known: the host then
    // sends what it knows of them, which needs the visitor's token.
    let start = {
        let (site, host) = (site.clone(), host.clone());
        move || {
            let (site, host) = (site.clone(), host.clone());
            error.set(None);
            spawn_local(async move {
                match visitor(site).await {
                    Ok(v) => {
                        info.set(Some(v));
                        post_to_host(&host, bridge::READY, json!({}));
                        open_conversation();
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    start();
    // A reload of the expired token: the watch reports it as signed out.
    Effect::new({
        let start = start.clone();
        move |prev: Option<u32>| {
            let n = state.signed_out.get();
            if prev.is_some_and(|p| p != n) {
                if let Some(site) = info.get_untracked().map(|i| i.site.key) {
                    browser::store(&storage_key(&site), None);
                }
                info.set(None);
                start();
            }
            n
        }
    });

    // The host page: visibility and identity.
    let listener = window_event_listener_untyped("message", {
        let host = host.clone();
        move |ev| {
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
                        match api::identify(name, email).await {
                            Ok(v) => info.set(Some(v)),
                            Err(e) => error.set(Some(e)),
                        }
                    });
                }
                _ => {}
            }
        }
    });
    on_cleanup(move || listener.remove());
    Effect::new({
        let host = host.clone();
        move |_| post_to_host(&host, bridge::UNREAD, json!({ "count": unread.get() }))
    });

    let on_message = Callback::new({
        let host = host.clone();
        move |m: Message| {
            let me = info.with_untracked(|i| i.as_ref().map(|i| i.visitor_id.clone()));
            let theirs = mochat_api::widget::VisitorMark::from_meta(&m.meta).map(|v| v.id);
            if theirs != me {
                if !open.get_untracked() {
                    unread.update(|n| *n += 1);
                }
                post_to_host(&host, bridge::MESSAGE, json!({ "messageId": m.message_id }));
            }
        }
    });

    let start_chat = {
        let start = start.clone();
        move |content: String| {
            first.set(Some(content));
            if info.with_untracked(Option::is_none) && error.with_untracked(Option::is_some) {
                start();
            }
            open_conversation();
        }
    };
    // The conversation view changes only when the session does (not when
    // the visitor's name does), so nothing typed or shown is lost.
    let session = Memo::new(move |_| {
        info.with(|i| {
            i.as_ref()
                .and_then(|v| Some((v.session_id.clone()?, v.visitor_id.clone())))
        })
    });
    let close = move |_| post_to_host(&host, bridge::CLOSE, json!({}));

    // Set through the CSSOM (`style:`), which the page's CSP allows; a
    // `style` attribute would be refused (no 'unsafe-inline').
    let accent = move || {
        info.with(|i| i.as_ref().map(|i| i.site.color.clone()))
            .unwrap_or_default()
    };
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
        <div class="widget" style:--accent=accent data-testid="widget">
            <header class="widget-head">
                <div>
                    <h1 data-testid="widget-title">{title}</h1>
                    <p class="small">{subtitle}</p>
                </div>
                <button class="icon" aria-label="Close the chat" data-testid="widget-close" on:click=close>"×"</button>
            </header>
            <RateBanner visitor=true />
            <ErrorNote error=error />
            {move || match session.get() {
                Some((session_id, visitor_id)) => {
                    provide_context(Viewer(visitor_id));
                    view! {
                        <Conversation
                            source=Source::Session(session_id)
                            watch_from=info.with_untracked(|i| i.as_ref().and_then(|v| v.cursor)).unwrap_or(CURSOR_NOW)
                            on_message=on_message
                            initial=first.try_update_untracked(Option::take).flatten()
                            max_chars=VISITOR_CONTENT_MAX_CHARS
                        />
                    }.into_any()
                }
                None => {
                    let (start, start_chat) = (start.clone(), start_chat.clone());
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
                                    <button class="primary center-block" on:click={
                                        let start = start.clone();
                                        move |_| start()
                                    }>"Try again"</button>
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
                        <Composer closed=Signal::derive(|| false) on_send=start_chat max_chars=VISITOR_CONTENT_MAX_CHARS />
                    </div>
                    }.into_any()
                }
            }}
        </div>
    }
}
