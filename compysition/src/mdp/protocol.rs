//! The 7/MDP (MDP/0.1) wire format: building commands and checking what arrives.
//!
//! Every message a peer receives is validated here before any other code looks at it, so the
//! broker, the client and the worker only ever handle well-formed commands. What does not
//! conform comes back as a [`Malformed`] with the rule it broke; callers drop and count it.
//!
//! Client side (`MDPC01`), as the broker's ROUTER sees it (the peer's identity first; the
//! parsers here take the frames after it):
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

use std::fmt;

use bytes::Bytes;

use crate::zeromq::Frames;

/// The header frame of the client sub-protocol, MDP/Client v0.1.
pub const CLIENT_HEADER: &[u8] = b"MDPC01";
/// The header frame of the worker sub-protocol, MDP/Worker v0.1.
pub const WORKER_HEADER: &[u8] = b"MDPW01";
/// The prefix of the services a broker answers itself (8/MMI).
pub const MMI_PREFIX: &[u8] = b"mmi.";

/// What goes out for an empty body: one empty frame (a message needs at least one body frame).
static EMPTY_BODY: [Bytes; 1] = [Bytes::new()];

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
    fn byte(self) -> &'static [u8] {
        match self {
            WorkerCommand::Ready => &[1],
            WorkerCommand::Request => &[2],
            WorkerCommand::Reply => &[3],
            WorkerCommand::Heartbeat => &[4],
            WorkerCommand::Disconnect => &[5],
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

fn service_frame(frame: &Bytes) -> Result<&Bytes, Malformed> {
    if valid_service_name(frame) {
        Ok(frame)
    } else {
        Err(Malformed::BadServiceName)
    }
}

fn client_address(frame: &Bytes) -> Result<&Bytes, Malformed> {
    if frame.is_empty() || frame.len() > 255 {
        Err(Malformed::BadClientAddress)
    } else {
        Ok(frame)
    }
}

fn body(frames: &[Bytes]) -> Result<&[Bytes], Malformed> {
    if frames.is_empty() {
        return Err(Malformed::MissingBody);
    }
    Ok(frames)
}

/// What the broker's ROUTER socket delivered (after the peer's identity), once validated. The
/// parts borrow the received frames: forwarding a body copies nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum BrokerInbound<'a> {
    /// A client asks `service`.
    Request {
        /// The service name.
        service: &'a Bytes,
        /// The request body, one frame or more.
        body: &'a [Bytes],
    },
    /// A worker command.
    Worker(WorkerInbound<'a>),
}

/// A worker-side command received by the broker.
#[derive(Debug, PartialEq, Eq)]
pub enum WorkerInbound<'a> {
    /// Registers for `service`.
    Ready {
        /// The service name.
        service: &'a Bytes,
    },
    /// The answer for `client`.
    Reply {
        /// The client address the request came with.
        client: &'a Bytes,
        /// The reply body, one frame or more.
        body: &'a [Bytes],
    },
    /// Still alive.
    Heartbeat,
    /// Leaving.
    Disconnect,
    /// A REQUEST sent by a worker: well-formed, but a broker never accepts it.
    Request,
}

/// Validates the frames of a message the broker received (the ROUTER's identity frame is not
/// among them).
pub fn parse_broker_inbound(frames: &[Bytes]) -> Result<BrokerInbound<'_>, Malformed> {
    let [delimiter, header, rest @ ..] = frames else {
        return Err(Malformed::TooShort);
    };
    if !delimiter.is_empty() {
        return Err(Malformed::MissingDelimiter);
    }
    match &header[..] {
        CLIENT_HEADER => {
            let [service, request @ ..] = rest else {
                return Err(Malformed::TooShort);
            };
            Ok(BrokerInbound::Request {
                service: service_frame(service)?,
                body: body(request)?,
            })
        }
        WORKER_HEADER => {
            let [command, arguments @ ..] = rest else {
                return Err(Malformed::TooShort);
            };
            let command = WorkerCommand::parse(command)?;
            parse_worker_command(command, arguments).map(BrokerInbound::Worker)
        }
        _ => Err(Malformed::UnknownProtocol),
    }
}

fn parse_worker_command(
    command: WorkerCommand,
    arguments: &[Bytes],
) -> Result<WorkerInbound<'_>, Malformed> {
    match (command, arguments) {
        (WorkerCommand::Ready, [service]) => Ok(WorkerInbound::Ready {
            service: service_frame(service)?,
        }),
        (WorkerCommand::Ready, _) => Err(Malformed::WrongFrameCount),
        (WorkerCommand::Reply, _) => {
            let (client, body) = client_envelope(arguments)?;
            Ok(WorkerInbound::Reply { client, body })
        }
        (WorkerCommand::Request, _) => client_envelope(arguments).map(|_| WorkerInbound::Request),
        (WorkerCommand::Heartbeat, []) => Ok(WorkerInbound::Heartbeat),
        (WorkerCommand::Disconnect, []) => Ok(WorkerInbound::Disconnect),
        (WorkerCommand::Heartbeat | WorkerCommand::Disconnect, _) => {
            Err(Malformed::WrongFrameCount)
        }
    }
}

