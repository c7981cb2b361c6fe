//! [`HttpServer`]: the actor where HTTP requests enter a flow and where their answers leave it.
//!
//! It is a source and a sink at once. Each request becomes an event on an outbox and its handler
//! waits; whatever comes back on the server's inbox (an answer) or its error inbox (a failure
//! routed with `!->`) is matched to the waiting request through the reply slot the event carries
//! (see [`reply`](super::reply)) and written in the format the client asked for. Every request is
//! answered: by the flow, by an error status, by `504` when the flow takes longer than the
//! configured timeout, or by `500` as soon as the flow drops the event.
//!
//! Each connection runs as a task of its own (HTTP/1.1 with keep-alive; with the `http2` feature
//! also HTTP/2 over cleartext TCP for clients that start with its preface), so requests are read,
//! parsed and answered on every worker thread; the actor's own task only accepts connections and
//! hands answers over.

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};
#[cfg(not(feature = "http2"))]
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tracing::instrument::WithSubscriber;
use tracing::Instrument;

use crate::actor::{Actor, Context, TakesErrors};
use crate::error::{Error, ErrorKind, EventError};
use crate::event::{Event, HttpContext, MetaId};
use crate::id::EventId;
use crate::payload::{AnyPayload, Bytes, ErrorEvent, Json};
use crate::port::{Inbox, Outbox, OutboxSet};
use crate::xml::offload::Offload;
use crate::xml::Xml;
use crate::AnswersRequests;

use super::auth::header_safe_realm;
use super::body::Body;
use super::negotiation::{self, error_body, request_kind, Accept, Format, MediaKind, Unsupported};
use super::reply::{Answer, HttpStats, ReplyHandle, Undelivered};
use super::routes::{NoRoute, Route, Routes};

/// The largest request body taken by default: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// How long a request waits for the flow by default before it is answered `504`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The request header whose value becomes the event's `meta_id` and is echoed on the answer.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an `X-Request-ID` may be.
const MAX_REQUEST_ID: usize = 200;

/// The outboxes of an [`HttpServer`]: one [`Outbox<Body>`] (the default), or a struct of named
/// outboxes that [`Route::outbox`] picks from.
///
/// A hand-written set of outboxes implements [`OutboxSet`] and this trait:
///
/// ```
/// use compysition::http::{Body, HttpOutboxes};
/// use compysition::{ActorRef, OutPort, Outbox, OutboxSet, PortBundle, PortMismatch, PortSpec};
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
/// use compysition::http::{Body, HttpServer};
/// use compysition::prelude::*;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> compysition::Result<()> {
/// let mut director = Director::new();
/// let server = director.register_actor("wsgi", HttpServer::try_bind("127.0.0.1:7000")?);
/// let echo = director.register_actor("echo", from_fn(|event: Event<Body>| async { Ok(event) }));
/// director.connect_queue(&server, &echo);
/// director.connect_queue(&echo, &server);
/// director.connect_error_queue(&echo, &server);
/// director.run_until_signal().await
/// # }
/// ```
///
/// - **Requests**: `/<service>` (`GET` and `POST`) sets the event's `service`; [`Route`]s add
///   path patterns whose variables become attributes. `Content-Type` picks the payload
///   ([`Body`]): XML, JSON, text or bytes. An `X-Request-ID` header becomes the `meta_id`.
///   The request's method, path, query and headers are in [`Event::http`];
///   credentials in them are marked sensitive, so they never show in a printed event.
/// - **Answers**: an event on the inbox answers the request it came from (status from
///   [`HttpContext::status`], default `200`, plus [`HttpContext::response_headers`]), written as
///   the `Accept` header asks (JSON and XML convert into each other). An event on the error inbox
///   answers with its error's status and `{"errors":[{"message":…,"code":…}]}` or
///   `<errors><error><message>…</message><code>…</code></error></errors>`.
/// - **Statuses of its own**: `404` unknown route, `405` (with `Allow`) wrong method, `413`
///   body above the limit, `415` unsupported content type, `400` a body that does not parse,
///   `408` a body that did not arrive within the timeout, `500` the flow dropped the event,
///   `504` the flow did not answer in time.
/// - **Stop**: it stops accepting connections, lets requests in flight finish (or time out),
///   then closes its outboxes so the flow drains.
pub struct HttpServer<O = Outbox<Body>> {
    listener: Result<std::net::TcpListener, String>,
    config: Config,
    stats: HttpStats,
    _outboxes: PhantomData<fn() -> O>,
}

