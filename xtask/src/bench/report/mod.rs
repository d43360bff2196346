//! The report: `BENCHMARKS.md` (tables, each with how it was measured) and
//! `bench/results.json` (the same figures).

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::fanout::FanoutResult;
use super::first_screen::FirstScreen;
use super::live::LiveResult;
use super::proxy::ProxyResult;
use super::stats::{Summary, ms, round3};
use super::weight::{Artifact, KB, Weight};
use crate::run::Result;
use mochat_tests::load::Report as LoadReport;

mod sizes;
mod timing;

use sizes::{first_screen_rows, first_screen_section, secs, weight_section};
use timing::{cold_section, fanout_section, live_section, load_rows, load_section, proxy_section};

/// Targets of the issue.
const PROXY_MARGIN_MS: f64 = 1.5;
const LIVE_P50_MS: f64 = 30.0;
const LIVE_P99_MS: f64 = 100.0;
/// First useful screen on a phone (4x CPU, Slow 4G), median of the runs.
const FIRST_SCREEN_DASHBOARD_MS: f64 = 3000.0;
const FIRST_SCREEN_WIDGET_MS: f64 = 2000.0;

pub struct Report {
    pub date: String,
    pub total_secs: f64,
    pub machine: Vec<(String, String)>,
    pub tools: Vec<(String, String)>,
    /// Set-up and builds before measuring (from `bench`).
    pub prep_steps: Vec<(String, f64)>,
    /// The measurements.
    pub steps: Vec<(String, f64)>,
    /// `/proc/loadavg` when measuring started and ended.
    pub load: Vec<(String, String)>,
    pub cold_readme: Option<String>,
    pub weight: Option<Result<Weight>>,
    pub stack_error: Option<String>,
    pub stack_dir: String,
    pub warm_dashboard_secs: Option<f64>,
    pub wrangler_ready_secs: Vec<(String, f64)>,
    pub proxy: Option<Result<ProxyResult>>,
    pub live: Option<Result<LiveResult>>,
    pub fanout: Option<Result<FanoutResult>>,
    pub first_screen: Option<Result<FirstScreen>>,
    /// The load scenario (`mochat_tests::load`).
    pub load_run: Option<LoadReport>,
}

impl Report {
    pub fn new(
        machine: Vec<(String, String)>,
        tools: Vec<(String, String)>,
        cold_readme: Option<String>,
    ) -> Self {
        let date = crate::run::output(
            std::process::Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]),
        )
        .unwrap_or_default();
        Self {
            date,
            total_secs: 0.0,
            machine,
            tools,
            prep_steps: Vec::new(),
            steps: Vec::new(),
            load: Vec::new(),
            cold_readme,
            weight: None,
            stack_error: None,
            stack_dir: String::new(),
            warm_dashboard_secs: None,
            wrangler_ready_secs: Vec::new(),
            proxy: None,
            live: None,
            fanout: None,
            first_screen: None,
            load_run: None,
        }
    }

    /// The first failure, if any part failed or did not run.
    pub fn first_error(&self) -> Option<String> {
        fn err<T>(name: &str, r: &Option<Result<T>>) -> Option<String> {
            match r {
                Some(Err(e)) => Some(format!("{name}: {e}")),
                None => Some(format!("{name}: did not run")),
                Some(Ok(_)) => None,
            }
        }
        self.stack_error
            .as_ref()
            .map(|e| format!("stack: {e}"))
            .or_else(|| err("weight", &self.weight))
            .or_else(|| err("first screen", &self.first_screen))
            .or_else(|| err("proxy", &self.proxy))
            .or_else(|| err("live", &self.live))
            .or_else(|| err("fan-out", &self.fanout))
            .or_else(|| {
                self.load_run
                    .is_none()
                    .then(|| "load: did not run".to_owned())
            })
    }
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / KB as f64)
}

fn failed<T>(r: &Option<Result<T>>, stack_error: &Option<String>) -> String {
    match (r, stack_error) {
        (Some(Err(e)), _) => format!("**failed**: {e}"),
        (None, Some(e)) => format!("**not run**: the stack did not start: {e}"),
        _ => "**not run**".to_owned(),
    }
}

fn verdict(met: bool, miss: String) -> String {
    if met {
        "met".to_owned()
    } else {
        format!("**missed** {miss}")
    }
}

fn size_verdict(a: &Artifact) -> String {
    let over = a.gzip().saturating_sub(a.target_gzip);
    verdict(
        a.gzip() <= a.target_gzip,
        format!(
            "by {} ({:.0} % over)",
            kb(over),
            over as f64 * 100.0 / a.target_gzip as f64
        ),
    )
}

fn ok<T>(r: &Option<Result<T>>) -> Option<&T> {
    r.as_ref().and_then(|r| r.as_ref().ok())
}

