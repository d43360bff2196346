//! The agent hub's load scenario, shared by the load test
//! (`tests/tests/load.rs`) and `cargo xtask bench`: many widget
//! conversations, each open in several tabs that watch it, held for a while
//! against a local server with its own limit of 120 requests a minute;
//! meanwhile the site's agent answers each conversation once through the
//! worker, and another participant answers each of those answers upstream
//! directly. Every tab does what the widget does (its record, the history,
//! then watches from its cursor) and notes when each message reached it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mochat_api::Route;
use mochat_api::requests::RegisterResponse;
use mochat_api::widget::{CONVERSATION_PATH, ME_PATH, VISITOR_PATH, VisitorInfo};
use serde_json::json;

use crate::route;
use crate::toolchain::scratch_dir;
use crate::{Edge, LocalOptions, LocalServer, Mochat, WorkerOptions, WranglerDev};

/// The scenario's size.
#[derive(Debug, Clone)]
pub struct Load {
    /// Widget conversations.
    pub conversations: usize,
    /// Tabs open on each.
    pub tabs: usize,
    /// How long the tabs are held open.
    pub hold: Duration,
}

impl Default for Load {
    fn default() -> Self {
        Self {
            conversations: 30,
            tabs: 5,
            hold: Duration::from_secs(150),
        }
    }
}

/// Milliseconds at the 50th and 99th percentile, and the largest.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub count: usize,
}

impl Latency {
    pub fn of(mut samples: Vec<f64>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| {
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i]
        };
        Self {
            p50: at(0.50),
            p99: at(0.99),
            max: samples[samples.len() - 1],
            count: samples.len(),
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub conversations: usize,
    pub tabs: usize,
    pub hold_secs: u64,
    /// The operator's sends through the worker, and how many were 201.
    pub operator_sends: usize,
    pub operator_created: usize,
    /// Messages × tabs that should have arrived, did, and arrived twice.
    pub expected: usize,
    pub delivered: usize,
    pub duplicated: usize,
    /// From the operator's send to each tab.
    pub operator_to_tabs: Latency,
    /// From the other participant's post upstream to each tab.
    pub outside_to_tabs: Latency,
    /// The worker's requests for the agent, counted at the upstream: in all,
    /// in the busiest 60 s, and refused there with 429.
    pub upstream_requests: usize,
    pub upstream_busiest_minute: usize,
    pub upstream_429: usize,
    /// What the tabs were answered: 429s and other failures.
    pub tab_429: usize,
    pub tab_errors: usize,
}

/// One message the tabs should get: when it was sent, and whose it is.
struct Sent {
    at: Instant,
    by_operator: bool,
}

/// Per tab: message id → when it arrived (and how often).
type Seen = Arc<Mutex<Vec<HashMap<String, (Instant, u32)>>>>;

/// A visitor's requests carry no operator's cookie.
fn as_stranger(edge: &Edge) -> Edge {
    let mut edge = edge.clone();
    edge.cookie = None;
    edge
}

/// One tab: the visitor's record, the history, then watches until `stop`.
async fn tab(
    edge: Edge,
    token: String,
    sid: String,
    index: usize,
    seen: Seen,
    stop: Arc<std::sync::atomic::AtomicBool>,
    counts: Arc<Mutex<(usize, usize)>>,
) {
    let count = |a: &crate::Answer| {
        if a.status == 429 {
            counts.lock().expect("counts").0 += 1;
        } else if a.status != 200 {
            counts.lock().expect("counts").1 += 1;
        }
    };
    let me = as_stranger(&edge)
        .as_visitor("GET", ME_PATH, &token, None)
        .await;
    count(&me);
    let mut cursor = serde_json::from_str::<VisitorInfo>(&me.body)
        .ok()
        .and_then(|i| i.cursor)
        .unwrap_or(mochat_api::edge::CURSOR_NOW);
    let history = as_stranger(&edge)
        .call_as_visitor(&route::messages(&sid, Some(50)), &token, None)
        .await;
    count(&history);
    let note = |id: &str| {
        let mut all = seen.lock().expect("seen");
        let entry = all[index]
            .entry(id.to_owned())
            .or_insert((Instant::now(), 0));
        entry.1 += 1;
    };
    if let Some(messages) = history.json()["messages"].as_array() {
        for m in messages {
            if let Some(id) = m["messageId"].as_str() {
                note(id);
            }
        }
    }
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let watch = route::watch(&sid, 10_000, Some(cursor));
        let answer = as_stranger(&edge)
            .call_as_visitor(&watch, &token, None)
            .await;
        count(&answer);
        if answer.status != 200 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        let body = answer.json();
        if let Some(c) = body["cursor"].as_u64() {
            cursor = c;
        }
        for event in body["events"].as_array().into_iter().flatten() {
            if let Some(id) = event["payload"]["messageId"].as_str() {
                note(id);
            }
        }
    }
}

