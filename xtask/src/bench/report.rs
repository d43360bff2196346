//! The report: `BENCHMARKS.md` (tables, each with how it was measured) and
//! `bench/results.json` (the same figures).

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::fanout::FanoutResult;
use super::first_screen::{self, FirstScreen, Runs};
use super::live::LiveResult;
use super::proxy::{Op, ProxyResult};
use super::stats::{Summary, ms, round3};
use super::wasm;
use super::weight::{Artifact, Breakdown, FUNCTIONS_SHOWN, KB, Weight};
use crate::run::Result;
use mochat_tests::load::{Latency, Report as LoadReport};

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
    let _ = write!(
        out,
        "  total runtime {:.1} min; BENCHMARKS.md and bench/results.json written",
        r.total_secs / 60.0
    );
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

fn weight_section(md: &mut String, r: &Report) {
    md.push_str(
        "\n## Weight\n\n\
         Method: the release builds of this run (`cargo xtask build`: `trunk build --release` \
         into `dist/`, `worker-build --release` into `worker/build/`). Each file is compressed \
         on its own, as it is served: gzip level 9 (flate2), brotli quality 11, window 22. \
         Dashboard first load = `index.html` + every `.js`, `.wasm` and `.css` in `dist/` \
         (the favicon and the widget's loader are left out). Widget app = what the widget's \
         frame loads on first open: `dist/widget/index.html` + its `.js`, `.wasm` and `.css`. \
         Widget loader = `dist/widget.js`, the one script a host page includes. Worker bundle = what `wrangler.toml`'s `main` loads: \
         `worker/build/index.js` + `index_bg.wasm`.\n\n",
    );
    let Some(w) = ok(&r.weight) else {
        let _ = writeln!(md, "{}", failed(&r.weight, &None));
        return;
    };
    md.push_str("| artifact / file | raw | gzip | brotli | target (gzip) | verdict |\n|---|---|---|---|---|---|\n");
    for a in &w.artifacts {
        let _ = writeln!(
            md,
            "| **{}** | **{}** | **{}** | **{}** | ≤ {} | {} |",
            a.name,
            kb(a.raw()),
            kb(a.gzip()),
            kb(a.brotli()),
            kb(a.target_gzip),
            size_verdict(a)
        );
        for f in &a.files {
            let _ = writeln!(
                md,
                "| &nbsp;&nbsp;`{}` | {} | {} | {} | | |",
                f.name,
                kb(f.raw),
                kb(f.gzip),
                kb(f.brotli)
            );
        }
    }
    for a in &w.artifacts {
        if a.gzip() > a.target_gzip {
            let _ = writeln!(md, "\n{}", what_dominates(a, w));
        }
    }
    md.push_str(
        "\n### What the WebAssembly is made of\n\n\
         Sections of the shipped `.wasm`, then its code by origin, by crate and function by \
         function (like `twiggy top` or `cargo bloat`). For the dashboard and the widget the \
         code is attributed from the shipped file's *named twin*: rustc's output run through \
         the same wasm-bindgen and `wasm-opt -Oz` (same flags) as Trunk's, keeping the `name` \
         section, so its bytes are the shipped code bytes, function by function. For the \
         worker they come from rustc's wasm before optimisation (shares, not shipped bytes). \
         Generic code counts for the crate that defines it (`T` is a blanket impl such as \
         `<T as IntoAny>`); functions of the same name (generic copies, closures of one \
         function) are summed, with the number of copies; `[unknown]` is code without a \
         Rust path (the allocator, `memcpy`).\n",
    );
    for b in &w.breakdowns {
        breakdown_tables(md, b);
    }
}

