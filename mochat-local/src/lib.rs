#![doc = include_str!("../README.md")]

mod accounts;
pub mod config;
mod db;
mod demo;
mod dispatch;
mod error;
mod groups;
mod helper;
mod ids;
mod input;
mod live;
mod live_shapes;
mod messages;
mod rate_limit;
mod routing;
mod sessions;
mod time;
mod watch;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch as signal;
use tokio::task::JoinHandle;

pub use config::{Config, Dialects, Storage};
pub use demo::DemoInfo;

use crate::db::Db;
use crate::rate_limit::RateLimiter;
use crate::watch::Hub;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    db: Db,
    hub: Arc<Hub>,
    limiter: Option<Arc<RateLimiter>>,
    /// Which dialects of the API are answered.
    dialects: Dialects,
    /// Turns true when the server is stopping: pending watches answer at once.
    shutdown: signal::Receiver<bool>,
    /// Tests only: the wait between storing a session send and answering it.
    answer_delay: std::time::Duration,
}

impl AppState {
    /// Opens the database of `config`. The sender stops watches when set to true.
    pub fn open(config: &Config) -> Result<(Self, signal::Sender<bool>), String> {
        let db = Db::open(&config.storage)?;
        let (stop, shutdown) = signal::channel(false);
        let limiter = config
            .rate_limit
            .map(|limit| Arc::new(RateLimiter::new(limit, config.rate_window)));
        Ok((
            Self {
                db,
                hub: Arc::new(Hub::default()),
                limiter,
                dialects: config.dialects,
                shutdown,
                answer_delay: config.answer_delay,
            },
            stop,
        ))
    }
}

/// The HTTP application: every path goes to one dispatcher that follows the
/// shared route table and the live dialect's calls.
pub fn app(state: AppState) -> Router {
    Router::new().fallback(dispatch::dispatch).with_state(state)
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: signal::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
    helper: Option<JoinHandle<()>>,
    demo: Option<DemoInfo>,
}

impl Server {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL of the API, e.g. `http://127.0.0.1:11000/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// What `--demo` seeded (tokens and ids), when it ran.
    pub fn demo(&self) -> Option<&DemoInfo> {
        self.demo.as_ref()
    }

    /// Answers pending watches, lets requests in flight finish, and stops.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        if let Err(error) = self
            .http
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
        {
            tracing::error!(%error, "the server stopped with an error");
        }
        if let Some(helper) = self.helper {
            let _ = helper.await;
        }
    }
}

/// Opens the database, seeds the demo when asked, binds the port and starts serving.
pub async fn start(config: Config) -> Result<Server, String> {
    let (state, stop) = AppState::open(&config)?;
    let demo = if config.demo {
        let info = state.db.with(demo::seed).map_err(|e| e.error.message)?;
        let vars = [
            ("CLAW_TOKEN", info.operator_token.as_str()),
            ("DEFAULT_AGENT_ID", info.operator_id.as_str()),
            ("DEFAULT_AGENT_NAME", "Operator"),
            ("DEFAULT_AGENT_USERNAME", "operator"),
        ];
        demo::write_dev_vars(&config.dev_vars, &vars)
            .map_err(|e| format!("cannot write {}: {e}", config.dev_vars.display()))?;
        Some(info)
    } else {
        None
    };
    let listener = TcpListener::bind((config.bind, config.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.bind, config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let helper = demo
        .as_ref()
        .map(|info| tokio::spawn(helper::run(state.clone(), info.helper_id.clone())));
    let mut stopping = state.shutdown.clone();
    let http = tokio::spawn(async move {
        axum::serve(listener, app(state))
            .with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            })
            .await
    });
    Ok(Server {
        addr,
        stop,
        http,
        helper,
        demo,
    })
}

/// Listens for SIGINT and SIGTERM from the moment it is called; the returned
/// future resolves on the first of them.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Runs the server until SIGINT or SIGTERM: prints the listening line (and the
/// demo's invite code and helper id), then shuts down gracefully.
pub async fn serve(config: Config) -> Result<(), String> {
    let stopped = stop_signal();
    let dialects = config.dialects;
    let server = start(config).await?;
    println!("mochat-local listening on {}", server.base_url());
    tracing::info!(dialects = dialects.as_str(), "answering the API dialects");
    if let Some(demo) = server.demo() {
        println!(
            "demo: operator agent {} (token written to the dev vars file)",
            demo.operator_id
        );
        println!("demo: helper agent id {}", demo.helper_id);
        println!("demo: person Grace Hopper id {}", demo.grace_id);
        println!(
            "demo: invite code of the group \"{}\": {}",
            demo::PARTNER_GROUP,
            demo.partner_invite_code
        );
    }
    stopped.await;
    tracing::info!("stopping");
    server.shutdown().await;
    Ok(())
}
