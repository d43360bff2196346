//! The message box of a conversation (and of the widget before its
//! conversation exists): Enter sends, Shift+Enter makes a new line.

use leptos::prelude::*;
use mochat_api::limits::CONTENT_MAX_CHARS;

/// The message box: Enter sends, Shift+Enter makes a new line.
#[component]
pub fn Composer(
    #[prop(into)] closed: Signal<bool>,
    on_send: impl Fn(String) + Clone + 'static,
    /// Longest text it takes, in characters.
    #[prop(default = CONTENT_MAX_CHARS)]
    max_chars: usize,
) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let submit = move || {
        let content = text.get_untracked().trim().to_owned();
        if !content.is_empty() && !closed.get_untracked() {
            on_send(content);
            text.set(String::new());
        }
    };
    let on_key = {
        let submit = submit.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                ev.prevent_default();
                submit();
            }
        }
    };
    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <label for="composer-text" class="sr-only">"Message"</label>
            <textarea
                id="composer-text"
                data-testid="composer"
                rows="2"
                maxlength=max_chars
                placeholder=move || if closed.get() { "This session is closed." } else { "Message (Enter sends, Shift+Enter: new line)" }
                disabled=closed
                prop:value=text
                on:input=move |ev| text.set(event_target_value(&ev))
                on:keydown=on_key
            ></textarea>
            <button class="primary" type="submit" data-testid="send" disabled=move || closed.get() || text.with(|t| t.trim().is_empty())>
                "Send"
            </button>
        </form>
    }
}
