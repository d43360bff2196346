//! Round trips and decoding of the live dialect.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::*;
use crate::error::{ApiError, ErrorCode};
use crate::model::{EventType, SessionStatus, UserType};
use crate::requests::{PageQuery, WatchQuery};
use crate::routes::{Method, Route, RouteError};

fn round_trip<T: Serialize + DeserializeOwned>(value: Value) -> T {
    let typed: T = serde_json::from_value(value.clone()).expect("parses");
    assert_eq!(serde_json::to_value(&typed).expect("serialises"), value);
    typed
}

/// The examples of the MoChat README's "Platform API Reference" (placeholder
/// values such as `"agent | user"` replaced by real ones).
#[test]
fn readme_examples_round_trip() {
    let r: SelfRegisterBody = round_trip(json!({"name": "Agent", "avatar": "https://a/b.png",
        "metadata": {"username": "agent_1"}}));
    assert_eq!(r.name.as_deref(), Some("Agent"));
    let r: SelfRegisterData = round_trip(json!({"workspaceId": "string", "groupId": "string",
        "botUserId": "string", "agentId": null, "token": "claw_xxxxxxxxxxxx"}));
    assert!(r.agent_id.is_none());
    let b: BindBody = round_trip(json!({"email": "user@example.com", "greeting_msg": "Hi!"}));
    assert_eq!(b.greeting_msg, "Hi!");
    let b: BindData = round_trip(json!({"success": true, "ownerUserId": "string",
        "sessionId": "string", "converseId": "string"}));
    assert!(b.success);
    let c: CreateSessionBody = round_trip(json!({"participants": [
        {"type": "agent", "id": "agent_1"}, {"type": "user", "email": "ada@example.com",
        "name": "Ada", "avatar": "https://a/b.png"}, {"type": "user", "uniqueName": "grace"}],
        "visibility": "private", "metadata": {"title": "Plan"}}));
    assert_eq!(
        c.participants[0],
        Participant::by_id(UserType::Agent, "agent_1")
    );
    let s: LiveSession = round_trip(json!({"sessionId": "string", "workspaceId": "string",
        "converseId": "string", "participants": ["userId1", "userId2"],
        "visibility": "private", "status": "active"}));
    assert_eq!(s.status.to_reference(), SessionStatus::Open);
    assert_eq!(s.title(), "");
    let m: SendBody = round_trip(json!({"sessionId": "string", "content": "string",
        "replyTo": "msg_1"}));
    assert_eq!(m.reply_to.as_deref(), Some("msg_1"));
    let d: SendData = round_trip(json!({"sessionId": "string", "message": {
        "messageId": "string", "content": "string", "author": "string",
        "authorInfo": {"userId": "string", "nickname": "string", "avatar": "string"},
        "createdAt": "ISO 8601"}}));
    assert_eq!(
        d.message.and_then(|m| m.author_info?.nickname),
        Some("string".into())
    );
    let g: LiveSession = round_trip(json!({"sessionId": "string", "workspaceId": "string",
        "converseId": "string", "participants": ["userId1", "userId2"],
        "visibility": "private", "status": "active", "metadata": {}}));
    assert_eq!(g.metadata, Some(Map::new()));
    let detail: LiveSessionDetail = round_trip(json!({"sessionId": "string", "participants": [
        {"userId": "string", "nickname": "string", "email": "string", "avatar": "string",
         "type": "agent", "online": true}]}));
    assert_eq!(detail.participants[0].kind, UserType::Agent);
    let q: MessagesBody = round_trip(json!({"sessionId": "string",
        "beforeMessageId": "msg_9", "limit": 50}));
    assert_eq!(q.limit, Some(50));
    let page: MessagesData = round_trip(json!({"sessionId": "string", "messages": [
        {"messageId": "string", "content": "string", "author": "string",
         "authorInfo": {"userId": "string", "nickname": "string"},
         "createdAt": "ISO 8601", "hasRecall": false}], "nextCursor": null}));
    assert!(page.next_cursor.is_none());
    let l: ListSessionsBody = round_trip(json!({"updatedAfter": "2026-01-01T00:00:00.000Z",
        "limit": 200}));
    assert_eq!(l.limit, Some(200));
    let list: SessionListData = round_trip(json!({"sessions": [{"sessionId": "string",
        "participants": ["..."], "status": "active", "updatedAt": "ISO 8601",
        "createdAt": "ISO 8601"}]}));
    assert_eq!(list.sessions.len(), 1);
    let w: WatchBody = round_trip(json!({"sessionId": "s", "cursor": 0, "timeoutMs": 25000,
        "limit": 100}));
    assert_eq!(w.timeout_ms, Some(25_000));
    let w: WatchData = round_trip(json!({"sessionId": "string", "cursor": 42, "events": [
        {"seq": 42, "type": "message", "sessionId": "string", "timestamp": "ISO 8601",
         "payload": {}}]}));
    assert_eq!(w.events[0].kind, EventType::Unknown("message".into()));
    let p: ParticipantsBody = round_trip(json!({"sessionId": "s", "participants": [
        {"type": "user", "id": "user_1"}]}));
    assert_eq!(p.participants.len(), 1);
    let a: ParticipantsData = round_trip(json!({"sessionId": "string",
        "participants": ["userId1", "userId2", "userId3"]}));
    assert!(a.status.is_none());
    let r: ParticipantsData = round_trip(json!({"sessionId": "string",
        "participants": ["userId1"], "status": "active"}));
    assert_eq!(r.status, Some(LiveStatus::Active));
    let c: CloseSessionBody = round_trip(json!({"sessionId": "s", "policy": "archive"}));
    assert_eq!(c.policy.as_deref(), Some("archive"));
    let c: CloseSessionData = round_trip(json!({"sessionId": "string", "status": "closed"}));
    assert_eq!(c.status, LiveStatus::Closed);
    let g: LiveGroup = round_trip(json!({"_id": "string", "panels": [
        {"id": "string", "name": "#Cafe_Talk", "type": 0},
        {"id": "string", "name": "#Town-Hall", "type": 0}]}));
    assert_eq!(g.panels[1].panel_id(), Some("string"));
    let s: PanelSendBody = round_trip(json!({"panelId": "p", "content": "hi",
        "groupId": "g", "replyTo": "m"}));
    assert_eq!(s.group_id.as_deref(), Some("g"));
    let s: PanelSendData = round_trip(json!({"groupId": "string", "panelId": "string",
        "message": {"messageId": "string", "content": "string", "author": "string",
        "authorInfo": {}, "createdAt": "ISO 8601"}}));
    assert_eq!(s.message.author_info, Some(AuthorInfo::default()));
    let q: PanelMessagesBody = round_trip(json!({"panelId": "p", "groupId": "g",
        "beforeMessageId": "m", "limit": 20}));
    assert_eq!(q.before_message_id.as_deref(), Some("m"));
    let pm: PanelMessagesData = round_trip(json!({"groupId": "string", "panelId": "string",
        "messages": [{"messageId": "string", "content": "string", "author": "string",
        "createdAt": "ISO 8601"}], "nextCursor": "string"}));
    assert_eq!(pm.next_cursor.as_deref(), Some("string"));
    let j: JoinBody = round_trip(json!({"code": "ABC123"}));
    assert_eq!(j.code, "ABC123");
    let j: JoinData = round_trip(json!({"groupId": "string", "workspaceId": "string"}));
    assert_eq!(j.workspace_id, "string");
}

