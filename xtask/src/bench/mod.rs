//! `cargo xtask bench`: builds the release artifacts, runs the stack on
//! loopback, measures, and writes `BENCHMARKS.md` and `bench/results.json`.
//!
//! Two processes: `bench` installs what is missing and builds (dashboard,
//! worker, the local server in release, the `bench/floor` fixture), then
//! runs `xtask bench-measure` with `MOCHAT_LOCAL_BIN` pointing at the
//! release server, which measures and writes the report.

mod fanout;
mod first_screen;
mod live;
mod proxy;
mod report;
mod stack;
mod stats;
mod wasm;
mod weight;

use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use mochat_tests::toolchain::{
    CHROMEDRIVER, CHROMIUM, cargo_tool, command, node_tool, workspace_root,
};

use crate::run::{Result, output, status, step};
use crate::{build, tools};

/// Measured rounds of the proxy benchmark (each: one request per target).
const PROXY_ROUNDS: usize = 2_100;
const PROXY_WARMUP: usize = 30;
const LIVE_SAMPLES: usize = 100;
const LIVE_WARMUP: usize = 3;
const WATCHERS: usize = 1_000;
/// Cold loads per app in the first-screen row (the median is reported).
const FIRST_SCREEN_RUNS: usize = 5;

/// Environment handed from `bench` to `bench-measure`.
const ENV_STARTED: &str = "MOCHAT_BENCH_STARTED_MS";
const ENV_STEPS: &str = "MOCHAT_BENCH_STEPS";
const ENV_ONLY: &str = "MOCHAT_BENCH_ONLY";

/// `cargo xtask bench`.
pub fn run() -> Result {
    let started_ms = now_ms();
    let mut steps: Vec<(String, f64)> = Vec::new();
    let mut timed = |name: &str, f: &mut dyn FnMut() -> Result| -> Result {
        let t = Instant::now();
        f()?;
        steps.push((name.to_owned(), t.elapsed().as_secs_f64()));
        Ok(())
    };
    timed("setup check (cargo xtask setup)", &mut tools::install_all)?;
    timed(
        "release builds (cargo xtask build: dashboard + worker)",
        &mut build::all,
    )?;
    timed("local MoChat server, release build", &mut || {
        step("Building the local MoChat server (cargo build --release -p mochat-local)");
        status(command("cargo").args(["build", "--release", "-p", "mochat-local"]))
    })?;
    timed(
        "floor fixture (trunk build --release bench/floor/index.html)",
        &mut || {
            step("Building the floor fixture (trunk build --release bench/floor/index.html)");
            status(command(cargo_tool("trunk")).args([
                "build",
                "bench/floor/index.html",
                "--release",
                "--dist",
                weight::FLOOR_DIST,
            ]))
        },
    )?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find xtask itself: {e}"))?;
    let steps_json = serde_json::to_string(&steps).unwrap_or_default();
    status(
        Command::new(exe)
            .arg("bench-measure")
            .env(
                "MOCHAT_LOCAL_BIN",
                workspace_root().join("target/release/mochat-local"),
            )
            .env(ENV_STARTED, started_ms.to_string())
            .env(ENV_STEPS, steps_json),
    )?;
    println!(
        "\nxtask bench: done in {:.1} min; see BENCHMARKS.md and bench/results.json",
        (now_ms() - started_ms) / 60_000.0
    );
    Ok(())
}

