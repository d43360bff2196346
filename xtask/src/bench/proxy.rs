//! Proxy overhead: the same request mix (list messages, a send with
//! `meta.clientId` as the dashboard's are, detail) to several targets,
//! interleaved request by request (round robin, one request at a time), each
//! request timed from before it is sent until its whole body is read.

use std::time::Instant;

use mochat_api::Route;
use mochat_api::ratelimit::STATE_HEADER;
use mochat_api::requests::PageQuery;
use serde_json::{Value, json};

use super::stats::{Summary, differences, summarize};
use crate::run::Result;

/// Where requests go and what they carry.
pub struct Target {
    pub key: &'static str,
    pub label: &'static str,
    /// The API base, ending in `/api`.
    pub base: String,
    /// Headers on every request (a claw token, or a session cookie).
    pub headers: Vec<(&'static str, String)>,
    /// Sent as `Origin` on a POST (the dashboard's page), when set.
    pub origin: Option<String>,
    /// Whether answers must carry `RateLimit` (our worker's).
    pub expect_rate_limit_header: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    List,
    Send,
    Detail,
}

impl Op {
    pub const ALL: [Op; 3] = [Op::List, Op::Send, Op::Detail];

    pub fn name(self) -> &'static str {
        match self {
            Op::List => "list messages",
            Op::Send => "send",
            Op::Detail => "detail",
        }
    }
}

/// The measured samples of one target.
pub struct Series {
    pub key: &'static str,
    pub label: &'static str,
    /// One per round, in milliseconds.
    pub samples: Vec<f64>,
}

pub struct ProxyResult {
    pub rounds: usize,
    pub warmup: usize,
    /// The op of each round.
    pub ops: Vec<Op>,
    pub series: Vec<Series>,
}

impl ProxyResult {
    pub fn samples(&self, key: &str) -> &[f64] {
        self.series
            .iter()
            .find(|s| s.key == key)
            .map_or(&[], |s| s.samples.as_slice())
    }

    pub fn summary(&self, key: &str) -> Summary {
        summarize(self.samples(key))
    }

    /// Per round: `a − b`.
    pub fn diff(&self, a: &str, b: &str) -> Summary {
        summarize(&differences(self.samples(a), self.samples(b)))
    }

    /// Per round `a − b`, only rounds of `op`.
    pub fn diff_of(&self, op: Op, a: &str, b: &str) -> Summary {
        let pick = |k: &str| -> Vec<f64> {
            self.samples(k)
                .iter()
                .zip(&self.ops)
                .filter(|(_, o)| **o == op)
                .map(|(x, _)| *x)
                .collect()
        };
        summarize(&differences(&pick(a), &pick(b)))
    }

    pub fn summary_of(&self, op: Op, key: &str) -> Summary {
        let picked: Vec<f64> = self
            .samples(key)
            .iter()
            .zip(&self.ops)
            .filter(|(_, o)| **o == op)
            .map(|(x, _)| *x)
            .collect();
        summarize(&picked)
    }

    pub fn to_json(&self, pairs: &[(&str, &str)]) -> Value {
        let mut targets = serde_json::Map::new();
        for s in &self.series {
            let per_op: serde_json::Map<String, Value> = Op::ALL
                .iter()
                .map(|op| (op.name().to_owned(), self.summary_of(*op, s.key).to_json()))
                .collect();
            targets.insert(
                s.key.to_owned(),
                json!({ "label": s.label, "all": summarize(&s.samples).to_json(), "by_op": per_op }),
            );
        }
        let diffs: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(a, b)| (format!("{a}-{b}"), self.diff(a, b).to_json()))
            .collect();
        json!({
            "rounds": self.rounds,
            "warmup_rounds_discarded": self.warmup,
            "requests_per_target": self.rounds,
            "mix": Op::ALL.iter().map(|o| o.name()).collect::<Vec<_>>(),
            "targets": targets,
            "paired_differences": diffs,
        })
    }
}

/// `rounds` measured rounds after `warmup` discarded ones. Round `i` runs op
/// `i mod 3` once against every target, starting at target `i mod n`.
pub async fn run(
    targets: &[Target],
    session_id: &str,
    rounds: usize,
    warmup: usize,
) -> Result<ProxyResult> {
    let http = reqwest::Client::new();
    let mut series: Vec<Series> = targets
        .iter()
        .map(|t| Series {
            key: t.key,
            label: t.label,
            samples: Vec::with_capacity(rounds),
        })
        .collect();
    let mut ops = Vec::with_capacity(rounds);
    let started = Instant::now();
    for i in 0..warmup + rounds {
        let op = Op::ALL[i % 3];
        for k in 0..targets.len() {
            let t = (i + k) % targets.len();
            let ms = request(&http, &targets[t], op, session_id, i).await?;
            if i >= warmup {
                series[t].samples.push(ms);
            }
        }
        if i >= warmup {
            ops.push(op);
            let done = i + 1 - warmup;
            if done.is_multiple_of(500) || done == rounds {
                println!(
                    "    {done}/{rounds} rounds ({} requests) in {:.0} s",
                    done * targets.len(),
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    Ok(ProxyResult {
        rounds,
        warmup,
        ops,
        series,
    })
}

/// One request; its time in milliseconds. Any unexpected answer fails the run.
async fn request(
    http: &reqwest::Client,
    t: &Target,
    op: Op,
    sid: &str,
    round: usize,
) -> Result<f64> {
    let (method, path, body) = match op {
        Op::List => (
            reqwest::Method::GET,
            Route::ListSessionMessages {
                session_id: sid.to_owned(),
                query: PageQuery {
                    limit: Some(20),
                    before: None,
                },
            }
            .target(),
            None,
        ),
        Op::Send => (
            reqwest::Method::POST,
            Route::SendSessionMessage {
                session_id: sid.to_owned(),
            }
            .path(),
            Some(
                json!({
                    "content": format!("bench round {round} via {}", t.key),
                    "meta": {"clientId": format!("bench-{round}-{}", t.key)},
                })
                .to_string(),
            ),
        ),
        Op::Detail => (
            reqwest::Method::GET,
            Route::SessionDetail {
                session_id: sid.to_owned(),
            }
            .path(),
            None,
        ),
    };
    let url = format!("{}{path}", t.base);
    let mut req = http.request(method.clone(), &url);
    for (name, value) in &t.headers {
        req = req.header(*name, value);
    }
    if method == reqwest::Method::POST
        && let Some(origin) = &t.origin
    {
        req = req.header("Origin", origin);
    }
    if let Some(body) = body {
        req = req.header("Content-Type", "application/json").body(body);
    }
    let started = Instant::now();
    let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    let limited = resp.headers().contains_key(STATE_HEADER);
    let bytes = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let expected = if op == Op::Send { 201 } else { 200 };
    if status != expected {
        return Err(format!(
            "{} {url} answered {status}: {}",
            t.label,
            String::from_utf8_lossy(&bytes)
        ));
    }
    if t.expect_rate_limit_header && !limited {
        return Err(format!("{}: no {STATE_HEADER} header", t.label));
    }
    Ok(ms)
}