#[derive(Clone)]
struct Config {
    routes: Routes,
    body_limit: usize,
    timeout: Duration,
}

impl HttpServer {
    /// A server listening on `addr` (bound now; if that fails, the actor logs why when it runs
    /// and serves nothing). Prefer [`try_bind`](Self::try_bind) to handle the failure.
    pub fn bind(addr: impl ToSocketAddrs + fmt::Display) -> Self {
        let listener = std::net::TcpListener::bind(&addr)
            .map_err(|error| format!("cannot listen on {addr}: {error}"));
        Self::with_listener(listener)
    }

    /// A server listening on `addr`, or why it cannot. Port `0` picks a free port; see
    /// [`local_addr`](Self::local_addr).
    pub fn try_bind(addr: impl ToSocketAddrs + fmt::Display) -> crate::Result<Self> {
        match std::net::TcpListener::bind(&addr) {
            Ok(listener) => Ok(Self::with_listener(Ok(listener))),
            Err(error) => Err(Error::Setup(format!("cannot listen on {addr}: {error}"))),
        }
    }

    /// A server on a listener bound elsewhere.
    pub fn from_listener(listener: std::net::TcpListener) -> Self {
        Self::with_listener(Ok(listener))
    }

    fn with_listener(listener: Result<std::net::TcpListener, String>) -> Self {
        HttpServer {
            listener,
            config: Config {
                routes: Routes::default(),
                body_limit: DEFAULT_BODY_LIMIT,
                timeout: DEFAULT_TIMEOUT,
            },
            stats: HttpStats::default(),
            _outboxes: PhantomData,
        }
    }
}

impl<O: HttpOutboxes> HttpServer<O> {
    /// The address it listens on (with the port picked for port `0`).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().ok()?.local_addr().ok()
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

    /// How long a request waits for the flow before it is answered `504` (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
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
        let answers = deliver_answers(inbox, errors, self.stats.clone());
        let listener = self.listener.and_then(|listener| {
            listener
                .set_nonblocking(true)
                .and_then(|()| TcpListener::from_std(listener))
                .map_err(|error| format!("cannot listen: {error}"))
        });
        let listener = match listener {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(actor = %ctx.name(), "{error}; the server takes no requests");
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
        let shared = Arc::new(Shared {
            config: self.config,
            outboxes,
            stats: self.stats,
            parsing: Offload::per_cpu(),
        });
        tokio::join!(answers, accept_until_stopped(&ctx, listener, shared));
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
    /// Large bodies are parsed on the CPU pool the other actors use, so that a burst of them
    /// takes a core each at most.
    parsing: Offload,
}

/// Hands every answer and every routed error to the request waiting for it, until both inboxes
/// close.
async fn deliver_answers(
    mut inbox: Inbox<Body>,
    mut errors: Option<Inbox<AnyPayload>>,
    stats: HttpStats,
) {
    async fn next_error(errors: &mut Option<Inbox<AnyPayload>>) -> Option<ErrorEvent> {
        match errors {
            Some(inbox) => inbox.recv().await,
            None => None,
        }
    }
    loop {
        let answer = tokio::select! {
            Some(event) = inbox.recv() => Answer::Response(event),
            Some(event) = next_error(&mut errors) => Answer::Failed(event),
            else => break,
        };
        deliver(answer, &stats);
    }
}

fn deliver(answer: Answer, stats: &HttpStats) {
    let Some(reply) = answer.reply().cloned() else {
        stats.count_unmatched();
        tracing::warn!(meta_id = %answer.meta_id(), "an event that belongs to no request reached the server; dropped (keep the request's envelope: use `map` or `with_data`, not a new event)");
        return;
    };
    match reply.answer(answer) {
        // Counted by the request when it gets the answer, so the count is never behind what
        // clients have seen.
        Ok(()) => {}
        Err((Undelivered::AlreadyAnswered, answer)) => {
            stats.count_late();
            tracing::debug!(meta_id = %answer.meta_id(), "request already answered by another copy; dropped");
        }
        Err((Undelivered::NobodyWaiting, answer)) => {
            stats.count_late();
            tracing::debug!(meta_id = %answer.meta_id(), "answer arrived after the request stopped waiting; dropped");
        }
    }
}

/// Accepts connections until the topology stops, then lets the open ones finish their requests
/// (bounded by the answer timeout) and returns, releasing the outboxes.
async fn accept_until_stopped<O: HttpOutboxes>(
    ctx: &Context,
    listener: TcpListener,
    shared: Arc<Shared<O>>,
) {
    let (stopping, stop_signal) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = ctx.stopped() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let connection = serve_connection(stream, Arc::clone(&shared), stop_signal.clone())
                        .instrument(tracing::debug_span!("connection", %peer))
                        .with_current_subscriber();
                    connections.spawn(connection);
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    stopping.send_replace(true);
    let in_flight = connections.len();
    if in_flight > 0 {
        tracing::info!(
            connections = in_flight,
            "stopping: finishing requests in flight"
        );
    }
    // Every request in flight ends by its timeout at the latest; a little more lets its answer
    // be written.
    let deadline = shared.config.timeout + Duration::from_secs(1);
    let drained = tokio::time::timeout(deadline, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "connections still open after the drain deadline; closing them"
        );
        connections.shutdown().await;
    }
}

