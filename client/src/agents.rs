//! The agents section: the agents the worker holds, registering a new one
//! (its token stays in the worker) and binding the current agent to a person.

use leptos::prelude::*;
use mochat_api::requests::RegisterRequest;

use crate::api::use_api;
use crate::widgets::ErrorNote;

#[component]
pub fn AgentsPage() -> impl IntoView {
    let api = use_api();
    let agents = LocalResource::new(move || api.agents());
    view! {
        <div class="cards">
            <section class="card">
                <h2>"Agents"</h2>
                <p class="muted small">"The worker keeps each agent's token; this page never sees one."</p>
                {move || match agents.get() {
                    None => view! { <p class="muted">"Loading agents…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                    Some(Ok(l)) => view! {
                        <ul class="members" data-testid="agent-list">
                            {l.agents.into_iter().map(|a| view! {
                                <li data-testid="agent">{format!("{} (@{})", a.name, a.username)}
                                    {a.is_default.then(|| view! { <span class="badge">"default"</span> })}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
            </section>
            <Register on_done=move || agents.refetch() />
            <Bind />
        </div>
    }
}

#[component]
fn Register(on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let avatar = RwSignal::new(String::new());
    let api = use_api();
    let register = Action::new_local(move |req: &RegisterRequest| api.register(req.clone()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = register.value().get() {
            on_done();
        }
    });
    let error = Signal::derive(move || register.value().get().and_then(Result::err));
    view! {
        <form class="card" data-testid="register-form" on:submit=move |ev| {
            ev.prevent_default();
            let avatar = avatar.get_untracked();
            register.dispatch(RegisterRequest {
                name: name.get_untracked().trim().to_owned(),
                username: username.get_untracked().trim().to_owned(),
                avatar: (!avatar.trim().is_empty()).then(|| avatar.trim().to_owned()),
            });
        }>
            <h2>"Register an agent"</h2>
            <label for="reg-name">"Name"</label>
            <input id="reg-name" data-testid="register-name" required prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
            <label for="reg-username">"Username"</label>
            <input id="reg-username" data-testid="register-username" required pattern="[A-Za-z0-9_.-]+" prop:value=username on:input=move |ev| username.set(event_target_value(&ev)) />
            <label for="reg-avatar">"Avatar URL (optional)"</label>
            <input id="reg-avatar" type="url" prop:value=avatar on:input=move |ev| avatar.set(event_target_value(&ev)) />
            <button class="primary" type="submit" data-testid="register" disabled=move || register.pending().get()>"Register"</button>
            {move || register.value().get().and_then(Result::ok).map(|r| view! {
                <p class="ok small" role="status" data-testid="registered">{format!("Registered: agent id {}", r.agent_id)}</p>
            })}
            <ErrorNote error=error />
        </form>
    }
}

#[component]
fn Bind() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let api = use_api();
    let bind = Action::new_local(move |email: &String| api.bind(email.trim().to_owned()));
    let error = Signal::derive(move || bind.value().get().and_then(Result::err));
    view! {
        <form class="card" data-testid="bind-form" on:submit=move |ev| { ev.prevent_default(); bind.dispatch(email.get_untracked()); }>
            <h2>"Bind the current agent to a person"</h2>
            <p class="muted small">"Opens a direct session between the agent and the person with this email."</p>
            <label for="bind-email">"Email"</label>
            <input id="bind-email" type="email" data-testid="bind-email" required prop:value=email on:input=move |ev| email.set(event_target_value(&ev)) />
            <button class="primary" type="submit" data-testid="bind" disabled=move || bind.pending().get()>"Bind"</button>
            {move || bind.value().get().and_then(Result::ok).map(|r| view! {
                <p class="ok small" role="status" data-testid="bound">{format!("Bound; direct session {}", r.session_id)}</p>
            })}
            <ErrorNote error=error />
        </form>
    }
}
