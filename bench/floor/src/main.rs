//! Bench fixture, not shipped: the least chat widget Leptos can make, built
//! and weighed by `cargo xtask bench` exactly as the widget is. It signs a
//! visitor in, opens their conversation, reads its last page, shows it, sends
//! and long-polls for new messages: no older pages, outbox, links, day
//! separators, host bridge or reconnecting. What it weighs is what Leptos,
//! the standard library and the API types cost a chat before any of the
//! widget's own behaviour.

use gloo_net::http::{Request, RequestBuilder};
use leptos::prelude::*;
use leptos::task::spawn_local;
use mochat_api::requests::{PageQuery, SendMessageRequest, WatchQuery, WatchResponse};
use mochat_api::widget::{CONVERSATION_PATH, NewVisitorRequest, VISITOR_PATH, VisitorInfo};
use mochat_api::{ApiError, Event, Message, MessagePage, Route};
use mochat_client::json;
use serde::de::DeserializeOwned;

/// Sends `request` and reads its JSON answer, or the error envelope's message.
async fn answer<T: DeserializeOwned>(
    request: Result<Request, gloo_net::Error>,
) -> Result<T, String> {
    let response = request
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let text = response.text().await.map_err(|e| e.to_string())?;
    if response.ok() {
        json::parse(&text)
    } else {
        let envelope = json::parse(&text).ok();
        Err(ApiError::from_envelope(response.status(), envelope).message)
    }
}

fn with_token(b: RequestBuilder, token: &str) -> RequestBuilder {
    b.header("Authorization", &format!("Bearer {token}"))
}

fn post<T: DeserializeOwned>(
    url: &str,
    token: &str,
    body: &impl serde::Serialize,
) -> impl Future<Output = Result<T, String>> {
    let text = json::to_text(body).unwrap_or_default();
    let b = with_token(Request::post(url), token).header("Content-Type", "application/json");
    answer(b.body(text))
}

fn get<T: DeserializeOwned>(url: &str, token: &str) -> impl Future<Output = Result<T, String>> {
    answer(with_token(Request::get(url), token).build())
}

/// The visitor's token (kept in the browser) and their open session.
async fn visit(site: String) -> Result<(String, String, u64), String> {
    let store = window().local_storage().ok().flatten();
    let token = match store
        .as_ref()
        .and_then(|s| s.get_item("floor.visitor").ok().flatten())
    {
        Some(t) => t,
        None => {
            let body = NewVisitorRequest {
                site,
                ..NewVisitorRequest::default()
            };
            let v: VisitorInfo = post(VISITOR_PATH, "", &body).await?;
            let t = v.token.unwrap_or_default();
            if let Some(s) = &store {
                let _ = s.set_item("floor.visitor", &t);
            }
            t
        }
    };
    let v: VisitorInfo =
        answer(with_token(Request::post(CONVERSATION_PATH), &token).build()).await?;
    let session = v.session_id.ok_or("no conversation")?;
    Ok((token, session, v.cursor.unwrap_or(0)))
}

#[component]
fn Chat() -> impl IntoView {
    let site = window()
        .location()
        .search()
        .ok()
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())
        .and_then(|p| p.get("site"))
        .unwrap_or_default();
    let ready = RwSignal::new(None::<(String, String)>);
    let messages = RwSignal::new(Vec::<Message>::new());
    let error = RwSignal::new(None::<String>);
    let draft = RwSignal::new(String::new());
    spawn_local(async move {
        let (token, session_id, mut cursor) = match visit(site).await {
            Ok(v) => v,
            Err(e) => return error.set(Some(e)),
        };
        ready.set(Some((token.clone(), session_id.clone())));
        let query = PageQuery {
            limit: Some(20),
            before: None,
        };
        let route = Route::ListSessionMessages {
            session_id: session_id.clone(),
            query,
        };
        match get::<MessagePage>(&route.api_target(), &token).await {
            Ok(page) => messages.set(page.messages),
            Err(e) => error.set(Some(e)),
        }
        loop {
            let query = WatchQuery {
                timeout_ms: Some(25_000),
                limit: None,
                cursor: Some(cursor),
            };
            let route = Route::WatchSession {
                session_id: session_id.clone(),
                query,
            };
            match get::<WatchResponse>(&route.api_target(), &token).await {
                Ok(w) => {
                    cursor = w.cursor;
                    let new: Vec<Message> = w.events.iter().filter_map(Event::message).collect();
                    messages.update(|l| l.extend(new));
                }
                Err(e) => return error.set(Some(e)),
            }
        }
    });
    let send = move || {
        let Some((token, session_id)) = ready.get_untracked() else {
            return;
        };
        let content = draft.get_untracked();
        draft.set(String::new());
        spawn_local(async move {
            let route = Route::SendSessionMessage { session_id };
            let body = SendMessageRequest {
                content,
                meta: None,
            };
            if let Err(e) = post::<Message>(&route.api_target(), &token, &body).await {
                error.set(Some(e));
            }
        });
    };
    view! {
        <main class="chat">
            <ol class="messages">
                <For each=move || messages.get() key=|m| m.message_id.clone() let:m>
                    <li class="message">
                        <b>{m.author_info.name.clone()}</b>
                        " "
                        <time>{m.created_at.clone()}</time>
                        <p>{m.content.clone()}</p>
                    </li>
                </For>
            </ol>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <form data-testid="composer" on:submit=move |ev| { ev.prevent_default(); send(); }>
                <textarea
                    aria-label="Message"
                    prop:value=draft
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    disabled=move || ready.get().is_none()
                ></textarea>
                <button type="submit" disabled=move || ready.get().is_none()>"Send"</button>
            </form>
        </main>
    }
}

fn main() {
    leptos::mount::mount_to_body(Chat);
}
