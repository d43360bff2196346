//! The application shell: sign-in gate, top bar (sections, agent picker,
//! sign-out), the rate-limit banner and the connection status line.

use leptos::prelude::*;
use mochat_api::ErrorCode;
use mochat_api::edge::EdgeAgent;

use crate::agents::AgentsPage;
use crate::alerts;
use crate::api::{Api, ApiResult, use_api};
use crate::boot::SIGNED_IN_HINT;
use crate::browser;
use crate::conn::{Conn, StatusLine};
use crate::keys::{self, Shortcut, ShortcutsDialog};
use crate::live::Live;
use crate::panels::PanelsPage;
use crate::rate::RateInfo;
use crate::sessions::SessionsPage;
use crate::unread::Unread;
use crate::widgets::{BudgetMeter, ErrorNote, RateBanner};

/// The sections of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Sessions,
    Panels,
    Agents,
}

impl Section {
    fn label(self) -> &'static str {
        match self {
            Self::Sessions => "Sessions",
            Self::Panels => "Panels",
            Self::Agents => "Agents",
        }
    }
}

/// App-wide state, provided as context.
#[derive(Clone, Copy)]
pub struct AppState {
    /// The last budget the worker reported.
    pub rate: RwSignal<Option<RateInfo>>,
    /// The live connection's state.
    pub conn: RwSignal<Conn>,
    /// The agent the dashboard acts as (`None`: the worker's default).
    pub agent: RwSignal<Option<String>>,
    /// Bumped when the user is found signed out.
    pub signed_out: RwSignal<u32>,
    /// Messages of the open conversation that arrived while the tab was hidden.
    pub unseen: RwSignal<u32>,
}

impl AppState {
    /// Fresh state, provided as context, hearing every answer's budget.
    pub fn provide() -> Self {
        let state = Self {
            rate: RwSignal::new(None),
            conn: RwSignal::new(Conn::Connecting),
            agent: RwSignal::new(None),
            signed_out: RwSignal::new(0),
            unseen: RwSignal::new(0),
        };
        provide_context(state);
        Api::provide(state.agent, state.rate);
        state
    }
}

/// The whole dashboard.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::provide();
    let api = use_api();

    // Signed in last time: the dashboard starts at once, its first calls in
    // parallel with the check (a 401 from any of them signs out). The hint
    // is no credential: the cookie is HttpOnly, the worker decides.
    let signed_in = RwSignal::new(browser::load(SIGNED_IN_HINT).map(|_| true));
    let check = LocalResource::new(move || api.session_status());
    Effect::new(move |_| {
        if let Some(r) = check.get() {
            // Only a change re-renders (the dashboard would load again).
            let now = Some(r.is_ok());
            if signed_in.get_untracked() != now {
                signed_in.set(now);
            }
        }
    });
    Effect::new(move |_| match signed_in.get() {
        Some(true) => browser::store(SIGNED_IN_HINT, Some("1")),
        Some(false) => browser::store(SIGNED_IN_HINT, None),
        None => {}
    });
    Effect::new(move |prev: Option<u32>| {
        let n = state.signed_out.get();
        if prev.is_some_and(|p| p != n) {
            signed_in.set(Some(false));
        }
        n
    });

    view! {
        <div class="shell">
            {move || match signed_in.get() {
                None => view! { <div class="center muted" data-testid="loading">"Loading…"</div> }.into_any(),
                Some(false) => view! { <SignIn on_done=move || signed_in.set(Some(true)) /> }.into_any(),
                Some(true) => view! { <Dashboard on_sign_out=move || signed_in.set(Some(false)) /> }.into_any(),
            }}
            <StatusLine />
        </div>
    }
}

/// The password form.
#[component]
fn SignIn(on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let api = use_api();
    let sign_in = Action::new_local(move |password: &String| api.sign_in(password.clone()));
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_in.value().get() {
            on_done();
        }
    });
    let error = move || sign_in.value().get().and_then(Result::err);
    view! {
        <main class="signin">
            <form
                class="card"
                data-testid="signin"
                on:submit=move |ev| {
                    ev.prevent_default();
                    sign_in.dispatch(password.get_untracked());
                }
            >
                <h1 class="brand" data-testid="brand">"MoChat"</h1>
                <p class="muted">"Sign in to operate your agents."</p>
                <label for="password">"Dashboard password"</label>
                <input
                    id="password"
                    type="password"
                    autocomplete="current-password"
                    required
                    autofocus
                    prop:value=password
                    on:input=move |ev| password.set(event_target_value(&ev))
                />
                <button class="primary" type="submit" disabled=move || sign_in.pending().get()>
                    {move || if sign_in.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
                <ErrorNote error=Signal::derive(error) />
            </form>
        </main>
    }
}

