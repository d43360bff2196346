//! The per-agent budget: headers, counting rules, 429 and recovery.

mod common;

use std::time::Duration;

use common::{memory_config, route, start};
use mochat_api::Route;
use mochat_api::ratelimit::{POLICY_HEADER, RETRY_AFTER_HEADER, STATE_HEADER};
use mochat_local::Config;
use reqwest::Method;
use serde_json::json;

fn limited(limit: u32, window: Duration) -> Config {
    Config {
        rate_limit: Some(limit),
        rate_window: window,
        ..memory_config()
    }
}

#[tokio::test]
async fn every_agent_response_carries_the_headers() {
    let (server, api) = start(Config {
        rate_limit: Some(120),
        ..memory_config()
    })
    .await;
    let a = api.register("A").await;
    let first = api.get(route::sessions(None, None), &a.token).await;
    assert_eq!(first.header(POLICY_HEADER), Some("\"agent\";q=120;w=60"));
    assert_eq!(first.header(STATE_HEADER), Some("\"agent\";r=119;t=60"));
    let error = api.get(route::session("session_missing"), &a.token).await;
    error.assert_error(404, "NOT_FOUND");
    assert_eq!(error.header(STATE_HEADER), Some("\"agent\";r=118;t=60"));
    // Unauthenticated answers carry no agent budget.
    let anonymous = api
        .raw(Method::GET, route::sessions(None, None), None, None)
        .await;
    assert!(anonymous.header(STATE_HEADER).is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn counting_rules() {
    let (server, api) = start(limited(3, Duration::from_secs(60))).await;
    let (a, b) = (api.register("A").await, api.register("B").await);
    // A 400 and a 404 count; a 401 and a 429 do not.
    api.get(route::sessions(Some(0), None), &a.token)
        .await
        .assert_error(400, "BAD_REQUEST");
    api.raw(
        Method::GET,
        route::sessions(None, None),
        Some("claw_unknownunknownunknown"),
        None,
    )
    .await
    .assert_error(401, "UNAUTHORIZED");
    api.get(route::session("session_missing"), &a.token)
        .await
        .assert_error(404, "NOT_FOUND");
    let last = api.get(route::sessions(None, None), &a.token).await;
    assert_eq!(last.status, 200);
    assert_eq!(last.header(POLICY_HEADER), Some("\"agent\";q=3;w=60"));
    assert!(
        last.header(STATE_HEADER)
            .is_some_and(|v| v.starts_with("\"agent\";r=0;t="))
    );
    for _ in 0..3 {
        let refused = api.get(route::sessions(None, None), &a.token).await;
        refused.assert_error(429, "RATE_LIMITED");
        let retry: u64 = refused
            .header(RETRY_AFTER_HEADER)
            .and_then(|v| v.parse().ok())
            .expect("Retry-After");
        assert!((1..=60).contains(&retry));
        assert_eq!(
            refused.header(STATE_HEADER),
            Some(format!("\"agent\";r=0;t={retry}").as_str())
        );
    }
    // Rate limit comes before malformed input, and budgets are per agent.
    api.post(Route::CreateSession, &a.token, json!({"participants": 5}))
        .await
        .assert_error(429, "RATE_LIMITED");
    assert_eq!(
        api.get(route::sessions(None, None), &b.token).await.status,
        200
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_121st_request_is_refused_until_the_window_frees() {
    let window = Duration::from_secs(3);
    let (server, api) = start(limited(120, window)).await;
    let a = api.register("A").await;
    let started = tokio::time::Instant::now();
    let answers =
        futures::future::join_all((0..120).map(|_| api.get(Route::WorkspaceGroup, &a.token))).await;
    assert!(answers.iter().all(|r| r.status == 200), "120 pass");
    let refused = api.get(Route::WorkspaceGroup, &a.token).await;
    // Every one of the 120 was admitted before this point.
    let burst_done = tokio::time::Instant::now();
    assert!(
        started.elapsed() < window,
        "the burst must fit in the window for this test"
    );
    refused.assert_error(429, "RATE_LIMITED");
    assert!(
        refused
            .header(RETRY_AFTER_HEADER)
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1))
    );
    tokio::time::sleep_until(burst_done + window + Duration::from_millis(200)).await;
    let recovered = api.get(Route::WorkspaceGroup, &a.token).await;
    assert_eq!(recovered.status, 200);
    assert_eq!(recovered.header(STATE_HEADER), Some("\"agent\";r=119;t=3"));
    server.shutdown().await;
}
