//! One way to call a Durable Object from the worker: the object by its
//! binding and name, a request on an internal URL (its host exists nowhere:
//! the binding delivers it, so nothing outside the worker can send one),
//! JSON in and out.

use serde::Serialize;
use serde::de::DeserializeOwned;
use worker::{Env, Headers, Method, Request, RequestInit, Response, Result, Stub};

/// The origin of every internal request; objects route on the path alone.
const INTERNAL_ORIGIN: &str = "https://durable.internal";

/// One Durable Object, by binding and name.
pub struct Object {
    stub: Stub,
}

impl Object {
    /// The object called `name` of the namespace bound as `binding`.
    pub fn named(env: &Env, binding: &str, name: &str) -> Result<Self> {
        Ok(Self {
            stub: env
                .durable_object(binding)?
                .id_from_name(name)?
                .get_stub()?,
        })
    }

    /// Sends `method path`, with `body` as JSON when there is one; the
    /// object's answer as it came.
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Response> {
        let mut init = RequestInit::new();
        init.with_method(method);
        if let Some(body) = body {
            let json = serde_json::to_string(body)
                .map_err(|e| worker::Error::RustError(format!("encoding a call: {e}")))?;
            let headers = Headers::new();
            headers.set("Content-Type", "application/json")?;
            init.with_headers(headers).with_body(Some(json.into()));
        }
        let url = format!("{INTERNAL_ORIGIN}{path}");
        self.stub
            .fetch_with_request(Request::new_with_init(&url, &init)?)
            .await
    }

    /// As [`Object::send`], the answer read as `A`.
    pub async fn call<B: Serialize + ?Sized, A: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<A> {
        self.send(method, path, body).await?.json().await
    }

    /// `GET path`, the answer read as `A`.
    pub async fn get<A: DeserializeOwned>(&self, path: &str) -> Result<A> {
        self.call::<(), A>(Method::Get, path, None).await
    }
}
