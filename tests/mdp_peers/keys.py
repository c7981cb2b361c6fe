"""CURVE certificates as pyzmq writes them, for the tests to read with our loaders.

Usage: keys.py DIR NAME...
Writes DIR/NAME.key (public) and DIR/NAME.key_secret (public and secret) for each NAME, with
zmq.auth.create_certificates, then prints {"keys": DIR}.
"""

import os
import sys

import zmq.auth

from mdp import say


def main():
    directory, names = sys.argv[1], sys.argv[2:]
    os.makedirs(directory, exist_ok=True)
    for name in names:
        zmq.auth.create_certificates(directory, name)
    say(keys=directory)


if __name__ == "__main__":
    main()
