//! `cargo xtask dev`: the whole product on this machine, with the demo workspace.

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use mochat_tests::process::{Service, wait_for_port};
use mochat_tests::toolchain::{command, node_tool, workspace_root};

use crate::run::{Result, status, step};
use crate::{build, tools};

/// The dashboard's port, as in the reference's examples for wrangler.
const WORKER_PORT: u16 = 8787;
/// The local MoChat server's port (the reference's local base URL).
const LOCAL_PORT: u16 = 11000;

pub fn run() -> Result {
    tools::install(false)?;
    build::client()?;
    step("Building the local MoChat server");
    status(
        Command::new("cargo")
            .args(["build", "-p", "mochat-local"])
            .current_dir(workspace_root()),
    )?;

    let root = workspace_root();
    // The widget's demo host page is for development only: the release
    // build does not ship it; `dev` adds it to this build's assets.
    std::fs::copy(
        root.join("www/widget-demo.html"),
        root.join("dist/widget-demo.html"),
    )
    .map_err(|e| format!("cannot copy the widget demo page into dist/: {e}"))?;
    let dev_vars = root.join(".dev.vars");
    ensure_secrets(&dev_vars)?;

    let mut local = start_local(&dev_vars)?;
    let mut wrangler = start_worker(&local)?;
    let password = read_var(&dev_vars, "DASHBOARD_PASSWORD").unwrap_or_default();
    println!("\n  MoChat dashboard: http://127.0.0.1:{WORKER_PORT}/");
    println!("  password:         {password}");
    println!("  widget demo page: http://127.0.0.1:{WORKER_PORT}/widget-demo");
    println!("  local MoChat API: http://127.0.0.1:{LOCAL_PORT}/api");
    println!(
        "  logs:             {}",
        local
            .log
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    println!("\n  Press Ctrl-C to stop everything.");
    let _ = std::io::stdout().flush();
    run_until_stopped(&mut local, &mut wrangler)
}

/// The local MoChat server with its demo workspace, on [`LOCAL_PORT`].
fn start_local(dev_vars: &std::path::Path) -> Result<Service> {
    step(&format!(
        "Starting the local MoChat server on 127.0.0.1:{LOCAL_PORT} (demo workspace)"
    ));
    let root = workspace_root();
    let mut local = Command::new(root.join("target/debug/mochat-local"));
    local
        .args(["--port", &LOCAL_PORT.to_string(), "--demo", "--dev-vars"])
        .arg(dev_vars)
        .current_dir(&root);
    let mut local = Service::spawn("mochat-local", local).map_err(|e| e.to_string())?;
    local
        .wait_for_line("listening on", Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    Ok(local)
}

/// `wrangler dev` on [`WORKER_PORT`], with the widget's demo site.
fn start_worker(local: &Service) -> Result<Service> {
    step(&format!(
        "Starting the worker (wrangler dev) on 127.0.0.1:{WORKER_PORT}; it builds first"
    ));
    // The widget's demo site: /widget-demo.html on the worker's own origin
    // embeds it; the demo's helper agent joins every visitor's session.
    let helper = local
        .output()
        .lines()
        .find_map(|l| l.strip_prefix("demo: helper agent id "))
        .map(|id| id.trim().to_owned());
    let mut site = serde_json::json!({
        "origins": [format!("http://127.0.0.1:{WORKER_PORT}"), format!("http://localhost:{WORKER_PORT}")],
        "title": "MoChat demo",
        "color": "#0f766e",
    });
    if let Some(id) = helper {
        site["participants"] = serde_json::json!([id]);
    }
    let sites = serde_json::json!({ "demo": site });
    let mut wrangler = command(node_tool("wrangler"));
    wrangler.args([
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        &WORKER_PORT.to_string(),
        "--show-interactive-dev-session=false",
        "--var",
        &format!("WIDGET_SITES:{sites}"),
    ]);
    let wrangler = Service::spawn("wrangler", wrangler).map_err(|e| e.to_string())?;
    if !wait_for_port(WORKER_PORT, Duration::from_secs(300)) {
        return Err(format!(
            "wrangler dev did not start; see {}",
            wrangler.log.display()
        ));
    }
    Ok(wrangler)
}

/// Waits for Ctrl-C, or for either service to stop (an error naming its log).
fn run_until_stopped(local: &mut Service, wrangler: &mut Service) -> Result {
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| format!("cannot catch Ctrl-C: {e}"))?;
    loop {
        if rx.recv_timeout(Duration::from_secs(1)).is_ok() {
            break;
        }
        if !local.is_running() {
            return Err(format!(
                "the local MoChat server stopped; see {}",
                local.log.display()
            ));
        }
        if !wrangler.is_running() {
            return Err(format!(
                "wrangler dev stopped; see {}",
                wrangler.log.display()
            ));
        }
    }
    println!("Stopping…");
    Ok(())
}

/// Creates the worker's local secrets once: the dashboard password and the
/// key the worker derives its signing keys from, each at least as long as
/// the worker asks (12 characters, 32 bytes); a shorter one left by an older
/// version is replaced. The demo server adds `CLAW_TOKEN` to the same file.
fn ensure_secrets(path: &std::path::Path) -> Result {
    for (name, least, len) in [("DASHBOARD_PASSWORD", 12, 24), ("SESSION_SECRET", 32, 48)] {
        if read_var(path, name).is_some_and(|v| v.len() >= least) {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut kept: String = text
            .lines()
            .filter(|l| !l.starts_with(&format!("{name}=")))
            .map(|l| format!("{l}\n"))
            .collect();
        kept.push_str(&format!("{name}={}\n", random_secret(len)?));
        std::fs::write(path, &kept).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn read_var(path: &std::path::Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_owned())
}

/// `len` random URL-safe characters from the kernel's generator.
fn random_secret(len: usize) -> Result<String> {
    let mut bytes = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}