/// Top bar and the current section.
#[component]
fn Dashboard(on_sign_out: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let state = expect_context::<AppState>();
    let section = RwSignal::new(Section::Sessions);
    let api = use_api();
    let agents = LocalResource::new(move || api.agents());
    let sign_out = Action::new_local(move |everywhere: &bool| api.sign_out(*everywhere));
    Effect::new(move |_| {
        if sign_out.value().get().is_some() {
            on_sign_out();
        }
    });
    Effect::new(move |_| {
        if let Some(Err(e)) = agents.get()
            && e.code == ErrorCode::Unauthorized
        {
            on_sign_out();
        }
    });
    let agent_list = move || {
        agents
            .get()
            .and_then(Result::ok)
            .map(|l| l.agents)
            .unwrap_or_default()
    };
    let pick = move |id: String| {
        let id = (!id.is_empty()).then_some(id);
        // The budget shown is the new agent's, from its first answer on.
        state.rate.set(None);
        state.agent.set(id);
    };
    // The user id of the agent acted as (the default's, when none is picked).
    let current = Memo::new(move |_| {
        let picked = state.agent.get();
        agent_list()
            .into_iter()
            .find(|a| match &picked {
                Some(id) => a.agent_id == *id,
                None => a.is_default,
            })
            .map(|a| a.agent_id)
    });

    // `?` lists the keyboard shortcuts, from any section.
    let help = RwSignal::new(false);
    keys::listen(move |s| {
        let ours = s == Shortcut::ShowHelp;
        if ours {
            help.set(true);
        }
        ours
    });

    view! {
        {move || help.get().then(|| view! { <ShortcutsDialog on_close=move || help.set(false) /> })}
        <header class="topbar">
            <h1 class="brand" data-testid="brand">"MoChat"</h1>
            <nav aria-label="Sections">
                {[Section::Sessions, Section::Panels, Section::Agents]
                    .into_iter()
                    .map(|s| {
                        view! {
                            <button
                                class="nav-item"
                                data-testid=format!("nav-{}", s.label().to_lowercase())
                                aria-current=move || (section.get() == s).then_some("page")
                                on:click=move |_| section.set(s)
                            >
                                {s.label()}
                            </button>
                        }
                    })
                    .collect_view()}
            </nav>
            <span class="spacer"></span>
            <BudgetMeter />
            <AgentPicker agents=Signal::derive(agent_list) on_pick=pick />
            <NotifyToggle />
            <SoundToggle />
            <AccountMenu sign_out=sign_out />
        </header>
        <RateBanner />
        <main class="content">
            {move || {
                // A new scope when the agent changes: it sees other sessions.
                let _ = state.agent.get();
                view! { <AgentScope section=section agent=current /> }
            }}
        </main>
    }
}

/// Everything that belongs to the agent acted as: its live state (the
/// session list, unread counts, the long poll), the title badge, and the
/// current section.
#[component]
fn AgentScope(section: RwSignal<Section>, agent: Memo<Option<String>>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let live = Live::provide(agent.get_untracked().unwrap_or_default());
    Effect::new(move |_| {
        if let Some(id) = agent.get() {
            live.set_agent(id);
        }
    });
    Effect::new(move |_| {
        let n = live.unread.with(Unread::total) + state.unseen.get();
        browser::set_title(&if n > 0 {
            format!("({n}) MoChat")
        } else {
            "MoChat".to_owned()
        });
    });
    on_cleanup(|| browser::set_title("MoChat"));
    move || match section.get() {
        Section::Sessions => view! { <SessionsPage /> }.into_any(),
        Section::Panels => view! { <PanelsPage /> }.into_any(),
        Section::Agents => view! { <AgentsPage /> }.into_any(),
    }
}

/// Which agent the dashboard acts as.
#[component]
fn AgentPicker(
    agents: Signal<Vec<EdgeAgent>>,
    on_pick: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <label class="agent-picker">
            <span class="sr-only">"Act as agent"</span>
            <select
                data-testid="agent-picker"
                aria-label="Act as agent"
                on:change=move |ev| on_pick(event_target_value(&ev))
            >
                {move || {
                    agents.get()
                        .into_iter()
                        .map(|a: EdgeAgent| {
                            let value = if a.is_default { String::new() } else { a.agent_id.clone() };
                            let selected = state.agent.get().unwrap_or_default() == value;
                            view! {
                                <option value=value selected=selected>
                                    {format!("{} (@{})", a.name, a.username)}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
        </label>
    }
}

/// Desktop notifications on or off (remembered in the browser).
#[component]
fn NotifyToggle() -> impl IntoView {
    view! {
        <SettingToggle
            testid="notify-toggle"
            what="Notifications"
            title="Desktop notifications for new messages in sessions you have not muted (and in the open one while this tab is hidden)"
            read=browser::notifications_on
            write=browser::set_notifications
        />
    }
}

/// The chime for new messages on or off (remembered in the browser).
#[component]
fn SoundToggle() -> impl IntoView {
    view! {
        <SettingToggle
            testid="sound-toggle"
            what="Sound"
            title="A chime for new messages in sessions you have not muted"
            read=alerts::sound_on
            write=alerts::set_sound
        />
    }
}

/// A setting of this browser, shown as "<what> on" or "<what> off".
#[component]
fn SettingToggle(
    testid: &'static str,
    what: &'static str,
    title: &'static str,
    read: fn() -> bool,
    write: fn(bool),
) -> impl IntoView {
    let on = RwSignal::new(read());
    view! {
        <button
            class="ghost notify-toggle"
            data-testid=testid
            aria-pressed=move || on.get().to_string()
            title=title
            on:click=move |_| {
                let next = !on.get_untracked();
                write(next);
                on.set(next);
            }
        >
            {move || format!("{what} {}", if on.get() { "on" } else { "off" })}
        </button>
    }
}

/// Signing out of this browser, or everywhere.
#[component]
fn AccountMenu(sign_out: Action<bool, ApiResult<()>>) -> impl IntoView {
    view! {
        <details class="menu" data-testid="account-menu">
            <summary class="ghost">"Sign out"</summary>
            <div class="menu-items">
                <button class="ghost" data-testid="sign-out" on:click=move |_| { sign_out.dispatch(false); }>
                    "Sign out of this browser"
                </button>
                <button
                    class="ghost"
                    data-testid="sign-out-everywhere"
                    title="End every dashboard session, on every device (e.g. after losing a laptop)"
                    on:click=move |_| { sign_out.dispatch(true); }
                >
                    "Sign out everywhere"
                </button>
            </div>
        </details>
    }
}