async fn serve_connection<O: HttpOutboxes>(
    stream: TcpStream,
    shared: Arc<Shared<O>>,
    mut stopping: watch::Receiver<bool>,
) {
    // Answers are small and written at once; waiting to fill a segment only adds latency.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle(request, &shared).await) }
    });
    #[cfg(not(feature = "http2"))]
    let builder = {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        builder
    };
    // HTTP/1.1 or HTTP/2, by what the client sends first (the HTTP/2 preface or a request line).
    #[cfg(feature = "http2")]
    let builder = {
        let mut builder = hyper_util::server::conn::auto::Builder::new(http2::StreamExecutor);
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(http2::MAX_CONCURRENT_STREAMS);
        builder
    };
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let stop = async move {
        // An error means the server is gone: stop too.
        let _ = stopping.wait_for(|stopping| *stopping).await;
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}

#[cfg(feature = "http2")]
mod http2 {
    use std::future::Future;

    use tracing::instrument::WithSubscriber;
    use tracing::Instrument;

    /// Streams one HTTP/2 client may have open at once: each is a request in the flow, so this
    /// bounds what one connection can put into it, as keep-alive does for HTTP/1.1.
    pub(super) const MAX_CONCURRENT_STREAMS: u32 = 128;

    /// Runs each HTTP/2 stream as a task of its own, in the connection's span and with the
    /// topology's log dispatch, so its log records carry the same context as HTTP/1.1 ones.
    #[derive(Clone, Copy)]
    pub(super) struct StreamExecutor;

    impl<F> hyper::rt::Executor<F> for StreamExecutor
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        fn execute(&self, stream: F) {
            // Called from the connection's task: its span and dispatch are the current ones.
            tokio::spawn(stream.in_current_span().with_current_subscriber());
        }
    }
}

/// What a request needs to write any answer.
struct Answering {
    accept: Accept,
    request_kind: Option<MediaKind>,
    request_id: Option<HeaderValue>,
}

