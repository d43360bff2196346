//! The workspace group: its panels (read and post), its members, and joining
//! another group by invite code.

use leptos::prelude::*;

use crate::api::use_api;
use crate::browser;
use crate::conversation::{Conversation, Source};
use crate::widgets::{ErrorNote, reload_when_transient};

#[component]
pub fn PanelsPage() -> impl IntoView {
    let api = use_api();
    let group = LocalResource::new(move || api.workspace_group());
    reload_when_transient(group);
    let selected = RwSignal::new(None::<String>);
    // On a wide screen the first panel opens beside the list; on a phone the
    // list comes first, as for sessions.
    Effect::new(move |_| {
        if selected.get_untracked().is_none()
            && browser::is_wide()
            && let Some(Ok(g)) = group.get()
        {
            selected.set(g.panels.first().map(|p| p.panel_id.clone()));
        }
    });
    let name_of = move |id: &str| {
        group
            .with(|g| match g {
                Some(Ok(g)) => g
                    .panels
                    .iter()
                    .find(|p| p.panel_id == id)
                    .map(|p| format!("# {}", p.name)),
                _ => None,
            })
            .unwrap_or_default()
    };
    view! {
        <div class="split" class:has-selection=move || selected.get().is_some()>
            <aside class="sidebar" aria-label="Panels">
                {move || match group.get() {
                    None => view! { <p class="muted" data-testid="loading">"Loading the group…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                    Some(Ok(g)) => view! {
                        <h2 data-testid="group-name">{g.name.clone()}</h2>
                        {g.invite_code.clone().map(|c| view! { <p class="muted small">"Invite code: " <code data-testid="invite-code">{c}</code></p> })}
                        <ul class="panel-list" data-testid="panel-list">
                            {g.panels.into_iter().map(|p| {
                                let id = p.panel_id.clone();
                                let id2 = id.clone();
                                view! {
                                    <li><button class="session-item" data-testid="panel-item"
                                        aria-current=move || (selected.get().as_deref() == Some(id.as_str())).then_some("true")
                                        on:click=move |_| selected.set(Some(id2.clone()))>
                                        {format!("# {}", p.name)}
                                    </button></li>
                                }
                            }).collect_view()}
                        </ul>
                        <h3 class="small-head">{format!("Members ({})", g.members.len())}</h3>
                        <ul class="members">
                            {g.members.into_iter().map(|m| view! { <li>{m.name}</li> }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
                <JoinGroup on_joined=move || group.refetch() />
            </aside>
            <section class="pane">
                {move || selected.get().map(|id| view! {
                    <div class="session-view" data-testid="panel-view">
                        <header class="session-head">
                            <button class="ghost back" aria-label="Back to the panels" on:click=move |_| selected.set(None)>"←"</button>
                            <h2 class="grow" data-testid="panel-title">{name_of(&id)}</h2>
                        </header>
                        <Conversation source=Source::Panel(id) saved_replies=true />
                    </div>
                })}
            </section>
        </div>
    }
}

/// Join a group by invite code.
#[component]
fn JoinGroup(on_joined: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let api = use_api();
    let join = Action::new_local(move |code: &String| api.join_group(code.trim().to_owned()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = join.value().get() {
            on_joined();
        }
    });
    let error = Signal::derive(move || join.value().get().and_then(Result::err));
    view! {
        <form class="join" on:submit=move |ev| { ev.prevent_default(); join.dispatch(code.get_untracked()); }>
            <label for="invite">"Join a group by invite code"</label>
            <div class="inline">
                <input id="invite" data-testid="invite-input" required prop:value=code on:input=move |ev| code.set(event_target_value(&ev)) />
                <button type="submit" class="small" data-testid="join">"Join"</button>
            </div>
            {move || join.value().get().and_then(Result::ok).map(|r| view! {
                <p class="ok small" role="status" data-testid="joined">{format!("Joined group {}", r.group_id)}</p>
            })}
            <ErrorNote error=error />
        </form>
    }
}
