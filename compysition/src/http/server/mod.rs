//! [`HttpServer`]: the actor where HTTP requests enter a flow and where their answers leave it.
//!
//! It is a source and a sink at once. Each request becomes an event on an outbox and its handler
//! waits; whatever comes back on the server's inbox (an answer) or its error inbox (a failure
//! routed with `!->`) is matched to the waiting request through the reply slot the event carries
//! (see [`reply`](crate::reply)) and written in the format the client asked for. Every request is
//! answered: by the flow, by an error status, by `504` when the flow takes longer than the
//! configured timeout, or by `500` as soon as the flow drops the event.
//!
//! Each connection runs as a task of its own (HTTP/1.1 with keep-alive; with the `http2` feature
//! also HTTP/2 over cleartext TCP for clients that start with its preface), so requests are read,
//! parsed and answered on every worker thread; the actor's own task only accepts connections and
//! hands answers over.

mod accept;
mod answer;
mod connections;
mod request;

use std::marker::PhantomData;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderName;
use tokio::net::TcpListener;

use crate::actor::{Actor, Context, TakesErrors};
use crate::error::{Error, Result};
use crate::port::{Inbox, Outbox, OutboxSet};
use crate::xml::XmlLimits;
use crate::AnswersRequests;

use super::body::Body;
#[cfg(doc)]
use super::context::HttpContext;
use super::routes::{Route, Routes};
use super::stats::HttpStats;

/// The largest request body taken by default: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// How long a request waits for the flow by default before it is answered `504`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The request header whose value becomes the event's `meta_id` and is echoed on the answer.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How long a new connection may take to send its first complete request head, by default.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may stay open without a request in flight, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often an HTTP/2 peer is sent a PING by default, to see that it is still there.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(20);
/// How long a PING may go unanswered by default before the connection is dropped.
pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// The most bytes of headers one request may send by default (nginx takes about half).
pub const DEFAULT_HEADER_LIMIT: usize = 64 * 1024;
/// hyper's smallest read buffer for HTTP/1.1, which bounds the header limit from below.
const MIN_HEADER_LIMIT: usize = 8 * 1024;
/// How long an `X-Request-ID` may be.
const MAX_REQUEST_ID: usize = 200;

/// The outboxes of an [`HttpServer`]: one [`Outbox<Body>`] (the default), or a struct of named
/// outboxes that [`Route::outbox`] picks from.
///
/// A hand-written set of outboxes implements [`OutboxSet`] and this trait:
///
/// ```
/// use compysition::http::{Body, HttpOutboxes};
/// use compysition::Outbox;
/// use compysition::ports::{ActorRef, OutPort, OutboxSet, PortBundle, PortMismatch, PortSpec};
///
/// struct OrderOutboxes {
///     orders: Outbox<Body>,
///     reports: Outbox<Body>,
/// }
///
/// impl OutboxSet for OrderOutboxes {
///     type Refs = (OutPort<Body>, OutPort<Body>);
///     fn specs() -> Vec<PortSpec> {
///         vec![PortSpec::outbox::<Body>("orders"), PortSpec::outbox::<Body>("reports")]
///     }
///     fn refs(actor: &ActorRef) -> Self::Refs {
///         (OutPort::new(actor.clone(), Some("orders")), OutPort::new(actor.clone(), Some("reports")))
///     }
///     fn assemble(ports: &mut PortBundle) -> Result<Self, PortMismatch> {
///         Ok(OrderOutboxes { orders: ports.outbox()?, reports: ports.outbox()? })
///     }
/// }
///
/// impl HttpOutboxes for OrderOutboxes {
///     fn outbox(&self, name: Option<&str>) -> Option<&Outbox<Body>> {
///         match name {
///             None | Some("orders") => Some(&self.orders),
///             Some("reports") => Some(&self.reports),
///             Some(_) => None,
///         }
///     }
/// }
/// ```
pub trait HttpOutboxes: OutboxSet + Sync {
    /// The outbox named `name`; `None` asks for the one requests on the default route use.
    fn outbox(&self, name: Option<&str>) -> Option<&Outbox<Body>>;
}

impl HttpOutboxes for Outbox<Body> {
    fn outbox(&self, name: Option<&str>) -> Option<&Outbox<Body>> {
        match name {
            None | Some("outbox") => Some(self),
            Some(_) => None,
        }
    }
}