impl Answering {
    fn error(&self, error: &EventError) -> Response<Full<Bytes>> {
        let format = self.accept.choose_for_error(self.request_kind);
        let content_type = match format {
            Format::Json => negotiation::JSON,
            Format::Xml => self.accept.xml_content_type(),
        };
        let mut response = Response::new(Full::new(Bytes::from(error_body(error, format))));
        *response.status_mut() = error.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, content_type);
        match error.kind() {
            ErrorKind::Unauthorized { realm } => {
                headers.insert(http::header::WWW_AUTHENTICATE, challenge(realm));
            }
            ErrorKind::MethodNotAllowed { allow } => {
                if let Ok(allow) = HeaderValue::from_str(allow) {
                    headers.insert(ALLOW, allow);
                }
            }
            _ => {}
        }
        self.echo_request_id(headers);
        response
    }

    fn echo_request_id(&self, headers: &mut HeaderMap) {
        if let Some(id) = &self.request_id {
            headers.insert(REQUEST_ID, id.clone());
        }
    }
}

/// `Basic realm="…", charset="UTF-8"`, the realm a quoted-string (RFC 7235): quotes and
/// backslashes escaped, and what a header cannot carry replaced (a realm may come from any
/// `EventError::unauthorized`, not only from a `BasicAuth`, which cleans it when it is set).
fn challenge(realm: &str) -> HeaderValue {
    let realm = header_safe_realm(realm);
    let mut value = String::with_capacity(realm.len() + 34);
    value.push_str("Basic realm=\"");
    for c in realm.chars() {
        if c == '"' || c == '\\' {
            value.push('\\');
        }
        value.push(c);
    }
    value.push_str("\", charset=\"UTF-8\"");
    // Visible ASCII and spaces only, which a header value always takes.
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("Basic realm=\"\", charset=\"UTF-8\""))
}

async fn handle<O: HttpOutboxes>(
    request: Request<Incoming>,
    shared: &Shared<O>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let kind = request_kind(&parts.headers);
    let mut answering = Answering {
        accept: Accept::from_headers(&parts.headers),
        request_kind: kind.as_ref().ok().copied().flatten(),
        request_id: None,
    };
    let response = match read_request(parts, body, kind, shared, &mut answering).await {
        Ok(admitted) => await_answer(admitted, shared, &answering).await,
        Err(error) => answering.error(&error),
    };
    tracing::debug!(status = response.status().as_u16(), "answered");
    response
}

/// Turns a request into its event, or into the error that answers it.
async fn read_request<O: HttpOutboxes>(
    parts: http::request::Parts,
    body: Incoming,
    kind: Result<Option<MediaKind>, Unsupported>,
    shared: &Shared<O>,
    answering: &mut Answering,
) -> Result<Admitted, EventError> {
    if let Some(id) = parts.headers.get(REQUEST_ID) {
        let valid = id.len() <= MAX_REQUEST_ID
            && !id.is_empty()
            && id.as_bytes().iter().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(EventError::malformed(format!(
                "X-Request-ID must be 1 to {MAX_REQUEST_ID} visible ASCII characters"
            )));
        }
        answering.request_id = Some(id.clone());
    }
    let route = match shared.config.routes.find(&parts.method, parts.uri.path()) {
        Ok(route) => route,
        Err(NoRoute::NotFound) => {
            return Err(EventError::not_found(format!(
                "no route for {}",
                parts.uri.path()
            )))
        }
        Err(NoRoute::MethodNotAllowed(allow)) => {
            let message = format!("{} is not allowed on {}", parts.method, parts.uri.path());
            return Err(EventError::method_not_allowed(allow, message));
        }
    };
    if shared.outboxes.outbox(route.outbox).is_none() {
        return Err(EventError::internal(format!(
            "the route for {} names outbox `{}`, which the server does not have",
            parts.uri.path(),
            route.outbox.unwrap_or("<default>")
        )));
    }

    let has_body = body.size_hint().exact() != Some(0);
    let kind = match kind {
        Ok(kind) => kind,
        Err(_) if !has_body => None,
        Err(unsupported) => {
            return Err(EventError::new(
                ErrorKind::UnsupportedMediaType,
                format!(
                    "unsupported {}; send application/json, application/xml, text/xml, text/plain or application/octet-stream",
                    unsupported.0
                ),
            ))
        }
    };
    let limit = shared.config.body_limit;
    let too_large = || {
        EventError::new(
            ErrorKind::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        )
    };
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    // A client that trickles its body must not hold the connection forever.
    let reading = tokio::time::timeout(shared.config.timeout, Limited::new(body, limit).collect());
    let bytes = match reading.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => return Err(too_large()),
        Ok(Err(error)) => {
            return Err(EventError::malformed(format!(
                "the request body could not be read: {error}"
            )))
        }
        Err(_elapsed) => {
            return Err(EventError::new(
                ErrorKind::RequestTimeout,
                format!(
                    "the request body did not arrive within {} ms",
                    shared.config.timeout.as_millis()
                ),
            ))
        }
    };
    // Large bodies are parsed on the CPU pool rather than on an async worker.
    let size = bytes.len();
    let payload = shared
        .parsing
        .run_sized(size, move || parse_body(kind, bytes))
        .await?;

    let mut event = Event::new(payload).with_service(&*route.service);
    for (name, value) in route.attributes {
        event.set_attribute(name, value);
    }
    if let Some(id) = &answering.request_id {
        // Checked above: visible ASCII.
        if let Ok(id) = id.to_str() {
            event.set_meta_id(id);
        }
    }
    let (reply, answer) = ReplyHandle::new(route.methods);
    let mut http = HttpContext::new(parts.method, parts.uri.path());
    http.query = parts.uri.query().map(str::to_owned);
    http.headers = parts.headers;
    mark_credentials_sensitive(&mut http.headers);
    http.reply = Some(reply);
    event.set_http(http);
    shared.stats.count_request();
    Ok(Admitted {
        event,
        answer,
        outbox: route.outbox,
    })
}

