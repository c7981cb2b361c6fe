//! `MdpWorker`: registers a service with 7/MDP brokers and lets a flow answer its requests.
//!
//! Each request becomes an event (its service set to the worker's service) on the outbox; the
//! flow's answer comes back on the inbox and is matched to its request by event id. A 7/MDP
//! worker gets its next request only after it has replied, so one broker connection means one
//! request at a time: the worker opens [`MdpWorker::connections`] connections (1 by default) to
//! have that many requests in flight — the standard way to keep a Majordomo worker busy. The
//! table of requests waiting for their answer therefore never holds more entries than there
//! are connections, and an entry leaves it when its answer comes, when it times out, or when
//! its connection is lost: nothing accumulates.
//!
//! A connection heartbeats as 7/MDP asks and counts the broker as gone after `liveness` silent
//! intervals; after that, or after a DISCONNECT from the broker, it opens a new socket and sends
//! READY again. When the flow does not answer in time (or routes a failure back to the worker's
//! error inbox), MDP has no way to say so: the connection re-registers instead, so that the
//! broker does not wait for a reply forever, and the client sees a timeout.
//!
//! The per-request path does no timer work and polls only the connection it concerns: the
//! connections run in one set that wakes each on its own, each keeps one receive in flight for
//! its whole session, and its stop, heartbeat and reply-deadline timers sit in a set of their
//! own that is polled only when one fires. Heartbeat bookkeeping per message is two flags
//! ("heard", "said" since the last beat); the reply deadline is one timer, moved on to the
//! current request's deadline only when it fires.
//!
//! A request waits beside its connection while the flow's inbox is full: the connection goes
//! on reading and heartbeating meanwhile, so that a slow flow does not look like a dead worker
//! to the broker.
//!
//! With `envelope(true)` the worker registers its connections a second time under the
//! enveloped service name (see [`ENVELOPE_MAGIC`](crate::mdp::ENVELOPE_MAGIC)): requests there
//! carry the client event's envelope, and a request the flow fails is answered with its error
//! rather than abandoned, since an enveloped reply can say "failed".
//!
//! On a graceful stop the worker takes no new request, answers those it emitted (or lets them
//! time out), says DISCONNECT and then drops its outbox so the flow behind it can drain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::defaults::{DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_LIVENESS, DEFAULT_MAX_MESSAGE_SIZE};
use super::limits;
use super::protocol::{self, valid_service_name, WorkerCommand, WorkerOutbound, MMI_PREFIX};
use super::registration::{BrokerDirectory, BrokerSource};
use crate::actor::{Actor, Context, TakesErrors};
use crate::error::{Error, EventError, Result};
use crate::event::Event;
use crate::id::EventId;
use crate::payload::AnyPayload;
use crate::port::{Inbox, Outbox, SendEvent};
use crate::zeromq::envelope::{self, EnvelopeStats, ENVELOPE_SERVICE_SUFFIX};
use crate::zeromq::Frames;
use crate::zmtp::dealer::Dealer;
use crate::zmtp::mechanism::Mechanism;
use crate::zmtp::transport::check_connect_endpoint;

/// A Majordomo worker for one service.
///
/// ```no_run
/// use compysition::actors::MdpWorker;
///
/// # fn example() -> compysition::Result<()> {
/// let worker = MdpWorker::connect("tcp://127.0.0.1:5555", "test_service")?.connections(4);
/// # let _ = worker;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct MdpWorker {
    brokers: BrokerSource,
    service: Bytes,
    service_name: Arc<str>,
    connections: usize,
    heartbeat: Duration,
    liveness: u32,
    reconnect_delay: Duration,
    reply_timeout: Duration,
    max_message: usize,
    /// The name enveloped requests come to, when the worker takes them.
    enveloped_service: Option<Bytes>,
    envelope_stats: Arc<EnvelopeStats>,
    mechanism: Mechanism,
}

impl MdpWorker {
    /// A worker for `service` at the broker at `endpoint` (`tcp://host:port`). Service names
    /// starting with `mmi.` belong to the broker (8/MMI) and are refused.
    pub fn connect(endpoint: &str, service: &str) -> Result<Self> {
        check_connect_endpoint(endpoint)?;
        Self::with_source(
            BrokerSource::Fixed(Arc::from([endpoint.to_string()])),
            service,
        )
    }