/// An HTTP/1.1 server whose requests flow through a topology and whose answers come back to it.
///
/// ```no_run
/// use compysition::http::Body;
/// use compysition::actors::HttpServer;
/// use compysition::prelude::*;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> compysition::Result<()> {
/// let mut director = Director::new();
/// let server = director.register_actor("wsgi", HttpServer::bind("127.0.0.1:7000")?);
/// let echo = director.register_actor("echo", from_fn(|event: Event<Body>| async { Ok(event) }));
/// director.connect_queue(&server, &echo);
/// director.connect_queue(&echo, &server);
/// director.connect_error_queue(&echo, &server);
/// director.run_until_signal().await
/// # }
/// ```
///
/// - **Requests**: `/<service>` (`GET` and `POST`; `HEAD` wherever `GET` is) sets the event's
///   `service`; [`Route`]s add path patterns whose variables become attributes. `Content-Type`
///   picks the payload ([`Body`]): XML and JSON arrive [`Body::Unparsed`] and are parsed at the
///   edge into the first actor that takes `Xml` or `Json` (a `400` there when they do not
///   parse), text is checked to be UTF-8, anything else is bytes. An `X-Request-ID` header
///   becomes the `meta_id`; without one the `meta_id` is the event's random id.
///   The request's method, path, query and headers are in its [`HttpContext`] extension
///   (`event.extension::<HttpContext>()`);
///   credentials in them are marked sensitive, so they never show in a printed event.
/// - **Answers**: an event on the inbox answers the request it came from (status from
///   [`HttpContext::status`], default `200`, plus [`HttpContext::response_headers`]), written as
///   the `Accept` header asks (JSON and XML convert into each other). An event on the error inbox
///   answers with its error's status and `{"errors":[{"message":…,"code":…}]}` or
///   `<errors><error><message>…</message><code>…</code></error></errors>`.
/// - **Statuses of its own**: `400` a missing or repeated `Host`, `404` unknown route, `405`
///   (with `Allow`) wrong method, `413` body above the limit, `415` unsupported content type,
///   `431` headers above the limit, `408` a body that did not arrive by the deadline, `500` the
///   flow dropped the event, `504` the flow did not answer by the deadline (which runs from the
///   complete request head), `503` the server stopped first.
/// - **Connections**: each must send a complete request head within the header timeout and may
///   stay idle for the idle timeout (HTTP/2 peers also answer PINGs); at the connection limit
///   a new connection takes the seat of the one idle the longest, so that idle or half-open
///   sockets can never keep a client out.
/// - **Stop**: it stops accepting connections and lets the requests already accepted get the
///   flow's answer until the drain deadline, answers the rest `503`, logs how many ended each
///   way, then closes its outboxes so the flow drains.
pub struct HttpServer<O = Outbox<Body>> {
    listener: std::net::TcpListener,
    config: Config,
    stats: HttpStats,
    _outboxes: PhantomData<fn() -> O>,
}

#[derive(Clone)]
struct Config {
    routes: Routes,
    body_limit: usize,
    timeout: Duration,
    header_timeout: Duration,
    idle_timeout: Duration,
    header_limit: usize,
    // Used by HTTP/2 only.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    ping_interval: Duration,
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    ping_timeout: Duration,
    /// `None`: sized to the process's file limit when the server starts.
    connection_limit: Option<usize>,
    /// `None`: derived from the request timeout and the topology's shutdown timeout.
    drain_timeout: Option<Duration>,
    /// `None`: [`XmlLimits::DEFAULT`].
    xml_limits: Option<Arc<XmlLimits>>,
}

impl HttpServer {
    /// A server listening on `addr`, bound now: a port in use (or any other reason the address
    /// cannot be bound) is an [`Error::Bind`] naming the address. Port `0` picks a free port;
    /// see [`local_addr`](Self::local_addr).
    pub fn bind(addr: impl ToSocketAddrs + std::fmt::Display) -> Result<Self> {
        std::net::TcpListener::bind(&addr)
            .map(Self::from_listener)
            .map_err(|source| Error::Bind {
                address: addr.to_string(),
                source,
            })
    }

    /// A server on a listener bound elsewhere.
    pub fn from_listener(listener: std::net::TcpListener) -> Self {
        HttpServer {
            listener,
            config: Config {
                routes: Routes::default(),
                body_limit: DEFAULT_BODY_LIMIT,
                timeout: DEFAULT_TIMEOUT,
                header_timeout: DEFAULT_HEADER_TIMEOUT,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                header_limit: DEFAULT_HEADER_LIMIT,
                ping_interval: DEFAULT_PING_INTERVAL,
                ping_timeout: DEFAULT_PING_TIMEOUT,
                connection_limit: None,
                drain_timeout: None,
                xml_limits: None,
            },
            stats: HttpStats::default(),
            _outboxes: PhantomData,
        }
    }
}

impl<O: HttpOutboxes> HttpServer<O> {
    /// The address it listens on (with the port picked for port `0`).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Adds a route; configured routes are tried before the default `/<service>` route.
    pub fn route(mut self, route: Route) -> Self {
        self.config.routes.push(route);
        self
    }

    /// Drops the default `/<service>` route: only configured routes are served.
    pub fn without_default_route(mut self) -> Self {
        self.config.routes.set_default_route(false);
        self
    }

    /// The largest request body taken (default 1 MiB); larger ones are answered `413`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }

