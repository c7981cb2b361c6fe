//! What every ZeroMQ connector is configured with: where it is (bound or connecting), its
//! limits and defaults, the [`Envelope`] its events travel in, and the security mechanism of
//! its handshakes; and the builder methods they share ([`socket_options!`]).

use std::time::Duration;

use bytes::Bytes;

use super::envelope;
use super::frames::Frames;
use super::stats::ZmqStats;
use crate::actor::Context;
use crate::error::Result;
use crate::event::Event;
use crate::retry::RetryPolicy;
use crate::zmtp::limits::{self, DEFAULT_HANDSHAKE_TIMEOUT, MAX_MESSAGE_SIZE};
use crate::zmtp::link::LinkSettings;
use crate::zmtp::mechanism::Mechanism;
use crate::zmtp::transport::{bind_tcp, check_connect_endpoint};

/// How many messages a connector queues per peer (a PUSH or PUB) or for its flow (a PULL or
/// SUB) by default: ZeroMQ's own default `ZMQ_SNDHWM` / `ZMQ_RCVHWM`.
pub const DEFAULT_HIGH_WATER_MARK: usize = 1000;
/// The largest high-water mark: every queue is bounded, and this bounds the bound.
pub const MAX_HIGH_WATER_MARK: usize = 1 << 20;
/// The largest message a connector reads, all frames together, by default: 16 MiB (as the
/// Majordomo pieces). A peer that announces a longer one loses its connection before any
/// memory is set aside for it.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;
/// The first pause before connecting again to a peer that is away: ZeroMQ's default
/// `ZMQ_RECONNECT_IVL`.
pub const DEFAULT_RECONNECT_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between two attempts to connect, the pause doubling up to it.
pub const DEFAULT_MAX_RECONNECT_BACKOFF: Duration = Duration::from_secs(5);
/// How many peers a bound connector serves at once by default; past it a new connection is
/// closed after its handshake (and counted in [`ZmqStats::refused_connections`](super::ZmqStats)).
pub const DEFAULT_MAX_PEERS: usize = 1024;
/// How long a PUSH or PUB that is stopping gives its peers to take what is queued for them.
pub const DEFAULT_LINGER: Duration = Duration::from_secs(1);

/// How an event travels as a ZeroMQ message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Envelope {
    /// The event's frames are the message; a message's frames are the event. What every
    /// ZeroMQ peer sends and expects.
    #[default]
    Plain,
    /// Between compysition peers: the event's origin id, `meta_id`, service and attributes
    /// (its trace context among them) travel in one more frame, the message's **last**, so that
    /// a subscriber's topic prefix still matches the first: the envelope frame of the
    /// Majordomo pieces ([`ENVELOPE_MAGIC`](crate::mdp::ENVELOPE_MAGIC) and JSON, at most
    /// [`MAX_ENVELOPE_SIZE`](crate::mdp::MAX_ENVELOPE_SIZE)). Both ends must use it: a
    /// message without a valid envelope frame is dropped and counted as malformed, and an
    /// event whose envelope would be too large is dropped and counted on the sending side.
    Compysition,
}

impl Envelope {
    /// The frames on the wire for `event`. One that cannot travel (its envelope would be over
    /// the limit) is counted as dropped and goes to the actor's error outbox instead.
    pub(crate) async fn seal(
        self,
        event: Event<Frames>,
        ctx: &Context,
        stats: &ZmqStats,
    ) -> Option<Frames> {
        match self {
            Envelope::Plain => Some(event.data),
            Envelope::Compysition => match envelope::encode_request(&event) {
                Ok(frame) => {
                    let mut frames = event.data.into_vec();
                    frames.push(frame);
                    Some(Frames::from(frames))
                }
                Err(error) => {
                    stats.count_dropped();
                    ctx.fail(event, error).await;
                    None
                }
            },
        }
    }

    /// The event for a message received, or why the message is not one (it is then dropped
    /// and counted as malformed).
    pub(crate) fn open(self, mut frames: Vec<Bytes>) -> std::result::Result<Event<Frames>, String> {
        match self {
            Envelope::Plain => Ok(Event::new(Frames::from(frames))),
            Envelope::Compysition => {
                let last = frames.pop();
                let read = envelope::decode_request(last.as_ref())
                    .map_err(|error| error.message().to_owned())?;
                let mut event = Event::new(Frames::from(frames));
                read.apply(&mut event);
                Ok(event)
            }
        }
    }
}

