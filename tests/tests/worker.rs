//! The real edge worker under `wrangler dev` against the real local MoChat
//! server: round trip, token custody, access rules, upstream outages and a
//! full-length long poll. (The exact per-agent limit under a race is in
//! `faults_rate.rs`.)

use std::time::{Duration, Instant};

use mochat_api::Route;
use mochat_api::edge::{AGENTS_PATH, EDGE_PREFIX, HEALTH_PATH, SESSION_PATH};
use mochat_api::limits::{AGENT_HEADER, CLAW_TOKEN_HEADER};
use mochat_api::live::LIVE_PREFIX;
use mochat_api::ratelimit::{POLICY_HEADER, STATE_HEADER};
use mochat_api::requests::RegisterResponse;
use mochat_api::routes::API_PREFIX;
use mochat_tests::edge::{api_paths, forge_cookie, now_secs};
use mochat_tests::{Edge, LocalServer, Mochat, Stack, route};
use serde_json::{Value, json};

/// Registers an agent straight at the local server (another agent, not the
/// browser's): its id and a client acting as it.
async fn other_agent(local: &LocalServer, username: &str) -> (String, Mochat) {
    let anonymous = Mochat::new(local.base(), String::new());
    let reg: RegisterResponse = anonymous
        .call(
            Route::Register,
            Some(&json!({"name": "Other", "username": username})),
        )
        .await;
    (reg.bot_user_id, Mochat::new(local.base(), reg.claw_token))
}