#[test]
fn the_full_shapes_round_trip_and_tolerate_unknown_fields() {
    let message = json!({"messageId": "msg_1", "author": "agent_1",
        "authorInfo": {"userId": "agent_1", "nickname": "Helper", "agentId": "agent_1",
        "type": "agent"}, "content": "hi", "meta": {}, "converseId": "session_1",
        "createdAt": "2026-11-29T07:14:43.123Z"});
    let m: LiveMessage = round_trip(message.clone());
    assert_eq!(m.author_info.and_then(|a| a.kind), Some(UserType::Agent));
    let session = json!({"sessionId": "session_1", "workspaceId": "ws_1",
        "converseId": "session_1", "participants": ["agent_1", "user_1"],
        "visibility": "private", "status": "closed", "metadata": {"title": "Plan"},
        "createdAt": "2026-11-29T07:14:43.123Z", "updatedAt": "2026-11-29T07:14:43.124Z"});
    let s: LiveSession = round_trip(session.clone());
    assert_eq!(s.title(), "Plan");
    let event: LiveEvent = round_trip(json!({"seq": 3, "sessionId": "session_1",
        "type": "message.add", "timestamp": "2026-11-29T07:14:43.123Z", "payload": message}));
    assert_eq!(event.message().map(|m| m.message_id), Some("msg_1".into()));
    let update: LiveEvent = round_trip(json!({"seq": 4, "sessionId": "session_1",
        "type": "session.update", "timestamp": "2026-11-29T07:14:43.123Z",
        "payload": session}));
    assert_eq!(update.session().map(|s| s.status), Some(LiveStatus::Closed));
    let odd: LiveSession =
        serde_json::from_value(json!({"sessionId": "s", "status": "locked", "pinned": true}))
            .expect("tolerant");
    assert_eq!(odd.status, LiveStatus::Other("locked".into()));
    assert_eq!(odd.status.to_reference(), SessionStatus::Closed);
    let panel: LivePanel =
        serde_json::from_value(json!({"_id": "p1", "name": "x", "type": 1, "provider": "plugin"}))
            .expect("tolerant");
    assert_eq!((panel.panel_id(), panel.kind), (Some("p1"), 1));
    assert!(serde_json::from_value::<Participant>(json!({"type": "bot", "id": "x"})).is_err());
}

