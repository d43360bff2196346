//! Where widget visitors were kept before they moved into their agent's
//! hub: one [`WidgetVisitor`] Durable Object per visitor (`<site>:<id>`),
//! holding their name, email and session. The hub reads a visitor's record
//! from here once, the first time it meets a visitor it does not know
//! ([`legacy_record`]); nothing is written here any more.

use serde::Deserialize;
use worker::{DurableObject, Env, Request, Response, Result, State, Storage, durable_object};

use crate::config::WIDGET_VISITOR;
use crate::durable::Object;
use crate::hub::store::VisitorRecord;

const RECORD_KEY: &str = "record";

/// A record as this object kept it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Kept {
    name: Option<String>,
    email: Option<String>,
    session_id: Option<String>,
}

/// The visitor's old object. Internal route: `GET /record`.
#[durable_object]
pub struct WidgetVisitor {
    storage: Storage,
}

impl DurableObject for WidgetVisitor {
    fn new(state: State, _env: Env) -> Self {
        Self {
            storage: state.storage(),
        }
    }

    async fn fetch(&self, _req: Request) -> Result<Response> {
        let kept: Kept = self.storage.get(RECORD_KEY).await?.unwrap_or_default();
        Response::from_json(&VisitorRecord {
            name: kept.name,
            email: kept.email,
            session_id: kept.session_id,
            ..VisitorRecord::default()
        })
    }
}

/// What the old object of visitor `id` of `site` kept (empty when nothing).
pub async fn legacy_record(env: &Env, site: &str, id: &str) -> Result<VisitorRecord> {
    Object::named(env, WIDGET_VISITOR, &format!("{site}:{id}"))?
        .get("/record")
        .await
}
