//! A conversation's history: the first page, older pages as the reader
//! scrolls to the top (the reading position kept), and the place where every
//! message that arrives is put, in order and once.

use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;
use mochat_api::{ApiError, Message};

use super::Source;
use crate::api::Api;
use crate::timeline::Timeline;

/// How near the bottom (px) the reader counts as at the bottom: new
/// messages then scroll into view.
const AT_BOTTOM: i32 = 80;
/// How near the top (px) an older page starts loading.
const NEAR_TOP: i32 = 120;

/// The messages shown and the scrolling list that shows them.
#[derive(Clone, Copy)]
pub struct History {
    /// The messages (`None` until the first page).
    pub timeline: RwSignal<Option<Timeline>>,
    /// The last failure to load a page.
    pub error: RwSignal<Option<ApiError>>,
    /// Whether an older page is on its way.
    pub loading_older: RwSignal<bool>,
    /// The scrolling element.
    pub scroller: NodeRef<Div>,
    /// Whether the reader is at the bottom (new messages scroll into view).
    stick_to_bottom: StoredValue<bool>,
    source: StoredValue<Source>,
    api: Api,
}

impl History {
    pub fn new(source: Source, api: Api) -> Self {
        Self {
            timeline: RwSignal::new(None),
            error: RwSignal::new(None),
            loading_older: RwSignal::new(false),
            scroller: NodeRef::new(),
            stick_to_bottom: StoredValue::new(true),
            source: StoredValue::new(source),
            api,
        }
    }

    /// Scrolls to the newest message, after the next render.
    pub fn scroll_to_bottom(self) {
        let scroller = self.scroller;
        request_animation_frame(move || {
            if let Some(el) = scroller.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }

    /// The reader sent something: show the bottom, and keep showing it.
    pub fn follow_bottom(self) {
        self.stick_to_bottom.set_value(true);
        self.scroll_to_bottom();
    }

    /// Puts `m` in its place; whether it was new (then it scrolls into view
    /// when the reader is at the bottom).
    pub fn add(self, m: Message) -> bool {
        let mut added = false;
        self.timeline.update(|t| {
            if let Some(t) = t.as_mut() {
                added = t.push(m);
            }
        });
        if added && self.stick_to_bottom.get_value() {
            self.scroll_to_bottom();
        }
        added
    }

    /// Loads the newest page, then hands it to `loaded` (in the same turn,
    /// before it renders).
    pub fn load_first(self, loaded: impl FnOnce(&Timeline) + 'static) {
        let (source, api) = (self.source.get_value(), self.api);
        spawn_local(async move {
            match source.page(api, None).await {
                Ok(p) => {
                    let t = Timeline::from_page(p.messages, p.has_more, p.cursor);
                    self.timeline.try_set(Some(t));
                    self.scroll_to_bottom();
                    self.timeline.try_with_untracked(|t| t.as_ref().map(loaded));
                }
                Err(e) => {
                    self.error.try_set(Some(e));
                }
            }
        });
    }

    /// Loads the page before the oldest shown, keeping what the reader
    /// looks at where it is.
    pub fn load_older(self) {
        let Some(cursor) = self
            .timeline
            .with_untracked(|t| t.as_ref().and_then(Timeline::older_cursor))
        else {
            return;
        };
        if self.loading_older.get_untracked() {
            return;
        }
        self.loading_older.set(true);
        let (source, api, scroller) = (self.source.get_value(), self.api, self.scroller);
        spawn_local(async move {
            let result = source.page(api, Some(cursor)).await;
            let from_bottom = scroller
                .get_untracked()
                .map(|el| el.scroll_height() - el.scroll_top());
            match result {
                Ok(p) => self.timeline.update(|t| {
                    if let Some(t) = t.as_mut() {
                        t.prepend_page(p.messages, p.has_more, p.cursor);
                    }
                }),
                Err(e) => self.error.set(Some(e)),
            }
            request_animation_frame(move || {
                if let (Some(el), Some(from_bottom)) = (scroller.get_untracked(), from_bottom) {
                    el.set_scroll_top(el.scroll_height() - from_bottom);
                }
                self.loading_older.try_set(false);
            });
        });
    }

    /// The reader scrolled: note whether they are at the bottom; near the
    /// top, load older messages.
    pub fn scrolled(self) {
        if let Some(el) = self.scroller.get_untracked() {
            self.stick_to_bottom
                .set_value(el.scroll_height() - el.scroll_top() - el.client_height() < AT_BOTTOM);
            if el.scroll_top() < NEAR_TOP {
                self.load_older();
            }
        }
    }

    /// The messages shown (`None` until the first page).
    pub fn messages(self) -> Signal<Option<Vec<Message>>> {
        let timeline = self.timeline;
        Memo::new(move |_| timeline.with(|t| t.as_ref().map(|t| t.messages().to_vec()))).into()
    }

    /// Whether `message_id` is shown.
    pub fn shows(self, message_id: &str) -> bool {
        self.timeline
            .try_with_untracked(|t| t.as_ref().is_some_and(|t| t.contains(message_id)))
            .unwrap_or(false)
    }

    /// Whether there are older messages to load.
    pub fn has_older(self) -> bool {
        self.timeline
            .with(|t| t.as_ref().is_some_and(|t| t.older_cursor().is_some()))
    }
}
