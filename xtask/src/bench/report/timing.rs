//! The report's sections on time: the proxy's added latency, live
//! delivery, fan-out, the load scenario and cold starts.

use std::fmt::Write as _;

use crate::bench::proxy::Op;
use crate::bench::stats::{Summary, ms};
use mochat_api::Route;
use mochat_api::limits::CLAW_TOKEN_HEADER;
use mochat_api::ratelimit::STATE_HEADER;
use mochat_tests::load::{Latency, Report as LoadReport};

use super::*;

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

pub(super) fn proxy_section(md: &mut String, r: &Report) {
    md.push_str(&format!(
        "\n## Proxy overhead\n\n\
         Method: one local MoChat server (release build, `--rate-limit off`, demo workspace, \
         SQLite file with `synchronous=FULL`) behind three ways in: straight to it with the \
         claw token; through our worker under `wrangler dev` (signed-in session cookie, \
         `Origin` on sends, `RATE_LIMIT=1000000` so the agent's budget is spent but never \
         refuses: every call makes its one round trip to the agent's hub, which keeps the \
         token, spends the budget, runs the send-once ledger and calls the upstream); and \
         through the bare pass-through worker `bench/passthrough/index.js` under `wrangler dev` \
         (copies method, path, query, body and `Content-Type`, adds `{CLAW_TOKEN_HEADER}`); and \
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
         (200/201, and our worker's `{STATE_HEADER}` header). Paired differences are taken per \
         round (same call, same moment), then summarised.\n\n",
    ));
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
    proxy_by_call(md, p);
    proxy_target(md, p);
}

/// The proxy's p50 by call.
fn proxy_by_call(md: &mut String, p: &ProxyResult) {
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
}

/// The proxy target, and when missed, what dominates.
fn proxy_target(md: &mut String, p: &ProxyResult) {
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
             budget, the ledger and reading the whole upstream answer to learn from it; a CPU \
             profile of the worker under this mix (DevTools' profiler through `wrangler dev`'s \
             inspector) shows most of that time in crossings between the WebAssembly and the \
             runtime: requests, headers and bodies built and read through `workers-rs`, and \
             futures woken through microtasks. The hub's storage writes wait until the answers \
             under way are out and the latest has had 10 ms to reach the browser (a send's \
             reservation excepted: it is written during the send).",
            ms(shape),
            ms(code)
        );
    }
}

pub(super) fn live_section(md: &mut String, r: &Report) {
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
        &crate::bench::stats::summarize(&l.send_call),
    );
    let (figure, v) = live_verdict(&l.summary());
    let _ = writeln!(
        md,
        "\nTarget p50 ≤ {LIVE_P50_MS} ms, p99 ≤ {LIVE_P99_MS} ms: {figure}: {v}."
    );
}

pub(super) fn fanout_section(md: &mut String, r: &Report) {
    let watch = Route::WatchSession {
        session_id: "<id>".into(),
        query: Default::default(),
    }
    .api_target();
    md.push_str(&format!(
        "\n## Watch fan-out through the agent's hub\n\n\
         Method: our worker under `wrangler dev` (upstream: the local server, release build, \
         `--rate-limit off`); 1,000 concurrent `GET {watch}?timeout=60000&cursor=<latest>` \
         of one session through the worker, as 50 signed-in browsers with 20 tabs each (the \
         most one caller may hold), each on its own connection (reqwest, one tokio task each). \
         The benchmark waits until all 1,000 are connected (established sockets in \
         `/proc/net/tcp`), then 2 s so each is parked in the hub, checks none has answered, \
         and sends one message through the worker. Per watcher: time from just before the \
         send until its answer (with that one event) is read. Upstream reads: the watch \
         requests the local server logged meanwhile (the send itself reaches the watchers \
         without one).\n\n",
    ));
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
pub(super) fn load_rows(l: &LoadReport) -> Vec<(&'static str, String, String, bool)> {
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

pub(super) fn load_section(md: &mut String, r: &Report) {
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

pub(super) fn cold_section(md: &mut String, r: &Report) {
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
