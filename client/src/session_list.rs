//! The list of sessions at the side: newest activity first, unread counts,
//! the last message; searched and filtered ([`crate::find`]), paged back
//! as it is scrolled to its end, and through every page while a search is
//! typed.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mochat_api::{Session, SessionStatus};

use crate::api::use_api;
use crate::browser;
use crate::find::{Filter, FindBar};
use crate::keys::{self, Shortcut};
use crate::live::Live;
use crate::markup::relative;
use crate::widgets::{ErrorNote, again_when_transient};

/// What the list part shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListState {
    Loading,
    Empty,
    Shown,
    Failed,
}

/// How close to its end (px) a scrolled list loads its next older page.
const NEAR_END_PX: i32 = 120;

/// The sidebar: heading with the New button, the find bar, the list.
#[component]
pub fn SessionList(
    selected: RwSignal<Option<String>>,
    creating: RwSignal<bool>,
    new_button: NodeRef<leptos::html::Button>,
) -> impl IntoView {
    let live = expect_context::<Live>();
    let filter = RwSignal::new(Filter::default());
    let names = participant_names(filter);
    // A list that failed for a passing reason loads again by itself.
    again_when_transient(
        move || live.sessions.get().and_then(Result::err),
        move || live.load_list(),
    );
    let list_error = Signal::derive(move || live.sessions.get().and_then(Result::err));
    let list_state = Memo::new(move |_| {
        live.sessions.with(|s| match s {
            None => ListState::Loading,
            Some(Ok(list)) if list.is_empty() => ListState::Empty,
            Some(Ok(_)) => ListState::Shown,
            Some(Err(_)) => ListState::Failed,
        })
    });
    let shown = Memo::new(move |_| {
        let f = filter.get();
        names.with(|names| {
            live.sessions.with(|s| match s {
                Some(Ok(list)) => list.iter().filter(|s| f.keeps(s, names)).cloned().collect(),
                _ => Vec::new(),
            })
        })
    });
    // A search looks through sessions not loaded yet: older pages load
    // while one is typed, until there are none (or one fails).
    Effect::new(move |_| {
        if filter.with(Filter::searching)
            && live.older.with(Option::is_some)
            && !live.loading_older.get()
            && live.older_error.with(Option::is_none)
        {
            live.load_older();
        }
    });
    let search = NodeRef::<leptos::html::Input>::new();
    navigate_by_keys(shown, selected, search);
    let on_scroll = move |ev: leptos::ev::Event| {
        let list = event_target::<web_sys::Element>(&ev);
        if list.scroll_top() + list.client_height() + NEAR_END_PX >= list.scroll_height() {
            live.load_older();
        }
    };

    view! {
        <aside class="sidebar" aria-label="Sessions" on:scroll=on_scroll>
            <div class="sidebar-head">
                <h2>"Sessions"</h2>
                <button class="primary small" data-testid="new-session" node_ref=new_button on:click=move |_| creating.set(true)>
                    "New"
                </button>
            </div>
            <FindBar filter=filter search=search />
            <ErrorNote error=list_error />
            {move || match list_state.get() {
                ListState::Loading => view! { <p class="muted" data-testid="loading">"Loading sessions…"</p> }.into_any(),
                ListState::Empty => {
                    view! { <p class="muted" data-testid="empty">"No sessions yet. Start one with New."</p> }.into_any()
                }
                ListState::Shown => view! {
                    <ul class="session-list" data-testid="session-list">
                        <For
                            each=move || shown.get()
                            key=|s| (
                                s.session_id.clone(),
                                s.updated_at.clone(),
                                s.status,
                                s.title.clone(),
                                s.last_message.as_ref().map(|m| m.message_id.clone()),
                            )
                            children=move |s| view! { <SessionItem session=s selected=selected /> }
                        />
                    </ul>
                    <OlderSessions filter=filter none_shown=Signal::derive(move || shown.with(Vec::is_empty)) />
                }.into_any(),
                ListState::Failed => ().into_any(),
            }}
        </aside>
    }
}

/// The list's keyboard shortcuts: next and previous session (focused and
/// opened), the search, the open conversation's message box.
fn navigate_by_keys(
    shown: Memo<Vec<Session>>,
    selected: RwSignal<Option<String>>,
    search: NodeRef<leptos::html::Input>,
) {
    keys::listen(move |s| {
        match s {
            Shortcut::NextSession | Shortcut::PreviousSession => {
                let ids: Vec<String> =
                    shown.with(|l| l.iter().map(|s| s.session_id.clone()).collect());
                let at = selected.with(|sel| ids.iter().position(|id| Some(id) == sel.as_ref()));
                if let Some(id) = step(&ids, at, s == Shortcut::NextSession) {
                    keys::focus(&format!("[data-testid=session-item][data-id=\"{id}\"]"));
                    selected.set(Some(id));
                }
            }
            Shortcut::FocusSearch => {
                if let Some(input) = search.get_untracked() {
                    let _ = input.focus();
                }
            }
            Shortcut::FocusComposer => {
                keys::focus("[data-testid=session-view] [data-testid=composer]")
            }
            Shortcut::ShowHelp => return false,
        }
        true
    });
}

