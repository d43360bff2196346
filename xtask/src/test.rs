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
    step("Native unit, integration and end-to-end tests");
    total.add(tests(&mut cargo(&[
        "test",
        "--workspace",
        "--exclude",
        "mochat-client",
    ]))?);
    step(
        "End-to-end tests again, the upstream speaking the live dialect (MOCHAT_TEST_DIALECT=live)",
    );
    // (The public client's test speaks the live dialect in both runs, and the
    // health tests name both dialects themselves: once is enough.)
    total.add(tests(
        cargo(&[
            "test",
            "-p",
            "mochat-tests",
            "--",
            "--skip",
            "nanobot_channel_runs_unmodified",
            "--skip",
            "upstream_health_",
        ])
        .env("MOCHAT_TEST_DIALECT", "live"),
    )?);
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

#[derive(Default)]
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
