//! Finding a session: what the search box and the open/closed filter keep of
//! the list, and the bar that sets them. A search also looks through the
//! sessions not loaded yet (the list pages back while one is typed).

use std::collections::BTreeMap;

use leptos::prelude::*;
use mochat_api::{Session, SessionStatus};

/// Which sessions the list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Show {
    #[default]
    All,
    Open,
    Closed,
}

impl Show {
    const ALL: [Show; 3] = [Show::All, Show::Open, Show::Closed];

    fn label(self) -> &'static str {
        match self {
            Show::All => "All",
            Show::Open => "Open",
            Show::Closed => "Closed",
        }
    }

    fn keeps(self, status: SessionStatus) -> bool {
        match self {
            Show::All => true,
            Show::Open => status != SessionStatus::Closed,
            Show::Closed => status == SessionStatus::Closed,
        }
    }
}

/// The search and the filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub text: String,
    pub show: Show,
}

impl Filter {
    /// Whether a search is typed (blank space is none).
    pub fn searching(&self) -> bool {
        !self.text.trim().is_empty()
    }

    /// Whether `s` is kept: its status fits, and every word of the search is
    /// in its title, a participant (id or known name), or its last message
    /// (text or author), ignoring case.
    pub fn keeps(&self, s: &Session, names: &BTreeMap<String, String>) -> bool {
        if !self.show.keeps(s.status) {
            return false;
        }
        let mut haystack = s.title.to_lowercase();
        for id in &s.participants {
            haystack.push('\n');
            haystack.push_str(&id.to_lowercase());
            if let Some(name) = names.get(id) {
                haystack.push('\n');
                haystack.push_str(&name.to_lowercase());
            }
        }
        if let Some(m) = &s.last_message {
            haystack.push('\n');
            haystack.push_str(&m.content.to_lowercase());
            haystack.push('\n');
            haystack.push_str(&crate::message::author_name(m).to_lowercase());
        }
        self.text
            .to_lowercase()
            .split_whitespace()
            .all(|word| haystack.contains(word))
    }
}

/// The search box and the open/closed choice above the list.
#[component]
pub fn FindBar(filter: RwSignal<Filter>, search: NodeRef<leptos::html::Input>) -> impl IntoView {
    view! {
        <div class="find" role="search">
            <input
                type="search"
                class="find-text"
                node_ref=search
                data-testid="session-search"
                placeholder="Search sessions"
                aria-label="Search sessions by title, participant or last message"
                prop:value=move || filter.with(|f| f.text.clone())
                on:input=move |ev| filter.update(|f| f.text = event_target_value(&ev))
            />
            <div class="segmented" role="group" aria-label="Show sessions">
                {Show::ALL
                    .into_iter()
                    .map(|show| {
                        view! {
                            <button
                                type="button"
                                data-testid=format!("show-{}", show.label().to_lowercase())
                                aria-pressed=move || (filter.with(|f| f.show) == show).to_string()
                                on:click=move |_| filter.update(|f| f.show = show)
                            >
                                {show.label()}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn session(title: &str, status: SessionStatus, last: Option<&str>) -> Session {
        let mut s: Session = crate::json::parse(
            r#"{"sessionId":"s1","workspaceId":"w","title":"","participants":["u_ada","u_bot"],
               "status":"open","createdBy":"u_bot","createdAt":"2026-01-01T00:00:00.000Z",
               "updatedAt":"2026-01-01T00:00:00.000Z"}"#,
        )
        .expect("a session");
        s.title = title.to_owned();
        s.status = status;
        if let Some(text) = last {
            let mut m = crate::timeline::tests::msg("m1", "2026-01-01T00:00:00.000Z");
            m.content = text.to_owned();
            s.last_message = Some(m);
        }
        s
    }

    #[wasm_bindgen_test]
    fn search_looks_at_title_participants_and_the_last_message() {
        let names = BTreeMap::from([("u_ada".to_owned(), "Ada Lovelace".to_owned())]);
        let s = session("Billing question", SessionStatus::Open, Some("Refund sent"));
        let find = |text: &str| Filter {
            text: text.into(),
            show: Show::All,
        };
        for hit in [
            "",
            "  ",
            "billing",
            "BILLING q",
            "lovelace",
            "u_bot",
            "refund",
            "ada refund",
        ] {
            assert!(find(hit).keeps(&s, &names), "{hit:?}");
        }
        for miss in ["shipping", "billing shipping", "grace"] {
            assert!(!find(miss).keeps(&s, &names), "{miss:?}");
        }
        assert!(!find("  ").searching());
        assert!(find("x").searching());
    }

    #[wasm_bindgen_test]
    fn the_filter_keeps_open_or_closed() {
        let names = BTreeMap::new();
        let open = session("A", SessionStatus::Open, None);
        let closed = session("B", SessionStatus::Closed, None);
        let with = |show| Filter {
            text: String::new(),
            show,
        };
        assert!(with(Show::All).keeps(&open, &names) && with(Show::All).keeps(&closed, &names));
        assert!(with(Show::Open).keeps(&open, &names) && !with(Show::Open).keeps(&closed, &names));
        assert!(!with(Show::Closed).keeps(&open, &names));
        assert!(with(Show::Closed).keeps(&closed, &names));
    }
}