    /// A worker for `service` at the brokers the registration service at `registry` knows, its
    /// connections dealt out over them (our extension, see
    /// [`MdpBrokerRegistrationService`](crate::actors::MdpBrokerRegistrationService)).
    pub fn discover(registry: &str, service: &str) -> Result<Self> {
        check_connect_endpoint(registry)?;
        Self::with_source(BrokerSource::Registry(registry.to_string()), service)
    }

    fn with_source(brokers: BrokerSource, service: &str) -> Result<Self> {
        if !valid_service_name(service.as_bytes()) || service.as_bytes().starts_with(MMI_PREFIX) {
            return Err(Error::Config {
                setting: "MDP worker service".to_string(),
                message: format!(
                    "`{service}` is not 1 to 255 bytes of printable text, or is an `mmi.*` \
                     name (those belong to the broker)"
                ),
            });
        }
        Ok(MdpWorker {
            brokers,
            service: Bytes::copy_from_slice(service.as_bytes()),
            service_name: Arc::from(service),
            connections: 1,
            heartbeat: DEFAULT_HEARTBEAT_INTERVAL,
            liveness: DEFAULT_LIVENESS,
            reconnect_delay: Duration::from_millis(500),
            reply_timeout: Duration::from_secs(30),
            max_message: DEFAULT_MAX_MESSAGE_SIZE,
            enveloped_service: None,
            envelope_stats: Arc::default(),
            mechanism: Mechanism::Null,
        })
    }

    /// Whether the worker also takes enveloped requests, those of an
    /// [`MdpClient`](crate::actors::MdpClient) with `envelope(true)` (default off).
    ///
    /// It then registers as many connections again under the service name followed by
    /// [`ENVELOPE_SERVICE_SUFFIX`](crate::mdp::ENVELOPE_SERVICE_SUFFIX), where only enveloped
    /// requests come, beside its plain registrations, which go on serving plain 7/MDP clients
    /// unchanged. An enveloped request's event carries the client's meta id, service and
    /// attributes, and the client event's id as its [`origin_id`](Event::origin_id); its reply
    /// carries the attributes the flow left and, when the flow fails it (routes it to this
    /// worker's error inbox), the error's kind, message and code, so that the client fails its
    /// event with that error. A request whose envelope is missing or malformed is answered at
    /// once with a malformed error, and counted ([`MdpWorker::envelope_stats`]).
    ///
    /// A service name of more than 250 bytes leaves no room for the suffix: the worker then
    /// takes plain requests only, and says so in its log.
    pub fn envelope(mut self, on: bool) -> Self {
        self.enveloped_service = on.then(|| {
            let mut name = self.service_name.to_string();
            name.push_str(ENVELOPE_SERVICE_SUFFIX);
            Bytes::from(name)
        });
        self
    }

    /// The counters of the envelopes of requests (malformed ones refused).
    pub fn envelope_stats(&self) -> Arc<EnvelopeStats> {
        Arc::clone(&self.envelope_stats)
    }

    /// The names the connections register, each for as many connections as
    /// [`MdpWorker::connections`] sets: the plain one, and the enveloped one when it is on and
    /// a valid name.
    fn registrations(&self) -> Vec<(Bytes, bool)> {
        let mut names = vec![(self.service.clone(), false)];
        match &self.enveloped_service {
            Some(name) if valid_service_name(name) => names.push((name.clone(), true)),
            Some(_) => {
                tracing::error!(service = %self.service_name, "MDP worker service name too long for the envelope suffix; taking plain requests only");
            }
            None => {}
        }
        names
    }

    /// How many broker connections (and so requests in flight) the worker has (default 1).
    pub fn connections(mut self, connections: usize) -> Self {
        self.connections = connections.max(1);
        self
    }

    /// The heartbeat interval (default 2.5 s; from 1 ms to a year) and how many silent
    /// intervals mean the broker is gone (default 3; from 1 to 1000). Must match the broker's
    /// interval.
    pub fn heartbeat(mut self, interval: Duration, liveness: u32) -> Self {
        self.heartbeat = limits::interval(interval);
        self.liveness = limits::liveness(liveness);
        self
    }

