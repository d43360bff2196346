//! The real edge worker under `wrangler dev` (workerd) on a free port.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::process::{Service, free_port, wait_for_port};
use crate::toolchain::{command, node_tool, workspace_root};

/// How to start the worker. Secrets are passed as `--var`s, so no test ever
/// touches the developer's `.dev.vars`.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The MoChat API base URL, ending in `/api`.
    pub upstream: String,
    /// The default agent's token.
    pub claw_token: String,
    /// The dashboard password.
    pub password: String,
    /// The key that signs session cookies.
    pub session_secret: String,
    /// Where workerd keeps Durable Object state.
    pub persist_to: PathBuf,
    /// More `--var NAME:VALUE`s.
    pub vars: Vec<(String, String)>,
}

impl WorkerOptions {
    /// Options for a test against a `--demo` local server: its operator is
    /// the default agent, named as the demo wrote it.
    pub fn for_demo(local: &crate::LocalServer, dir: &std::path::Path) -> Self {
        let token = local.demo_token().unwrap_or_default();
        let mut options = Self::for_test(local.base(), token, dir);
        for name in [
            "DEFAULT_AGENT_ID",
            "DEFAULT_AGENT_NAME",
            "DEFAULT_AGENT_USERNAME",
        ] {
            if let Some(value) = local.dev_var(name) {
                options.vars.push((name.to_owned(), value));
            }
        }
        options
    }

    /// Options for a test: fixed test secrets, state under `dir`.
    pub fn for_test(upstream: String, claw_token: String, dir: &std::path::Path) -> Self {
        Self {
            upstream,
            claw_token,
            password: "correct horse battery staple".to_owned(),
            session_secret: "test-session-secret-0123456789abcdef".to_owned(),
            persist_to: dir.join("wrangler-state"),
            vars: vec![(
                "UPSTREAM_DIALECT".to_owned(),
                crate::Dialect::of_run().name().to_owned(),
            )],
        }
    }
}

/// A running `wrangler dev`.
pub struct WranglerDev {
    service: Service,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl WranglerDev {
    /// Starts `wrangler dev` with the worker built beforehand (`cargo xtask`
    /// builds it once; `MOCHAT_WORKER_PREBUILT` skips the build in wrangler.toml)
    /// and waits until `/edge/health` answers.
    pub fn start(options: &WorkerOptions) -> io::Result<Self> {
        let root = workspace_root();
        if !root.join("worker/build/index.js").exists() {
            return Err(io::Error::other(
                "worker/build/index.js is missing: run `cargo xtask test` (or `cd worker && worker-build --release`) first",
            ));
        }
        std::fs::create_dir_all(root.join("dist"))?;
        Self::start_retrying(options, None)
    }

    /// Starts on `port` (or a free one), up to three times. A port found free
    /// can be taken by a parallel test before wrangler binds it: then again,
    /// with new ports. Wrangler says "Address already in use" of its own port;
    /// of the inspector port it says only "The Workers runtime failed to
    /// start" (tried by hand: a listener on the port is enough).
    fn start_retrying(options: &WorkerOptions, port: Option<u16>) -> io::Result<Self> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::start_on(options, port.unwrap_or_else(free_port)) {
                Err(e) if attempt < 3 && is_passing_start_failure(&e.to_string()) => {
                    eprintln!("wrangler dev did not start (attempt {attempt}); trying again:\n{e}");
                }
                other => return other,
            }
        }
    }

    /// SIGKILL of wrangler and workerd: open connections die, nothing is flushed.
    pub fn kill9(&mut self) {
        self.service.kill9();
    }

    /// Starts again on the same port with the same state (`persist_to`).
    pub fn restart(&mut self, options: &WorkerOptions) -> io::Result<()> {
        self.service.stop();
        *self = Self::start_retrying(options, Some(self.port))?;
        Ok(())
    }

    fn start_on(options: &WorkerOptions, port: u16) -> io::Result<Self> {
        let inspector = free_port();
        let mut cmd = command(node_tool("wrangler"));
        cmd.args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &inspector.to_string()])
            .arg("--persist-to")
            .arg(&options.persist_to)
            .args([
                "--show-interactive-dev-session=false",
                "--log-level",
                "info",
            ])
            .env("MOCHAT_WORKER_PREBUILT", "1");
        let mut vars = vec![
            ("UPSTREAM_URL".to_owned(), options.upstream.clone()),
            ("CLAW_TOKEN".to_owned(), options.claw_token.clone()),
            ("DASHBOARD_PASSWORD".to_owned(), options.password.clone()),
            ("SESSION_SECRET".to_owned(), options.session_secret.clone()),
        ];
        vars.extend(options.vars.iter().cloned());
        for (name, value) in vars {
            cmd.arg("--var").arg(format!("{name}:{value}"));
        }
        let mut service = Service::spawn("wrangler", cmd)?;
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while !wait_for_port(port, Duration::from_millis(500)) {
            // Given up, or wrangler already exited (e.g. a port in use): say why.
            if std::time::Instant::now() > deadline || !service.is_running() {
                let log = service.output();
                service.stop();
                return Err(io::Error::other(format!(
                    "wrangler dev did not listen on {port}:\n{}",
                    crate::process::tail(&log)
                )));
            }
        }
        service.wait_for_line("Ready on", Duration::from_secs(60))?;
        Ok(Self { service, port })
    }

    /// The worker's origin, e.g. `http://127.0.0.1:8787`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Everything wrangler printed so far.
    pub fn output(&self) -> String {
        self.service.output()
    }

    /// Stops wrangler and workerd.
    pub fn stop(&mut self) {
        self.service.stop();
    }
}

/// Whether a failed start is worth another try with new ports.
fn is_passing_start_failure(error: &str) -> bool {
    error.contains("Address already in use") || error.contains("Workers runtime failed to start")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_of_either_kind_is_tried_again() {
        assert!(is_passing_start_failure(
            "wrangler dev did not listen on 1:\n✘ [ERROR] The Workers runtime failed to start."
        ));
        assert!(is_passing_start_failure("bind: Address already in use"));
        assert!(!is_passing_start_failure("wrangler.toml: unknown field"));
    }
}
