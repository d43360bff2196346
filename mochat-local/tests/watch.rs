//! Long-poll watch and paging under concurrent writes.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{file_config, memory_config, remove_db, route, start, temp_path};
use mochat_api::Route;
use mochat_api::requests::WatchQuery;
use serde_json::{Value, json};

fn seqs(body: &Value) -> Vec<u64> {
    body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect()
}

#[tokio::test]
async fn watch_answers_at_once_when_behind() {
    let (server, api) = start(memory_config()).await;
    let a = api.register("A").await;
    let sid = api.session(&a, &[], "w").await;
    for i in 0..5 {
        api.send(&a, &sid, &format!("m{i}")).await;
    }
    let all = api.get(route::watch(&sid, None, None), &a.token).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["sessionId"], json!(sid));
    assert_eq!(seqs(&all.body), [1, 2, 3, 4, 5]);
    assert_eq!(all.body["cursor"], json!(5));
    let event = &all.body["events"][0];
    assert_eq!(event["type"], json!("message.add"));
    assert_eq!(event["sessionId"], json!(sid));
    assert_eq!(event["payload"]["content"], json!("m0"));
    assert!(
        event["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let some = api
        .get(
            Route::WatchSession {
                session_id: sid.clone(),
                query: WatchQuery {
                    cursor: Some(1),
                    limit: Some(2),
                    timeout_ms: None,
                },
            },
            &a.token,
        )
        .await;
    assert_eq!(seqs(&some.body), [2, 3]);
    assert_eq!(some.body["cursor"], json!(3));
    server.shutdown().await;
}

#[tokio::test]
async fn watch_waits_and_wakes_on_send() {
    let (server, api) = start(memory_config()).await;
    let (a, b) = (api.register("A").await, api.register("B").await);
    let sid = api.session(&a, &[&b], "w").await;
    api.send(&a, &sid, "first").await;
    let waiting = {
        let (api, token, sid) = (api.clone(), b.token.clone(), sid.clone());
        tokio::spawn(async move {
            api.get(route::watch(&sid, Some(1), Some(20000)), &token)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "nothing new yet");
    api.send(&a, &sid, "second").await;
    let woken = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("woken before its timeout")
        .expect("joins");
    assert_eq!(seqs(&woken.body), [2]);
    assert_eq!(
        woken.body["events"][0]["payload"]["content"],
        json!("second")
    );
    assert_eq!(woken.body["cursor"], json!(2));

    // Close and participant changes wake watchers too.
    let closing = {
        let (api, token, sid) = (api.clone(), b.token.clone(), sid.clone());
        tokio::spawn(async move {
            api.get(route::watch(&sid, Some(2), Some(20000)), &token)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    api.post(route::close(&sid), &a.token, json!({})).await;
    let closed = closing.await.expect("joins");
    assert_eq!(closed.body["events"][0]["type"], json!("session.update"));
    assert_eq!(
        closed.body["events"][0]["payload"]["status"],
        json!("closed")
    );
    assert_eq!(closed.body["events"][0]["payload"]["sessionId"], json!(sid));
    server.shutdown().await;
}

#[tokio::test]
async fn watch_times_out_empty_with_the_cursor_unchanged() {
    let (server, api) = start(memory_config()).await;
    let a = api.register("A").await;
    let sid = api.session(&a, &[], "w").await;
    api.send(&a, &sid, "one").await;
    let quiet = api
        .get(route::watch(&sid, Some(1), Some(300)), &a.token)
        .await;
    assert_eq!(quiet.status, 200);
    assert_eq!(
        quiet.body,
        json!({"sessionId": sid, "cursor": 1, "events": []})
    );
    let now = api
        .get(route::watch(&sid, Some(1), Some(0)), &a.token)
        .await;
    assert_eq!(now.body["events"], json!([]));
    let empty = api.get(route::watch(&sid, None, Some(0)), &a.token).await;
    assert_eq!(seqs(&empty.body), [1]);

    // A cursor beyond the latest waits as if at the latest.
    let beyond = api
        .get(route::watch(&sid, Some(1000), Some(300)), &a.token)
        .await;
    assert_eq!(beyond.body["events"], json!([]));
    assert_eq!(beyond.body["cursor"], json!(1000));
    let waiting = {
        let (api, token, sid) = (api.clone(), a.token.clone(), sid.clone());
        tokio::spawn(async move {
            api.get(route::watch(&sid, Some(1000), Some(20000)), &token)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    api.send(&a, &sid, "two").await;
    assert_eq!(seqs(&waiting.await.expect("joins").body), [2]);
    server.shutdown().await;
}

#[tokio::test]
async fn watch_checks_queries_and_access() {
    let (server, api) = start(memory_config()).await;
    let (a, outsider) = (api.register("A").await, api.register("Out").await);
    let sid = api.session(&a, &[], "w").await;
    for bad in [
        "timeout=60001",
        "timeout=-1",
        "timeout=abc",
        "limit=0",
        "limit=1001",
        "cursor=-1",
        "cursor=x",
        "cursor=1&cursor=2",
        "timeout=",
    ] {
        api.get(
            format!("{}?{bad}", route::watch(&sid, None, None).path()),
            &a.token,
        )
        .await
        .assert_error(400, "BAD_REQUEST");
    }
    let ok = api
        .get(
            Route::WatchSession {
                session_id: sid.clone(),
                query: WatchQuery {
                    timeout_ms: Some(0),
                    limit: Some(1000),
                    cursor: Some(0),
                },
            },
            &a.token,
        )
        .await;
    assert_eq!(ok.status, 200);
    api.get(route::watch(&sid, None, Some(0)), &outsider.token)
        .await
        .assert_error(403, "FORBIDDEN");
    api.get(route::watch("session_missing", None, Some(0)), &a.token)
        .await
        .assert_error(404, "NOT_FOUND");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_answers_pending_watches() {
    let (server, api) = start(memory_config()).await;
    let a = api.register("A").await;
    let sid = api.session(&a, &[], "w").await;
    let waiting = {
        let (api, token, sid) = (api.clone(), a.token.clone(), sid.clone());
        tokio::spawn(async move { api.get(route::watch(&sid, None, Some(60000)), &token).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("stops promptly");
    let answer = waiting.await.expect("joins");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["events"], json!([]));
    assert_eq!(answer.body["cursor"], json!(0));
}

#[tokio::test]
async fn a_thousand_watchers_all_wake_on_one_send() {
    let (server, api) = start(memory_config()).await;
    let (a, b) = (api.register("A").await, api.register("B").await);
    let sid = api.session(&a, &[&b], "crowd").await;
    let watchers: Vec<_> = (0..1000)
        .map(|_| {
            let (api, token, sid) = (api.clone(), b.token.clone(), sid.clone());
            tokio::spawn(async move {
                api.get(route::watch(&sid, Some(0), Some(60000)), &token)
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent = api.send(&a, &sid, "hello, everyone").await;
    let answers =
        tokio::time::timeout(Duration::from_secs(45), futures::future::join_all(watchers))
            .await
            .expect("all woken");
    for answer in answers {
        let answer = answer.expect("joins");
        assert_eq!(answer.status, 200);
        assert_eq!(seqs(&answer.body), [1]);
        assert_eq!(
            answer.body["events"][0]["payload"]["messageId"],
            sent["messageId"]
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn watch_resumes_after_a_restart_on_the_same_database() {
    let path = temp_path("watch.db");
    let (server, api) = start(file_config(&path)).await;
    let a = api.register("A").await;
    let sid = api.session(&a, &[], "w").await;
    api.send(&a, &sid, "one").await;
    api.send(&a, &sid, "two").await;
    let seen = api.get(route::watch(&sid, None, None), &a.token).await;
    assert_eq!(seqs(&seen.body), [1, 2]);
    server.shutdown().await;

    let (server, api) = start(file_config(&path)).await;
    let quiet = api
        .get(route::watch(&sid, Some(2), Some(300)), &a.token)
        .await;
    assert_eq!(
        quiet.body,
        json!({"sessionId": sid, "cursor": 2, "events": []})
    );
    let waiting = {
        let (api, token, sid) = (api.clone(), a.token.clone(), sid.clone());
        tokio::spawn(async move {
            api.get(route::watch(&sid, Some(2), Some(20000)), &token)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    api.send(&a, &sid, "three").await;
    let resumed = waiting.await.expect("joins");
    assert_eq!(seqs(&resumed.body), [3]);
    assert_eq!(
        resumed.body["events"][0]["payload"]["content"],
        json!("three")
    );
    server.shutdown().await;
    remove_db(&path);
}

#[tokio::test]
async fn paging_never_skips_or_repeats_while_messages_arrive() {
    let (server, api) = start(memory_config()).await;
    let (a, b) = (api.register("A").await, api.register("B").await);
    let sid = api.session(&a, &[&b], "busy").await;
    for i in 0..120 {
        api.send(&a, &sid, &format!("old {i}")).await;
    }
    let writer = {
        let (api, b, sid) = (api.clone(), b.clone(), sid.clone());
        tokio::spawn(async move {
            for i in 0..100 {
                api.send(&b, &sid, &format!("new {i}")).await;
            }
        })
    };
    // Page back from the newest while the writer adds messages.
    let mut collected: Vec<Value> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = api
            .get(route::messages(&sid, Some(7), before.as_deref()), &a.token)
            .await;
        assert_eq!(page.status, 200);
        let mut messages = page.body["messages"].as_array().expect("messages").clone();
        messages.extend(collected);
        collected = messages;
        if page.body["hasMore"] == json!(false) {
            break;
        }
        before = Some(page.body["cursor"].as_str().expect("cursor").to_owned());
        tokio::task::yield_now().await;
    }
    writer.await.expect("writer done");
    let ids: Vec<&str> = collected
        .iter()
        .map(|m| m["messageId"].as_str().expect("id"))
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no message repeated");
    // What was collected is exactly the history up to the newest message of the first page.
    let everything = api.all_messages(&a, &sid, 100).await;
    assert_eq!(everything.len(), 220);
    let all_ids: Vec<&str> = everything
        .iter()
        .map(|m| m["messageId"].as_str().expect("id"))
        .collect();
    assert!(ids.len() >= 120);
    assert_eq!(ids, all_ids[..ids.len()], "no message skipped, in order");
    server.shutdown().await;
}
