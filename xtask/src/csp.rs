//! The dashboard's `_headers`: the CSP allows exactly the inline loader
//! scripts Trunk wrote into `index.html`, by their SHA-256 hashes.

use base64::Engine;
use sha2::{Digest, Sha256};

/// The bodies of the inline `<script …>…</script>` elements of `html`.
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(open_end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..start + open_end];
        let body_start = start + open_end + 1;
        let Some(len) = rest[body_start..].find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(&rest[body_start..body_start + len]);
        }
        rest = &rest[body_start + len..];
    }
    out
}

/// `'sha256-…'` of a script body, as CSP wants it.
pub fn hash_source(script: &str) -> String {
    let digest = Sha256::digest(script.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The `_headers` template with `'sha256-INLINE'` replaced by the hashes of `html`'s inline scripts.
pub fn headers_for(template: &str, html: &str) -> String {
    let hashes: Vec<String> = inline_scripts(html).into_iter().map(hash_source).collect();
    template.replace("'sha256-INLINE'", &hashes.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_only_inline_scripts() {
        let html = "<head><script type=\"module\">\nimport init from '/a.js';\n</script>\
                    <script src=\"/b.js\"></script></head>";
        assert_eq!(inline_scripts(html), ["\nimport init from '/a.js';\n"]);
        // printf 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            hash_source("alert(1)"),
            "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
        );
        let headers = headers_for(
            "script-src 'self' 'sha256-INLINE'",
            "<script>alert(1)</script>",
        );
        assert_eq!(
            headers,
            "script-src 'self' 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
        );
    }
}
