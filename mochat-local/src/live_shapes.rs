//! The reference's objects in the live dialect's shapes: a session has no title
//! (it is `metadata.title`), `open` is `active`, its `converseId` is its own id;
//! a message names its conversation in `converseId` (and a panel message its
//! group in `groupId`); a detail's participants have `nickname` and `online`.

use mochat_api::live::{
    AuthorInfo, DetailParticipant, LiveEvent, LiveGroup, LiveMessage, LivePanel, LiveSession,
    LiveSessionDetail,
};
use mochat_api::{Event, EventType, Group, Message, Session, SessionDetail, User, UserType};
use serde_json::{Map, Value};

use crate::db::SessionExtras;

/// A message's author.
pub fn author_info(user: &User) -> AuthorInfo {
    AuthorInfo {
        user_id: Some(user.user_id.clone()),
        nickname: Some(user.name.clone()),
        email: user.email.clone(),
        agent_id: (user.kind == UserType::Agent).then(|| user.user_id.clone()),
        avatar: user.avatar.clone(),
        kind: Some(user.kind),
    }
}

/// A message; `group_id` for panel messages.
pub fn message(m: &Message, group_id: Option<&str>) -> LiveMessage {
    LiveMessage {
        message_id: m.message_id.clone(),
        author: m.author.clone(),
        author_info: Some(author_info(&m.author_info)),
        content: m.content.clone(),
        meta: Some(m.meta.clone()),
        converse_id: m.session_id.clone().or_else(|| m.panel_id.clone()),
        group_id: group_id.map(str::to_owned),
        created_at: m.created_at.clone(),
        has_recall: None,
    }
}

/// The stored metadata with the session's title as `title` (left out when empty).
fn metadata(title: &str, extras: &SessionExtras) -> Map<String, Value> {
    let mut metadata = extras.metadata.clone();
    if !title.is_empty() {
        metadata.insert("title".into(), Value::String(title.to_owned()));
    }
    metadata
}

/// A session.
pub fn session(s: &Session, extras: &SessionExtras) -> LiveSession {
    LiveSession {
        session_id: s.session_id.clone(),
        workspace_id: Some(s.workspace_id.clone()),
        converse_id: Some(s.session_id.clone()),
        participants: s.participants.clone(),
        visibility: Some(extras.visibility.clone()),
        status: s.status.into(),
        metadata: Some(metadata(&s.title, extras)),
        created_at: Some(s.created_at.clone()),
        updated_at: Some(s.updated_at.clone()),
    }
}

/// A participant of a detail. This server keeps no presence: `online` is false.
pub fn detail_participant(user: &User) -> DetailParticipant {
    DetailParticipant {
        user_id: user.user_id.clone(),
        nickname: user.name.clone(),
        email: user.email.clone(),
        avatar: user.avatar.clone(),
        kind: user.kind,
        online: Some(false),
    }
}

