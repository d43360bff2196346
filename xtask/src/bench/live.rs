//! Live delivery: a message sent through the API by another agent, until it
//! is in the dashboard's DOM in headless Chromium (a MutationObserver stamps
//! it). Browser and benchmark run on the same machine and read the same wall
//! clock: the page stamps `performance.timeOrigin + performance.now()`, the
//! benchmark takes `SystemTime::now()` just before sending.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mochat_api::Route;
use mochat_tests::Browser;
use serde_json::{Value, json};

use super::stats::{Summary, summarize};
use crate::run::Result;

pub struct LiveResult {
    pub warmup: usize,
    /// Send → stamped in the DOM, milliseconds.
    pub delivery: Vec<f64>,
    /// Of which the send call itself (until the API answered), milliseconds.
    pub send_call: Vec<f64>,
}

impl LiveResult {
    pub fn summary(&self) -> Summary {
        summarize(&self.delivery)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "samples": self.delivery.len(),
            "warmup_discarded": self.warmup,
            "send_to_dom": self.summary().to_json(),
            "send_call": summarize(&self.send_call).to_json(),
        })
    }
}

/// Stamps every `[data-testid=message]` the first time it is in the DOM.
const OBSERVER: &str = r#"
window.__stamps = {};
const stamp = (el) => {
  const id = el.getAttribute('data-id');
  if (id && !(id in window.__stamps)) window.__stamps[id] = performance.timeOrigin + performance.now();
};
new MutationObserver((records) => {
  for (const r of records) {
    if (r.type === 'attributes') {
      if (r.target.matches('[data-testid=message]')) stamp(r.target);
      continue;
    }
    for (const n of r.addedNodes) {
      if (n.nodeType !== 1) continue;
      if (n.matches('[data-testid=message]')) stamp(n);
      n.querySelectorAll('[data-testid=message]').forEach(stamp);
    }
  }
}).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-id'] });
document.querySelectorAll('[data-testid=message]').forEach(stamp);
return true;
"#;

pub struct LiveSetup<'a> {
    pub origin: &'a str,
    pub password: &'a str,
    /// The local server's API base.
    pub api_base: &'a str,
    /// The other agent's token.
    pub sender_token: &'a str,
    /// A fresh session of the dashboard's agent with the sender.
    pub session_id: &'a str,
}

pub async fn run(setup: &LiveSetup<'_>, samples: usize, warmup: usize) -> Result<LiveResult> {
    let browser = Browser::start(1280, 860, false)
        .await
        .map_err(|e| format!("headless Chromium: {e}"))?;
    let outcome = measure(&browser, setup, samples, warmup).await;
    if outcome.is_err() {
        let _ = browser.screenshot("bench-live-failure").await;
    }
    browser.close().await;
    outcome
}

async fn measure(
    b: &Browser,
    s: &LiveSetup<'_>,
    samples: usize,
    warmup: usize,
) -> Result<LiveResult> {
    b.client
        .goto(s.origin)
        .await
        .map_err(|e| format!("open the dashboard: {e}"))?;
    b.fill("#password", s.password)
        .await
        .map_err(|e| format!("type the password: {e}"))?;
    b.click("[data-testid=signin] button[type=submit]")
        .await
        .map_err(|e| format!("sign in: {e}"))?;
    b.click(&format!(
        "[data-testid=session-item][data-id={}]",
        s.session_id
    ))
    .await
    .map_err(|e| format!("open the session: {e}"))?;
    b.wait_for("[data-testid=empty]")
        .await
        .map_err(|e| format!("the empty session shows: {e}"))?;
    b.client
        .execute(OBSERVER, vec![])
        .await
        .map_err(|e| format!("install the MutationObserver: {e}"))?;

    let http = reqwest::Client::new();
    let mut result = LiveResult {
        warmup,
        delivery: Vec::with_capacity(samples),
        send_call: Vec::with_capacity(samples),
    };
    for i in 0..warmup + samples {
        // Let the dashboard re-arm its long poll after the previous message.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sent_at = wall_ms();
        let started = Instant::now();
        let id = send(&http, s, &format!("live sample {i}")).await?;
        let call_ms = started.elapsed().as_secs_f64() * 1000.0;
        let stamped = wait_stamp(b, &id).await?;
        if i >= warmup {
            result.delivery.push(stamped - sent_at);
            result.send_call.push(call_ms);
            if (i + 1 - warmup).is_multiple_of(25) {
                println!("    {}/{samples} messages", i + 1 - warmup);
            }
        }
    }
    Ok(result)
}

/// Milliseconds since the Unix epoch, sub-millisecond.
fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

async fn send(http: &reqwest::Client, s: &LiveSetup<'_>, content: &str) -> Result<String> {
    let send = Route::SendSessionMessage {
        session_id: s.session_id.to_owned(),
    };
    let url = format!("{}{}", s.api_base, send.path());
    let resp = http
        .post(&url)
        .header(mochat_api::limits::CLAW_TOKEN_HEADER, s.sender_token)
        .json(&json!({ "content": content }))
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    match body["messageId"].as_str() {
        Some(id) if status.as_u16() == 201 => Ok(id.to_owned()),
        _ => Err(format!("send: {status} {body}")),
    }
}

/// Polls the page until the observer stamped message `id`; the stamp.
async fn wait_stamp(b: &Browser, id: &str) -> Result<f64> {
    let script = "return (window.__stamps || {})[arguments[0]] ?? null;";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = b
            .client
            .execute(script, vec![json!(id)])
            .await
            .map_err(|e| format!("read the stamp: {e}"))?;
        if let Some(t) = v.as_f64() {
            return Ok(t);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "message {id} did not appear in the DOM within 30 s"
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
