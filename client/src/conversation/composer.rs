//! The message box of a conversation (and of the widget before its
//! conversation exists): Enter sends, Shift+Enter makes a new line; on the
//! dashboard, saved replies too ([`super::replies`]).

use leptos::prelude::*;
use mochat_api::limits::CONTENT_MAX_CHARS;

use super::replies::{Offer, Picker, RepliesMenu};

/// The message box: Enter sends, Shift+Enter makes a new line.
#[component]
pub fn Composer(
    #[prop(into)] closed: Signal<bool>,
    on_send: impl Fn(String) + Clone + 'static,
    /// Longest text it takes, in characters.
    #[prop(default = CONTENT_MAX_CHARS)]
    max_chars: usize,
    /// Whether it offers the operator's saved replies (the dashboard's does).
    #[prop(optional)]
    saved_replies: bool,
) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let picker = saved_replies.then(|| Picker::new(text));
    let menu = RwSignal::new(false);
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
            if picker.is_some_and(|p| p.key(&ev)) {
                return;
            }
            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                ev.prevent_default();
                submit();
            }
        }
    };
    let offering = move || picker.is_some_and(|p| p.offered.with(|o| !o.is_empty()));
    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            {picker.map(|p| view! { <Offer picker=p /> })}
            {move || picker.filter(|_| menu.get()).map(|p| view! { <RepliesMenu picker=p on_close=move || menu.set(false) /> })}
            <label for="composer-text" class="sr-only">"Message"</label>
            <textarea
                id="composer-text"
                data-testid="composer"
                rows="2"
                maxlength=max_chars
                placeholder=move || if closed.get() { "This session is closed." } else if saved_replies { "Message (Enter sends, / for a saved reply)" } else { "Message (Enter sends, Shift+Enter: new line)" }
                disabled=closed
                aria-autocomplete=saved_replies.then_some("list")
                aria-controls=move || offering().then_some("reply-offer")
                prop:value=text
                on:input=move |ev| {
                    text.set(event_target_value(&ev));
                    if let Some(p) = picker {
                        p.typed();
                    }
                }
                on:keydown=on_key
            ></textarea>
            {saved_replies.then(|| view! {
                <button
                    type="button"
                    class="ghost replies-button"
                    data-testid="replies-button"
                    aria-haspopup="dialog"
                    aria-expanded=move || menu.get().to_string()
                    title="Saved replies"
                    on:click=move |_| menu.update(|m| *m = !*m)
                >
                    "Replies"
                </button>
            })}
            <button class="primary" type="submit" data-testid="send" disabled=move || closed.get() || text.with(|t| t.trim().is_empty())>
                "Send"
            </button>
        </form>
    }
}