/// Where a connector is: a listener bound when it was built, or an endpoint it connects (and
/// reconnects) to.
#[derive(Debug)]
pub(crate) enum Place {
    Bind {
        listener: std::net::TcpListener,
        endpoint: String,
    },
    Connect(String),
}

impl Place {
    /// Binds `endpoint` now, so that a bad address or a taken port is an error of the builder.
    pub(crate) fn bind(endpoint: &str) -> Result<Place> {
        let (listener, endpoint) = bind_tcp(endpoint)?;
        Ok(Place::Bind { listener, endpoint })
    }

    /// Checks that `endpoint` is `tcp://host:port`; nothing connects until the actor runs.
    pub(crate) fn connect(endpoint: &str) -> Result<Place> {
        check_connect_endpoint(endpoint)?;
        Ok(Place::Connect(endpoint.to_string()))
    }

    /// The endpoint bound (with the actual port) or connected to.
    pub(crate) fn endpoint(&self) -> &str {
        match self {
            Place::Bind { endpoint, .. } | Place::Connect(endpoint) => endpoint,
        }
    }
}

/// The settings every connector has.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) high_water_mark: usize,
    pub(crate) max_message: usize,
    pub(crate) backoff: (Duration, Duration),
    pub(crate) handshake_timeout: Duration,
    pub(crate) max_peers: usize,
    pub(crate) linger: Duration,
    pub(crate) envelope: Envelope,
    /// The handshake's mechanism (NULL unless another is configured): the connectors take it
    /// from where [`handshake`](crate::zmtp::handshake) does, so a mechanism added there is a
    /// setting here.
    pub(crate) mechanism: Mechanism,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            high_water_mark: DEFAULT_HIGH_WATER_MARK,
            max_message: DEFAULT_MAX_MESSAGE_SIZE,
            backoff: (DEFAULT_RECONNECT_BACKOFF, DEFAULT_MAX_RECONNECT_BACKOFF),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_peers: DEFAULT_MAX_PEERS,
            linger: DEFAULT_LINGER,
            envelope: Envelope::Plain,
            mechanism: Mechanism::Null,
        }
    }
}

impl Options {
    /// The settings of a link of `kind` under these options.
    pub(crate) fn link(&self, kind: SocketKind) -> LinkSettings {
        LinkSettings {
            socket_type: kind.name,
            peer_types: kind.peers,
            mechanism: self.mechanism.clone(),
            max_message: self.max_message,
        }
    }

    /// The pauses between attempts to connect: doubling from the first to the longest, each
    /// drawn from the upper half of its length so that connectors that lost the same peer do
    /// not all come back at the same moment.
    pub(crate) fn reconnect_policy(&self) -> RetryPolicy {
        RetryPolicy::attempts(1)
            .backoff(self.backoff.0, self.backoff.1)
            .jitter()
    }

    pub(crate) fn set_high_water_mark(&mut self, messages: usize) {
        self.high_water_mark = messages.clamp(1, MAX_HIGH_WATER_MARK);
    }

    pub(crate) fn set_max_message(&mut self, octets: usize) {
        self.max_message = octets.min(MAX_MESSAGE_SIZE);
    }

    pub(crate) fn set_backoff(&mut self, first: Duration, max: Duration) {
        let first = limits::interval(first);
        self.backoff = (first, limits::interval(max).max(first));
    }

    pub(crate) fn set_handshake_timeout(&mut self, timeout: Duration) {
        self.handshake_timeout = limits::interval(timeout);
    }

    pub(crate) fn set_linger(&mut self, linger: Duration) {
        self.linger = limits::duration(linger);
    }
}

/// A ZeroMQ socket type: its name in the handshake and the types of the peers it talks to
/// (RFC 28 REQREP / 29 PUBSUB / 30 PIPELINE).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SocketKind {
    pub(crate) name: &'static str,
    pub(crate) peers: &'static [&'static str],
}

pub(crate) const PUSH: SocketKind = SocketKind {
    name: "PUSH",
    peers: &["PULL"],
};
pub(crate) const PULL: SocketKind = SocketKind {
    name: "PULL",
    peers: &["PUSH"],
};
pub(crate) const PUB: SocketKind = SocketKind {
    name: "PUB",
    peers: &["SUB", "XSUB"],
};
pub(crate) const SUB: SocketKind = SocketKind {
    name: "SUB",
    peers: &["PUB", "XPUB"],
};

