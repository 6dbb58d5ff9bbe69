"""The two ways a trainer run ends early on purpose: bad input, or a lost peer."""

from __future__ import annotations

import sys

from fltkc.contract import EXIT_PEER_LOST, EXIT_USAGE

PROG = "fltk-trainer"


def report(message: str) -> None:
    """The one line a failed trainer leaves on stderr."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


class UsageError(Exception):
    """Bad env or config: main() prints the message as one line and exits with EXIT_USAGE."""

    exit_code = EXIT_USAGE


class PeerLost(Exception):
    """Another replica vanished or timed out mid-run (rendezvous or collective)."""

    exit_code = EXIT_PEER_LOST
