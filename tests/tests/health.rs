//! `GET /edge/health` tells an operator what is wrong with the upstream, and
//! how to fix it: the real worker under `wrangler dev` pointed at the local
//! server speaking one dialect or the other, with a good or a bad token, at a
//! web site that is no MoChat API, and at a port where nothing listens.
//!
//! Every case names both dialects itself, so these tests run once (the
//! second, live-dialect run of `cargo xtask test` skips `upstream_health_`).

use mochat_api::edge::{HEALTH_PATH, Health, UpstreamState};
use mochat_tests::toolchain::scratch_dir;
use mochat_tests::{Edge, HostSite, LocalOptions, LocalServer, WorkerOptions, WranglerDev};

/// The local demo server speaking only `dialect`.
fn local(name: &str, dialect: &'static str) -> (LocalServer, std::path::PathBuf) {
    let dir = scratch_dir(name);
    let local = LocalServer::start(LocalOptions {
        demo: true,
        dialect,
        ..LocalOptions::in_dir(&dir)
    })
    .expect("the local MoChat server starts");
    (local, dir)
}

/// What the worker says of `upstream` when told it speaks `dialect` and
/// given `token` as the default agent's.
async fn health_of(
    upstream: String,
    dialect: &str,
    token: String,
    dir: &std::path::Path,
) -> Health {
    let mut options = WorkerOptions::for_test(upstream, token, dir);
    options.vars.retain(|(name, _)| name != "UPSTREAM_DIALECT");
    options
        .vars
        .push(("UPSTREAM_DIALECT".to_owned(), dialect.to_owned()));
    let worker = WranglerDev::start(&options).expect("wrangler dev starts");
    let answer = Edge::new(worker.origin()).get(HEALTH_PATH).await;
    assert_eq!(answer.status, 200, "health answers 200: {}", answer.body);
    serde_json::from_value(answer.json())
        .unwrap_or_else(|e| panic!("health is a Health ({e}): {}", answer.body))
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_health_reachable_in_the_dialect_the_upstream_speaks() {
    for dialect in ["rest", "live"] {
        let (local, dir) = local(&format!("health-ok-{dialect}"), dialect);
        let token = local.demo_token().expect("--demo writes a token");
        let health = health_of(local.base(), dialect, token, &dir).await;
        assert_eq!(
            health,
            Health {
                ok: true,
                upstream: UpstreamState::Reachable,
                reason: None
            },
            "{dialect} upstream, {dialect} worker"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_health_names_the_dialect_to_set_when_the_worker_speaks_the_other() {
    for (spoken, configured) in [("rest", "live"), ("live", "rest")] {
        let (local, dir) = local(&format!("health-dialect-{spoken}"), spoken);
        let token = local.demo_token().expect("--demo writes a token");
        let health = health_of(local.base(), configured, token, &dir).await;
        assert!(
            !health.ok,
            "{spoken} upstream, {configured} worker: {health:?}"
        );
        assert_eq!(health.upstream, UpstreamState::WrongDialect, "{health:?}");
        let reason = health.reason.unwrap_or_default();
        assert!(
            reason.contains(&format!("UPSTREAM_DIALECT = \"{spoken}\"")),
            "the reason says what to set: {reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_health_says_the_token_is_refused_and_never_shows_it() {
    for dialect in ["rest", "live"] {
        let (local, dir) = local(&format!("health-token-{dialect}"), dialect);
        let wrong = "claw_thisTokenWasNeverIssued0123456789".to_owned();
        let health = health_of(local.base(), dialect, wrong.clone(), &dir).await;
        assert!(!health.ok, "{dialect}: {health:?}");
        assert_eq!(health.upstream, UpstreamState::TokenRefused, "{health:?}");
        let reason = health.reason.unwrap_or_default();
        assert!(
            reason.contains("CLAW_TOKEN"),
            "the reason names the secret: {reason}"
        );
        assert!(
            !reason.contains(&wrong),
            "the reason never shows the token: {reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_health_tells_a_web_site_from_a_mochat_api_and_nothing_from_both() {
    let dir = scratch_dir("health-elsewhere");
    let site = HostSite::start(
        "<!doctype html><title>Not an API</title><p>Hello".to_owned(),
        "default-src 'none'".to_owned(),
    )
    .expect("the web site starts");
    let health = health_of(
        format!("{}/api", site.origin()),
        "rest",
        "claw_any".to_owned(),
        &dir,
    )
    .await;
    assert!(!health.ok, "a web site: {health:?}");
    assert_eq!(health.upstream, UpstreamState::WrongDialect, "{health:?}");
    let reason = health.reason.unwrap_or_default();
    assert!(
        reason.contains("/api"),
        "the reason says what the URL ends in: {reason}"
    );

    // Nothing listens on a port just found free.
    let port = mochat_tests::free_port();
    let health = health_of(
        format!("http://127.0.0.1:{port}/api"),
        "live",
        "claw_any".to_owned(),
        &dir,
    )
    .await;
    assert!(!health.ok, "nothing listens: {health:?}");
    assert_eq!(health.upstream, UpstreamState::Unreachable, "{health:?}");
    let reason = health.reason.unwrap_or_default();
    assert!(
        reason.contains("UPSTREAM_URL"),
        "the reason names the setting: {reason}"
    );
}
