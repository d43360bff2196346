//! Every call of the contract over HTTP: success shapes and each error it can give.

mod common;

use common::{Api, memory_config, route, start};
use mochat_api::limits::is_claw_token;
use mochat_api::ratelimit::STATE_HEADER;
use mochat_api::routes::API_PREFIX;
use mochat_api::{Group, Message, Route, Session, SessionDetail, SessionStatus};
use reqwest::Method;
use serde_json::{Value, json};

fn is_timestamp(value: &Value) -> bool {
    let s = value.as_str().unwrap_or("");
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
}

/// A change's `updatedAt` is a timestamp later than the one before it.
fn assert_moved_on(before: &Value, after: &Value) {
    assert!(
        is_timestamp(before) && is_timestamp(after),
        "{before} → {after}"
    );
    assert!(
        after.as_str() > before.as_str(),
        "updatedAt {before} → {after}"
    );
}

#[tokio::test]
async fn register_creates_agents_with_unique_usernames() {
    let (server, api) = start(memory_config()).await;
    let body = |v: Value| Some(v.to_string().into_bytes());
    let resp = api
        .raw(Method::POST, Route::Register, None, body(json!({"name": "Agent Name", "username": "agent_username", "avatar": "https://example.com/a.png"})))
        .await;
    assert_eq!(resp.status, 201, "{:?}", resp.body);
    assert!(is_claw_token(
        resp.body["claw_token"].as_str().expect("token")
    ));
    assert!(
        resp.body["botUserId"]
            .as_str()
            .is_some_and(|id| id.starts_with("agent_"))
    );
    assert!(
        resp.body["workspaceId"]
            .as_str()
            .is_some_and(|id| id.starts_with("ws_"))
    );
    assert!(
        resp.header(STATE_HEADER).is_none(),
        "registration is not an agent's request"
    );

    let again = api
        .raw(
            Method::POST,
            Route::Register,
            None,
            body(json!({"name": "Other", "username": "agent_username"})),
        )
        .await;
    again.assert_error(409, "CONFLICT");
    for bad in [
        json!({"name": "x"}),
        json!({"name": 5, "username": "u"}),
        json!({"name": "", "username": "u"}),
        json!([]),
    ] {
        api.raw(Method::POST, Route::Register, None, body(bad))
            .await
            .assert_error(400, "BAD_REQUEST");
    }
    api.raw(
        Method::POST,
        Route::Register,
        None,
        Some(b"{not json".to_vec()),
    )
    .await
    .assert_error(400, "BAD_REQUEST");

    // The same workspace for everyone registered here.
    let a = api.register("A").await;
    let b = api.register("B").await;
    assert_eq!(a.workspace_id, b.workspace_id);
    server.shutdown().await;
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let (server, api) = start(memory_config()).await;
    api.raw(Method::GET, route::sessions(None, None), None, None)
        .await
        .assert_error(401, "UNAUTHORIZED");
    api.get(
        route::sessions(None, None),
        "claw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    .await
    .assert_error(401, "UNAUTHORIZED");
    api.get(Route::WorkspaceGroup, "")
        .await
        .assert_error(401, "UNAUTHORIZED");
    server.shutdown().await;
}

#[tokio::test]
async fn bind_finds_or_creates_the_person_and_greets_once() {
    let (server, api) = start(memory_config()).await;
    let agent = api.register("Binder").await;
    let first = api
        .post(
            Route::BindAgent,
            &agent.token,
            json!({"email": "Ada@Example.com"}),
        )
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["success"], json!(true));
    let session_id = first.body["sessionId"]
        .as_str()
        .expect("session")
        .to_owned();
    let owner = first.body["ownerUserId"]
        .as_str()
        .expect("owner")
        .to_owned();
    let second = api
        .post(
            Route::BindAgent,
            &agent.token,
            json!({"email": "ada@example.COM"}),
        )
        .await;
    assert_eq!(second.body["sessionId"], json!(session_id));
    assert_eq!(second.body["ownerUserId"], json!(owner));

    let session: Session = serde_json::from_value(
        api.get(route::session(&session_id), &agent.token)
            .await
            .body,
    )
    .expect("a session");
    assert_eq!(session.participants, [agent.id.clone(), owner.clone()]);
    let messages = api.all_messages(&agent, &session_id, 50).await;
    assert_eq!(messages.len(), 1, "one greeting: {messages:?}");
    assert_eq!(messages[0]["author"], json!(agent.id));
    let detail = api.get(route::detail(&session_id), &agent.token).await;
    let person = &detail.body["participantInfo"][1];
    assert_eq!(person["type"], json!("user"));
    assert_eq!(person["email"], json!("ada@example.com"));

    for bad in ["ada", "ada@example", "@example.com", "a b@example.com", ""] {
        api.post(Route::BindAgent, &agent.token, json!({"email": bad}))
            .await
            .assert_error(400, "BAD_REQUEST");
    }
    api.post(Route::BindAgent, &agent.token, json!({}))
        .await
        .assert_error(400, "BAD_REQUEST");
    server.shutdown().await;
}

