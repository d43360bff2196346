//! The one place the worker talks to the MoChat API, in either of its
//! dialects (`UPSTREAM_DIALECT`): `rest`, the reference's routes, or `live`,
//! the POST dialect of the live service and its public clients. Whatever
//! the dialect, a call goes in as one of the reference's routes and its
//! answer comes back in the reference's shapes and error envelope, so
//! nothing above this module knows which dialect is spoken.

mod live;
mod rest;

use mochat_api::{ApiError, ErrorCode, Route};
use serde::de::DeserializeOwned;
use worker::Env;

use crate::config::{self, UPSTREAM_DIALECT};
use crate::proxy::redact_tokens;
use crate::respond::Flow;

/// Which dialect the upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The reference's REST routes (`GET /claw/sessions/:id/messages`, …).
    Rest,
    /// The live service's `POST /claw/<noun>/<verb>` with `{code, data}` answers.
    Live,
}

impl Dialect {
    /// Reads `UPSTREAM_DIALECT` (absent: `rest`).
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value.map(str::trim) {
            None | Some("rest") => Ok(Self::Rest),
            Some("live") => Ok(Self::Live),
            Some(_) => Err(ApiError::new(
                ErrorCode::Internal,
                "UPSTREAM_DIALECT must be \"rest\" (the reference's routes) or \"live\" \
                 (the live service's POST dialect).",
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Live => "live",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Rest => Self::Live,
            Self::Live => Self::Rest,
        }
    }
}

/// An upstream answer in the reference's shapes: a 2xx body, or an error
/// envelope (with any token-shaped text redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// `Retry-After` of a 429.
    pub retry_after: Option<String>,
    /// `Allow` of a 405.
    pub allow: Option<String>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as `T`, for a success.
    pub fn parse<T: DeserializeOwned>(&self) -> Option<T> {
        self.is_success()
            .then(|| serde_json::from_str(&self.body).ok())
            .flatten()
    }

    /// An answer of ours in the reference's envelope.
    pub fn error(error: &ApiError) -> Self {
        Self {
            status: error.status(),
            body: error.to_json(),
            retry_after: None,
            allow: None,
        }
    }

    /// A success of ours.
    pub fn json(status: u16, value: &impl serde::Serialize) -> Self {
        Self {
            status,
            body: serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned()),
            retry_after: None,
            allow: None,
        }
    }

    fn redacted(mut self) -> Self {
        if !self.is_success() {
            self.body = redact_tokens(&self.body);
        }
        self
    }
}

/// What the health probe found at the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoken {
    /// Nothing answered (in time).
    Nothing,
    /// It answers as this dialect does.
    Dialect(Dialect),
    /// Something answers, in neither dialect.
    Neither,
}

/// Which dialect the upstream speaks, asked without a token (a refused
/// token is not counted against any budget): the configured dialect first.
pub async fn speaks(upstream: &Upstream) -> Spoken {
    let mut answered = false;
    for dialect in [upstream.dialect, upstream.dialect.other()] {
        let found = match dialect {
            Dialect::Rest => rest::probe(&upstream.base).await,
            Dialect::Live => live::probe(&upstream.base).await,
        };
        match found {
            Some(true) => return Spoken::Dialect(dialect),
            Some(false) => answered = true,
            None => {}
        }
    }
    if answered {
        Spoken::Neither
    } else {
        Spoken::Nothing
    }
}

/// The MoChat API the worker forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The base URL, ending in `/api`.
    pub base: String,
    pub dialect: Dialect,
}

/// Extra knobs of a call that only the hub's own reading uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// The session list: only sessions changed after this RFC3339 time
    /// (the live dialect's `updatedAfter`; the REST dialect lists all).
    pub updated_after: Option<String>,
}

impl Upstream {
    /// From `UPSTREAM_URL` and `UPSTREAM_DIALECT`.
    pub fn from_env(env: &Env) -> Result<Self, ApiError> {
        Ok(Self {
            base: config::upstream_base(env)?,
            dialect: Dialect::parse(config::string(env, UPSTREAM_DIALECT).as_deref())?,
        })
    }

    /// The same upstream, spoken to in `dialect` (the health probe tries both).
    pub fn in_dialect(&self, dialect: Dialect) -> Self {
        Self {
            base: self.base.clone(),
            dialect,
        }
    }

    /// How many upstream requests `route` takes in this dialect (the live
    /// dialect answers a close or a participant change without the session,
    /// which a second request reads).
    pub fn cost(&self, route: &Route) -> u32 {
        match self.dialect {
            Dialect::Rest => 1,
            Dialect::Live => live::cost(route),
        }
    }

    /// One call of the reference's route table (its query inside the
    /// route), `body` the JSON the reference takes. `token` is the agent's
    /// (none only for registration).
    pub async fn call(
        &self,
        token: Option<&str>,
        route: &Route,
        body: Option<&[u8]>,
        extra: &Extra,
    ) -> Flow<Reply> {
        let reply = match self.dialect {
            Dialect::Rest => rest::call(&self.base, token, route, body).await?,
            Dialect::Live => live::call(&self.base, token, route, body, extra).await?,
        };
        Ok(reply.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects() {
        assert_eq!(Dialect::parse(None), Ok(Dialect::Rest));
        assert_eq!(Dialect::parse(Some(" live ")), Ok(Dialect::Live));
        assert_eq!(
            Dialect::parse(Some("LIVE")).map_err(|e| e.status()),
            Err(500)
        );
        assert_eq!(Dialect::Live.other(), Dialect::Rest);
    }

    #[test]
    fn error_replies_lose_tokens() {
        let r = Reply {
            status: 401,
            body: r#"{"error":{"code":"UNAUTHORIZED","message":"bad claw_0123456789abcdefXYZ"}}"#
                .into(),
            retry_after: None,
            allow: None,
        }
        .redacted();
        assert!(!r.body.contains("0123456789abcdef"));
        let ok = Reply::json(200, &serde_json::json!({"a": 1}));
        assert_eq!(
            ok.parse::<serde_json::Value>(),
            Some(serde_json::json!({"a": 1}))
        );
        assert!(
            Reply::error(&ApiError::not_found("x"))
                .parse::<serde_json::Value>()
                .is_none()
        );
    }
}