#[tokio::test(flavor = "multi_thread")]
async fn round_trip_token_custody_and_access_rules() {
    let s = Stack::demo("worker-roundtrip", &[]);
    let mut edge = Edge::new(s.worker.origin());
    let operator_id = s
        .local
        .dev_var("DEFAULT_AGENT_ID")
        .expect("demo names the operator");

    // Signed out: every forwarded route is refused, whatever the cookie claims.
    let sessions = s.operator.sessions().await.sessions;
    let sid = sessions[0].session_id.clone();
    let group = s.operator.group().await;
    let pid = group.panels[0].panel_id.clone();
    let forged = forge_cookie("not-the-secret", now_secs() + 3600);
    let expired = forge_cookie(&s.options.session_secret, now_secs() - 10);
    for (method, path) in api_paths(&sid, &pid) {
        let body = (method.as_str() != "GET").then(|| json!({}));
        for cookie in [None, Some(forged.clone()), Some(expired.clone())] {
            let mut e = edge.clone();
            e.cookie = cookie.clone();
            let a = e.send(method.as_str(), &path, body.as_ref(), &[]).await;
            assert_eq!(
                a.status, 401,
                "{method} {path} with cookie {cookie:?}: {}",
                a.body
            );
            assert_eq!(a.error_code().as_deref(), Some("UNAUTHORIZED"));
        }
    }
    assert_eq!(edge.get(SESSION_PATH).await.status, 401);
    assert_eq!(edge.sign_in("wrong password").await, 401);
    assert_eq!(edge.sign_in(&s.options.password).await, 204);
    assert!(
        edge.get(SESSION_PATH).await.json()["signedIn"]
            .as_bool()
            .unwrap_or(false)
    );

    // A round trip: list, send, and a watch woken by another agent's send.
    let list = edge.call(&route::sessions(None), None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(
        list.header(POLICY_HEADER).as_deref(),
        Some("\"agent\";q=120;w=60")
    );
    assert!(
        list.header(STATE_HEADER)
            .is_some_and(|v| v.starts_with("\"agent\";r="))
    );
    let (other_id, other) = other_agent(&s.local, "other_agent").await;
    let created = edge
        .call(
            &Route::CreateSession,
            Some(&json!({"participants": [other_id.clone()], "title": "through the worker"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let new_sid = created.json()["sessionId"]
        .as_str()
        .expect("an id")
        .to_owned();
    assert_eq!(created.json()["createdBy"], operator_id.as_str());
    let sent = edge
        .call(
            &route::send(&new_sid),
            Some(&json!({"content": "hello via edge"})),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let detail = edge.call(&route::detail(&new_sid), None).await.json();
    let cursor = detail["cursor"].as_u64().expect("a cursor");
    let watcher = {
        let edge = edge.clone();
        let watch = route::watch(&new_sid, 20_000, Some(cursor));
        tokio::spawn(async move { edge.call(&watch, None).await })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    other.send(&new_sid, "woken by another agent").await;
    let woke = tokio::time::timeout(Duration::from_secs(15), watcher)
        .await
        .expect("the watch answers soon after the send")
        .expect("the watch task");
    assert_eq!(woke.status, 200, "{}", woke.body);
    let events = woke.json()["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(events.len(), 1, "{}", woke.body);
    assert_eq!(events[0]["payload"]["content"], "woken by another agent");

    // A client-sent X-Claw-Token is never forwarded: the worker acts as its own agent.
    let spoof = edge
        .call_with(
            &Route::CreateSession,
            Some(&json!({"participants": []})),
            &[(CLAW_TOKEN_HEADER, &other.token)],
        )
        .await;
    assert_eq!(spoof.status, 201, "{}", spoof.body);
    assert_eq!(spoof.json()["createdBy"], operator_id.as_str());

    // Cross-origin state changes are refused and change nothing upstream.
    let before = s.operator.all_messages(&new_sid).await.len();
    let evil = edge
        .call_with(
            &route::send(&new_sid),
            Some(&json!({"content": "csrf"})),
            &[("Origin", "http://evil.example")],
        )
        .await;
    assert_eq!(evil.status, 403, "{}", evil.body);
    assert_eq!(evil.error_code().as_deref(), Some("FORBIDDEN"));
    assert_eq!(s.operator.all_messages(&new_sid).await.len(), before);

    // Unknown paths and path tricks are 404; a wrong method is 405. (The
    // route helpers do not check ids: a bad one makes exactly the bad path.)
    let sessions = Route::CreateSession;
    for path in [
        // `/api/claw/`, the prefix of every call in both dialects.
        format!("{LIVE_PREFIX}unknown"),
        route::detail("a%2fb").api_target(),
        route::session("a%2Fb").api_target(),
        format!("{API_PREFIX}/{}", sessions.path()),
        sessions.api_target().replace("/sessions", "//sessions"),
        format!("{API_PREFIX}/http://127.0.0.1:1/x"),
        route::session("s/..%2f..%2fregister").api_target(),
        format!("{EDGE_PREFIX}unknown"),
    ] {
        let a = edge.get(&path).await;
        assert_eq!(a.status, 404, "{path}: {}", a.body);
        assert_eq!(a.error_code().as_deref(), Some("NOT_FOUND"), "{path}");
    }
    let put = edge
        .send("PUT", &sessions.api_target(), Some(&json!({})), &[])
        .await;
    assert_eq!(put.status, 405);
    assert_eq!(put.header("allow").as_deref(), Some("POST, GET"));

    // Registering through the worker: the token stays there, the agent is usable by id.
    let reg = edge
        .call(
            &Route::Register,
            Some(&json!({"name": "Edge Bot", "username": "edge_bot"})),
        )
        .await;
    assert_eq!(reg.status, 201, "{}", reg.body);
    let agent_id = reg.json()["agentId"]
        .as_str()
        .expect("an agent id")
        .to_owned();
    assert!(reg.header(STATE_HEADER).is_none());
    let agents = edge.get(AGENTS_PATH).await.json();
    let listed: Vec<&str> = agents["agents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["agentId"].as_str())
        .collect();
    assert!(
        listed.contains(&agent_id.as_str()) && listed.contains(&operator_id.as_str()),
        "{agents}"
    );
    let as_new = edge
        .call_with(&Route::WorkspaceGroup, None, &[(AGENT_HEADER, &agent_id)])
        .await;
    assert_eq!(as_new.status, 200, "{}", as_new.body);
    let unknown = edge
        .call_with(
            &route::sessions(None),
            None,
            &[(AGENT_HEADER, "agent_nobody")],
        )
        .await;
    assert_eq!(unknown.status, 404);

    // Sign out: the cookie is cleared and the API refuses again.
    let out = edge.send("DELETE", SESSION_PATH, None, &[]).await;
    assert_eq!(out.status, 204);
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("mochat_session=;") || c.contains("Max-Age=0"))
    );

    // Nothing the browser side received in this whole test held a claw token.
    assert!(edge.received() > 60);
    let leaks = edge.received_containing("claw_");
    assert!(leaks.is_empty(), "claw_ reached the browser: {leaks:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn long_watches_hold_and_outages_are_502() {
    let mut s = Stack::demo("worker-outage", &[]);
    let mut edge = Edge::new(s.worker.origin());
    assert_eq!(edge.sign_in(&s.options.password).await, 204);
    let sid = s.operator.sessions().await.sessions[0].session_id.clone();
    let detail = edge.call(&route::detail(&sid), None).await;
    let cursor = detail.json()["cursor"].as_u64().expect("a cursor");

    // A full 25-second long poll is held (by the agent's hub) and answered empty.
    let started = Instant::now();
    let watch = edge
        .call(&route::watch(&sid, 25_000, Some(cursor)), None)
        .await;
    let held = started.elapsed();
    assert_eq!(watch.status, 200, "{}", watch.body);
    assert!(held >= Duration::from_millis(24_900), "held only {held:?}");
    let body: Value = watch.json();
    assert_eq!(body["events"], json!([]));
    assert_eq!(body["cursor"].as_u64(), Some(cursor));

    // Upstream gone: 502 in the envelope; health says so.
    s.local.stop();
    let down = edge.call(&route::sessions(None), None).await;
    assert_eq!(down.status, 502, "{}", down.body);
    assert_eq!(down.error_code().as_deref(), Some("UPSTREAM_UNAVAILABLE"));
    assert!(
        !down.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );
    let health = edge.get(HEALTH_PATH).await.json();
    assert_eq!(
        (&health["ok"], &health["upstream"]),
        (&json!(false), &json!("unreachable"))
    );
    assert!(
        health["reason"]
            .as_str()
            .is_some_and(|r| r.contains("UPSTREAM_URL")),
        "{health}"
    );

    // Back: the worker recovers by itself.
    s.local.restart().expect("the local server restarts");
    let up = edge.call(&route::sessions(None), None).await;
    assert_eq!(up.status, 200, "{}", up.body);
    // Health is kept a few seconds (a public route must not make the worker
    // call the upstream at will): it says reachable again within them.
    let mut health = Value::Null;
    for _ in 0..20 {
        health = edge.get(HEALTH_PATH).await.json();
        if health["ok"] == json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(health, json!({"ok": true, "upstream": "reachable"}));
    assert!(edge.received_containing("claw_").is_empty());
}
