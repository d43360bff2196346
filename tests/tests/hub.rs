//! The agent's hub through the real worker: browser watches are answered by
//! the hub, a send through the worker reaches a watcher without an upstream
//! read, a message posted upstream by someone else reaches it within a few
//! seconds, and `POST /edge/watch` carries sessions and the list.

use std::time::{Duration, Instant};

use mochat_tests::{Edge, Stack};
use serde_json::{Value, json};

/// A watch of `sid` from `cursor` through the worker, in the background.
fn watch(edge: &Edge, sid: &str, cursor: u64) -> tokio::task::JoinHandle<(Value, Duration)> {
    let (edge, path) = (
        edge.clone(),
        format!("/api/claw/sessions/{sid}/watch?timeout=20000&cursor={cursor}"),
    );
    tokio::spawn(async move {
        let started = Instant::now();
        let answer = edge.get(&path).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        (answer.json(), started.elapsed())
    })
}

fn contents(answer: &Value) -> Vec<String> {
    answer["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e["payload"]["content"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn watches_get_sends_at_once_and_outside_messages_within_seconds() {
    let s = Stack::demo("hub-delivery", &[]);
    let mut edge = Edge::new(s.worker.origin());
    assert_eq!(edge.sign_in(&s.options.password).await, 204);
    let sid = s.operator.sessions().await.sessions[0].session_id.clone();
    let detail = edge.get(&format!("/api/claw/sessions/{sid}/detail")).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let cursor = detail.json()["cursor"].as_u64().expect("a cursor");

    // A send through the worker: the watcher has it at once.
    let waiting = watch(&edge, &sid, cursor);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = edge
        .post(
            &format!("/api/claw/sessions/{sid}/message"),
            &json!({"content": "through the worker", "meta": {"clientId": "hub-1"}}),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let (answer, took) = waiting.await.expect("the watch");
    assert_eq!(contents(&answer), vec!["through the worker"], "{answer}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let cursor = answer["cursor"].as_u64().expect("a cursor");

    // Someone else posts upstream: the watcher has it within a few seconds.
    let waiting = watch(&edge, &sid, cursor);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let posted_at = Instant::now();
    s.operator.send(&sid, "posted upstream").await;
    let (answer, _) = waiting.await.expect("the watch");
    let delay = posted_at.elapsed();
    assert!(
        contents(&answer).contains(&"posted upstream".to_owned()),
        "{answer}"
    );
    assert!(delay < Duration::from_secs(4), "took {delay:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_posted_upstream_reaches_watchers_once_in_order() {
    let s = Stack::demo("hub-burst", &[]);
    let mut edge = Edge::new(s.worker.origin());
    assert_eq!(edge.sign_in(&s.options.password).await, 204);
    let sid = s.operator.sessions().await.sessions[0].session_id.clone();
    let detail = edge.get(&format!("/api/claw/sessions/{sid}/detail")).await;
    let mut cursor = detail.json()["cursor"].as_u64().expect("a cursor");
    let sender = {
        let (operator, sid) = (s.operator.clone(), sid.clone());
        tokio::spawn(async move {
            for i in 0..400 {
                operator.send(&sid, &format!("burst {i:04}")).await;
            }
        })
    };
    let mut seen = Vec::new();
    let started = Instant::now();
    while seen.len() < 400 && started.elapsed() < Duration::from_secs(60) {
        let (answer, _) = watch(&edge, &sid, cursor).await.expect("the watch");
        cursor = answer["cursor"].as_u64().expect("a cursor");
        seen.extend(
            contents(&answer)
                .into_iter()
                .filter(|c| c.starts_with("burst ")),
        );
    }
    sender.await.expect("the sender");
    let wanted: Vec<String> = (0..400).map(|i| format!("burst {i:04}")).collect();
    assert_eq!(
        seen.len(),
        wanted.len(),
        "seen {} in {:?}",
        seen.len(),
        started.elapsed()
    );
    assert_eq!(seen, wanted);
}
