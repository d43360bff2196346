//! Message content as a safe list of pieces: plain text, `http(s)` links and
//! `@mentions`. Nothing here ever becomes HTML: views render each piece as a
//! text node (or an `<a>` whose `href` is an `http(s)` URL). Everything else,
//! `<script>`, `javascript:` and `data:` URLs included, stays visible text.

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// An `http://` or `https://` URL, shown as a link.
    Link(String),
    /// `@name`, highlighted.
    Mention(String),
}

/// Splits `content` into pieces.
pub fn pieces(content: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let mut rest = content;
    while let Some(c) = rest.chars().next() {
        let at_word_start = text.chars().last().is_none_or(|p| !p.is_alphanumeric());
        if at_word_start {
            if let Some(len) = link_len(rest) {
                flush(&mut out, &mut text);
                out.push(Piece::Link(rest[..len].to_owned()));
                rest = &rest[len..];
                continue;
            }
            if let Some(len) = mention_len(rest) {
                flush(&mut out, &mut text);
                out.push(Piece::Mention(rest[..len].to_owned()));
                rest = &rest[len..];
                continue;
            }
        }
        text.push(c);
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut out, &mut text);
    out
}

fn flush(out: &mut Vec<Piece>, text: &mut String) {
    if !text.is_empty() {
        out.push(Piece::Text(std::mem::take(text)));
    }
}

/// Length of an `http(s)://…` URL at the start of `s`, trailing punctuation excluded.
fn link_len(s: &str) -> Option<usize> {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return None;
    };
    let end = s
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'))
        .map_or(s.len(), |(i, _)| i);
    let url = s[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'', ']']);
    (url.len() > scheme).then_some(url.len())
}

/// Length of `@name` at the start of `s` (`[A-Za-z0-9_.-]`, 1..=64 after `@`).
fn mention_len(s: &str) -> Option<usize> {
    let name = s.strip_prefix('@')?;
    let len = name
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .map_or(name.len(), |(i, _)| i);
    let len = name[..len].trim_end_matches('.').len();
    (1..=64).contains(&len).then_some(len + 1)
}

/// "just now", "5 min ago", "3 h ago", "2 d ago" from two times in milliseconds.
pub fn relative(now_ms: f64, then_ms: f64) -> String {
    if then_ms.is_nan() {
        return String::new();
    }
    let secs = ((now_ms - then_ms) / 1000.0).max(0.0) as u64;
    match secs {
        0..=44 => "just now".to_owned(),
        45..=3599 => format!("{} min ago", (secs / 60).max(1)),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// Up to two initials of a name, for avatars.
pub fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if letters.is_empty() {
        "?".to_owned()
    } else {
        letters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn text(s: &str) -> Piece {
        Piece::Text(s.into())
    }

    #[wasm_bindgen_test]
    fn links_and_mentions() {
        assert_eq!(
            pieces("see https://example.com/a?b=1, @ada."),
            vec![
                text("see "),
                Piece::Link("https://example.com/a?b=1".into()),
                text(", "),
                Piece::Mention("@ada".into()),
                text("."),
            ]
        );
        assert_eq!(
            pieces("mail ada@example.com"),
            vec![text("mail ada@example.com")]
        );
    }

    #[wasm_bindgen_test]
    fn hostile_content_stays_text() {
        for hostile in [
            "<img src=x onerror=alert(1)>",
            "<script>alert(1)</script>",
            "javascript:alert(1)",
            "[click](javascript:alert(1))",
            "data:text/html,<script>alert(1)</script>",
            "\u{202e}evil\u{200b}",
        ] {
            assert!(
                pieces(hostile).iter().all(|p| !matches!(p, Piece::Link(_))),
                "{hostile} became a link"
            );
            let joined: String = pieces(hostile)
                .into_iter()
                .map(|p| match p {
                    Piece::Text(t) | Piece::Link(t) | Piece::Mention(t) => t,
                })
                .collect();
            assert_eq!(joined, hostile, "nothing is lost or rewritten");
        }
        // A link stops before markup characters.
        assert_eq!(
            pieces("https://a.example/\"><script>"),
            vec![
                Piece::Link("https://a.example/".into()),
                text("\"><script>")
            ]
        );
    }

    #[wasm_bindgen_test]
    fn relative_times_and_initials() {
        let now = 1_000_000_000.0;
        assert_eq!(relative(now, now - 10_000.0), "just now");
        assert_eq!(relative(now, now - 300_000.0), "5 min ago");
        assert_eq!(relative(now, now - 7_200_000.0), "2 h ago");
        assert_eq!(relative(now, f64::NAN), "");
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("  "), "?");
    }
}
