"""Shared constants and helpers of the independent 7/MDP peers (pyzmq / libzmq).

Written from the published specifications 7/MDP (MDP/0.1) and 8/MMI, to check the Rust
implementation against a peer that shares none of its code. The peers talk to the test that
started them through stdin/stdout, one JSON object per line, with frames as hex strings.
"""

import json
import sys
import time

import zmq

CLIENT = b"MDPC01"
WORKER = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = (bytes([n]) for n in range(1, 6))


def say(**fields):
    """One JSON line to the test."""
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def frames_from_hex(items):
    return [bytes.fromhex(item) for item in items]


def frames_to_hex(frames):
    return [frame.hex() for frame in frames]


def now():
    return time.monotonic()


def new_context():
    context = zmq.Context.instance()
    return context


def plain_socket(context, kind, zmtp_heartbeat_ms=0):
    """A socket with linger 0.

    ZMTP heartbeats (ZMQ_HEARTBEAT_IVL) are off unless `zmtp_heartbeat_ms` is given, so that
    most tests see MDP traffic alone. With it, libzmq sends a ZMTP PING at that interval and
    closes a connection that sends nothing back within three intervals: a peer that does not
    answer PINGs (the Rust zeromq crate's sockets do not; our own ROUTER and DEALER do) loses
    its connection whenever it has nothing else to say.
    """
    socket = context.socket(kind)
    socket.setsockopt(zmq.LINGER, 0)
    if zmtp_heartbeat_ms:
        socket.setsockopt(zmq.HEARTBEAT_IVL, zmtp_heartbeat_ms)
        socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3 * zmtp_heartbeat_ms)
    return socket


def curve(socket, options):
    """CURVE security on `socket`, before it binds or connects, when the options name key files
    (pyzmq certificates, as zmq.auth.create_certificates writes them): --curve-key is the
    socket's own NAME.key_secret; --curve-server the server's NAME.key, for a client. A socket
    with a key and no server key is a CURVE server (it accepts any client key: no ZAP handler
    runs, libzmq's default)."""
    key = options.get("curve_key")
    if not key:
        return
    import zmq.auth
    socket.curve_publickey, socket.curve_secretkey = zmq.auth.load_certificate(key)
    server = options.get("curve_server")
    if server:
        socket.curve_serverkey = zmq.auth.load_certificate(server)[0]
    else:
        socket.curve_server = True


def arguments(argv, defaults):
    """`--name value` pairs over defaults (no argparse magic: the tests pass every flag)."""
    values = dict(defaults)
    for name, value in zip(argv[::2], argv[1::2]):
        values[name.lstrip("-").replace("-", "_")] = value
    return values
