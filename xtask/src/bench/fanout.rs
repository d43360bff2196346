//! Watch fan-out: many concurrent long-poll watches of one session on the
//! local server, then one send; per watcher, the time from just before the
//! send until its answer (with the event) is read.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::stack::call;
use super::stats::{Summary, summarize};
use crate::run::Result;

pub struct FanoutResult {
    pub watchers: usize,
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
            "answered_with_the_event": self.latencies.len(),
            "send_to_answer": self.summary().to_json(),
            "send_call_ms": super::stats::round3(self.send_call_ms),
            "watches_parked_after_s": super::stats::round3(self.parked_after_secs),
        })
    }
}

pub struct FanoutSetup<'a> {
    pub api_base: &'a str,
    pub port: u16,
    pub watcher_token: &'a str,
    pub sender_token: &'a str,
    pub session_id: &'a str,
}

pub async fn run(s: &FanoutSetup<'_>, watchers: usize) -> Result<FanoutResult> {
    let http = reqwest::Client::new();
    let detail = call(
        &http,
        s.api_base,
        s.watcher_token,
        reqwest::Method::GET,
        &format!("/claw/sessions/{}/detail", s.session_id),
        None,
    )
    .await?;
    let cursor = detail["cursor"]
        .as_u64()
        .ok_or_else(|| format!("detail without cursor: {detail}"))?;
    let url = format!(
        "{}/claw/sessions/{}/watch?timeout=60000&cursor={cursor}",
        s.api_base, s.session_id
    );
    let baseline = established(s.port);
    let answered = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        let (http, url, token, answered) = (
            http.clone(),
            url.clone(),
            s.watcher_token.to_owned(),
            answered.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let resp = http.get(&url).header("X-Claw-Token", token).send().await;
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
    // already open), then a moment for each handler to subscribe.
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

    let sent_at = Instant::now();
    call(
        &http,
        s.api_base,
        s.sender_token,
        reqwest::Method::POST,
        &format!("/claw/sessions/{}/message", s.session_id),
        Some(&json!({ "content": "one message for a thousand watchers" })),
    )
    .await?;
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
