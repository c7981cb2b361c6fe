//! `MdpClient`: turns each event into a 7/MDP request and the reply back into the event.
//!
//! # Many requests in flight over a protocol with one
//!
//! An MDP/Client dialogue is strictly request–reply: a REPLY names the service but carries no
//! correlation id, and replies for one service from several workers can arrive in any order.
//! Adding an id to the body would make every worker see it, so the client multiplexes on
//! connections instead: each request in flight owns one DEALER connection for its whole
//! exchange, which makes "the next message on this connection" exactly "the reply to this
//! request". Connections are kept in a pool and reused, so a steady load opens as many
//! connections as it has requests in flight (the actor's concurrency, 64 by default) and no
//! more.
//!
//! A pooled connection can have died while it sat idle — a broker that restarts closes them
//! all. One found closed before it is used, or that closes (or cannot be written) before its
//! reply comes, is dropped and the request goes on the next pooled connection, then on a new
//! one, without counting as a retry; at most as many pooled connections are tried as the pool
//! held. A connection that closed after the request was written may have carried it to a
//! broker that went away before replying, so, as with a retry, a worker may see it twice.
//!
//! # Tries, and a broker that is away
//!
//! A try lasts its `timeout`, whatever happens within it. A broker that refuses the connection,
//! or drops it before replying, may be restarting: the try connects again after a pause that
//! doubles each time (from [`DEFAULT_RECONNECT_BACKOFF`] to [`DEFAULT_MAX_RECONNECT_BACKOFF`],
//! see [`MdpClient::reconnect_backoff`]), each pause drawn at random between half its length
//! and all of it, so that the clients that lost the same broker at the same moment do not come
//! back at the same moment. The try counts only when its time is used up, so `retries(3)` with
//! a 1 s timeout rides out a broker that is away for up to about 3 s: a request sent while it
//! is away is answered once it is back, rather than failing at once on every try.
//!
//! A request that gets no reply in time is retried on a *new* connection (the late reply, if it
//! ever comes, goes to the closed one and cannot be taken for the answer to a later request) —
//! the recovery 7/MDP recommends. After the last attempt the event goes to the error outbox:
//! `503` when no broker could be reached or the broker says (through `mmi.service`) that no
//! worker serves the service, `504` when the service was there but did not answer in time.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::defaults::{DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_MAX_MESSAGE_SIZE};
use super::limits;
use super::protocol::{self, valid_service_name, Malformed};
use super::registration::{BrokerDirectory, BrokerSource};
use crate::actor::{Actor, Context};
use crate::error::{EventError, Result};
use crate::event::Event;
use crate::id::random_u64;
use crate::port::{Inbox, Outbox};
use crate::zeromq::envelope::{self, EnvelopeStats, ENVELOPE_SERVICE_SUFFIX};
use crate::zeromq::Frames;
use crate::zmtp::dealer::Dealer;
use crate::zmtp::mechanism::Mechanism;
use crate::zmtp::transport::check_connect_endpoint;

/// The first pause before a try connects again to a broker that refused or dropped its
/// connection: short, since a pooled connection found dead after a restart is common and the
/// broker is often back at once.
pub const DEFAULT_RECONNECT_BACKOFF: Duration = Duration::from_millis(20);
/// The longest pause between two connections of one request to a broker that is away.
pub const DEFAULT_MAX_RECONNECT_BACKOFF: Duration = Duration::from_secs(1);

/// Sends every event as a request to the service `prefix + event.service() + postfix` and
/// emits the same event, envelope kept, with the reply body as payload.
///
/// ```no_run
/// use std::time::Duration;
/// use compysition::actors::MdpClient;
/// use compysition::ActorExt;
///
/// # fn example() -> compysition::Result<()> {
/// let client = MdpClient::connect("tcp://127.0.0.1:5555")?
///     .prefix("billing.")
///     .timeout(Duration::from_secs(2))
///     .retries(2)
///     .with_concurrency(128); // requests in flight at once
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct MdpClient {
    brokers: BrokerSource,
    prefix: String,
    postfix: String,
    timeout: Duration,
    retries: u32,
    discovery_interval: Duration,
    max_message: usize,
    backoff: (Duration, Duration),
    envelope: bool,
    envelope_stats: std::sync::Arc<EnvelopeStats>,
    mechanism: Mechanism,
}

