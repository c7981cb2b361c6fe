//! The 7/MDP (MDP/0.1) wire format: building commands and checking what arrives.
//!
//! Every message a peer receives is validated here before any other code looks at it, so the
//! broker, the client and the worker only ever handle well-formed commands. What does not
//! conform comes back as a [`Malformed`] with the rule it broke; callers drop and count it.
//!
//! Client side (`MDPC01`), as the broker's ROUTER sees it (the identity frame first):
//!
//! ```text
//! REQUEST  [client] "" "MDPC01" service body...   (body: one frame or more)
//! REPLY    [client] "" "MDPC01" service body...
//! ```
//!
//! Worker side (`MDPW01`):
//!
//! ```text
//! READY      [worker] "" "MDPW01" 0x01 service
//! REQUEST    [worker] "" "MDPW01" 0x02 client "" body...
//! REPLY      [worker] "" "MDPW01" 0x03 client "" body...
//! HEARTBEAT  [worker] "" "MDPW01" 0x04
//! DISCONNECT [worker] "" "MDPW01" 0x05
//! ```

use std::collections::VecDeque;
use std::fmt;

use bytes::Bytes;
use zeromq::ZmqMessage;

use super::frames::Frames;

/// The header frame of the client sub-protocol, MDP/Client v0.1.
pub const CLIENT_HEADER: &[u8] = b"MDPC01";
/// The header frame of the worker sub-protocol, MDP/Worker v0.1.
pub const WORKER_HEADER: &[u8] = b"MDPW01";
/// The prefix of the services a broker answers itself (8/MMI).
pub const MMI_PREFIX: &[u8] = b"mmi.";

const EMPTY: Bytes = Bytes::from_static(b"");
const CLIENT: Bytes = Bytes::from_static(CLIENT_HEADER);
const WORKER: Bytes = Bytes::from_static(WORKER_HEADER);

/// The longest service name accepted (ZeroMQ identities have the same bound).
pub const MAX_SERVICE_LEN: usize = 255;

/// The command byte of a worker-side message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WorkerCommand {
    /// Worker → broker: registers the worker for a service.
    Ready = 1,
    /// Broker → worker: a request to handle.
    Request = 2,
    /// Worker → broker: the answer to a request.
    Reply = 3,
    /// Both ways: "still here".
    Heartbeat = 4,
    /// Both ways: the logical connection ends.
    Disconnect = 5,
}

impl WorkerCommand {
    fn frame(self) -> Bytes {
        match self {
            WorkerCommand::Ready => Bytes::from_static(&[1]),
            WorkerCommand::Request => Bytes::from_static(&[2]),
            WorkerCommand::Reply => Bytes::from_static(&[3]),
            WorkerCommand::Heartbeat => Bytes::from_static(&[4]),
            WorkerCommand::Disconnect => Bytes::from_static(&[5]),
        }
    }

    fn parse(frame: &[u8]) -> Result<Self, Malformed> {
        match frame {
            [1] => Ok(WorkerCommand::Ready),
            [2] => Ok(WorkerCommand::Request),
            [3] => Ok(WorkerCommand::Reply),
            [4] => Ok(WorkerCommand::Heartbeat),
            [5] => Ok(WorkerCommand::Disconnect),
            _ => Err(Malformed::UnknownCommand),
        }
    }
}

/// Why a message was not a valid MDP command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// Fewer frames than any command has.
    TooShort,
    /// The frame before the protocol header is not empty.
    MissingDelimiter,
    /// Neither `MDPC01` nor `MDPW01`.
    UnknownProtocol,
    /// A worker command byte outside 0x01..=0x05, or not one byte long.
    UnknownCommand,
    /// A command with the wrong number of frames.
    WrongFrameCount,
    /// A request or reply without a body frame.
    MissingBody,
    /// A service name that is empty, too long, or not printable text.
    BadServiceName,
    /// A client address that is empty or longer than 255 bytes.
    BadClientAddress,
    /// The frame after the client address is not empty.
    MissingEnvelopeDelimiter,
    /// A reply for another service than the one asked.
    WrongService,
}

