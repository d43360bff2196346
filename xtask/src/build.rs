//! Release builds of the two WebAssembly parts: the dashboard (Trunk, into
//! `dist/`) and the worker (worker-build, into `worker/build/`).

use mochat_tests::toolchain::{cargo_tool, command, workspace_root};

use crate::run::{Result, status, step};

/// Builds the dashboard and the worker.
pub fn all() -> Result {
    client()?;
    worker()
}

/// `trunk build --release` of the dashboard into `dist/`.
pub fn client() -> Result {
    step("Building the dashboard (trunk build --release → dist/)");
    status(command(cargo_tool("trunk")).args(["build", "--release"]))
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
