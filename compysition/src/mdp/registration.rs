//! [`MdpBrokerRegistrationService`]: where brokers announce themselves and where clients and
//! workers find them (the dialogue is described on the service); beside it the two other sides
//! of the dialogue, the broker's [`Announcer`] and the [`BrokerDirectory`] that clients and
//! workers keep.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use super::defaults::{DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_LIVENESS};
use super::limits;
use crate::actor::{Actor, Context};
use crate::error::{Error, Result};
use crate::zmtp::dealer::Dealer;
use crate::zmtp::router::{Inbound, Router, RouterLimits, RouterStats, Sent};
use crate::zmtp::transport::{bind_tcp, check_connect_endpoint};

/// The header frame of the registration dialogue.
pub const REGISTRATION_HEADER: &[u8] = b"CMPREG01";

const EMPTY: Bytes = Bytes::from_static(b"");
const HEADER: Bytes = Bytes::from_static(REGISTRATION_HEADER);

/// The command byte of a registration message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Command {
    Announce = 1,
    Withdraw = 2,
    List = 3,
    Brokers = 4,
}

impl Command {
    fn frame(self) -> Bytes {
        Bytes::copy_from_slice(&[self as u8])
    }

    fn parse(frame: &[u8]) -> Option<Self> {
        match frame {
            [1] => Some(Command::Announce),
            [2] => Some(Command::Withdraw),
            [3] => Some(Command::List),
            [4] => Some(Command::Brokers),
            _ => None,
        }
    }
}

fn build(command: Command, arguments: impl IntoIterator<Item = Bytes>) -> Vec<Bytes> {
    let mut frames = vec![EMPTY, HEADER, command.frame()];
    frames.extend(arguments);
    frames
}

/// `"" CMPREG01 command arguments...` → the command and its arguments.
fn parse(frames: &[Bytes]) -> Option<(Command, &[Bytes])> {
    let [delimiter, header, command, arguments @ ..] = frames else {
        return None;
    };
    if !delimiter.is_empty() || header != REGISTRATION_HEADER {
        return None;
    }
    Some((Command::parse(command)?, arguments))
}

/// The largest registration message: a handful of endpoints.
const MAX_MESSAGE: usize = 64 * 1024;

fn endpoint_frame(frame: &Bytes) -> Option<String> {
    let text = std::str::from_utf8(frame).ok()?;
    check_connect_endpoint(text).ok()?;
    Some(text.to_string())
}

/// The registration service: an actor without ports, or a standalone server through
/// [`MdpBrokerRegistrationService::run_until`].
///
/// **This is an extension of ours, not part of 7/MDP.** A standard MDP peer is configured with
/// one broker endpoint; with a registration service, several brokers can share the load and
/// come and go without reconfiguring anybody. The dialogue runs on the service's ROUTER socket,
/// framed like MDP so that it is easy to tell apart and to validate:
///
/// ```text
/// broker  → service   "" "CMPREG01" 0x01 endpoint     ANNOUNCE, every heartbeat interval
/// broker  → service   "" "CMPREG01" 0x02 endpoint     WITHDRAW (ours stop announcing instead)
/// peer    → service   "" "CMPREG01" 0x03              LIST
/// service → peer      "" "CMPREG01" 0x04 endpoint*    BROKERS: every live broker, sorted
/// ```
///
/// A broker that has not announced itself for `liveness` intervals is forgotten. Clients and
/// workers ask for the list every interval and spread over the brokers in it: a client opens
/// each new connection to the next broker in turn, a worker's connections are dealt out over
/// them.
///
/// ```no_run
/// use compysition::actors::{MdpBroker, MdpBrokerRegistrationService, MdpClient};
///
/// # fn example() -> compysition::Result<()> {
/// let registry = MdpBrokerRegistrationService::bind("tcp://*:6000")?;
/// let broker = MdpBroker::bind("tcp://*:5555")?
///     .announce_to("tcp://registry-host:6000", "tcp://broker-host:5555")?;
/// let client = MdpClient::discover("tcp://registry-host:6000")?;
/// # let _ = (registry, broker, client);
/// # Ok(())
/// # }
/// ```
pub struct MdpBrokerRegistrationService {
    listener: TcpListener,
    endpoint: String,
    interval: Duration,
    liveness: u32,
    malformed: Arc<AtomicU64>,
}

