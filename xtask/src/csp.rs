//! The dashboard's `_headers`: the CSP allows exactly the inline loader
//! scripts Trunk wrote into `index.html`, by their SHA-256 hashes (computed
//! as the worker computes them for the widget page: [`mochat_worker::frame`]).

use mochat_worker::frame::script_hashes;

/// The `_headers` template with `'sha256-INLINE'` replaced by the hashes of `html`'s inline scripts.
pub fn headers_for(template: &str, html: &str) -> String {
    template.replace("'sha256-INLINE'", &script_hashes(html).join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_gets_the_inline_hashes() {
        let headers = headers_for(
            "script-src 'self' 'sha256-INLINE'",
            "<script>alert(1)</script><script src=\"/b.js\"></script>",
        );
        // printf 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            headers,
            "script-src 'self' 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
        );
    }
}