    /// How long to wait before connecting again after losing the broker (default 500 ms, at
    /// most a year).
    pub fn reconnect_delay(mut self, delay: Duration) -> Self {
        self.reconnect_delay = limits::duration(delay);
        self
    }

    /// The largest request, all frames together, the worker takes from its broker (default
    /// 16 MiB, as the broker's; from 1 KiB to 4 GiB); a broker that announces a longer one is
    /// disconnected before any memory is set aside for it.
    pub fn max_message_size(mut self, octets: usize) -> Self {
        self.max_message = limits::message_size(octets);
        self
    }

    /// How long the flow may take to answer a request (default 30 s, at most a year).
    pub fn reply_timeout(mut self, timeout: Duration) -> Self {
        self.reply_timeout = limits::duration(timeout);
        self
    }

    /// Speaks CURVE to the broker (RFC 25/26) with `config`: this worker's key pair and the
    /// broker's public key; the broker's allow-list must hold this worker's public key, or it
    /// cannot register. NULL (no security) unless set.
    #[cfg(feature = "curve")]
    pub fn curve(mut self, config: crate::zmtp::curve::CurveClient) -> Self {
        self.mechanism = Mechanism::from(config);
        self
    }
}

/// The flow's answer to a request, routed to the connection that received it: the event with
/// the reply body, or the failed event the flow routed to the error inbox.
type Answer = (EventId, Result<Event<Frames>, Event<AnyPayload>>);

/// Which connection waits for which event.
type Pending = Mutex<HashMap<EventId, usize>>;

impl Actor for MdpWorker {
    type Inboxes = Inbox<Frames>;
    type Outboxes = Outbox<Frames>;
    const ERROR_INBOX: bool = true;

    async fn run(self, mut ctx: Context, mut inbox: Inbox<Frames>, outbox: Outbox<Frames>) {
        let mut errors = ctx.take_error_inbox();
        let directory = BrokerDirectory::new(self.brokers.clone(), self.heartbeat);
        // Every name the worker registers has `connections` connections, numbered on.
        let registrations: Vec<(Bytes, bool)> = self
            .registrations()
            .into_iter()
            .flat_map(|name| std::iter::repeat_n(name, self.connections))
            .collect();
        let total = registrations.len();
        let pending: Pending = Mutex::new(HashMap::with_capacity(total));
        let mut answer_senders = Vec::with_capacity(total);
        let mut answer_receivers = Vec::with_capacity(total);
        for _ in 0..total {
            // Unbounded, yet never holds more than one answer: only the answer to a connection's
            // current request is routed to it (the pending entry is removed on the way).
            let (sender, receiver) = mpsc::unbounded_channel();
            answer_senders.push(sender);
            answer_receivers.push(receiver);
        }

        let worker = &self;
        let (ctx, directory, pending) = (&ctx, &directory, &pending);
        let producing = async move {
            let outbox = outbox;
            let connections = answer_receivers
                .into_iter()
                .zip(registrations)
                .enumerate()
                .map(|(index, (answers, (service, enveloped)))| {
                    Connection {
                        worker,
                        index,
                        total,
                        service,
                        enveloped,
                        ctx,
                        outbox: &outbox,
                        directory,
                        pending,
                        answers,
                    }
                    .run()
                });
            // A set that polls a connection only when something happened to it.
            let mut connections: FuturesUnordered<_> = connections.collect();
            while connections.next().await.is_some() {}
            // The outbox is dropped here: the flow behind the worker can drain.
        };
        let answer_senders = &answer_senders;
        let routing = async move {
            let route = |answer: Answer| {
                let id = answer.0;
                let connection = pending
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .remove(&id);
                match connection.and_then(|index| answer_senders.get(index)) {
                    Some(sender) => {
                        if sender.send(answer).is_err() {
                            tracing::warn!(event = %id, "MDP worker connection cannot take the answer; dropped");
                        }
                    }
                    None => {
                        tracing::debug!(event = %id, "answer for no pending MDP request (timed out?); dropped")
                    }
                }
            };
            loop {
                tokio::select! {
                    event = inbox.recv() => match event {
                        Some(event) => route((event.id(), Ok(event))),
                        None => break,
                    },
                    failed = recv_error(&mut errors) => match failed {
                        Some(failed) => route((failed.id(), Err(failed))),
                        None => errors = None,
                    },
                }
            }
        };
        tokio::join!(producing, routing);
    }
}

