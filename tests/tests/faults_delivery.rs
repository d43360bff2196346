//! Faults and abuse, delivery: nothing lost, nothing shown twice.
//! - A burst of 1,000 messages from another agent while the local server is
//!   SIGKILLed and restarted twice and the browsers' connections to the
//!   worker are cut and refused: the dashboard and the widget both end with
//!   exactly those messages, each once, in order.
//! - 20 messages typed while the worker is unreachable, one of whose answers
//!   is then lost after the upstream stored it: all 20 arrive once, in order.
//! - SIGKILL after N acknowledged sends: all N are there after the restart.
//! - The worker SIGKILLed after the upstream stored a send but before it
//!   answered: the retry (same client id) gets that message, nothing posts twice.
//!
//! Browsers reach the worker through the stack's fault proxy, which also keeps every
//! byte they received for the token search.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mochat_api::requests::RegisterResponse;
use mochat_api::{Message, Route, Session};
use mochat_tests::faults::{Row, compare, record};
use mochat_tests::host::{page_with_widget, strict_csp};
use mochat_tests::toolchain::scratch_dir;
use mochat_tests::{
    Browser, Edge, HostSite, LocalOptions, LocalServer, Mochat, Stack, WorkerOptions, WranglerDev,
    at, route,
};
use serde_json::json;

/// What the sending agent went through.
#[derive(Default)]
struct Sent {
    attempts: u64,
    server_errors: u64,
}

