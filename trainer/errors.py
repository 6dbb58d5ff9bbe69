"""The two ways a trainer run ends early on purpose: bad input, or a lost peer."""

from __future__ import annotations

from fltkc.contract import EXIT_USAGE

# Kubeflow's `ExitCode` restart policy retries exit codes 128-255 and treats 1-127 as permanent:
# a lost peer is worth a restart (every replica rejoins and resumes from the checkpoint), bad
# input is not.
EXIT_PEER_LOST = 129


class UsageError(Exception):
    """Bad env or config: main() prints the message as one line and exits with EXIT_USAGE."""

    exit_code = EXIT_USAGE


class PeerLost(Exception):
    """Another replica vanished or timed out mid-run (rendezvous or collective)."""

    exit_code = EXIT_PEER_LOST
