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
    let dev_vars = root.join(".dev.vars");
    ensure_secrets(&dev_vars)?;

    step(&format!(
        "Starting the local MoChat server on 127.0.0.1:{LOCAL_PORT} (demo workspace)"
    ));
    let mut local = Command::new(root.join("target/debug/mochat-local"));
    local
        .args(["--port", &LOCAL_PORT.to_string(), "--demo", "--dev-vars"])
        .arg(&dev_vars)
        .current_dir(&root);
    let mut local = Service::spawn("mochat-local", local).map_err(|e| e.to_string())?;
    local
        .wait_for_line("listening on", Duration::from_secs(30))
        .map_err(|e| e.to_string())?;

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
    let mut wrangler = Service::spawn("wrangler", wrangler).map_err(|e| e.to_string())?;
    if !wait_for_port(WORKER_PORT, Duration::from_secs(300)) {
        return Err(format!(
            "wrangler dev did not start; see {}",
            wrangler.log.display()
        ));
    }
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
/// cookie key. The demo server adds `CLAW_TOKEN` to the same file.
fn ensure_secrets(path: &std::path::Path) -> Result {
    let mut text = std::fs::read_to_string(path).unwrap_or_default();
    for name in ["DASHBOARD_PASSWORD", "SESSION_SECRET"] {
        if read_var(path, name).is_none() {
            let value = random_secret()?;
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("{name}={value}\n"));
            std::fs::write(path, &text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

fn read_var(path: &std::path::Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_owned())
}

/// 24 random URL-safe characters from the kernel's generator.
fn random_secret() -> Result<String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}
