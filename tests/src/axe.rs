//! Accessibility checks in the browser: axe-core (pinned in
//! `package-lock.json`) run on the current page, and the colours a person
//! actually sees (computed styles, WCAG contrast), so dark mode is asserted
//! by numbers rather than by looking at a screenshot.

use serde_json::{Value, json};

use crate::Browser;
use crate::toolchain::axe_script;

/// Runs axe in the page (injecting it first if the page does not have it)
/// on `scope` (a CSS selector; the whole document when `None`). The scope
/// reaches into open shadow roots. Returns axe's violations.
const RUN_AXE: &str = r#"
const [scope, done] = arguments;
const context = scope ? { include: [[scope]] } : document;
axe.run(context, { resultTypes: ['violations'], iframes: false })
  .then(r => done(r.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => ({
      target: JSON.stringify(n.target),
      html: n.html.slice(0, 160),
      why: n.failureSummary || ''
    }))
  }))))
  .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));
"#;

/// The text colour and the colour behind it (walking up until an opaque
/// background), both as `[r, g, b]`, of the first element matching `css`.
const COLOURS: &str = r#"
const el = document.querySelector(arguments[0]);
if (!el) return null;
// Any CSS colour (rgb(), color(srgb …), oklch(), …) through a canvas pixel.
const ctx = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
const rgb = s => {
  ctx.clearRect(0, 0, 1, 1);
  ctx.fillStyle = s;
  ctx.fillRect(0, 0, 1, 1);
  const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
  return [r, g, b, a / 255];
};
let bg = null;
for (let n = el; n && !bg; n = n.parentElement) {
  const c = rgb(getComputedStyle(n).backgroundColor);
  if (c[3] > 0.99) bg = c.slice(0, 3);
}
if (!bg) bg = [255, 255, 255];
return { fg: rgb(getComputedStyle(el).color).slice(0, 3), bg };
"#;

/// What a person sees of one element.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// Text colour, `[r, g, b]`.
    pub fg: [f64; 3],
    /// The opaque colour behind the element, `[r, g, b]`.
    pub bg: [f64; 3],
}

impl Seen {
    /// WCAG 2 contrast ratio of the text against its background (1 to 21).
    pub fn contrast(&self) -> f64 {
        let (a, b) = (luminance(self.fg), luminance(self.bg));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// True when the background is dark (a dark theme's surface).
    pub fn dark_background(&self) -> bool {
        luminance(self.bg) < 0.2
    }
}

/// WCAG 2 relative luminance of an sRGB colour.
pub fn luminance([r, g, b]: [f64; 3]) -> f64 {
    let channel = |c: f64| {
        let c = c / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

impl Browser {
    /// axe-core's violations on this page (or within `scope`), one line per
    /// violation and up to four offending elements under it; empty when none.
    pub async fn axe(&self, scope: Option<&str>) -> Result<Vec<String>, String> {
        let present = self
            .client
            .execute("return typeof window.axe === 'object';", vec![])
            .await
            .map_err(|e| format!("look for axe in the page: {e}"))?;
        if present.as_bool() != Some(true) {
            let source = std::fs::read_to_string(axe_script())
                .map_err(|e| format!("read axe-core ({e}); `cargo xtask setup` installs it"))?;
            self.client
                .execute(&format!("{source}\nreturn true;"), vec![])
                .await
                .map_err(|e| format!("inject axe-core: {e}"))?;
        }
        let found = self
            .client
            .execute_async(RUN_AXE, vec![json!(scope)])
            .await
            .map_err(|e| format!("run axe-core: {e}"))?;
        Ok(found
            .as_array()
            .map(|all| all.iter().map(describe).collect())
            .unwrap_or_default())
    }

    /// The colours of the first element matching `css`.
    pub async fn seen(&self, css: &str) -> Result<Seen, String> {
        let v = self
            .client
            .execute(COLOURS, vec![json!(css)])
            .await
            .map_err(|e| format!("read the colours of {css}: {e}"))?;
        let colour = |key: &str| -> Option<[f64; 3]> {
            let c: Vec<f64> = v[key]
                .as_array()?
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            Some([*c.first()?, *c.get(1)?, *c.get(2)?])
        };
        match (colour("fg"), colour("bg")) {
            (Some(fg), Some(bg)) => Ok(Seen { fg, bg }),
            _ => Err(format!("no element {css} (or no colour): {v}")),
        }
    }
}

/// One violation as a person reads it: rule, impact, what to fix, where.
fn describe(v: &Value) -> String {
    let mut out = format!(
        "{} ({}): {}",
        v["id"].as_str().unwrap_or("?"),
        v["impact"].as_str().unwrap_or("?"),
        v["help"].as_str().unwrap_or("?")
    );
    for n in v["nodes"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n      at {} {}\n         {}",
            n["target"].as_str().unwrap_or("?"),
            n["html"].as_str().unwrap_or(""),
            n["why"].as_str().unwrap_or("").replace('\n', " ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_is_wcags_ratio() {
        let black_on_white = Seen {
            fg: [0.0; 3],
            bg: [255.0; 3],
        };
        assert!((black_on_white.contrast() - 21.0).abs() < 1e-9);
        let same = Seen {
            fg: [119.0; 3],
            bg: [119.0; 3],
        };
        assert!((same.contrast() - 1.0).abs() < 1e-9);
        // #767676 on white is the classic 4.54:1.
        let grey = Seen {
            fg: [118.0; 3],
            bg: [255.0; 3],
        };
        assert!((grey.contrast() - 4.54).abs() < 0.01);
        assert!(!grey.dark_background());
        assert!(
            Seen {
                fg: [255.0; 3],
                bg: [17.0, 24.0, 39.0]
            }
            .dark_background()
        );
    }
}