fn breakdown_tables(md: &mut String, b: &Breakdown) {
    let share = |n: usize, of: usize| format!("{:.1} %", n as f64 * 100.0 / of.max(1) as f64);
    let total: usize = b.sections.iter().map(|(_, n)| n).sum();
    let _ = writeln!(
        md,
        "\n#### {}\n\n`{}` by section:\n\n| section | raw | share |\n|---|---|---|",
        b.artifact, b.shipped
    );
    for (name, n) in &b.sections {
        let _ = writeln!(md, "| {name} | {} | {} |", kb(*n), share(*n, total));
    }
    if b.crates.is_empty() {
        let _ = writeln!(md, "\n(`{}` not found: no per-crate list.)", b.attributed);
        return;
    }
    let code = b.code_bytes;
    let kind = if b.exact {
        "shipped code"
    } else {
        "code before optimisation"
    };
    let _ = writeln!(
        md,
        "\nCode by origin ({} of {kind}, from `{}`):\n\n| origin | code | share |\n|---|---|---|",
        kb(code),
        b.attributed
    );
    for (name, n) in wasm::groups(&b.crates) {
        let _ = writeln!(md, "| {name} | {} | {} |", kb(n), share(n, code));
    }
    let _ = writeln!(
        md,
        "\nBy crate, top 15:\n\n| crate | code | share |\n|---|---|---|"
    );
    for (name, n) in b.crates.iter().take(15) {
        let _ = writeln!(md, "| {name} | {} | {} |", kb(*n), share(*n, code));
    }
    let _ = writeln!(
        md,
        "\nLargest functions, top {FUNCTIONS_SHOWN}:\n\n| function | code | share | copies |\n|---|---|---|---|"
    );
    for (name, n, copies) in b.functions.iter().take(FUNCTIONS_SHOWN) {
        let name: String = name.chars().take(110).collect();
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {copies} |",
            name.replace('|', "\\|"),
            kb(*n),
            share(*n, code)
        );
    }
}

/// Why an artifact is over its target: its largest file, and that file's make-up.
fn what_dominates(a: &Artifact, w: &Weight) -> String {
    let mut text = format!(
        "**{}** is {} gzip, {} over its {} target.",
        a.name,
        kb(a.gzip()),
        kb(a.gzip().saturating_sub(a.target_gzip)),
        kb(a.target_gzip)
    );
    if let Some(big) = a.files.iter().max_by_key(|f| f.gzip) {
        let _ = write!(
            text,
            " What dominates: `{}`, {} gzip ({:.0} % of it)",
            big.name,
            kb(big.gzip),
            big.gzip as f64 * 100.0 / a.gzip().max(1) as f64
        );
        if let Some(b) = w.breakdowns.iter().find(|b| b.artifact == a.key) {
            let total: usize = b.sections.iter().map(|(_, n)| n).sum();
            let code = b
                .sections
                .iter()
                .find(|(k, _)| k == "code")
                .map_or(0, |(_, n)| *n);
            let _ = write!(
                text,
                "; its code section is {:.0} % of its raw bytes",
                code as f64 * 100.0 / total.max(1) as f64
            );
            let all: usize = b.crates.iter().map(|(_, n)| n).sum();
            let top: Vec<String> = wasm::groups(&b.crates)
                .iter()
                .take(3)
                .map(|(g, n)| format!("{g} {:.0} %", *n as f64 * 100.0 / all.max(1) as f64))
                .collect();
            if !top.is_empty() {
                let _ = write!(text, ", and of that code {}", top.join(", "));
            }
        }
        text.push('.');
    }
    text
}

/// Milliseconds as seconds, two decimals.
fn secs(ms: f64) -> String {
    format!("{:.2}", ms / 1000.0)
}

