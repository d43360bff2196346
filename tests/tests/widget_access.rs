//! The widget's routes over HTTP against the real stack: the page is framable
//! only by the site's origins, visitors get signed tokens, a visitor's
//! messages carry the worker's visitor mark, a visitor reaches only their
//! own session (everything else 401/403, nothing changed upstream), and one
//! visitor over their sub-quota gets 429 while another still chats.

use mochat_api::Route;
use mochat_api::edge::{AGENTS_PATH, SESSION_PATH, VISITORS_PATH, VisitorDetails, visitor_target};
use mochat_api::limits::AGENT_HEADER;
use mochat_api::ratelimit::{POLICY_HEADER, RETRY_AFTER_HEADER, STATE_HEADER};
use mochat_api::widget::{CONVERSATION_PATH, FRAME_PATH, ME_PATH, VISITOR_PATH, VisitorInfo};
use mochat_tests::faults;
use mochat_tests::{Edge, HostSite, Stack, route};
use serde_json::{Value, json};

/// `WIDGET_SITES` with one site, "acme", framable by `origin`.
pub fn sites(origin: &str, helper: &str) -> String {
    json!({
        "acme": {
            "origins": [origin],
            "title": "Acme Support",
            "color": "#0f766e",
            "participants": [helper]
        }
    })
    .to_string()
}

async fn new_visitor(edge: &Edge, name: Option<&str>) -> (VisitorInfo, String) {
    let mut body = json!({"site": "acme"});
    if let Some(n) = name {
        body["name"] = json!(n);
    }
    let a = edge.post(VISITOR_PATH, &body).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let info: VisitorInfo = serde_json::from_str(&a.body).expect("a VisitorInfo");
    let token = info.token.clone().expect("a minted token");
    (info, token)
}

