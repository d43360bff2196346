//! The sessions section: the list ([`crate::session_list`]), a dialog to
//! create a session, and the open session with its participants, close
//! button and conversation.

use leptos::prelude::*;
use mochat_api::widget::VisitorMark;
use mochat_api::{ApiError, Message, Session, SessionDetail, SessionStatus, User};

use crate::markup::relative;

use crate::api::use_api;
use crate::browser;
use crate::conversation::{Conversation, Source};
use crate::live::Live;
use crate::session_list::SessionList;
use crate::widgets::{Avatar, ErrorNote, KindBadge, reload_when_transient};

/// List on the left, the open session on the right (stacked on phones).
#[component]
pub fn SessionsPage() -> impl IntoView {
    let live = expect_context::<Live>();
    let selected = RwSignal::new(None::<String>);
    let creating = RwSignal::new(false);
    let new_button = NodeRef::<leptos::html::Button>::new();
    // Closing the dialog gives focus back to the button that opened it.
    let close_dialog = move || {
        creating.set(false);
        if let Some(b) = new_button.get_untracked() {
            let _ = b.focus();
        }
    };
    view! {
        <div class="split" class:has-selection=move || selected.get().is_some()>
            <SessionList selected=selected creating=creating new_button=new_button />
            <section class="pane">
                {move || match selected.get() {
                    None => view! { <p class="muted center" data-testid="no-selection">"Pick a session to read it."</p> }.into_any(),
                    Some(id) => view! { <SessionView session_id=id on_back=move || selected.set(None) /> }.into_any(),
                }}
            </section>
            {move || creating.get().then(|| view! {
                <NewSessionDialog
                    on_close=close_dialog
                    on_created=move |s: Session| {
                        close_dialog();
                        let id = s.session_id.clone();
                        live.upsert(s);
                        selected.set(Some(id));
                    }
                />
            })}
        </div>
    }
}