/// `(row, runs, target in ms)` of the first-screen rows.
fn first_screen_rows(f: &FirstScreen) -> [(&'static str, &Runs, f64); 2] {
    [
        (
            "First screen on a phone: dashboard (session list shown)",
            &f.dashboard,
            FIRST_SCREEN_DASHBOARD_MS,
        ),
        (
            "First screen on a phone: widget (composer ready)",
            &f.widget,
            FIRST_SCREEN_WIDGET_MS,
        ),
    ]
}

fn first_screen_section(md: &mut String, r: &Report) {
    let (latency, down, up) = mochat_tests::browser::SLOW_4G;
    let _ = writeln!(
        md,
        "\n## First screen on a phone\n\n\
         Method: headless Chromium (chromedriver) at a phone's viewport, with DevTools' \
         emulation through chromedriver's `goog/cdp/execute`: CPU {}x slower \
         (`Emulation.setCPUThrottlingRate`) and the \"Slow 4G\" network profile \
         (`Network.emulateNetworkConditions`: {latency} ms latency, {:.0} KB/s down, {:.0} KB/s \
         up), cache disabled and cleared. A fresh browser for every run. The time is the \
         page's own clock (`performance.now()`, from navigation start) when the first useful \
         screen is in the DOM, noted by a `MutationObserver` installed before the page's \
         scripts (`Page.addScriptToEvaluateOnNewDocument`): for the dashboard, signed in \
         beforehand without throttling, a session of the list shown \
         (`[data-testid=session-item]`); for the widget, its frame page \
         (`/edge/widget/frame?site=…`, as the loader opens it) until the composer is ready \
         (`[data-testid=composer]` enabled: a visitor was minted). Bytes are what the page \
         had received by then (`transferSize` of the navigation and every resource, as \
         `wrangler dev` sends them: gzip; Cloudflare would send brotli, which is smaller, see \
         Weight). The waterfall of the last run shows what the first screen waits for.\n",
        first_screen::CPU_SLOWDOWN,
        down / 1000.0,
        up / 1000.0
    );
    let Some(f) = ok(&r.first_screen) else {
        let _ = writeln!(md, "{}", failed(&r.first_screen, &r.stack_error));
        return;
    };
    md.push_str("| app | runs (s) | median | bytes received (median) | target | verdict |\n|---|---|---|---|---|---|\n");
    for (row, runs, limit) in first_screen_rows(f) {
        let s = runs.summary();
        let list: Vec<String> = runs.times.iter().map(|t| secs(*t)).collect();
        let bytes = super::stats::percentile(
            &{
                let mut b = runs.bytes.clone();
                b.sort_by(f64::total_cmp);
                b
            },
            50.0,
        );
        let _ = writeln!(
            md,
            "| {row} | {} | **{} s** | {} | ≤ {} s | {} |",
            list.join(", "),
            secs(s.p50),
            kb(bytes as usize),
            secs(limit),
            verdict(s.p50 <= limit, format!("by {} s", secs(s.p50 - limit)))
        );
    }
    for (row, runs, _) in first_screen_rows(f) {
        let _ = writeln!(
            md,
            "\n{row}, last run: what the page fetched before its first screen \
             (milliseconds from navigation start; query strings left out):\n\n\
             | path | start | end | bytes |\n|---|---|---|---|"
        );
        for (path, start, end, bytes) in &runs.waterfall {
            let end = if *end > 0.0 {
                format!("{end:.0}")
            } else {
                "(under way)".to_owned()
            };
            let _ = writeln!(
                md,
                "| `{path}` | {start:.0} | {end} | {} |",
                kb(*bytes as usize)
            );
        }
        let last = runs.times.last().copied().unwrap_or(f64::NAN);
        let _ = writeln!(md, "| **first screen** | | **{last:.0}** | |");
    }
}

fn summary_row(md: &mut String, label: &str, s: &Summary) {
    let _ = writeln!(
        md,
        "| {label} | {} | {} | {} | {} | {} | {} |",
        s.n,
        ms(s.p50),
        ms(s.p90),
        ms(s.p99),
        ms(s.mean),
        ms(s.max)
    );
}

const SUMMARY_HEAD: &str =
    "| | n | p50 | p90 | p99 | mean | max |\n|---|---|---|---|---|---|---|\n";

fn proxy_section(md: &mut String, r: &Report) {
    md.push_str(
        "\n## Proxy overhead\n\n\
         Method: one local MoChat server (release build, `--rate-limit off`, demo workspace, \
         SQLite file with `synchronous=FULL`) behind three ways in: straight to it with the \
         claw token; through our worker under `wrangler dev` (signed-in session cookie, \
         `Origin` on sends, `RATE_LIMIT=1000000` so the agent's budget is spent but never \
         refuses: every call makes its one round trip to the agent's hub, which keeps the \
         token, spends the budget, runs the send-once ledger and calls the upstream); and \
         through the bare pass-through worker `bench/passthrough/index.js` under `wrangler dev` \
         (copies method, path, query, body and `Content-Type`, adds `X-Claw-Token`); and \
         through the same pass-through in our worker's shape, `bench/shape/index.js` (the \
         dashboard's files as assets in front, one Durable Object round trip per call, no \
         other work), which separates what the runtime charges for that shape from what our \
         code costs. One \
         session of the operator with another agent; the mix cycles list messages \
         (`?limit=20`), send (with a fresh `meta.clientId` each time, as the dashboard's are, \
         so the ledger is on the path) and detail. Each round sends the same call once to \
         every target, one request at a time, starting at a different target each round; \
         warm-up rounds are discarded. A request is timed from before it is sent until its \
         whole body is read, over a kept-alive connection (reqwest). Every answer is checked \
         (200/201, and our worker's `RateLimit` header). Paired differences are taken per \
         round (same call, same moment), then summarised.\n\n",
    );
    let Some(p) = ok(&r.proxy) else {
        let _ = writeln!(md, "{}", failed(&r.proxy, &r.stack_error));
        return;
    };
    let _ = writeln!(
        md,
        "{} measured rounds after {} warm-up rounds: {} requests per target ({} of each call).\n",
        p.rounds,
        p.warmup,
        p.rounds,
        p.rounds / 3
    );
    md.push_str(SUMMARY_HEAD);
    for s in &p.series {
        summary_row(md, s.label, &p.summary(s.key));
    }
    md.push_str("\nPaired differences per round (milliseconds):\n\n");
    md.push_str(SUMMARY_HEAD);
    for (a, b, label) in [
        (
            "ours",
            "bare",
            "ours − bare (what our worker adds over a bare proxy)",
        ),
        (
            "bare",
            "direct",
            "bare − direct (what `wrangler dev` + a worker costs)",
        ),
        (
            "shape",
            "bare",
            "shape − bare (what assets in front + one Durable Object hop cost)",
        ),
        (
            "ours",
            "shape",
            "ours − shape (what our code costs on top of that shape)",
        ),
        ("ours", "direct", "ours − direct"),
    ] {
        summary_row(md, label, &p.diff(a, b));
    }
    md.push_str("\nBy call, p50 (milliseconds):\n\n| call | direct | bare | shape | ours | ours − bare (paired p50) | ours − shape (paired p50) |\n|---|---|---|---|---|---|---|\n");
    for op in Op::ALL {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            op.name(),
            ms(p.summary_of(op, "direct").p50),
            ms(p.summary_of(op, "bare").p50),
            ms(p.summary_of(op, "shape").p50),
            ms(p.summary_of(op, "ours").p50),
            ms(p.diff_of(op, "ours", "bare").p50),
            ms(p.diff_of(op, "ours", "shape").p50)
        );
    }
    let (figure, v) = proxy_verdict(p);
    let _ = writeln!(
        md,
        "\nTarget ours p50 ≤ bare p50 + {PROXY_MARGIN_MS} ms: {figure}: {v}."
    );
    let over = p.summary("ours").p50 - p.summary("bare").p50 - PROXY_MARGIN_MS;
    if over > 0.0 {
        let slowest = Op::ALL
            .iter()
            .max_by(|a, b| {
                p.diff_of(**a, "ours", "bare")
                    .p50
                    .total_cmp(&p.diff_of(**b, "ours", "bare").p50)
            })
            .map_or("?", |o| o.name());
        let shape = p.diff("shape", "bare").p50;
        let code = p.diff("ours", "shape").p50;
        let _ = writeln!(
            md,
            "\nWhat dominates: of the paired p50, the shape alone (assets in front, one \
             Durable Object hop, in plain JavaScript) costs {} ms over the bare worker, and our \
             code {} ms on top of it. The call that costs most over the bare worker is \
             {slowest} (table above). Our code is the front's checks (route table, session \
             HMAC, `Origin`) in Rust compiled to WebAssembly, and in the agent's hub the \
             budget, the ledger, reading the whole upstream answer to learn from it, and the \
             storage writes that follow.",
            ms(shape),
            ms(code)
        );
    }
}

