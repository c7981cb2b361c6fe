//! HTTP: a server whose requests flow through a topology and come back as answers ("full
//! circle"), and what the actors in such flows share.
//!
//! The actors live here and are used from [`actors`](crate::actors), their one public path:
//! - [`HttpServer`](crate::actors::HttpServer): source and sink in one; requests become events,
//!   answers and routed errors become responses.
//! - [`BasicAuth`](crate::actors::BasicAuth): HTTP Basic authentication against a
//!   [`UserTable`] (passwords or argon2 hashes) or an [`Authenticator`] of your own; failures
//!   become `401` with a challenge.
//! - [`RestTranslator`](crate::actors::RestTranslator): REST statuses for answers (`201` +
//!   `Location`, `204`).
//! - [`HttpMethodRouter`](crate::actors::HttpMethodRouter): one outbox per method; other
//!   methods are answered `405`.
//! - [`SetHttpStatus`](crate::actors::SetHttpStatus): the answer's status from a constant, an
//!   attribute, an XPath or a JSON path.
//!
//! This module holds the rest: [`Body`], the payload the server emits and takes, typed by
//! content (JSON, XML, text, bytes); [`HttpContext`], the request riding on each event as an
//! extension; [`HttpStatus`], [`Challenge`] and [`Allow`], how errors become statuses and
//! headers; [`Route`]s; the server's [`HttpStats`].

pub(crate) mod auth;
mod body;
mod context;
pub(crate) mod method_router;
mod negotiation;
pub(crate) mod rest;
mod routes;
pub(crate) mod server;
mod stats;
mod status;
pub(crate) mod status_setter;

pub use auth::{Authenticator, Credentials, UserTable};
pub use body::{Body, Unparsed};
pub use context::HttpContext;
pub use method_router::{MethodOutPorts, MethodOutboxes};
pub use routes::Route;
pub use server::{
    HttpOutboxes, DEFAULT_BODY_LIMIT, DEFAULT_HEADER_LIMIT, DEFAULT_HEADER_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT, DEFAULT_TIMEOUT, REQUEST_ID,
};
pub use stats::HttpStats;
pub use status::{Allow, Challenge, HttpStatus};