/// An open session: header, participants, conversation.
#[component]
fn SessionView(
    session_id: String,
    on_back: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let live = expect_context::<Live>();
    let api = use_api();
    let id = session_id.clone();
    let detail = LocalResource::new(move || api.session_detail(id.clone()));
    reload_when_transient(detail);
    let error = RwSignal::new(None::<ApiError>);
    let status = RwSignal::new(None::<SessionStatus>);
    // Messages that arrived since the detail was loaded (its count is a snapshot).
    // Only a message newer than the detail's last one counts: the live feed may
    // deliver late what the snapshot already counted.
    let arrived = RwSignal::new(0u64);
    let counted_until = RwSignal::new(f64::NEG_INFINITY);
    let refresh = move || detail.refetch();
    Effect::new(move |_| {
        if let Some(Ok(d)) = detail.get() {
            arrived.set(0);
            let last = d
                .session
                .last_message
                .as_ref()
                .map_or(&d.session.created_at, |m| &m.created_at);
            let until = browser::parse_time(last);
            counted_until.set(if until.is_nan() {
                f64::NEG_INFINITY
            } else {
                until
            });
            status.set(Some(d.session.status));
            live.upsert(d.session.clone());
        }
    });
    let closed = Signal::derive(move || status.get() == Some(SessionStatus::Closed));
    let (visitor, note_visitor) = visitor_of_conversation();
    let close = {
        let id = session_id.clone();
        Action::new_local(move |_: &()| api.close_session(id.clone()))
    };
    Effect::new(move |_| match close.value().get() {
        Some(Ok(_)) => refresh(),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    // The conversation mounts once per session, from the first detail's cursor.
    // (A later detail, after a session event, moves nothing: what arrived
    // meanwhile is in the conversation already.)
    let first = RwSignal::new(None::<u64>);
    Effect::new(move |_| {
        if first.get_untracked().is_none()
            && let Some(Ok(d)) = detail.get()
        {
            first.set(Some(d.cursor));
        }
    });
    let conversation = {
        let id = session_id.clone();
        move || {
            first.get().map(|cursor| {
                view! {
                    <Conversation
                        source=Source::Session(id.clone())
                        watch_from=cursor
                        saved_replies=true
                        closed=closed
                        on_session_event=Callback::new(move |_| refresh())
                        on_first_page=Callback::new(move |page: Vec<Message>| page.iter().for_each(note_visitor))
                        on_message=Callback::new(move |m: Message| {
                            note_visitor(&m);
                            if browser::parse_time(&m.created_at) > counted_until.get_untracked() {
                                arrived.update(|n| *n += 1);
                            }
                        })
                    />
                }
            })
        }
    };

    view! {
        <div class="session-view" data-testid="session-view">
            {move || match detail.get() {
                None => view! { <p class="muted" data-testid="loading">"Loading session…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                Some(Ok(d)) => view! { <SessionHeader detail=d arrived=arrived on_back=on_back on_close=move || { close.dispatch(()); } on_changed=refresh error=error /> }.into_any(),
            }}
            <ErrorNote error=error />
            {move || visitor.get().map(|mark| view! { <VisitorPanel mark=mark /> })}
            {conversation}
        </div>
    }
}

/// " · 1 message", " · 12 messages".
fn count_label(n: u64) -> String {
    if n == 1 {
        " · 1 message".to_owned()
    } else {
        format!(" · {n} messages")
    }
}

/// A widget conversation's visitor: the first visitor mark its messages
/// carry, and what notes one.
fn visitor_of_conversation() -> (RwSignal<Option<VisitorMark>>, impl Fn(&Message) + Copy) {
    let visitor = RwSignal::new(None::<VisitorMark>);
    let note = move |m: &Message| {
        if visitor.with_untracked(Option::is_none)
            && let Some(mark) = VisitorMark::from_meta(&m.meta)
        {
            visitor.set(Some(mark));
        }
    };
    (visitor, note)
}

/// The widget visitor behind a conversation: who they said they are, the
/// site, when they were first and last seen (the worker's record, read for
/// the operator of the site's agent).
#[component]
fn VisitorPanel(mark: VisitorMark) -> impl IntoView {
    let api = use_api();
    let (site, id) = (mark.site.clone(), mark.id.clone());
    let details = LocalResource::new(move || api.visitor_details(site.clone(), id.clone()));
    let when = |at: Option<String>| {
        at.map_or_else(
            || "not recorded".to_owned(),
            |t| {
                format!(
                    "{} ({})",
                    browser::exact_time(&t),
                    relative(browser::now_ms(), browser::parse_time(&t))
                )
            },
        )
    };
    view! {
        <aside class="visitor-panel" aria-label="Visitor" data-testid="visitor-panel">
            <h3 class="small-head">"Visitor"</h3>
            {move || match details.get() {
                None => view! { <p class="muted small">"Loading the visitor…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="muted small" data-testid="visitor-error">{mark.name.clone()}" · "{e.message}</p> }.into_any(),
                Some(Ok(d)) => view! {
                    <dl class="visitor-facts">
                        <dt>"Name"</dt><dd data-testid="visitor-name">{d.name}</dd>
                        <dt>"Email"</dt><dd data-testid="visitor-email">{d.email.unwrap_or_else(|| "not given".into())}</dd>
                        <dt>"Site"</dt><dd data-testid="visitor-site">{format!("{} ({})", d.site_title, d.site)}</dd>
                        <dt>"First seen"</dt><dd data-testid="visitor-first-seen">{when(d.first_seen)}</dd>
                        <dt>"Last seen"</dt><dd data-testid="visitor-last-seen">{when(d.last_seen)}</dd>
                    </dl>
                }.into_any(),
            }}
        </aside>
    }
}

/// Mutes or unmutes a session: no notification, no chime (its unread
/// count still grows). Remembered in this browser.
#[component]
fn MuteButton(session_id: String) -> impl IntoView {
    let live = expect_context::<Live>();
    let id = session_id.clone();
    let muted = Memo::new(move |_| live.muted.with(|m| m.is_muted(&id)));
    view! {
        <button
            class="ghost"
            data-testid="mute-session"
            aria-pressed=move || muted.get().to_string()
            title="No notification or chime for this session"
            on:click=move |_| live.muted.update(|m| m.toggle(&session_id))
        >
            {move || if muted.get() { "Unmute" } else { "Mute" }}
        </button>
    }
}

/// Title, status, participants (with add and remove) and the close button.
#[component]
fn SessionHeader(
    detail: SessionDetail,
    #[prop(into)] arrived: Signal<u64>,
    on_back: impl Fn() + Copy + Send + Sync + 'static,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
    on_changed: impl Fn() + Copy + Send + Sync + 'static,
    error: RwSignal<Option<ApiError>>,
) -> impl IntoView {
    let s = detail.session.clone();
    let open = s.status == SessionStatus::Open;
    let title = if s.title.is_empty() {
        "Untitled session".to_owned()
    } else {
        s.title.clone()
    };
    view! {
        <header class="session-head">
            <button class="ghost back" aria-label="Back to the list" on:click=move |_| on_back()>"←"</button>
            <div class="grow">
                <h2 data-testid="session-title">{title}</h2>
                <span class=if open { "badge open" } else { "badge closed" } data-testid="session-status">
                    {if open { "open" } else { "closed" }}
                </span>
                <span class="muted small" data-testid="message-count">
                    {move || count_label(detail.message_count + arrived.get())}
                </span>
            </div>
            <MuteButton session_id=s.session_id.clone() />
            {open.then(|| view! {
                <button class="ghost danger" data-testid="close-session" on:click=move |_| on_close()>"Close session"</button>
            })}
        </header>
        <Participants
            session_id=s.session_id.clone()
            present=s.participants.clone()
            people=detail.participant_info
            open=open
            on_changed=on_changed
            error=error
        />
    }
}

/// A session's participants; while it is open, each can be removed and
/// someone from the workspace group (or, when the group lists no one, a
/// user id typed) added.
#[component]
fn Participants(
    session_id: String,
    /// The participants' ids.
    present: Vec<String>,
    /// What is known of them.
    people: Vec<User>,
    open: bool,
    on_changed: impl Fn() + Copy + Send + Sync + 'static,
    error: RwSignal<Option<ApiError>>,
) -> impl IntoView {
    let api = use_api();
    let group = LocalResource::new(move || api.workspace_group());
    let candidates = move || {
        group
            .get()
            .and_then(Result::ok)
            .map(|g| {
                g.members
                    .into_iter()
                    .filter(|m| !present.contains(&m.user_id))
                    .collect::<Vec<User>>()
            })
            .unwrap_or_default()
    };
    let pick = RwSignal::new(String::new());
    let change = Action::new_local(move |(add, user): &(bool, String)| {
        let (add, user, id) = (*add, user.clone(), session_id.clone());
        async move {
            if add {
                api.add_participants(id, vec![user]).await
            } else {
                api.remove_participants(id, vec![user]).await
            }
        }
    });
    Effect::new(move |_| match change.value().get() {
        Some(Ok(_)) => on_changed(),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });

    view! {
        <div class="participants" aria-label="Participants">
            <ul data-testid="participants">
                {people.into_iter().map(|u| {
                    let uid = u.user_id.clone();
                    view! {
                        <li class="chip" data-testid="participant" data-id=u.user_id.clone()>
                            <Avatar user=u.clone() />
                            <span>{u.name.clone()}</span>
                            <KindBadge kind=u.kind />
                            {open.then(|| view! {
                                <button class="chip-x" aria-label=format!("Remove {}", u.name) data-testid="remove-participant"
                                    on:click=move |_| { change.dispatch((false, uid.clone())); }>"×"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {open.then(|| view! {
                <form class="inline" on:submit=move |ev| {
                    ev.prevent_default();
                    let user = pick.get_untracked();
                    if !user.is_empty() { change.dispatch((true, user)); }
                }>
                    <label class="sr-only" for="add-participant">"Add a participant"</label>
                    {move || {
                        let candidates = candidates();
                        if candidates.is_empty() {
                            // The group lists no one to pick (the live service's
                            // groups list no members): a user id, typed.
                            view! {
                                <input id="add-participant" data-testid="add-participant-id" placeholder="User id to add"
                                    maxlength="128" prop:value=pick on:input=move |ev| pick.set(event_target_value(&ev).trim().to_owned()) />
                            }.into_any()
                        } else {
                            view! {
                                <select id="add-participant" data-testid="add-participant-select" on:change=move |ev| pick.set(event_target_value(&ev))>
                                    <option value="">"Add a participant…"</option>
                                    {candidates.into_iter().map(|m| view! {
                                        <option value=m.user_id.clone()>{format!("{} ({})", m.name, if m.kind == mochat_api::UserType::Agent { "agent" } else { "person" })}</option>
                                    }).collect_view()}
                                </select>
                            }.into_any()
                        }
                    }}
                    <button class="small" type="submit" data-testid="add-participant">"Add"</button>
                </form>
            })}
        </div>
    }
}

/// Create a session: a title and participants from the workspace group.
#[component]
fn NewSessionDialog(
    on_close: impl Fn() + Copy + Send + Sync + 'static,
    on_created: impl Fn(Session) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let typed = RwSignal::new(String::new());
    let bad_id = RwSignal::new(None::<String>);
    let api = use_api();
    let group = LocalResource::new(move || api.workspace_group());
    let create = Action::new_local(move |(participants, title): &(Vec<String>, String)| {
        let title = (!title.trim().is_empty()).then(|| title.trim().to_owned());
        api.create_session(participants.clone(), title)
    });
    Effect::new(move |_| {
        if let Some(Ok(s)) = create.value().get() {
            on_created(s);
        }
    });
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    // Focus moves into the dialog (`autofocus` works only once per page),
    // so Esc and the keyboard reach it at once.
    let first = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = first.get() {
            let _ = input.focus();
        }
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            on_close();
        }
    };
    view! {
        <div class="backdrop" on:click=move |_| on_close()></div>
        <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="new-session-title" data-testid="new-session-dialog" on:keydown=on_key>
            <form on:submit=move |ev| {
                ev.prevent_default();
                match typed_ids(&typed.get_untracked()) {
                    Ok(ids) => {
                        bad_id.set(None);
                        let mut all = chosen.get_untracked();
                        all.extend(ids.into_iter().filter(|id| !all.contains(id)).collect::<Vec<_>>());
                        create.dispatch((all, title.get_untracked()));
                    }
                    Err(bad) => bad_id.set(Some(bad)),
                }
            }>
                <h2 id="new-session-title">"New session"</h2>
                <label for="session-title">"Title"</label>
                <input id="session-title" data-testid="session-title-input" maxlength="200" node_ref=first
                    prop:value=title on:input=move |ev| title.set(event_target_value(&ev)) />
                <fieldset>
                    <legend>"Participants"</legend>
                    {move || match group.get() {
                        None => view! { <p class="muted">"Loading members…"</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                        Some(Ok(g)) => g.members.into_iter().map(|m| {
                            let uid = m.user_id.clone();
                            let uid2 = uid.clone();
                            view! {
                                <label class="check">
                                    <input type="checkbox" data-testid="participant-option" value=uid.clone()
                                        prop:checked=move || chosen.with(|c| c.contains(&uid))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            chosen.update(|c| { c.retain(|x| x != &uid2); if on { c.push(uid2.clone()); } });
                                        } />
                                    {m.name.clone()} " " <KindBadge kind=m.kind />
                                </label>
                            }
                        }).collect_view().into_any(),
                    }}
                    {move || group.get().and_then(Result::ok).is_some_and(|g| g.members.is_empty()).then(|| view! {
                        <p class="muted small" data-testid="no-members">"This group lists no members to pick: add people by their user id."</p>
                    })}
                    <label for="participant-ids">"User ids (optional, separated by commas or spaces)"</label>
                    <input id="participant-ids" data-testid="participant-ids" maxlength="2000"
                        prop:value=typed on:input=move |ev| typed.set(event_target_value(&ev)) />
                    {move || bad_id.get().map(|bad| view! {
                        <p class="error" role="alert">{format!("\u{201c}{bad}\u{201d} is not a user id: letters, digits, - and _ only.")}</p>
                    })}
                </fieldset>
                <ErrorNote error=error />
                <div class="actions">
                    <button type="button" class="ghost" on:click=move |_| on_close()>"Cancel"</button>
                    <button type="submit" class="primary" data-testid="create-session" disabled=move || create.pending().get()>"Create"</button>
                </div>
            </form>
        </div>
    }
}

/// User ids typed into a field, separated by commas or white space; the
/// first that is not an id is the error.
pub fn typed_ids(text: &str) -> Result<Vec<String>, String> {
    let mut ids: Vec<String> = Vec::new();
    for id in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        if !mochat_api::routes::is_valid_id(id) {
            return Err(id.chars().take(40).collect());
        }
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::typed_ids;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn typed_ids_are_split_checked_and_unique() {
        assert_eq!(typed_ids(""), Ok(vec![]));
        assert_eq!(
            typed_ids(" u1, u2  u1,\nu_3 "),
            Ok(vec!["u1".to_owned(), "u2".to_owned(), "u_3".to_owned()])
        );
        assert_eq!(typed_ids("u1, bad/id"), Err("bad/id".to_owned()));
    }
}