fn live_section(md: &mut String, r: &Report) {
    md.push_str(
        "\n## Live delivery\n\n\
         Method: headless Chromium (chromedriver, fantoccini) signs in to the dashboard served \
         by our worker under `wrangler dev` (upstream: the local server) and opens a session \
         of the operator with another agent; a `MutationObserver` installed with WebDriver \
         `execute` stamps each new `[data-testid=message]` with its `data-id` and \
         `performance.timeOrigin + performance.now()`. The other agent, registered straight at \
         the local server, sends one message at a time through the local API; the benchmark \
         takes `SystemTime::now()` just before each send and waits until that message's id is \
         stamped, then 100 ms so the dashboard's long poll is waiting again. Page and benchmark \
         run on the same machine and read the same wall clock, so the difference is the \
         latency: send call → local server → the dashboard's pending watch (through our \
         worker) → Leptos renders → in the DOM. Warm-up messages are discarded.\n\n",
    );
    let Some(l) = ok(&r.live) else {
        let _ = writeln!(md, "{}", failed(&r.live, &r.stack_error));
        return;
    };
    md.push_str(SUMMARY_HEAD);
    summary_row(md, "send → in the DOM", &l.summary());
    summary_row(
        md,
        "of which: the send call until the API answered",
        &super::stats::summarize(&l.send_call),
    );
    let (figure, v) = live_verdict(&l.summary());
    let _ = writeln!(
        md,
        "\nTarget p50 ≤ {LIVE_P50_MS} ms, p99 ≤ {LIVE_P99_MS} ms: {figure}: {v}."
    );
}

