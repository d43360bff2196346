//! One [`WidgetVisitor`] Durable Object per widget visitor (`<site>:<id>`):
//! the visitor's name, email and session, and their sub-quota inside the
//! agent's budget (an exact window, like the agent's). Internal routes,
//! reachable only through the binding:
//! `GET /record`, `POST /identify` ([`Identity`]), `POST /session` (`{sessionId}`,
//! kept only if none is set yet: the first wins), `POST /admit` (a [`Decision`]).

use mochat_api::widget::VISITOR_RATE_LIMIT;
use serde::{Deserialize, Serialize};
use worker::{
    DurableObject, Env, Method, Request, RequestInit, Response, Result, State, Storage, Stub,
    durable_object,
};

use crate::config::{WIDGET_VISITOR, WIDGET_VISITOR_LIMIT};
use crate::limiter::{Decision, StoredWindow, now_ms, positive, window_secs};
use crate::visitor_token::Visitor;

/// What the worker keeps of a visitor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub name: Option<String>,
    pub email: Option<String>,
    pub session_id: Option<String>,
}

/// A change of name or email (absent fields stay as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionBody {
    session_id: String,
}

const RECORD_KEY: &str = "record";

/// The visitor's object.
#[durable_object]
pub struct WidgetVisitor {
    storage: Storage,
    window: StoredWindow,
}

impl WidgetVisitor {
    async fn record(&self) -> Result<Record> {
        Ok(self.storage.get(RECORD_KEY).await?.unwrap_or_default())
    }
}

impl DurableObject for WidgetVisitor {
    fn new(state: State, env: Env) -> Self {
        let limit = limit(&env);
        let window_ms = window_secs(&env) * 1000;
        Self {
            storage: state.storage(),
            window: StoredWindow::new(&state, limit, window_ms),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Get, "/record") => Response::from_json(&self.record().await?),
            (Method::Post, "/identify") => {
                let change: Identity = req.json().await?;
                let mut record = self.record().await?;
                record.name = change.name.or(record.name);
                record.email = change.email.or(record.email);
                self.storage.put(RECORD_KEY, &record).await?;
                Response::from_json(&record)
            }
            (Method::Post, "/session") => {
                let body: SessionBody = req.json().await?;
                let mut record = self.record().await?;
                if record.session_id.is_none() {
                    record.session_id = Some(body.session_id);
                    self.storage.put(RECORD_KEY, &record).await?;
                }
                Response::from_json(&record)
            }
            (Method::Post, "/admit") => {
                let now = now_ms();
                Response::from_json(&self.window.update(now, |w| w.try_admit(now))?)
            }
            _ => Ok(Response::empty()?.with_status(404)),
        }
    }
}

/// One visitor's requests per window: 20, or `WIDGET_VISITOR_LIMIT` (tests only).
pub fn limit(env: &Env) -> u32 {
    let limit = positive(env, WIDGET_VISITOR_LIMIT, u64::from(VISITOR_RATE_LIMIT));
    u32::try_from(limit).unwrap_or(VISITOR_RATE_LIMIT)
}

fn stub(env: &Env, visitor: &Visitor) -> Result<Stub> {
    env.durable_object(WIDGET_VISITOR)?
        .id_from_name(&format!("{}:{}", visitor.site, visitor.id))?
        .get_stub()
}

async fn ask<T: for<'de> Deserialize<'de>>(
    env: &Env,
    visitor: &Visitor,
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<T> {
    let mut init = RequestInit::new();
    init.with_method(method);
    if let Some(b) = body {
        init.with_body(Some(b.into()));
    }
    let req = Request::new_with_init(&format!("https://visitor.internal{path}"), &init)?;
    stub(env, visitor)?
        .fetch_with_request(req)
        .await?
        .json()
        .await
}

fn to_json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// The visitor's record.
pub async fn record(env: &Env, visitor: &Visitor) -> Result<Record> {
    ask(env, visitor, Method::Get, "/record", None).await
}

/// Changes the visitor's name or email.
pub async fn identify(env: &Env, visitor: &Visitor, change: &Identity) -> Result<Record> {
    ask(
        env,
        visitor,
        Method::Post,
        "/identify",
        Some(to_json(change)?),
    )
    .await
}

/// Keeps `session_id` as the visitor's session unless one is already kept;
/// answers the record, whose session is the one that counts.
pub async fn keep_session(env: &Env, visitor: &Visitor, session_id: &str) -> Result<Record> {
    let body = to_json(&SessionBody {
        session_id: session_id.to_owned(),
    })?;
    ask(env, visitor, Method::Post, "/session", Some(body)).await
}

/// Spends one request of the visitor's sub-quota.
pub async fn admit(env: &Env, visitor: &Visitor) -> Result<Decision> {
    ask(env, visitor, Method::Post, "/admit", None).await
}