#[tokio::test]
async fn sessions_create_get_detail_and_permissions() {
    let (server, api) = start(memory_config()).await;
    let (a, b, outsider) = (
        api.register("A").await,
        api.register("B").await,
        api.register("Out").await,
    );

    let created = api
        .post(
            Route::CreateSession,
            &a.token,
            json!({"participants": [b.id, b.id], "title": "Plan"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let session: Session = serde_json::from_value(created.body.clone()).expect("a session");
    assert_eq!(session.participants, [a.id.clone(), b.id.clone()]);
    assert_eq!(session.created_by, a.id);
    assert_eq!(session.status, SessionStatus::Open);
    assert_eq!(session.title, "Plan");
    assert!(session.last_message.is_none());
    assert_eq!(session.workspace_id, a.workspace_id);
    assert!(is_timestamp(&created.body["createdAt"]) && is_timestamp(&created.body["updatedAt"]));

    // Title defaults to "", the creator is always in, titles are limited.
    let untitled = api
        .post(Route::CreateSession, &a.token, json!({"participants": []}))
        .await;
    assert_eq!(untitled.body["title"], json!(""));
    assert_eq!(untitled.body["participants"], json!([a.id]));
    api.post(
        Route::CreateSession,
        &a.token,
        json!({"participants": [], "title": "t".repeat(201)}),
    )
    .await
    .assert_error(400, "BAD_REQUEST");
    assert_eq!(
        api.post(
            Route::CreateSession,
            &a.token,
            json!({"participants": [], "title": "é".repeat(200)})
        )
        .await
        .status,
        201
    );
    api.post(
        Route::CreateSession,
        &a.token,
        json!({"participants": ["agent_nobody"]}),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    api.post(Route::CreateSession, &a.token, json!({"participants": "b"}))
        .await
        .assert_error(400, "BAD_REQUEST");
    api.post(
        Route::CreateSession,
        &a.token,
        json!({"title": "no participants"}),
    )
    .await
    .assert_error(400, "BAD_REQUEST");

    let sid = &session.session_id;
    let got = api.get(route::session(sid), &b.token).await;
    assert_eq!(got.status, 200);
    assert_eq!(
        serde_json::from_value::<Session>(got.body).expect("a session"),
        session
    );
    api.get(route::session(sid), &outsider.token)
        .await
        .assert_error(403, "FORBIDDEN");
    let missing = api.get(route::session("session_missing"), &a.token).await;
    missing.assert_error(404, "NOT_FOUND");
    assert!(
        missing.body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("session_missing")
    );

    api.send(&a, sid, "one").await;
    api.send(&b, sid, "two").await;
    let detail = api.get(route::detail(sid), &a.token).await;
    assert_eq!(detail.status, 200);
    let detail: SessionDetail = serde_json::from_value(detail.body).expect("a detail");
    assert_eq!(detail.message_count, 2);
    assert_eq!(detail.cursor, 2);
    assert_eq!(
        detail
            .participant_info
            .iter()
            .map(|u| u.user_id.clone())
            .collect::<Vec<_>>(),
        [a.id.clone(), b.id.clone()]
    );
    assert_eq!(
        detail.session.last_message.map(|m| m.content),
        Some("two".into())
    );
    api.get(route::detail(sid), &outsider.token)
        .await
        .assert_error(403, "FORBIDDEN");
    api.get(route::detail("session_missing"), &a.token)
        .await
        .assert_error(404, "NOT_FOUND");
    server.shutdown().await;
}

#[tokio::test]
async fn close_is_idempotent_and_closed_sessions_refuse_changes() {
    let (server, api) = start(memory_config()).await;
    let (a, b, c) = (
        api.register("A").await,
        api.register("B").await,
        api.register("C").await,
    );
    let sid = api.session(&a, &[&b], "to close").await;
    let before = api.get(route::session(&sid), &a.token).await.body;
    let closed = api.post(route::close(&sid), &b.token, json!({})).await;
    assert_eq!(closed.status, 200);
    assert_eq!(closed.body["status"], json!("closed"));
    assert_moved_on(&before["updatedAt"], &closed.body["updatedAt"]);
    let cursor = api.get(route::detail(&sid), &a.token).await.body["cursor"].clone();
    assert_eq!(cursor, json!(1), "the first close is one event");
    let again = api
        .raw(Method::POST, route::close(&sid), Some(&a.token), None)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["status"], json!("closed"));
    assert_eq!(
        api.get(route::detail(&sid), &a.token).await.body["cursor"],
        json!(1)
    );

    api.post(route::send(&sid), &a.token, json!({"content": "late"}))
        .await
        .assert_error(409, "CONFLICT");
    api.post(
        route::add_participants(&sid),
        &a.token,
        json!({"participants": [c.id]}),
    )
    .await
    .assert_error(409, "CONFLICT");
    api.delete(
        route::remove_participants(&sid),
        &a.token,
        json!({"participants": [b.id]}),
    )
    .await
    .assert_error(409, "CONFLICT");
    // Precedence: malformed before state, forbidden before conflict.
    api.post(route::send(&sid), &a.token, json!({"content": " "}))
        .await
        .assert_error(400, "BAD_REQUEST");
    api.post(route::send(&sid), &c.token, json!({"content": "x"}))
        .await
        .assert_error(403, "FORBIDDEN");
    api.post(route::close(&sid), &c.token, json!({}))
        .await
        .assert_error(403, "FORBIDDEN");
    api.post(route::close("session_missing"), &a.token, json!({}))
        .await
        .assert_error(404, "NOT_FOUND");
    // A closed session can still be read.
    assert_eq!(
        api.get(route::messages(&sid, None, None), &a.token)
            .await
            .status,
        200
    );
    server.shutdown().await;
}

#[tokio::test]
async fn messages_are_trimmed_counted_and_validated() {
    let (server, api) = start(memory_config()).await;
    let (a, outsider) = (api.register("A").await, api.register("Out").await);
    let sid = api.session(&a, &[], "msgs").await;
    let path = route::send(&sid);

    let sent = api
        .post(
            &path,
            &a.token,
            json!({"content": "\u{3000} hello \n\t", "meta": {"k": [1, 2]}}),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let message: Message = serde_json::from_value(sent.body.clone()).expect("a message");
    assert_eq!(message.content, "hello");
    assert_eq!(message.session_id.as_deref(), Some(sid.as_str()));
    assert!(message.panel_id.is_none());
    assert_eq!(message.author, a.id);
    assert_eq!(message.author_info.user_id, a.id);
    assert_eq!(sent.body["meta"], json!({"k": [1, 2]}));
    assert!(message.message_id.starts_with("msg_") && is_timestamp(&sent.body["createdAt"]));

    let null_meta = api
        .post(&path, &a.token, json!({"content": "x", "meta": null}))
        .await;
    assert_eq!(null_meta.body["meta"], json!({}));
    let no_meta = api.post(&path, &a.token, json!({"content": "x"})).await;
    assert_eq!(no_meta.body["meta"], json!({}));
    assert_eq!(
        api.post(&path, &a.token, json!({"content": "é".repeat(10_000)}))
            .await
            .status,
        201
    );
    assert_eq!(
        api.post(
            &path,
            &a.token,
            json!({"content": format!("  {}  ", "x".repeat(10_000))})
        )
        .await
        .status,
        201
    );
    let meta_ok = json!({"k": "x".repeat(8 * 1024 - 8)});
    assert_eq!(serde_json::to_vec(&meta_ok).expect("json").len(), 8 * 1024);
    assert_eq!(
        api.post(&path, &a.token, json!({"content": "x", "meta": meta_ok}))
            .await
            .status,
        201
    );

    for bad in [
        json!({"content": ""}),
        json!({"content": " \n\t\u{3000}"}),
        json!({"content": "x".repeat(10_001)}),
        json!({"content": 5}),
        json!({"meta": {}}),
        json!({"content": "x", "meta": []}),
        json!({"content": "x", "meta": "str"}),
        json!({"content": "x", "meta": {"k": "x".repeat(8 * 1024 - 7)}}),
    ] {
        api.post(&path, &a.token, bad)
            .await
            .assert_error(400, "BAD_REQUEST");
    }
    api.raw(
        Method::POST,
        &path,
        Some(&a.token),
        Some(b"{\"content\": ".to_vec()),
    )
    .await
    .assert_error(400, "BAD_REQUEST");
    api.raw(Method::POST, &path, Some(&a.token), None)
        .await
        .assert_error(400, "BAD_REQUEST");
    api.post(&path, &outsider.token, json!({"content": "x"}))
        .await
        .assert_error(403, "FORBIDDEN");
    api.post(
        route::send("session_missing"),
        &a.token,
        json!({"content": "x"}),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    // Malformed input wins over an unknown session.
    api.post(
        route::send("session_missing"),
        &a.token,
        json!({"content": ""}),
    )
    .await
    .assert_error(400, "BAD_REQUEST");

    let session = api.get(route::session(&sid), &a.token).await.body;
    assert_eq!(
        session["lastMessage"]["messageId"],
        json!(api.all_messages(&a, &sid, 100).await.last().expect("one")["messageId"])
    );
    server.shutdown().await;
}

#[tokio::test]
async fn message_lists_check_queries_and_access() {
    let (server, api) = start(memory_config()).await;
    let (a, b, outsider) = (
        api.register("A").await,
        api.register("B").await,
        api.register("Out").await,
    );
    let sid = api.session(&a, &[&b], "list").await;
    let other = api.session(&a, &[], "other").await;
    for i in 0..5 {
        api.send(&a, &sid, &format!("m{i}")).await;
    }
    let other_msg = api.send(&a, &other, "elsewhere").await;
    let page = api
        .get(route::messages(&sid, Some(2), None), &b.token)
        .await;
    assert_eq!(page.status, 200);
    let contents: Vec<&str> = page.body["messages"]
        .as_array()
        .expect("list")
        .iter()
        .map(|m| m["content"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(contents, ["m3", "m4"], "the newest, oldest first");
    assert_eq!(page.body["hasMore"], json!(true));
    let all = api.get(route::messages(&sid, None, None), &a.token).await;
    assert_eq!(all.body["messages"].as_array().map(Vec::len), Some(5));
    assert_eq!(all.body["hasMore"], json!(false));
    assert!(all.body["cursor"].is_null());

    let base = route::messages(&sid, None, None).path();
    for bad in [
        "?limit=0",
        "?limit=101",
        "?limit=abc",
        "?limit=-1",
        "?limit=1&limit=2",
        "?before=garbage",
        "?before=",
        "?limit=1e2",
    ] {
        api.get(&format!("{base}{bad}"), &a.token)
            .await
            .assert_error(400, "BAD_REQUEST");
    }
    let foreign = other_msg["messageId"].as_str().expect("id");
    api.get(route::messages(&sid, None, Some(foreign)), &a.token)
        .await
        .assert_error(400, "BAD_REQUEST");
    assert_eq!(
        api.get(&format!("{base}?limit=100&unknown=1"), &a.token)
            .await
            .status,
        200
    );
    api.get(&base, &outsider.token)
        .await
        .assert_error(403, "FORBIDDEN");
    api.get(route::messages("session_missing", None, None), &a.token)
        .await
        .assert_error(404, "NOT_FOUND");
    api.get(route::messages("session_missing", Some(0), None), &a.token)
        .await
        .assert_error(400, "BAD_REQUEST");
    server.shutdown().await;
}

#[tokio::test]
async fn participants_change_with_events_only_when_real() {
    let (server, api) = start(memory_config()).await;
    let (a, b, c, outsider) = (
        api.register("A").await,
        api.register("B").await,
        api.register("C").await,
        api.register("Out").await,
    );
    let sid = api.session(&a, &[&b], "people").await;
    let (add, remove) = (
        route::add_participants(&sid),
        route::remove_participants(&sid),
    );
    let detail = |api: Api, token: String| {
        let sid = sid.clone();
        async move { api.get(route::detail(&sid), &token).await.body }
    };
    let before = detail(api.clone(), a.token.clone()).await;

    let added = api
        .post(&add, &a.token, json!({"participants": [c.id, b.id]}))
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    assert_eq!(added.body["participants"], json!([a.id, b.id, c.id]));
    assert_moved_on(&before["updatedAt"], &added.body["updatedAt"]);
    let watch = api
        .get(route::watch(&sid, None, Some(0)), &a.token)
        .await
        .body;
    assert_eq!(watch["events"][0]["type"], json!("session.participants"));
    assert_eq!(
        watch["events"][0]["payload"],
        json!({"added": [c.id], "removed": []})
    );

    // No-ops: adding a member, removing a non-member.
    assert_eq!(
        api.post(&add, &a.token, json!({"participants": [b.id]}))
            .await
            .status,
        200
    );
    assert_eq!(
        api.delete(&remove, &a.token, json!({"participants": [outsider.id]}))
            .await
            .status,
        200
    );
    assert_eq!(
        detail(api.clone(), a.token.clone()).await["cursor"],
        json!(1)
    );

    let removed = api
        .delete(&remove, &c.token, json!({"participants": [b.id]}))
        .await;
    assert_eq!(removed.status, 200);
    assert_eq!(removed.body["participants"], json!([a.id, c.id]));
    let events = api
        .get(route::watch(&sid, Some(1), Some(0)), &a.token)
        .await
        .body;
    assert_eq!(
        events["events"][0]["payload"],
        json!({"added": [], "removed": [b.id]})
    );
    assert_eq!(events["cursor"], json!(2));
    api.get(route::session(&sid), &b.token)
        .await
        .assert_error(403, "FORBIDDEN");

    api.post(&add, &a.token, json!({"participants": ["user_nobody"]}))
        .await
        .assert_error(404, "NOT_FOUND");
    api.post(
        &add,
        &outsider.token,
        json!({"participants": [outsider.id]}),
    )
    .await
    .assert_error(403, "FORBIDDEN");
    api.post(&add, &a.token, json!({"participants": "x"}))
        .await
        .assert_error(400, "BAD_REQUEST");
    api.delete(&remove, &a.token, json!({}))
        .await
        .assert_error(400, "BAD_REQUEST");
    api.post(
        route::add_participants("session_missing"),
        &a.token,
        json!({"participants": []}),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    server.shutdown().await;
}

#[tokio::test]
async fn workspace_group_panels_and_invites() {
    let (server, api) = start(memory_config()).await;
    let (a, b) = (api.register("A").await, api.register("B").await);
    let resp = api.get(Route::WorkspaceGroup, &a.token).await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    let group: Group = serde_json::from_value(resp.body).expect("a group");
    assert_eq!(group.workspace_id, a.workspace_id);
    let member_ids: Vec<&str> = group.members.iter().map(|m| m.user_id.as_str()).collect();
    assert!(member_ids.contains(&a.id.as_str()) && member_ids.contains(&b.id.as_str()));
    assert!(!group.panels.is_empty() && group.panels.iter().all(|p| p.kind == "text"));
    let code = group.invite_code.clone().expect("an invite code");

    let joined = api
        .post(Route::JoinGroup, &a.token, json!({"inviteCode": code}))
        .await;
    assert_eq!(joined.status, 200);
    assert_eq!(
        joined.body,
        json!({"success": true, "groupId": group.group_id})
    );
    api.post(
        Route::JoinGroup,
        &a.token,
        json!({"inviteCode": "NOPE000000"}),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    api.post(Route::JoinGroup, &a.token, json!({"code": "x"}))
        .await
        .assert_error(400, "BAD_REQUEST");

    let panel = &group.panels[0].panel_id;
    let sent = api
        .post(
            route::panel_send(panel),
            &b.token,
            json!({"content": " hi all ", "meta": {"x": 1}}),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(sent.body["panelId"], json!(panel));
    assert!(sent.body.get("sessionId").is_none());
    assert_eq!(sent.body["content"], json!("hi all"));
    for i in 0..3 {
        api.post(
            route::panel_send(panel),
            &a.token,
            json!({"content": format!("p{i}")}),
        )
        .await;
    }
    let page = api
        .get(route::panel_messages(panel, Some(2), None), &a.token)
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(page.body["messages"][1]["content"], json!("p2"));
    let cursor = page.body["cursor"].as_str().expect("cursor").to_owned();
    let older = api
        .get(
            route::panel_messages(panel, Some(2), Some(&cursor)),
            &a.token,
        )
        .await;
    assert_eq!(older.body["messages"][0]["content"], json!("hi all"));
    assert_eq!(older.body["hasMore"], json!(false));

    api.post(
        route::panel_send("panel_missing"),
        &a.token,
        json!({"content": "x"}),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    api.get(route::panel_messages("panel_missing", None, None), &a.token)
        .await
        .assert_error(404, "NOT_FOUND");
    api.post(route::panel_send(panel), &a.token, json!({"content": ""}))
        .await
        .assert_error(400, "BAD_REQUEST");
    api.get(
        route::panel_messages(panel, None, Some("msg_nope")),
        &a.token,
    )
    .await
    .assert_error(400, "BAD_REQUEST");
    server.shutdown().await;
}

#[tokio::test]
async fn routes_methods_sizes_and_precedence() {
    let (server, api) = start(memory_config()).await;
    let a = api.register("A").await;
    let big = vec![b'x'; 65 * 1024];

    for path in [
        "/foo".to_owned(),
        "/x".to_owned(),
        Route::Register.path().replace("register", "nothing"),
        format!("{}/", Route::CreateSession.path()),
        route::session("a%2Fb").path(),
    ] {
        api.raw(Method::GET, path, Some(&a.token), None)
            .await
            .assert_error(404, "NOT_FOUND");
    }
    let outside = Api::new(api.base.trim_end_matches(API_PREFIX).to_owned());
    outside
        .raw(Method::GET, "/foo", None, None)
        .await
        .assert_error(404, "NOT_FOUND");
    let health = outside.raw(Method::GET, "/api/health", None, None).await;
    assert_eq!(
        (health.status, health.body.clone()),
        (200, json!({"ok": true}))
    );

    let wrong = api
        .raw(
            Method::PUT,
            Route::CreateSession.path(),
            Some(&a.token),
            None,
        )
        .await;
    wrong.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(wrong.header("allow"), Some("POST, GET"));
    let wrong = api
        .raw(
            Method::GET,
            route::add_participants("s1").path(),
            None,
            None,
        )
        .await;
    wrong.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(wrong.header("allow"), Some("POST, DELETE"));
    let wrong = api
        .raw(Method::GET, Route::Register.path(), None, None)
        .await;
    assert_eq!(wrong.header("allow"), Some("POST"));

    // 404 → 405 → 413 → 401, whatever else is wrong.
    api.raw(
        Method::POST,
        Route::Register.path().replace("register", "nothing"),
        None,
        Some(big.clone()),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    api.raw(
        Method::PUT,
        Route::CreateSession.path(),
        None,
        Some(big.clone()),
    )
    .await
    .assert_error(405, "METHOD_NOT_ALLOWED");
    api.raw(Method::POST, Route::CreateSession, None, Some(big.clone()))
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    api.raw(Method::POST, Route::Register, None, Some(big.clone()))
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    let sid = api.session(&a, &[], "big").await;
    let big_message = json!({"content": "x".repeat(65 * 1024)})
        .to_string()
        .into_bytes();
    api.raw(
        Method::POST,
        route::send(&sid),
        Some(&a.token),
        Some(big_message),
    )
    .await
    .assert_error(413, "PAYLOAD_TOO_LARGE");
    api.raw(
        Method::POST,
        Route::CreateSession,
        None,
        Some(b"{bad".to_vec()),
    )
    .await
    .assert_error(401, "UNAUTHORIZED");
    // Exactly 64 KiB is allowed (and then judged on its content).
    let mut exact = json!({"content": "x", "pad": ""}).to_string().into_bytes();
    let pad = 64 * 1024 - exact.len();
    exact = json!({"content": "x", "pad": "y".repeat(pad)})
        .to_string()
        .into_bytes();
    assert_eq!(exact.len(), 64 * 1024);
    assert_eq!(
        api.raw(Method::POST, route::send(&sid), Some(&a.token), Some(exact))
            .await
            .status,
        201
    );
    server.shutdown().await;
}

#[tokio::test]
async fn session_list_pages_newest_activity_first() {
    let (server, api) = start(memory_config()).await;
    let (a, b) = (api.register("A").await, api.register("B").await);
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(api.session(&a, &[], &format!("s{i}")).await);
    }
    let theirs = api.session(&b, &[], "not a's").await;
    // Activity moves s3 to the front.
    api.send(&a, &ids[3], "bump").await;
    let mut expected: Vec<String> = ids
        .iter()
        .rev()
        .filter(|id| **id != ids[3])
        .cloned()
        .collect();
    expected.insert(0, ids[3].clone());

    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = api
            .get(route::sessions(Some(5), before.as_deref()), &a.token)
            .await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        pages += 1;
        for s in page.body["sessions"].as_array().expect("sessions") {
            seen.push(s["sessionId"].as_str().expect("id").to_owned());
        }
        let updated: Vec<&str> = page.body["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .map(|s| s["updatedAt"].as_str().unwrap_or(""))
            .collect();
        assert!(
            updated.windows(2).all(|w| w[0] >= w[1]),
            "updatedAt descending: {updated:?}"
        );
        if page.body["hasMore"] == json!(false) {
            assert!(page.body["cursor"].is_null());
            break;
        }
        before = Some(page.body["cursor"].as_str().expect("cursor").to_owned());
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);
    assert!(!seen.contains(&theirs));
    let default = api.get(route::sessions(None, None), &a.token).await;
    assert_eq!(default.body["sessions"].as_array().map(Vec::len), Some(12));
    assert!(default.body["cursor"].is_null());
    for bad in [
        "?limit=0",
        "?limit=101",
        "?before=nope",
        "?before=sl_99999",
        "?before=msg_1",
        "?limit=2&limit=3",
    ] {
        api.get(
            format!("{}{bad}", route::sessions(None, None).path()),
            &a.token,
        )
        .await
        .assert_error(400, "BAD_REQUEST");
    }
    server.shutdown().await;
}
