//! The page's head starts the first screen's reads before the app has
//! downloaded (`index.html`'s boot script, for a browser that was signed in
//! last time); [`take`] hands the app each of those answers once, so the
//! reads overlap the download instead of following it. [`urls`] are the
//! reads the script starts: a test checks the page names exactly these.

use js_sys::{Object, Promise, Reflect};
use mochat_api::Route;
use mochat_api::edge::{AGENTS_PATH, HEALTH_PATH, SESSION_PATH};
use mochat_api::requests::PageQuery;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Where the boot script leaves its answers (`window.mochatBoot`: URL → promise).
const GLOBAL: &str = "mochatBoot";

/// Where the dashboard remembers that it was signed in (`localStorage`).
pub const SIGNED_IN_HINT: &str = "mochat.signedIn";

/// Sessions the list shows at first (more arrive as they change).
pub const FIRST_PAGE: u32 = 50;

/// The reads the boot script starts: the sign-in check, the worker's
/// health, the agents and the default agent's first page of sessions.
fn urls() -> [String; 4] {
    [
        SESSION_PATH.to_owned(),
        HEALTH_PATH.to_owned(),
        AGENTS_PATH.to_owned(),
        Route::ListSessions {
            query: PageQuery {
                limit: Some(FIRST_PAGE),
                before: None,
            },
        }
        .api_target(),
    ]
}

/// The boot script's answer for a GET of `url` (made as the default agent),
/// once; `None` when it started none, or its read failed (then the app
/// reads for itself).
pub async fn take(url: &str) -> Option<web_sys::Response> {
    if !urls().iter().any(|u| u == url) {
        return None;
    }
    let window: JsValue = web_sys::window()?.into();
    let boot = Reflect::get(&window, &JsValue::from_str(GLOBAL)).ok()?;
    let boot: Object = boot.dyn_into().ok()?;
    let key = JsValue::from_str(url);
    let promise: Promise = Reflect::get(&boot, &key).ok()?.dyn_into().ok()?;
    Reflect::delete_property(&boot, &key).ok()?;
    JsFuture::from(promise).await.ok()?.dyn_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// The page's boot script starts exactly the reads the app takes.
    #[wasm_bindgen_test]
    fn the_page_starts_the_reads_the_app_takes() {
        let page = include_str!("../index.html");
        assert!(page.contains(&format!("localStorage.getItem(\"{SIGNED_IN_HINT}\")")));
        let start = page.find("const urls = [").expect("the boot script");
        let list = &page[start..start + page[start..].find(']').unwrap()];
        let named: Vec<&str> = list.split('"').skip(1).step_by(2).collect();
        assert_eq!(named, urls().iter().map(String::as_str).collect::<Vec<_>>());
    }
}