fn fanout_section(md: &mut String, r: &Report) {
    md.push_str(
        "\n## Watch fan-out through the agent's hub\n\n\
         Method: our worker under `wrangler dev` (upstream: the local server, release build, \
         `--rate-limit off`); 1,000 concurrent `GET /api/claw/sessions/<id>/watch?timeout=60000&cursor=<latest>` \
         of one session through the worker, as 50 signed-in browsers with 20 tabs each (the \
         most one caller may hold), each on its own connection (reqwest, one tokio task each). \
         The benchmark waits until all 1,000 are connected (established sockets in \
         `/proc/net/tcp`), then 2 s so each is parked in the hub, checks none has answered, \
         and sends one message through the worker. Per watcher: time from just before the \
         send until its answer (with that one event) is read. Upstream reads: the watch \
         requests the local server logged meanwhile (the send itself reaches the watchers \
         without one).\n\n",
    );
    let Some(f) = ok(&r.fanout) else {
        let _ = writeln!(md, "{}", failed(&r.fanout, &r.stack_error));
        return;
    };
    md.push_str(SUMMARY_HEAD);
    summary_row(md, "send → tab has its answer", &f.summary());
    let _ = writeln!(
        md,
        "\n{} of {} tabs answered with the event; the send call itself took {} ms; \
         all watches were parked {:.1} s after they were started; the hub read the session \
         upstream {} times meanwhile.",
        f.latencies.len(),
        f.watchers,
        ms(f.send_call_ms),
        f.parked_after_secs,
        f.upstream_reads
    );
}

/// The load scenario's rows: (row, figure, target, met).
fn load_rows(l: &LoadReport) -> Vec<(&'static str, String, String, bool)> {
    let lat = |x: &Latency| format!("p50 {} ms, p99 {} ms", ms(x.p50), ms(x.p99));
    vec![
        (
            "Load: operator sends",
            format!("{} of {} taken (201)", l.operator_created, l.operator_sends),
            "all".to_owned(),
            l.operator_created == l.operator_sends,
        ),
        (
            "Load: messages reaching tabs",
            format!("{} of {} ({} twice)", l.delivered, l.expected, l.duplicated),
            "all, once".to_owned(),
            l.delivered == l.expected && l.duplicated == 0,
        ),
        (
            "Load: operator answer → tabs",
            lat(&l.operator_to_tabs),
            "p99 ≤ 1 s".to_owned(),
            l.operator_to_tabs.p99 <= 1_000.0 && l.operator_to_tabs.count > 0,
        ),
        (
            "Load: outside answer → tabs",
            lat(&l.outside_to_tabs),
            "p99 ≤ 3 s".to_owned(),
            l.outside_to_tabs.p99 <= 3_000.0 && l.outside_to_tabs.count > 0,
        ),
        (
            "Load: the agent's upstream requests",
            format!(
                "{} in {} s, busiest 60 s: {}, refused: {}",
                l.upstream_requests, l.hold_secs, l.upstream_busiest_minute, l.upstream_429
            ),
            "≤ 120 in every 60 s, 0 refused".to_owned(),
            l.upstream_busiest_minute <= 120 && l.upstream_429 == 0,
        ),
    ]
}

