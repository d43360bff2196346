//! The whole product on loopback for one test: the local MoChat server with
//! its demo workspace, the real worker under `wrangler dev` in front of it,
//! a [`FaultProxy`] that browsers reach the worker through, and the demo's
//! operator as an API client of the local server. When a stack ends, every
//! byte its browsers received is searched for claw tokens.

use crate::faults::{LeakScan, record_scan};
use crate::toolchain::scratch_dir;
use crate::{Browser, FaultProxy, LocalOptions, LocalServer, Mochat, WorkerOptions, WranglerDev};

/// A running stack (inside a Tokio runtime); everything stops when it is dropped.
pub struct Stack {
    pub name: String,
    pub local: LocalServer,
    pub worker: WranglerDev,
    /// How the worker was started (its password and session secret among them).
    pub options: WorkerOptions,
    /// The demo's operator agent, talking to the local server directly.
    pub operator: Mochat,
    /// Between the browsers and the worker: [`Stack::browser_origin`].
    pub proxy: FaultProxy,
}

impl Stack {
    /// Starts the demo local server (rate limit off) and the worker with the
    /// extra `vars`, files under a fresh `test-output/tmp/<name>-…`.
    pub fn demo(name: &str, vars: &[(&str, &str)]) -> Self {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::demo_with(name, move |_| vars)
    }

    /// As [`Stack::demo`], with worker vars made from the running local
    /// server (e.g. naming one of its demo users).
    pub fn demo_with(name: &str, vars: impl FnOnce(&LocalServer) -> Vec<(String, String)>) -> Self {
        let dir = scratch_dir(name);
        let local = LocalServer::start(LocalOptions {
            demo: true,
            ..LocalOptions::in_dir(&dir)
        })
        .expect("the local MoChat server starts");
        let mut options = WorkerOptions::for_demo(&local, &dir);
        options.vars.extend(vars(&local));
        let worker = WranglerDev::start(&options).expect("wrangler dev starts");
        let operator = Mochat::new(
            local.base(),
            local.demo_token().expect("--demo writes a token"),
        );
        let proxy = FaultProxy::start(worker.port).expect("the fault proxy starts");
        Self {
            name: name.to_owned(),
            local,
            worker,
            options,
            operator,
            proxy,
        }
    }

    /// Where browsers open the product: the worker, through the proxy.
    pub fn browser_origin(&self) -> String {
        self.proxy.origin()
    }

    /// The worker's own origin, e.g. `http://127.0.0.1:8787` (for HTTP clients).
    pub fn origin(&self) -> String {
        self.worker.origin()
    }

    /// Ends a browser test: a screenshot of where it stopped
    /// (`<name>-last`), the browser closed, and a failure reported with the
    /// end of the worker's log.
    pub async fn finish(&self, browser: Browser, name: &str, outcome: Result<(), String>) {
        let _ = browser.screenshot(&format!("{name}-last")).await;
        browser.close().await;
        if let Err(e) = outcome {
            panic!(
                "{e}\n--- worker log ---\n{}",
                crate::process::tail(&self.worker.output())
            );
        }
    }
}

/// Turns any error into a message naming the step that failed.
pub fn at<E: std::fmt::Display>(step: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{step}: {e}")
}

impl Drop for Stack {
    fn drop(&mut self) {
        let bytes = self.proxy.received_bytes() as u64;
        if bytes > 0 {
            record_scan(&LeakScan {
                test: self.name.clone(),
                bytes,
                found: self.proxy.received_count("claw_") as u64,
            });
        }
    }
}
