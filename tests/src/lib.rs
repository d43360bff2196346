//! The harness shared by the end-to-end tests and `cargo xtask`: where the
//! project's tools live, and the real services (local MoChat server,
//! `wrangler dev`, headless Chromium) started on free loopback ports and
//! stopped again, also when a test fails.

pub mod axe;
pub mod browser;
pub mod dialect;
pub mod edge;
pub mod faultproxy;
pub mod faults;
pub mod host;
pub mod load;
pub mod local;
pub mod mochat;
pub mod process;
pub mod route;
pub mod stack;
pub mod toolchain;
pub mod wrangler;

pub use browser::Browser;
pub use dialect::Dialect;
pub use edge::{Answer, Edge};
pub use faultproxy::FaultProxy;
pub use host::HostSite;
pub use local::{LocalOptions, LocalServer};
pub use mochat::Mochat;
pub use process::{Service, free_port};
pub use stack::{Stack, at};
pub use wrangler::{WorkerOptions, WranglerDev};
