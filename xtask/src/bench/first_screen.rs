//! First screen, as a visitor or an operator on a phone feels it: headless
//! Chromium at a phone's size with its CPU 4x slower and DevTools' "Slow 4G"
//! network, cache off and empty, from navigation start to the first useful
//! screen (dashboard: the session list shown; widget: the composer ready),
//! measured by the page's own clock. A fresh browser for every run.

use serde_json::{Value, json};

use mochat_tests::Browser;
use mochat_tests::browser::SLOW_4G;

use super::stats::{Summary, summarize};
use crate::run::Result;

/// CPU slowdown, as DevTools' "4x slowdown".
pub const CPU_SLOWDOWN: f64 = 4.0;
/// A phone's viewport (CSS pixels).
const PHONE: (u32, u32) = (412, 915);

/// Notes, in the page, when `selector` first matches (milliseconds since
/// navigation start) and what the page downloaded by then.
fn observer(selector: &str) -> String {
    format!(
        r#"(() => {{
  const selector = {selector:?};
  const check = () => {{
    if (window.__firstScreen === undefined && document.querySelector(selector)) {{
      window.__firstScreen = performance.now();
      const entries = performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'));
      window.__firstScreenBytes = entries.reduce((n, e) => n + (e.transferSize || 0), 0);
    }}
  }};
  new MutationObserver(check).observe(document, {{ childList: true, subtree: true, attributes: true }});
}})();"#
    )
}

/// One app's runs.
pub struct Runs {
    /// Navigation start → first useful screen, milliseconds.
    pub times: Vec<f64>,
    /// Bytes the page had received by then (`transferSize`), per run.
    pub bytes: Vec<f64>,
}

impl Runs {
    pub fn summary(&self) -> Summary {
        summarize(&self.times)
    }

    fn to_json(&self) -> Value {
        let s = self.summary();
        json!({
            "runs_ms": self.times,
            "median_ms": s.p50,
            "min_ms": s.min,
            "max_ms": s.max,
            "transferred_bytes": self.bytes,
        })
    }
}

pub struct FirstScreen {
    pub dashboard: Runs,
    pub widget: Runs,
}

impl FirstScreen {
    pub fn to_json(&self) -> Value {
        let (latency, down, up) = SLOW_4G;
        json!({
            "cpu_slowdown": CPU_SLOWDOWN,
            "network": { "latency_ms": latency, "download_bytes_per_s": down, "upload_bytes_per_s": up },
            "viewport": [PHONE.0, PHONE.1],
            "dashboard": self.dashboard.to_json(),
            "widget": self.widget.to_json(),
        })
    }
}

pub struct Setup<'a> {
    pub origin: &'a str,
    pub password: &'a str,
    /// The widget frame's URL (a configured site, an allowed host).
    pub widget_url: &'a str,
}

/// `runs` cold loads of each app.
pub async fn run(setup: &Setup<'_>, runs: usize) -> Result<FirstScreen> {
    let mut dashboard = Runs {
        times: Vec::new(),
        bytes: Vec::new(),
    };
    let mut widget = Runs {
        times: Vec::new(),
        bytes: Vec::new(),
    };
    for i in 0..runs {
        let (t, b) = once(setup, App::Dashboard).await?;
        println!(
            "    dashboard run {}/{runs}: {t:.0} ms, {:.1} KB",
            i + 1,
            b / 1000.0
        );
        dashboard.times.push(t);
        dashboard.bytes.push(b);
        let (t, b) = once(setup, App::Widget).await?;
        println!(
            "    widget run {}/{runs}: {t:.0} ms, {:.1} KB",
            i + 1,
            b / 1000.0
        );
        widget.times.push(t);
        widget.bytes.push(b);
    }
    Ok(FirstScreen { dashboard, widget })
}

#[derive(Clone, Copy)]
enum App {
    Dashboard,
    Widget,
}

async fn once(setup: &Setup<'_>, app: App) -> Result<(f64, f64)> {
    let b = Browser::start(PHONE.0, PHONE.1, false)
        .await
        .map_err(|e| format!("Chromium: {e}"))?;
    let outcome = measure(&b, setup, app).await;
    b.close().await;
    outcome
}

/// Names the step a browser error came from.
fn fail<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{what}: {e}")
}

async fn measure(b: &Browser, setup: &Setup<'_>, app: App) -> Result<(f64, f64)> {
    let (url, selector) = match app {
        App::Dashboard => {
            // Signed in first (unthrottled): the first screen is the list.
            b.sign_in(setup.origin, setup.password).await?;
            (
                format!("{}/", setup.origin),
                "[data-testid=session-item]".to_owned(),
            )
        }
        App::Widget => (
            setup.widget_url.to_owned(),
            "[data-testid=composer]:not([disabled])".to_owned(),
        ),
    };
    b.throttle_like_a_phone(CPU_SLOWDOWN)
        .await
        .map_err(fail("throttle"))?;
    b.before_every_page(&observer(&selector))
        .await
        .map_err(fail("observer"))?;
    b.client.goto(&url).await.map_err(fail("navigate"))?;
    b.wait_js("window.__firstScreen !== undefined")
        .await
        .map_err(fail("the first screen"))?;
    let read = |v: Value| v.as_f64().unwrap_or(f64::NAN);
    let t = b
        .client
        .execute("return window.__firstScreen;", vec![])
        .await
        .map_err(fail("read the time"))?;
    let bytes = b
        .client
        .execute("return window.__firstScreenBytes;", vec![])
        .await
        .map_err(fail("read the bytes"))?;
    Ok((read(t), read(bytes)))
}
