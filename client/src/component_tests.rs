//! Components mounted in a real browser page (wasm-bindgen-test in headless
//! Chromium): hostile message content stays inert, the rate-limit banner counts down.

use leptos::prelude::*;
use mochat_api::Message;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::app::AppState;
use crate::conn::Conn;
use crate::message::MessageItem;
use crate::rate::RateInfo;
use crate::widgets::RateBanner;

fn container() -> web_sys::HtmlElement {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let div = document.create_element("div").expect("a div");
    document
        .body()
        .expect("a body")
        .append_child(&div)
        .expect("appended");
    div.unchecked_into()
}

fn message(content: &str) -> Message {
    let mut m = crate::timeline::tests::msg("m1", "2026-11-29T07:14:43.123Z");
    m.content = content.to_owned();
    m.author_info.name = "<b onmouseover=alert(1)>Mallory</b>".into();
    m.author_info.avatar = Some("javascript:alert(1)".into());
    m
}

/// A message by an author with `avatar`, mounted and rendered (it stays
/// mounted while the second value lives).
async fn message_with_avatar(avatar: &str) -> (web_sys::HtmlElement, impl Sized) {
    let el = container();
    let mut m = message("hi");
    m.author_info.avatar = Some(avatar.to_owned());
    let mounted = leptos::mount::mount_to(
        el.clone(),
        move || view! { <MessageItem message=m.clone() /> },
    );
    leptos::task::tick().await;
    (el, mounted)
}

#[wasm_bindgen_test]
async fn avatars_from_other_sites_are_never_loaded() {
    for (avatar, loads) in [
        ("https://tracker.example/pixel.png", false),
        ("http://tracker.example/pixel.png", false),
        ("//tracker.example/pixel.png", false),
        ("/\\tracker.example/pixel.png", false),
        ("data:image/png;base64,AAAA", false),
        ("/avatars/ada.png", true),
    ] {
        let (el, _mounted) = message_with_avatar(avatar).await;
        let imgs = el.query_selector_all("img").expect("query").length();
        assert_eq!(imgs, u32::from(loads), "{avatar}");
        if !loads {
            assert!(
                el.query_selector("span.avatar").expect("query").is_some(),
                "initials instead of {avatar}"
            );
        }
    }
}

/// With a `<meta>` listing an origin (the worker writes it when the operator
/// set `AVATAR_ORIGINS`), pictures from that origin load, others still not.
#[wasm_bindgen_test]
async fn avatars_load_from_the_origins_the_page_lists_only() {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let meta = document.create_element("meta").expect("a meta");
    meta.set_attribute("name", mochat_api::avatars::META_NAME)
        .expect("name");
    meta.set_attribute("content", "https://avatars.example")
        .expect("content");
    document
        .head()
        .expect("a head")
        .append_child(&meta)
        .expect("added");
    for (avatar, loads) in [
        ("https://avatars.example/ada.png", true),
        ("https://avatars.example.evil.test/ada.png", false),
        ("https://tracker.example/pixel.png", false),
        ("http://avatars.example/ada.png", false),
    ] {
        let (el, _mounted) = message_with_avatar(avatar).await;
        let imgs = el.query_selector_all("img").expect("query").length();
        assert_eq!(imgs, u32::from(loads), "{avatar}");
    }
    meta.remove();
}

#[wasm_bindgen_test]
async fn hostile_content_and_names_render_as_text() {
    let el = container();
    let hostile = "<img src=x onerror=\"window.__pwned=1\"> <script>window.__pwned=1</script> \
                   [x](javascript:window.__pwned=1) https://example.com/ok";
    let _handle = leptos::mount::mount_to(
        el.clone(),
        move || view! { <MessageItem message=message(hostile) /> },
    );
    leptos::task::tick().await;
    assert_eq!(
        el.query_selector_all("img, script, b")
            .expect("query")
            .length(),
        0
    );
    let links = el.query_selector_all("a").expect("query");
    assert_eq!(links.length(), 1, "only the http(s) URL is a link");
    let link: web_sys::Element = links.get(0).expect("a link").unchecked_into();
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://example.com/ok")
    );
    assert_eq!(
        link.get_attribute("rel").as_deref(),
        Some("noopener noreferrer")
    );
    let text = el.text_content().unwrap_or_default();
    assert!(
        text.contains("<script>window.__pwned=1</script>"),
        "shown as text: {text}"
    );
    assert!(text.contains("<b onmouseover=alert(1)>Mallory</b>"));
    let pwned = js_sys::Reflect::get(&js_sys::global(), &"__pwned".into()).expect("global");
    assert!(pwned.is_undefined());
}

#[wasm_bindgen_test]
async fn rate_banner_counts_down_from_retry_after() {
    let el = container();
    let state = AppState {
        rate: RwSignal::new(None),
        conn: RwSignal::new(Conn::Live),
        agent: RwSignal::new(None),
        signed_out: RwSignal::new(0),
        unseen: RwSignal::new(0),
    };
    let _handle = leptos::mount::mount_to(el.clone(), move || {
        provide_context(state);
        view! { <RateBanner /> }
    });
    leptos::task::tick().await;
    assert!(
        el.query_selector("[data-testid=rate-banner]")
            .expect("query")
            .is_none()
    );
    state.rate.set(Some(RateInfo {
        limit: Some(120),
        remaining: 0,
        reset_secs: 3,
        retry_after: Some(3),
    }));
    leptos::task::tick().await;
    let banner = el
        .query_selector("[data-testid=rate-banner]")
        .expect("query")
        .expect("banner shows");
    assert!(banner.text_content().unwrap_or_default().contains("3 s"));
    gloo_timers::future::sleep(std::time::Duration::from_millis(1100)).await;
    leptos::task::tick().await;
    let text = el.text_content().unwrap_or_default();
    assert!(text.contains("2 s"), "counts down: {text}");
}
