"""An independent 7/MDP broker with 8/MMI, on one ROUTER socket.

Usage: broker.py --heartbeat-ms 250 --liveness 3 --expiry-ms 5000 [--zmtp-heartbeat-ms 20]
                 [--curve-key DIR/broker.key_secret]
--curve-key: a CURVE server with that pyzmq certificate (see mdp.curve).
Prints {"listening": "tcp://127.0.0.1:PORT"}, then serves until stdin closes. For each line on
stdin it prints {"readies": N}, how many READY commands it has taken so far.
"""

import collections
import sys

import zmq

from mdp import (CLIENT, DISCONNECT, HEARTBEAT, READY, REPLY, REQUEST, WORKER, arguments,
                 curve, new_context, now, plain_socket, say)


class Broker:
    def __init__(self, socket, heartbeat, liveness, expiry):
        self.socket = socket
        self.heartbeat = heartbeat
        self.liveness = liveness
        self.expiry = expiry
        self.workers = {}  # identity -> {"service", "expires"}
        self.waiting = collections.defaultdict(collections.deque)  # service -> idle identities
        self.requests = collections.defaultdict(collections.deque)  # service -> (client, body, expires)
        self.readies = 0

    def send_worker(self, identity, command, *rest):
        self.socket.send_multipart([identity, b"", WORKER, command, *rest])

    def delete_worker(self, identity, disconnect):
        worker = self.workers.pop(identity, None)
        if worker is not None:
            waiting = self.waiting[worker["service"]]
            if identity in waiting:
                waiting.remove(identity)
        if disconnect:
            self.send_worker(identity, DISCONNECT)

    def dispatch(self, service):
        queue, idle = self.requests[service], self.waiting[service]
        while queue and idle:
            client, body, _ = queue.popleft()
            identity = idle.popleft()
            self.send_worker(identity, REQUEST, client, b"", *body)

    def client_message(self, sender, frames):
        if len(frames) < 2:
            return
        service, body = frames[0], frames[1:]
        if service.startswith(b"mmi."):
            if service == b"mmi.service":
                name = body[0]
                found = any(w["service"] == name for w in self.workers.values())
                answer = b"200" if found else b"404"
            else:
                answer = b"501"
            self.socket.send_multipart([sender, b"", CLIENT, service, answer])
            return
        self.requests[service].append((sender, body, now() + self.expiry))
        self.dispatch(service)

    def worker_message(self, sender, frames):
        if not frames:
            return
        command, rest = frames[0], frames[1:]
        known = sender in self.workers
        if known:
            self.workers[sender]["expires"] = now() + self.heartbeat * self.liveness
        if command == READY and not known and len(rest) == 1 and not rest[0].startswith(b"mmi."):
            service = rest[0]
            self.readies += 1
            self.workers[sender] = {"service": service,
                                    "expires": now() + self.heartbeat * self.liveness}
            self.waiting[service].append(sender)
            self.dispatch(service)
        elif command == REPLY and known and len(rest) >= 3 and rest[1] == b"":
            service = self.workers[sender]["service"]
            client, body = rest[0], rest[2:]
            self.socket.send_multipart([client, b"", CLIENT, service, *body])
            self.waiting[service].append(sender)
            self.dispatch(service)
        elif command == HEARTBEAT and known:
            pass
        elif command == DISCONNECT:
            self.delete_worker(sender, disconnect=False)
        else:
            self.delete_worker(sender, disconnect=True)

    def on_tick(self):
        moment = now()
        for identity, worker in list(self.workers.items()):
            if worker["expires"] < moment:
                self.delete_worker(identity, disconnect=False)
            else:
                self.send_worker(identity, HEARTBEAT)
        for service, queue in self.requests.items():
            while queue and queue[0][2] < moment:
                queue.popleft()


def main():
    options = arguments(sys.argv[1:], {"heartbeat_ms": "2500", "liveness": "3", "expiry_ms": "30000",
                                       "zmtp_heartbeat_ms": "0"})
    heartbeat = int(options["heartbeat_ms"]) / 1000.0
    context = new_context()
    socket = plain_socket(context, zmq.ROUTER, int(options["zmtp_heartbeat_ms"]))
    curve(socket, options)
    port = socket.bind_to_random_port("tcp://127.0.0.1")
    broker = Broker(socket, heartbeat, int(options["liveness"]), int(options["expiry_ms"]) / 1000.0)
    poller = zmq.Poller()
    poller.register(socket, zmq.POLLIN)
    poller.register(sys.stdin, zmq.POLLIN)
    say(listening="tcp://127.0.0.1:%d" % port)
    next_tick = now() + heartbeat
    while True:
        timeout = max(0.0, next_tick - now())
        events = dict(poller.poll(timeout * 1000))
        if sys.stdin.fileno() in events or sys.stdin in events:
            if not sys.stdin.readline():
                break
            say(readies=broker.readies)
        if socket in events:
            frames = socket.recv_multipart()
            if len(frames) >= 3 and frames[1] == b"":
                sender, header, rest = frames[0], frames[2], frames[3:]
                if header == CLIENT:
                    broker.client_message(sender, rest)
                elif header == WORKER:
                    broker.worker_message(sender, rest)
        if now() >= next_tick:
            broker.on_tick()
            next_tick = now() + heartbeat
    socket.close()


if __name__ == "__main__":
    main()
