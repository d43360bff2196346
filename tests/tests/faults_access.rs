//! Faults and abuse, access: every one of the 16 API routes through the worker
//! without a session, with a forged cookie and with an expired one (401), and,
//! for the calls that change state, with a valid session from a foreign
//! Origin (403). The bodies are valid, so a request that slipped through
//! would change something: the test proves nothing changed upstream and that
//! no claw token reached the browser side.

use std::time::Duration;

use mochat_api::Route;
use mochat_api::edge::AGENTS_PATH;
use mochat_tests::edge::{api_paths, forge_cookie, now_secs};
use mochat_tests::faults;
use mochat_tests::{Answer, Edge, Mochat, Stack, route};
use serde_json::{Value, json};

/// What upstream state an access failure could change: the operator's
/// sessions (ids, titles, status, participants, activity) with their message
/// counts, the group's members, and the worker's agents.
async fn snapshot(operator: &Mochat, signed_in: &Edge) -> Value {
    let page = operator.sessions().await;
    let mut sessions = Vec::new();
    for s in &page.sessions {
        sessions.push(json!({
            "session": serde_json::to_value(s).unwrap_or(Value::Null),
            "messageCount": operator.message_count(&s.session_id).await,
            "cursor": operator.detail(&s.session_id).await.cursor,
        }));
    }
    let group = operator.group().await;
    let mut members: Vec<String> = group.members.iter().map(|m| m.user_id.clone()).collect();
    members.sort();
    let agents = signed_in.get(AGENTS_PATH).await;
    assert_eq!(agents.status, 200, "{}", agents.body);
    json!({"sessions": sessions, "members": members, "agents": agents.json()})
}

/// A valid body for each call that takes one, so a request that got through would act.
fn valid_body(route: &Route, helper_id: &str, invite: &str) -> Option<Value> {
    match route {
        Route::Register => Some(json!({"name": "Intruder", "username": "intruder"})),
        Route::BindAgent => Some(json!({"email": "intruder@example.com"})),
        Route::CreateSession => {
            Some(json!({"participants": [helper_id], "title": "should not exist"}))
        }
        Route::SendSessionMessage { .. } | Route::SendPanelMessage { .. } => {
            Some(json!({"content": "should not land"}))
        }
        Route::AddParticipants { .. } | Route::RemoveParticipants { .. } => {
            Some(json!({"participants": [helper_id]}))
        }
        Route::JoinGroup => Some(json!({"inviteCode": invite})),
        _ => None,
    }
}

async fn within(what: &str, answer: impl std::future::Future<Output = Answer>) -> Answer {
    tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 10 s"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_refuses_missing_forged_expired_sessions_and_foreign_origins() {
    let stack = Stack::demo("faults-access", &[("RATE_LIMIT", "1000000")]);
    let (local, worker, options, operator) =
        (&stack.local, &stack.worker, &stack.options, &stack.operator);
    let helper_id = local
        .demo_value("helper agent id")
        .expect("the helper's id");
    let invite = local.demo_value("invite code").expect("the invite code");

    // One recorder for everything the browser side receives in this test.
    let anonymous = Edge::new(worker.origin());
    let mut signed_in = anonymous.clone();
    assert_eq!(signed_in.sign_in(&options.password).await, 204);

    // The demo's session (with the helper in it) and panel.
    let sessions = operator.sessions().await.sessions;
    let sid = sessions[0].session_id.clone();
    let pid = operator.group().await.panels[0].panel_id.clone();
    let before = snapshot(operator, &signed_in).await;

    let forged = forge_cookie("not-the-secret", now_secs() + 3600);
    let expired = forge_cookie(&options.session_secret, now_secs() - 10);
    let port = worker.port;
    let foreign_origins = [
        "http://evil.example".to_owned(),
        "null".to_owned(),
        String::new(),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        format!("https://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}.evil.example"),
    ];
    let mut checked = 0;
    for (method, path) in api_paths(&sid, &pid) {
        let route = Route::parse_api(method.as_str(), &path).expect("a table route");
        let body = valid_body(&route, &helper_id, &invite);
        let method = method.as_str();

        for (label, cookie) in [
            ("no session", None),
            ("forged cookie", Some(forged.clone())),
            ("expired cookie", Some(expired.clone())),
        ] {
            let mut e = anonymous.clone();
            e.cookie = cookie;
            let what = format!("{method} {path} with {label}");
            let a = within(&what, e.send(method, &path, body.as_ref(), &[])).await;
            assert_eq!(a.status, 401, "{what}: {}", a.body);
            assert_eq!(a.error_code().as_deref(), Some("UNAUTHORIZED"), "{what}");
            checked += 1;
        }

        if method != "GET" {
            for origin in &foreign_origins {
                let what = format!("{method} {path} from Origin {origin}");
                let a = within(
                    &what,
                    signed_in.send(method, &path, body.as_ref(), &[("Origin", origin)]),
                )
                .await;
                assert_eq!(a.status, 403, "{what}: {}", a.body);
                assert_eq!(a.error_code().as_deref(), Some("FORBIDDEN"), "{what}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 16 * 3 + 9 * foreign_origins.len(), "{checked}");

    // Nothing changed upstream, and the worker holds no new agent.
    let after = snapshot(operator, &signed_in).await;
    assert_eq!(
        before, after,
        "an access failure changed something upstream"
    );

    // A valid session from the same origin still works.
    let list = signed_in.call(&route::sessions(None), None).await;
    assert_eq!(list.status, 200, "{}", list.body);

    // Nothing the browser side received held a claw token.
    assert!(anonymous.received() > checked, "{}", anonymous.received());
    let leaks = anonymous.received_containing("claw_");
    faults::record(&faults::Row {
        case: "access: every route without a session, forged/expired cookie, foreign Origin".into(),
        attempts: checked as u64,
        leaked: leaks.len() as u64,
        note: format!(
            "all 401/403 in the envelope; upstream unchanged ({} foreign origins)",
            foreign_origins.len()
        ),
        ..faults::Row::default()
    });
    assert!(leaks.is_empty(), "claw_ reached the browser: {leaks:?}");
}
