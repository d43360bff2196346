//! The stack the benchmark runs on loopback: the local MoChat server (demo
//! data, no rate limit), our worker under `wrangler dev`, the bare
//! pass-through worker of `bench/passthrough/` and the same in our worker's
//! shape (`bench/shape/`). Everything stops on drop.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mochat_api::Route;
use mochat_tests::process::{Service, free_port, tail, wait_for_port};
use mochat_tests::toolchain::{command, node_tool, scratch_dir};
use mochat_tests::{Edge, LocalOptions, LocalServer, WorkerOptions, WranglerDev};
use serde_json::{Value, json};

use crate::run::{Result, step};

/// High enough that the limiter never refuses during the benchmark.
pub const HIGH_RATE_LIMIT: &str = "1000000";
/// The widget site the benchmark configures, and the host page it allows.
pub const BENCH_SITE: &str = "bench";
pub const BENCH_HOST: &str = "http://127.0.0.1:9";

pub struct Stack {
    pub local: LocalServer,
    pub operator_token: String,
    pub options: WorkerOptions,
    pub ours: WranglerDev,
    pub bare: Service,
    pub bare_port: u16,
    pub shape: Service,
    pub shape_port: u16,
    /// Seconds from spawning `wrangler dev` (our worker, built, tools
    /// installed) until it served the dashboard's HTML.
    pub warm_dashboard_secs: f64,
    /// Seconds from spawn to "Ready on" for each `wrangler dev` started.
    pub wrangler_ready_secs: Vec<(String, f64)>,
    /// A cookie of a signed-in dashboard.
    pub cookie: String,
    pub dir: PathBuf,
}

impl Stack {
    pub async fn start() -> Result<Self> {
        let dir = scratch_dir("bench");
        step("[stack] local MoChat server (demo workspace, --rate-limit off)");
        let local = LocalServer::start(LocalOptions {
            demo: true,
            ..LocalOptions::in_dir(&dir)
        })
        .map_err(|e| format!("local server: {e}"))?;
        let operator_token = local
            .demo_token()
            .ok_or("the demo wrote no operator token")?;

        let mut options = WorkerOptions::for_demo(&local, &dir.join("ours"));
        options
            .vars
            .push(("RATE_LIMIT".into(), HIGH_RATE_LIMIT.into()));
        options.vars.push((
            "WIDGET_SITES".into(),
            json!({ BENCH_SITE: {
                "origins": [BENCH_HOST], "title": "Bench", "color": "#0f766e"
            }})
            .to_string(),
        ));
        let mut ready = Vec::new();

        step("[stack] our worker under wrangler dev (RATE_LIMIT=1000000)");
        let started = Instant::now();
        let ours = WranglerDev::start(&options).map_err(|e| format!("our worker: {e}"))?;
        ready.push(("our worker".to_owned(), started.elapsed().as_secs_f64()));
        let page = reqwest::get(format!("{}/", ours.origin()))
            .await
            .map_err(|e| format!("dashboard page: {e}"))?;
        let served =
            page.status().is_success() && page.text().await.unwrap_or_default().contains("<html");
        if !served {
            return Err("our worker did not serve the dashboard's HTML at /".to_owned());
        }
        let warm_dashboard_secs = started.elapsed().as_secs_f64();

        step("[stack] bare pass-through worker (bench/passthrough) under wrangler dev");
        let started = Instant::now();
        let (bare, bare_port) = start_js("passthrough", &local.base(), &operator_token)?;
        ready.push((
            "bare pass-through worker".to_owned(),
            started.elapsed().as_secs_f64(),
        ));
        step("[stack] the pass-through in our worker's shape (bench/shape) under wrangler dev");
        let started = Instant::now();
        let (shape, shape_port) = start_js("shape", &local.base(), &operator_token)?;
        ready.push((
            "pass-through in our shape".to_owned(),
            started.elapsed().as_secs_f64(),
        ));

        let mut edge = Edge::new(ours.origin());
        let status = edge.sign_in(&options.password).await;
        let cookie = edge
            .cookie
            .clone()
            .filter(|_| status == 204)
            .ok_or(format!("sign-in at our worker answered {status}"))?;
        Ok(Self {
            local,
            operator_token,
            options,
            ours,
            bare,
            bare_port,
            shape,
            shape_port,
            warm_dashboard_secs,
            wrangler_ready_secs: ready,
            cookie,
            dir,
        })
    }

    /// Stops everything (also done on drop).
    pub fn stop(mut self) {
        self.bare.stop();
        self.shape.stop();
        self.ours.stop();
        self.local.stop();
    }
}

/// `wrangler dev --config bench/<fixture>/wrangler.toml` on free ports, with
/// fresh state.
fn start_js(fixture: &str, upstream: &str, token: &str) -> Result<(Service, u16)> {
    let port = free_port();
    let mut cmd = command(node_tool("wrangler"));
    let config = format!("bench/{fixture}/wrangler.toml");
    let state = scratch_dir(&format!("bench-{fixture}"));
    cmd.args(["dev", "--config", &config])
        .arg("--persist-to")
        .arg(&state)
        .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &free_port().to_string()])
        .args([
            "--show-interactive-dev-session=false",
            "--log-level",
            "info",
        ])
        .arg("--var")
        .arg(format!("UPSTREAM_URL:{upstream}"))
        .arg("--var")
        .arg(format!("CLAW_TOKEN:{token}"))
        .arg("--var")
        .arg(format!(
            "TOKEN_HEADER:{}",
            mochat_api::limits::CLAW_TOKEN_HEADER
        ));
    let mut service = Service::spawn(&format!("wrangler-{fixture}"), cmd)
        .map_err(|e| format!("{fixture}: {e}"))?;
    if !wait_for_port(port, Duration::from_secs(120)) {
        return Err(format!(
            "the {fixture} worker did not listen on {port}:\n{}",
            tail(&service.output())
        ));
    }
    service
        .wait_for_line("Ready on", Duration::from_secs(60))
        .map_err(|e| format!("{fixture}: {e}"))?;
    Ok((service, port))
}

/// A call straight to the local server with a claw token; the JSON answer.
pub async fn call(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value> {
    let url = format!("{base}{path}");
    let mut req = http.request(method, &url);
    if !token.is_empty() {
        req = req.header(mochat_api::limits::CLAW_TOKEN_HEADER, token);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("{url}: {status} {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{url}: {e}: {text}"))
}

/// Another agent, registered straight at the local server: (token, user id).
pub async fn register(http: &reqwest::Client, base: &str, name: &str) -> Result<(String, String)> {
    let username = name.to_lowercase().replace(' ', "_");
    let reg = call(
        http,
        base,
        "",
        reqwest::Method::POST,
        &Route::Register.path(),
        Some(&json!({ "name": name, "username": username })),
    )
    .await?;
    let field = |k: &str| {
        reg[k]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("register: no {k}"))
    };
    Ok((field("claw_token")?, field("botUserId")?))
}

/// A new session of the operator with `participant`; its id.
pub async fn session(
    http: &reqwest::Client,
    base: &str,
    operator: &str,
    participant: &str,
    title: &str,
) -> Result<String> {
    let created = call(
        http,
        base,
        operator,
        reqwest::Method::POST,
        &Route::CreateSession.path(),
        Some(&json!({ "participants": [participant], "title": title })),
    )
    .await?;
    created["sessionId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("create session: no id in {created}"))
}