#[test]
fn paths_parse_exactly() {
    for call in LiveCall::ALL {
        assert_eq!(
            LiveCall::parse("POST", &call.url_path()),
            Ok(call),
            "{call}"
        );
        assert_eq!(
            LiveCall::parse("GET", &call.url_path()),
            Err(RouteError::MethodNotAllowed {
                allow: vec![Method::Post]
            })
        );
    }
    assert_eq!(
        LiveCall::from_path("/api/claw/groups/panels/send"),
        Some(LiveCall::PanelsSend)
    );
    for path in [
        "/api/claw/sessions/create/",
        "/api/claw/sessions",
        "/claw/sessions/create",
        "/api/claw/sessions/Create",
        "/api/claw/sessions/session_1",
        "/api/claw/groups/panels",
        "/api/claw/agents/rotateToken",
        "/api/claw//sessions/create",
        "/api/claw/sessions/create%2f",
        "/api/claw/register",
    ] {
        assert_eq!(
            LiveCall::parse("POST", path),
            Err(RouteError::NotFound),
            "{path}"
        );
    }
    assert!(!LiveCall::AgentsSelfRegister.needs_token());
    assert!(LiveCall::AgentsBind.needs_token());
}

#[test]
fn routes_map_both_ways() {
    let routes = crate::routes::tests::every_route();
    let calls: Vec<LiveCall> = routes.iter().map(|r| LiveCall::from_route(r).0).collect();
    assert_eq!(calls, LiveCall::ALL, "one call per route, in table order");
    for route in &routes {
        let (call, id) = LiveCall::from_route(route);
        assert_eq!(call.to_route(id).as_ref(), Some(route), "{call}");
        assert_eq!(id.is_some(), call.body_id().is_some(), "{call}");
    }
    assert_eq!(
        LiveCall::from_route(&Route::WatchSession {
            session_id: "s1".into(),
            query: WatchQuery::default(),
        }),
        (LiveCall::SessionsWatch, Some("s1"))
    );
    assert_eq!(
        LiveCall::SessionsWatch.body_id().map(BodyId::field),
        Some("sessionId")
    );
    assert_eq!(
        LiveCall::PanelsSend.body_id().map(BodyId::field),
        Some("panelId")
    );
    assert_eq!(
        LiveCall::SessionsWatch.url_path(),
        "/api/claw/sessions/watch"
    );
    assert_eq!(LiveCall::SessionsWatch.base_path(), "/claw/sessions/watch");
    assert_eq!(LiveCall::SessionsWatch.to_route(None), None);
    assert_eq!(LiveCall::SessionsWatch.to_route(Some("../x")), None);
    assert_eq!(
        LiveCall::SessionsList.to_route(Some("ignored")),
        Some(Route::ListSessions {
            query: PageQuery::default()
        })
    );
}

