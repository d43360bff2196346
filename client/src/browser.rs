//! Small wrappers over browser APIs: visibility, online state, storage, time.

use wasm_bindgen::{JsCast, JsValue};

/// Whether the tab is visible.
pub fn is_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .map(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
        .unwrap_or(true)
}

/// True when the window is wider than a phone (the list and the open item
/// fit side by side; the style sheet switches at the same 720 px).
pub fn is_wide() -> bool {
    web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|w| w.as_f64())
        .is_some_and(|w| w > 720.0)
}

/// Whether the browser believes it is online.
pub fn is_online() -> bool {
    web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(true)
}

/// A value from `localStorage`.
pub fn load(key: &str) -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(key)
        .ok()?
}

/// Stores (or, for `None`, removes) a value in `localStorage`.
pub fn store(key: &str, value: Option<&str>) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = match value {
            Some(v) => storage.set_item(key, v),
            None => storage.remove_item(key),
        };
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A random number in [0, 1).
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// Milliseconds since the epoch of an RFC3339 timestamp (NaN if unreadable).
pub fn parse_time(ts: &str) -> f64 {
    js_sys::Date::parse(ts)
}

/// The calendar day of a timestamp in the browser's own language and time
/// zone, e.g. "Sunday, November 29, 2026" (en-US) or "Sonntag, 29. November 2026" (de).
pub fn day_label(ts: &str) -> String {
    let opts = js_sys::Object::new();
    for (k, v) in [
        ("weekday", "long"),
        ("year", "numeric"),
        ("month", "long"),
        ("day", "numeric"),
    ] {
        let _ = js_sys::Reflect::set(&opts, &k.into(), &v.into());
    }
    in_browser_locale(ts, "toLocaleDateString", &opts)
}

/// The exact time of a timestamp, for tooltips, in the browser's own
/// language and time zone.
pub fn exact_time(ts: &str) -> String {
    in_browser_locale(ts, "toLocaleString", &JsValue::UNDEFINED)
}

/// `new Date(ts)[method](undefined, options)`: no locale named, so the
/// browser's own (and its time zone).
fn in_browser_locale(ts: &str, method: &str, options: &JsValue) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(ts));
    js_sys::Reflect::get(&date, &method.into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call2(&date, &JsValue::UNDEFINED, options).ok())
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| ts.to_owned())
}

/// Sets the document title (unread badge).
pub fn set_title(title: &str) {
    if let Some(d) = web_sys::window().and_then(|w| w.document()) {
        d.set_title(title);
    }
}

/// `localStorage` key of the user's choice to get desktop notifications.
const NOTIFY_KEY: &str = "mochat.notify";

/// Whether the user turned desktop notifications on (and the browser allows them).
pub fn notifications_on() -> bool {
    load(NOTIFY_KEY).as_deref() == Some("on")
        && web_sys::Notification::permission() == web_sys::NotificationPermission::Granted
}

/// Turns desktop notifications on (asking the browser's permission) or off.
pub fn set_notifications(on: bool) {
    store(NOTIFY_KEY, on.then_some("on"));
    if on && web_sys::Notification::permission() != web_sys::NotificationPermission::Granted {
        let _ = web_sys::Notification::request_permission();
    }
}

/// Shows a desktop notification (text only) if the user turned them on.
pub fn notify(title: &str, body: &str) {
    if !notifications_on() {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(body);
    let _ = web_sys::Notification::new_with_options(title, &options);
}