impl MdpClient {
    /// A client of the broker at `endpoint` (`tcp://host:port`).
    pub fn connect(endpoint: &str) -> Result<Self> {
        check_connect_endpoint(endpoint)?;
        Ok(Self::with_source(BrokerSource::Fixed(
            std::sync::Arc::from([endpoint.to_string()]),
        )))
    }

    /// A client of every broker the registration service at `registry` knows, each new
    /// connection going to the next broker in turn (our extension, see
    /// [`MdpBrokerRegistrationService`](crate::actors::MdpBrokerRegistrationService)).
    pub fn discover(registry: &str) -> Result<Self> {
        check_connect_endpoint(registry)?;
        Ok(Self::with_source(BrokerSource::Registry(
            registry.to_string(),
        )))
    }

    fn with_source(brokers: BrokerSource) -> Self {
        MdpClient {
            brokers,
            prefix: String::new(),
            postfix: String::new(),
            timeout: Duration::from_secs(5),
            retries: 1,
            discovery_interval: DEFAULT_HEARTBEAT_INTERVAL,
            max_message: DEFAULT_MAX_MESSAGE_SIZE,
            backoff: (DEFAULT_RECONNECT_BACKOFF, DEFAULT_MAX_RECONNECT_BACKOFF),
            envelope: false,
            envelope_stats: std::sync::Arc::default(),
            mechanism: Mechanism::Null,
        }
    }

    /// Whether the event's envelope travels with the request (default off): its meta id, id
    /// (as the remote event's [`origin_id`](Event::origin_id)), service, attributes and
    /// `traceparent` go in an envelope frame before the body, and the reply's envelope brings
    /// back the attributes the remote flow left and, when it failed the request, its error,
    /// which goes to the error outbox with the kind it had there (a `422` raised remotely is a
    /// `422` here).
    ///
    /// Enveloped requests go to the service name followed by
    /// [`ENVELOPE_SERVICE_SUFFIX`](crate::mdp::ENVELOPE_SERVICE_SUFFIX), which only an
    /// [`MdpWorker`](crate::actors::MdpWorker) with `envelope(true)` registers: a plain 7/MDP
    /// worker is never sent a frame it does not understand, and with none but plain workers the
    /// request fails as `503` (nobody serves the enveloped name).
    pub fn envelope(mut self, on: bool) -> Self {
        self.envelope = on;
        self
    }

    /// The counters of the envelopes of replies (malformed ones refused).
    pub fn envelope_stats(&self) -> std::sync::Arc<EnvelopeStats> {
        std::sync::Arc::clone(&self.envelope_stats)
    }

    /// Put before the event's service to name the MDP service.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Put after the event's service to name the MDP service.
    pub fn postfix(mut self, postfix: impl Into<String>) -> Self {
        self.postfix = postfix.into();
        self
    }