#[test]
fn wrapper_and_errors() {
    let ok: LiveOk<JoinData> = round_trip(json!({"code": 200,
        "data": {"groupId": "g", "workspaceId": "w"}}));
    assert_eq!(
        ok,
        LiveOk::new(JoinData {
            group_id: "g".into(),
            workspace_id: "w".into()
        })
    );
    let error = ApiError::new(ErrorCode::RateLimited, "Wait 3 s.");
    let live = LiveError::from(&error);
    assert_eq!(
        serde_json::to_value(&live).expect("serialises"),
        json!({"code": 429, "name": "RATE_LIMITED", "message": "Wait 3 s."})
    );
    assert_eq!(live.to_api(), error);
    let foreign = LiveError {
        code: 404,
        name: "NotFoundError".into(),
        message: String::new(),
    };
    assert_eq!(foreign.to_api(), ApiError::not_found("NotFoundError"));
}

#[test]
fn answers_decode_like_the_public_clients() {
    let data = r#"{"groupId":"g","workspaceId":"w"}"#;
    let wrapped = format!(r#"{{"code":200,"data":{data}}}"#);
    let want = JoinData {
        group_id: "g".into(),
        workspace_id: "w".into(),
    };
    assert_eq!(decode_answer::<JoinData>(200, &wrapped), Ok(want.clone()));
    assert_eq!(
        decode_answer::<JoinData>(200, data),
        Ok(want),
        "no code: the data itself"
    );
    assert_eq!(
        decode_answer::<GroupBody>(200, r#"{"code":200}"#),
        Ok(GroupBody::default())
    );
    let refused =
        decode_answer::<JoinData>(200, r#"{"code":403,"name":"FORBIDDEN","message":"no"}"#)
            .expect_err("code 403");
    assert_eq!(
        (refused.code, refused.to_api().code),
        (403, ErrorCode::Forbidden)
    );
    let limited = decode_answer::<JoinData>(
        429,
        r#"{"code":429,"name":"RATE_LIMITED","message":"Wait."}"#,
    )
    .expect_err("429");
    assert_eq!(limited.name, "RATE_LIMITED");
    let envelope = decode_answer::<JoinData>(
        404,
        r#"{"error":{"code":"NOT_FOUND","message":"No such group."}}"#,
    )
    .expect_err("404");
    assert_eq!(
        (envelope.code, envelope.message.as_str()),
        (404, "No such group.")
    );
    let html = decode_answer::<JoinData>(503, "<html>down</html>").expect_err("503");
    assert_eq!(html.to_api().code, ErrorCode::UpstreamUnavailable);
    let odd = decode_answer::<JoinData>(200, r#"{"code":200,"data":{"groupId":5}}"#)
        .expect_err("wrong shape");
    assert_eq!(odd.code, 502);
    assert!(decode_answer::<JoinData>(200, "not json").is_err());
}
