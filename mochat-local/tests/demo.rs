//! `--demo`: seeding is idempotent, the dev vars file gets the token, the helper answers.

mod common;

use std::time::Duration;

use common::{file_config, memory_config, remove_db, route, start, temp_path};
use mochat_api::Route;
use mochat_local::Config;
use serde_json::json;

#[tokio::test]
async fn seeding_twice_is_idempotent_and_writes_the_token() {
    let path = temp_path("demo.db");
    let dev_vars = temp_path("dev.vars");
    std::fs::write(&dev_vars, "PASSWORD=secret\nCLAW_TOKEN=claw_old\n").expect("writes");
    let config = Config {
        demo: true,
        dev_vars: dev_vars.clone(),
        ..file_config(&path)
    };
    let (server, api) = start(config.clone()).await;
    let first = server.demo().expect("seeded").clone();
    let token = first.operator_token.clone();
    assert_eq!(
        std::fs::read_to_string(&dev_vars).expect("reads"),
        format!(
            "PASSWORD=secret\nCLAW_TOKEN={token}\nDEFAULT_AGENT_ID={}\n\
             DEFAULT_AGENT_NAME=Operator\nDEFAULT_AGENT_USERNAME=operator\n",
            first.operator_id
        )
    );
    let sessions = api.get(route::sessions(Some(100), None), &token).await.body["sessions"]
        .as_array()
        .map(Vec::len);
    let group = api.get(Route::WorkspaceGroup, &token).await.body;
    assert_eq!(group["name"], json!("MoChat Demo"));
    let panels: Vec<_> = group["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(panels, [json!("general"), json!("random")]);
    server.shutdown().await;

    let (server, api) = start(config).await;
    assert_eq!(server.demo(), Some(&first));
    assert_eq!(
        api.get(route::sessions(Some(100), None), &token).await.body["sessions"]
            .as_array()
            .map(Vec::len),
        sessions
    );
    let after = api.get(Route::WorkspaceGroup, &token).await.body;
    assert_eq!(after["members"], group["members"]);
    // The long session pages back through its 500 messages.
    let operator = common::Agent {
        token: token.clone(),
        id: first.operator_id.clone(),
        workspace_id: String::new(),
    };
    assert_eq!(
        api.all_messages(&operator, &first.backlog_session_id, 100)
            .await
            .len(),
        500
    );
    server.shutdown().await;
    remove_db(&path);
    let _ = std::fs::remove_file(&dev_vars);
}

#[tokio::test]
async fn the_helper_answers_and_the_partner_group_can_be_joined() {
    let config = Config {
        demo: true,
        ..memory_config()
    };
    let dev_vars = config.dev_vars.clone();
    let (server, api) = start(config).await;
    let demo = server.demo().expect("seeded").clone();
    let operator = demo.operator_token.clone();
    let sid = &demo.helper_session_id;
    let cursor = api.get(route::detail(sid), &operator).await.body["cursor"]
        .as_u64()
        .expect("cursor");
    api.post(
        route::send(sid),
        &operator,
        json!({"content": "What's the status of the launch?"}),
    )
    .await;

    let mut cursor = cursor + 1;
    let reply = loop {
        let watch = api
            .get(route::watch(sid, Some(cursor), Some(10000)), &operator)
            .await;
        let events = watch.body["events"].as_array().expect("events");
        assert!(!events.is_empty(), "the helper answers within the timeout");
        if let Some(e) = events
            .iter()
            .find(|e| e["payload"]["author"] == json!(demo.helper_id))
        {
            break e["payload"].clone();
        }
        cursor = watch.body["cursor"].as_u64().expect("cursor");
    };
    assert_eq!(
        reply["content"],
        json!("Helper here — you said: \"What's the status of the launch?\"")
    );
    assert_eq!(reply["meta"], json!({"bot": "helper"}));
    // Exactly one reply: the helper does not answer itself.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let detail = api.get(route::detail(sid), &operator).await.body;
    assert_eq!(detail["lastMessage"]["messageId"], reply["messageId"]);

    // Another agent joins Partner Lab with its invite code and posts in its panel.
    let newcomer = api.register("Newcomer").await;
    let lobby = route::panel_send(&demo.partner_panel_id);
    api.post(&lobby, &newcomer.token, json!({"content": "hi"}))
        .await
        .assert_error(403, "FORBIDDEN");
    let join = api
        .post(
            Route::JoinGroup,
            &newcomer.token,
            json!({"inviteCode": demo.partner_invite_code}),
        )
        .await;
    assert_eq!(
        join.body,
        json!({"success": true, "groupId": demo.partner_group_id})
    );
    let again = api
        .post(
            Route::JoinGroup,
            &newcomer.token,
            json!({"inviteCode": demo.partner_invite_code.to_lowercase()}),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(
        api.post(&lobby, &newcomer.token, json!({"content": "hi"}))
            .await
            .status,
        201
    );
    let read = api
        .get(
            route::panel_messages(&demo.partner_panel_id, None, None),
            &newcomer.token,
        )
        .await;
    assert_eq!(read.body["messages"].as_array().map(Vec::len), Some(2));
    server.shutdown().await;
    let _ = std::fs::remove_file(dev_vars);
}