    /// How long one attempt waits for its reply (default 5 s; from 1 ms to a year).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = limits::interval(timeout);
        self
    }

    /// How many times a request is sent again after a timeout (default 1). Majordomo workers
    /// are meant to be idempotent, which is what makes a retry safe. Every try lasts its
    /// `timeout`, even when the broker cannot be reached: a connection refused or dropped is
    /// made again within the try after a pause (see [`MdpClient::reconnect_backoff`]), so the
    /// tries together cover `(retries + 1) × timeout` and ride out a broker restart that short.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The pauses between connections to a broker that refused or dropped one, within a try:
    /// `first` (default 20 ms), doubled each time up to `max` (default 1 s), each drawn at
    /// random between half its length and all of it. Both from 1 ms to a year; `max` is at
    /// least `first`.
    pub fn reconnect_backoff(mut self, first: Duration, max: Duration) -> Self {
        let first = limits::interval(first);
        self.backoff = (first, limits::interval(max).max(first));
        self
    }

    /// How often the broker list is asked from the registration service (default 2.5 s; from
    /// 1 ms to a year).
    pub fn discovery_interval(mut self, interval: Duration) -> Self {
        self.discovery_interval = limits::interval(interval);
        self
    }

    /// The largest reply accepted, in octets (default 16 MiB; from 1 KiB to 4 GiB). A broker
    /// that announces a larger message loses the connection (the request is retried or fails
    /// as unreachable); nothing is set aside for a length that is only announced.
    pub fn max_message_size(mut self, octets: usize) -> Self {
        self.max_message = limits::message_size(octets);
        self
    }

    /// Speaks CURVE to the broker (RFC 25/26) with `config`: this client's key pair and the
    /// broker's public key; the broker's allow-list must hold this client's public key. NULL
    /// (no security) unless set.
    #[cfg(feature = "curve")]
    pub fn curve(mut self, config: crate::zmtp::curve::CurveClient) -> Self {
        self.mechanism = Mechanism::from(config);
        self
    }

    fn service_for<T>(&self, event: &Event<T>) -> Result<Bytes, EventError> {
        let middle = event.service().unwrap_or_default();
        let mut name = String::with_capacity(
            self.prefix.len() + middle.len() + self.postfix.len() + ENVELOPE_SERVICE_SUFFIX.len(),
        );
        name.push_str(&self.prefix);
        name.push_str(middle);
        name.push_str(&self.postfix);
        if self.envelope {
            name.push_str(ENVELOPE_SERVICE_SUFFIX);
        }
        if valid_service_name(name.as_bytes()) {
            Ok(Bytes::from(name))
        } else {
            Err(EventError::malformed(format!(
                "`{name}` cannot be an MDP service name (1 to 255 bytes of printable text)"
            )))
        }
    }
}

/// A request that failed: the event as it was sent, and why.
type Failed = (Event<Frames>, EventError);

impl MdpClient {
    /// One event's request: the event with the reply, or with the error for the error outbox.
    async fn request(
        &self,
        exchange: &Exchange<'_>,
        mut event: Event<Frames>,
    ) -> Result<Event<Frames>, Failed> {
        let service = match self.service_for(&event) {
            Ok(service) => service,
            Err(error) => return Err((event, error)),
        };
        if !self.envelope {
            return match exchange.call(&service, &event.data, self.retries).await {
                Ok(reply) => Ok(event.with_data(reply)),
                Err(error) => Err((event, error)),
            };
        }
        let frame = match envelope::encode_request(&event) {
            Ok(frame) => frame,
            Err(error) => return Err((event, error)),
        };
        let enveloped = Exchange {
            envelope: Some(&frame),
            ..*exchange
        };
        let reply = match enveloped.call(&service, &event.data, self.retries).await {
            Ok(reply) => reply,
            Err(error) => return Err((event, error)),
        };
        let read = match envelope::decode_reply(reply.get(0)) {
            Ok(read) => read,
            Err(malformed) => {
                self.envelope_stats.count_malformed();
                let name = String::from_utf8_lossy(&service);
                let error = EventError::unavailable(format!(
                    "MDP service `{name}` answered with a bad envelope: {}",
                    malformed.message()
                ));
                return Err((event, error));
            }
        };
        event.replace_attributes(read.attributes);
        match read.error {
            Some(error) => Err((event, error)),
            None => {
                Ok(event.with_data(Frames::from(reply.as_slice().get(1..).unwrap_or_default())))
            }
        }
    }
}

impl Actor for MdpClient {
    type Inboxes = Inbox<Frames>;
    type Outboxes = Outbox<Frames>;

    async fn run(self, ctx: Context, inbox: Inbox<Frames>, outbox: Outbox<Frames>) {
        let directory = BrokerDirectory::new(self.brokers.clone(), self.discovery_interval);
        let pool = SocketPool::default();
        let exchange = Exchange {
            directory: &directory,
            pool: &pool,
            timeout: self.timeout,
            max_message: self.max_message,
            backoff: self.backoff,
            envelope: None,
            mechanism: &self.mechanism,
        };
        let serving = ctx.serve(inbox, |event| {
            let (exchange, outbox, ctx, client) = (&exchange, &outbox, &ctx, &self);
            async move {
                match client.request(exchange, event).await {
                    Ok(answered) => outbox.send(answered).await,
                    Err((event, error)) => ctx.fail(event, error).await,
                }
                Ok(())
            }
        });
        tokio::select! {
            () = serving => {}
            () = async { directory.keep_updated().await; std::future::pending().await } => {}
        }
    }
}

