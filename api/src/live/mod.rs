//! The live service's dialect of the MoChat API, written once: every call a
//! `POST /api/claw/<noun>/<verb>` with a JSON body, answers wrapped as
//! `{"code":200,"data":{…}}`, errors `{"code":N,"name":"<ERROR_CODE>","message":"…"}`
//! with the HTTP status equal to `code`. The local server answers it; the edge
//! worker calls it and turns its answers back into the reference's shapes.
//!
//! Shapes follow the public MoChat clients: unknown fields are tolerated, and a
//! field the live service does not always send is an `Option`.

mod bodies;
mod calls;
mod objects;
mod wire;

#[cfg(test)]
mod tests;

pub use bodies::*;
pub use calls::*;
pub use objects::*;
pub use wire::*;

/// Where every live call lives: `/api/claw/` followed by [`LiveCall::path`].
pub const LIVE_PREFIX: &str = "/api/claw/";
/// Default `limit` of `sessions/list`.
pub const SESSION_LIST_DEFAULT: u32 = 200;
/// Largest `limit` of `sessions/list`.
pub const SESSION_LIST_MAX: u32 = 500;
/// The visibility of a session created without one.
pub const DEFAULT_VISIBILITY: &str = "private";
/// The visibilities `sessions/create` accepts.
pub const VISIBILITIES: [&str; 2] = ["private", "public"];
/// The policies `sessions/close` accepts.
pub const CLOSE_POLICIES: [&str; 3] = ["archive", "lock", "cleanup"];
/// The `code` of a successful answer.
pub const OK_CODE: u16 = 200;