/// `xtask bench-measure` (started by `bench`, after the builds).
pub fn measure() -> Result {
    let started_ms: f64 = std::env::var(ENV_STARTED)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(now_ms);
    let prep_steps: Vec<(String, f64)> = std::env::var(ENV_STEPS)
        .ok()
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default();
    let mut steps = Vec::new();
    let load_before = load_average();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    let mut report = runtime.block_on(measure_all(&mut steps));
    report.prep_steps = prep_steps;
    report.steps = steps;
    report.load = vec![
        (
            "load average (1/5/15 min) at the start of measuring".into(),
            load_before,
        ),
        (
            "load average (1/5/15 min) at the end".into(),
            load_average(),
        ),
    ];
    report.total_secs = (now_ms() - started_ms) / 1000.0;
    let root = workspace_root();
    let json = serde_json::to_string_pretty(&report::json(&report)).unwrap_or_default();
    if only().is_some() {
        // A partial run leaves the committed report alone.
        let dir = mochat_tests::toolchain::output_dir();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::write(dir.join("bench-partial.json"), json + "\n")
            .map_err(|e| format!("cannot write the partial report: {e}"))?;
        std::fs::write(dir.join("bench-partial.md"), report::markdown(&report))
            .map_err(|e| format!("cannot write the partial report: {e}"))?;
        println!(
            "\n{}\n  (partial run: {} written)",
            report::summary_lines(&report),
            dir.join("bench-partial.md").display()
        );
        return Ok(());
    }
    std::fs::create_dir_all(root.join("bench")).map_err(|e| format!("bench/: {e}"))?;
    std::fs::write(root.join("bench/results.json"), json + "\n")
        .map_err(|e| format!("cannot write bench/results.json: {e}"))?;
    std::fs::write(root.join("BENCHMARKS.md"), report::markdown(&report))
        .map_err(|e| format!("cannot write BENCHMARKS.md: {e}"))?;
    println!(
        "\n{}\n  BENCHMARKS.md and bench/results.json written",
        report::summary_lines(&report)
    );
    match report.first_error() {
        Some(e) => Err(format!("a benchmark failed (the report says which): {e}")),
        None => Ok(()),
    }
}

async fn measure_all(steps: &mut Vec<(String, f64)>) -> report::Report {
    let root = workspace_root();
    let mut r = report::Report::new(machine(), tool_versions(), cold_start_from_readme());

    if wanted("weight") {
        step("[bench 1/7] Weight: raw, gzip and brotli bytes of what is shipped");
        let t = Instant::now();
        r.weight = Some(weight::measure(&root));
        steps.push(("weight".into(), t.elapsed().as_secs_f64()));
    }
    if !["first-screen", "proxy", "live", "fanout"]
        .iter()
        .any(|p| wanted(p))
    {
        return load(r, steps).await;
    }

    step("[bench 2/7] Starting the stack on loopback");
    let t = Instant::now();
    let stack = stack::Stack::start().await;
    steps.push(("stack start".into(), t.elapsed().as_secs_f64()));
    let stack = match stack {
        Ok(s) => s,
        Err(e) => {
            r.stack_error = Some(e);
            return r;
        }
    };
    r.warm_dashboard_secs = Some(stack.warm_dashboard_secs);
    r.wrangler_ready_secs = stack.wrangler_ready_secs.clone();
    r.stack_dir = stack.dir.display().to_string();
    let prepared = match Prepared::on(&stack).await {
        Ok(p) => p,
        Err(e) => {
            r.stack_error = Some(format!("preparing agents and sessions: {e}"));
            stack.stop();
            return r;
        }
    };
    if wanted("first-screen") {
        measure_first_screen(&stack, &mut r, steps).await;
    }
    if wanted("proxy") {
        step(&format!(
            "[bench 4/7] Proxy overhead: {PROXY_ROUNDS} rounds × 4 targets, interleaved"
        ));
        let t = Instant::now();
        r.proxy = Some(
            proxy::run(
                &targets(&stack),
                &prepared.proxy_sid,
                PROXY_ROUNDS,
                PROXY_WARMUP,
            )
            .await,
        );
        steps.push(("proxy overhead".into(), t.elapsed().as_secs_f64()));
    }
    if wanted("live") {
        measure_live(&stack, &prepared, &mut r, steps).await;
    }
    if wanted("fanout") {
        measure_fanout(&stack, &prepared, &mut r, steps).await;
    }
    stack.stop();
    load(r, steps).await
}

/// The agent and sessions the measurements on the stack use.
struct Prepared {
    sender_token: String,
    proxy_sid: String,
    live_sid: String,
    fan_sid: String,
}

