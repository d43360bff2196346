//! The agent's hub through the real worker: browser watches are answered by
//! the hub, a send through the worker reaches a watcher without an upstream
//! read, a message posted upstream by someone else reaches it through the
//! upstream watch the hub holds (or within a few seconds through the list),
//! and `POST /edge/watch` carries sessions and the list.

use std::time::{Duration, Instant};

use mochat_api::widget::{CONVERSATION_PATH, VISITOR_PATH};
use mochat_tests::{Edge, Stack, route};
use serde_json::{Value, json};

/// A watch of `sid` from `cursor` through the worker, in the background.
/// Like a browser's, it is sent again when its connection failed before any
/// answer (status 0: with a thousand at once, `wrangler dev`'s local proxy
/// has dropped a few connections that never reached the worker); from the
/// same cursor, it gets the same events.
fn watch(edge: &Edge, sid: &str, cursor: u64) -> tokio::task::JoinHandle<(Value, Duration)> {
    let (edge, watch) = (edge.clone(), route::watch(sid, 20_000, Some(cursor)));
    tokio::spawn(async move {
        let started = Instant::now();
        let mut answer = edge.call(&watch, None).await;
        for _ in 0..2 {
            if answer.status != 0 {
                break;
            }
            println!("a watch sent again after: {}", answer.body);
            answer = edge.call(&watch, None).await;
        }
        assert_eq!(answer.status, 200, "{}", answer.body);
        (answer.json(), started.elapsed())
    })
}