/// A request turned into its event.
struct Admitted {
    event: Event<Body>,
    /// Where its answer arrives.
    answer: oneshot::Receiver<Answer>,
    /// The outbox its route leaves by.
    outbox: Option<&'static str>,
}

/// Sends the event into the flow and waits for its answer, its error, its loss or the timeout.
async fn await_answer<O: HttpOutboxes>(
    admitted: Admitted,
    shared: &Shared<O>,
    answering: &Answering,
) -> Response<Full<Bytes>> {
    let Admitted {
        event,
        answer,
        outbox,
    } = admitted;
    let timeout = shared.config.timeout;
    // For the log records of a request that gets no answer; written only then.
    let meta_id = RequestMetaId {
        given: answering.request_id.as_ref(),
        own: event.id(),
    };
    // The timeout covers the wait for room in a full inbox too.
    let outcome = tokio::time::timeout(timeout, async {
        // Checked when the request was read; a missing outbox drops the event (a 500).
        if let Some(outbox) = shared.outboxes.outbox(outbox) {
            outbox.send(event).await;
        }
        answer.await
    })
    .await;
    if let Ok(Ok(_)) = &outcome {
        shared.stats.count_answered();
    }
    match outcome {
        Ok(Ok(Answer::Response(event))) => respond(event, answering),
        Ok(Ok(Answer::Failed(event))) => {
            let error = event
                .error()
                .cloned()
                .unwrap_or_else(|| EventError::internal("the flow failed without saying why"));
            let mut response = answering.error(&error);
            echo_meta_id(&event, response.headers_mut());
            response
        }
        Ok(Err(_dropped)) => {
            shared.stats.count_dropped();
            tracing::warn!(%meta_id, "the flow dropped the request without answering");
            answering.error(&EventError::internal(
                "the flow dropped the request without answering",
            ))
        }
        Err(_elapsed) => {
            shared.stats.count_timed_out();
            tracing::warn!(%meta_id, ?timeout, "the flow did not answer in time");
            answering.error(&EventError::timeout(format!(
                "the flow did not answer within {} ms",
                timeout.as_millis()
            )))
        }
    }
}

fn echo_meta_id<T>(event: &Event<T>, headers: &mut HeaderMap) {
    if headers.contains_key(REQUEST_ID) {
        return;
    }
    let id = match event.meta_id() {
        MetaId::Own(id) => HeaderValue::from_bytes(&id.hyphenated()),
        MetaId::Given(given) => HeaderValue::from_str(given),
    };
    if let Ok(id) = id {
        headers.insert(REQUEST_ID, id);
    }
}

