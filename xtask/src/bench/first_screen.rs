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
      window.__firstScreenWaterfall = entries.map((e) => [
        new URL(e.name).pathname, Math.round(e.startTime), Math.round(e.responseEnd), e.transferSize || 0,
      ]);
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
    /// What the page fetched by then, in the last run: `(path, start ms,
    /// end ms, bytes)` (`responseEnd` 0: still under way).
    pub waterfall: Vec<(String, f64, f64, f64)>,
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
            "waterfall_last_run": self.waterfall.iter()
                .map(|(p, s, e, b)| json!({ "path": p, "start_ms": s, "end_ms": e, "bytes": b }))
                .collect::<Vec<_>>(),
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
    let empty = || Runs {
        times: Vec::new(),
        bytes: Vec::new(),
        waterfall: Vec::new(),
    };
    let (mut dashboard, mut widget) = (empty(), empty());
    for i in 0..runs {
        for (app, name, into) in [
            (App::Dashboard, "dashboard", &mut dashboard),
            (App::Widget, "widget", &mut widget),
        ] {
            let (t, b, waterfall) = once(setup, app).await?;
            println!(
                "    {name} run {}/{runs}: {t:.0} ms, {:.1} KB",
                i + 1,
                b / 1000.0
            );
            into.times.push(t);
            into.bytes.push(b);
            into.waterfall = waterfall;
        }
    }
    Ok(FirstScreen { dashboard, widget })
}

#[derive(Clone, Copy)]
enum App {
    Dashboard,
    Widget,
}

/// Time, bytes and waterfall of one cold load.
type Load = (f64, f64, Vec<(String, f64, f64, f64)>);

async fn once(setup: &Setup<'_>, app: App) -> Result<Load> {
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

async fn measure(b: &Browser, setup: &Setup<'_>, app: App) -> Result<Load> {
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
    let waterfall = b
        .client
        .execute("return window.__firstScreenWaterfall;", vec![])
        .await
        .map_err(fail("read the waterfall"))?;
    let waterfall = waterfall
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    let n = |i: usize| r.get(i).and_then(Value::as_f64).unwrap_or(f64::NAN);
                    let path = r.get(0).and_then(Value::as_str).unwrap_or_default();
                    (path.to_owned(), n(1), n(2), n(3))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((read(t), read(bytes), waterfall))
}