/// The proxy target: our p50 against the bare worker's p50 + 1.5 ms.
fn proxy_verdict(p: &ProxyResult) -> (String, String) {
    let (ours, bare) = (p.summary("ours").p50, p.summary("bare").p50);
    let figure = format!(
        "ours p50 {} ms, bare p50 {} ms: +{} ms (paired p50 {} ms)",
        ms(ours),
        ms(bare),
        ms(ours - bare),
        ms(p.diff("ours", "bare").p50)
    );
    let over = ours - (bare + PROXY_MARGIN_MS);
    (figure, verdict(over <= 0.0, format!("by {} ms", ms(over))))
}

fn live_verdict(s: &Summary) -> (String, String) {
    let miss = [
        (s.p50 > LIVE_P50_MS).then(|| format!("p50 by {} ms", ms(s.p50 - LIVE_P50_MS))),
        (s.p99 > LIVE_P99_MS).then(|| format!("p99 by {} ms", ms(s.p99 - LIVE_P99_MS))),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    (
        format!("p50 {} ms, p99 {} ms", ms(s.p50), ms(s.p99)),
        verdict(miss.is_empty(), miss.join(", ")),
    )
}

pub fn summary_lines(r: &Report) -> String {
    let mut out = String::new();
    for line in targets_table(r).lines().skip(2) {
        let _ = writeln!(out, "  {line}");
    }
    let _ = write!(out, "  total runtime {:.1} min", r.total_secs / 60.0);
    out
}

fn targets_table(r: &Report) -> String {
    let mut t = String::from("| row | measured | target | verdict |\n|---|---|---|---|\n");
    match ok(&r.weight) {
        Some(w) => {
            for a in &w.artifacts {
                let (figure, v) = (format!("{} gzip", kb(a.gzip())), size_verdict(a));
                let _ = writeln!(
                    t,
                    "| {} | {figure} | ≤ {} gzip | {v} |",
                    a.name,
                    kb(a.target_gzip)
                );
            }
        }
        None => {
            let _ = writeln!(t, "| Weight | {} | | |", failed(&r.weight, &None));
        }
    }
    match ok(&r.first_screen) {
        Some(f) => {
            for (row, runs, limit) in first_screen_rows(f) {
                let s = runs.summary();
                let over = s.p50 - limit;
                let _ = writeln!(
                    t,
                    "| {row} | median {} s of {} (min {} s, max {} s) | ≤ {} s | {} |",
                    secs(s.p50),
                    s.n,
                    secs(s.min),
                    secs(s.max),
                    secs(limit),
                    verdict(over <= 0.0, format!("by {} s", secs(over)))
                );
            }
        }
        None => {
            let _ = writeln!(
                t,
                "| First screen on a phone | {} | dashboard ≤ 3 s, widget ≤ 2 s | |",
                failed(&r.first_screen, &r.stack_error)
            );
        }
    }
    let target = format!("ours p50 ≤ bare p50 + {PROXY_MARGIN_MS} ms");
    match ok(&r.proxy) {
        Some(p) => {
            let (figure, v) = proxy_verdict(p);
            let _ = writeln!(t, "| Proxy overhead | {figure} | {target} | {v} |");
        }
        None => {
            let _ = writeln!(
                t,
                "| Proxy overhead | {} | {target} | |",
                failed(&r.proxy, &r.stack_error)
            );
        }
    }
    if let Some(l) = &r.load_run {
        for (row, figure, target, met) in load_rows(l) {
            let _ = writeln!(
                t,
                "| {row} | {figure} | {target} | {} |",
                verdict(met, String::new())
            );
        }
    }
    let target = format!("p50 ≤ {LIVE_P50_MS} ms, p99 ≤ {LIVE_P99_MS} ms");
    match ok(&r.live) {
        Some(l) => {
            let (figure, v) = live_verdict(&l.summary());
            let _ = writeln!(t, "| Live delivery | {figure} | {target} | {v} |");
        }
        None => {
            let _ = writeln!(
                t,
                "| Live delivery | {} | {target} | |",
                failed(&r.live, &r.stack_error)
            );
        }
    }
    t
}

pub fn markdown(r: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` on {} (total runtime of the command: {:.1} min). \
         The same figures, unrounded: [`bench/results.json`](bench/results.json). \
         Everything runs on this one machine, on loopback; milliseconds are wall-clock \
         times of single requests; KB = 1,000 bytes. Percentiles are nearest-rank.\n",
        r.date,
        r.total_secs / 60.0
    );
    md.push_str("## Against the targets\n\n");
    md.push_str(&targets_table(r));
    md.push_str("\n## Machine and tools\n\n| | |\n|---|---|\n");
    for (k, v) in r.machine.iter().chain(&r.load).chain(&r.tools) {
        let _ = writeln!(md, "| {k} | {v} |");
    }
    md.push_str(
        "\nThe machine was not reserved for the benchmark: other work (builds, test runs) may \
         have run at the same time; the load averages above show how busy it was. Contention \
         shows in the tails (p99, max) more than in the medians, and the paired differences \
         (same call, same moment) are less affected than the absolute times.\n",
    );
    weight_section(&mut md, r);
    first_screen_section(&mut md, r);
    proxy_section(&mut md, r);
    live_section(&mut md, r);
    fanout_section(&mut md, r);
    load_section(&mut md, r);
    cold_section(&mut md, r);
    md.push_str("\n## Time taken by this run\n\n| step | seconds |\n|---|---|\n");
    for (name, secs) in r.prep_steps.iter().chain(&r.steps) {
        let _ = writeln!(md, "| {name} | {secs:.1} |");
    }
    let _ = writeln!(md, "| **total** | **{:.1}** |", r.total_secs);
    md
}

pub fn json(r: &Report) -> Value {
    let part = |v: Option<Value>, e: Option<String>| match (v, e) {
        (Some(v), _) => v,
        (None, e) => json!({ "error": e.unwrap_or_else(|| "did not run".to_owned()) }),
    };
    let err_of = |e: Option<&String>| e.cloned().or_else(|| r.stack_error.clone());
    let pairs = [
        ("ours", "bare"),
        ("bare", "direct"),
        ("shape", "bare"),
        ("ours", "shape"),
        ("ours", "direct"),
    ];
    let pairs_of = |m: &[(String, String)]| {
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<serde_json::Map<_, _>>()
    };
    json!({
        "generated_by": "cargo xtask bench",
        "date": r.date,
        "total_runtime_s": round3(r.total_secs),
        "machine": pairs_of(&r.machine),
        "tools": pairs_of(&r.tools),
        "scratch_dir": r.stack_dir,
        "load_average": pairs_of(&r.load),
        "steps_s": r.prep_steps.iter().chain(&r.steps).map(|(k, s)| json!({ "step": k, "seconds": round3(*s) })).collect::<Vec<_>>(),
        "weight": part(ok(&r.weight).map(Weight::to_json), r.weight.as_ref().and_then(|w| w.as_ref().err().cloned())),
        "proxy_overhead": part(
            ok(&r.proxy).map(|p| p.to_json(&pairs)),
            err_of(r.proxy.as_ref().and_then(|p| p.as_ref().err())),
        ),
        "live_delivery": part(
            ok(&r.live).map(LiveResult::to_json),
            err_of(r.live.as_ref().and_then(|l| l.as_ref().err())),
        ),
        "first_screen": part(
            ok(&r.first_screen).map(FirstScreen::to_json),
            err_of(r.first_screen.as_ref().and_then(|f| f.as_ref().err())),
        ),
        "watch_fanout": part(
            ok(&r.fanout).map(FanoutResult::to_json),
            err_of(r.fanout.as_ref().and_then(|f| f.as_ref().err())),
        ),
        "load": r.load_run.as_ref().map(|l| json!({
            "conversations": l.conversations,
            "tabs_each": l.tabs,
            "hold_s": l.hold_secs,
            "operator_sends": l.operator_sends,
            "operator_sends_created": l.operator_created,
            "tab_deliveries_expected": l.expected,
            "tab_deliveries": l.delivered,
            "tab_deliveries_twice": l.duplicated,
            "operator_to_tabs_ms": {"p50": round3(l.operator_to_tabs.p50), "p99": round3(l.operator_to_tabs.p99), "max": round3(l.operator_to_tabs.max)},
            "outside_to_tabs_ms": {"p50": round3(l.outside_to_tabs.p50), "p99": round3(l.outside_to_tabs.p99), "max": round3(l.outside_to_tabs.max)},
            "upstream_requests": l.upstream_requests,
            "upstream_busiest_minute": l.upstream_busiest_minute,
            "upstream_refused": l.upstream_429,
            "tab_429": l.tab_429,
            "tab_errors": l.tab_errors,
        })),
        "cold_start": {
            "measured": false,
            "readme": r.cold_readme,
            "warm_dashboard_served_s": r.warm_dashboard_secs.map(round3),
            "wrangler_ready_s": r.wrangler_ready_secs.iter().map(|(k, s)| (k.clone(), round3(*s))).collect::<serde_json::Map<_, _>>(),
        },
        "targets": {
            "dashboard_gzip_bytes_max": 150 * KB,
            "widget_app_gzip_bytes_max": 100 * KB,
            "widget_loader_gzip_bytes_max": 3 * KB,
            "worker_gzip_bytes_max": 600 * KB,
            "ours_p50_max_over_bare_p50_ms": PROXY_MARGIN_MS,
            "live_p50_ms_max": LIVE_P50_MS,
            "first_screen_dashboard_ms_max": FIRST_SCREEN_DASHBOARD_MS,
            "first_screen_widget_ms_max": FIRST_SCREEN_WIDGET_MS,
            "live_p99_ms_max": LIVE_P99_MS,
        },
    })
}
