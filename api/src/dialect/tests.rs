//! Tests of [`super`].

use super::*;
use serde_json::json;

/// A page query as a request carries it.
fn page(raw: &str) -> PageQuery {
    PageQuery::parse(Some(raw)).expect("a valid query")
}

fn live_session(id: &str, updated: &str) -> LiveSession {
    serde_json::from_value(json!({
        "sessionId": id, "workspaceId": "w", "converseId": id, "participants": ["a", "b"],
        "visibility": "private", "status": "active", "metadata": {"title": "T"},
        "createdAt": "2026-12-01T10:00:00.000Z", "updatedAt": updated
    }))
    .expect("a live session")
}

#[test]
fn requests_carry_the_paths_id_and_drop_meta() {
    let route = Route::SendSessionMessage {
        session_id: "s1".into(),
    };
    let body = br#"{"content":"hi","meta":{"clientId":"c1"}}"#;
    let (call, v) = request(&route, Some(body), None).expect("valid");
    assert_eq!(call, LiveCall::SessionsSend);
    assert_eq!(v, json!({"sessionId": "s1", "content": "hi"}));
    let (_, create) = request(
        &Route::CreateSession,
        Some(br#"{"participants":["u1"],"title":"Hi"}"#),
        None,
    )
    .expect("valid");
    assert_eq!(
        create,
        json!({"participants": [{"type": "user", "id": "u1"}], "metadata": {"title": "Hi"}})
    );
    let watch = Route::WatchSession {
        session_id: "s1".into(),
        query: WatchQuery {
            cursor: Some(4),
            timeout_ms: Some(0),
            limit: None,
        },
    };
    let (_, v) = request(&watch, None, None).expect("valid");
    assert_eq!(v, json!({"sessionId": "s1", "cursor": 4, "timeoutMs": 0}));
    assert_eq!(
        request(&route, Some(b"[1]"), None).map_err(|e| e.status()),
        Err(400)
    );
    let list = Route::ListSessions {
        query: PageQuery {
            limit: Some(5),
            before: None,
        },
    };
    let (_, list) = request(&list, None, Some("2026-12-01T10:00:00.000Z")).expect("valid");
    assert_eq!(
        list,
        json!({"updatedAfter": "2026-12-01T10:00:00.000Z", "limit": 500})
    );
    assert_eq!(
        cost(&Route::CloseSession {
            session_id: "s".into()
        }),
        2
    );
    assert_eq!(
        cost(&Route::ListSessions {
            query: PageQuery::default()
        }),
        1
    );
}

#[test]
fn answers_come_back_in_the_references_shapes() {
    let route = Route::ListSessionMessages {
        session_id: "s1".into(),
        query: PageQuery::default(),
    };
    let text = json!({"code": 200, "data": {"sessionId": "s1", "nextCursor": "m1",
        "messages": [
            {"messageId": "m2", "author": "u", "authorInfo": {"nickname": "Ada", "type": "user"},
             "content": "two", "createdAt": "2026-12-01T10:00:02.000Z"},
            {"messageId": "m1", "author": "u", "content": "one",
             "createdAt": "2026-12-01T10:00:01.000Z"}]}})
    .to_string();
    let (status, body) = answer(&route, 200, &text).expect("an answer");
    assert_eq!(status, 200);
    let page: MessagePage = serde_json::from_value(body).expect("a page");
    assert_eq!(page.messages[0].message_id, "m1", "oldest first");
    assert_eq!(page.messages[1].author_info.name, "Ada");
    assert_eq!(page.messages[0].session_id.as_deref(), Some("s1"));
    assert_eq!((page.has_more, page.cursor.as_deref()), (true, Some("m1")));

    let refused = json!({"code": 403, "name": "FORBIDDEN", "message": "not yours"}).to_string();
    let e = answer(&route, 200, &refused).expect_err("an error");
    assert_eq!((e.status(), e.message.as_str()), (403, "not yours"));

    let created = json!({"code": 200, "data": live_session("s9", "2026-12-01T10:00:00.000Z")});
    let (status, body) =
        answer(&Route::CreateSession, 200, &created.to_string()).expect("an answer");
    let s: Session = serde_json::from_value(body).expect("a session");
    assert_eq!(status, 201);
    assert_eq!(
        (s.title.as_str(), s.status),
        ("T", crate::SessionStatus::Open)
    );
}

#[test]
fn the_session_list_is_paged_here() {
    let data = SessionListData {
        sessions: (1..=5)
            .map(|i| live_session(&format!("s{i}"), &format!("2026-12-01T10:00:0{i}.000Z")))
            .collect(),
    };
    let first = session_page(data.clone(), &page("limit=2")).expect("a page");
    let ids = |p: &SessionPage| {
        p.sessions
            .iter()
            .map(|s| s.session_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&first), vec!["s5", "s4"]);
    assert_eq!(first.cursor.as_deref(), Some("s4"));
    let last = session_page(data.clone(), &page("limit=2&before=s2")).expect("a page");
    assert_eq!(ids(&last), vec!["s1"]);
    assert!(!last.has_more && last.cursor.is_none());
    assert_eq!(
        session_page(data, &page("before=nope")).map_err(|e| e.status()),
        Err(400)
    );
}

#[test]
fn events_carry_reference_messages() {
    let e: LiveEvent = serde_json::from_value(json!({"seq": 3, "sessionId": "s1",
        "type": "message.add", "timestamp": "2026-12-01T10:00:00.000Z",
        "payload": {"messageId": "m1", "author": "u", "content": "x",
                    "createdAt": "2026-12-01T10:00:00.000Z"}}))
    .expect("an event");
    let e = event(e);
    let m = e.message().expect("a message");
    assert_eq!(m.session_id.as_deref(), Some("s1"));
    assert_eq!(m.author_info.user_id, "u");
}
