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
    let inline = mochat_worker::frame::script_hashes(&read("dist/index.html")?);
    let headers = mochat_worker::headers::assets_headers_file(&inline);
    std::fs::write(root.join("dist/_headers"), headers)
        .map_err(|e| format!("cannot write dist/_headers: {e}"))
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
