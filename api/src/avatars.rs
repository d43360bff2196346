//! Which avatar pictures the dashboard and the widget load. A picture on the
//! page's own origin, always; a picture elsewhere only from an origin the
//! operator listed in the worker's `AVATAR_ORIGINS` (none by default: a
//! picture on another site tells that site when someone reads, and from
//! where). The worker puts the same list in the page's CSP (`img-src`) and
//! in a `<meta name="mochat-avatar-origins">` the client reads, so what the
//! client tries to load and what the browser allows are one list.

/// `name` of the `<meta>` element that carries the allowed origins,
/// separated by spaces.
pub const META_NAME: &str = "mochat-avatar-origins";

/// Whether `url` is a picture on the page's own origin (a path, not `//host`).
pub fn is_own_picture(url: &str) -> bool {
    url.starts_with('/') && !url.starts_with("//") && !url.contains('\\')
}

/// The origin (`https://host[:port]`, in lower case) of an absolute `https`
/// URL, when it has one a CSP can name: no user info, no backslash, no space
/// or control character anywhere (browsers drop some of them, which would
/// make the URL point somewhere else than it reads).
pub fn origin_of(url: &str) -> Option<String> {
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return None;
    }
    let scheme = url.get(..8)?;
    if !scheme.eq_ignore_ascii_case("https://") {
        return None;
    }
    let rest = &url[8..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest[..end].to_ascii_lowercase();
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority.as_str(), None),
    };
    let host_ok = !host.is_empty()
        && !host.starts_with('.')
        && !host.starts_with('-')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
    (host_ok && port_ok).then(|| format!("https://{authority}"))
}

/// Reads `AVATAR_ORIGINS`: origins separated by spaces or commas, each
/// `https://host[:port]` (a trailing `/` is allowed). Empty: none.
pub fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    let mut origins: Vec<String> = Vec::new();
    for entry in raw.split([' ', ',', '\t', '\n']).filter(|e| !e.is_empty()) {
        let bare = entry.strip_suffix('/').unwrap_or(entry);
        match origin_of(bare) {
            Some(origin) if origin.len() == bare.len() => {
                if !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
            _ => {
                return Err(format!(
                    "AVATAR_ORIGINS: \"{entry}\" is not an https origin such as \
                     https://avatars.example.com (no path, no wildcard)."
                ));
            }
        }
    }
    Ok(origins)
}

/// Whether a page allowed `origins` may load the picture at `url`.
pub fn may_load(url: &str, origins: &[String]) -> bool {
    is_own_picture(url) || origin_of(url).is_some_and(|o| origins.contains(&o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_pictures_are_paths_on_this_origin() {
        assert!(is_own_picture("/avatars/ada.png"));
        for other in [
            "//evil.example/x.png",
            "/\\evil.example",
            "https://a.example/x.png",
            "",
        ] {
            assert!(!is_own_picture(other), "{other}");
        }
    }

    #[test]
    fn origins_are_read_from_urls_a_browser_reads_the_same_way() {
        assert_eq!(
            origin_of("https://Avatars.Example.com/u/1.png?s=64").as_deref(),
            Some("https://avatars.example.com")
        );
        assert_eq!(
            origin_of("https://a.example:8443#x").as_deref(),
            Some("https://a.example:8443")
        );
        for bad in [
            "http://a.example/x.png",
            "https://user@a.example/x.png",
            "https://a.example\\@b.example/",
            "https://a.exa\nmple/x.png",
            "https:// a.example/",
            "https://",
            "https://a.example:/x",
            "https://a.example:99999999/",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "https://*.example/",
        ] {
            assert_eq!(origin_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_var_lists_exact_origins_only() {
        assert_eq!(parse_origins(""), Ok(vec![]));
        assert_eq!(
            parse_origins("https://a.example/, https://B.example:8443 https://a.example").unwrap(),
            vec!["https://a.example", "https://b.example:8443"]
        );
        for bad in [
            "https:",
            "*",
            "https://a.example/avatars",
            "http://a.example",
            "https://a.example;script-src *",
            "'unsafe-inline'",
        ] {
            let e = parse_origins(bad).unwrap_err();
            assert!(e.starts_with("AVATAR_ORIGINS: "), "{e}");
        }
    }

    #[test]
    fn only_listed_origins_and_own_paths_load() {
        let allowed = vec!["https://a.example".to_owned()];
        assert!(may_load("/avatars/ada.png", &[]));
        assert!(may_load("https://a.example/u/1.png", &allowed));
        assert!(!may_load("https://a.example/u/1.png", &[]));
        assert!(!may_load("https://a.example.evil.com/u/1.png", &allowed));
        assert!(!may_load("https://a.example:444/u/1.png", &allowed));
        assert!(!may_load("http://a.example/u/1.png", &allowed));
    }
}