impl TakesErrors for MdpWorker {}

/// Every request it emits must come back to it: `topology!` checks the path back exists.
impl crate::AnswersRequests for MdpWorker {}

async fn recv_error(errors: &mut Option<Inbox<AnyPayload>>) -> Option<Event<AnyPayload>> {
    match errors {
        Some(inbox) => inbox.recv().await,
        None => std::future::pending().await,
    }
}

/// Waits until the event being handed to the flow is in its inbox (forever when none is).
async fn hand_over(handing: &mut Option<SendEvent<'_, Frames>>) {
    match handing {
        Some(send) => send.await,
        None => std::future::pending().await,
    }
}

/// A REPLY for `client` whose body is the envelope `frame` and then `body`.
fn send_enveloped(
    dealer: &mut Dealer,
    client: &[u8],
    frame: &[u8],
    body: &[Bytes],
) -> std::io::Result<()> {
    let [delimiter, header, command, client, empty] = protocol::worker_reply_head(client);
    dealer.send(&[delimiter, header, command, client, empty, frame], body)
}

/// One logical connection to a broker, re-established whenever it is lost.
struct Connection<'a> {
    worker: &'a MdpWorker,
    index: usize,
    /// How many connections the worker has, over all the names it registers.
    total: usize,
    /// The name this connection registers.
    service: Bytes,
    /// Whether its requests come with an envelope (it registers the enveloped name).
    enveloped: bool,
    ctx: &'a Context,
    outbox: &'a Outbox<Frames>,
    directory: &'a BrokerDirectory,
    pending: &'a Pending,
    answers: mpsc::UnboundedReceiver<Answer>,
}

/// What wakes a session besides its traffic.
enum Wake {
    Stopped,
    Beat,
    Deadline,
}

fn beat_after<'a>(interval: Duration) -> BoxFuture<'a, Wake> {
    async move {
        tokio::time::sleep(interval).await;
        Wake::Beat
    }
    .boxed()
}

fn deadline_at<'a>(due: Instant) -> BoxFuture<'a, Wake> {
    async move {
        tokio::time::sleep_until(due).await;
        Wake::Deadline
    }
    .boxed()
}

/// The request a connection handles.
struct Job {
    event: EventId,
    client: Bytes,
    deadline: Instant,
    /// The request came with an envelope: so does its reply.
    enveloped: bool,
}

/// One session with a broker: the connection and what the session keeps between the things
/// that happen to it.
struct Session<'a> {
    dealer: Dealer,
    /// Stop, heartbeat and reply deadline sit in a set that polls each only when it fires: the
    /// per-request path never touches them.
    wakes: FuturesUnordered<BoxFuture<'a, Wake>>,
    /// Heartbeat bookkeeping per message is two flags: "heard" and "said" since the last beat.
    heard: bool,
    said: bool,
    silent_beats: u32,
    /// The reply deadline is armed when a job starts and none is armed, and moved on to the
    /// current job's deadline only when it fires.
    deadline_armed: bool,
    job: Option<Job>,
    /// The request being handed to the flow while the flow's inbox is full. It is polled
    /// beside the connection rather than awaited, so that the connection goes on reading and
    /// heartbeating meanwhile: a broker that heard nothing for its liveness would drop this
    /// worker and the request with it.
    handing: Option<SendEvent<'a, Frames>>,
    /// The worker is stopping: no new request, leave once the current one is answered.
    stopping: bool,
    /// The broker list deals this connection another broker: it moves there once idle.
    misplaced: bool,
}

impl Session<'_> {
    /// How a session ends when its broker is lost: for good if the worker is stopping.
    fn reconnect_unless_stopping(&self) -> SessionEnd {
        if self.stopping {
            SessionEnd::Stopped
        } else {
            SessionEnd::Reconnect
        }
    }
}

