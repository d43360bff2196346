//! The connection state shown at the bottom of every screen.

use std::time::Duration;

use leptos::prelude::*;
use mochat_api::edge::UpstreamState;

use crate::api::use_api;
use crate::app::AppState;
use crate::browser;

/// How the dashboard is connected to MoChat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    /// First contact not made yet.
    Connecting,
    /// The worker answers and reaches MoChat.
    Live,
    /// A call failed; retrying with back-off.
    Reconnecting,
    /// The browser is offline or the worker is unreachable.
    Offline,
}

/// The status line: live, reconnecting or offline, always visible.
#[component]
pub fn StatusLine() -> impl IntoView {
    let state = expect_context::<AppState>();
    let api = use_api();
    let health = LocalResource::new(move || api.health());
    // Re-check every 30 s while the tab is visible.
    let handle = set_interval_with_handle(
        move || {
            if browser::is_visible() {
                health.refetch();
            }
        },
        Duration::from_secs(30),
    )
    .ok();
    on_cleanup(move || {
        if let Some(h) = handle {
            h.clear();
        }
    });
    Effect::new(move |_| match health.get() {
        Some(Ok(h))
            if h.ok
                && h.upstream == UpstreamState::Reachable
                && state.conn.get_untracked() != Conn::Reconnecting =>
        {
            state.conn.set(Conn::Live);
        }
        Some(Ok(h)) if h.ok && h.upstream == UpstreamState::Reachable => {}
        Some(_) => state.conn.set(Conn::Offline),
        None => {}
    });
    let text = move || match state.conn.get() {
        Conn::Connecting => ("checking", "Connecting to MoChat…"),
        Conn::Live => ("live", "Live: the MoChat API is reachable"),
        Conn::Reconnecting => ("reconnecting", "Reconnecting…"),
        Conn::Offline => (
            "offline",
            "Offline: the MoChat API is unreachable; retrying",
        ),
    };
    view! {
        <footer class="status" data-testid="status" data-state=move || text().0>
            <span class="dot" aria-hidden="true"></span>
            <span role="status">{move || text().1}</span>
        </footer>
    }
}
