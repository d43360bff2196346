//! Installs the pinned tools that are missing, idempotently: a tool is
//! (re)installed only when `TOOL --version` does not print its pinned version.
//! Versions and the pitfalls behind each step are in the README (Tools).

use std::path::Path;
use std::process::Command;

use mochat_tests::toolchain::{
    CHROMEDRIVER, CHROMIUM, cargo_tool, command, node_tool, pyclients_venv, workspace_root,
};

use crate::run::{Result, output, status, step};

/// Trunk, built with its own newer toolchain (it needs rustc ≥ 1.96.1).
const TRUNK: &str = "0.22.1";
const TRUNK_TOOLCHAIN: &str = "1.96.1";
/// worker-build, matching the `worker` crate.
const WORKER_BUILD: &str = "0.8.7";
/// Pinned in `package-lock.json`.
const WRANGLER: &str = "4.86.0";
const BINARYEN: &str = "132";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// nanobot-ai, the public MoChat client `tests/tests/public_clients.rs` runs;
/// it and what it imports are pinned in `tests/pubclients/requirements.txt`.
const NANOBOT: &str = "0.3.0";

/// Installs everything the tests need, Chromium included.
pub fn install_all() -> Result {
    install(true)
}

/// Installs what is missing; `for_tests` adds what only the tests use:
/// Chromium and chromedriver, and the public MoChat client's venv.
pub fn install(for_tests: bool) -> Result {
    let total = if for_tests { 8 } else { 6 };
    let mut n = 0;
    let mut next = |what: &str| {
        n += 1;
        step(&format!("[setup {n}/{total}] {what}"));
    };

    next("Rust target wasm32-unknown-unknown");
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]));
    if installed.is_some_and(|t| t.lines().any(|l| l == WASM_TARGET)) {
        println!("    present");
    } else {
        status(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }

    next(&format!(
        "Node tools: wrangler {WRANGLER}, binaryen {BINARYEN} (npm ci, about a minute cold)"
    ));
    let wrangler_ok = version_of(&node_tool("wrangler")).is_some_and(|v| v.contains(WRANGLER));
    let binaryen_ok = version_of(&node_tool("wasm-opt")).is_some_and(|v| v.contains(BINARYEN));
    if wrangler_ok && binaryen_ok {
        println!("    present");
    } else {
        status(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(workspace_root()),
        )?;
    }

    let bindgen = wasm_bindgen_version()?;
    next(&format!(
        "wasm-bindgen-cli {bindgen} (the version in Cargo.lock; about 3 minutes cold)"
    ));
    // No --locked: its lockfile wants a crate version the registry lacks (TOOLCHAIN.md 3).
    cargo_install("wasm-bindgen", "wasm-bindgen-cli", &bindgen, &[], false)?;

    next(&format!(
        "worker-build {WORKER_BUILD} (about 4 minutes cold)"
    ));
    cargo_install("worker-build", "worker-build", WORKER_BUILD, &[], true)?;

    next(&format!(
        "Trunk {TRUNK} with Rust {TRUNK_TOOLCHAIN} (about 11 minutes cold)"
    ));
    if !has_version(&cargo_tool("trunk"), TRUNK) {
        let toolchains = output(Command::new("rustup").args(["toolchain", "list"]));
        if !toolchains.is_some_and(|t| t.lines().any(|l| l.starts_with(TRUNK_TOOLCHAIN))) {
            status(Command::new("rustup").args([
                "toolchain",
                "install",
                TRUNK_TOOLCHAIN,
                "--profile",
                "minimal",
                "--no-self-update",
            ]))?;
        }
    }
    let plus = format!("+{TRUNK_TOOLCHAIN}");
    cargo_install("trunk", "trunk", TRUNK, &[&plus], true)?;

    next("crates for offline builds (cargo fetch)");
    status(
        Command::new("cargo")
            .arg("fetch")
            .current_dir(workspace_root()),
    )?;

    if for_tests {
        next("Chromium and chromedriver (Debian packages)");
        install_chromium()?;
        next(&format!(
            "Python client for the public-client test (nanobot-ai {NANOBOT}, venv; about 10 s cold)"
        ));
        install_pyclients()?;
    }
    Ok(())
}

/// The first line `TOOL --version` prints, if it runs.
fn version_of(tool: &Path) -> Option<String> {
    output(Command::new(tool).arg("--version")).map(|v| v.lines().next().unwrap_or("").to_owned())
}

fn has_version(tool: &Path, version: &str) -> bool {
    version_of(tool).is_some_and(|v| v.split_whitespace().any(|w| w == version))
}

/// `cargo install` of `krate` at `version` unless `bin --version` already says so.
fn cargo_install(bin: &str, krate: &str, version: &str, pre: &[&str], locked: bool) -> Result {
    if has_version(&cargo_tool(bin), version) {
        println!("    present: {bin} {version}");
        return Ok(());
    }
    let mut cmd = Command::new("cargo");
    cmd.args(pre)
        .args(["install", krate, "--version", version, "--force"]);
    if locked {
        cmd.arg("--locked");
    }
    // Never inherit the project's flags or target dir: tools build on their own.
    cmd.env_remove("CARGO_TARGET_DIR")
        .current_dir(std::env::temp_dir());
    status(&mut cmd)
}

/// The version of the `wasm-bindgen` crate in `Cargo.lock`.
fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_owned());
        }
    }
    Err("Cargo.lock has no wasm-bindgen entry".to_owned())
}

/// A venv in `.tools-state/pyclients` with the pinned requirements, made
/// unless it already has nanobot-ai at its pinned version. `--no-deps`: the
/// file lists exactly what the channel imports (its comment says why).
fn install_pyclients() -> Result {
    let venv = pyclients_venv();
    let python = venv.join("bin").join("python");
    let probe = "import importlib.metadata as m; print(m.version('nanobot-ai'))";
    if output(Command::new(&python).args(["-c", probe])).as_deref() == Some(NANOBOT) {
        println!("    present: nanobot-ai {NANOBOT} in {}", venv.display());
        return Ok(());
    }
    let probe = "import sys; print('%d.%d' % sys.version_info[:2])";
    let version = output(command("python3").args(["-c", probe])).ok_or(
        "python3 is missing; the public-client test needs Python 3.11 or later with venv \
         (Debian: apt-get install -y python3 python3-venv), then run this again.",
    )?;
    let minor = version
        .strip_prefix("3.")
        .and_then(|m| m.parse::<u32>().ok());
    if minor.is_none_or(|m| m < 11) {
        return Err(format!(
            "python3 is {version}; nanobot-ai {NANOBOT} needs Python 3.11 or later. \
             Put a newer python3 first on PATH, then run this again."
        ));
    }
    status(
        command("python3")
            .arg("-m")
            .arg("venv")
            .arg("--clear")
            .arg(&venv),
    )
    .map_err(|e| format!("{e}; on Debian, `apt-get install -y python3-venv` provides venv"))?;
    let requirements = workspace_root().join("tests/pubclients/requirements.txt");
    status(
        command(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--disable-pip-version-check",
            ])
            .args(["--only-binary=:all:", "-r"])
            .arg(requirements),
    )
}

fn install_chromium() -> Result {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        println!("    present");
        return Ok(());
    }
    let apt = "apt-get update && apt-get install -y chromium chromium-driver";
    let root = output(Command::new("id").arg("-u")).is_some_and(|id| id == "0");
    if !root {
        return Err(format!(
            "Chromium is missing. Run as root:\n    {apt}\nthen run this again."
        ));
    }
    status(Command::new("apt-get").arg("update"))?;
    status(
        Command::new("apt-get")
            .args(["install", "-y", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}
