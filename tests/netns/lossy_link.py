#!/usr/bin/env python3
"""A lossy, slow point-to-point link between two network namespaces.

The kernel here has no netem, so the link is made in user space: one TUN device in each
namespace, and this process relays the IP packets between them, holding each one for the
delay and dropping each with the given probability. The drops are real packet loss: TCP sees
them and retransmits.

    lossy_link.py NS_A ADDR_A NS_B ADDR_B --delay-ms 50 --loss 0.05 [--seed N]

Configures ADDR_A on the device in NS_A with ADDR_B as its peer (and the reverse), prints
"ready" once both are up, and relays until it is terminated. On exit it prints the counts.
"""

import argparse
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
MTU = 1500

libc = ctypes.CDLL(None, use_errno=True)


def enter(namespace):
    """Moves this (single-threaded) process into a named network namespace."""
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns {namespace}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def tun(name):
    """A TUN device in the current namespace; its file descriptor."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def configure(namespace, device, address, peer):
    for command in (
        ["ip", "-n", namespace, "addr", "add", address, "peer", peer, "dev", device],
        ["ip", "-n", namespace, "link", "set", device, "mtu", str(MTU), "up"],
    ):
        subprocess.run(command, check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ns_a")
    parser.add_argument("addr_a")
    parser.add_argument("ns_b")
    parser.add_argument("addr_b")
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--loss", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--device", default="lossy0")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    enter(args.ns_a)
    fd_a = tun(args.device)
    enter(args.ns_b)
    fd_b = tun(args.device)
    if libc.setns(home, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns back")
    configure(args.ns_a, args.device, args.addr_a, args.addr_b)
    configure(args.ns_b, args.device, args.addr_b, args.addr_a)

    counts = {"relayed": 0, "dropped": 0}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    print("ready", flush=True)

    delay = args.delay_ms / 1000.0
    # (due, sequence, destination, packet): the sequence keeps each direction in order.
    due = []
    sequence = 0
    other = {fd_a: fd_b, fd_b: fd_a}
    while not stopping:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, destination, packet = heapq.heappop(due)
            try:
                os.write(destination, packet)
                counts["relayed"] += 1
            except BlockingIOError:
                counts["dropped"] += 1
        wait = max(0.0, due[0][0] - now) if due else 0.2
        try:
            readable, _, _ = select.select([fd_a, fd_b], [], [], wait)
        except InterruptedError:
            continue
        for source in readable:
            while True:
                try:
                    packet = os.read(source, 65536)
                except BlockingIOError:
                    break
                if rng.random() < args.loss:
                    counts["dropped"] += 1
                    continue
                sequence += 1
                heapq.heappush(due, (time.monotonic() + delay, sequence, other[source], packet))
    print(f"relayed={counts['relayed']} dropped={counts['dropped']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
