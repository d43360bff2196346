//! `cargo xtask test`: every check the project has, in the order that fails
//! fastest, ending with one summary line (`N passed, N failed`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use mochat_tests::toolchain::{command, workspace_root};

use crate::run::{Result, show, status, step};
use crate::{build, tools};

pub fn run() -> Result {
    tools::install_all()?;
    let root = workspace_root();
    let cargo = |args: &[&str]| {
        let mut cmd = command("cargo");
        cmd.args(args).current_dir(&root);
        cmd
    };

    step("Formatting (cargo fmt --check)");
    status(&mut cargo(&["fmt", "--all", "--", "--check"]))?;

    step("Clippy, native crates (warnings are errors)");
    status(&mut cargo(&[
        "clippy",
        "--workspace",
        "--exclude",
        "mochat-client",
        "--exclude",
        "mochat-bench-floor",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("Clippy, WebAssembly crates (warnings are errors)");
    status(&mut cargo(&[
        "clippy",
        "-p",
        "mochat-client",
        "-p",
        "mochat-worker",
        "-p",
        "mochat-bench-floor",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    build::all()?;
    crate::deploy::dry_run()?;

    let mut total = Counts::default();
    mochat_tests::faults::clear();
    // The end-to-end tests mostly wait (on long polls, timers, the browser):
    // one pass keeps the two cores about half busy. So the second pass, the
    // upstream speaking the live dialect, runs beside the first; both are
    // compiled first, so neither waits on the other's build. Tests that are
    // the same whichever dialect is upstream run once, split so the two
    // passes take about as long: the public client's test (it speaks the
    // live dialect in both) and the health tests (they name both dialects
    // themselves) in the first, the pages axe-core checks in the second.
    let native = [
        "test",
        "--workspace",
        "--exclude",
        "mochat-client",
        "--exclude",
        "mochat-bench-floor",
    ];
    let e2e = ["test", "-p", "mochat-tests"];
    step("Compiling the native tests");
    status(cargo(&native).arg("--no-run"))?;
    status(cargo(&e2e).arg("--no-run"))?;
    step(
        "Native unit, integration and end-to-end tests, and beside them the end-to-end tests \
         again with the upstream speaking the live dialect (MOCHAT_TEST_DIALECT=live; its \
         output follows the first pass's)",
    );
    let mut live = cargo(&e2e);
    live.args([
        "--",
        "--skip",
        "nanobot_channel_runs_unmodified",
        "--skip",
        "upstream_health_",
    ])
    .env("MOCHAT_TEST_DIALECT", "live");
    let live = std::thread::spawn(move || captured_tests(&mut live));
    let first = tests(cargo(&native).args(["--", "--skip", "every_main_state_passes_axe"]));
    let (second, output) = live.join().unwrap_or_else(|_| {
        (
            Err("the live-dialect pass panicked".to_owned()),
            String::new(),
        )
    });
    step("End-to-end tests, the upstream speaking the live dialect: output");
    print!("{output}");
    total.add(first?);
    total.add(second?);
    step("Browser tests of the dashboard (wasm-bindgen-test in headless Chromium)");
    total.add(tests(&mut cargo(&[
        "test",
        "-p",
        "mochat-client",
        "--target",
        "wasm32-unknown-unknown",
    ]))?);

    faults_summary(&root);
    println!("\nxtask: {} passed, {} failed", total.passed, total.failed);
    if total.failed > 0 {
        return Err(format!("{} tests failed", total.failed));
    }
    Ok(())
}

/// Prints the faults suite's table (one row per case the tests recorded)
/// and writes it to `test-output/faults.md`.
fn faults_summary(root: &std::path::Path) {
    let rows = mochat_tests::faults::collect();
    if rows.is_empty() {
        return;
    }
    let table = mochat_tests::faults::table(&rows);
    step("Faults and abuse suite: summary");
    println!("{table}");
    let doc = format!(
        "# Faults and abuse suite: last run\n\nWritten by `cargo xtask test` from the rows the \
         tests in `tests/tests/faults_*.rs` and `widget_access.rs` recorded.\n\n{table}"
    );
    let _ = std::fs::write(root.join("test-output/faults.md"), doc);
}

#[derive(Default, Debug)]
struct Counts {
    passed: u64,
    failed: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
    }

    /// Reads `test result: ok. 20 passed; 0 failed; …` (cargo test and wasm-bindgen-test).
    fn parse(line: &str) -> Option<Counts> {
        let rest = line.trim().strip_prefix("test result: ")?;
        let number_before = |word: &str| {
            let end = rest.find(word)?;
            rest[..end]
                .split(|c: char| !c.is_ascii_digit())
                .rfind(|s| !s.is_empty())?
                .parse()
                .ok()
        };
        Some(Counts {
            passed: number_before(" passed")?,
            failed: number_before(" failed").unwrap_or(0),
        })
    }
}

/// Runs a `cargo test` command, echoing its output and adding up its results.
fn tests(cmd: &mut Command) -> Result<Counts> {
    let shown = show(cmd);
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    let mut counts = Counts::default();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out)
            .lines()
            .map_while(std::result::Result::ok)
        {
            println!("{line}");
            if let Some(c) = Counts::parse(&line) {
                counts.add(c);
            }
        }
    }
    let status = child.wait().map_err(|e| format!("`{shown}`: {e}"))?;
    if status.success() {
        Ok(counts)
    } else {
        Err(format!(
            "`{shown}` failed ({status}); {} passed, {} failed",
            counts.passed, counts.failed
        ))
    }
}

/// Runs a `cargo test` command with its output (both streams) kept and
/// returned rather than shown, adding up its results.
fn captured_tests(cmd: &mut Command) -> (Result<Counts>, String) {
    let shown = show(cmd);
    let out = match cmd.stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(e) => {
            return (
                Err(format!("could not start `{shown}`: {e}")),
                String::new(),
            );
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let mut counts = Counts::default();
    for c in text.lines().filter_map(Counts::parse) {
        counts.add(c);
    }
    let result = if out.status.success() {
        Ok(counts)
    } else {
        Err(format!(
            "`{shown}` failed ({}); {} passed, {} failed",
            out.status, counts.passed, counts.failed
        ))
    };
    (result, text)
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn parses_cargo_and_wasm_bindgen_test_summaries() {
        let c = Counts::parse("test result: ok. 20 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s")
            .expect("a summary");
        assert_eq!((c.passed, c.failed), (20, 0));
        let c =
            Counts::parse("test result: FAILED. 3 passed; 2 failed; 0 ignored").expect("a summary");
        assert_eq!((c.passed, c.failed), (3, 2));
        assert!(Counts::parse("running 3 tests").is_none());
    }
}
