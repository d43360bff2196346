//! The report's sections on weight: what a first load downloads, what it is
//! made of, and the first useful screen on a phone.

use std::fmt::Write as _;

use crate::bench::first_screen::{self, FirstScreen, Runs};
use crate::bench::wasm;
use crate::bench::weight::{Artifact, Breakdown, FUNCTIONS_SHOWN, Weight};
use mochat_api::widget::FRAME_PATH;

use super::*;

pub(super) fn weight_section(md: &mut String, r: &Report) {
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
        artifact_rows(md, a);
    }
    for a in &w.artifacts {
        if a.gzip() > a.target_gzip {
            let _ = writeln!(md, "\n{}", what_dominates(a, w));
        }
    }
    if let Some(floor) = &w.floor {
        floor_section(md, floor, w);
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

/// An artifact's row (bold: its sum, target and verdict), then a row per file.
fn artifact_rows(md: &mut String, a: &Artifact) {
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

/// The `bench/floor` fixture beside the widget: what Leptos costs a chat
/// before any of the widget's own behaviour.
fn floor_section(md: &mut String, floor: &Artifact, w: &Weight) {
    md.push_str(
        "\n### The floor: the least chat widget Leptos makes\n\n\
         Method: `bench/floor/` is a chat widget cut to what a chat cannot do without: it \
         mints a visitor, opens their conversation, reads its last page, lists it, sends, and \
         long-polls for new messages, with this project's API types. It has none of the \
         widget's own behaviour: older pages as the reader scrolls up, the outbox that \
         survives a reload and posts each message once, links and mentions, day separators, \
         avatars and relative times, the host page's bridge and unread count, reconnecting \
         with backoff, the rate-limit banner. This run built it \
         with Trunk as the widget is built (same stylesheet, same `wasm-opt` flags) and \
         weighed it the same way.\n\n\
         | artifact / file | raw | gzip | brotli | widget's target (gzip) | verdict |\n\
         |---|---|---|---|---|---|\n",
    );
    artifact_rows(md, floor);
    let room = if floor.gzip() <= floor.target_gzip {
        format!(
            "leaves {} of the widget's {} target",
            kb(floor.target_gzip - floor.gzip()),
            kb(floor.target_gzip)
        )
    } else {
        format!(
            "is already {} over the widget's {} target",
            kb(floor.gzip() - floor.target_gzip),
            kb(floor.target_gzip)
        )
    };
    let _ = write!(
        md,
        "\nThe floor weighs {} gzip: it {room} before any of the widget's own behaviour.",
        kb(floor.gzip())
    );
    if let Some(widget) = w.artifacts.iter().find(|a| a.key == "widget_app") {
        let _ = write!(
            md,
            " The widget, with that behaviour, is {} gzip: {} more than the floor.",
            kb(widget.gzip()),
            kb(widget.gzip().saturating_sub(floor.gzip()))
        );
    }
    md.push('\n');
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
pub(super) fn secs(ms: f64) -> String {
    format!("{:.2}", ms / 1000.0)
}

/// `(row, runs, target in ms)` of the first-screen rows.
pub(super) fn first_screen_rows(f: &FirstScreen) -> [(&'static str, &Runs, f64); 2] {
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

pub(super) fn first_screen_section(md: &mut String, r: &Report) {
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
         (`{FRAME_PATH}?site=…`, as the loader opens it) until the composer is ready \
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
        let bytes = crate::bench::stats::percentile(
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