/// The session after (or before) position `at` of `ids`: the first (or
/// last) when none is selected; none past either end.
fn step(ids: &[String], at: Option<usize>, next: bool) -> Option<String> {
    let to = match (at, next) {
        (None, true) => 0,
        (None, false) => ids.len().checked_sub(1)?,
        (Some(i), true) => i + 1,
        (Some(i), false) => i.checked_sub(1)?,
    };
    ids.get(to).cloned()
}

/// The end of the list: "Searching older sessions…" while a search pages
/// back, a button for the next older page, "No sessions match."
#[component]
fn OlderSessions(
    filter: RwSignal<Filter>,
    #[prop(into)] none_shown: Signal<bool>,
) -> impl IntoView {
    let live = expect_context::<Live>();
    let searching = move || filter.with(Filter::searching);
    let more = move || live.older.with(Option::is_some);
    let failed = move || live.older_error.with(Option::is_some);
    let error = Signal::derive(move || live.older_error.get());
    view! {
        {move || (searching() && more() && !failed()).then(|| view! {
            <p class="muted small" role="status" data-testid="searching-older">"Searching older sessions…"</p>
        })}
        <ErrorNote error=error />
        {move || (more() && (!searching() || failed())).then(|| view! {
            <button
                class="ghost small older"
                data-testid="load-older"
                disabled=move || live.loading_older.get()
                on:click=move |_| {
                    live.older_error.set(None);
                    live.load_older();
                }
            >
                {move || if live.loading_older.get() { "Loading…" } else if failed() { "Try again" } else { "Load older sessions" }}
            </button>
        })}
        {move || (none_shown.get() && !(searching() && more())).then(|| view! {
            <p class="muted" data-testid="no-match">"No sessions match."</p>
        })}
    }
}

/// Names of the people in the agent's workspace group, by user id, read
/// once the first search is typed (a search finds sessions by them).
fn participant_names(filter: RwSignal<Filter>) -> RwSignal<BTreeMap<String, String>> {
    let api = use_api();
    let names = RwSignal::new(BTreeMap::new());
    let asked = StoredValue::new(false);
    Effect::new(move |_| {
        if filter.with(Filter::searching) && !asked.get_value() {
            asked.set_value(true);
            spawn_local(async move {
                if let Ok(group) = api.workspace_group().await {
                    let by_id = group.members.into_iter().map(|u| (u.user_id, u.name));
                    let _ = names.try_set(by_id.collect());
                }
            });
        }
    });
    names
}

/// One row of the list: title, unread count, status, newest message, when.
#[component]
fn SessionItem(session: Session, selected: RwSignal<Option<String>>) -> impl IntoView {
    let live = expect_context::<Live>();
    let s = session;
    let id = s.session_id.clone();
    let id_for_click = id.clone();
    let id_for_count = id.clone();
    let unread = move || live.unread.with(|u| u.count(&id_for_count));
    let id_for_mute = id.clone();
    let muted = move || live.muted.with(|m| m.is_muted(&id_for_mute));
    let preview = s
        .last_message
        .as_ref()
        .map(|m| format!("{}: {}", crate::message::author_name(m), m.content))
        .unwrap_or_else(|| "No messages yet".into());
    let title = if s.title.is_empty() {
        "Untitled session".to_owned()
    } else {
        s.title.clone()
    };
    let when = relative(browser::now_ms(), browser::parse_time(&s.updated_at));
    view! {
        <li>
            <button
                class="session-item"
                data-testid="session-item"
                data-id=id.clone()
                aria-current=move || (selected.get().as_deref() == Some(id.as_str())).then_some("true")
                on:click=move |_| selected.set(Some(id_for_click.clone()))
            >
                <span class="row">
                    <span class="title">{title}</span>
                    {move || (unread() > 0).then(|| view! {
                        <span class="unread" data-testid="unread" aria-label=format!("{} unread", unread())>{unread()}</span>
                    })}
                    {(s.status == SessionStatus::Closed).then(|| view! { <span class="badge closed">"closed"</span> })}
                    {move || muted().then(|| view! { <span class="badge muted-badge" data-testid="muted" title="No notification or chime">"muted"</span> })}
                </span>
                <span class="preview" data-testid="session-preview">{preview}</span>
                <span class="when muted small">{when}</span>
            </button>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn next_and_previous_stop_at_the_ends() {
        let ids: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(step(&ids, None, true).as_deref(), Some("a"));
        assert_eq!(step(&ids, None, false).as_deref(), Some("c"));
        assert_eq!(step(&ids, Some(0), true).as_deref(), Some("b"));
        assert_eq!(step(&ids, Some(2), true), None);
        assert_eq!(step(&ids, Some(0), false), None);
        assert_eq!(step(&ids, Some(1), false).as_deref(), Some("a"));
        assert_eq!(step(&[], None, true), None);
        assert_eq!(step(&[], None, false), None);
    }
}
