//! The two dialects together: one store seen through both, `--dialect` refusing
//! the other dialect, the shared long poll, the shared per-agent budget,
//! `updatedAfter` polling and the order in which errors win.

mod common;

use std::time::Duration;

use common::{Agent, Api, live_path, memory_config, route, start};
use mochat_api::Route;
use mochat_api::live::{LiveCall, LiveEvent, WatchData};
use mochat_api::ratelimit::{POLICY_HEADER, RETRY_AFTER_HEADER, STATE_HEADER};
use mochat_local::{Config, Dialects};
use reqwest::Method;
use serde_json::{Value, json};

async fn live_session(api: &Api, owner: &Agent, others: &[&Agent], title: &str) -> String {
    let participants: Vec<Value> = others
        .iter()
        .map(|a| json!({"type": "agent", "id": a.id}))
        .collect();
    let resp = api
        .live(
            LiveCall::SessionsCreate,
            &owner.token,
            json!({"participants": participants, "metadata": {"title": title}}),
        )
        .await;
    resp.data()["sessionId"].as_str().expect("id").to_owned()
}

fn watch_data(resp: &common::Resp) -> WatchData {
    serde_json::from_value(resp.data().clone()).expect("a watch answer")
}

fn contents(events: &[LiveEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e.message().map(|m| m.content))
        .collect()
}