/// Idle connections, each to one broker, ready for the next request.
#[derive(Default)]
struct SocketPool {
    idle: Mutex<Vec<(String, Dealer)>>,
}

impl SocketPool {
    /// The most recently used idle connection that is still of use: to a listed broker, and
    /// not found closed (see [`Dealer::is_stale`]). The others are dropped on the way.
    fn take(&self, directory: &BrokerDirectory) -> Option<(String, Dealer)> {
        loop {
            let (broker, mut socket) = self.lock().pop()?;
            // Checked outside the lock: the check reads the socket.
            if directory.contains(&broker) && !socket.is_stale() {
                return Some((broker, socket));
            }
        }
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn put(&self, broker: String, socket: Dealer) {
        self.lock().push((broker, socket));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Dealer)>> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why an attempt failed.
enum Failure {
    NoBroker,
    /// Refused or dropped the connection: perhaps away for a moment, worth connecting again.
    Unreachable(String),
    /// Broke ZMTP or a limit: connecting again would not help.
    Broke(String),
    Timeout,
    Malformed(Malformed),
}

/// How a request went on one connection.
enum Outcome {
    Reply(Frames),
    Failed(Failure),
    /// The connection could not be written or closed before any reply: why.
    Lost(String),
}

struct Exchange<'a> {
    directory: &'a BrokerDirectory,
    pool: &'a SocketPool,
    timeout: Duration,
    max_message: usize,
    /// The first and the longest pause between connections (see [`Backoff`]).
    backoff: (Duration, Duration),
    /// The envelope frame that goes before the body, when the request has one.
    envelope: Option<&'a [u8]>,
    mechanism: &'a Mechanism,
}

/// The pauses of one request between connections to a broker that is away: exponential, with
/// jitter.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new((first, max): (Duration, Duration)) -> Self {
        Backoff { next: first, max }
    }

    /// The next pause: between half the current length and all of it, at random; the length
    /// doubles for the next one, up to the longest.
    fn pause(&mut self) -> Duration {
        let length = self.next;
        self.next = (self.next * 2).min(self.max);
        let half = length / 2;
        // Lengths are at most a year (clamped when set), so their nanoseconds fit in a u64.
        let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(random_u64() % spread.saturating_add(1))
    }
}

