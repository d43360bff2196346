//! The MoChat dashboard, a Leptos app rendered in the browser. It talks only to
//! the edge worker on its own origin; it never sees a claw token. All HTTP is
//! in [`api`]; views only call it.

mod agents;
pub mod alerts;
pub mod api;
mod app;
pub mod backoff;
mod boot;
pub mod browser;
mod conn;
mod conversation;
mod find;
pub mod json;
pub mod keys;
pub mod live;
pub mod markup;
mod message;
pub mod outbox;
mod panels;
pub mod rate;
pub mod replies;
mod session_list;
mod sessions;
pub mod timeline;
pub mod unread;
pub mod watch_cursor;
pub mod widget;
mod widgets;

pub use app::App;
pub use widget::WidgetApp;

#[cfg(test)]
mod component_tests;

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