impl MdpBrokerRegistrationService {
    /// A registration service listening on `endpoint` (bound now; port `0` picks a free port).
    pub fn bind(endpoint: &str) -> Result<Self> {
        let (listener, endpoint) = bind_tcp(endpoint)?;
        Ok(MdpBrokerRegistrationService {
            listener,
            endpoint,
            interval: DEFAULT_HEARTBEAT_INTERVAL,
            liveness: DEFAULT_LIVENESS,
            malformed: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The endpoint the service is bound to, with the actual port.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The interval brokers announce themselves at (default 2.5 s; from 1 ms to a year); a
    /// broker silent for `liveness` intervals (default 3; from 1 to 1000) is forgotten.
    pub fn heartbeat(mut self, interval: Duration, liveness: u32) -> Self {
        self.interval = limits::interval(interval);
        self.liveness = limits::liveness(liveness);
        self
    }

    /// How many malformed messages the service dropped and connections it refused (not ZMTP,
    /// or over the size limit) so far.
    pub fn malformed_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.malformed)
    }

    /// Serves until `stop` resolves.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> Result<()> {
        let stats = Arc::new(RouterStats::new(Arc::clone(&self.malformed)));
        let mut router = Router::new(self.listener, RouterLimits::new(MAX_MESSAGE), stats)
            .map_err(|source| Error::Bind {
                address: self.endpoint.clone(),
                source,
            })?;
        let mut brokers: BTreeMap<String, Instant> = BTreeMap::new();
        let lifetime = self.interval * self.liveness;
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            router.flush();
            tokio::select! {
                biased;
                () = &mut stop => break,
                _ = tick.tick() => {
                    let now = Instant::now();
                    brokers.retain(|_, expires| *expires > now);
                }
                () = router.arrived() => {
                    while let Some((inbound, peers)) = router.take() {
                        let Inbound::Message { peer, frames } = inbound else { continue };
                        match parse(frames) {
                            Some((Command::Announce, [endpoint])) => match endpoint_frame(endpoint) {
                                Some(endpoint) => {
                                    if brokers.insert(endpoint.clone(), Instant::now() + lifetime).is_none() {
                                        tracing::info!(broker = %endpoint, "MDP broker registered");
                                    }
                                }
                                None => { self.malformed.fetch_add(1, Ordering::Relaxed); }
                            },
                            Some((Command::Withdraw, [endpoint])) => {
                                if let Some(endpoint) = endpoint_frame(endpoint) {
                                    if brokers.remove(&endpoint).is_some() {
                                        tracing::info!(broker = %endpoint, "MDP broker withdrew");
                                    }
                                }
                            }
                            Some((Command::List, [])) => {
                                let endpoints: Vec<Bytes> = brokers
                                    .keys()
                                    .map(|e| Bytes::copy_from_slice(e.as_bytes()))
                                    .collect();
                                let head: [&[u8]; 3] = [b"", REGISTRATION_HEADER, &[Command::Brokers as u8]];
                                if peers.send(peer, &head, &endpoints) != Sent::Queued {
                                    tracing::debug!("registration reply undeliverable");
                                }
                            }
                            _ => { self.malformed.fetch_add(1, Ordering::Relaxed); }
                        }
                    }
                }
            }
        }
        router.close(Duration::ZERO).await;
        Ok(())
    }
}

impl Actor for MdpBrokerRegistrationService {
    type Inboxes = ();
    type Outboxes = ();

    async fn run(self, ctx: Context, (): (), (): ()) {
        let endpoint = self.endpoint.clone();
        if let Err(error) = self.run_until(ctx.stopped()).await {
            tracing::error!(actor = ctx.name(), %endpoint, %error, "MDP registration service failed");
        }
    }
}

/// The broker side: announces the broker every interval, on a connection made anew whenever
/// the registration service does not take the announcement.
pub(crate) struct Announcer {
    registry: String,
    advertised: Bytes,
    interval: Duration,
}

impl Announcer {
    pub(crate) fn new(registry: &str, advertised: &str, interval: Duration) -> Self {
        Announcer {
            registry: registry.to_string(),
            advertised: Bytes::copy_from_slice(advertised.as_bytes()),
            interval,
        }
    }

    /// Announces forever (the broker drops this future when it stops).
    pub(crate) async fn run(self) {
        let mut socket = None;
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if socket.is_none() {
                match Dealer::connect(&self.registry, self.interval, MAX_MESSAGE).await {
                    Ok(connected) => socket = Some(connected),
                    Err(error) => {
                        tracing::debug!(%error, "MDP registration service not reachable");
                        continue;
                    }
                }
            }
            if let Some(connected) = socket.as_mut() {
                // The announcer never waits on its connection, so an announcement the kernel
                // could not take stays queued; one still queued a whole interval later means
                // the service does not read, and queueing more would only grow memory.
                let announce = build(Command::Announce, [self.advertised.clone()]);
                if connected.unsent() > 0 || connected.send(&[], &announce).is_err() {
                    socket = None;
                }
            }
        }
    }
}

/// Where clients and workers find brokers: a fixed list, or a registration service.
#[derive(Clone, Debug)]
pub(crate) enum BrokerSource {
    Fixed(Arc<[String]>),
    Registry(String),
}

/// The brokers known now, kept up to date by [`BrokerDirectory::keep_updated`] when they come
/// from a registration service.
pub(crate) struct BrokerDirectory {
    source: BrokerSource,
    known: watch::Sender<Arc<[String]>>,
    next: AtomicUsize,
    interval: Duration,
}