/// The constructors and builder methods every connector has, on a struct with the fields
/// `place: Place`, `options: Options` and `stats: Arc<ZmqStats>`.
macro_rules! socket_options {
    ($actor:ident, $example:literal) => {
        impl $actor {
            /// Binds `endpoint` (`tcp://host:port`; `*` as host for every interface, port `0`
            /// for a free one, read back with [`endpoint`](Self::endpoint)) and serves every
            /// peer that connects. A bad address or a taken port is an error here, not when
            /// the flow runs.
            #[doc = concat!("\n\n```no_run\nuse compysition::actors::", stringify!($actor), ";\n\n# fn example() -> compysition::Result<()> {\nlet socket = ", stringify!($actor), "::bind(\"tcp://127.0.0.1:5557\")?", $example, ";\n# let _ = socket;\n# Ok(())\n# }\n```")]
            pub fn bind(endpoint: &str) -> $crate::error::Result<Self> {
                Ok(Self::at($crate::zeromq::options::Place::bind(endpoint)?))
            }

            /// Connects to `endpoint` (`tcp://host:port`) when the flow runs, and again after a
            /// pause whenever the connection is lost or refused (see
            /// [`reconnect_backoff`](Self::reconnect_backoff)). An endpoint that is not
            /// `tcp://host:port` is an error here.
            pub fn connect(endpoint: &str) -> $crate::error::Result<Self> {
                Ok(Self::at($crate::zeromq::options::Place::connect(endpoint)?))
            }

            /// CURVE security (RFC 26) as the server side of every handshake: peers must
            /// know this key pair's public key, and a peer whose own key is not on the
            /// allow-list is refused. Either side of a connection may be the server; a bound
            /// socket usually is. NULL is the default.
            #[cfg(feature = "curve")]
            pub fn curve_server(mut self, security: $crate::zmtp::curve::CurveServer) -> Self {
                self.options.mechanism = security.into();
                self
            }

            /// CURVE security (RFC 26) as the client side of every handshake, to a server
            /// whose public key is given.
            #[cfg(feature = "curve")]
            pub fn curve_client(mut self, security: $crate::zmtp::curve::CurveClient) -> Self {
                self.options.mechanism = security.into();
                self
            }

            /// The endpoint bound (with the actual port when `0` was asked) or connected to.
            pub fn endpoint(&self) -> &str {
                self.place.endpoint()
            }

            /// What the connector counts, readable while it runs.
            pub fn stats(&self) -> std::sync::Arc<$crate::zeromq::ZmqStats> {
                std::sync::Arc::clone(&self.stats)
            }

            /// How many messages may wait (default [`DEFAULT_HIGH_WATER_MARK`](crate::zeromq::DEFAULT_HIGH_WATER_MARK); from 1 to
            /// [`MAX_HIGH_WATER_MARK`](crate::zeromq::MAX_HIGH_WATER_MARK)): per peer for a
            /// PUSH or a PUB, for the flow for a PULL or a SUB.
            pub fn high_water_mark(mut self, messages: usize) -> Self {
                self.options.set_high_water_mark(messages);
                self
            }

            /// The largest message read from a peer, all frames together (default 16 MiB; at
            /// most 4 GiB). A peer that announces a longer one loses its connection before any
            /// memory is set aside for it.
            pub fn max_message_size(mut self, octets: usize) -> Self {
                self.options.set_max_message(octets);
                self
            }

            /// The pauses between attempts to connect: `first` (default 100 ms), doubled each
            /// time up to `max` (default 5 s), each drawn from the upper half of its length.
            /// Both from 1 ms to a year; `max` is at least `first`.
            pub fn reconnect_backoff(
                mut self,
                first: std::time::Duration,
                max: std::time::Duration,
            ) -> Self {
                self.options.set_backoff(first, max);
                self
            }

            /// How long a peer may take for its greeting and READY (default 10 s; from 1 ms
            /// to a year).
            pub fn handshake_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.options.set_handshake_timeout(timeout);
                self
            }

            /// How many peers a bound connector serves at once (default
            /// [`DEFAULT_MAX_PEERS`](crate::zeromq::DEFAULT_MAX_PEERS); at least 1).
            pub fn max_peers(mut self, peers: usize) -> Self {
                self.options.max_peers = peers.max(1);
                self
            }

            /// How each event travels as a message (default [`Envelope::Plain`](crate::zeromq::Envelope::Plain)).
            pub fn envelope(mut self, envelope: $crate::zeromq::Envelope) -> Self {
                self.options.envelope = envelope;
                self
            }
        }
    };
}

pub(crate) use socket_options;