/// A demo stack named `name`, a signed-in operator's browser, the demo's
/// first session and its detail's cursor.
async fn first_session(name: &str) -> (Stack, Edge, String, u64) {
    let s = Stack::demo(name, &[]);
    let mut edge = Edge::new(s.worker.origin());
    assert_eq!(edge.sign_in(&s.options.password).await, 204);
    let sid = s.operator.sessions().await.sessions[0].session_id.clone();
    let detail = edge.call(&route::detail(&sid), None).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let cursor = detail.json()["cursor"].as_u64().expect("a cursor");
    (s, edge, sid, cursor)
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
    let (s, edge, sid, cursor) = first_session("hub-delivery").await;

    // A send through the worker: the watcher has it at once.
    let waiting = watch(&edge, &sid, cursor);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = edge
        .call(
            &route::send(&sid),
            Some(&json!({"content": "through the worker", "meta": {"clientId": "hub-1"}})),
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

/// How long each upstream watch the local server answered took (ms), in order.
fn upstream_watch_durations(local: &mochat_tests::LocalServer) -> Vec<u64> {
    local
        .output()
        .lines()
        .filter(|l| {
            l.contains("request") && (l.contains("/watch ") || l.contains("sessions/watch"))
        })
        .filter_map(|l| {
            let plain = mochat_tests::local::strip_ansi(l);
            let ms = plain.split(" ms=").nth(1)?;
            ms.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outside_message_comes_through_the_upstream_watch_the_hub_holds() {
    let (s, edge, sid, cursor) = first_session("hub-held").await;

    // A browser watches; the hub holds one upstream watch of the session
    // meanwhile, which the post upstream answers.
    let waiting = watch(&edge, &sid, cursor);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = upstream_watch_durations(&s.local).len();
    s.operator.send(&sid, "posted while held").await;
    let (answer, _) = waiting.await.expect("the watch");
    assert_eq!(contents(&answer), vec!["posted while held"], "{answer}");
    let answered = upstream_watch_durations(&s.local);
    assert!(
        answered[before..].iter().any(|ms| *ms >= 1_000),
        "no upstream watch was held open for the post: {:?}",
        &answered[before..]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_visitors_sends_reach_the_operator_marked_while_the_hub_holds_the_session() {
    // The upstream tells the hub's held watch of a visitor's message before
    // the send's answer is back; the operator must still see it as the
    // visitor's (in the live dialect the mark lives only in the hub).
    let sites = json!({"acme": {"origins": ["https://acme.example"], "title": "Acme"}});
    let s = Stack::demo("hub-marked", &[("WIDGET_SITES", &sites.to_string())]);
    let mut edge = Edge::new(s.worker.origin());
    assert_eq!(edge.sign_in(&s.options.password).await, 204);
    let visitor = Edge::new(s.worker.origin());
    let minted = visitor
        .post(VISITOR_PATH, &json!({"site": "acme", "name": "Vera"}))
        .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let token = minted.json()["token"].as_str().expect("a token").to_owned();
    let opened = visitor
        .as_visitor("POST", CONVERSATION_PATH, &token, None)
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let sid = opened.json()["sessionId"]
        .as_str()
        .expect("a session")
        .to_owned();
    let detail = edge.call(&route::detail(&sid), None).await;
    let mut cursor = detail.json()["cursor"].as_u64().expect("a cursor");
    for i in 0..8 {
        let waiting = watch(&edge, &sid, cursor);
        // The first time, long enough for the hub to hold the session.
        let pause = if i == 0 { 2_000 } else { 200 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let sent = visitor
            .call_as_visitor(
                &route::send(&sid),
                &token,
                Some(&json!({"content": format!("from Vera {i}")})),
            )
            .await;
        assert_eq!(sent.status, 201, "{}", sent.body);
        let (answer, _) = waiting.await.expect("the watch");
        let events = answer["events"].as_array().cloned().unwrap_or_default();
        let mine: Vec<&Value> = events
            .iter()
            .filter(|e| e["payload"]["content"] == json!(format!("from Vera {i}")))
            .collect();
        assert_eq!(mine.len(), 1, "{answer}");
        assert_eq!(
            mine[0]["payload"]["meta"]["visitor"]["name"],
            json!("Vera"),
            "the operator sees whose message it is: {answer}"
        );
        cursor = answer["cursor"].as_u64().expect("a cursor");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_posted_upstream_reaches_watchers_once_in_order() {
    let (s, edge, sid, mut cursor) = first_session("hub-burst").await;
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

#[tokio::test(flavor = "multi_thread")]
async fn a_watch_from_before_the_hub_knew_the_history_gets_it_at_once() {
    let s = Stack::demo("hub-replay", &[]);
    let mut edge = Edge::new(s.worker.origin());
    assert_eq!(edge.sign_in(&s.options.password).await, 204);
    let sid = s.operator.sessions().await.sessions[0].session_id.clone();
    let history = s.operator.all_messages(&sid).await;
    assert!(!history.is_empty(), "the demo session has messages");
    // The detail aligns the hub's feed at its cursor, without the events
    // before it; a watcher from cursor 0 is still owed all of them.
    let detail = edge.call(&route::detail(&sid), None).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let (answer, took) = watch(&edge, &sid, 0).await.expect("the watch");
    let first = history[0].content.clone();
    assert!(contents(&answer).contains(&first), "{answer}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(answer["cursor"].as_u64().is_some_and(|c| c > 0), "{answer}");
}

/// Upstream watch reads (either dialect) the local server logged so far.
fn upstream_watch_reads(local: &mochat_tests::LocalServer) -> usize {
    local
        .output()
        .lines()
        .filter(|l| l.contains("/watch ") || l.contains("sessions/watch"))
        .filter(|l| l.contains("request"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_tabs_on_one_session_cost_one_upstream_read_at_a_time() {
    const BROWSERS: usize = 50;
    const TABS: usize = 20;
    let s = Stack::demo("hub-thousand", &[]);
    let mut edges = Vec::new();
    for _ in 0..BROWSERS {
        let mut e = Edge::new(s.worker.origin());
        assert_eq!(e.sign_in(&s.options.password).await, 204);
        edges.push(e);
    }
    let sid = s.operator.sessions().await.sessions[0].session_id.clone();
    let detail = edges[0].call(&route::detail(&sid), None).await;
    let cursor = detail.json()["cursor"].as_u64().expect("a cursor");
    let mut tabs = Vec::new();
    for e in &edges {
        for _ in 0..TABS {
            tabs.push(watch(e, &sid, cursor));
        }
    }
    // Every tab parked (a few seconds for 1,000 connections), then one message.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = upstream_watch_reads(&s.local);
    let posted = Instant::now();
    s.operator.send(&sid, "to a thousand tabs").await;
    let mut late = Duration::ZERO;
    for tab in tabs {
        let (answer, _) = tab.await.expect("the tab");
        assert_eq!(contents(&answer), vec!["to a thousand tabs"], "{answer}");
        late = late.max(posted.elapsed());
    }
    let reads = upstream_watch_reads(&s.local) - before;
    println!(
        "1,000 tabs: all had the message {late:?} after it was posted; {reads} upstream reads"
    );
    assert!(
        reads <= 2,
        "{reads} upstream reads of the session for 1,000 tabs"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_minting_flood_from_one_address_leaves_the_operator_and_the_upstream_alone() {
    let dir = mochat_tests::toolchain::scratch_dir("hub-flood");
    let local = mochat_tests::LocalServer::start(mochat_tests::LocalOptions {
        demo: true,
        rate_limit: Some(120),
        ..mochat_tests::LocalOptions::in_dir(&dir)
    })
    .expect("the local MoChat server starts");
    let mut options = mochat_tests::WorkerOptions::for_demo(&local, &dir);
    options.vars.push((
        "WIDGET_SITES".to_owned(),
        json!({"flood": {"origins": ["http://flood.example"], "title": "Flood"}}).to_string(),
    ));
    let worker = mochat_tests::WranglerDev::start(&options).expect("wrangler dev starts");
    let mut edge = Edge::new(worker.origin());
    assert_eq!(edge.sign_in(&options.password).await, 204);
    let operator_id = local.dev_var("DEFAULT_AGENT_ID").expect("the operator");
    let operator = mochat_tests::Mochat::new(local.base(), local.demo_token().expect("a token"));
    let sid = operator.sessions().await.sessions[0].session_id.clone();

    // Hundreds of visitors and conversations from one address, all at once.
    let flood: Vec<_> = (0..300)
        .map(|i| {
            let edge = edge.clone();
            tokio::spawn(async move {
                let mut anonymous = edge.clone();
                anonymous.cookie = None;
                let minted = anonymous
                    .post(
                        VISITOR_PATH,
                        &json!({"site": "flood", "name": format!("Bot {i}")}),
                    )
                    .await;
                let token = minted.json()["token"].as_str().map(str::to_owned);
                let opened = match &token {
                    Some(t) => {
                        let bearer = format!("Bearer {t}");
                        anonymous
                            .send(
                                "POST",
                                CONVERSATION_PATH,
                                None,
                                &[("Authorization", &bearer)],
                            )
                            .await
                            .status
                    }
                    None => 0,
                };
                (minted.status, opened)
            })
        })
        .collect();
    // Meanwhile the operator answers, through the worker.
    let mut operator_statuses = Vec::new();
    for i in 0..20 {
        let sent = edge
            .call(
                &route::send(&sid),
                Some(&json!({"content": format!("operator during the flood {i}")})),
            )
            .await;
        operator_statuses.push(sent.status);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut minted = 0;
    let mut opened = 0;
    let mut refused = 0;
    for task in flood {
        let (m, o) = task.await.expect("a flood request");
        minted += usize::from(m == 201);
        opened += usize::from(o == 200);
        refused += usize::from(m == 429) + usize::from(o == 429);
        assert!(matches!(m, 201 | 429), "mint answered {m}");
    }
    let requests = mochat_tests::load::upstream_requests(&local.output(), &operator_id);
    let times: Vec<f64> = requests.iter().map(|(t, _)| *t).collect();
    let busiest = mochat_tests::load::busiest_minute(&times);
    let refused_upstream = requests.iter().filter(|(_, s)| *s == 429).count();
    println!(
        "flood: {minted} visitors minted, {opened} conversations opened, {refused} refused; \
         the agent's upstream requests: {} (busiest minute {busiest}), {refused_upstream} refused there",
        requests.len()
    );
    assert!(requests.len() >= 20, "the operator's sends are in the log");
    assert!(
        operator_statuses.iter().all(|s| *s == 201),
        "{operator_statuses:?}"
    );
    assert!(minted <= 10, "{minted} visitors minted from one address");
    assert!(
        opened <= 10,
        "{opened} conversations opened from one address"
    );
    assert!(busiest <= 120, "{busiest} upstream requests in one minute");
    assert_eq!(refused_upstream, 0, "the upstream refused the worker");
}