impl Exchange<'_> {
    /// One request, with its retries: the reply body, or the error for the event.
    async fn call(
        &self,
        service: &Bytes,
        body: &Frames,
        retries: u32,
    ) -> Result<Frames, EventError> {
        let mut failure = Failure::NoBroker;
        let mut backoff = Backoff::new(self.backoff);
        for _ in 0..=retries {
            match self.attempt(service, body, &mut backoff).await {
                Ok(reply) => return Ok(reply),
                Err(this) => failure = this,
            }
        }
        Err(self.explain(service, failure, retries).await)
    }

    /// One try, which lasts until its reply or its timeout: on pooled connections while they
    /// turn out dead (see the module documentation), then on new ones, pausing between them
    /// while the broker cannot be reached.
    async fn attempt(
        &self,
        service: &Bytes,
        body: &Frames,
        backoff: &mut Backoff,
    ) -> Result<Frames, Failure> {
        let deadline = Instant::now() + self.timeout;
        let plain = protocol::client_request_head(service);
        let enveloped;
        let head: &[&[u8]] = match self.envelope {
            // The envelope is the first body frame: it goes out with the head, uncopied.
            Some(frame) => {
                enveloped = [plain[0], plain[1], plain[2], frame];
                &enveloped
            }
            None => &plain,
        };
        for _ in 0..self.pool.len() {
            let Some((broker, socket)) = self.pool.take(self.directory) else {
                break;
            };
            match self
                .exchange(broker, socket, head, service, body, deadline)
                .await
            {
                Outcome::Reply(reply) => return Ok(reply),
                Outcome::Failed(failure) => return Err(failure),
                Outcome::Lost(why) => {
                    tracing::debug!(%why, "pooled MDP connection lost; trying another");
                }
            }
        }
        loop {
            let why = match self.on_new_connection(head, service, body, deadline).await {
                Err(Failure::Unreachable(why)) => why,
                other => return other,
            };
            // The broker may be restarting: connect again after a pause, within this try.
            // Past its time the try fails, having waited it out.
            let pause = backoff.pause();
            if Instant::now() + pause >= deadline {
                tokio::time::sleep_until(deadline).await;
                return Err(Failure::Unreachable(why));
            }
            tracing::debug!(%why, ?pause, "MDP broker unreachable; connecting again");
            tokio::time::sleep(pause).await;
        }
    }

    /// The request on a new connection to the next broker, until `deadline`.
    async fn on_new_connection(
        &self,
        head: &[&[u8]],
        service: &Bytes,
        body: &Frames,
        deadline: Instant,
    ) -> Result<Frames, Failure> {
        let broker = match self.directory.next() {
            Some(broker) => broker,
            None => {
                // A registration service may not have answered yet.
                let found = tokio::time::timeout_at(deadline, self.directory.wait_for_any()).await;
                match (found, self.directory.next()) {
                    (Ok(()), Some(broker)) => broker,
                    _ => return Err(Failure::NoBroker),
                }
            }
        };
        let within = deadline.saturating_duration_since(Instant::now());
        let socket = Dealer::connect_with(&broker, within, self.max_message, self.mechanism)
            .await
            .map_err(Failure::Unreachable)?;
        match self
            .exchange(broker, socket, head, service, body, deadline)
            .await
        {
            Outcome::Reply(reply) => Ok(reply),
            Outcome::Failed(failure) => Err(failure),
            Outcome::Lost(why) => Err(Failure::Unreachable(why)),
        }
    }

    /// Sends the request on `socket` and waits for its reply until `deadline`; the socket goes
    /// back to the pool after a reply.
    async fn exchange(
        &self,
        broker: String,
        mut socket: Dealer,
        head: &[&[u8]],
        service: &Bytes,
        body: &Frames,
        deadline: Instant,
    ) -> Outcome {
        if let Err(error) = socket.send(head, protocol::body_frames(body)) {
            return Outcome::Lost(format!("connection to {broker} lost: {error}"));
        }
        match tokio::time::timeout_at(deadline, socket.recv()).await {
            Ok(Ok(reply)) => match protocol::parse_client_reply(&reply, service) {
                Ok(body) => {
                    let body = Frames::from(body);
                    self.pool.put(broker, socket);
                    Outcome::Reply(body)
                }
                Err(malformed) => Outcome::Failed(Failure::Malformed(malformed)),
            },
            // The broker broke ZMTP or a limit: its doing, not a dead connection.
            Ok(Err(error)) if error.kind() == std::io::ErrorKind::InvalidData => {
                Outcome::Failed(Failure::Broke(format!("{broker}: {error}")))
            }
            Ok(Err(error)) => Outcome::Lost(format!("{broker}: {error}")),
            Err(_) => Outcome::Failed(Failure::Timeout),
        }
    }

    /// The error for a request whose attempts all failed. After timeouts the broker is asked
    /// through `mmi.service` whether anybody serves the service, to tell 503 from 504.
    async fn explain(&self, service: &Bytes, failure: Failure, retries: u32) -> EventError {
        let name = String::from_utf8_lossy(service);
        match failure {
            Failure::NoBroker => EventError::unavailable("no MDP broker is known"),
            Failure::Unreachable(why) | Failure::Broke(why) => {
                EventError::unavailable(format!("MDP broker unreachable: {why}"))
            }
            Failure::Malformed(malformed) => EventError::unavailable(format!(
                "MDP broker answered `{name}` with a malformed reply: {malformed}"
            )),
            Failure::Timeout => {
                let probe = Exchange {
                    timeout: self.timeout.min(Duration::from_secs(1)),
                    envelope: None,
                    ..*self
                };
                let mmi = Bytes::from_static(b"mmi.service");
                let asked = Frames::single(service.clone());
                let attempts = u64::from(retries) + 1;
                let mut backoff = Backoff::new(self.backoff);
                match probe.attempt(&mmi, &asked, &mut backoff).await {
                    Ok(answer) if answer.get(0).is_some_and(|code| code == "404") => {
                        EventError::unavailable(format!(
                            "no MDP worker serves `{name}` (no reply in {attempts} attempts)"
                        ))
                    }
                    _ => EventError::timeout(format!(
                        "MDP service `{name}` did not reply within {:?} ({attempts} attempts)",
                        self.timeout
                    )),
                }
            }
        }
    }
}

