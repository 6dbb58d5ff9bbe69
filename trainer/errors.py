"""The two ways a trainer run ends early on purpose: bad input, or a lost peer."""

from __future__ import annotations

import sys

from fltkc.contract import EXIT_PEER_LOST
from fltkc.contract.errors import UsageError

__all__ = ["PeerLost", "UsageError", "report"]

PROG = "fltk-trainer"


def report(message: str) -> None:
    """The one line a failed trainer leaves on stderr."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


class PeerLost(Exception):
    """Another replica vanished or timed out mid-run (rendezvous or collective)."""

    exit_code = EXIT_PEER_LOST
