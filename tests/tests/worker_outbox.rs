//! The real edge worker under `wrangler dev` against the real local MoChat
//! server: a send retried with the same `meta.clientId` never posts twice,
//! for sessions and panels, also when the retries race.

use mochat_api::ratelimit::{POLICY_HEADER, STATE_HEADER};
use mochat_api::{Message, Route};
use mochat_tests::{Answer, Edge, Mochat, Stack, route};
use serde_json::{Value, json};

/// Where messages are sent: a session or a panel.
#[derive(Clone, Debug)]
enum Target {
    Session(String),
    Panel(String),
}

impl Target {
    fn send_route(&self) -> Route {
        match self {
            Self::Session(id) => route::send(id),
            Self::Panel(id) => route::panel_send(id),
        }
    }

    fn list_route(&self) -> Route {
        match self {
            Self::Session(id) => Route::ListSessionMessages {
                session_id: id.clone(),
                query: Default::default(),
            },
            Self::Panel(id) => Route::ListPanelMessages {
                panel_id: id.clone(),
                query: Default::default(),
            },
        }
    }

    /// Every message upstream (asked of the local server directly), oldest first.
    async fn upstream(&self, operator: &Mochat) -> Vec<Message> {
        operator.all_messages_of(self.list_route()).await
    }

    /// How many messages upstream have exactly this content.
    async fn count(&self, operator: &Mochat, content: &str) -> usize {
        self.upstream(operator)
            .await
            .iter()
            .filter(|m| m.content == content)
            .count()
    }
}

fn body(content: &str, client_id: Option<&str>) -> Value {
    match client_id {
        Some(id) => json!({"content": content, "meta": {"clientId": id}}),
        None => json!({"content": content}),
    }
}

fn message_id(a: &Answer) -> String {
    a.json()["messageId"]
        .as_str()
        .unwrap_or_else(|| panic!("a message: {} {}", a.status, a.body))
        .to_owned()
}

/// The `r` of a `RateLimit` header.
fn remaining(a: &Answer) -> u32 {
    let value = a
        .header(STATE_HEADER)
        .unwrap_or_else(|| panic!("a {STATE_HEADER} header"));
    value
        .split(';')
        .find_map(|p| p.strip_prefix("r="))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("{STATE_HEADER} {value}"))
}

