//! The live dialect over HTTP, call by call: each success shape (`{"code":200,
//! "data":…}`) and each error it can give (`{code, name, message}`).

mod common;

use common::{Agent, Api, memory_config, route, start};
use mochat_api::Route;
use mochat_api::limits::is_claw_token;
use mochat_api::live::{
    LiveCall, LiveGroup, LiveMessage, LiveSession, LiveSessionDetail, LiveStatus, MessagesData,
    PanelMessagesData,
};
use mochat_api::ratelimit::STATE_HEADER;
use mochat_local::Config;
use reqwest::Method;
use serde_json::{Value, json};

fn is_timestamp(value: &Value) -> bool {
    let s = value.as_str().unwrap_or("");
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T'
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// Creates a session in the live dialect; returns its id.
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

#[tokio::test]
async fn self_register_needs_no_token_and_derives_usernames() {
    let (server, api) = start(memory_config()).await;
    let register = |body: Option<Value>| {
        let api = api.clone();
        async move {
            api.raw(
                Method::POST,
                LiveCall::AgentsSelfRegister,
                None,
                body.map(|b| b.to_string().into_bytes()),
            )
            .await
        }
    };
    let first = register(Some(
        json!({"name": "Scout", "avatar": "https://example.com/s.png"}),
    ))
    .await;
    let data = first.data();
    assert!(is_claw_token(data["token"].as_str().expect("token")));
    assert_eq!(data["agentId"], data["botUserId"]);
    assert!(
        data["workspaceId"]
            .as_str()
            .is_some_and(|w| w.starts_with("ws_"))
    );
    assert!(
        data["groupId"]
            .as_str()
            .is_some_and(|g| g.starts_with("group_"))
    );
    assert!(
        first.header(STATE_HEADER).is_none(),
        "not an agent's request"
    );
    let token = data["token"].as_str().expect("token").to_owned();

    // The derived username is the name's; a second "Scout" gets a suffix.
    let members = api.get(Route::WorkspaceGroup, &token).await.body["members"].clone();
    let usernames: Vec<&str> = members
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["username"].as_str())
        .collect();
    assert!(usernames.contains(&"scout"), "{usernames:?}");
    let second = register(Some(json!({"name": "Scout"}))).await;
    assert_eq!(second.status, 200);
    // No body at all, or `{}`: an agent called "Agent".
    assert_eq!(register(None).await.status, 200);
    assert_eq!(register(Some(json!({}))).await.status, 200);

    // metadata.username is the username; the reference's rules hold.
    let chosen = register(Some(
        json!({"name": "Ops", "metadata": {"username": "ops_live"}}),
    ))
    .await;
    assert_eq!(chosen.status, 200);
    register(Some(json!({"metadata": {"username": "OPS_LIVE"}})))
        .await
        .assert_live_error(409, "CONFLICT");
    api.raw(
        Method::POST,
        Route::Register,
        None,
        Some(
            json!({"name": "x", "username": "ops_live"})
                .to_string()
                .into_bytes(),
        ),
    )
    .await
    .assert_error(409, "CONFLICT");
    for bad in [
        json!({"metadata": {"username": 5}}),
        json!({"metadata": {"username": "two words"}}),
        json!({"name": "n".repeat(101)}),
        json!({"name": 5}),
        json!({"avatar": "a".repeat(2049)}),
        json!([]),
    ] {
        register(Some(bad))
            .await
            .assert_live_error(400, "BAD_REQUEST");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn bind_greets_with_greeting_msg_once() {
    let (server, api) = start(memory_config()).await;
    let agent = api.live_register("Binder").await;
    let bound = api
        .live(
            LiveCall::AgentsBind,
            &agent.token,
            json!({"email": "Ada@Example.com", "greeting_msg": "Hello Ada!"}),
        )
        .await;
    let data = bound.data().clone();
    let session_id = data["sessionId"].as_str().expect("session").to_owned();
    assert_eq!(data["converseId"], json!(session_id));
    assert_eq!(data["success"], json!(true));
    let owner = data["ownerUserId"].as_str().expect("owner").to_owned();

    let again = api
        .live(
            LiveCall::AgentsBind,
            &agent.token,
            json!({"email": "ada@example.com", "greeting_msg": "Hello again"}),
        )
        .await;
    assert_eq!(again.data()["sessionId"], json!(session_id));
    let page = api
        .live(
            LiveCall::SessionsMessages,
            &agent.token,
            json!({"sessionId": session_id}),
        )
        .await;
    let messages = page.data()["messages"]
        .as_array()
        .expect("messages")
        .clone();
    assert_eq!(messages.len(), 1, "one greeting: {messages:?}");
    assert_eq!(messages[0]["content"], json!("Hello Ada!"));
    let detail = api
        .live(
            LiveCall::SessionsDetail,
            &agent.token,
            json!({"sessionId": session_id}),
        )
        .await;
    assert_eq!(detail.data()["participants"][1]["userId"], json!(owner));
    assert_eq!(
        detail.data()["participants"][1]["email"],
        json!("ada@example.com")
    );

    // Without greeting_msg the body is the reference's bind, answered in its shape.
    let rest = api
        .post(
            Route::BindAgent,
            &agent.token,
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(rest.status, 200);
    assert_eq!(rest.body["sessionId"], json!(session_id));
    assert!(rest.body.get("code").is_none() && rest.body.get("data").is_none());

    for bad in [
        json!({"email": "ada", "greeting_msg": "hi"}),
        json!({"email": "ada@example.com", "greeting_msg": "  "}),
        json!({"email": "ada@example.com", "greeting_msg": "x".repeat(10_001)}),
        json!({"greeting_msg": "hi"}),
        json!({"email": 5, "greeting_msg": "hi"}),
    ] {
        api.live(LiveCall::AgentsBind, &agent.token, bad)
            .await
            .assert_live_error(400, "BAD_REQUEST");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn sessions_create_get_and_detail() {
    let (server, api) = start(memory_config()).await;
    let a = api.live_register("Alpha").await;
    let b = api.register("Bravo").await;
    let outsider = api.live_register("Outsider").await;
    // A person, known by email (bound by a).
    let person = api
        .live(
            LiveCall::AgentsBind,
            &a.token,
            json!({"email": "grace@example.com", "greeting_msg": "Hi Grace"}),
        )
        .await
        .data()["ownerUserId"]
        .clone();
    let b_username = api.get(Route::WorkspaceGroup, &b.token).await.body["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["userId"] == json!(b.id))
        .and_then(|m| m["username"].as_str())
        .expect("b's username")
        .to_owned();

    let created = api
        .live(
            LiveCall::SessionsCreate,
            &a.token,
            json!({"participants": [
                    {"type": "agent", "uniqueName": b_username.to_uppercase()},
                    {"type": "user", "email": "Grace@Example.com", "name": "Grace"},
                    {"type": "agent", "id": b.id}],
                "visibility": "public",
                "metadata": {"title": "Launch", "topic": "release"}}),
        )
        .await;
    let data = created.data().clone();
    let session: LiveSession = serde_json::from_value(data.clone()).expect("a live session");
    let sid = session.session_id.clone();
    assert_eq!(session.converse_id.as_deref(), Some(sid.as_str()));
    assert_eq!(
        session.workspace_id.as_deref(),
        Some(a.workspace_id.as_str())
    );
    assert_eq!(
        session.participants,
        [
            a.id.clone(),
            b.id.clone(),
            person.as_str().expect("id").to_owned()
        ]
    );
    assert_eq!(session.visibility.as_deref(), Some("public"));
    assert_eq!(session.status, LiveStatus::Active);
    assert_eq!(
        session.metadata,
        json!({"title": "Launch", "topic": "release"})
            .as_object()
            .cloned()
    );
    assert!(is_timestamp(&data["createdAt"]) && is_timestamp(&data["updatedAt"]));
    for absent in ["title", "lastMessage", "createdBy"] {
        assert!(data.get(absent).is_none(), "{absent} in {data}");
    }
    // The reference's dialect sees the same session, its title from metadata.title.
    let rest = api.get(route::session(&sid), &b.token).await;
    assert_eq!(rest.body["title"], json!("Launch"));
    assert_eq!(rest.body["status"], json!("open"));

    let got = api
        .live(LiveCall::SessionsGet, &b.token, json!({"sessionId": sid}))
        .await;
    assert_eq!(got.data(), &data);
    let untitled = api
        .live(
            LiveCall::SessionsCreate,
            &a.token,
            json!({"participants": []}),
        )
        .await;
    assert_eq!(untitled.data()["metadata"], json!({}));
    assert_eq!(untitled.data()["visibility"], json!("private"));
    assert_eq!(untitled.data()["participants"], json!([a.id]));

    let detail = api
        .live(
            LiveCall::SessionsDetail,
            &a.token,
            json!({"sessionId": sid}),
        )
        .await;
    let d: LiveSessionDetail = serde_json::from_value(detail.data().clone()).expect("a detail");
    assert_eq!(d.title(), "Launch");
    assert_eq!(d.participants.len(), 3);
    assert_eq!(d.participants[0].nickname, "Alpha");
    assert_eq!(d.participants[0].online, Some(false));
    assert_eq!(
        d.participants[2].email.as_deref(),
        Some("grace@example.com")
    );
    for absent in ["cursor", "messageCount", "participantInfo"] {
        assert!(detail.data().get(absent).is_none(), "{absent}");
    }

    // Errors: input before resources, resources before permission.
    for bad in [
        json!({}),
        json!({"participants": "b"}),
        json!({"participants": [{"id": b.id}]}),
        json!({"participants": [{"type": "robot", "id": b.id}]}),
        json!({"participants": [{"type": "user", "name": "Grace"}]}),
        json!({"participants": [], "visibility": "secret"}),
        json!({"participants": [], "metadata": {"title": 5}}),
        json!({"participants": [], "metadata": {"title": "t".repeat(201)}}),
        json!({"participants": [], "metadata": "x"}),
    ] {
        api.live(LiveCall::SessionsCreate, &a.token, bad)
            .await
            .assert_live_error(400, "BAD_REQUEST");
    }
    for unknown in [
        json!({"type": "agent", "id": "agent_nobody"}),
        json!({"type": "agent", "uniqueName": "nobody_here"}),
        json!({"type": "user", "email": "nobody@example.com"}),
    ] {
        api.live(
            LiveCall::SessionsCreate,
            &a.token,
            json!({"participants": [unknown]}),
        )
        .await
        .assert_live_error(404, "NOT_FOUND");
    }
    for call in [LiveCall::SessionsGet, LiveCall::SessionsDetail] {
        api.live(call, &outsider.token, json!({"sessionId": sid}))
            .await
            .assert_live_error(403, "FORBIDDEN");
        api.live(call, &a.token, json!({"sessionId": "session_missing"}))
            .await
            .assert_live_error(404, "NOT_FOUND");
        api.live(call, &a.token, json!({"sessionId": ""}))
            .await
            .assert_live_error(400, "BAD_REQUEST");
        api.live(call, &a.token, json!({}))
            .await
            .assert_live_error(400, "BAD_REQUEST");
        api.raw(Method::POST, call, None, None)
            .await
            .assert_live_error(401, "UNAUTHORIZED");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn send_stores_no_meta_and_close_refuses_later_changes() {
    let (server, api) = start(memory_config()).await;
    let (a, b, c) = (
        api.live_register("A").await,
        api.live_register("B").await,
        api.live_register("C").await,
    );
    let sid = live_session(&api, &a, &[&b], "chat").await;
    let sent = api
        .live(
            LiveCall::SessionsSend,
            &a.token,
            json!({"sessionId": sid, "content": "  hello  ", "meta": {"clientId": "smuggled",
                "visitor": {"id": "v"}}, "replyTo": "msg_x", "groupId": "ignored"}),
        )
        .await;
    let data = sent.data();
    assert_eq!(data["sessionId"], json!(sid));
    let message: LiveMessage = serde_json::from_value(data["message"].clone()).expect("message");
    assert_eq!(message.content, "hello");
    assert_eq!(message.author, a.id);
    assert_eq!(message.converse_id.as_deref(), Some(sid.as_str()));
    assert!(message.group_id.is_none());
    assert_eq!(
        message.meta,
        Some(serde_json::Map::new()),
        "no meta through the live dialect"
    );
    let info = message.author_info.expect("author info");
    assert_eq!(
        (info.nickname.as_deref(), info.agent_id.as_deref()),
        (Some("A"), Some(a.id.as_str()))
    );
    let stored = api.all_messages(&b, &sid, 50).await;
    assert_eq!(stored[0]["meta"], json!({}), "stored meta is {{}} too");

    for bad in [
        json!({"sessionId": sid, "content": " "}),
        json!({"sessionId": sid, "content": "x".repeat(10_001)}),
        json!({"sessionId": sid}),
        json!({"content": "hi"}),
    ] {
        api.live(LiveCall::SessionsSend, &a.token, bad)
            .await
            .assert_live_error(400, "BAD_REQUEST");
    }
    api.live(
        LiveCall::SessionsSend,
        &c.token,
        json!({"sessionId": sid, "content": "hi"}),
    )
    .await
    .assert_live_error(403, "FORBIDDEN");
    api.live(
        LiveCall::SessionsSend,
        &a.token,
        json!({"sessionId": "session_missing", "content": "hi"}),
    )
    .await
    .assert_live_error(404, "NOT_FOUND");

    api.live(
        LiveCall::SessionsClose,
        &a.token,
        json!({"sessionId": sid, "policy": "shred"}),
    )
    .await
    .assert_live_error(400, "BAD_REQUEST");
    api.live(LiveCall::SessionsClose, &c.token, json!({"sessionId": sid}))
        .await
        .assert_live_error(403, "FORBIDDEN");
    let closed = api
        .live(
            LiveCall::SessionsClose,
            &b.token,
            json!({"sessionId": sid, "policy": "archive"}),
        )
        .await;
    assert_eq!(
        closed.data(),
        &json!({"sessionId": sid, "status": "closed"})
    );
    let again = api
        .live(LiveCall::SessionsClose, &a.token, json!({"sessionId": sid}))
        .await;
    assert_eq!(again.data()["status"], json!("closed"));
    api.live(
        LiveCall::SessionsSend,
        &a.token,
        json!({"sessionId": sid, "content": "late"}),
    )
    .await
    .assert_live_error(409, "CONFLICT");
    api.live(
        LiveCall::SessionsAddParticipants,
        &a.token,
        json!({"sessionId": sid, "participants": [{"type": "agent", "id": c.id}]}),
    )
    .await
    .assert_live_error(409, "CONFLICT");
    // Forbidden before conflict; malformed before everything.
    api.live(
        LiveCall::SessionsSend,
        &c.token,
        json!({"sessionId": sid, "content": "late"}),
    )
    .await
    .assert_live_error(403, "FORBIDDEN");
    api.live(
        LiveCall::SessionsSend,
        &c.token,
        json!({"sessionId": sid, "content": ""}),
    )
    .await
    .assert_live_error(400, "BAD_REQUEST");
    let got = api
        .live(LiveCall::SessionsGet, &a.token, json!({"sessionId": sid}))
        .await;
    assert_eq!(got.data()["status"], json!("closed"));
    server.shutdown().await;
}

#[tokio::test]
async fn participants_are_added_and_removed_by_entry() {
    let (server, api) = start(memory_config()).await;
    let (a, b, c, outsider) = (
        api.live_register("A").await,
        api.live_register("B").await,
        api.live_register("C").await,
        api.live_register("Out").await,
    );
    let sid = live_session(&api, &a, &[&b], "team").await;
    let added = api
        .live(
            LiveCall::SessionsAddParticipants,
            &a.token,
            json!({"sessionId": sid, "participants": [{"type": "agent", "id": c.id},
                {"type": "agent", "id": c.id}]}),
        )
        .await;
    assert_eq!(
        added.data(),
        &json!({"sessionId": sid, "participants": [a.id, b.id, c.id]})
    );
    let removed = api
        .live(
            LiveCall::SessionsRemoveParticipants,
            &c.token,
            json!({"sessionId": sid, "participants": [{"type": "agent", "id": b.id}]}),
        )
        .await;
    assert_eq!(
        removed.data(),
        &json!({"sessionId": sid, "participants": [a.id, c.id], "status": "active"})
    );
    let rest = api.get(route::session(&sid), &a.token).await;
    assert_eq!(
        strings(&rest.body["participants"]),
        [a.id.clone(), c.id.clone()]
    );

    let entry = json!([{"type": "agent", "id": b.id}]);
    for call in [
        LiveCall::SessionsAddParticipants,
        LiveCall::SessionsRemoveParticipants,
    ] {
        api.live(
            call,
            &outsider.token,
            json!({"sessionId": sid, "participants": entry}),
        )
        .await
        .assert_live_error(403, "FORBIDDEN");
        api.live(
            call,
            &a.token,
            json!({"sessionId": sid, "participants": [{"type": "agent", "id": "agent_nobody"}]}),
        )
        .await
        .assert_live_error(404, "NOT_FOUND");
        api.live(
            call,
            &a.token,
            json!({"sessionId": "session_missing", "participants": entry}),
        )
        .await
        .assert_live_error(404, "NOT_FOUND");
        api.live(
            call,
            &a.token,
            json!({"sessionId": sid, "participants": [b.id]}),
        )
        .await
        .assert_live_error(400, "BAD_REQUEST");
        api.live(call, &a.token, json!({"sessionId": sid}))
            .await
            .assert_live_error(400, "BAD_REQUEST");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn session_messages_page_newest_first_with_next_cursor() {
    let (server, api) = start(memory_config()).await;
    let (a, outsider) = (api.live_register("A").await, api.live_register("Out").await);
    let sid = live_session(&api, &a, &[], "history").await;
    for i in 0..120 {
        api.send(&a, &sid, &format!("m{i}")).await;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({"sessionId": sid, "limit": 50});
        if let Some(b) = &before {
            body["beforeMessageId"] = json!(b);
        }
        let page = api.live(LiveCall::SessionsMessages, &a.token, body).await;
        let data: MessagesData = serde_json::from_value(page.data().clone()).expect("a page");
        assert_eq!(data.session_id, sid);
        pages += 1;
        seen.extend(data.messages.iter().map(|m| m.content.clone()));
        match data.next_cursor {
            Some(cursor) => {
                assert_eq!(
                    Some(&cursor),
                    data.messages.last().map(|m| &m.message_id),
                    "the cursor is the page's oldest message"
                );
                before = Some(cursor);
            }
            None => {
                assert!(page.data()["nextCursor"].is_null(), "null, not absent");
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..120).rev().map(|i| format!("m{i}")).collect();
    assert_eq!(seen, want, "newest first, each once");

    let default = api
        .live(
            LiveCall::SessionsMessages,
            &a.token,
            json!({"sessionId": sid}),
        )
        .await;
    assert_eq!(
        default.data()["messages"].as_array().map(Vec::len),
        Some(50)
    );
    let exact = api
        .live(
            LiveCall::SessionsMessages,
            &a.token,
            json!({"sessionId": sid, "limit": 100}),
        )
        .await;
    assert_eq!(exact.data()["messages"].as_array().map(Vec::len), Some(100));
    for bad in [
        json!({"sessionId": sid, "limit": 0}),
        json!({"sessionId": sid, "limit": 101}),
        json!({"sessionId": sid, "limit": -1}),
        json!({"sessionId": sid, "limit": "10"}),
        json!({"sessionId": sid, "beforeMessageId": "msg_unknown"}),
        json!({"sessionId": sid, "beforeMessageId": ""}),
    ] {
        api.live(LiveCall::SessionsMessages, &a.token, bad)
            .await
            .assert_live_error(400, "BAD_REQUEST");
    }
    api.live(
        LiveCall::SessionsMessages,
        &outsider.token,
        json!({"sessionId": sid}),
    )
    .await
    .assert_live_error(403, "FORBIDDEN");
    api.live(
        LiveCall::SessionsMessages,
        &a.token,
        json!({"sessionId": "session_missing"}),
    )
    .await
    .assert_live_error(404, "NOT_FOUND");
    server.shutdown().await;
}

#[tokio::test]
async fn groups_panels_and_invites() {
    let (server, api) = start(Config {
        demo: true,
        ..memory_config()
    })
    .await;
    let demo = server.demo().expect("demo").clone();
    let agent = api.live_register("Visitor").await;

    let group = api.live(LiveCall::GroupsGet, &agent.token, json!({})).await;
    let g: LiveGroup = serde_json::from_value(group.data().clone()).expect("a group");
    assert_eq!(g.id, demo.group_id);
    assert_eq!(g.name.as_deref(), Some("MoChat Demo"));
    assert!(g.panels.iter().all(|p| p.kind == 0 && p.id.is_some()));
    let names: Vec<&str> = g.panels.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["general", "random"]);
    for absent in ["members", "workspaceId", "inviteCode", "groupId"] {
        assert!(group.data().get(absent).is_none(), "{absent}");
    }
    let empty = api
        .raw(Method::POST, LiveCall::GroupsGet, Some(&agent.token), None)
        .await;
    assert_eq!(empty.data()["_id"], json!(demo.group_id), "no body is {{}}");
    let general = g.panels[0].id.clone().expect("id");

    let sent = api
        .live(
            LiveCall::PanelsSend,
            &agent.token,
            json!({"panelId": general, "content": "hi all", "groupId": demo.group_id,
                "meta": {"x": 1}}),
        )
        .await;
    let data = sent.data();
    assert_eq!(
        (&data["groupId"], &data["panelId"]),
        (&json!(demo.group_id), &json!(general))
    );
    assert_eq!(data["message"]["groupId"], json!(demo.group_id));
    assert_eq!(data["message"]["converseId"], json!(general));
    assert_eq!(data["message"]["meta"], json!({}));

    let page = api
        .live(
            LiveCall::PanelsMessages,
            &agent.token,
            json!({"panelId": general, "limit": 2}),
        )
        .await;
    let p: PanelMessagesData = serde_json::from_value(page.data().clone()).expect("a page");
    assert_eq!(
        (p.group_id.as_deref(), p.panel_id.as_deref()),
        (Some(demo.group_id.as_str()), Some(general.as_str()))
    );
    assert_eq!(p.messages[0].content, "hi all", "newest first");
    assert!(p.messages[0].created_at >= p.messages[1].created_at);
    assert!(p.next_cursor.is_some(), "the demo's panel has more");
    let older = api
        .live(
            LiveCall::PanelsMessages,
            &agent.token,
            json!({"panelId": general, "limit": 2, "beforeMessageId": p.next_cursor}),
        )
        .await;
    let o: PanelMessagesData = serde_json::from_value(older.data().clone()).expect("a page");
    assert!(
        o.messages
            .iter()
            .all(|m| m.created_at <= p.messages[1].created_at)
    );
    assert!(
        o.messages
            .iter()
            .all(|m| m.message_id != p.messages[1].message_id)
    );

    // The partner group: 403 until joined by its invite code.
    let lobby = demo.partner_panel_id.clone();
    for (call, body) in [
        (
            LiveCall::PanelsSend,
            json!({"panelId": lobby, "content": "knock"}),
        ),
        (LiveCall::PanelsMessages, json!({"panelId": lobby})),
        (
            LiveCall::GroupsGet,
            json!({"groupId": demo.partner_group_id}),
        ),
    ] {
        api.live(call, &agent.token, body)
            .await
            .assert_live_error(403, "FORBIDDEN");
    }
    api.live(
        LiveCall::GroupsJoinByInvite,
        &agent.token,
        json!({"code": "NOPE-NOPE"}),
    )
    .await
    .assert_live_error(404, "NOT_FOUND");
    api.live(
        LiveCall::GroupsJoinByInvite,
        &agent.token,
        json!({"code": " "}),
    )
    .await
    .assert_live_error(400, "BAD_REQUEST");
    api.live(
        LiveCall::GroupsJoinByInvite,
        &agent.token,
        json!({"inviteCode": demo.partner_invite_code}),
    )
    .await
    .assert_live_error(400, "BAD_REQUEST");
    let joined = api
        .live(
            LiveCall::GroupsJoinByInvite,
            &agent.token,
            json!({"code": demo.partner_invite_code.to_lowercase()}),
        )
        .await;
    assert_eq!(joined.data()["groupId"], json!(demo.partner_group_id));
    assert!(
        joined.data()["workspaceId"]
            .as_str()
            .is_some_and(|w| w != agent.workspace_id)
    );
    let partner = api
        .live(
            LiveCall::GroupsGet,
            &agent.token,
            json!({"groupId": demo.partner_group_id}),
        )
        .await;
    assert_eq!(partner.data()["name"], json!("Partner Lab"));
    assert_eq!(
        api.live(
            LiveCall::PanelsSend,
            &agent.token,
            json!({"panelId": lobby, "content": "in"})
        )
        .await
        .status,
        200
    );

    // Wrong group, unknown panel, unknown group, bad fields.
    api.live(
        LiveCall::PanelsSend,
        &agent.token,
        json!({"panelId": general, "content": "x", "groupId": demo.partner_group_id}),
    )
    .await
    .assert_live_error(404, "NOT_FOUND");
    api.live(
        LiveCall::PanelsMessages,
        &agent.token,
        json!({"panelId": "panel_missing"}),
    )
    .await
    .assert_live_error(404, "NOT_FOUND");
    api.live(
        LiveCall::GroupsGet,
        &agent.token,
        json!({"groupId": "group_missing"}),
    )
    .await
    .assert_live_error(404, "NOT_FOUND");
    for (call, bad) in [
        (
            LiveCall::PanelsSend,
            json!({"panelId": general, "content": ""}),
        ),
        (LiveCall::PanelsSend, json!({"panelId": "", "content": "x"})),
        (
            LiveCall::PanelsSend,
            json!({"panelId": general, "content": "x", "groupId": ""}),
        ),
        (
            LiveCall::PanelsMessages,
            json!({"panelId": general, "limit": 101}),
        ),
        (
            LiveCall::PanelsMessages,
            json!({"panelId": general, "beforeMessageId": "msg_x"}),
        ),
        (LiveCall::GroupsGet, json!({"groupId": 5})),
    ] {
        api.live(call, &agent.token, bad)
            .await
            .assert_live_error(400, "BAD_REQUEST");
    }
    server.shutdown().await;
}
