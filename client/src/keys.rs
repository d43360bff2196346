//! The dashboard's keyboard shortcuts: which key press is which shortcut,
//! the window listener that hears them, and the list `?` opens.

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// What a shortcut does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    NextSession,
    PreviousSession,
    FocusSearch,
    FocusComposer,
    ShowHelp,
}

/// Every shortcut as the list shows it: keys, then what they do.
pub const LIST: [(&str, &str); 7] = [
    ("j  or  Alt+↓", "Next session"),
    ("k  or  Alt+↑", "Previous session"),
    ("/", "Search sessions"),
    ("r", "Write in the open conversation"),
    (
        "/name  in the message box",
        "Insert the saved reply called name",
    ),
    ("Esc", "Close a dialog or a menu"),
    ("?", "Show these shortcuts"),
];

/// The shortcut a key press is, if any. While focus is in a text field
/// (`typing`) only Alt+arrows act, so letters type; a press with Ctrl or
/// Meta is the browser's.
pub fn shortcut(key: &str, alt: bool, ctrl_or_meta: bool, typing: bool) -> Option<Shortcut> {
    if ctrl_or_meta {
        return None;
    }
    match (key, alt) {
        ("ArrowDown", true) => return Some(Shortcut::NextSession),
        ("ArrowUp", true) => return Some(Shortcut::PreviousSession),
        _ => {}
    }
    if typing || alt {
        return None;
    }
    match key {
        "j" => Some(Shortcut::NextSession),
        "k" => Some(Shortcut::PreviousSession),
        "/" => Some(Shortcut::FocusSearch),
        "r" => Some(Shortcut::FocusComposer),
        "?" => Some(Shortcut::ShowHelp),
        _ => None,
    }
}

/// Whether focus is in a place that takes text.
fn typing() -> bool {
    let Some(el) = document().active_element() else {
        return false;
    };
    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || el
            .dyn_ref::<web_sys::HtmlElement>()
            .is_some_and(|h| h.is_content_editable())
}

/// Calls `on` with each shortcut pressed, until the calling owner goes away;
/// a press `on` takes (returns true for) does nothing else, and other
/// listeners do not see it.
pub fn listen(on: impl Fn(Shortcut) -> bool + 'static) {
    let handle = window_event_listener(ev::keydown, move |e| {
        if e.is_composing() || e.default_prevented() {
            return;
        }
        let ctrl_or_meta = e.ctrl_key() || e.meta_key();
        if let Some(s) = shortcut(&e.key(), e.alt_key(), ctrl_or_meta, typing())
            && on(s)
        {
            e.prevent_default();
        }
    });
    on_cleanup(move || handle.remove());
}

/// Focuses the element `css` selects, if there is one.
pub fn focus(css: &str) {
    if let Some(el) = document()
        .query_selector(css)
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// The list of shortcuts, as a dialog (Esc or its button closes it).
#[component]
pub fn ShortcutsDialog(on_close: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let close = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(b) = close.get() {
            let _ = b.focus();
        }
    });
    view! {
        <div class="backdrop" on:click=move |_| on_close()></div>
        <div
            class="dialog"
            role="dialog"
            aria-modal="true"
            aria-labelledby="shortcuts-title"
            data-testid="shortcuts"
            on:keydown=move |e| {
                if e.key() == "Escape" {
                    e.prevent_default();
                    on_close();
                }
            }
        >
            <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
            <dl class="shortcuts">
                {LIST
                    .iter()
                    .map(|(keys, what)| view! { <dt><kbd>{*keys}</kbd></dt><dd>{*what}</dd> })
                    .collect_view()}
            </dl>
            <div class="actions">
                <button class="primary" node_ref=close data-testid="shortcuts-close" on:click=move |_| on_close()>
                    "Close"
                </button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn letters_act_only_outside_text_fields() {
        assert_eq!(
            shortcut("j", false, false, false),
            Some(Shortcut::NextSession)
        );
        assert_eq!(
            shortcut("k", false, false, false),
            Some(Shortcut::PreviousSession)
        );
        assert_eq!(
            shortcut("/", false, false, false),
            Some(Shortcut::FocusSearch)
        );
        assert_eq!(
            shortcut("r", false, false, false),
            Some(Shortcut::FocusComposer)
        );
        assert_eq!(shortcut("?", false, false, false), Some(Shortcut::ShowHelp));
        for key in ["j", "k", "/", "r", "?"] {
            assert_eq!(shortcut(key, false, false, true), None, "{key} types");
            assert_eq!(
                shortcut(key, false, true, false),
                None,
                "Ctrl+{key} is the browser's"
            );
        }
        assert_eq!(shortcut("x", false, false, false), None);
    }

    #[wasm_bindgen_test]
    fn alt_arrows_move_even_while_typing() {
        for typing in [false, true] {
            assert_eq!(
                shortcut("ArrowDown", true, false, typing),
                Some(Shortcut::NextSession)
            );
            assert_eq!(
                shortcut("ArrowUp", true, false, typing),
                Some(Shortcut::PreviousSession)
            );
        }
        assert_eq!(shortcut("ArrowDown", false, false, false), None);
        assert_eq!(shortcut("j", true, false, false), None);
    }
}