    /// How long a request may take, from its complete head to its answer, before it is
    /// answered `504` (default 30 s). The body's arrival, waits for a full inbox or a busy CPU
    /// pool and the flow's own work all count against it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// How long a new connection may take to send its first complete request head, whatever
    /// the protocol (default 10 s); a connection that does not is closed.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.config.header_timeout = timeout;
        self
    }

    /// How long a connection may stay open without a request in flight (default 60 s): an
    /// HTTP/1.1 keep-alive connection between requests, an HTTP/2 connection without streams.
    /// HTTP/2 peers are also sent PINGs, and a peer that does not answer one is dropped.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// How often HTTP/2 peers are sent a PING (default 20 s) and how long one may go unanswered
    /// before the connection is dropped (default 20 s), requests in flight or not: a peer that
    /// vanished without closing its connection frees its seat.
    pub fn http2_ping(mut self, interval: Duration, timeout: Duration) -> Self {
        self.config.ping_interval = interval;
        self.config.ping_timeout = timeout;
        self
    }

    /// The most bytes of headers one request may send (default 64 KiB); more is answered
    /// `431`. At least 8 KiB.
    pub fn header_limit(mut self, bytes: usize) -> Self {
        self.config.header_limit = bytes.max(MIN_HEADER_LIMIT);
        self
    }

    /// The most connections open at once (default: most of the process's file limit). A new
    /// connection past it takes the seat of the connection idle the longest, so that idle or
    /// half-open sockets cannot keep a client out.
    pub fn connection_limit(mut self, connections: usize) -> Self {
        self.config.connection_limit = Some(connections.max(1));
        self
    }

    /// The limits on the shape of XML request bodies (attributes per element, elements, name
    /// and text sizes, namespaces, depth; by default [`XmlLimits::DEFAULT`]), checked when an
    /// edge parses the body, before the system's XML library sees it: over one is a `400`
    /// naming it.
    pub fn xml_limits(mut self, limits: XmlLimits) -> Self {
        self.config.xml_limits = Some(Arc::new(limits));
        self
    }

    /// How long a stop waits for the answers of requests already accepted before answering
    /// them `503` (default: the request timeout, but at most two thirds of the topology's
    /// shutdown timeout, so that the flow behind the server can drain in the rest).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.config.drain_timeout = Some(timeout);
        self
    }

    /// The server's counters, to read while it runs.
    pub fn stats(&self) -> HttpStats {
        self.stats.clone()
    }

    /// The same server with another set of outboxes, for routes that pick an outbox.
    pub fn with_outboxes<P: HttpOutboxes>(self) -> HttpServer<P> {
        HttpServer {
            listener: self.listener,
            config: self.config,
            stats: self.stats,
            _outboxes: PhantomData,
        }
    }
}

impl<O: HttpOutboxes> Actor for HttpServer<O> {
    type Inboxes = Inbox<Body>;
    type Outboxes = O;
    const ERROR_INBOX: bool = true;

    async fn run(self, mut ctx: Context, inbox: Inbox<Body>, outboxes: O) {
        let errors = ctx.take_error_inbox();
        let answers = answer::deliver_answers(inbox, errors, self.stats.clone());
        let listener = self
            .listener
            .set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(self.listener));
        let listener = match listener {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(actor = %ctx.name(), %error, "cannot listen; the server takes no requests");
                drop(outboxes);
                answers.await;
                return;
            }
        };
        let names: Vec<&str> = O::specs().iter().map(|spec| spec.name()).collect();
        for route in self.config.routes.iter() {
            if outboxes.outbox(route.outbox_name()).is_none() {
                tracing::error!(
                    actor = %ctx.name(),
                    route = %route,
                    "route names outbox `{}` but the server has only {}; its requests are answered 500",
                    route.outbox_name().unwrap_or("<default>"),
                    names.join(", ")
                );
            }
        }
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(actor = %ctx.name(), %addr, "listening");
        }
        let limit = self
            .config
            .connection_limit
            .unwrap_or_else(connections::default_connection_limit);
        let shared = Arc::new(Shared {
            config: self.config,
            outboxes,
            stats: self.stats,
            connections: connections::Connections::new(limit),
            drain_expired: tokio::sync::watch::Sender::new(false),
        });
        tokio::join!(
            answers,
            accept::accept_until_stopped(&ctx, listener, shared)
        );
    }
}

impl<O: HttpOutboxes> TakesErrors for HttpServer<O> {}

/// Every request it emits must come back to it: `topology!` checks the path back exists.
impl<O: HttpOutboxes> AnswersRequests for HttpServer<O> {}

/// What every connection of one server shares.
struct Shared<O> {
    config: Config,
    outboxes: O,
    stats: HttpStats,
    connections: connections::Connections,
    /// Set when a stop's drain deadline has passed: every request still waiting answers `503`.
    drain_expired: tokio::sync::watch::Sender<bool>,
}