impl Prepared {
    /// Registers a sender and opens one session with it per measurement.
    async fn on(stack: &stack::Stack) -> Result<Self> {
        let http = reqwest::Client::new();
        let base = stack.local.base();
        let (sender_token, sender_id) = stack::register(&http, &base, "Bench Sender").await?;
        let op = &stack.operator_token;
        let session = |title: &'static str| {
            let (http, base, sender_id) = (http.clone(), base.clone(), sender_id.clone());
            async move { stack::session(&http, &base, op, &sender_id, title).await }
        };
        Ok(Self {
            sender_token,
            proxy_sid: session("Bench: proxy").await?,
            live_sid: session("Bench: live").await?,
            fan_sid: session("Bench: fan-out").await?,
        })
    }
}

async fn measure_first_screen(
    stack: &stack::Stack,
    r: &mut report::Report,
    steps: &mut Vec<(String, f64)>,
) {
    step(&format!(
        "[bench 3/7] First screen on a phone: CPU {}x slower, Slow 4G, cold, {FIRST_SCREEN_RUNS} runs per app",
        first_screen::CPU_SLOWDOWN
    ));
    let t = Instant::now();
    let widget_url = format!(
        "{}{}?site={}&host={}",
        stack.ours.origin(),
        mochat_api::widget::FRAME_PATH,
        stack::BENCH_SITE,
        stack::BENCH_HOST
    );
    let setup = first_screen::Setup {
        origin: &stack.ours.origin(),
        password: &stack.options.password,
        widget_url: &widget_url,
    };
    r.first_screen = Some(first_screen::run(&setup, FIRST_SCREEN_RUNS).await);
    steps.push(("first screen".into(), t.elapsed().as_secs_f64()));
}

async fn measure_live(
    stack: &stack::Stack,
    prepared: &Prepared,
    r: &mut report::Report,
    steps: &mut Vec<(String, f64)>,
) {
    step(&format!(
        "[bench 5/7] Live delivery: {LIVE_SAMPLES} messages into the dashboard's DOM (headless Chromium)"
    ));
    let t = Instant::now();
    let setup = live::LiveSetup {
        origin: &stack.ours.origin(),
        password: &stack.options.password,
        api_base: &stack.local.base(),
        sender_token: &prepared.sender_token,
        session_id: &prepared.live_sid,
    };
    r.live = Some(live::run(&setup, LIVE_SAMPLES, LIVE_WARMUP).await);
    steps.push(("live delivery".into(), t.elapsed().as_secs_f64()));
}

async fn measure_fanout(
    stack: &stack::Stack,
    prepared: &Prepared,
    r: &mut report::Report,
    steps: &mut Vec<(String, f64)>,
) {
    step(&format!(
        "[bench 6/7] Watch fan-out through the hub: {WATCHERS} tabs on one session, one send"
    ));
    let t = Instant::now();
    let mut cookies = Vec::new();
    for _ in 0..WATCHERS.div_ceil(fanout::TABS_PER_BROWSER) {
        let mut edge = mochat_tests::Edge::new(stack.ours.origin());
        if edge.sign_in(&stack.options.password).await == 204
            && let Some(c) = edge.cookie.clone()
        {
            cookies.push(c);
        }
    }
    let upstream_log = || stack.local.output();
    let setup = fanout::FanoutSetup {
        origin: &stack.ours.origin(),
        port: stack.ours.port,
        cookies: &cookies,
        session_id: &prepared.fan_sid,
        upstream_log: &upstream_log,
    };
    r.fanout = Some(fanout::run(&setup, WATCHERS).await);
    steps.push(("watch fan-out".into(), t.elapsed().as_secs_f64()));
}

/// The load scenario (its own stack).
async fn load(mut r: report::Report, steps: &mut Vec<(String, f64)>) -> report::Report {
    if wanted("load") {
        step(
            "[bench 7/7] Load: 30 widget conversations x 5 tabs held 150 s, upstream limit 120/min",
        );
        let t = Instant::now();
        r.load_run =
            Some(mochat_tests::load::run("bench-load", &mochat_tests::load::Load::default()).await);
        steps.push(("load".into(), t.elapsed().as_secs_f64()));
    }
    r
}

/// `MOCHAT_BENCH_ONLY`: a comma-separated list of the parts to measure
/// (`weight`, `first-screen`, `proxy`, `live`, `fanout`, `load`), for
/// working on one of them. Unset: everything.
fn only() -> Option<Vec<String>> {
    std::env::var(ENV_ONLY)
        .ok()
        .map(|v| v.split(',').map(|p| p.trim().to_owned()).collect())
}

