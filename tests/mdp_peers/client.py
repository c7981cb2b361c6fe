"""An independent, synchronous 7/MDP client on a REQ socket, with the recovery 7/MDP suggests
(poll with a timeout; on timeout close the socket, open a new one and send again).

Usage: client.py --connect ENDPOINT --timeout-ms 2000 --retries 2 [--zmtp-heartbeat-ms 20]
                 [--curve-key DIR/client.key_secret --curve-server DIR/broker.key]
Reads one request per stdin line, {"service": NAME, "body": [hex frames]}, and answers each with
{"reply": [hex frames]} (the body of the reply) or {"error": "timeout"}.
"""

import json
import sys

import zmq

from mdp import (CLIENT, arguments, curve, frames_from_hex, frames_to_hex, new_context, plain_socket,
                 say)


def main():
    options = arguments(sys.argv[1:], {"timeout_ms": "2500", "retries": "2", "zmtp_heartbeat_ms": "0"})
    endpoint = options["connect"]
    timeout = int(options["timeout_ms"])
    retries = int(options["retries"])
    zmtp_heartbeat = int(options["zmtp_heartbeat_ms"])
    context = new_context()
    socket = None
    for line in sys.stdin:
        request = json.loads(line)
        service = request["service"].encode()
        body = frames_from_hex(request["body"])
        answer = None
        for _ in range(retries + 1):
            if socket is None:
                socket = plain_socket(context, zmq.REQ, zmtp_heartbeat)
                curve(socket, options)
                socket.connect(endpoint)
            socket.send_multipart([CLIENT, service, *body])
            if socket.poll(timeout, zmq.POLLIN):
                frames = socket.recv_multipart()
                if len(frames) >= 3 and frames[0] == CLIENT and frames[1] == service:
                    answer = frames[2:]
                    break
            socket.close()
            socket = None
        if answer is None:
            say(error="timeout")
        else:
            say(reply=frames_to_hex(answer))


if __name__ == "__main__":
    main()
