//! HTTP: a server whose requests flow through a topology and come back as answers ("full
//! circle"), and the actors that sit in such flows.
//!
//! - [`HttpServer`]: source and sink in one; requests become events, answers and routed errors
//!   become responses.
//! - [`Body`]: the payload the server emits and takes, typed by content (JSON, XML, text, bytes).
//! - [`BasicAuth`]: HTTP Basic authentication against a user table (passwords or argon2 hashes)
//!   or an [`Authenticator`] of your own; failures become `401` with a challenge.
//! - [`RestTranslator`]: REST statuses for answers (`201` + `Location`, `204`).
//! - [`HttpMethodRouter`]: one outbox per method; other methods are answered `405`.

mod auth;
mod body;
mod context;
mod method_router;
mod negotiation;
mod rest;
mod routes;
mod server;
mod stats;
mod status;

pub use auth::{Authenticator, BasicAuth, Credentials, UserTable};
pub use body::Body;
pub use context::HttpContext;
pub use method_router::{HttpMethodRouter, MethodOutPorts, MethodOutboxes};
pub use rest::RestTranslator;
pub use routes::Route;
pub use server::{HttpOutboxes, HttpServer, DEFAULT_BODY_LIMIT, DEFAULT_TIMEOUT, REQUEST_ID};
pub use stats::HttpStats;
pub use status::{Allow, Challenge, HttpStatus};