impl Malformed {
    /// A short description of the rule that was broken.
    pub fn reason(self) -> &'static str {
        match self {
            Malformed::TooShort => "too few frames",
            Malformed::MissingDelimiter => "first frame is not empty",
            Malformed::UnknownProtocol => "unknown protocol header",
            Malformed::UnknownCommand => "unknown worker command",
            Malformed::WrongFrameCount => "wrong number of frames for the command",
            Malformed::MissingBody => "request or reply without a body",
            Malformed::BadServiceName => "service name empty, too long or not printable",
            Malformed::BadClientAddress => "client address empty or too long",
            Malformed::MissingEnvelopeDelimiter => "no empty frame after the client address",
            Malformed::WrongService => "reply names another service",
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for Malformed {}

/// Whether `name` can be a service name: printable text of 1 to 255 bytes.
pub fn valid_service_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_SERVICE_LEN
        && std::str::from_utf8(name).is_ok_and(|text| !text.chars().any(char::is_control))
}

fn service_frame(frame: Bytes) -> Result<Bytes, Malformed> {
    if valid_service_name(&frame) {
        Ok(frame)
    } else {
        Err(Malformed::BadServiceName)
    }
}

fn client_address(frame: Bytes) -> Result<Bytes, Malformed> {
    if frame.is_empty() || frame.len() > 255 {
        Err(Malformed::BadClientAddress)
    } else {
        Ok(frame)
    }
}

fn body(frames: VecDeque<Bytes>) -> Result<Frames, Malformed> {
    if frames.is_empty() {
        return Err(Malformed::MissingBody);
    }
    Ok(frames.into_iter().collect())
}

/// What the broker's ROUTER socket delivered, once validated.
#[derive(Debug, PartialEq, Eq)]
pub enum BrokerInbound {
    /// A client asks `service`.
    Request {
        /// The service name.
        service: Bytes,
        /// The request body.
        body: Frames,
    },
    /// A worker command.
    Worker(WorkerInbound),
}

/// A worker-side command received by the broker.
#[derive(Debug, PartialEq, Eq)]
pub enum WorkerInbound {
    /// Registers for `service`.
    Ready {
        /// The service name.
        service: Bytes,
    },
    /// The answer for `client`.
    Reply {
        /// The client address the request came with.
        client: Bytes,
        /// The reply body.
        body: Frames,
    },
    /// Still alive.
    Heartbeat,
    /// Leaving.
    Disconnect,
    /// A REQUEST sent by a worker: well-formed, but a broker never accepts it.
    Request,
}

/// Splits off the identity frame a ROUTER socket put first, then validates the rest.
pub fn parse_broker_inbound(
    message: ZmqMessage,
) -> (Option<Bytes>, Result<BrokerInbound, Malformed>) {
    let mut frames = message.into_vecdeque();
    let identity = frames.pop_front();
    (identity, parse_broker_frames(frames))
}

fn parse_broker_frames(mut frames: VecDeque<Bytes>) -> Result<BrokerInbound, Malformed> {
    let (Some(delimiter), Some(header)) = (frames.pop_front(), frames.pop_front()) else {
        return Err(Malformed::TooShort);
    };
    if !delimiter.is_empty() {
        return Err(Malformed::MissingDelimiter);
    }
    match &header[..] {
        CLIENT_HEADER => {
            let service = frames.pop_front().ok_or(Malformed::TooShort)?;
            let service = service_frame(service)?;
            Ok(BrokerInbound::Request {
                service,
                body: body(frames)?,
            })
        }
        WORKER_HEADER => {
            let command = frames.pop_front().ok_or(Malformed::TooShort)?;
            let command = WorkerCommand::parse(&command)?;
            parse_worker_command(command, frames).map(BrokerInbound::Worker)
        }
        _ => Err(Malformed::UnknownProtocol),
    }
}

fn parse_worker_command(
    command: WorkerCommand,
    mut frames: VecDeque<Bytes>,
) -> Result<WorkerInbound, Malformed> {
    match command {
        WorkerCommand::Ready => match (frames.pop_front(), frames.is_empty()) {
            (Some(service), true) => Ok(WorkerInbound::Ready {
                service: service_frame(service)?,
            }),
            _ => Err(Malformed::WrongFrameCount),
        },
        WorkerCommand::Request | WorkerCommand::Reply => {
            let (client, body) = client_envelope(frames)?;
            Ok(match command {
                WorkerCommand::Reply => WorkerInbound::Reply { client, body },
                _ => WorkerInbound::Request,
            })
        }
        WorkerCommand::Heartbeat | WorkerCommand::Disconnect if !frames.is_empty() => {
            Err(Malformed::WrongFrameCount)
        }
        WorkerCommand::Heartbeat => Ok(WorkerInbound::Heartbeat),
        WorkerCommand::Disconnect => Ok(WorkerInbound::Disconnect),
    }
}

/// `client "" body...` of a worker-side REQUEST or REPLY.
fn client_envelope(mut frames: VecDeque<Bytes>) -> Result<(Bytes, Frames), Malformed> {
    let (Some(client), Some(delimiter)) = (frames.pop_front(), frames.pop_front()) else {
        return Err(Malformed::WrongFrameCount);
    };
    let client = client_address(client)?;
    if !delimiter.is_empty() {
        return Err(Malformed::MissingEnvelopeDelimiter);
    }
    Ok((client, body(frames)?))
}

/// What a worker's DEALER socket delivered from the broker, once validated.
#[derive(Debug, PartialEq, Eq)]
pub enum WorkerOutbound {
    /// A request to handle, to be answered to `client`.
    Request {
        /// The client address to reply to.
        client: Bytes,
        /// The request body.
        body: Frames,
    },
    /// The broker is alive.
    Heartbeat,
    /// The broker ends the logical connection: reconnect on a new socket.
    Disconnect,
    /// READY or REPLY sent by a broker: well-formed, but a worker never accepts it.
    Unexpected,
}

/// Validates a message a worker received from its broker.
pub fn parse_worker_outbound(message: ZmqMessage) -> Result<WorkerOutbound, Malformed> {
    let mut frames = message.into_vecdeque();
    let (Some(delimiter), Some(header), Some(command)) =
        (frames.pop_front(), frames.pop_front(), frames.pop_front())
    else {
        return Err(Malformed::TooShort);
    };
    if !delimiter.is_empty() {
        return Err(Malformed::MissingDelimiter);
    }
    if header != WORKER_HEADER {
        return Err(Malformed::UnknownProtocol);
    }
    match WorkerCommand::parse(&command)? {
        WorkerCommand::Request => {
            let (client, body) = client_envelope(frames)?;
            Ok(WorkerOutbound::Request { client, body })
        }
        WorkerCommand::Heartbeat | WorkerCommand::Disconnect if !frames.is_empty() => {
            Err(Malformed::WrongFrameCount)
        }
        WorkerCommand::Heartbeat => Ok(WorkerOutbound::Heartbeat),
        WorkerCommand::Disconnect => Ok(WorkerOutbound::Disconnect),
        WorkerCommand::Ready | WorkerCommand::Reply => Ok(WorkerOutbound::Unexpected),
    }
}

/// Validates a reply a client received, which must answer `service`; returns its body.
pub fn parse_client_reply(message: ZmqMessage, service: &[u8]) -> Result<Frames, Malformed> {
    let mut frames = message.into_vecdeque();
    let (Some(delimiter), Some(header), Some(replied)) =
        (frames.pop_front(), frames.pop_front(), frames.pop_front())
    else {
        return Err(Malformed::TooShort);
    };
    if !delimiter.is_empty() {
        return Err(Malformed::MissingDelimiter);
    }
    if header != CLIENT_HEADER {
        return Err(Malformed::UnknownProtocol);
    }
    if replied != service {
        return Err(Malformed::WrongService);
    }
    body(frames)
}

fn message(frames: VecDeque<Bytes>) -> ZmqMessage {
    // Every caller puts at least the delimiter and the header in: never empty.
    ZmqMessage::try_from(frames).unwrap_or_else(|_| ZmqMessage::from(EMPTY))
}

fn push_body(frames: &mut VecDeque<Bytes>, body: &Frames) {
    if body.is_empty() {
        frames.push_back(EMPTY);
    } else {
        frames.extend(body.iter().cloned());
    }
}

/// A client's REQUEST, as sent on a DEALER socket.
pub fn client_request(service: &Bytes, body: &Frames) -> ZmqMessage {
    let mut frames = VecDeque::with_capacity(3 + body.len().max(1));
    frames.extend([EMPTY, CLIENT, service.clone()]);
    push_body(&mut frames, body);
    message(frames)
}

/// The broker's REPLY to a client, addressed through the ROUTER socket.
pub fn client_reply(client: Bytes, service: Bytes, body: &Frames) -> ZmqMessage {
    let mut frames = VecDeque::with_capacity(4 + body.len().max(1));
    frames.extend([client, EMPTY, CLIENT, service]);
    push_body(&mut frames, body);
    message(frames)
}

/// The broker's REQUEST to a worker, addressed through the ROUTER socket.
pub fn worker_request(worker: Bytes, client: Bytes, body: &Frames) -> ZmqMessage {
    let mut frames = VecDeque::with_capacity(6 + body.len().max(1));
    frames.extend([
        worker,
        EMPTY,
        WORKER,
        WorkerCommand::Request.frame(),
        client,
        EMPTY,
    ]);
    push_body(&mut frames, body);
    message(frames)
}

/// A worker command without arguments (HEARTBEAT, DISCONNECT) from the broker to `worker`.
pub fn to_worker(worker: Bytes, command: WorkerCommand) -> ZmqMessage {
    message(VecDeque::from([worker, EMPTY, WORKER, command.frame()]))
}

/// A worker's READY for `service`, as sent on a DEALER socket.
pub fn worker_ready(service: &Bytes) -> ZmqMessage {
    message(VecDeque::from([
        EMPTY,
        WORKER,
        WorkerCommand::Ready.frame(),
        service.clone(),
    ]))
}

/// A worker's REPLY for `client`, as sent on a DEALER socket.
pub fn worker_reply(client: Bytes, body: &Frames) -> ZmqMessage {
    let mut frames = VecDeque::with_capacity(5 + body.len().max(1));
    frames.extend([EMPTY, WORKER, WorkerCommand::Reply.frame(), client, EMPTY]);
    push_body(&mut frames, body);
    message(frames)
}

/// A worker command without arguments (HEARTBEAT, DISCONNECT), as sent on a DEALER socket.
pub fn from_worker(command: WorkerCommand) -> ZmqMessage {
    message(VecDeque::from([EMPTY, WORKER, command.frame()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(frames: &[&[u8]]) -> ZmqMessage {
        ZmqMessage::try_from(
            frames
                .iter()
                .map(|f| Bytes::copy_from_slice(f))
                .collect::<Vec<_>>(),
        )
        .expect("test messages have frames")
    }

    fn frames_of(message: ZmqMessage) -> Vec<Bytes> {
        message.into_vec()
    }

    #[test]
    fn a_client_request_parses_with_its_multi_frame_body() {
        let (identity, parsed) =
            parse_broker_inbound(msg(&[b"id", b"", b"MDPC01", b"echo", b"a", b"", b"c"]));
        assert_eq!(identity.as_deref(), Some(&b"id"[..]));
        assert_eq!(
            parsed,
            Ok(BrokerInbound::Request {
                service: Bytes::from_static(b"echo"),
                body: Frames::new(["a", "", "c"]),
            })
        );
    }

    #[test]
    fn a_client_request_without_body_is_malformed() {
        let (_, parsed) = parse_broker_inbound(msg(&[b"id", b"", b"MDPC01", b"echo"]));
        assert_eq!(parsed, Err(Malformed::MissingBody));
    }

    #[test]
    fn service_names_must_be_printable_text() {
        assert!(valid_service_name(b"echo"));
        assert!(valid_service_name("dienst.ü".as_bytes()));
        assert!(!valid_service_name(b""));
        assert!(!valid_service_name(b"bad\nname"));
        assert!(!valid_service_name(b"\xff\xfe"));
        assert!(!valid_service_name(&[b'a'; 256]));
    }

    #[test]
    fn every_worker_command_parses() {
        let cases: [(&[&[u8]], WorkerInbound); 4] = [
            (
                &[b"w", b"", b"MDPW01", &[1], b"echo"],
                WorkerInbound::Ready {
                    service: Bytes::from_static(b"echo"),
                },
            ),
            (
                &[b"w", b"", b"MDPW01", &[3], b"client", b"", b"x"],
                WorkerInbound::Reply {
                    client: Bytes::from_static(b"client"),
                    body: Frames::new(["x"]),
                },
            ),
            (&[b"w", b"", b"MDPW01", &[4]], WorkerInbound::Heartbeat),
            (&[b"w", b"", b"MDPW01", &[5]], WorkerInbound::Disconnect),
        ];
        for (frames, expected) in cases {
            let (_, parsed) = parse_broker_inbound(msg(frames));
            assert_eq!(parsed, Ok(BrokerInbound::Worker(expected)));
        }
    }

    #[test]
    fn truncated_and_padded_commands_are_malformed() {
        let cases: [(&[&[u8]], Malformed); 11] = [
            (&[b"w"], Malformed::TooShort),
            (&[b"w", b""], Malformed::TooShort),
            (&[b"w", b"x", b"MDPW01", &[4]], Malformed::MissingDelimiter),
            (&[b"w", b"", b"MDPX01", &[4]], Malformed::UnknownProtocol),
            (&[b"w", b"", b"MDPW01"], Malformed::TooShort),
            (&[b"w", b"", b"MDPW01", &[9]], Malformed::UnknownCommand),
            (&[b"w", b"", b"MDPW01", &[1, 1]], Malformed::UnknownCommand),
            (&[b"w", b"", b"MDPW01", &[1]], Malformed::WrongFrameCount),
            (
                &[b"w", b"", b"MDPW01", &[4], b"x"],
                Malformed::WrongFrameCount,
            ),
            (
                &[b"w", b"", b"MDPW01", &[3], b"c", b"x", b"body"],
                Malformed::MissingEnvelopeDelimiter,
            ),
            (
                &[b"w", b"", b"MDPW01", &[3], b"c", b""],
                Malformed::MissingBody,
            ),
        ];
        for (frames, expected) in cases {
            let (_, parsed) = parse_broker_inbound(msg(frames));
            assert_eq!(parsed, Err(expected), "{frames:?}");
        }
    }

    #[test]
    fn built_commands_have_the_spec_layout() {
        let body = Frames::new(["b1", ""]);
        assert_eq!(
            frames_of(worker_request(
                Bytes::from_static(b"w"),
                Bytes::from_static(b"c"),
                &body
            )),
            [&b"w"[..], b"", b"MDPW01", &[2], b"c", b"", b"b1", b""]
        );
        assert_eq!(
            frames_of(client_request(&Bytes::from_static(b"echo"), &body)),
            [&b""[..], b"MDPC01", b"echo", b"b1", b""]
        );
        assert_eq!(
            frames_of(from_worker(WorkerCommand::Heartbeat)),
            [&b""[..], b"MDPW01", &[4]]
        );
    }

    #[test]
    fn an_empty_body_goes_out_as_one_empty_frame() {
        let request = client_request(&Bytes::from_static(b"echo"), &Frames::default());
        assert_eq!(frames_of(request), [&b""[..], b"MDPC01", b"echo", b""]);
    }

    #[test]
    fn a_worker_parses_what_the_broker_sends() {
        let request = worker_request(
            Bytes::from_static(b"ignored-by-dealer"),
            Bytes::from_static(b"client"),
            &Frames::new(["x", ""]),
        );
        let mut frames = request.into_vecdeque();
        frames.pop_front();
        let parsed = parse_worker_outbound(ZmqMessage::try_from(frames).expect("frames"));
        assert_eq!(
            parsed,
            Ok(WorkerOutbound::Request {
                client: Bytes::from_static(b"client"),
                body: Frames::new(["x", ""]),
            })
        );
        assert_eq!(
            parse_worker_outbound(msg(&[b"", b"MDPW01", &[1], b"svc"])),
            Ok(WorkerOutbound::Unexpected)
        );
    }

    #[test]
    fn a_client_rejects_a_reply_for_another_service() {
        let reply = msg(&[b"", b"MDPC01", b"other", b"x"]);
        assert_eq!(
            parse_client_reply(reply, b"echo"),
            Err(Malformed::WrongService)
        );
        let reply = msg(&[b"", b"MDPC01", b"echo", b"x", b""]);
        assert_eq!(
            parse_client_reply(reply, b"echo"),
            Ok(Frames::new(["x", ""]))
        );
    }
}