#[tokio::test]
async fn one_store_seen_through_both_dialects() {
    let (server, api) = start(memory_config()).await;
    let live_agent = api.live_register("Live").await;
    let rest_agent = api.register("Rest").await;

    // Created live: listed, read, watched and answered through REST.
    let from_live = live_session(&api, &live_agent, &[&rest_agent], "Made live").await;
    let list = api
        .get(route::sessions(None, None), &rest_agent.token)
        .await;
    let listed = &list.body["sessions"][0];
    assert_eq!(listed["sessionId"], json!(from_live));
    assert_eq!(listed["title"], json!("Made live"));
    assert_eq!(listed["createdBy"], json!(live_agent.id));
    api.live(
        LiveCall::SessionsSend,
        &live_agent.token,
        json!({"sessionId": from_live, "content": "from live"}),
    )
    .await
    .data();
    let watched = api
        .get(
            route::watch(&from_live, Some(0), Some(0)),
            &rest_agent.token,
        )
        .await;
    assert_eq!(
        watched.body["events"][0]["payload"]["content"],
        json!("from live")
    );
    api.send(&rest_agent, &from_live, "from rest").await;
    let page = api
        .live(
            LiveCall::SessionsMessages,
            &live_agent.token,
            json!({"sessionId": from_live}),
        )
        .await;
    let texts: Vec<&str> = page.data()["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(texts, ["from rest", "from live"]);

    // Created through REST: listed, watched and answered live.
    let from_rest = api.session(&rest_agent, &[&live_agent], "Made rest").await;
    let sessions = api
        .live(LiveCall::SessionsList, &live_agent.token, json!({}))
        .await;
    let first = &sessions.data()["sessions"][0];
    assert_eq!(
        first["sessionId"],
        json!(from_rest),
        "newest activity first"
    );
    assert_eq!(first["metadata"], json!({"title": "Made rest"}));
    assert_eq!(first["converseId"], json!(from_rest));
    assert_eq!(first["status"], json!("active"));
    api.send(&rest_agent, &from_rest, "hello live").await;
    let w = watch_data(
        &api.live(
            LiveCall::SessionsWatch,
            &live_agent.token,
            json!({"sessionId": from_rest, "cursor": 0, "timeoutMs": 0}),
        )
        .await,
    );
    assert_eq!(contents(&w.events), ["hello live"]);
    let sent = api
        .live(
            LiveCall::SessionsSend,
            &live_agent.token,
            json!({"sessionId": from_rest, "content": "hello rest"}),
        )
        .await;
    let message_id = sent.data()["message"]["messageId"].clone();
    let all = api.all_messages(&rest_agent, &from_rest, 50).await;
    assert_eq!(all.last().map(|m| &m["messageId"]), Some(&message_id));
    // Closed through REST, closed live.
    api.post(route::close(&from_rest), &rest_agent.token, json!({}))
        .await;
    let got = api
        .live(
            LiveCall::SessionsGet,
            &live_agent.token,
            json!({"sessionId": from_rest}),
        )
        .await;
    assert_eq!(got.data()["status"], json!("closed"));
    server.shutdown().await;
}

#[tokio::test]
async fn the_live_watch_waits_wakes_and_times_out() {
    let (server, api) = start(memory_config()).await;
    let (a, b) = (api.live_register("A").await, api.live_register("B").await);
    let sid = live_session(&api, &a, &[&b], "w").await;
    api.live(
        LiveCall::SessionsSend,
        &a.token,
        json!({"sessionId": sid, "content": "first"}),
    )
    .await
    .data();

    // Behind: at once, with the live message shape.
    let behind = api
        .live(
            LiveCall::SessionsWatch,
            &b.token,
            json!({"sessionId": sid, "cursor": 0}),
        )
        .await;
    let w = watch_data(&behind);
    assert_eq!((w.session_id.as_str(), w.cursor), (sid.as_str(), 1));
    let event = &behind.data()["events"][0];
    assert_eq!(event["type"], json!("message.add"));
    assert_eq!(event["seq"], json!(1));
    assert_eq!(event["sessionId"], json!(sid));
    let payload = &event["payload"];
    assert_eq!(payload["converseId"], json!(sid));
    assert_eq!(payload["authorInfo"]["nickname"], json!("A"));
    assert_eq!(payload["authorInfo"]["type"], json!("agent"));
    assert!(payload.get("sessionId").is_none() && payload["messageId"].is_string());

    // Waiting: woken by another agent's send (live here, REST below).
    for (round, through_rest) in [(2, false), (3, true)] {
        let waiting = {
            let (api, token, sid) = (api.clone(), b.token.clone(), sid.clone());
            tokio::spawn(async move {
                api.live(
                    LiveCall::SessionsWatch,
                    &token,
                    json!({"sessionId": sid, "cursor": round - 1, "timeoutMs": 20000}),
                )
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "nothing new yet");
        let text = format!("round {round}");
        if through_rest {
            api.send(&a, &sid, &text).await;
        } else {
            api.live(
                LiveCall::SessionsSend,
                &a.token,
                json!({"sessionId": sid, "content": text}),
            )
            .await
            .data();
        }
        let woken = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("woken before its timeout")
            .expect("joins");
        let w = watch_data(&woken);
        assert_eq!((w.cursor, contents(&w.events)), (round, vec![text]));
    }

    // Idle: empty after timeoutMs, the cursor unchanged.
    let started = tokio::time::Instant::now();
    let idle = api
        .live(
            LiveCall::SessionsWatch,
            &b.token,
            json!({"sessionId": sid, "cursor": 3, "timeoutMs": 300, "limit": 10}),
        )
        .await;
    let waited = started.elapsed();
    let w = watch_data(&idle);
    assert_eq!((w.cursor, w.events.len()), (3, 0));
    assert_eq!(w.session_id, sid);
    assert!(waited >= Duration::from_millis(280), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    // Closing shows as a session.update in the live session shape.
    api.live(LiveCall::SessionsClose, &a.token, json!({"sessionId": sid}))
        .await
        .data();
    let update = watch_data(
        &api.live(
            LiveCall::SessionsWatch,
            &b.token,
            json!({"sessionId": sid, "cursor": 3}),
        )
        .await,
    );
    let session = update.events[0].session().expect("a live session");
    assert_eq!(session.status.as_str(), "closed");
    assert_eq!(session.title(), "w");

    for bad in [
        json!({"sessionId": sid, "timeoutMs": 60001}),
        json!({"sessionId": sid, "limit": 0}),
        json!({"sessionId": sid, "limit": 1001}),
        json!({"sessionId": sid, "cursor": -1}),
        json!({"sessionId": sid, "cursor": u64::MAX}),
        json!({"sessionId": sid, "cursor": "3"}),
        json!({"cursor": 0}),
    ] {
        api.live(LiveCall::SessionsWatch, &b.token, bad)
            .await
            .assert_live_error(400, "BAD_REQUEST");
    }
    let outsider = api.live_register("Out").await;
    api.live(
        LiveCall::SessionsWatch,
        &outsider.token,
        json!({"sessionId": sid, "timeoutMs": 0}),
    )
    .await
    .assert_live_error(403, "FORBIDDEN");
    api.live(
        LiveCall::SessionsWatch,
        &b.token,
        json!({"sessionId": "session_missing"}),
    )
    .await
    .assert_live_error(404, "NOT_FOUND");
    server.shutdown().await;
}

#[tokio::test]
async fn updated_after_is_exact_to_the_millisecond() {
    let (server, api) = start(memory_config()).await;
    let a = api.live_register("A").await;
    let mut updated: Vec<(String, String)> = Vec::new();
    for title in ["one", "two", "three"] {
        let sid = live_session(&api, &a, &[], title).await;
        let got = api
            .live(LiveCall::SessionsGet, &a.token, json!({"sessionId": sid}))
            .await;
        updated.push((
            sid,
            got.data()["updatedAt"]
                .as_str()
                .expect("updatedAt")
                .to_owned(),
        ));
    }
    let ids = |resp: &common::Resp| -> Vec<String> {
        resp.data()["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .map(|s| s["sessionId"].as_str().expect("id").to_owned())
            .collect()
    };
    let list = |body: Value| {
        let (api, token) = (api.clone(), a.token.clone());
        async move { api.live(LiveCall::SessionsList, &token, body).await }
    };
    let all = list(json!({})).await;
    assert_eq!(
        ids(&all),
        [
            updated[2].0.clone(),
            updated[1].0.clone(),
            updated[0].0.clone()
        ],
        "newest activity first"
    );
    // Strictly after: the session updated at that very millisecond is left out.
    let after_first = list(json!({"updatedAfter": updated[0].1})).await;
    assert_eq!(
        ids(&after_first),
        [updated[2].0.clone(), updated[1].0.clone()]
    );
    let after_last = list(json!({"updatedAfter": updated[2].1})).await;
    assert!(ids(&after_last).is_empty());
    // The same instant written with an offset still leaves it out; one
    // millisecond earlier takes it in.
    let offset = format!("{}+00:00", &updated[2].1[..23]);
    assert!(ids(&list(json!({"updatedAfter": offset})).await).is_empty());
    let ms = updated[2].1[20..23].parse::<u32>().expect("millis");
    let earlier = if ms > 0 {
        format!("{}{:03}Z", &updated[2].1[..20], ms - 1)
    } else {
        updated[1].1.clone()
    };
    assert_eq!(
        ids(&list(json!({"updatedAfter": earlier})).await)[0],
        updated[2].0
    );
    // Activity moves a session to the front and past the filter again.
    api.live(
        LiveCall::SessionsSend,
        &a.token,
        json!({"sessionId": updated[0].0, "content": "bump"}),
    )
    .await
    .data();
    let bumped = list(json!({"updatedAfter": updated[2].1})).await;
    assert_eq!(ids(&bumped), [updated[0].0.clone()]);
    assert!(bumped.data()["sessions"][0]["updatedAt"].as_str() > Some(updated[2].1.as_str()));
    assert_eq!(
        ids(&list(json!({"limit": 1})).await),
        [updated[0].0.clone()]
    );
    assert_eq!(ids(&list(json!({"limit": 500})).await).len(), 3);
    for bad in [
        json!({"updatedAfter": "yesterday"}),
        json!({"updatedAfter": ""}),
        json!({"updatedAfter": "2026-02-30T00:00:00Z"}),
        json!({"updatedAfter": 1_700_000_000_000u64}),
        json!({"limit": 0}),
        json!({"limit": 501}),
    ] {
        list(bad).await.assert_live_error(400, "BAD_REQUEST");
    }
    let empty_body = api
        .raw(Method::POST, LiveCall::SessionsList, Some(&a.token), None)
        .await;
    assert_eq!(ids(&empty_body).len(), 3, "no body is {{}}");
    server.shutdown().await;
}

#[tokio::test]
async fn dialect_rest_refuses_live_paths() {
    let (server, api) = start(Config {
        dialects: Dialects::Rest,
        ..memory_config()
    })
    .await;
    let a = api.register("A").await;
    for call in [
        LiveCall::SessionsList,
        LiveCall::SessionsCreate,
        LiveCall::GroupsGet,
        LiveCall::SessionsWatch,
    ] {
        api.live(call, &a.token, json!({}))
            .await
            .assert_error(404, "NOT_FOUND");
    }
    api.raw(
        Method::POST,
        LiveCall::AgentsSelfRegister,
        None,
        Some(b"{}".to_vec()),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    // agents/bind is the reference's call here, greeting_msg or not.
    let bind = api
        .post(
            Route::BindAgent,
            &a.token,
            json!({"email": "ada@example.com", "greeting_msg": "Hi"}),
        )
        .await;
    assert_eq!(bind.status, 200);
    assert_eq!(bind.body["success"], json!(true));
    assert!(bind.body.get("data").is_none());
    assert_eq!(
        api.get(route::sessions(None, None), &a.token).await.status,
        200
    );
    server.shutdown().await;
}

#[tokio::test]
async fn dialect_live_refuses_rest_paths() {
    let (server, api) = start(Config {
        dialects: Dialects::Live,
        ..memory_config()
    })
    .await;
    let a = api.live_register("A").await;
    api.get(route::sessions(None, None), &a.token)
        .await
        .assert_live_error(404, "NOT_FOUND");
    api.get(Route::WorkspaceGroup, &a.token)
        .await
        .assert_live_error(404, "NOT_FOUND");
    api.raw(
        Method::POST,
        Route::Register,
        None,
        Some(
            json!({"name": "x", "username": "x"})
                .to_string()
                .into_bytes(),
        ),
    )
    .await
    .assert_live_error(404, "NOT_FOUND");
    api.get("/nothing/here", &a.token)
        .await
        .assert_live_error(404, "NOT_FOUND");
    let wrong = api.get(LiveCall::SessionsList.base_path(), &a.token).await;
    wrong.assert_live_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(wrong.header("allow"), Some("POST"));
    // agents/bind is the live call here: greeting_msg is required.
    api.post(
        LiveCall::AgentsBind,
        &a.token,
        json!({"email": "ada@example.com"}),
    )
    .await
    .assert_live_error(400, "BAD_REQUEST");
    let health = api.raw(Method::GET, "/health", None, None).await;
    assert_eq!(
        (health.status, health.body.clone()),
        (200, json!({"ok": true}))
    );
    assert_eq!(
        api.live(LiveCall::SessionsList, &a.token, json!({}))
            .await
            .status,
        200
    );
    server.shutdown().await;
}

#[tokio::test]
async fn both_dialects_share_one_budget() {
    let (server, api) = start(Config {
        rate_limit: Some(4),
        ..memory_config()
    })
    .await;
    let (a, b) = (api.live_register("A").await, api.live_register("B").await);
    let first = api.live(LiveCall::SessionsList, &a.token, json!({})).await;
    assert_eq!(first.header(POLICY_HEADER), Some("\"agent\";q=4;w=60"));
    assert_eq!(first.header(STATE_HEADER), Some("\"agent\";r=3;t=60"));
    assert_eq!(
        api.get(route::sessions(None, None), &a.token)
            .await
            .header(STATE_HEADER),
        Some("\"agent\";r=2;t=60")
    );
    // A live 400 counts, as in REST.
    let bad = api
        .live(LiveCall::SessionsList, &a.token, json!({"limit": 0}))
        .await;
    bad.assert_live_error(400, "BAD_REQUEST");
    assert_eq!(bad.header(STATE_HEADER), Some("\"agent\";r=1;t=60"));
    assert_eq!(api.get(Route::WorkspaceGroup, &a.token).await.status, 200);

    let refused = api.live(LiveCall::SessionsList, &a.token, json!({})).await;
    refused.assert_live_error(429, "RATE_LIMITED");
    let retry: u64 = refused
        .header(RETRY_AFTER_HEADER)
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry));
    assert_eq!(
        refused.header(STATE_HEADER),
        Some(format!("\"agent\";r=0;t={retry}").as_str())
    );
    assert_eq!(refused.header(POLICY_HEADER), Some("\"agent\";q=4;w=60"));
    api.get(route::sessions(None, None), &a.token)
        .await
        .assert_error(429, "RATE_LIMITED");
    // The limit comes before malformed input; registration is not counted; budgets are per agent.
    api.live(
        LiveCall::SessionsCreate,
        &a.token,
        json!({"participants": 5}),
    )
    .await
    .assert_live_error(429, "RATE_LIMITED");
    assert_eq!(
        api.raw(Method::POST, LiveCall::AgentsSelfRegister, None, None)
            .await
            .status,
        200
    );
    assert_eq!(
        api.live(LiveCall::SessionsList, &b.token, json!({}))
            .await
            .status,
        200
    );
    server.shutdown().await;
}

#[tokio::test]
async fn errors_win_in_the_contract_order() {
    let (server, api) = start(memory_config()).await;
    let (a, b, outsider) = (
        api.live_register("A").await,
        api.live_register("B").await,
        api.live_register("Out").await,
    );
    let sid = live_session(&api, &a, &[&b], "order").await;
    // 405 before 413 before 401.
    let huge = vec![b'x'; 64 * 1024 + 1];
    let wrong = api
        .raw(
            Method::PUT,
            LiveCall::SessionsSend.base_path(),
            None,
            Some(huge.clone()),
        )
        .await;
    wrong.assert_live_error(405, "METHOD_NOT_ALLOWED");
    api.raw(Method::POST, LiveCall::SessionsSend, None, Some(huge))
        .await
        .assert_live_error(413, "PAYLOAD_TOO_LARGE");
    // 401 before 400.
    api.raw(
        Method::POST,
        LiveCall::SessionsSend,
        None,
        Some(b"{".to_vec()),
    )
    .await
    .assert_live_error(401, "UNAUTHORIZED");
    api.raw(
        Method::POST,
        LiveCall::SessionsSend,
        Some("claw_unknownunknownunknown"),
        Some(b"{}".to_vec()),
    )
    .await
    .assert_live_error(401, "UNAUTHORIZED");
    // 400 before 404 before 403 before 409.
    api.live(
        LiveCall::SessionsSend,
        &outsider.token,
        json!({"sessionId": "session_missing"}),
    )
    .await
    .assert_live_error(400, "BAD_REQUEST");
    api.live(
        LiveCall::SessionsSend,
        &outsider.token,
        json!({"sessionId": "session_missing", "content": "x"}),
    )
    .await
    .assert_live_error(404, "NOT_FOUND");
    api.live(LiveCall::SessionsClose, &a.token, json!({"sessionId": sid}))
        .await
        .data();
    api.live(
        LiveCall::SessionsSend,
        &outsider.token,
        json!({"sessionId": sid, "content": "x"}),
    )
    .await
    .assert_live_error(403, "FORBIDDEN");
    api.live(
        LiveCall::SessionsSend,
        &b.token,
        json!({"sessionId": sid, "content": "x"}),
    )
    .await
    .assert_live_error(409, "CONFLICT");
    // Not JSON, not an object, or the wrong types: 400 in the live body.
    for body in [
        &b"not json"[..],
        b"[1,2]",
        b"\"s\"",
        b"",
        br#"{"sessionId":5,"content":"x"}"#,
    ] {
        api.raw(
            Method::POST,
            LiveCall::SessionsSend,
            Some(&a.token),
            Some(body.to_vec()),
        )
        .await
        .assert_live_error(400, "BAD_REQUEST");
    }
    // A GET of a live path that is no reference route: 405 in the live body.
    let get = api.get(LiveCall::PanelsSend.base_path(), &a.token).await;
    get.assert_live_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(get.header("allow"), Some("POST"));
    // Unknown live-looking paths keep the reference's 404 envelope.
    api.post(live_path("sessions/rotate"), &a.token, json!({}))
        .await
        .assert_error(405, "METHOD_NOT_ALLOWED");
    api.post(live_path("agents/rotateToken"), &a.token, json!({}))
        .await
        .assert_error(404, "NOT_FOUND");
    server.shutdown().await;
}
