"""An independent 7/MDP echo worker: answers every request with its body frames unchanged.

Usage: worker.py --connect ENDPOINT --service NAME --heartbeat-ms 250 --liveness 3
                 [--delay-ms 0] [--silent 0] [--quiet 0]
                 [--curve-key DIR/worker.key_secret --curve-server DIR/broker.key]
Prints {"ready": NAME} each time it registers, {"request": [hex frames]} for each request
(unless --quiet 1), and runs until stdin closes; then it says DISCONNECT and leaves.

--delay-ms N: the handler takes N ms, during which the worker reads nothing and sends nothing,
as the synchronous workers of the zguide do (mdwrkapi's recv only heartbeats between requests).
--silent 1: the worker never sends HEARTBEAT (it still answers requests and reads the broker's
heartbeats): a worker that is alive but says nothing while idle.
"""

import sys
import time

import zmq

from mdp import (DISCONNECT, HEARTBEAT, READY, REPLY, REQUEST, WORKER, arguments, curve,
                 frames_to_hex, new_context, now, plain_socket, say)


def main():
    options = arguments(sys.argv[1:], {"heartbeat_ms": "2500", "liveness": "3", "delay_ms": "0",
                                       "silent": "0", "quiet": "0"})
    endpoint, service = options["connect"], options["service"].encode()
    delay = int(options["delay_ms"]) / 1000.0
    silent = options["silent"] == "1"
    quiet = options["quiet"] == "1"
    heartbeat = int(options["heartbeat_ms"]) / 1000.0
    liveness = int(options["liveness"])
    context = new_context()
    poller = zmq.Poller()
    poller.register(sys.stdin, zmq.POLLIN)
    running = True
    while running:
        socket = plain_socket(context, zmq.DEALER)
        curve(socket, options)
        socket.connect(endpoint)
        poller.register(socket, zmq.POLLIN)
        socket.send_multipart([b"", WORKER, READY, service])
        say(ready=service.decode())
        broker_expires = now() + heartbeat * liveness
        next_heartbeat = now() + heartbeat
        while True:
            events = dict(poller.poll(max(0.0, min(next_heartbeat, broker_expires) - now()) * 1000))
            if sys.stdin.fileno() in events or sys.stdin in events:
                if not sys.stdin.readline():
                    socket.send_multipart([b"", WORKER, DISCONNECT])
                    # Leaving for good: give the DISCONNECT time to go out.
                    socket.setsockopt(zmq.LINGER, 1000)
                    running = False
                    break
            if socket in events:
                frames = socket.recv_multipart()
                broker_expires = now() + heartbeat * liveness
                if len(frames) < 3 or frames[0] != b"" or frames[1] != WORKER:
                    continue
                command = frames[2]
                if command == REQUEST and len(frames) >= 6 and frames[4] == b"":
                    client, body = frames[3], frames[5:]
                    if not quiet:
                        say(request=frames_to_hex(body))
                    if delay:
                        time.sleep(delay)
                    socket.send_multipart([b"", WORKER, REPLY, client, b"", *body])
                    # As in the zguide's mdwrkapi, liveness counts polls that heard nothing,
                    # so the time spent in the handler does not count against the broker.
                    broker_expires = now() + heartbeat * liveness
                    next_heartbeat = now() + heartbeat
                elif command == DISCONNECT:
                    break
            if now() >= broker_expires:
                break
            if now() >= next_heartbeat:
                if not silent:
                    socket.send_multipart([b"", WORKER, HEARTBEAT])
                next_heartbeat = now() + heartbeat
        poller.unregister(socket)
        socket.close()


if __name__ == "__main__":
    main()