/// `client "" body...` of a worker-side REQUEST or REPLY.
fn client_envelope(frames: &[Bytes]) -> Result<(&Bytes, &[Bytes]), Malformed> {
    let [client, delimiter, rest @ ..] = frames else {
        return Err(Malformed::WrongFrameCount);
    };
    let client = client_address(client)?;
    if !delimiter.is_empty() {
        return Err(Malformed::MissingEnvelopeDelimiter);
    }
    Ok((client, body(rest)?))
}

/// What a worker's DEALER socket delivered from the broker, once validated.
#[derive(Debug, PartialEq, Eq)]
pub enum WorkerOutbound<'a> {
    /// A request to handle, to be answered to `client`.
    Request {
        /// The client address to reply to.
        client: &'a Bytes,
        /// The request body.
        body: &'a [Bytes],
    },
    /// The broker is alive.
    Heartbeat,
    /// The broker ends the logical connection: reconnect on a new socket.
    Disconnect,
    /// READY or REPLY sent by a broker: well-formed, but a worker never accepts it.
    Unexpected,
}

/// Validates the frames of a message a worker received from its broker.
pub fn parse_worker_outbound(frames: &[Bytes]) -> Result<WorkerOutbound<'_>, Malformed> {
    let [delimiter, header, command, arguments @ ..] = frames else {
        return Err(Malformed::TooShort);
    };
    if !delimiter.is_empty() {
        return Err(Malformed::MissingDelimiter);
    }
    if header != WORKER_HEADER {
        return Err(Malformed::UnknownProtocol);
    }
    match (WorkerCommand::parse(command)?, arguments) {
        (WorkerCommand::Request, _) => {
            let (client, body) = client_envelope(arguments)?;
            Ok(WorkerOutbound::Request { client, body })
        }
        (WorkerCommand::Heartbeat, []) => Ok(WorkerOutbound::Heartbeat),
        (WorkerCommand::Disconnect, []) => Ok(WorkerOutbound::Disconnect),
        (WorkerCommand::Heartbeat | WorkerCommand::Disconnect, _) => {
            Err(Malformed::WrongFrameCount)
        }
        (WorkerCommand::Ready | WorkerCommand::Reply, _) => Ok(WorkerOutbound::Unexpected),
    }
}

/// Validates the frames of a reply a client received, which must answer `service`; returns
/// its body.
pub fn parse_client_reply<'a>(
    frames: &'a [Bytes],
    service: &[u8],
) -> Result<&'a [Bytes], Malformed> {
    let [delimiter, header, replied, rest @ ..] = frames else {
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
    body(rest)
}

/// The frames before the body of the broker's REQUEST to a worker: `"" MDPW01 0x02 client ""`.
pub fn worker_request_head(client: &[u8]) -> [&[u8]; 5] {
    [
        b"",
        WORKER_HEADER,
        &[WorkerCommand::Request as u8],
        client,
        b"",
    ]
}

/// The frames before the body of the broker's REPLY to a client: `"" MDPC01 service`.
pub fn client_reply_head(service: &[u8]) -> [&[u8]; 3] {
    [b"", CLIENT_HEADER, service]
}

/// A worker command without arguments (HEARTBEAT, DISCONNECT), either way between a broker
/// and a worker.
pub fn worker_command(command: WorkerCommand) -> [&'static [u8]; 3] {
    [b"", WORKER_HEADER, command.byte()]
}

/// A worker's READY for `service`.
pub fn worker_ready(service: &[u8]) -> [&[u8]; 4] {
    [b"", WORKER_HEADER, WorkerCommand::Ready.byte(), service]
}

/// The frames before the body of a worker's REPLY for `client`: `"" MDPW01 0x03 client ""`.
/// An empty body goes out as one empty frame.
pub fn worker_reply_head(client: &[u8]) -> [&[u8]; 5] {
    [b"", WORKER_HEADER, WorkerCommand::Reply.byte(), client, b""]
}

/// The frames before the body of a client's REQUEST: `"" MDPC01 service`.
pub fn client_request_head(service: &[u8]) -> [&[u8]; 3] {
    [b"", CLIENT_HEADER, service]
}