/// A session with its participants resolved (no cursor, no message count).
pub fn detail(d: &SessionDetail, extras: &SessionExtras) -> LiveSessionDetail {
    let s = session(&d.session, extras);
    LiveSessionDetail {
        session_id: s.session_id,
        workspace_id: s.workspace_id,
        converse_id: s.converse_id,
        participants: d.participant_info.iter().map(detail_participant).collect(),
        visibility: s.visibility,
        status: Some(s.status),
        metadata: s.metadata,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

/// A watch event, its payload in the live shapes (`message.add`: a live message;
/// `session.update`: a live session; others as they are).
pub fn event(e: Event, extras: &SessionExtras) -> LiveEvent {
    let payload = match e.kind {
        EventType::MessageAdd => e
            .message()
            .and_then(|m| serde_json::to_value(message(&m, None)).ok()),
        EventType::SessionUpdate => e
            .session()
            .and_then(|s| serde_json::to_value(session(&s, extras)).ok()),
        EventType::SessionParticipants | EventType::Unknown(_) => None,
    };
    LiveEvent {
        seq: e.seq,
        session_id: e.session_id,
        payload: payload.unwrap_or(e.payload),
        kind: e.kind,
        timestamp: Some(e.timestamp),
    }
}

/// A group: its id, name and text panels.
pub fn group(g: &Group) -> LiveGroup {
    LiveGroup {
        id: g.group_id.clone(),
        name: Some(g.name.clone()),
        panels: g
            .panels
            .iter()
            .map(|p| LivePanel {
                id: Some(p.panel_id.clone()),
                object_id: None,
                name: p.name.clone(),
                kind: 0,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mochat_api::SessionStatus;
    use mochat_api::live::LiveStatus;
    use serde_json::json;

    fn agent() -> User {
        User {
            user_id: "agent_1".into(),
            kind: UserType::Agent,
            name: "Helper".into(),
            username: Some("helper".into()),
            email: None,
            avatar: None,
        }
    }

    fn reference_message() -> Message {
        Message {
            message_id: "msg_1".into(),
            session_id: Some("session_1".into()),
            panel_id: None,
            content: "hi".into(),
            author: "agent_1".into(),
            author_info: agent(),
            meta: Map::new(),
            created_at: "2026-11-29T07:14:43.123Z".into(),
        }
    }

    fn reference_session(title: &str) -> Session {
        Session {
            session_id: "session_1".into(),
            workspace_id: "ws_1".into(),
            title: title.into(),
            participants: vec!["agent_1".into()],
            status: SessionStatus::Open,
            created_by: "agent_1".into(),
            created_at: "2026-11-29T07:14:43.123Z".into(),
            updated_at: "2026-11-29T07:14:43.124Z".into(),
            last_message: Some(reference_message()),
        }
    }

    #[test]
    fn messages_and_sessions() {
        assert_eq!(
            serde_json::to_value(message(&reference_message(), None)).expect("json"),
            json!({"messageId": "msg_1", "author": "agent_1", "authorInfo": {"userId": "agent_1",
                "nickname": "Helper", "agentId": "agent_1", "type": "agent"}, "content": "hi",
                "meta": {}, "converseId": "session_1", "createdAt": "2026-11-29T07:14:43.123Z"})
        );
        let mut extras = SessionExtras::default();
        extras.metadata.insert("topic".into(), json!("launch"));
        assert_eq!(
            serde_json::to_value(session(&reference_session("Plan"), &extras)).expect("json"),
            json!({"sessionId": "session_1", "workspaceId": "ws_1", "converseId": "session_1",
                "participants": ["agent_1"], "visibility": "private", "status": "active",
                "metadata": {"topic": "launch", "title": "Plan"},
                "createdAt": "2026-11-29T07:14:43.123Z", "updatedAt": "2026-11-29T07:14:43.124Z"})
        );
        let untitled = session(&reference_session(""), &SessionExtras::default());
        assert_eq!(untitled.metadata, Some(Map::new()));
    }

    #[test]
    fn events_carry_live_payloads() {
        let payload = serde_json::to_value(reference_message()).expect("json");
        let live = event(
            Event {
                seq: 1,
                session_id: "session_1".into(),
                kind: EventType::MessageAdd,
                timestamp: "2026-11-29T07:14:43.123Z".into(),
                payload,
            },
            &SessionExtras::default(),
        );
        assert_eq!(
            live.message().map(|m| m.converse_id),
            Some(Some("session_1".into()))
        );
        let mut closed = reference_session("Plan");
        closed.status = SessionStatus::Closed;
        let update = event(
            Event {
                seq: 2,
                session_id: "session_1".into(),
                kind: EventType::SessionUpdate,
                timestamp: "2026-11-29T07:14:43.124Z".into(),
                payload: serde_json::to_value(closed).expect("json"),
            },
            &SessionExtras::default(),
        );
        assert_eq!(update.session().map(|s| s.status), Some(LiveStatus::Closed));
        assert!(update.payload.get("title").is_none());
    }
}
