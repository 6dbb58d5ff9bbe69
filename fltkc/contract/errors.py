"""The contract's one error: input a pod cannot run with (env, config, data), exit code 2."""

from __future__ import annotations

from fltkc.contract import EXIT_USAGE


class UsageError(Exception):
    """Bad env, config or data: the trainer prints the message as one line, exits EXIT_USAGE."""

    exit_code = EXIT_USAGE