/// The requests one agent made, from the local server's log: (second of
/// the day, status).
pub fn upstream_requests(log: &str, agent: &str) -> Vec<(f64, u16)> {
    let needle = format!("agent={agent}");
    log.lines()
        .map(crate::local::strip_ansi)
        .filter(|l| l.contains(&needle) && l.contains("request"))
        .filter_map(|clean| {
            let at = clean.split_whitespace().next()?;
            let at = chrono_like_seconds(at)?;
            let status = clean
                .split_whitespace()
                .find_map(|w| w.strip_prefix("status="))?
                .parse()
                .ok()?;
            Some((at, status))
        })
        .collect()
}

/// Seconds of the day of a log timestamp `2026-12-02T09:05:44.267727Z`.
fn chrono_like_seconds(ts: &str) -> Option<f64> {
    let time = ts.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// The most requests in any 60 s.
pub fn busiest_minute(times: &[f64]) -> usize {
    let mut times = times.to_vec();
    times.sort_by(|a, b| a.total_cmp(b));
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= 60.0 {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Runs the scenario (`name` names its scratch folder) and reports.
pub async fn run(name: &str, load: &Load) -> Report {
    let dir = scratch_dir(name);
    let local = LocalServer::start(LocalOptions {
        demo: true,
        rate_limit: Some(120),
        ..LocalOptions::in_dir(&dir)
    })
    .expect("the local MoChat server starts");
    let operator_id = local
        .dev_var("DEFAULT_AGENT_ID")
        .expect("the demo's operator");
    // The other participant, who answers upstream directly.
    let reg: RegisterResponse = Mochat::new(local.base(), String::new())
        .call(
            Route::Register,
            Some(&json!({"name": "Outside", "username": format!("outside_{name}")})),
        )
        .await;
    let outside = Mochat::new(local.base(), reg.claw_token);
    let sites = json!({"load": {
        "origins": ["http://load.example"],
        "title": "Load",
        "participants": [reg.bot_user_id],
    }});
    let mut options = WorkerOptions::for_demo(&local, &dir);
    options.vars.extend([
        ("WIDGET_SITES".to_owned(), sites.to_string()),
        // One test client mints every visitor: the per-address throttle
        // is not what this measures.
        ("VISITOR_MINT_LIMIT".to_owned(), "100000".to_owned()),
        ("CONVERSATION_OPEN_LIMIT".to_owned(), "100000".to_owned()),
    ]);
    let worker = WranglerDev::start(&options).expect("wrangler dev starts");
    let mut edge = Edge::new(worker.origin());
    assert_eq!(edge.sign_in(&options.password).await, 204);

    // The visitors and their conversations.
    let mut visitors: Vec<(String, String)> = Vec::new();
    for i in 0..load.conversations {
        let minted = edge
            .post(
                VISITOR_PATH,
                &json!({"site": "load", "name": format!("Visitor {i}")}),
            )
            .await;
        assert_eq!(minted.status, 201, "{}", minted.body);
        let token = serde_json::from_str::<VisitorInfo>(&minted.body)
            .ok()
            .and_then(|v| v.token)
            .expect("a visitor token");
        let mut opened = as_stranger(&edge)
            .as_visitor("POST", CONVERSATION_PATH, &token, None)
            .await;
        while opened.status == 429 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            opened = as_stranger(&edge)
                .as_visitor("POST", CONVERSATION_PATH, &token, None)
                .await;
        }
        assert_eq!(opened.status, 200, "{}", opened.body);
        let sid = serde_json::from_str::<VisitorInfo>(&opened.body)
            .ok()
            .and_then(|v| v.session_id)
            .expect("the visitor's session");
        visitors.push((token, sid));
    }

    // The tabs.
    let tabs = load.conversations * load.tabs;
    let seen: Seen = Arc::new(Mutex::new(vec![HashMap::new(); tabs]));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let counts = Arc::new(Mutex::new((0usize, 0usize)));
    let mut tasks = Vec::new();
    for (c, (token, sid)) in visitors.iter().enumerate() {
        for t in 0..load.tabs {
            tasks.push(tokio::spawn(tab(
                edge.clone(),
                token.clone(),
                sid.clone(),
                c * load.tabs + t,
                Arc::clone(&seen),
                Arc::clone(&stop),
                Arc::clone(&counts),
            )));
        }
    }
    let held = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The answers: the agent's through the worker, each followed by the
    // other participant's upstream, spread over the hold.
    let answering = load.hold.saturating_sub(Duration::from_secs(20));
    let gap = answering / u32::try_from(load.conversations.max(1)).unwrap_or(1);
    let mut sent: BTreeMap<String, (usize, Sent)> = BTreeMap::new();
    let mut operator_created = 0;
    for (c, (_, sid)) in visitors.iter().enumerate() {
        let at = Instant::now();
        let answer = edge
            .call(
                &route::send(sid),
                Some(&json!({"content": format!("answer {c}"), "meta": {"clientId": format!("load-{c}")}})),
            )
            .await;
        if answer.status == 201
            && let Some(id) = answer.json()["messageId"].as_str()
        {
            operator_created += 1;
            sent.insert(
                id.to_owned(),
                (
                    c,
                    Sent {
                        at,
                        by_operator: true,
                    },
                ),
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let at = Instant::now();
        if let Ok(m) = outside.try_send(sid, &format!("outside answer {c}")).await {
            sent.insert(
                m.message_id,
                (
                    c,
                    Sent {
                        at,
                        by_operator: false,
                    },
                ),
            );
        }
        tokio::time::sleep(gap.saturating_sub(Duration::from_millis(300))).await;
    }
    let left = load.hold.saturating_sub(held.elapsed());
    tokio::time::sleep(left).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
    }

    // What arrived where, and when.
    let seen = seen.lock().expect("seen").clone();
    let (mut delivered, mut duplicated) = (0, 0);
    let (mut to_operator, mut to_outside) = (Vec::new(), Vec::new());
    for (id, (conversation, s)) in &sent {
        for t in 0..load.tabs {
            let tab = &seen[conversation * load.tabs + t];
            if let Some((arrived, times)) = tab.get(id) {
                delivered += 1;
                duplicated += (*times as usize).saturating_sub(1);
                let ms = arrived.saturating_duration_since(s.at).as_secs_f64() * 1000.0;
                if s.by_operator {
                    to_operator.push(ms);
                } else {
                    if ms > 3000.0 {
                        eprintln!(
                            "slow outside: conversation {conversation} tab {t} {ms:.0} ms, sent at +{:.1} s, session {}",
                            s.at.saturating_duration_since(held).as_secs_f64(),
                            visitors[*conversation].1
                        );
                    }
                    to_outside.push(ms);
                }
            }
        }
    }
    let requests = upstream_requests(&local.output(), &operator_id);
    let times: Vec<f64> = requests.iter().map(|(t, _)| *t).collect();
    let (tab_429, tab_errors) = *counts.lock().expect("counts");
    drop(worker);
    Report {
        conversations: load.conversations,
        tabs: load.tabs,
        hold_secs: load.hold.as_secs(),
        operator_sends: load.conversations,
        operator_created,
        expected: load.conversations * 2 * load.tabs,
        delivered,
        duplicated,
        operator_to_tabs: Latency::of(to_operator),
        outside_to_tabs: Latency::of(to_outside),
        upstream_requests: requests.len(),
        upstream_busiest_minute: busiest_minute(&times),
        upstream_429: requests.iter().filter(|(_, s)| *s == 429).count(),
        tab_429,
        tab_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_windows() {
        let l = Latency::of((1..=100).map(f64::from).collect());
        assert_eq!((l.p50, l.p99, l.max, l.count), (50.0, 99.0, 100.0, 100));
        assert_eq!(Latency::of(vec![]), Latency::default());
        assert_eq!(busiest_minute(&[0.0, 10.0, 59.9, 60.0, 61.0, 200.0]), 4);
        assert_eq!(busiest_minute(&[]), 0);
        let log = "\u{1b}[2m2026-12-02T09:05:44.267727Z\u{1b}[0m  INFO request method=GET path=/x status=429 ms=0 agent=a1\n\
                   2026-12-02T09:05:45.000000Z  INFO request method=GET path=/x status=200 ms=0 agent=a2";
        let a1 = upstream_requests(log, "a1");
        assert_eq!(a1.len(), 1);
        assert_eq!(a1[0].1, 429);
        assert!((a1[0].0 - (9.0 * 3600.0 + 5.0 * 60.0 + 44.267727)).abs() < 1e-6);
    }
}
