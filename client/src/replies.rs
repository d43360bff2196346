//! Saved replies: short answers an operator keeps in this browser
//! (`localStorage`) and puts in the message box by name (`/name`) or from
//! the menu beside it.

use mochat_api::limits::CONTENT_MAX_CHARS;
use serde::{Deserialize, Serialize};

use crate::browser;

/// Where they are kept.
const KEY: &str = "mochat.replies";
/// How many a browser keeps.
pub const MAX_REPLIES: usize = 100;
/// Longest name, in characters.
pub const NAME_MAX_CHARS: usize = 40;

/// One saved reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// What `/name` calls it: letters, digits, `-` and `_`.
    pub name: String,
    pub text: String,
}

/// Every saved reply, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replies(pub Vec<Reply>);

impl Replies {
    /// The replies this browser keeps (none when nothing, or nothing
    /// readable, is stored).
    pub fn load() -> Self {
        browser::load(KEY)
            .and_then(|t| crate::json::parse(&t).ok())
            .unwrap_or_default()
    }

    /// Keeps them in this browser.
    pub fn save(&self) {
        if let Some(text) = crate::json::to_text(self) {
            browser::store(KEY, Some(&text));
        }
    }

    /// Adds a reply, or says what is wrong with it.
    pub fn add(&mut self, name: &str, text: &str) -> Result<(), String> {
        let name = name.trim().trim_start_matches('/');
        let text = text.trim();
        if name.is_empty() || text.is_empty() {
            return Err("Give the reply a name and a text.".into());
        }
        if name.chars().count() > NAME_MAX_CHARS
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "A name is one word of up to {NAME_MAX_CHARS} letters, digits, - or _."
            ));
        }
        if text.chars().count() > CONTENT_MAX_CHARS {
            return Err(format!(
                "A reply holds at most {CONTENT_MAX_CHARS} characters."
            ));
        }
        if self.find(name).is_some() {
            return Err(format!("There is a reply called {name} already."));
        }
        if self.0.len() >= MAX_REPLIES {
            return Err(format!(
                "This browser keeps {MAX_REPLIES} replies; delete one first."
            ));
        }
        self.0.push(Reply {
            name: name.to_owned(),
            text: text.to_owned(),
        });
        self.0.sort_by_key(|r| r.name.to_lowercase());
        Ok(())
    }

    /// Deletes the reply called `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|r| r.name != name);
    }

    fn find(&self, name: &str) -> Option<&Reply> {
        self.0.iter().find(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// The replies whose name starts with what follows `/` in `typed`, when
    /// the message box holds only `/` and a word (ignoring case).
    pub fn matching(&self, typed: &str) -> Vec<Reply> {
        let Some(word) = typed.strip_prefix('/') else {
            return Vec::new();
        };
        if word.contains(char::is_whitespace) {
            return Vec::new();
        }
        let word = word.to_lowercase();
        self.0
            .iter()
            .filter(|r| r.name.to_lowercase().starts_with(&word))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn added_sorted_and_found_by_name() {
        let mut r = Replies::default();
        r.add("thanks", "Thank you, we are on it.").expect("added");
        r.add("/Hours", "  We answer 9 to 5.  ").expect("added");
        assert_eq!(
            r.0.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
            ["Hours", "thanks"]
        );
        assert_eq!(r.0[0].text, "We answer 9 to 5.");
        fn names(r: &Replies, typed: &str) -> Vec<String> {
            r.matching(typed).into_iter().map(|x| x.name).collect()
        }
        assert_eq!(names(&r, "/"), ["Hours", "thanks"]);
        assert_eq!(names(&r, "/h"), ["Hours"]);
        assert_eq!(names(&r, "/TH"), ["thanks"]);
        assert!(names(&r, "/x").is_empty());
        assert!(names(&r, "thanks").is_empty(), "only after a leading /");
        assert!(names(&r, "/thanks you").is_empty(), "one word only");
        r.remove("thanks");
        assert_eq!(names(&r, "/"), ["Hours"]);
    }

    #[wasm_bindgen_test]
    fn bad_replies_are_refused_with_a_reason() {
        let mut r = Replies::default();
        r.add("hi", "Hello!").expect("added");
        for (name, text) in [
            ("", "text"),
            ("name", "   "),
            ("two words", "text"),
            ("HI", "again"),
            (&"n".repeat(NAME_MAX_CHARS + 1), "text"),
            ("long", &"x".repeat(CONTENT_MAX_CHARS + 1)),
        ] {
            let e = r.add(name, text).expect_err("refused");
            assert!(!e.is_empty());
        }
        assert_eq!(r.0.len(), 1);
    }
}