fn load_section(md: &mut String, r: &Report) {
    md.push_str(
        "\n## Load: widget conversations in many tabs\n\n\
         Method (`tests/src/load.rs`, also the load test of `cargo xtask test`): a local \
         server with its own limit of 120 requests per agent per minute, our worker under \
         `wrangler dev` in front of it, a widget site whose conversations include another \
         agent. 30 visitors each open a conversation; each conversation is open in 5 tabs \
         (150 watches) that do what the widget does (the visitor's record, the history, then \
         watches from the visitor's cursor), held 150 s. Meanwhile the site's agent answers \
         each conversation once through the worker (one every ~4 s), and 300 ms after each \
         answer the other agent answers upstream directly. Latency: from just before a send \
         to the moment each tab has the message. Upstream requests: the local server's log \
         lines of the site's agent (it names the agent, never the token).\n\n",
    );
    let Some(l) = &r.load_run else {
        md.push_str("**not run**\n");
        return;
    };
    md.push_str("| row | measured | target | verdict |\n|---|---|---|---|\n");
    for (row, figure, target, met) in load_rows(l) {
        let _ = writeln!(
            md,
            "| {row} | {figure} | {target} | {} |",
            verdict(met, String::new())
        );
    }
    let _ = writeln!(
        md,
        "\nThe tabs were answered 429 {} times and failed {} times otherwise.",
        l.tab_429, l.tab_errors
    );
}

fn cold_section(md: &mut String, r: &Report) {
    md.push_str(
        "\n## Cold start\n\n\
         Not re-run by this command: a cold install takes longer than the benchmark may, and \
         one machine cannot be made cold again without throwing away its caches. What is known \
         and what this run measured warm:\n\n\
         | step | figure | how |\n|---|---|---|\n",
    );
    let readme = r
        .cold_readme
        .clone()
        .map_or("not stated".to_owned(), |s| format!("README: “{s}”"));
    let _ = writeln!(
        md,
        "| fresh clone → first passing test run | **not measured in this run**; {readme} | \
         measure with `git clone … && cd … && time cargo xtask test` on a machine with empty \
         `~/.cargo/registry`, no Trunk/worker-build/wasm-bindgen-cli in `~/.cargo/bin` and no \
         `node_modules/` (Rust, Node and Chromium present) |"
    );
    let _ = writeln!(
        md,
        "| fresh clone → served dashboard | **not measured in this run** | \
         measure with `time cargo xtask dev` from a fresh clone until the URL is printed |"
    );
    for (name, secs) in &r.prep_steps {
        let _ = writeln!(
            md,
            "| this run: {name} | {secs:.1} s | tools already installed (the set-up only \
             checked versions), crates downloaded; builds reuse whatever earlier builds left \
             in `target/`, so a second run is faster |"
        );
    }
    if let Some(secs) = r.warm_dashboard_secs {
        let _ = writeln!(
            md,
            "| this run: `wrangler dev` spawned → dashboard HTML served | {secs:.1} s | \
             our worker and the dashboard already built (`MOCHAT_WORKER_PREBUILT=1`), from \
             spawning `wrangler dev` until `GET /` answered 200 with the page |"
        );
    }
    for (name, secs) in &r.wrangler_ready_secs {
        let _ = writeln!(
            md,
            "| this run: {name}, spawned → “Ready on” | {secs:.1} s | already built |"
        );
    }
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
