//! Where the project's tools are and the environment they run in.
//!
//! Cargo-installed tools (Trunk, wasm-bindgen-cli, worker-build) live in
//! `$CARGO_HOME/bin`; Node tools (wrangler, wasm-opt from binaryen) in the
//! project's `node_modules/.bin`; their state and temporary files in the
//! git-ignored `.tools-state/`, so nothing is written outside the project.

use std::env;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the folder of the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// `$CARGO_HOME`, or `~/.cargo`.
pub fn cargo_home() -> PathBuf {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

/// A cargo-installed tool, e.g. `trunk`.
pub fn cargo_tool(name: &str) -> PathBuf {
    cargo_home().join("bin").join(name)
}

/// A tool from the project's `node_modules/.bin`, e.g. `wrangler`.
pub fn node_tool(name: &str) -> PathBuf {
    workspace_root()
        .join("node_modules")
        .join(".bin")
        .join(name)
}

/// axe-core's browser build (pinned in `package-lock.json`), which
/// `Browser::axe` injects into a page.
pub fn axe_script() -> PathBuf {
    workspace_root()
        .join("node_modules")
        .join("axe-core")
        .join("axe.min.js")
}

/// The git-ignored folder for tool state, caches and temporary files.
pub fn state_dir() -> PathBuf {
    workspace_root().join(".tools-state")
}

/// The venv with the public MoChat client the tests drive (nanobot-ai,
/// pinned in `tests/pubclients/requirements.txt`; made by `cargo xtask setup`).
pub fn pyclients_venv() -> PathBuf {
    state_dir().join("pyclients")
}

/// The git-ignored folder where tests put logs and screenshots.
pub fn output_dir() -> PathBuf {
    workspace_root().join("test-output")
}

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's ChromeDriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// `PATH` with the project's tool folders first (`node_modules/.bin` before
/// anything else, so Trunk never picks Debian's old wasm-opt).
pub fn tool_path() -> OsString {
    let mut dirs = vec![
        workspace_root().join("node_modules").join(".bin"),
        cargo_home().join("bin"),
    ];
    if let Some(path) = env::var_os("PATH") {
        dirs.extend(env::split_paths(&path));
    }
    env::join_paths(dirs).unwrap_or_default()
}

/// The environment every tool runs in: offline-safe, quiet, and writing only
/// inside the project (README, Tools: the pitfalls behind each pin).
pub fn tool_env() -> Vec<(&'static str, OsString)> {
    let state = state_dir();
    for sub in ["config", "cache", "tmp"] {
        let _ = std::fs::create_dir_all(state.join(sub));
    }
    vec![
        ("PATH", tool_path()),
        ("WASM_BINDGEN_BIN", cargo_tool("wasm-bindgen").into()),
        ("WASM_OPT_BIN", node_tool("wasm-opt").into()),
        ("WRANGLER_SEND_METRICS", "false".into()),
        ("WRANGLER_SEND_ERROR_REPORTS", "false".into()),
        ("CLOUDFLARE_CF_FETCH_ENABLED", "false".into()),
        ("XDG_CONFIG_HOME", state.join("config").into()),
        ("XDG_CACHE_HOME", state.join("cache").into()),
        ("TMPDIR", state.join("tmp").into()),
        ("CHROMEDRIVER", CHROMEDRIVER.into()),
    ]
}

/// A command for `program` with the tool environment, run from the workspace root.
pub fn command(program: impl Into<OsString>) -> Command {
    let mut cmd = Command::new(program.into());
    cmd.current_dir(workspace_root()).envs(tool_env());
    cmd
}

/// A fresh, empty folder for one test's files under `test-output/tmp`.
pub fn scratch_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = output_dir()
        .join("tmp")
        .join(format!("{name}-{}-{nanos}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}