#[tokio::test(flavor = "multi_thread")]
async fn visitors_are_confined_to_their_own_session_and_quota() {
    // A host site (its page is not needed here, only its origin).
    let host = HostSite::start(String::new(), String::new()).expect("host site");
    let mut helper = String::new();
    let stack = Stack::demo_with("widget-access", |local| {
        helper = local
            .demo_value("helper agent id")
            .expect("the demo's helper");
        vec![("WIDGET_SITES".to_owned(), sites(&host.origin(), &helper))]
    });
    let edge = Edge::new(stack.origin());

    // The page: framable by the site's origin only.
    let frame = edge
        .get(&format!("{FRAME_PATH}?site=acme&host={}", host.origin()))
        .await;
    assert_eq!(frame.status, 200, "{}", frame.body);
    let csp = frame.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.ends_with(&format!("frame-ancestors {}", host.origin())),
        "{csp}"
    );
    assert!(
        !csp.contains("frame-ancestors 'none'") && !csp.contains('*'),
        "{csp}"
    );
    assert_eq!(frame.header("x-frame-options"), None);
    assert!(frame.body.contains("mochat-widget"), "the widget's page");
    let foreign = edge
        .get(&format!("{FRAME_PATH}?site=acme&host=http://127.0.0.1:1"))
        .await;
    assert_eq!(
        (foreign.status, foreign.error_code().as_deref()),
        (403, Some("FORBIDDEN"))
    );
    assert_eq!(foreign.header("x-frame-options").as_deref(), Some("DENY"));
    let unknown = edge
        .get(&format!("{FRAME_PATH}?site=nope&host={}", host.origin()))
        .await;
    assert_eq!(unknown.status, 404);

    // Visitors: minted only for known sites, from the edge's own origin.
    let bad_site = edge.post(VISITOR_PATH, &json!({"site": "nope"})).await;
    assert_eq!(bad_site.status, 404);
    let cross = edge
        .send(
            "POST",
            VISITOR_PATH,
            Some(&json!({"site": "acme"})),
            &[("Origin", host.origin().as_str())],
        )
        .await;
    assert_eq!(cross.status, 403, "a host page cannot mint visitors itself");
    let (ada, ada_token) = new_visitor(&edge, Some("Ada")).await;
    assert_eq!(ada.name, "Ada");
    assert_eq!(ada.site.title, "Acme Support");
    assert_eq!(ada.session_id, None);

    // Before her first message Ada has no session: every API call is 403.
    let sessions = edge
        .call_as_visitor(&route::sessions(None), &ada_token, None)
        .await;
    assert_eq!(sessions.status, 403, "{}", sessions.body);

    let opened = edge
        .as_visitor("POST", CONVERSATION_PATH, &ada_token, None)
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let ada_sid = serde_json::from_str::<VisitorInfo>(&opened.body)
        .unwrap()
        .session_id
        .expect("a session");
    let again = edge
        .as_visitor("POST", CONVERSATION_PATH, &ada_token, None)
        .await;
    assert!(
        again.body.contains(&ada_sid),
        "opening twice keeps one session"
    );

    let ada_send = route::send(&ada_sid);
    let forged = json!({"content": "Hello, I need help", "meta": {"visitor": {"id": "someone-else"}, "clientId": "c-1"}});
    let sent = edge
        .call_as_visitor(&ada_send, &ada_token, Some(&forged))
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let msg = sent.json();
    assert_eq!(
        msg["meta"]["visitor"]["id"],
        json!(ada.visitor_id),
        "the worker's mark wins"
    );
    assert_eq!(msg["meta"]["visitor"]["name"], "Ada");
    assert_eq!(msg["meta"]["visitor"]["site"], "acme");
    let policy = sent.header(POLICY_HEADER).unwrap_or_default();
    assert_eq!(
        policy, "\"visitor\";q=20;w=60",
        "a visitor sees their own budget"
    );

    // Upstream: the session is the site agent's, with the helper, titled for the visitor.
    let detail = stack.operator.detail(&ada_sid).await;
    assert_eq!(detail.session.title, "Acme Support · Ada");
    assert!(detail.session.participants.contains(&helper));
    // The demo's helper answers Ada once, a moment later: count after that.
    let waited = std::time::Instant::now();
    let mut before = stack.operator.message_count(&ada_sid).await;
    while before < 2 && waited.elapsed() < std::time::Duration::from_secs(15) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        before = stack.operator.message_count(&ada_sid).await;
    }
    assert_eq!(before, 2, "Ada's message and the helper's answer");

    // Bob: another visitor, reaching for Ada's session and for operator calls.
    let (_bob, bob_token) = new_visitor(&edge, None).await;
    let bob_open = edge
        .as_visitor("POST", CONVERSATION_PATH, &bob_token, None)
        .await;
    let bob_sid = serde_json::from_str::<VisitorInfo>(&bob_open.body)
        .unwrap()
        .session_id
        .unwrap();
    assert_ne!(bob_sid, ada_sid);
    let attempts: Vec<(Route, Option<Value>)> = vec![
        (route::messages(&ada_sid, None), None),
        (route::watch(&ada_sid, 0, None), None),
        (ada_send.clone(), Some(json!({"content": "I am Ada"}))),
        (route::detail(&ada_sid), None),
        (route::detail(&bob_sid), None),
        (
            Route::CloseSession {
                session_id: bob_sid.clone(),
            },
            None,
        ),
        (
            Route::AddParticipants {
                session_id: bob_sid.clone(),
            },
            Some(json!({"participants": [helper]})),
        ),
        (route::sessions(None), None),
        (
            Route::CreateSession,
            Some(json!({"participants": [helper]})),
        ),
        (Route::WorkspaceGroup, None),
        (Route::BindAgent, Some(json!({"email": "x@example.com"}))),
    ];
    for (route, body) in &attempts {
        let a = edge.call_as_visitor(route, &bob_token, body.as_ref()).await;
        let (method, path) = (route.method(), route.api_target());
        assert_eq!(a.status, 403, "{method} {path}: {}", a.body);
    }
    for path in [AGENTS_PATH, SESSION_PATH] {
        let a = edge.as_visitor("GET", path, &bob_token, None).await;
        assert_eq!(
            a.status, 401,
            "{path}: operator routes need the operator's cookie"
        );
    }
    let register = edge
        .call_as_visitor(
            &Route::Register,
            &bob_token,
            Some(&json!({"name": "X", "username": "x_bob"})),
        )
        .await;
    assert_eq!(register.status, 401, "{}", register.body);
    let tampered = ada_token.replace(&ada.visitor_id, &"0".repeat(32));
    let a = edge
        .call_as_visitor(&route::messages(&ada_sid, None), &tampered, None)
        .await;
    assert_eq!(a.status, 401, "a tampered token");
    let after = stack.operator.message_count(&ada_sid).await;
    assert_eq!(after, before, "nothing reached Ada's session");
    assert_eq!(
        stack.operator.detail(&bob_sid).await.session.status,
        mochat_api::SessionStatus::Open
    );

    // Bob spends his sub-quota: 429 with his own countdown; Ada still chats.
    let own = route::messages(&bob_sid, None);
    let mut admitted = 0;
    let mut refused = None;
    for _ in 0..30 {
        let a = edge.call_as_visitor(&own, &bob_token, None).await;
        match a.status {
            200 => admitted += 1,
            429 => {
                refused = Some(a);
                break;
            }
            other => panic!("unexpected {other}: {}", a.body),
        }
    }
    let refused = refused.expect("Bob is refused within 30 requests");
    assert_eq!(
        admitted, 19,
        "exactly 20 per window: 1 went to opening his conversation, refusals cost nothing"
    );
    assert_eq!(refused.error_code().as_deref(), Some("RATE_LIMITED"));
    let retry: u64 = refused
        .header(RETRY_AFTER_HEADER)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(
        refused
            .header(STATE_HEADER)
            .unwrap_or_default()
            .starts_with("\"visitor\";r=0;")
    );
    let ada_again = edge
        .call_as_visitor(
            &ada_send,
            &ada_token,
            Some(&json!({"content": "Are you there?"})),
        )
        .await;
    assert_eq!(
        ada_again.status, 201,
        "Ada is not starved by Bob: {}",
        ada_again.body
    );

    faults::record(&faults::Row {
        case: "access: a widget visitor reaching another visitor's session and operator routes".into(),
        attempts: (attempts.len() + 4) as u64,
        lost: u64::from(after != before),
        leaked: edge.received_containing("claw_").len() as u64,
        note: "403 for every other session and route, 401 for operator routes and tampered tokens; nothing changed upstream; sub-quota 20 exact".into(),
        ..faults::Row::default()
    });
    assert!(
        edge.received_containing("claw_").is_empty(),
        "no claw token reached a visitor"
    );
}

