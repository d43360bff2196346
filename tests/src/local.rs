//! The local MoChat server (`mochat-local`) as a child process on a free port.

use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::process::{Service, free_port};
use crate::toolchain::workspace_root;

/// How to start the local server.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The SQLite file; restarts on the same file keep the data.
    pub db: PathBuf,
    /// Seed the demo workspace.
    pub demo: bool,
    /// Requests per minute per agent; `None` turns the limit off.
    pub rate_limit: Option<u32>,
    /// Where `--demo` writes the operator's token (`CLAW_TOKEN=…`).
    pub dev_vars: Option<PathBuf>,
    /// `--answer-delay-ms`: a session send is stored, then answered this late.
    pub answer_delay_ms: Option<u64>,
    /// `--dialect`: `both`, `rest` or `live` (by default, the run's: see [`crate::Dialect`]).
    pub dialect: &'static str,
}

impl LocalOptions {
    /// A fresh database in `dir`, no demo, the limit off.
    pub fn in_dir(dir: &std::path::Path) -> Self {
        Self {
            db: dir.join("mochat-local.db"),
            demo: false,
            rate_limit: None,
            dev_vars: Some(dir.join("demo.vars")),
            answer_delay_ms: None,
            dialect: crate::Dialect::of_run().local_flag(),
        }
    }
}

/// A running local MoChat server.
pub struct LocalServer {
    service: Service,
    options: LocalOptions,
    /// Its port on 127.0.0.1 (kept across restarts).
    pub port: u16,
}

/// The `mochat-local` binary next to the running test (or `MOCHAT_LOCAL_BIN`).
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MOCHAT_LOCAL_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/<test> → target/<profile>/mochat-local
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|p| p.join("mochat-local")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| workspace_root().join("target/debug/mochat-local"))
}

impl LocalServer {
    /// Starts the server on a free port and waits until it listens.
    pub fn start(options: LocalOptions) -> io::Result<Self> {
        Self::start_on(options, free_port())
    }

    fn start_on(options: LocalOptions, port: u16) -> io::Result<Self> {
        let bin = binary();
        if !bin.exists() {
            return Err(io::Error::other(format!(
                "{} is missing: run `cargo build -p mochat-local` first",
                bin.display()
            )));
        }
        let mut cmd = Command::new(bin);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--db")
            .arg(&options.db);
        match options.rate_limit {
            Some(n) => cmd.args(["--rate-limit", &n.to_string()]),
            None => cmd.args(["--rate-limit", "off"]),
        };
        if options.demo {
            cmd.arg("--demo");
        }
        if let Some(vars) = &options.dev_vars {
            cmd.arg("--dev-vars").arg(vars);
        }
        if let Some(ms) = options.answer_delay_ms {
            cmd.args(["--answer-delay-ms", &ms.to_string()]);
        }
        cmd.args(["--dialect", options.dialect]);
        cmd.env("RUST_LOG", "info");
        let mut service = Service::spawn("mochat-local", cmd)?;
        service.wait_for_line("listening on", Duration::from_secs(30))?;
        if options.demo {
            // The demo's ids follow the listening line; the last one is the invite code.
            service.wait_for_line("demo: invite code", Duration::from_secs(10))?;
        }
        Ok(Self {
            service,
            options,
            port,
        })
    }

    /// The API base URL, ending in `/api`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}/api", self.port)
    }

    /// The operator's token written by `--demo`, read from the dev-vars file.
    pub fn demo_token(&self) -> Option<String> {
        self.dev_var("CLAW_TOKEN")
    }

    /// A `NAME=value` line `--demo` wrote to the dev-vars file.
    pub fn dev_var(&self, name: &str) -> Option<String> {
        let vars = std::fs::read_to_string(self.options.dev_vars.as_ref()?).ok()?;
        vars.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(|t| t.trim().trim_matches('"').to_owned())
    }

    /// SIGKILL: the server gets no chance to flush anything.
    pub fn kill9(&mut self) {
        self.service.kill9();
    }

    /// Graceful stop (SIGTERM).
    pub fn stop(&mut self) {
        self.service.stop();
    }

    /// Starts the server again on the same port and database.
    pub fn restart(&mut self) -> io::Result<()> {
        self.service.stop();
        let again = Self::start_on(self.options.clone(), self.port)?;
        *self = again;
        Ok(())
    }

    /// Everything the server logged so far.
    pub fn output(&self) -> String {
        self.service.output()
    }
}

impl LocalServer {
    /// A value the demo printed at start, e.g. `demo_value("helper agent id")`.
    pub fn demo_value(&self, label: &str) -> Option<String> {
        let prefix = format!("demo: {label}");
        self.output().lines().find_map(|l| {
            l.strip_prefix(&prefix)
                .map(|v| v.rsplit(' ').next().unwrap_or(v).trim().to_owned())
        })
    }
}

/// A line of the server's log without its terminal colour codes (`ESC [ … m`).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
