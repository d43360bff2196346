//! Small shared pieces of UI: error notes, the rate-limit banner, avatars.

use std::time::Duration;

use leptos::prelude::*;
use mochat_api::{ApiError, User, UserType, avatars};

use crate::app::AppState;
use crate::backoff::is_transient;
use crate::markup::initials;

/// An error from the API, shown with the envelope's message.
#[component]
pub fn ErrorNote(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <p class="error" role="alert" data-testid="error">
                    {e.message}
                </p>
            }
        })
    }
}

/// Runs `tick` every second while the calling component is mounted.
fn every_second(tick: impl Fn() + 'static) {
    let handle = set_interval_with_handle(tick, Duration::from_secs(1)).ok();
    on_cleanup(move || {
        if let Some(h) = handle {
            h.clear();
        }
    });
}

/// Counts down while the budget is spent (`Retry-After` / `RateLimit`): the
/// agent's in the dashboard, the visitor's own in the widget (`visitor`).
#[component]
pub fn RateBanner(#[prop(optional)] visitor: bool) -> impl IntoView {
    let state = expect_context::<AppState>();
    let left = RwSignal::new(0u64);
    Effect::new(move |_| {
        if let Some(secs) = state.rate.get().and_then(|r| r.wait_secs()) {
            left.set(secs);
        }
    });
    every_second(move || {
        if left.get_untracked() > 0 {
            left.update(|l| *l -= 1);
        }
    });
    move || {
        (left.get() > 0).then(|| {
            view! {
                <div class="banner warn" role="status" data-testid="rate-banner">
                    {if visitor {
                        format!("You are sending faster than this chat allows. You can send again in {} s.", left.get())
                    } else {
                        format!(
                            "This agent reached its limit of 120 requests per minute. Sending resumes in {} s.",
                            left.get()
                        )
                    }}
                </div>
            }
        })
    }
}

/// The agent's budget in the top bar: what is left of its requests this
/// minute, quietly; while it is spent, the countdown until it is back.
#[component]
pub fn BudgetMeter() -> impl IntoView {
    let state = expect_context::<AppState>();
    let left = RwSignal::new(0u64);
    Effect::new(move |_| {
        left.set(state.rate.get().and_then(|r| r.wait_secs()).unwrap_or(0));
    });
    every_second(move || {
        let n = left.get_untracked();
        if n == 1 {
            // The oldest request left the window: at least one is back.
            state.rate.update(|r| {
                if let Some(r) = r {
                    r.remaining = r.remaining.max(1);
                    r.retry_after = None;
                }
            });
        }
        if n > 0 {
            left.set(n - 1);
        }
    });
    move || {
        let rate = state.rate.get()?;
        let limit = rate.limit.unwrap_or(120);
        Some(if left.get() > 0 {
            view! {
                <span class="budget spent" data-testid="budget" data-state="spent" role="status">
                    {format!("Budget spent · back in {} s", left.get())}
                </span>
            }
            .into_any()
        } else {
            let pct = (u64::from(rate.remaining) * 100 / u64::from(limit.max(1))).min(100);
            view! {
                <span
                    class="budget"
                    data-testid="budget"
                    data-state="ok"
                    title="Requests this agent has left in the current minute"
                >
                    <span class="budget-bar" aria-hidden="true">
                        <span class="budget-fill" style:width=format!("{pct}%")></span>
                    </span>
                    <span class="budget-text">{format!("{}/{limit}", rate.remaining)}</span>
                </span>
            }
            .into_any()
        })
    }
}

/// A round avatar: the picture when it is on this origin or on one the
/// operator opted into (`AVATAR_ORIGINS`, which the worker writes in the
/// page), else initials. Any other picture is never loaded: it would tell
/// that site when an operator or visitor is here, and from where (the CSP
/// refuses it too).
#[component]
pub fn Avatar(user: User) -> impl IntoView {
    let origins = avatar_origins();
    let safe = user.avatar.filter(|a| avatars::may_load(a, &origins));
    let kind = if user.kind == UserType::Agent {
        "agent"
    } else {
        "person"
    };
    match safe {
        Some(src) => view! { <img class=format!("avatar {kind}") src=src alt="" referrerpolicy="no-referrer" /> }
            .into_any(),
        None => view! { <span class=format!("avatar {kind}") aria-hidden="true">{initials(&user.name)}</span> }
            .into_any(),
    }
}

/// "agent" or "person".
#[component]
pub fn KindBadge(kind: UserType) -> impl IntoView {
    let (class, label) = match kind {
        UserType::Agent => ("badge agent", "agent"),
        UserType::User => ("badge person", "person"),
    };
    view! { <span class=class>{label}</span> }
}

/// Loads `resource` again by itself when it failed for a passing reason
/// ([`again_when_transient`]), so a page never stays stuck on such an error.
pub fn reload_when_transient<T: Clone + 'static>(resource: LocalResource<Result<T, ApiError>>) {
    again_when_transient(
        move || resource.get().and_then(Result::err),
        move || resource.refetch(),
    );
}

/// Runs `again` by itself when `failed` (tracked) reports an error for a
/// passing reason: the budget spent, after the countdown; the server
/// unreachable, after a few seconds.
pub fn again_when_transient(
    failed: impl Fn() -> Option<ApiError> + 'static,
    again: impl Fn() + Copy + 'static,
) {
    let state = expect_context::<AppState>();
    Effect::new(move |_| {
        if failed().is_some_and(|e| is_transient(&e)) {
            let wait = state
                .rate
                .get_untracked()
                .and_then(|r| r.wait_secs())
                .unwrap_or(5)
                .clamp(1, 60);
            set_timeout(again, Duration::from_secs(wait));
        }
    });
}

/// The avatar origins the page was served with (its `<meta>`); none when
/// it has none, or a list the shared rule does not accept.
pub fn avatar_origins() -> Vec<String> {
    let selector = format!("meta[name=\"{}\"]", avatars::META_NAME);
    document()
        .query_selector(&selector)
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"))
        .and_then(|list| avatars::parse_origins(&list).ok())
        .unwrap_or_default()
}
