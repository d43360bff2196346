//! Installs the pinned tools that are missing, idempotently: a tool is
//! (re)installed only when `TOOL --version` does not print its pinned version.
//! Versions and the pitfalls behind each step are in the README (Tools).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use mochat_tests::toolchain::{
    CHROMEDRIVER, CHROMIUM, axe_script, cargo_tool, command, node_tool, pyclients_venv,
    workspace_root,
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
/// axe-core, the accessibility checker the browser tests inject.
const AXE: &str = "4.14.1";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// nanobot-ai, the public MoChat client `tests/tests/public_clients.rs` runs;
/// it and what it imports are pinned in `tests/pubclients/requirements.txt`.
const NANOBOT: &str = "0.3.0";

/// How the tools are compiled: we only run them, so they are built for a
/// short build rather than the smallest or fastest binary (no LTO, many
/// codegen units). Their own release profiles (Trunk's is fat LTO in one
/// codegen unit) would keep one core busy for minutes.
const TOOL_PROFILE: [(&str, &str); 3] = [
    ("CARGO_PROFILE_RELEASE_LTO", "off"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
    ("CARGO_PROFILE_RELEASE_DEBUG", "false"),
];

/// Optimisation of a tool whose own work at run time is small (Trunk and
/// worker-build spawn cargo, wasm-bindgen and wasm-opt and move files):
/// none, which shortens their builds the most.
const OPT_NONE: &str = "0";
/// Optimisation of wasm-bindgen-cli, which rewrites every wasm file itself
/// (and runs the browser tests): light, so that stays well under a second.
const OPT_LIGHT: &str = "1";

/// Installs everything the tests need, Chromium included.
pub fn install_all() -> Result {
    install(true)
}

/// Installs what is missing; `for_tests` adds what only the tests use:
/// Chromium and chromedriver, and the public MoChat client's venv.
///
/// Three lanes run side by side, because two cores are mostly idle while
/// one tool links or another waits on the network: the downloads (npm,
/// crates, Chromium, the Python client), wasm-bindgen-cli then
/// worker-build, and Trunk with its toolchain.
pub fn install(for_tests: bool) -> Result {
    let started = Instant::now();
    step("[setup] Rust target wasm32-unknown-unknown");
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]));
    if installed.is_some_and(|t| t.lines().any(|l| l == WASM_TARGET)) {
        println!("    present");
    } else {
        status(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    let bindgen = wasm_bindgen_version()?;
    let errors: Vec<String> = std::thread::scope(|s| {
        let downloads = s.spawn(|| downloads(for_tests));
        let small = s.spawn(|| {
            step(&format!(
                "[setup] wasm-bindgen-cli {bindgen} (the version in Cargo.lock)"
            ));
            // No --locked: its lockfile wants a crate version the registry lacks.
            let bindgen_tool = Tool {
                bin: "wasm-bindgen",
                krate: "wasm-bindgen-cli",
                version: &bindgen,
                opt_level: OPT_LIGHT,
                locked: false,
            };
            cargo_install(&bindgen_tool, &[])?;
            step(&format!("[setup] worker-build {WORKER_BUILD}"));
            let worker_build = Tool {
                bin: "worker-build",
                krate: "worker-build",
                version: WORKER_BUILD,
                opt_level: OPT_NONE,
                locked: true,
            };
            cargo_install(&worker_build, &[])
        });
        let trunk = trunk();
        [downloads.join(), small.join(), Ok(trunk)]
            .into_iter()
            .filter_map(|lane| match lane {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some("a set-up step panicked".to_owned()),
            })
            .collect()
    });
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    println!(
        "\n    set-up complete in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The lane that mostly waits on the network: npm packages, the workspace's
/// crates, and for the tests Chromium and the Python client.
fn downloads(for_tests: bool) -> Result {
    step(&format!(
        "[setup] Node tools: wrangler {WRANGLER}, binaryen {BINARYEN}, axe-core {AXE} (npm ci)"
    ));
    let wrangler_ok = version_of(&node_tool("wrangler")).is_some_and(|v| v.contains(WRANGLER));
    let binaryen_ok = version_of(&node_tool("wasm-opt")).is_some_and(|v| v.contains(BINARYEN));
    let axe_ok =
        std::fs::read_to_string(axe_script()).is_ok_and(|s| s.contains(&format!("axe v{AXE}")));
    if wrangler_ok && binaryen_ok && axe_ok {
        println!("    present: wrangler, wasm-opt, axe-core");
    } else {
        status(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(workspace_root()),
        )?;
    }
    step("[setup] crates for offline builds (cargo fetch)");
    status(
        Command::new("cargo")
            .arg("fetch")
            .current_dir(workspace_root()),
    )?;
    if for_tests {
        step("[setup] Chromium and chromedriver (Debian packages)");
        install_chromium()?;
        step(&format!(
            "[setup] Python client for the public-client test (nanobot-ai {NANOBOT}, venv)"
        ));
        install_pyclients()?;
    }
    Ok(())
}

/// Trunk, with the newer toolchain it needs.
fn trunk() -> Result {
    step(&format!(
        "[setup] Trunk {TRUNK} with Rust {TRUNK_TOOLCHAIN}"
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
    let trunk = Tool {
        bin: "trunk",
        krate: "trunk",
        version: TRUNK,
        opt_level: OPT_NONE,
        locked: true,
    };
    cargo_install(&trunk, &[&plus])
}

/// The first line `TOOL --version` prints, if it runs.
fn version_of(tool: &Path) -> Option<String> {
    output(Command::new(tool).arg("--version")).map(|v| v.lines().next().unwrap_or("").to_owned())
}

fn has_version(tool: &Path, version: &str) -> bool {
    version_of(tool).is_some_and(|v| v.split_whitespace().any(|w| w == version))
}

/// A tool `cargo install` builds.
struct Tool<'a> {
    bin: &'a str,
    krate: &'a str,
    version: &'a str,
    /// `opt-level` of its build ([`OPT_NONE`] or [`OPT_LIGHT`]).
    opt_level: &'a str,
    /// `--locked`: its own lockfile works with the registry.
    locked: bool,
}

/// `cargo install` of `tool` unless `bin --version` already says its version.
fn cargo_install(tool: &Tool, pre: &[&str]) -> Result {
    if has_version(&cargo_tool(tool.bin), tool.version) {
        println!("    present: {} {}", tool.bin, tool.version);
        return Ok(());
    }
    let mut cmd = Command::new("cargo");
    cmd.args(pre)
        .args(["install", tool.krate, "--version", tool.version, "--force"]);
    if tool.locked {
        cmd.arg("--locked");
    }
    // Never inherit the project's flags or target dir: tools build on their own.
    cmd.envs(TOOL_PROFILE)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", tool.opt_level)
        .env_remove("CARGO_TARGET_DIR")
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