/// Everything the feature promises, against one target.
async fn retried_sends_post_once(edge: &Edge, operator: &Mochat, target: &Target, tag: &str) {
    let send = target.send_route();

    // 1. A retry gets the original message; upstream holds one.
    let content = format!("{tag}: sent once, retried");
    let client_id = format!("c-e2e-1-{tag}");
    let first = edge
        .call(&send, Some(&body(&content, Some(&client_id))))
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = edge
        .call(&send, Some(&body(&content, Some(&client_id))))
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(message_id(&again), message_id(&first));
    assert_eq!(
        again.json(),
        first.json(),
        "the stored answer is the original"
    );
    assert_eq!(first.json()["meta"]["clientId"], client_id.as_str());
    // The retry passed the limiter and counted; it carries the headers.
    assert_eq!(
        again.header(POLICY_HEADER).as_deref(),
        Some("\"agent\";q=120;w=60")
    );
    assert_eq!(remaining(&again) + 1, remaining(&first));
    assert!(
        again
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    assert_eq!(target.count(operator, &content).await, 1);
    // Even with other content, the same client id answers the stored message.
    let changed = edge
        .call(
            &send,
            Some(&body(&format!("{content} (edited)"), Some(&client_id))),
        )
        .await;
    assert_eq!(changed.status, 201, "{}", changed.body);
    assert_eq!(message_id(&changed), message_id(&first));
    assert_eq!(
        target.count(operator, &format!("{content} (edited)")).await,
        0
    );

    // 2. Ten identical sends racing: one post; the rest get it, or 409.
    let content = format!("{tag}: ten racing retries");
    let client_id = format!("c-e2e-2-{tag}");
    let racing = (0..10).map(|_| {
        let edge = edge.clone();
        let send = send.clone();
        let body = body(&content, Some(&client_id));
        tokio::spawn(async move { edge.call(&send, Some(&body)).await })
    });
    let answers: Vec<Answer> = futures::future::join_all(racing)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}: {:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    let created: Vec<String> = answers
        .iter()
        .filter(|a| a.status == 201)
        .map(message_id)
        .collect();
    assert!(!created.is_empty(), "{statuses:?}");
    assert!(
        created.iter().all(|id| *id == created[0]),
        "one message id: {created:?}"
    );
    for a in answers.iter().filter(|a| a.status == 409) {
        assert_eq!(a.error_code().as_deref(), Some("CONFLICT"), "{}", a.body);
        assert!(a.header(STATE_HEADER).is_some());
    }
    assert_eq!(target.count(operator, &content).await, 1, "{statuses:?}");
    // Once it is stored, a retry gets it too.
    let late = edge
        .call(&send, Some(&body(&content, Some(&client_id))))
        .await;
    assert_eq!(late.status, 201, "{}", late.body);
    assert_eq!(message_id(&late), created[0]);

    // 3. Different client ids: different messages. No (usable) client id: no dedupe.
    let content = format!("{tag}: two client ids");
    let a = edge
        .call(
            &send,
            Some(&body(&content, Some(&format!("c-e2e-3a-{tag}")))),
        )
        .await;
    let b = edge
        .call(
            &send,
            Some(&body(&content, Some(&format!("c-e2e-3b-{tag}")))),
        )
        .await;
    assert_eq!((a.status, b.status), (201, 201), "{} {}", a.body, b.body);
    assert_ne!(message_id(&a), message_id(&b));
    assert_eq!(target.count(operator, &content).await, 2);
    for (case, meta) in [
        ("no client id", None),
        ("unusable client id", Some("not a usable id!")),
    ] {
        let content = format!("{tag}: {case}");
        let a = edge.call(&send, Some(&body(&content, meta))).await;
        let b = edge.call(&send, Some(&body(&content, meta))).await;
        assert_eq!((a.status, b.status), (201, 201), "{} {}", a.body, b.body);
        assert_ne!(message_id(&a), message_id(&b), "{case}");
        assert_eq!(target.count(operator, &content).await, 2, "{case}");
    }

    // A send the upstream refused does not hold its client id: the retry posts.
    let client_id = format!("c-e2e-4-{tag}");
    let refused = edge.call(&send, Some(&body("   ", Some(&client_id)))).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let content = format!("{tag}: posted after a refusal");
    let retry = edge
        .call(&send, Some(&body(&content, Some(&client_id))))
        .await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(target.count(operator, &content).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_send_never_posts_twice() {
    let s = Stack::demo("worker-outbox", &[]);
    let mut edge = Edge::new(s.origin());
    assert_eq!(edge.sign_in(&s.options.password).await, 204);

    let sid = s.operator.sessions().await.sessions[0].session_id.clone();
    let pid = s.operator.group().await.panels[0].panel_id.clone();
    retried_sends_post_once(&edge, &s.operator, &Target::Session(sid), "session").await;
    retried_sends_post_once(&edge, &s.operator, &Target::Panel(pid.clone()), "panel").await;

    // Keys are per target: the same client id in another target is another message.
    let sessions = s.operator.sessions().await.sessions;
    if let Some(other) = sessions.get(1) {
        let other = Target::Session(other.session_id.clone());
        let content = "session: c-e2e-1 reused elsewhere";
        let a = edge
            .call(
                &other.send_route(),
                Some(&body(content, Some("c-e2e-1-session"))),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.json()["content"], content);
        assert_eq!(other.count(&s.operator, content).await, 1);
    }
    let content = "panel: the session's client id";
    let p = edge
        .call(
            &Target::Panel(pid.clone()).send_route(),
            Some(&body(content, Some("c-e2e-1-session"))),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert_eq!(p.json()["content"], content);

    // Nothing the browser side received held a claw token.
    let leaks = edge.received_containing("claw_");
    assert!(leaks.is_empty(), "claw_ reached the browser: {leaks:?}");
}