/// The `meta_id` of a request's event: its `X-Request-ID`, or else the event's own id.
struct RequestMetaId<'a> {
    given: Option<&'a HeaderValue>,
    own: EventId,
}

impl fmt::Display for RequestMetaId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A request id is checked to be visible ASCII when the request is read.
        match self.given.and_then(|id| id.to_str().ok()) {
            Some(given) => f.write_str(given),
            None => fmt::Display::fmt(&self.own, f),
        }
    }
}

/// Marks credentials so that printing the event (its `Debug`) shows `Sensitive` instead.
fn mark_credentials_sensitive(headers: &mut HeaderMap) {
    use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
    for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE] {
        if let http::header::Entry::Occupied(mut entry) = headers.entry(name) {
            for value in entry.iter_mut() {
                value.set_sensitive(true);
            }
        }
    }
}

/// The request body as the payload its content type asks for.
fn parse_body(kind: Option<MediaKind>, bytes: Bytes) -> Result<Body, EventError> {
    if bytes.is_empty() {
        return Ok(Body::Empty);
    }
    match kind {
        Some(MediaKind::Json) => Json::parse(&bytes).map(Body::Json),
        Some(MediaKind::Xml) => Xml::from_bytes(bytes).map(Body::Xml),
        Some(MediaKind::Text) => match String::from_utf8(bytes.into()) {
            Ok(text) => Ok(Body::Text(text)),
            Err(error) => Err(EventError::malformed(format!(
                "text/plain body is not UTF-8: invalid byte at offset {}",
                error.utf8_error().valid_up_to()
            ))),
        },
        Some(MediaKind::Bytes) | None => Ok(Body::Bytes(bytes)),
    }
}

/// Writes the flow's answer in the format the client asked for.
fn respond(event: Event<Body>, answering: &Answering) -> Response<Full<Bytes>> {
    let (envelope, body) = event.split();
    let http = envelope.http();
    let status = http.and_then(|http| http.status).unwrap_or(StatusCode::OK);
    let mut headers = http
        .map(|http| http.response_headers.clone())
        .unwrap_or_default();
    let bytes = if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        Bytes::new()
    } else if headers.contains_key(CONTENT_TYPE) {
        // The flow chose the format itself.
        body.into_bytes()
    } else {
        let (content_type, bytes) = negotiate(body, &answering.accept);
        if let Some(content_type) = content_type {
            headers.insert(CONTENT_TYPE, content_type);
        }
        bytes
    };
    answering.echo_request_id(&mut headers);
    echo_meta_id(&envelope, &mut headers);
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The body's bytes and content type, converted between JSON and XML when the client prefers
/// the other.
fn negotiate(body: Body, accept: &Accept) -> (Option<HeaderValue>, Bytes) {
    match body {
        Body::Empty => (None, Bytes::new()),
        Body::Json(json) => match accept.choose(Format::Json) {
            Format::Xml => match Xml::from_json(&json) {
                Ok(xml) => (Some(accept.xml_content_type()), xml.into_bytes()),
                Err(error) => {
                    // JSON without an XML form (a key that is no XML name, ...): the client
                    // still gets the answer, in the format it has.
                    tracing::debug!(%error, "answer has no XML form; sent as JSON");
                    (Some(negotiation::JSON), json.to_bytes())
                }
            },
            Format::Json => (Some(negotiation::JSON), json.to_bytes()),
        },
        Body::Xml(xml) => match accept.choose(Format::Xml) {
            Format::Json => (Some(negotiation::JSON), xml.to_json().to_bytes()),
            Format::Xml => (Some(accept.xml_content_type()), xml.into_bytes()),
        },
        Body::Text(text) => (Some(negotiation::TEXT), Bytes::from(text)),
        Body::Bytes(bytes) => (Some(negotiation::OCTETS), bytes),
    }
}
