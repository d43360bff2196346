//! A browser-like client of the edge worker: keeps the session cookie, sends
//! the page's `Origin`, and records every header and body it receives so a
//! test can prove no claw token ever reached the browser side.

use std::sync::{Arc, Mutex};

use mochat_api::Route;
use mochat_api::edge::SESSION_PATH;
use mochat_api::widget::BEARER;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// One answer of the worker.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The envelope's `error.code`, if any.
    pub fn error_code(&self) -> Option<String> {
        self.json()["error"]["code"].as_str().map(str::to_owned)
    }
}

/// How long any request may go unanswered: the longest watch the API allows
/// plus a minute. A request still open then has hung; it ends as a
/// transport error (status 0), so a test fails instead of waiting forever.
pub const ANSWER_WITHIN: std::time::Duration =
    std::time::Duration::from_millis(mochat_api::limits::WATCH_TIMEOUT_MAX_MS + 60_000);

/// The browser side of the worker.
#[derive(Clone)]
pub struct Edge {
    pub origin: String,
    pub cookie: Option<String>,
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Edge {
    pub fn new(origin: String) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ANSWER_WITHIN)
            .build()
            .unwrap_or_default();
        Self {
            origin,
            cookie: None,
            http,
            seen: Arc::default(),
        }
    }

    /// Sends a request as the dashboard would (cookie, same `Origin`), plus
    /// `extra` headers; an extra `Origin` or `Cookie` replaces the default one.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.origin));
        let overridden = |name: &str| extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if method != reqwest::Method::GET
            && method != reqwest::Method::HEAD
            && !overridden("Origin")
        {
            req = req.header("Origin", &self.origin);
        }
        if let Some(cookie) = self.cookie.as_ref().filter(|_| !overridden("Cookie")) {
            req = req.header("Cookie", format!("mochat_session={cookie}"));
        }
        for (name, value) in extra {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let answer = match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let body = resp.text().await.unwrap_or_default();
                Answer {
                    status,
                    headers,
                    body,
                }
            }
            Err(e) => Answer {
                status: 0,
                headers: HeaderMap::new(),
                body: format!("transport error: {e}"),
            },
        };
        self.record(&answer);
        answer
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send("POST", path, Some(body), &[]).await
    }

    /// One call of the route table through the worker's `/api`: its method,
    /// path and query (see [`crate::route`]), with an optional JSON body.
    pub async fn call(&self, route: &Route, body: Option<&Value>) -> Answer {
        self.call_with(route, body, &[]).await
    }

    /// [`Edge::call`] plus `extra` headers, as [`Edge::send`] takes them.
    pub async fn call_with(
        &self,
        route: &Route,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Answer {
        self.send(route.method().as_str(), &route.api_target(), body, extra)
            .await
    }

    /// A request as a widget visitor: `token` as its bearer (and this
    /// client's cookie, if it has one).
    pub async fn as_visitor(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Answer {
        let bearer = format!("{BEARER}{token}");
        self.send(method, path, body, &[("Authorization", &bearer)])
            .await
    }

    /// [`Edge::as_visitor`] of one call of the route table.
    pub async fn call_as_visitor(
        &self,
        route: &Route,
        token: &str,
        body: Option<&Value>,
    ) -> Answer {
        self.as_visitor(route.method().as_str(), &route.api_target(), token, body)
            .await
    }

    /// Signs in; keeps the cookie on success. Returns the status.
    pub async fn sign_in(&mut self, password: &str) -> u16 {
        let answer = self
            .send(
                "POST",
                SESSION_PATH,
                Some(&serde_json::json!({ "password": password })),
                &[],
            )
            .await;
        if let Some(set) = answer.header("set-cookie") {
            self.cookie = set
                .split(';')
                .next()
                .and_then(|kv| kv.trim().strip_prefix("mochat_session="))
                .map(str::to_owned);
        }
        answer.status
    }

    fn record(&self, answer: &Answer) {
        let mut text = String::new();
        for (name, value) in &answer.headers {
            text.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("")));
        }
        text.push_str(&answer.body);
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(text);
        }
    }

    /// Everything received so far that contains `needle`.
    pub fn received_containing(&self, needle: &str) -> Vec<String> {
        self.seen
            .lock()
            .map(|s| s.iter().filter(|t| t.contains(needle)).cloned().collect())
            .unwrap_or_default()
    }

    /// How many answers were recorded.
    pub fn received(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
    }
}

/// A session cookie value signed the way the worker signs one
/// (`v1.<expires>.<hex HMAC-SHA256>` under the cookie key it derives from
/// `SESSION_SECRET` with HKDF), with any secret and expiry: tests forge
/// cookies with the wrong secret or a past expiry to check they are refused.
pub fn forge_cookie(secret: &str, expires_unix_secs: u64) -> String {
    use hmac::{Hmac, Mac};
    use mochat_api::edge::{COOKIE_KEY_LABEL, KEY_SALT};
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(KEY_SALT), secret.as_bytes())
        .expand(COOKIE_KEY_LABEL, &mut key)
        .unwrap_or_default();
    let payload = format!("v1.{expires_unix_secs}");
    let mac = Hmac::<sha2::Sha256>::new_from_slice(&key)
        .map(|mut mac| {
            mac.update(payload.as_bytes());
            mac.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default();
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("{payload}.{hex}")
}

/// Seconds since the Unix epoch (for cookie expiries).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The 16 calls of the route table as the browser reaches them through the
/// worker: each method with its `/api/…` path, ids filled in.
pub fn api_paths(session_id: &str, panel_id: &str) -> Vec<(mochat_api::Method, String)> {
    mochat_api::Route::TABLE
        .iter()
        .map(|(method, pattern)| {
            let path = pattern
                .replace(":sessionId", session_id)
                .replace(":panelId", panel_id);
            (*method, format!("{}{path}", mochat_api::routes::API_PREFIX))
        })
        .collect()
}
