//! Release builds of the two WebAssembly parts: the dashboard (Trunk, into
//! `dist/`) and the worker (worker-build, into `worker/build/`).

use mochat_tests::toolchain::{cargo_tool, command, workspace_root};

use crate::run::{Result, status, step};

/// Builds the dashboard and the worker.
pub fn all() -> Result {
    client()?;
    worker()
}

/// `trunk build --release` of the dashboard into `dist/`, then of the
/// widget into `dist/widget/` (served under `/widget/`).
pub fn client() -> Result {
    step("Building the dashboard (trunk build --release → dist/)");
    status(command(cargo_tool("trunk")).args(["build", "--release"]))?;
    step("Building the chat widget (trunk build --release client/widget.html → dist/widget/)");
    status(command(cargo_tool("trunk")).args([
        "build",
        "client/widget.html",
        "--release",
        "--dist",
        "dist/widget",
        "--public-url",
        "/widget/",
    ]))?;
    let root = workspace_root();
    let read = |p: &str| {
        std::fs::read_to_string(root.join(p)).map_err(|e| format!("cannot read {p}: {e}"))
    };
    fill_loader(&root)?;
    let inline = mochat_worker::frame::script_hashes(&read("dist/index.html")?);
    let headers = mochat_worker::headers::assets_headers_file(&inline);
    std::fs::write(root.join("dist/_headers"), headers)
        .map_err(|e| format!("cannot write dist/_headers: {e}"))
}

/// What `www/widget.js` leaves for the build to write: the widget page's path.
const FRAME_PATH_SLOT: &str = "__MOCHAT_FRAME_PATH__";

/// Writes the widget page's path (from the api crate) into the loader Trunk
/// copied to `dist/widget.js`.
fn fill_loader(root: &std::path::Path) -> Result {
    let path = root.join("dist/widget.js");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read dist/widget.js: {e}"))?;
    let filled = fill_frame_path(&text)?;
    std::fs::write(&path, filled).map_err(|e| format!("cannot write dist/widget.js: {e}"))
}

fn fill_frame_path(loader: &str) -> Result<String> {
    if loader.matches(FRAME_PATH_SLOT).count() != 1 {
        return Err(format!(
            "www/widget.js must hold {FRAME_PATH_SLOT} exactly once (the widget page's path)"
        ));
    }
    Ok(loader.replace(FRAME_PATH_SLOT, mochat_api::widget::FRAME_PATH))
}

/// `worker-build --release` of the worker into `worker/build/`.
pub fn worker() -> Result {
    step("Building the worker (worker-build --release → worker/build/)");
    status(
        command(cargo_tool("worker-build"))
            .arg("--release")
            .current_dir(workspace_root().join("worker")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_gets_the_widget_pages_path() {
        let loader = include_str!("../../www/widget.js");
        let filled = fill_frame_path(loader).expect("one slot");
        let quoted = format!("\"{}\"", mochat_api::widget::FRAME_PATH);
        assert!(filled.contains(&quoted));
        assert!(!filled.contains(FRAME_PATH_SLOT));
        assert!(fill_frame_path(&filled).is_err(), "no slot left");
    }
}
