"""An independent 7/MDP echo worker: answers every request with its body frames unchanged.

Usage: worker.py --connect ENDPOINT --service NAME --heartbeat-ms 250 --liveness 3
Prints {"ready": NAME} each time it registers, {"request": [hex frames]} for each request, and
runs until stdin closes.
"""

import sys

import zmq

from mdp import (DISCONNECT, HEARTBEAT, READY, REPLY, REQUEST, WORKER, arguments, frames_to_hex,
                 new_context, now, plain_socket, say)


def main():
    options = arguments(sys.argv[1:], {"heartbeat_ms": "2500", "liveness": "3"})
    endpoint, service = options["connect"], options["service"].encode()
    heartbeat = int(options["heartbeat_ms"]) / 1000.0
    liveness = int(options["liveness"])
    context = new_context()
    poller = zmq.Poller()
    poller.register(sys.stdin, zmq.POLLIN)
    running = True
    while running:
        socket = plain_socket(context, zmq.DEALER)
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
                    say(request=frames_to_hex(body))
                    socket.send_multipart([b"", WORKER, REPLY, client, b"", *body])
                    next_heartbeat = now() + heartbeat
                elif command == DISCONNECT:
                    break
            if now() >= broker_expires:
                break
            if now() >= next_heartbeat:
                socket.send_multipart([b"", WORKER, HEARTBEAT])
                next_heartbeat = now() + heartbeat
        poller.unregister(socket)
        socket.close()


if __name__ == "__main__":
    main()