impl Clone for Exchange<'_> {
    fn clone(&self) -> Self {
        *self
    }
}

impl Copy for Exchange<'_> {}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    use super::*;
    use crate::zmtp::frame::{encode, LONG};
    use crate::zmtp::handshake::handshake;
    use crate::zmtp::router::{Inbound, Router, RouterLimits, RouterStats};
    use crate::zmtp::stream::{Chunk, FrameReader, ReadOutcome};

    #[test]
    fn the_service_name_wraps_the_event_service() {
        let client = MdpClient::connect("tcp://127.0.0.1:5555")
            .expect("valid endpoint")
            .prefix("app.")
            .postfix(".v1");
        let event = Event::new(Frames::default()).with_service("orders");
        assert_eq!(
            client.service_for(&event).expect("valid name"),
            Bytes::from_static(b"app.orders.v1")
        );
    }

    #[test]
    fn an_event_without_any_service_name_is_a_400() {
        let client = MdpClient::connect("tcp://127.0.0.1:5555").expect("valid endpoint");
        let error = client
            .service_for(&Event::new(Frames::default()))
            .expect_err("empty name");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
    }

    #[test]
    fn a_bad_endpoint_is_an_invalid_address() {
        let error = MdpClient::connect("localhost:5555").expect_err("no tcp://");
        assert!(
            matches!(error, crate::Error::InvalidAddress { .. }),
            "{error:?}"
        );
    }

    /// A broker on our own ROUTER, and an exchange that asks it with at most 1 KiB replies.
    fn broker_and_exchange() -> (Router, BrokerDirectory) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let endpoint = format!("tcp://{}", listener.local_addr().expect("bound"));
        let stats = Arc::new(RouterStats::new(Arc::new(AtomicU64::new(0))));
        let router = Router::new(listener, RouterLimits::new(1 << 20), stats).expect("router");
        let directory = BrokerDirectory::new(
            BrokerSource::Fixed(Arc::from([endpoint])),
            Duration::from_secs(1),
        );
        (router, directory)
    }

    static NULL: Mechanism = Mechanism::Null;

    /// An exchange over `directory` and `pool` that waits 5 s and takes replies up to 1 KiB.
    fn test_exchange<'a>(directory: &'a BrokerDirectory, pool: &'a SocketPool) -> Exchange<'a> {
        Exchange {
            directory,
            pool,
            timeout: Duration::from_secs(5),
            max_message: 1024,
            backoff: (DEFAULT_RECONNECT_BACKOFF, DEFAULT_MAX_RECONNECT_BACKOFF),
            envelope: None,
            mechanism: &NULL,
        }
    }

    /// Drives `router` until a message arrives; its sender and frames.
    async fn request_at(router: &mut Router) -> (Bytes, Vec<Bytes>) {
        loop {
            router.arrived().await;
            if let Some((Inbound::Message { peer, frames }, _)) = router.take() {
                return (peer.clone(), frames.to_vec());
            }
        }
    }

    #[tokio::test]
    async fn a_reply_comes_back_as_the_body_and_the_connection_is_reused() {
        let (mut router, directory) = broker_and_exchange();
        let pool = SocketPool::default();
        let exchange = test_exchange(&directory, &pool);
        let service = Bytes::from_static(b"echo");
        let body = Frames::new(["a", ""]);
        let asking = exchange.call(&service, &body, 0);
        let answering = async {
            let (peer, frames) = request_at(&mut router).await;
            assert_eq!(frames, ["", "MDPC01", "echo", "a", ""]);
            router
                .peers()
                .send(&peer, &[b"", b"MDPC01", b"echo"], &frames[3..]);
            router.flush();
        };
        let (reply, ()) = tokio::join!(asking, answering);
        assert_eq!(reply.expect("a reply").as_slice(), ["a", ""]);
        assert_eq!(pool.idle.lock().expect("pool").len(), 1);
    }

    /// The next message on a connection read by hand (one message at a time).
    async fn read_message(stream: &tokio::net::TcpStream, reader: &mut FrameReader) -> Vec<Bytes> {
        match std::future::poll_fn(|cx| reader.poll_chunk(stream, cx)).await {
            ReadOutcome::Chunk(bytes) => {
                let mut frames = Vec::new();
                assert!(Chunk::new(bytes).next_message(&mut frames, |_| {}));
                frames
            }
            ReadOutcome::Closed(violation) => panic!("the client left: {violation:?}"),
            ReadOutcome::OverBudget => unreachable!("a reader without a share has no budget"),
        }
    }

    /// Accepts a connection, shakes hands as a ROUTER and starts reading it.
    async fn accept(listener: &tokio::net::TcpListener) -> (tokio::net::TcpStream, FrameReader) {
        let (mut stream, _) = listener.accept().await.expect("accepted");
        let (_, leftover, _) = handshake(&mut stream, &Mechanism::Null, "ROUTER")
            .await
            .expect("a handshake");
        (stream, FrameReader::new(leftover, 1024))
    }

    /// Answers a client request (read from a DEALER, so without identity) with its own body.
    async fn echo(stream: &mut tokio::net::TcpStream, request: &[Bytes]) {
        use tokio::io::AsyncWriteExt;
        let mut out = bytes::BytesMut::new();
        encode(&mut out, &[b"", b"MDPC01", &request[2]], &request[3..]);
        stream.write_all(&out).await.expect("answered");
    }

    #[tokio::test]
    async fn a_pooled_connection_that_closes_before_its_reply_costs_no_retry() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let endpoint = format!("tcp://{}", listener.local_addr().expect("bound"));
        let directory = BrokerDirectory::new(
            BrokerSource::Fixed(Arc::from([endpoint])),
            Duration::from_secs(1),
        );
        let pool = SocketPool::default();
        let exchange = test_exchange(&directory, &pool);
        let service = Bytes::from_static(b"echo");
        let asking = async {
            let first = exchange.call(&service, &Frames::single("one"), 0).await;
            assert_eq!(first.expect("a reply").as_slice(), ["one"]);
            assert_eq!(pool.len(), 1, "the connection is pooled");
            // No retries: the closed pooled connection must not use up the only attempt.
            let second = exchange.call(&service, &Frames::single("two"), 0).await;
            assert_eq!(second.expect("a reply").as_slice(), ["two"]);
        };
        let broker = async {
            // The first connection answers one request, then closes on the next, unanswered.
            let (mut first, mut reader) = accept(&listener).await;
            let request = read_message(&first, &mut reader).await;
            echo(&mut first, &request).await;
            let unanswered = read_message(&first, &mut reader).await;
            assert_eq!(unanswered[3], "two");
            drop(first);
            let (mut second, mut reader) = accept(&listener).await;
            let request = read_message(&second, &mut reader).await;
            echo(&mut second, &request).await;
        };
        tokio::join!(asking, broker);
    }

    #[tokio::test]
    async fn a_broker_announcing_a_huge_reply_costs_the_connection_not_the_process() {
        let (mut router, directory) = broker_and_exchange();
        let pool = SocketPool::default();
        let exchange = test_exchange(&directory, &pool);
        let service = Bytes::from_static(b"echo");
        let body = Frames::single("x");
        let asking = exchange.call(&service, &body, 0);
        let answering = async {
            let (peer, _) = request_at(&mut router).await;
            // A frame header announcing 2^40 octets, and nothing after it.
            let mut header = vec![LONG];
            header.extend_from_slice(&(1u64 << 40).to_be_bytes());
            router.peers().send_raw(&peer, &header);
            router.flush();
        };
        let (reply, ()) = tokio::join!(asking, answering);
        let error = reply.expect_err("no reply");
        assert_eq!(error.kind(), crate::ErrorKind::Unavailable, "{error:?}");
        assert!(error.message().contains("over the size limit"), "{error:?}");
        assert!(pool.idle.lock().expect("pool").is_empty());
    }
}
