//! Watch fan-out through the agent's hub: many concurrent long-poll watches
//! of one session through our worker (as many signed-in browsers, 20 tabs
//! each), then one send through the worker; per watcher, the time from just
//! before the send until its answer (with the event) is read, and how many
//! times the hub read the session upstream meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mochat_api::Route;
use mochat_api::limits::WATCH_TIMEOUT_MAX_MS;
use mochat_api::requests::WatchQuery;
use serde_json::{Value, json};

use super::stats::{Summary, summarize};
use crate::run::Result;

pub struct FanoutResult {
    pub watchers: usize,
    /// Upstream reads of the session's events while the watches were served.
    pub upstream_reads: usize,
    /// Send → answer, per watcher, milliseconds.
    pub latencies: Vec<f64>,
    /// The send call itself, milliseconds.
    pub send_call_ms: f64,
    /// Seconds until every watch was connected and parked.
    pub parked_after_secs: f64,
}

impl FanoutResult {
    pub fn summary(&self) -> Summary {
        summarize(&self.latencies)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "watchers": self.watchers,
            "upstream_reads": self.upstream_reads,
            "answered_with_the_event": self.latencies.len(),
            "send_to_answer": self.summary().to_json(),
            "send_call_ms": super::stats::round3(self.send_call_ms),
            "watches_parked_after_s": super::stats::round3(self.parked_after_secs),
        })
    }
}

pub struct FanoutSetup<'a> {
    /// Our worker's origin, and its port.
    pub origin: &'a str,
    pub port: u16,
    /// Session cookies of signed-in browsers (each holds up to 20 watches).
    pub cookies: &'a [String],
    pub session_id: &'a str,
    /// The local server's log so far, for counting its watch reads.
    pub upstream_log: &'a dyn Fn() -> String,
}

/// Watches (tabs) one signed-in browser may hold open.
pub const TABS_PER_BROWSER: usize = 20;

fn watch_reads(log: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.contains("request") && (l.contains("/watch ") || l.contains("sessions/watch"))
        })
        .count()
}

/// The session's latest cursor, from its detail through the worker.
async fn latest_cursor(http: &reqwest::Client, s: &FanoutSetup<'_>, cookie: &str) -> Result<u64> {
    let detail = Route::SessionDetail {
        session_id: s.session_id.to_owned(),
    };
    let detail: Value = http
        .get(format!("{}{}", s.origin, detail.api_target()))
        .header("Cookie", cookie)
        .send()
        .await
        .map_err(|e| format!("detail: {e}"))?
        .json()
        .await
        .map_err(|e| format!("detail: {e}"))?;
    detail["cursor"]
        .as_u64()
        .ok_or_else(|| format!("detail without cursor: {detail}"))
}

pub async fn run(s: &FanoutSetup<'_>, watchers: usize) -> Result<FanoutResult> {
    let http = reqwest::Client::new();
    let cookie = |i: usize| format!("mochat_session={}", s.cookies[i / TABS_PER_BROWSER]);
    if s.cookies.len() * TABS_PER_BROWSER < watchers {
        return Err(format!("{watchers} watchers need more signed-in browsers"));
    }
    let cursor = latest_cursor(&http, s, &cookie(0)).await?;
    let watch = Route::WatchSession {
        session_id: s.session_id.to_owned(),
        query: WatchQuery {
            timeout_ms: Some(WATCH_TIMEOUT_MAX_MS),
            cursor: Some(cursor),
            limit: None,
        },
    };
    let url = format!("{}{}", s.origin, watch.api_target());
    let baseline = established(s.port);
    let answered = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(watchers);
    for i in 0..watchers {
        let (http, url, cookie, answered) =
            (http.clone(), url.clone(), cookie(i), answered.clone());
        tasks.push(tokio::spawn(async move {
            let resp = http.get(&url).header("Cookie", cookie).send().await;
            let body = match resp {
                Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
                Err(e) => json!({ "transport": e.to_string() }),
            };
            let done = Instant::now();
            answered.fetch_add(1, Ordering::SeqCst);
            (done, body)
        }));
    }
    // Every watch connected (server side of loopback, on top of what was
    // already open), then a moment for each to be parked in the hub.
    let deadline = Instant::now() + Duration::from_secs(60);
    while established(s.port) < baseline + watchers {
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {watchers} watches connected within 60 s",
                established(s.port).saturating_sub(baseline)
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let parked_after_secs = started.elapsed().as_secs_f64();
    let early = answered.load(Ordering::SeqCst);
    if early > 0 {
        return Err(format!(
            "{early} watches answered before the send (they should wait)"
        ));
    }
    let reads_before = watch_reads(&(s.upstream_log)());
    let sent_at = Instant::now();
    let sent = http
        .post(format!(
            "{}{}",
            s.origin,
            Route::SendSessionMessage {
                session_id: s.session_id.to_owned()
            }
            .api_target()
        ))
        .header("Cookie", cookie(0))
        .header("Origin", s.origin)
        .json(&json!({ "content": "one message for a thousand tabs" }))
        .send()
        .await
        .map_err(|e| format!("send: {e}"))?;
    if sent.status() != 201 {
        return Err(format!(
            "the send through the worker answered {}",
            sent.status()
        ));
    }
    let send_call_ms = sent_at.elapsed().as_secs_f64() * 1000.0;
    let mut latencies = Vec::with_capacity(watchers);
    for task in tasks {
        let (done, body) = task.await.map_err(|e| format!("watch task: {e}"))?;
        let events = body["events"].as_array().map_or(0, Vec::len);
        if events != 1 {
            return Err(format!("a watch answered without the one event: {body}"));
        }
        latencies.push(done.duration_since(sent_at).as_secs_f64() * 1000.0);
    }
    Ok(FanoutResult {
        watchers,
        upstream_reads: watch_reads(&(s.upstream_log)()) - reads_before,
        latencies,
        send_call_ms,
        parked_after_secs,
    })
}

/// Established TCP connections whose local end is `127.0.0.1:port`.
fn established(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    count_established(&table, port)
}

fn count_established(table: &str, port: u16) -> usize {
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.get(1) == Some(&local.as_str()) && cols.get(3) == Some(&"01")
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::count_established;

    #[test]
    fn counts_the_server_side_of_established_loopback_connections() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue
   0: 0100007F:2AF8 00000000:0000 0A 00000000:00000000
   1: 0100007F:2AF8 0100007F:D3A4 01 00000000:00000000
   2: 0100007F:D3A4 0100007F:2AF8 01 00000000:00000000
   3: 0100007F:2AF8 0100007F:D3A6 06 00000000:00000000
   4: 0100007F:2AF8 0100007F:D3A8 01 00000000:00000000";
        assert_eq!(count_established(table, 0x2AF8), 2);
        assert_eq!(count_established(table, 11000), 2);
        assert_eq!(count_established(table, 1), 0);
    }
}
