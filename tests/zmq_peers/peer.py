"""An independent ZeroMQ peer (pyzmq / libzmq) for the connector tests: one socket of any of
the types PUSH, PULL, PUB, XPUB, SUB, bound or connected, driven through stdin/stdout one JSON
object per line, with frames as hex strings.

Usage: peer.py --type push|pull|pub|xpub|sub (--bind ENDPOINT | --connect ENDPOINT)
               [--topic HEX]... [--hwm N] [--paused 1]
               [--curve-public Z85 --curve-secret Z85 [--curve-server-key Z85]]

Prints {"listening": endpoint} once bound (port `*` is resolved) or {"connecting": endpoint}.
- pull, sub: prints {"message": [hex frames]} for each message received; with --paused 1 it
  reads nothing until the line {"read": true} arrives.
- push, pub, xpub: sends each {"send": [hex frames]} line; prints {"sent": n} after each.
- xpub: prints {"subscribed": hex} / {"cancelled": hex} for each subscription it receives.
With --curve-public/--curve-secret (Z85) the socket speaks CURVE: as the server of the
handshake, or with --curve-server-key as a client of that server.
Runs until stdin closes.
"""

import json
import sys

import zmq

TYPES = {"push": zmq.PUSH, "pull": zmq.PULL, "pub": zmq.PUB, "xpub": zmq.XPUB, "sub": zmq.SUB}


def say(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def arguments(argv):
    options = {"topic": [], "hwm": "1000", "paused": "0"}
    for name, value in zip(argv[::2], argv[1::2]):
        name = name.lstrip("-").replace("-", "_")
        if name == "topic":
            options["topic"].append(value)
        else:
            options[name] = value
    return options


def main():
    options = arguments(sys.argv[1:])
    kind = options["type"]
    socket = zmq.Context.instance().socket(TYPES[kind])
    socket.setsockopt(zmq.LINGER, 1000)
    socket.setsockopt(zmq.SNDHWM, int(options["hwm"]))
    socket.setsockopt(zmq.RCVHWM, int(options["hwm"]))
    if "curve_public" in options:
        socket.curve_publickey = options["curve_public"].encode()
        socket.curve_secretkey = options["curve_secret"].encode()
        if "curve_server_key" in options:
            socket.curve_serverkey = options["curve_server_key"].encode()
        else:
            socket.curve_server = True
    for topic in options["topic"]:
        socket.setsockopt(zmq.SUBSCRIBE, bytes.fromhex(topic))
    if "bind" in options:
        socket.bind(options["bind"])
        say(listening=socket.getsockopt(zmq.LAST_ENDPOINT).decode())
    else:
        socket.connect(options["connect"])
        say(connecting=options["connect"])
    reading = kind in ("pull", "sub", "xpub") and options["paused"] != "1"
    poller = zmq.Poller()
    poller.register(sys.stdin, zmq.POLLIN)
    if reading:
        poller.register(socket, zmq.POLLIN)
    sent = 0
    while True:
        events = dict(poller.poll())
        if socket in events:
            frames = socket.recv_multipart()
            if kind == "xpub":
                if len(frames) == 1 and frames[0][:1] == b"\x01":
                    say(subscribed=frames[0][1:].hex())
                elif len(frames) == 1 and frames[0][:1] == b"\x00":
                    say(cancelled=frames[0][1:].hex())
            else:
                say(message=[frame.hex() for frame in frames])
        if sys.stdin.fileno() in events or sys.stdin in events:
            line = sys.stdin.readline()
            if not line:
                break
            order = json.loads(line)
            if order.get("read") and not reading:
                reading = True
                poller.register(socket, zmq.POLLIN)
            if "send" in order:
                socket.send_multipart([bytes.fromhex(frame) for frame in order["send"]])
                sent += 1
                say(sent=sent)
    socket.close()


if __name__ == "__main__":
    main()
