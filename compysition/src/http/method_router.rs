//! [`HttpMethodRouter`]: one outbox per HTTP method.
//!
//! A REST resource is usually several flows behind one path: reading, creating, replacing,
//! changing, deleting. This actor splits the requests by method; a method whose outbox is not
//! connected is answered `405` with an `Allow` header naming the connected ones that the
//! request's route allows.

use std::marker::PhantomData;

use http::Method;

use crate::actor::{Actor, Context};
use crate::error::EventError;
use crate::event::Event;
use crate::payload::Payload;
use crate::port::{
    ActorRef, Inbox, OutPort, Outbox, OutboxSet, PortBundle, PortMismatch, PortSpec,
};

use super::body::Body;
use super::context::HttpContext;
use super::routes::MethodSet;
use super::status::Allow;

/// Sends each event to the outbox of its request's method: `get`, `post`, `put`, `patch` or
/// `delete`. Other methods, methods whose outbox is not connected, and events that did not come
/// from an HTTP request fail with `405` and `Allow` listing the connected methods — those the
/// request's server route allows too, for a request from an [`HttpServer`](crate::actors::HttpServer):
/// a method the route refuses is answered `405` by the server itself, so it is not offered.
///
/// ```
/// use compysition::http::Body;
/// use compysition::actors::HttpMethodRouter;
/// use compysition::prelude::*;
///
/// let mut director = Director::new();
/// let router = director.register_actor("router", HttpMethodRouter::new());
/// let reader = director.register_actor("reader", from_fn(|e: Event<Body>| async { Ok(e) }));
/// director.connect_queue(router.outboxes().get, &reader);
/// ```
pub struct HttpMethodRouter<T = Body> {
    _payload: PhantomData<fn(T) -> T>,
}

impl HttpMethodRouter {
    /// A router for the server's payload ([`Body`]).
    pub fn new() -> Self {
        HttpMethodRouter {
            _payload: PhantomData,
        }
    }
}

impl Default for HttpMethodRouter {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> HttpMethodRouter<T> {
    /// The same router for events of payload `U`.
    pub fn taking<U>(self) -> HttpMethodRouter<U> {
        HttpMethodRouter {
            _payload: PhantomData,
        }
    }
}

/// The outboxes of an [`HttpMethodRouter`], one per method.
pub struct MethodOutboxes<T> {
    /// `GET` requests.
    pub get: Outbox<T>,
    /// `POST` requests.
    pub post: Outbox<T>,
    /// `PUT` requests.
    pub put: Outbox<T>,
    /// `PATCH` requests.
    pub patch: Outbox<T>,
    /// `DELETE` requests.
    pub delete: Outbox<T>,
}

/// Typed references to the outboxes of an [`HttpMethodRouter`], for wiring.
pub struct MethodOutPorts<T> {
    /// `GET` requests.
    pub get: OutPort<T>,
    /// `POST` requests.
    pub post: OutPort<T>,
    /// `PUT` requests.
    pub put: OutPort<T>,
    /// `PATCH` requests.
    pub patch: OutPort<T>,
    /// `DELETE` requests.
    pub delete: OutPort<T>,
}

impl<T: Payload> OutboxSet for MethodOutboxes<T> {
    type Refs = MethodOutPorts<T>;

    fn specs() -> Vec<PortSpec> {
        ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .map(PortSpec::outbox::<T>)
            .collect()
    }

    fn refs(actor: &ActorRef) -> MethodOutPorts<T> {
        let port = |name| OutPort::new(actor.clone(), Some(name));
        MethodOutPorts {
            get: port("get"),
            post: port("post"),
            put: port("put"),
            patch: port("patch"),
            delete: port("delete"),
        }
    }

    fn assemble(ports: &mut PortBundle) -> Result<Self, PortMismatch> {
        Ok(MethodOutboxes {
            get: ports.outbox()?,
            post: ports.outbox()?,
            put: ports.outbox()?,
            patch: ports.outbox()?,
            delete: ports.outbox()?,
        })
    }
}

impl<T> MethodOutboxes<T> {
    fn for_method(&self, method: &Method) -> Option<&Outbox<T>> {
        let outbox = match *method {
            // A HEAD request is a GET whose answer is sent without its body.
            Method::GET | Method::HEAD => &self.get,
            Method::POST => &self.post,
            Method::PUT => &self.put,
            Method::PATCH => &self.patch,
            Method::DELETE => &self.delete,
            _ => return None,
        };
        outbox.is_connected().then_some(outbox)
    }

    /// The methods whose outbox is connected.
    fn connected(&self) -> MethodSet {
        MethodSet::of(
            MethodSet::ROUTED
                .iter()
                .filter(|method| self.for_method(method).is_some()),
        )
    }
}

/// The `Allow` header value for the methods of `set`.
fn allow(set: MethodSet) -> String {
    MethodSet::ROUTED
        .iter()
        .filter(|method| set.contains(method))
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl<T: Payload> Actor for HttpMethodRouter<T> {
    type Inboxes = Inbox<T>;
    type Outboxes = MethodOutboxes<T>;

    async fn run(self, ctx: Context, inbox: Inbox<T>, outboxes: MethodOutboxes<T>) {
        let connected = outboxes.connected();
        let allow_connected = Allow::new(allow(connected));
        let outboxes = &outboxes;
        let allow_connected = &allow_connected;
        ctx.serve(inbox, |event: Event<T>| async move {
            let http = event.extension::<HttpContext>();
            let method = http.map(|http| http.method.clone());
            if let Some(outbox) = method.as_ref().and_then(|m| outboxes.for_method(m)) {
                outbox.send(event).await;
                return Ok(());
            }
            // Only what the request's route lets through to this router is worth offering.
            let allowed = match http {
                Some(http) => Allow::new(allow(connected.and(http.route_methods))),
                None => allow_connected.clone(),
            };
            let message = match method {
                Some(method) => format!("{method} is not allowed here"),
                None => "the event did not come from an HTTP request".to_string(),
            };
            Err(EventError::method_not_allowed(message).with_extension(allowed))
        })
        .await
    }
}
