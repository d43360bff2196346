#![doc = include_str!("../README.md")]

pub mod avatars;
pub mod client_id;
pub mod dialect;
pub mod edge;
pub mod error;
pub mod limits;
pub mod live;
pub mod model;
pub mod query;
pub mod ratelimit;
pub mod requests;
pub mod routes;
pub mod widget;

pub use error::{ApiError, ErrorCode, ErrorEnvelope};
pub use model::{
    Event, EventType, Group, Message, MessagePage, Panel, Session, SessionDetail, SessionPage,
    SessionStatus, User, UserType,
};
pub use routes::{Method, Route, RouteError};