fn wanted(part: &str) -> bool {
    only().is_none_or(|parts| parts.iter().any(|p| p == part))
}

/// The three targets of the proxy benchmark, all reaching the same local server.
fn targets(s: &stack::Stack) -> Vec<proxy::Target> {
    vec![
        proxy::Target {
            key: "direct",
            label: "direct to the local server",
            base: s.local.base(),
            headers: vec![(
                mochat_api::limits::CLAW_TOKEN_HEADER,
                s.operator_token.clone(),
            )],
            origin: None,
            expect_rate_limit_header: false,
        },
        proxy::Target {
            key: "bare",
            label: "bare pass-through worker (wrangler dev)",
            base: format!("http://127.0.0.1:{}/api", s.bare_port),
            headers: Vec::new(),
            origin: None,
            expect_rate_limit_header: false,
        },
        proxy::Target {
            key: "shape",
            label: "pass-through in our shape: assets + one Durable Object hop (wrangler dev)",
            base: format!("http://127.0.0.1:{}/api", s.shape_port),
            headers: Vec::new(),
            origin: None,
            expect_rate_limit_header: false,
        },
        proxy::Target {
            key: "ours",
            label: "our worker (wrangler dev)",
            base: format!("{}/api", s.ours.origin()),
            headers: vec![("Cookie", format!("mochat_session={}", s.cookie))],
            origin: Some(s.ours.origin()),
            expect_rate_limit_header: true,
        },
    ]
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// `/proc/loadavg`'s three averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// CPU model, cores, memory, kernel, OS.
fn machine() -> Vec<(String, String)> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let field = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == name).then(|| v.trim().trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned())
    };
    let processors = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let nproc = output(&mut Command::new("nproc")).unwrap_or_else(|| "unknown".to_owned());
    let os = read("/etc/os-release");
    let os = os
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .unwrap_or("unknown")
        .trim_matches('"')
        .to_owned();
    vec![
        ("CPU model".into(), field(&cpuinfo, "model name")),
        (
            "cores".into(),
            format!("{nproc} (nproc); {processors} processors in /proc/cpuinfo"),
        ),
        ("memory".into(), field(&read("/proc/meminfo"), "MemTotal")),
        (
            "kernel".into(),
            read("/proc/sys/kernel/osrelease").trim().to_owned(),
        ),
        ("OS".into(), os),
    ]
}

/// The first line each tool prints for `--version`.
fn tool_versions() -> Vec<(String, String)> {
    let first = |mut cmd: Command| {
        output(&mut cmd)
            .and_then(|o| o.lines().find(|l| !l.trim().is_empty()).map(str::to_owned))
            .unwrap_or_else(|| "not found".to_owned())
    };
    let version = |program: std::path::PathBuf| {
        let mut cmd = command(program);
        cmd.arg("--version");
        first(cmd)
    };
    let mut rustc = command("rustc");
    rustc.arg("-V");
    vec![
        ("rustc".into(), first(rustc)),
        ("trunk".into(), version(cargo_tool("trunk"))),
        ("wasm-bindgen".into(), version(cargo_tool("wasm-bindgen"))),
        ("worker-build".into(), version(cargo_tool("worker-build"))),
        ("wrangler".into(), version(node_tool("wrangler"))),
        ("wasm-opt".into(), version(node_tool("wasm-opt"))),
        ("node".into(), version("node".into())),
        ("chromium".into(), version(CHROMIUM.into())),
        ("chromedriver".into(), version(CHROMEDRIVER.into())),
    ]
}

/// What the README says about a cold set-up, quoted (it is not measured here).
fn cold_start_from_readme() -> Option<String> {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).ok()?;
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = flat.find("cold set-up")?;
    let start = flat[..at].rfind(['(', '.']).map_or(at, |i| i + 1);
    let end = flat[at..]
        .find([')', ';', '.'])
        .map_or(flat.len(), |i| at + i);
    Some(flat[start..end].trim().to_owned())
}
