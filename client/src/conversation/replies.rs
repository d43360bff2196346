//! Saved replies in the composer: `/name` offers the replies whose name
//! starts so (arrows pick, Enter or Tab puts it in, Esc leaves the text as
//! typed), and the menu beside the box lists them, inserts one, adds and
//! deletes them.

use leptos::ev::KeyboardEvent;
use leptos::prelude::*;

use crate::replies::{Replies, Reply};

/// The composer's saved replies and what `/name` offers of them.
#[derive(Clone, Copy)]
pub struct Picker {
    pub replies: RwSignal<Replies>,
    /// The offer was put away (Esc) until the text changes.
    dismissed: RwSignal<bool>,
    /// Which offered reply Enter takes.
    active: RwSignal<usize>,
    /// What is offered now.
    pub offered: Memo<Vec<Reply>>,
    text: RwSignal<String>,
}

impl Picker {
    /// The picker of the message box holding `text`.
    pub fn new(text: RwSignal<String>) -> Self {
        let replies = RwSignal::new(Replies::load());
        let dismissed = RwSignal::new(false);
        let offered = Memo::new(move |_| {
            if dismissed.get() {
                return Vec::new();
            }
            text.with(|t| replies.with(|r| r.matching(t)))
        });
        Self {
            replies,
            dismissed,
            active: RwSignal::new(0),
            offered,
            text,
        }
    }

    /// The text changed: offer again, from the first.
    pub fn typed(self) {
        self.dismissed.set(false);
        self.active.set(0);
    }

    /// Puts `reply` in the box (in place of `/name`, or after the text).
    pub fn insert(self, reply: &Reply) {
        self.text.update(|t| {
            if t.starts_with('/') || t.trim().is_empty() {
                *t = reply.text.clone();
            } else {
                t.push(' ');
                t.push_str(&reply.text);
            }
        });
        self.dismissed.set(true);
    }

    /// Takes a key press of the box while something is offered; whether it
    /// was the picker's (then the box does nothing else with it).
    pub fn key(self, ev: &KeyboardEvent) -> bool {
        let n = self.offered.with(Vec::len);
        if n == 0 || ev.is_composing() {
            return false;
        }
        match ev.key().as_str() {
            "ArrowDown" => self.active.update(|a| *a = (*a + 1) % n),
            "ArrowUp" => self.active.update(|a| *a = (*a + n - 1) % n),
            "Enter" | "Tab" => {
                let at = self.active.get_untracked().min(n - 1);
                if let Some(r) = self.offered.with(|o| o.get(at).cloned()) {
                    self.insert(&r);
                }
            }
            "Escape" => self.dismissed.set(true),
            _ => return false,
        }
        ev.prevent_default();
        ev.stop_propagation();
        true
    }
}

/// What `/name` offers, above the box.
#[component]
pub fn Offer(picker: Picker) -> impl IntoView {
    move || {
        let offered = picker.offered.get();
        (!offered.is_empty()).then(|| {
            let active = picker.active.get().min(offered.len() - 1);
            view! {
                <ul class="reply-offer" role="listbox" id="reply-offer" aria-label="Saved replies" data-testid="reply-offer">
                    {offered
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| {
                            let preview = r.text.clone();
                            view! {
                                <li
                                    role="option"
                                    id=format!("reply-option-{i}")
                                    aria-selected=(i == active).to_string()
                                    data-testid="reply-option"
                                    on:mousedown=move |ev| {
                                        ev.prevent_default();
                                        picker.insert(&r);
                                    }
                                >
                                    <span class="reply-name">"/"{r.name.clone()}</span>
                                    <span class="muted small reply-text">{preview}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
        })
    }
}

/// The menu beside the box: every saved reply (insert, delete) and a form
/// to save a new one.
#[component]
pub fn RepliesMenu(
    picker: Picker,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let save = move || {
        let mut all = picker.replies.get_untracked();
        match all.add(&name.get_untracked(), &text.get_untracked()) {
            Ok(()) => {
                all.save();
                picker.replies.set(all);
                name.set(String::new());
                text.set(String::new());
                error.set(None);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    // Focus moves into the menu (its first reply, else the Name field), so
    // the keyboard and Esc reach it at once.
    let menu = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if menu.get().is_some() {
            crate::keys::focus("[data-testid=replies-menu] :is(.reply-insert, input)");
        }
    });
    view! {
        <div
            node_ref=menu
            class="replies-menu"
            role="dialog"
            aria-label="Saved replies"
            data-testid="replies-menu"
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    ev.prevent_default();
                    ev.stop_propagation();
                    on_close();
                    crate::keys::focus("[data-testid=replies-button]");
                }
            }
        >
            <h3 class="small-head">"Saved replies"</h3>
            {move || picker.replies.with(|r| r.0.is_empty()).then(|| view! {
                <p class="muted small">"None yet. Save one below, then type /its-name in the message box."</p>
            })}
            <ul class="reply-list">
                <For
                    each=move || picker.replies.get().0
                    key=|r| r.name.clone()
                    children=move |r| {
                        let (shown, gone) = (r.clone(), r.name.clone());
                        view! {
                            <li data-testid="saved-reply">
                                <button type="button" class="ghost small reply-insert" on:click=move |_| {
                                    picker.insert(&shown);
                                    on_close();
                                }>
                                    <span class="reply-name">"/"{r.name.clone()}</span>
                                    <span class="muted small reply-text">{r.text.clone()}</span>
                                </button>
                                <button type="button" class="ghost small danger" aria-label=format!("Delete /{}", r.name) on:click=move |_| {
                                    picker.replies.update(|all| {
                                        all.remove(&gone);
                                        all.save();
                                    });
                                }>"Delete"</button>
                            </li>
                        }
                    }
                />
            </ul>
            <form class="reply-new" on:submit=move |ev| {
                ev.prevent_default();
                save();
            }>
                <label for="reply-name">"Name"</label>
                <input id="reply-name" data-testid="reply-name" maxlength="40" placeholder="thanks"
                    prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
                <label for="reply-text">"Reply"</label>
                <textarea id="reply-text" data-testid="reply-text" rows="2"
                    prop:value=text on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <div class="actions">
                    <button type="button" class="ghost small" on:click=move |_| on_close()>"Close"</button>
                    <button type="submit" class="primary small" data-testid="reply-save">"Save reply"</button>
                </div>
            </form>
        </div>
    }
}