/// How a session with one broker ended.
enum SessionEnd {
    /// Connect again (after the reconnect delay), to the next broker in turn.
    Reconnect,
    /// The broker list changed: connect at once to the broker this connection is dealt.
    Rebalance,
    /// The worker is stopping and has nothing left to answer.
    Stopped,
}

impl<'a> Connection<'a> {
    async fn run(mut self) {
        let mut attempt = self.index;
        let (index, directory) = (self.index, self.directory);
        let keep_directory = async move {
            // Only the first connection asks the registration service; all share the answer.
            if index == 0 {
                directory.keep_updated().await;
            }
            std::future::pending::<()>().await
        };
        tokio::pin!(keep_directory);
        loop {
            let session = async {
                if self.ctx.is_stopping() {
                    return SessionEnd::Stopped;
                }
                let Some(broker) = self.directory.nth(attempt) else {
                    tokio::select! {
                        () = self.directory.wait_for_any() => {}
                        () = self.ctx.stopped() => return SessionEnd::Stopped,
                    }
                    // A broker is known now: connect at once, without the reconnect delay
                    // (nothing failed).
                    return SessionEnd::Rebalance;
                };
                self.session(&broker).await
            };
            let end = tokio::select! {
                biased;
                end = session => end,
                () = &mut keep_directory => SessionEnd::Stopped,
            };
            match end {
                SessionEnd::Stopped => return,
                SessionEnd::Rebalance => attempt = self.index,
                SessionEnd::Reconnect => {
                    attempt += self.total;
                    tokio::select! {
                        () = tokio::time::sleep(self.worker.reconnect_delay) => {}
                        () = self.ctx.stopped() => return,
                    }
                }
            }
        }
    }

    /// READY, then requests and heartbeats until the broker is lost or the worker stops.
    async fn session(&mut self, broker: &str) -> SessionEnd {
        let Some(mut session) = self.register(broker).await else {
            return SessionEnd::Reconnect;
        };
        loop {
            if session.misplaced && session.job.is_none() && !session.stopping {
                self.leave(&mut session.dealer);
                return SessionEnd::Rebalance;
            }
            let end = tokio::select! {
                biased;
                received = session.dealer.recv() => match received {
                    Ok(frames) => self.on_message(&mut session, broker, &frames),
                    Err(_) => {
                        self.forget(&mut session.job);
                        Some(SessionEnd::Reconnect)
                    }
                },
                () = hand_over(&mut session.handing), if session.handing.is_some() => {
                    session.handing = None;
                    None
                }
                answer = self.answers.recv() => self.on_answer(&mut session, answer),
                Some(wake) = session.wakes.next() => self.on_wake(&mut session, broker, wake),
            };
            if let Some(end) = end {
                return end;
            }
        }
    }

