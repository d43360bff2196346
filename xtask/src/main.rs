//! `cargo xtask <command>`: the project's commands, so a fresh machine needs
//! nothing but Rust and Node to run and test the whole product.
//!
//! - `dev`: install what is missing, build the dashboard, start the local
//!   MoChat server with its demo workspace and `wrangler dev`, print the URL
//!   and the password; Ctrl-C stops everything.
//! - `test`: install what is missing, then formatting, clippy, native tests,
//!   browser tests and the end-to-end tests on loopback.
//! - `setup`: only install what is missing.
//! - `build`: only build the dashboard and the worker (release); `build
//!   client` or `build worker` builds only that one.
//! - `deploy [--dry-run] [--var NAME:VALUE]…`: build for release and
//!   `wrangler deploy` (checked first), or only bundle and size-check it.
//! - `bench`: build for release, run the stack on loopback, measure, and
//!   write `BENCHMARKS.md` and `bench/results.json`.

mod bench;
mod build;
mod deploy;
mod dev;
mod run;
mod test;
mod tools;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <dev|test|setup|build|deploy|bench>

  dev     run the product: local MoChat server (demo data) + worker + dashboard
  test    run every check and test (formatting, clippy, unit, browser, end-to-end)
  setup   install the pinned tools that are missing (idempotent)
  build   build the dashboard and the worker for release (`build client`,
          `build worker`: only that one)
  deploy  build for release and `wrangler deploy` after checking secrets and vars
          (`--dry-run`: bundle into test-output/deploy and check its size;
          `--var NAME:VALUE`: e.g. --var UPSTREAM_URL:https://mochat.io/api)
  bench   build for release, measure on loopback, write BENCHMARKS.md";

fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_default();
    let result = match command.as_str() {
        "dev" => dev::run(),
        "test" => test::run(),
        "setup" => tools::install_all(),
        "build" => tools::install_all().and_then(|()| match std::env::args().nth(2).as_deref() {
            Some("client") => build::client(),
            Some("worker") => build::worker(),
            _ => build::all(),
        }),
        "deploy" => tools::install(false).and_then(|()| deploy::run()),
        "bench" => bench::run(),
        // The measuring half of `bench`, started by it after the builds.
        "bench-measure" => bench::measure(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("\nxtask {command}: {err}");
            ExitCode::FAILURE
        }
    }
}