/// `GET /edge/visitors`: the operator of the site's agent reads what the
/// worker keeps of a visitor; a visitor, a stranger, another agent and a
/// visitor never minted get nothing.
#[tokio::test(flavor = "multi_thread")]
async fn only_the_sites_operator_reads_a_visitors_details() {
    let host = HostSite::start(String::new(), String::new()).expect("host site");
    let mut helper = String::new();
    let stack = Stack::demo_with("visitor-details", |local| {
        helper = local
            .demo_value("helper agent id")
            .expect("the demo's helper");
        vec![("WIDGET_SITES".to_owned(), sites(&host.origin(), &helper))]
    });
    let edge = Edge::new(stack.origin());
    let (ada, token) = new_visitor(&edge, Some("Ada")).await;
    let told = edge
        .as_visitor(
            "POST",
            ME_PATH,
            &token,
            Some(&json!({"name": "Ada Lovelace", "email": "ada@example.com"})),
        )
        .await;
    assert_eq!(told.status, 200, "{}", told.body);
    let opened = edge
        .as_visitor("POST", CONVERSATION_PATH, &token, None)
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let target = visitor_target("acme", &ada.visitor_id);

    // Nobody signed in, and the visitor herself: 401.
    assert_eq!(edge.get(&target).await.status, 401);
    let own = edge.as_visitor("GET", &target, &token, None).await;
    assert_eq!(
        own.status, 401,
        "a visitor token does not open it: {}",
        own.body
    );

    // The operator: her record.
    let mut operator = Edge::new(stack.origin());
    assert_eq!(operator.sign_in(&stack.options.password).await, 204);
    let read = operator.get(&target).await;
    assert_eq!(read.status, 200, "{}", read.body);
    let d: VisitorDetails = serde_json::from_str(&read.body).expect("details");
    assert_eq!(
        (
            d.name.as_str(),
            d.email.as_deref(),
            d.site.as_str(),
            d.site_title.as_str()
        ),
        (
            "Ada Lovelace",
            Some("ada@example.com"),
            "acme",
            "Acme Support"
        )
    );
    assert!(d.session_id.is_some(), "her conversation is named");
    // RFC3339 in UTC, all of one length: compared as text.
    let (first, last) = (
        d.first_seen.clone().expect("first seen"),
        d.last_seen.clone().expect("last seen"),
    );
    assert!(first.ends_with('Z') && last.ends_with('Z') && first.len() == last.len());
    assert!(first <= last, "{first} <= {last}");

    // Acting as another agent, a visitor never minted, no visitor named: nothing.
    let other = operator
        .send("GET", &target, None, &[(AGENT_HEADER, "someone_else")])
        .await;
    assert_eq!(other.status, 404, "{}", other.body);
    let unknown = operator
        .get(&visitor_target("acme", "v_never_minted"))
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(operator.get(VISITORS_PATH).await.status, 400);
    for answer in [other, unknown] {
        assert_eq!(
            answer.error_code().as_deref(),
            Some("NOT_FOUND"),
            "{}",
            answer.body
        );
    }
}
