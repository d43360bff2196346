//! Faults and abuse, rate limit under race: three agents, 200 concurrent
//! requests each through the worker: exactly 120 admitted per agent. Then
//! the dashboard switches to one of the spent agents: it shows the
//! countdown and recovers by itself when the window frees.

use std::time::{Duration, Instant};

use mochat_api::Route;
use mochat_api::edge::HEALTH_PATH;
use mochat_api::limits::AGENT_HEADER;
use mochat_api::ratelimit::RETRY_AFTER_HEADER;
use mochat_tests::faults::{Row, record};
use mochat_tests::{Browser, Edge, Stack, at, route};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn three_agents_racing_get_exactly_120_each_and_the_dashboard_recovers() {
    // A 20-second window keeps the test short; the arithmetic is the same as at 60.
    let s = Stack::demo("faults-rate", &[("RATE_WINDOW_SECS", "20")]);
    let mut edge = Edge::new(s.origin());
    assert_eq!(edge.sign_in(&s.options.password).await, 204);
    let mut agents = Vec::new();
    for name in ["racer_one", "racer_two", "racer_three"] {
        let reg = edge
            .call(
                &Route::Register,
                Some(&json!({"name": name.replace('_', " "), "username": name})),
            )
            .await;
        assert_eq!(reg.status, 201, "{}", reg.body);
        agents.push(reg.json()["agentId"].as_str().expect("an id").to_owned());
    }

    let started = Instant::now();
    let burst = agents.iter().flat_map(|agent| {
        let edge = edge.clone();
        (0..200).map(move |_| {
            let (edge, agent) = (edge.clone(), agent.clone());
            tokio::spawn(async move {
                let a = edge
                    .call_with(&route::sessions(Some(1)), None, &[(AGENT_HEADER, &agent)])
                    .await;
                (agent, a)
            })
        })
    });
    // `wrangler dev` answers through a proxy of its own that parks a GET
    // whose forwarding failed (under this burst, a few do) until the next
    // request reaches it: with no request after the burst, those would wait
    // forever. A health check every half second, which spends no agent's
    // budget, makes the proxy send them on. (Cloudflare has no such proxy.)
    let nudges = {
        let edge = edge.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                edge.get(HEALTH_PATH).await;
            }
        })
    };
    let answers: Vec<_> = futures::future::join_all(burst)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    nudges.abort();
    let took = started.elapsed();
    let hung = answers.iter().filter(|(_, a)| a.status == 0).count() as u64;
    assert_eq!(
        hung,
        0,
        "{hung} of the burst's requests were not answered within {:?}",
        mochat_tests::edge::ANSWER_WITHIN
    );
    assert!(
        took < Duration::from_secs(18),
        "the burst took {took:?}, too long to judge one window"
    );
    let mut server_errors = 0u64;
    let mut admitted_each = Vec::new();
    for agent in &agents {
        let mine: Vec<_> = answers
            .iter()
            .filter(|(a, _)| a == agent)
            .map(|(_, x)| x)
            .collect();
        let ok = mine.iter().filter(|a| a.status == 200).count();
        let limited = mine.iter().filter(|a| a.status == 429).count();
        server_errors += mine.iter().filter(|a| a.status >= 500).count() as u64;
        admitted_each.push(ok);
        assert_eq!((ok, limited), (120, 80), "agent {agent}");
        for a in mine.iter().filter(|a| a.status == 429) {
            assert_eq!(a.error_code().as_deref(), Some("RATE_LIMITED"));
            assert!(a.header(RETRY_AFTER_HEADER).is_some());
        }
    }

    // The dashboard, acting as a spent agent: countdown, then back by itself.
    let b = Browser::start(1280, 860, false).await.expect("Chromium");
    let outcome = async {
        b.sign_in(&s.browser_origin(), &s.options.password).await?;
        let picker = b
            .wait_for("[data-testid=agent-picker]")
            .await
            .map_err(at("picker"))?;
        picker
            .select_by_value(&agents[0])
            .await
            .map_err(at("pick a spent agent"))?;
        let banner = b
            .wait_for("[data-testid=rate-banner]")
            .await
            .map_err(at("the countdown shows"))?;
        let text = banner.text().await.map_err(at("banner text"))?;
        assert!(text.contains("Sending resumes in"), "{text}");
        b.screenshot("faults-rate-countdown")
            .await
            .map_err(at("screenshot"))?;
        // No clicks from here on: the page must come back by itself.
        b.wait_js(
            "!document.querySelector('[data-testid=rate-banner]') && \
             document.querySelector('[data-testid=empty], [data-testid=session-list]') && \
             !document.querySelector('.sidebar [data-testid=error]')",
        )
        .await
        .map_err(at("the dashboard recovers by itself"))?;
        let status = b
            .attrs("[data-testid=status]", "data-state")
            .await
            .map_err(at("status"))?;
        Ok::<(String, Vec<String>), String>((text, status))
    }
    .await;
    if outcome.is_err() {
        let _ = b.screenshot("faults-rate-failure").await;
    }
    b.close().await;
    let (countdown, status) = outcome.unwrap_or_else(|e| panic!("{e}"));
    let leaked = edge.received_containing("claw_").len() as u64;
    record(&Row {
        case: "rate limit: 3 agents × 200 concurrent requests".into(),
        attempts: 600,
        lost: 0,
        duplicated: 0,
        leaked,
        server_errors,
        hung,
        note: format!(
            "admitted {admitted_each:?} in {:.1} s; the dashboard showed \"{countdown}\" and recovered by itself (status {status:?})",
            took.as_secs_f64()
        ),
    });
    assert_eq!(leaked, 0);
    assert_eq!(server_errors, 0);
}