/// The body frames of a message as they go out: one empty frame for an empty body.
pub fn body_frames(body: &Frames) -> &[Bytes] {
    if body.is_empty() {
        &EMPTY_BODY
    } else {
        body.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(frames: &[&[u8]]) -> Vec<Bytes> {
        frames.iter().map(|f| Bytes::copy_from_slice(f)).collect()
    }

    #[test]
    fn a_client_request_parses_with_its_multi_frame_body() {
        let message = frames(&[b"", b"MDPC01", b"echo", b"a", b"", b"c"]);
        let parsed = parse_broker_inbound(&message).expect("valid");
        let BrokerInbound::Request { service, body } = parsed else {
            panic!("a request, got {parsed:?}");
        };
        assert_eq!(service, "echo");
        assert_eq!(body, ["a", "", "c"]);
    }

    #[test]
    fn a_client_request_without_body_is_malformed() {
        let message = frames(&[b"", b"MDPC01", b"echo"]);
        assert_eq!(parse_broker_inbound(&message), Err(Malformed::MissingBody));
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
        let echo = Bytes::from_static(b"echo");
        let client = Bytes::from_static(b"client");
        let body = frames(&[b"x"]);
        let cases: [(&[&[u8]], WorkerInbound<'_>); 4] = [
            (
                &[b"", b"MDPW01", &[1], b"echo"],
                WorkerInbound::Ready { service: &echo },
            ),
            (
                &[b"", b"MDPW01", &[3], b"client", b"", b"x"],
                WorkerInbound::Reply {
                    client: &client,
                    body: &body,
                },
            ),
            (&[b"", b"MDPW01", &[4]], WorkerInbound::Heartbeat),
            (&[b"", b"MDPW01", &[5]], WorkerInbound::Disconnect),
        ];
        for (message, expected) in cases {
            let message = frames(message);
            assert_eq!(
                parse_broker_inbound(&message),
                Ok(BrokerInbound::Worker(expected))
            );
        }
    }

    #[test]
    fn truncated_and_padded_commands_are_malformed() {
        let cases: [(&[&[u8]], Malformed); 11] = [
            (&[], Malformed::TooShort),
            (&[b""], Malformed::TooShort),
            (&[b"x", b"MDPW01", &[4]], Malformed::MissingDelimiter),
            (&[b"", b"MDPX01", &[4]], Malformed::UnknownProtocol),
            (&[b"", b"MDPW01"], Malformed::TooShort),
            (&[b"", b"MDPW01", &[9]], Malformed::UnknownCommand),
            (&[b"", b"MDPW01", &[1, 1]], Malformed::UnknownCommand),
            (&[b"", b"MDPW01", &[1]], Malformed::WrongFrameCount),
            (&[b"", b"MDPW01", &[4], b"x"], Malformed::WrongFrameCount),
            (
                &[b"", b"MDPW01", &[3], b"c", b"x", b"body"],
                Malformed::MissingEnvelopeDelimiter,
            ),
            (&[b"", b"MDPW01", &[3], b"c", b""], Malformed::MissingBody),
        ];
        for (message, expected) in cases {
            let message = frames(message);
            assert_eq!(parse_broker_inbound(&message), Err(expected), "{message:?}");
        }
    }

    #[test]
    fn built_commands_have_the_spec_layout() {
        assert_eq!(
            worker_request_head(b"c"),
            [&b""[..], b"MDPW01", &[2], b"c", b""]
        );
        assert_eq!(client_reply_head(b"echo"), [&b""[..], b"MDPC01", b"echo"]);
        assert_eq!(
            worker_command(WorkerCommand::Disconnect),
            [&b""[..], b"MDPW01", &[5]]
        );
        assert_eq!(worker_ready(b"echo"), [&b""[..], b"MDPW01", &[1], b"echo"]);
        assert_eq!(
            worker_reply_head(b"c"),
            [&b""[..], b"MDPW01", &[3], b"c", b""]
        );
        assert_eq!(client_request_head(b"echo"), [&b""[..], b"MDPC01", b"echo"]);
        let body = Frames::new(["b1", ""]);
        assert_eq!(body_frames(&body), [&b"b1"[..], b""]);
    }

    #[test]
    fn an_empty_body_goes_out_as_one_empty_frame() {
        assert_eq!(body_frames(&Frames::default()), [&b""[..]]);
    }

    #[test]
    fn a_worker_parses_what_the_broker_sends() {
        let mut request: Vec<Bytes> = worker_request_head(b"client")
            .iter()
            .map(|f| Bytes::copy_from_slice(f))
            .collect();
        request.extend(frames(&[b"x", b""]));
        let client = Bytes::from_static(b"client");
        let body = frames(&[b"x", b""]);
        assert_eq!(
            parse_worker_outbound(&request),
            Ok(WorkerOutbound::Request {
                client: &client,
                body: &body,
            })
        );
        let ready = frames(&[b"", b"MDPW01", &[1], b"svc"]);
        assert_eq!(
            parse_worker_outbound(&ready),
            Ok(WorkerOutbound::Unexpected)
        );
    }

    #[test]
    fn a_client_rejects_a_reply_for_another_service() {
        let reply = frames(&[b"", b"MDPC01", b"other", b"x"]);
        assert_eq!(
            parse_client_reply(&reply, b"echo"),
            Err(Malformed::WrongService)
        );
        let reply = frames(&[b"", b"MDPC01", b"echo", b"x", b""]);
        assert_eq!(
            parse_client_reply(&reply, b"echo"),
            Ok(&frames(&[b"x", b""])[..])
        );
    }
}