/// Sends `burst 0001` … `burst <n>` in order, each until acknowledged. Before
/// retrying it checks whether the server stored the message before it died,
/// as a careful agent would, so nothing is posted twice.
async fn burst(sender: Mochat, sid: String, n: usize, acked: Arc<AtomicUsize>) -> Sent {
    let mut sent = Sent::default();
    for i in 1..=n {
        let content = format!("burst {i:04}");
        loop {
            sent.attempts += 1;
            match sender.try_send(&sid, &content).await {
                Ok(_) => break,
                Err((status, body)) if status >= 500 => {
                    sent.server_errors += 1;
                    eprintln!("burst: {status} {body}");
                }
                Err((0, _)) => {}
                Err((status, body)) => panic!("burst {i}: {status} {body}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let stored = sender.try_latest(&sid, 5).await;
            if stored.is_some_and(|m| m.iter().any(|m| m.content == content)) {
                break;
            }
        }
        acked.fetch_add(1, Ordering::SeqCst);
    }
    sent
}

/// The message ids the page (or the widget frame it is in) shows, in order.
async fn shown(b: &Browser) -> Vec<String> {
    b.attrs("[data-testid=message]", "data-id")
        .await
        .unwrap_or_default()
}

/// Waits until `b` shows `expected` (up to `limit`); returns what it shows.
async fn settle(b: &Browser, expected: &[String], limit: Duration) -> (Vec<String>, bool) {
    let started = Instant::now();
    loop {
        let ids = shown(b).await;
        if ids == expected {
            return (ids, true);
        }
        if started.elapsed() > limit {
            return (ids, false);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn wait_until(acked: &AtomicUsize, n: usize) {
    while acked.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn register(local_base: String, username: &str) -> (String, Mochat) {
    let reg: RegisterResponse = Mochat::new(local_base.clone(), String::new())
        .call(
            Route::Register,
            Some(&json!({"name": "Burst sender", "username": username})),
        )
        .await;
    (reg.bot_user_id, Mochat::new(local_base, reg.claw_token))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_survives_server_crashes_and_dropped_connections() {
    const N: usize = 1000;
    let host = HostSite::start(String::new(), String::new()).expect("host site");
    let mut stack = Stack::demo_with("faults-burst", |_| {
        let sites = json!({"acme": {"origins": [host.origin()], "title": "Acme Support"}});
        // Budgets out of the way: this case is about delivery, not limits.
        vec![
            ("WIDGET_SITES".to_owned(), sites.to_string()),
            ("RATE_LIMIT".to_owned(), "1000000".to_owned()),
            ("WIDGET_VISITOR_LIMIT".to_owned(), "1000000".to_owned()),
        ]
    });
    let proxy = &stack.proxy;
    let edge = proxy.origin();
    host.set_page(
        page_with_widget(&edge, "acme", "Acme shop"),
        strict_csp(&edge),
    );

    let visitor = Browser::start(1024, 800, false).await.expect("Chromium");
    let dashboard = Browser::start(1280, 860, false).await.expect("Chromium");
    let outcome = async {
        // A visitor opens a conversation; the operator watches it in the dashboard.
        visitor.client.goto(&host.origin()).await.map_err(at("host page"))?;
        visitor.open_widget().await.map_err(at("open the widget"))?;
        visitor.send_message("start").await.map_err(at("first message"))?;
        visitor.wait_message("start", None).await.map_err(at("first message shown"))?;
        let sid = stack
            .operator
            .sessions()
            .await
            .sessions
            .into_iter()
            .find(|s| s.title.starts_with("Acme Support · "))
            .ok_or("the visitor's session")?
            .session_id;
        let (sender_id, sender) = register(stack.local.base(), "burst_sender").await;
        let _: Session = stack
            .operator
            .call(
                Route::AddParticipants { session_id: sid.clone() },
                Some(&json!({"participants": [sender_id]})),
            )
            .await;
        dashboard.sign_in(&edge, &stack.options.password).await?;
        dashboard
            .click(&format!("[data-testid=session-item][data-id={sid}]"))
            .await
            .map_err(at("open the session"))?;
        dashboard.wait_message("start", None).await.map_err(at("dashboard shows it"))?;

        // The burst, and the faults while it runs.
        let acked = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(burst(sender, sid.clone(), N, Arc::clone(&acked)));
        wait_until(&acked, 200).await;
        stack.local.kill9();
        tokio::time::sleep(Duration::from_millis(800)).await;
        stack.local.restart().map_err(at("restart 1"))?;
        wait_until(&acked, 450).await;
        proxy.cut_all();
        wait_until(&acked, 650).await;
        stack.local.kill9();
        tokio::time::sleep(Duration::from_millis(800)).await;
        stack.local.restart().map_err(at("restart 2"))?;
        wait_until(&acked, 800).await;
        proxy.set_down(true);
        tokio::time::sleep(Duration::from_secs(2)).await;
        proxy.set_down(false);
        let sent = task.await.map_err(at("the burst"))?;

        // Upstream holds each message once, in order; both pages must show exactly that.
        let upstream: Vec<Message> = stack.operator.all_messages(&sid).await;
        let burst_texts: Vec<&str> = upstream
            .iter()
            .filter(|m| m.content.starts_with("burst "))
            .map(|m| m.content.as_str())
            .collect();
        let wanted: Vec<String> = (1..=N).map(|i| format!("burst {i:04}")).collect();
        assert_eq!(burst_texts, wanted, "upstream holds the burst once, in order");
        let expected: Vec<String> = upstream.iter().map(|m| m.message_id.clone()).collect();
        let limit = Duration::from_secs(180);
        let (on_dashboard, dashboard_done) = settle(&dashboard, &expected, limit).await;
        let (in_widget, widget_done) = settle(&visitor, &expected, limit).await;
        let leaked = proxy.received_count("claw_") as u64;
        let unexpected_5xx = (proxy.received_count("HTTP/1.1 500") + proxy.received_count("HTTP/1.1 503")) as u64;
        let expected_502 = proxy.received_count("HTTP/1.1 502");
        for (name, ids, done) in [
            ("dashboard", &on_dashboard, dashboard_done),
            ("widget", &in_widget, widget_done),
        ] {
            let (lost, duplicated, in_order) = compare(&expected, ids);
            record(&Row {
                case: format!("delivery: 1,000-message burst, 2 SIGKILLs, cut + refused connections ({name})"),
                attempts: N as u64,
                lost,
                duplicated,
                leaked,
                server_errors: unexpected_5xx + sent.server_errors,
                hung: u64::from(!done),
                note: format!(
                    "{} sends by the agent incl. retries; {expected_502} expected 502s while the server was down; order {}",
                    sent.attempts,
                    if in_order { "kept" } else { "BROKEN" }
                ),
            });
            assert!(done && in_order, "{name} shows {} of {} (lost {lost}, duplicated {duplicated})", ids.len(), expected.len());
        }
        assert_eq!(leaked, 0, "a claw token reached a browser");
        assert_eq!(unexpected_5xx + sent.server_errors, 0, "5xx other than 502");
        // The header's count follows the live messages too, each counted once
        // (in the live dialect the hub gives the detail its count and newest
        // message from the same point of its feed).
        let count = format!("{} messages", expected.len());
        dashboard
            .wait_js(&format!(
                "document.querySelector('[data-testid=message-count]')?.textContent.includes('{count}')"
            ))
            .await
            .map_err(at("the header counts every message"))?;
        dashboard.screenshot("faults-burst-dashboard").await.map_err(at("screenshot"))?;
        Ok::<(), String>(())
    }
    .await;
    if outcome.is_err() {
        let _ = visitor.screenshot("faults-burst-visitor-failure").await;
        let _ = dashboard.screenshot("faults-burst-dashboard-failure").await;
    }
    visitor.close().await;
    dashboard.close().await;
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_typed_offline_arrive_once_in_order() {
    const N: usize = 20;
    let stack = Stack::demo("faults-outbox", &[]);
    let proxy = &stack.proxy;
    let (peer_id, _peer) = register(stack.local.base(), "outbox_peer").await;
    let session: Session = stack
        .operator
        .call(
            Route::CreateSession,
            Some(&json!({"participants": [peer_id], "title": "Offline drill"})),
        )
        .await;
    let sid = session.session_id;
    let b = Browser::start(1280, 860, false).await.expect("Chromium");
    let outcome = async {
        b.sign_in(&proxy.origin(), &stack.options.password).await?;
        b.click(&format!("[data-testid=session-item][data-id={sid}]"))
            .await
            .map_err(at("open the session"))?;
        b.wait_for("[data-testid=empty]").await.map_err(at("empty session"))?;

        // The worker becomes unreachable; the operator types on.
        proxy.set_down(true);
        for i in 1..=N {
            b.send_message(&format!("offline {i:02}")).await.map_err(at("type"))?;
        }
        b.wait_js(&format!(
            "document.querySelectorAll('[data-testid=outgoing]').length === {N}"
        ))
        .await
        .map_err(at("20 messages wait in the outbox"))?;
        b.wait_js("document.querySelector('[data-testid=outgoing][data-state=failed]')")
            .await
            .map_err(at("they show as not sent"))?;
        b.screenshot("faults-outbox-offline").await.map_err(at("screenshot"))?;

        // The connection returns, and the first answer is lost after the send was stored.
        proxy.lose_next_answer("/message HTTP/1.1");
        proxy.set_down(false);
        let wanted: Vec<String> = (1..=N).map(|i| format!("offline {i:02}")).collect();
        let started = Instant::now();
        while stack.operator.all_messages(&sid).await.len() < N
            && started.elapsed() < Duration::from_secs(120)
        {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        b.wait_js("document.querySelectorAll('[data-testid=outgoing]').length === 0")
            .await
            .map_err(at("the outbox empties"))?;
        // Anything still on its way would show up now.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let upstream = stack.operator.all_messages(&sid).await;
        let texts: Vec<String> = upstream.iter().map(|m| m.content.clone()).collect();
        let ids: Vec<String> = upstream.iter().map(|m| m.message_id.clone()).collect();
        let (on_page, done) = settle(&b, &ids, Duration::from_secs(30)).await;
        let missing = wanted.iter().filter(|w| !texts.contains(w)).count() as u64;
        let duplicated = texts.len().saturating_sub(wanted.len() - missing as usize) as u64;
        let leaked = proxy.received_count("claw_") as u64;
        record(&Row {
            case: "outbox: 20 messages typed while the worker is unreachable, one answer lost".into(),
            attempts: N as u64,
            lost: missing,
            duplicated,
            leaked,
            server_errors: (proxy.received_count("HTTP/1.1 500")) as u64,
            hung: u64::from(!done),
            note: format!(
                "proxy refused connections, then dropped {} answer after the upstream stored it; order {}",
                proxy.lost(),
                if texts == wanted { "kept" } else { "BROKEN" }
            ),
        });
        assert_eq!(proxy.lost(), 1, "one answer was lost on purpose");
        assert_eq!(texts, wanted, "each once, in order");
        assert!(done, "the page shows {} of {}", on_page.len(), ids.len());
        assert_eq!(leaked, 0);
        Ok::<(), String>(())
    }
    .await;
    if outcome.is_err() {
        let _ = b.screenshot("faults-outbox-failure").await;
    }
    b.close().await;
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_sends_survive_a_sigkill() {
    const N: usize = 300;
    let mut stack = Stack::demo("faults-durable", &[("RATE_LIMIT", "1000000")]);
    let mut edge = Edge::new(stack.origin());
    assert_eq!(edge.sign_in(&stack.options.password).await, 204);
    let sid = stack.operator.sessions().await.sessions[0]
        .session_id
        .clone();
    let before = stack.operator.all_messages(&sid).await.len();
    let mut acknowledged = Vec::new();
    let mut server_errors = 0;
    for i in 1..=N {
        let a = edge
            .call(
                &route::send(&sid),
                Some(&json!({"content": format!("durable {i:03}"), "meta": {"clientId": format!("d{i}")}})),
            )
            .await;
        if a.status >= 500 {
            server_errors += 1;
        }
        assert_eq!(a.status, 201, "{}", a.body);
        acknowledged.push(
            a.json()["messageId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    stack.local.kill9();
    stack.local.restart().expect("restart");
    let after = stack.operator.all_messages(&sid).await;
    let ids: Vec<String> = after.iter().map(|m| m.message_id.clone()).collect();
    let lost = acknowledged.iter().filter(|id| !ids.contains(id)).count() as u64;
    let durable = after
        .iter()
        .filter(|m| m.content.starts_with("durable "))
        .count();
    record(&Row {
        case: "durability: SIGKILL after 300 acknowledged sends".into(),
        attempts: N as u64,
        lost,
        duplicated: durable.saturating_sub(N) as u64,
        leaked: edge.received_containing("claw_").len() as u64,
        server_errors,
        hung: 0,
        note: "sent through the worker, the server killed right after the last 201, then restarted"
            .into(),
    });
    assert_eq!(lost, 0);
    assert_eq!(after.len(), before + N);
    assert!(edge.received_containing("claw_").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_whose_worker_died_after_posting_is_not_posted_again() {
    // The local server stores a session send, then answers 4 s later: time
    // to kill the worker while the answer is on its way.
    let dir = scratch_dir("faults-worker-crash");
    let local = LocalServer::start(LocalOptions {
        demo: true,
        answer_delay_ms: Some(4_000),
        ..LocalOptions::in_dir(&dir)
    })
    .expect("the local MoChat server starts");
    let options = WorkerOptions::for_demo(&local, &dir);
    let mut worker = WranglerDev::start(&options).expect("wrangler dev starts");
    let operator = Mochat::new(local.base(), local.demo_token().expect("a token"));
    let sid = operator.sessions().await.sessions[0].session_id.clone();
    let mut edge = Edge::new(worker.origin());
    assert_eq!(edge.sign_in(&options.password).await, 204);
    let send = route::send(&sid);
    // Another send is out meanwhile and a read is answered while it is: the
    // hub then holds its storage writes for the answers under way, but never
    // a send's reservation.
    let _other = {
        let (edge, send) = (edge.clone(), send.clone());
        let body = json!({"content": "out meanwhile", "meta": {"clientId": "crash-0"}});
        tokio::spawn(async move { edge.call(&send, Some(&body)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let read = edge.call(&route::messages(&sid, Some(5)), None).await;
    assert_eq!(read.status, 200, "{}", read.body);
    let body = json!({"content": "sent as the worker died", "meta": {"clientId": "crash-1"}});
    let first = {
        let (edge, send, body) = (edge.clone(), send.clone(), body.clone());
        tokio::spawn(async move { edge.call(&send, Some(&body)).await })
    };
    let stored_with_id = |messages: &[Message]| {
        messages
            .iter()
            // (The live dialect keeps no meta: there the content, unique here, tells.)
            .filter(|m| {
                m.meta.get("clientId").and_then(|v| v.as_str()) == Some("crash-1")
                    || m.content == "sent as the worker died"
            })
            .map(|m| m.message_id.clone())
            .collect::<Vec<_>>()
    };
    let started = Instant::now();
    loop {
        let latest = operator.try_latest(&sid, 5).await.unwrap_or_default();
        if !stored_with_id(&latest).is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the send never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Stored upstream, answer not yet sent: the worker dies with it.
    worker.kill9();
    let lost = first.await.expect("task");
    assert_eq!(lost.status, 0, "the answer was lost: {}", lost.body);
    worker.restart(&options).expect("wrangler dev starts again");
    let retried = edge.call(&send, Some(&body)).await;
    let upstream = stored_with_id(&operator.all_messages(&sid).await);
    record(&Row {
        case:
            "outbox: the worker killed after the upstream stored a send, then the same send retried"
                .into(),
        attempts: 1,
        lost: u64::from(upstream.is_empty()),
        duplicated: upstream.len().saturating_sub(1) as u64,
        leaked: edge.received_containing("claw_").len() as u64,
        server_errors: u64::from(retried.status >= 500),
        hung: 0,
        note: format!(
            "answer delayed 4 s upstream, wrangler SIGKILLed in between and restarted; the retry answered {}",
            retried.status
        ),
    });
    assert_eq!(retried.status, 201, "{}", retried.body);
    assert_eq!(upstream.len(), 1, "posted once");
    assert_eq!(
        retried.json()["messageId"],
        json!(upstream[0]),
        "the retry answers the stored message"
    );
}