impl BrokerDirectory {
    pub(crate) fn new(source: BrokerSource, interval: Duration) -> Self {
        let initial = match &source {
            BrokerSource::Fixed(list) => Arc::clone(list),
            BrokerSource::Registry(_) => Arc::from([]),
        };
        BrokerDirectory {
            source,
            known: watch::Sender::new(initial),
            next: AtomicUsize::new(0),
            interval,
        }
    }

    /// The next broker in turn, if any is known.
    pub(crate) fn next(&self) -> Option<String> {
        let known = self.known.borrow();
        if known.is_empty() {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        Some(known[turn % known.len()].clone())
    }

    /// The broker for the `n`th connection.
    pub(crate) fn nth(&self, n: usize) -> Option<String> {
        let known = self.known.borrow();
        (!known.is_empty()).then(|| known[n % known.len()].clone())
    }

    /// Whether `broker` is still listed.
    pub(crate) fn contains(&self, broker: &str) -> bool {
        self.known.borrow().iter().any(|known| known == broker)
    }

    /// Resolves once at least one broker is known.
    pub(crate) async fn wait_for_any(&self) {
        let mut known = self.known.subscribe();
        let _ = known.wait_for(|list| !list.is_empty()).await;
    }

    /// Asks the registration service for the broker list every interval; never returns for a
    /// registration source, returns at once for a fixed list.
    pub(crate) async fn keep_updated(&self) {
        let BrokerSource::Registry(registry) = &self.source else {
            return;
        };
        // One question never waits longer than this, whatever the interval.
        let within = self.interval.min(ASK_WITHIN);
        let mut socket: Option<Dealer> = None;
        loop {
            if socket.is_none() {
                match Dealer::connect(registry, within, MAX_MESSAGE).await {
                    Ok(connected) => socket = Some(connected),
                    Err(error) => {
                        tracing::debug!(%error, "MDP registration service not reachable");
                    }
                }
            }
            if let Some(connected) = socket.as_mut() {
                match list_brokers(connected, within).await {
                    Some(list) => {
                        self.known.send_if_modified(|known| {
                            let changed = **known != *list;
                            if changed {
                                tracing::info!(brokers = ?list, "MDP broker list changed");
                                *known = list.into();
                            }
                            changed
                        });
                    }
                    // No answer: the next round asks on a new connection.
                    None => socket = None,
                }
            }
            // Knowing no broker, ask again soon: a client or worker that started before any
            // broker announced itself should not wait a whole interval to find one.
            let pause = if self.known.borrow().is_empty() {
                self.interval.min(ASK_AGAIN_WHEN_EMPTY)
            } else {
                self.interval
            };
            tokio::time::sleep(pause).await;
        }
    }
}

/// The longest a directory waits for a registration service to connect or answer.
const ASK_WITHIN: Duration = Duration::from_secs(5);
/// How soon a directory that knows no broker asks again.
const ASK_AGAIN_WHEN_EMPTY: Duration = Duration::from_millis(250);

async fn list_brokers(socket: &mut Dealer, within: Duration) -> Option<Vec<String>> {
    socket.send(&[], &build(Command::List, [])).ok()?;
    let frames = tokio::time::timeout(within, socket.recv())
        .await
        .ok()?
        .ok()?;
    let (command, arguments) = parse(&frames)?;
    if command != Command::Brokers {
        return None;
    }
    arguments.iter().map(endpoint_frame).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_messages_round_trip() {
        let announce = build(
            Command::Announce,
            [Bytes::from_static(b"tcp://10.0.0.1:5555")],
        );
        let (command, arguments) = parse(&announce).expect("valid");
        assert_eq!(command, Command::Announce);
        assert_eq!(
            endpoint_frame(&arguments[0]).as_deref(),
            Some("tcp://10.0.0.1:5555")
        );
    }

    #[test]
    fn foreign_messages_are_not_registration_commands() {
        let mdp = [
            Bytes::new(),
            Bytes::from_static(b"MDPW01"),
            Bytes::from_static(&[1]),
        ];
        assert!(parse(&mdp).is_none());
        assert!(endpoint_frame(&Bytes::from_static(b"not an endpoint")).is_none());
    }

    #[test]
    fn the_directory_deals_brokers_in_turn() {
        let directory = BrokerDirectory::new(
            BrokerSource::Fixed(Arc::from([
                "tcp://a:1".to_string(),
                "tcp://b:2".to_string(),
            ])),
            Duration::from_secs(1),
        );
        let picks: Vec<_> = (0..4).filter_map(|_| directory.next()).collect();
        assert_eq!(picks, ["tcp://a:1", "tcp://b:2", "tcp://a:1", "tcp://b:2"]);
        assert_eq!(directory.nth(3).as_deref(), Some("tcp://b:2"));
        assert!(directory.contains("tcp://a:1"));
    }
}