    /// Connects to `broker` and says READY: a new session, or `None` when the broker cannot
    /// be reached.
    async fn register(&self, broker: &str) -> Option<Session<'a>> {
        let worker = self.worker;
        let liveness = worker.heartbeat * worker.liveness;
        let mut dealer = match Dealer::connect_with(
            broker,
            liveness,
            worker.max_message,
            &worker.mechanism,
        )
        .await
        {
            Ok(dealer) => dealer,
            Err(error) => {
                tracing::warn!(%error, service = %worker.service_name, "MDP worker cannot reach its broker");
                return None;
            }
        };
        dealer
            .send(&protocol::worker_ready(&self.service), &[])
            .ok()?;
        tracing::debug!(%broker, service = %worker.service_name, "MDP worker registered");
        let ctx = self.ctx;
        let wakes: FuturesUnordered<BoxFuture<'a, Wake>> = FuturesUnordered::new();
        wakes.push(
            async move {
                ctx.stopped().await;
                Wake::Stopped
            }
            .boxed(),
        );
        wakes.push(beat_after(worker.heartbeat));
        Some(Session {
            dealer,
            wakes,
            heard: false,
            said: true,
            silent_beats: 0,
            deadline_armed: false,
            job: None,
            handing: None,
            stopping: false,
            misplaced: false,
        })
    }

    /// A message from the broker. `None`: the session goes on.
    fn on_message(
        &self,
        session: &mut Session<'a>,
        broker: &str,
        frames: &[Bytes],
    ) -> Option<SessionEnd> {
        let service = &self.worker.service_name;
        session.heard = true;
        match protocol::parse_worker_outbound(frames) {
            Ok(WorkerOutbound::Request { client, body })
                if session.job.is_none() && !session.stopping =>
            {
                self.start_job(session, client, body);
            }
            Ok(WorkerOutbound::Request { .. }) => {
                tracing::warn!(%service, "MDP broker sent a request to a busy or stopping worker; dropped");
            }
            Ok(WorkerOutbound::Heartbeat) => {}
            Ok(WorkerOutbound::Disconnect) => {
                tracing::info!(%broker, %service, "MDP broker said DISCONNECT; reconnecting");
                self.forget(&mut session.job);
                return Some(session.reconnect_unless_stopping());
            }
            Ok(WorkerOutbound::Unexpected) => {
                tracing::debug!("MDP worker dropped a command only workers send");
            }
            Err(malformed) => {
                tracing::debug!(reason = %malformed, "MDP worker dropped a malformed message");
            }
        }
        None
    }

    /// Emits a request as an event for the flow and arms the reply deadline.
    fn start_job(&self, session: &mut Session<'a>, client: &Bytes, body: &[Bytes]) {
        let worker = self.worker;
        let event = match self.request_event(body) {
            Ok(event) => event,
            Err(malformed) => {
                worker.envelope_stats.count_malformed();
                tracing::debug!(reason = %malformed, "MDP worker refused a request with a bad envelope");
                let refusal = envelope::encode_reply(&Default::default(), Some(&malformed));
                // A connection that cannot be written fails its next read, which reconnects.
                let _ = send_enveloped(&mut session.dealer, client, &refusal, &[]);
                session.said = true;
                return;
            }
        };
        let id = event.id();
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id, self.index);
        let due = Instant::now() + worker.reply_timeout;
        if !session.deadline_armed {
            session.wakes.push(deadline_at(due));
            session.deadline_armed = true;
        }
        session.job = Some(Job {
            event: id,
            client: client.clone(),
            deadline: due,
            enveloped: self.enveloped,
        });
        let outbox: &'a Outbox<Frames> = self.outbox;
        let mut send = outbox.send(event);
        // Mostly the inbox has room and the event is in it at once.
        if (&mut send).now_or_never().is_none() {
            session.handing = Some(send);
        }
    }

    /// The event for a request's body: on an enveloped connection, what the envelope (the
    /// first frame) carries and the frames after it; a malformed error when it is not valid.
    fn request_event(&self, body: &[Bytes]) -> Result<Event<Frames>, EventError> {
        let service = Arc::clone(&self.worker.service_name);
        if !self.enveloped {
            return Ok(Event::new(Frames::from(body)).with_service(service));
        }
        let read = envelope::decode_request(body.first())?;
        let rest = body.get(1..).unwrap_or_default();
        let mut event = Event::new(Frames::from(rest)).with_service(service);
        read.apply(&mut event);
        Ok(event)
    }

    /// The flow's answer (`None` only once the actor ends, which never happens while its
    /// connections run), sent to the broker when it is for the current request. `None`: the
    /// session goes on.
    fn on_answer(&self, session: &mut Session<'a>, answer: Option<Answer>) -> Option<SessionEnd> {
        let (id, reply) = answer?;
        // An answer for another request comes after that one timed out: dropped.
        let current = session.job.take_if(|job| job.event == id)?;
        let client = &current.client;
        let sent = match (reply, current.enveloped) {
            (Ok(event), false) => {
                let head = protocol::worker_reply_head(client);
                session
                    .dealer
                    .send(&head, protocol::body_frames(&event.data))
            }
            (Err(_), false) => {
                // MDP cannot say "failed": the broker would wait for a reply forever.
                tracing::debug!(event = %id, "flow failed an MDP request; re-registering");
                return Some(self.restart(session));
            }
            (Ok(event), true) => {
                let frame = envelope::encode_reply(event.attributes(), None);
                let body = protocol::body_frames(&event.data);
                send_enveloped(&mut session.dealer, client, &frame, body)
            }
            (Err(failed), true) => {
                let unexplained;
                let error = match failed.error() {
                    Some(error) => error,
                    None => {
                        unexplained = EventError::internal("the flow failed the request");
                        &unexplained
                    }
                };
                let frame = envelope::encode_reply(failed.attributes(), Some(error));
                send_enveloped(&mut session.dealer, client, &frame, &[])
            }
        };
        if sent.is_err() {
            return Some(SessionEnd::Reconnect);
        }
        session.said = true;
        session.stopping.then(|| self.leave(&mut session.dealer))
    }

    /// A stop, a heartbeat or the reply deadline. `None`: the session goes on.
    fn on_wake(&self, session: &mut Session<'a>, broker: &str, wake: Wake) -> Option<SessionEnd> {
        match wake {
            Wake::Stopped => {
                session.stopping = true;
                session
                    .job
                    .is_none()
                    .then(|| self.leave(&mut session.dealer))
            }
            Wake::Deadline => self.on_deadline(session),
            Wake::Beat => self.on_beat(session, broker),
        }
    }

    /// The reply deadline fired: the current request is given up if it is due, or the deadline
    /// moves on to it.
    fn on_deadline(&self, session: &mut Session<'a>) -> Option<SessionEnd> {
        match &session.job {
            Some(current) if current.deadline <= Instant::now() => {
                let worker = self.worker;
                tracing::warn!(service = %worker.service_name, timeout = ?worker.reply_timeout, "flow did not answer an MDP request in time; re-registering");
                self.forget(&mut session.job);
                Some(self.restart(session))
            }
            Some(current) => {
                session.wakes.push(deadline_at(current.deadline));
                None
            }
            None => {
                session.deadline_armed = false;
                None
            }
        }
    }

    /// A heartbeat interval passed: counts the broker's silence, says HEARTBEAT unless
    /// something else was said, and checks that this connection is still dealt this broker.
    fn on_beat(&self, session: &mut Session<'a>, broker: &str) -> Option<SessionEnd> {
        let worker = self.worker;
        session.wakes.push(beat_after(worker.heartbeat));
        if session.heard {
            session.silent_beats = 0;
        } else {
            session.silent_beats += 1;
            if session.silent_beats >= worker.liveness {
                tracing::warn!(%broker, service = %worker.service_name, "MDP broker silent; reconnecting");
                self.forget(&mut session.job);
                return Some(session.reconnect_unless_stopping());
            }
        }
        // 7/MDP: no HEARTBEAT while other commands are being sent.
        let heartbeat = protocol::worker_command(WorkerCommand::Heartbeat);
        if !session.said && session.dealer.send(&heartbeat, &[]).is_err() {
            self.forget(&mut session.job);
            return Some(SessionEnd::Reconnect);
        }
        (session.heard, session.said) = (false, false);
        // With brokers from a registration service, a connection moves (when idle) to the
        // broker it is dealt whenever the list changes, so connections spread over new brokers.
        session.misplaced = self
            .directory
            .nth(self.index)
            .is_some_and(|dealt| dealt != broker);
        None
    }

    /// Drops the pending entry of an abandoned request.
    fn forget(&self, job: &mut Option<Job>) {
        if let Some(job) = job.take() {
            self.pending
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .remove(&job.event);
        }
    }

    /// Ends this registration so the broker stops waiting for a reply, then registers anew.
    fn restart(&self, session: &mut Session<'a>) -> SessionEnd {
        self.leave(&mut session.dealer);
        session.reconnect_unless_stopping()
    }

    /// Says DISCONNECT (as far as the kernel takes it at once); the connection closes when the
    /// session ends, which this ends.
    fn leave(&self, dealer: &mut Dealer) -> SessionEnd {
        let _ = dealer.send(&protocol::worker_command(WorkerCommand::Disconnect), &[]);
        SessionEnd::Stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmi_services_cannot_be_registered() {
        let error = MdpWorker::connect("tcp://127.0.0.1:5555", "mmi.service").expect_err("mmi");
        assert!(matches!(error, Error::Config { .. }), "{error:?}");
        assert!(error.to_string().contains("mmi."), "{error}");
    }

    #[test]
    fn an_empty_service_name_is_refused() {
        assert!(MdpWorker::connect("tcp://127.0.0.1:5555", "").is_err());
    }
}
