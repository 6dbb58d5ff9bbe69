"""Start, watch, restart and stop one job's replica processes as the training operator would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from typing import Literal

from fltkc.local.localize import LocalJob, Placement, ProcessSpec, localize
from fltkc.local.outdir import JobSpec, RestartPolicy

JobStatus = Literal["queued", "running", "succeeded", "failed", "interrupted"]
FINAL: tuple[JobStatus, ...] = ("succeeded", "failed", "interrupted")
# kubelet waits before restarting a container too; this also lets the old port close.
RESTART_DELAY = 0.5
START_ERROR_EXIT_CODE = 127  # what a shell reports for a command it cannot run


@dataclass
class Attempt:
    replica: str
    pid: int
    start: float  # seconds since the run started
    end: float | None = None
    exit_code: int | None = None  # as a container reports it: 128 + N when killed by signal N


def container_exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def restartable(policy: RestartPolicy, exit_code: int) -> bool:
    """Whether the operator restarts a replica that exited non-zero under this policy."""
    if policy == "Never":
        return False
    if policy == "ExitCode":
        return 128 <= exit_code <= 255
    return True


def signal_group(pid: int, sig: int) -> None:
    """Signal a replica's whole process group: the container, not just its first process."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class Replica:
    """One replica (pod) and the attempts (containers) it went through."""

    def __init__(self, spec: ProcessSpec) -> None:
        self.spec = spec
        self.popen: subprocess.Popen[bytes] | None = None
        self.attempts: list[Attempt] = []
        self.done = False
        self.restart_at: float | None = None
        self._start_error: int | None = None

    @property
    def alive(self) -> bool:
        return self.popen is not None or self._start_error is not None

    def _mark(self, text: str) -> None:
        with self.spec.log.open("a", encoding="utf-8") as fh:
            fh.write(f"===== fltkc: {self.spec.replica} {text} =====\n")

    def launch(self, now: float) -> None:
        self.spec.log.parent.mkdir(parents=True, exist_ok=True)
        if self.attempts:
            self._mark(f"restart {len(self.attempts)} (the trainer resumes from its checkpoint)")
        self.restart_at = None
        with self.spec.log.open("ab") as log:
            try:
                # A new session puts the replica in its own process group: Ctrl-C at the
                # terminal reaches only fltkc, which then stops every group itself.
                self.popen = subprocess.Popen(
                    self.spec.argv,
                    env=dict(self.spec.env),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as err:
                # A container whose command cannot start fails like one that crashed.
                log.write(f"cannot start {self.spec.argv[0]}: {err}\n".encode())
                self.attempts.append(Attempt(self.spec.replica, 0, now))
                self._start_error = START_ERROR_EXIT_CODE
                return
        self.attempts.append(Attempt(self.spec.replica, self.popen.pid, now))

    def reap(self, now: float) -> int | None:
        """The exit code if the process ended since the last call, its group killed."""
        if self._start_error is not None:
            code, self._start_error = self._start_error, None
        elif self.popen is None or self.popen.poll() is None:
            return None
        else:
            code = container_exit_code(self.popen.returncode)
            signal_group(self.popen.pid, signal.SIGKILL)
            self.popen = None
        self.attempts[-1].end, self.attempts[-1].exit_code = now, code
        self._mark(f"exited with code {code}")
        return code

    def send(self, sig: int) -> None:
        if self.popen is not None:
            signal_group(self.popen.pid, sig)


class JobRun:
    """A job's life: queued, running (with restarts), then one final status."""

    def __init__(self, spec: JobSpec, placement: Placement, due: float, grace: float) -> None:
        self.spec = spec
        self.name = spec.name
        self.placement = placement
        self.due = due
        self.grace = grace
        self.local: LocalJob | None = None
        self.replicas: list[Replica] = []
        self.status: JobStatus = "queued"
        self.start: float | None = None
        self.end: float | None = None
        self.restarts = 0
        self.job_failures: dict[str, int] = {}  # a TrainJob's failures per batch Job
        self.failed_replica: Replica | None = None
        self._outcome: JobStatus | None = None
        self._kill_at: float | None = None

    @property
    def slots_in_use(self) -> int:
        return sum(1 for r in self.replicas if r.alive or r.restart_at is not None)

    def launch(self, now: float) -> None:
        # The port is taken at launch: one picked earlier may be in use by then.
        self.local = localize(self.spec, self.placement)
        self.replicas = [Replica(process) for process in self.local.processes]
        self.status, self.start = "running", now
        for replica in self.replicas:
            replica.launch(now)

    def _finish(self, outcome: JobStatus, now: float, stop_others: bool) -> None:
        self._outcome = outcome
        for replica in self.replicas:
            replica.restart_at = None
            if stop_others:
                replica.send(signal.SIGTERM)
        if stop_others:
            self._kill_at = now + self.grace

    def _may_restart(self, replica: Replica, code: int) -> bool:
        """PyTorchJob: the replica's restartPolicy and one backoffLimit for all replicas.

        TrainJob: every batch Job of its JobSet recreates a failed pod until its own
        backoffLimit is spent, unless a podFailurePolicy FailJob rule names the exit code.
        """
        process = replica.spec
        if process.fail_codes is None:
            return (
                restartable(process.restart_policy, code)
                and self.restarts < self.spec.backoff_limit
            )
        failures = self.job_failures.get(process.budget, 0)
        if code in process.fail_codes or failures >= process.budget_limit:
            return False
        self.job_failures[process.budget] = failures + 1
        return True

    def _exited(self, replica: Replica, code: int, now: float) -> None:
        if self._outcome is not None:
            return
        spec = self.spec
        if code == 0:
            replica.done = True
            # A PyTorchJob with a Master succeeds with it; a JobSet when all its Jobs do.
            if spec.kind == "TrainJob":
                if all(r.done for r in self.replicas):
                    self._finish("succeeded", now, stop_others=False)
            elif replica.spec.rank == 0:
                self._finish("succeeded", now, spec.clean_pod_policy != "None")
        elif self._may_restart(replica, code):
            self.restarts += 1
            replica.restart_at = now + RESTART_DELAY
        else:
            self.failed_replica = replica
            self._finish("failed", now, stop_others=True)

    def step(self, now: float) -> bool:
        """Reap, restart and escalate; True when something changed."""
        changed = False
        for replica in self.replicas:
            code = replica.reap(now)
            if code is not None:
                changed = True
                self._exited(replica, code, now)
            if replica.restart_at is not None and now >= replica.restart_at:
                replica.launch(now)
                changed = True
        if self._kill_at is not None and now >= self._kill_at:
            for replica in self.replicas:
                replica.send(signal.SIGKILL)
        if self._outcome is not None and not any(r.alive for r in self.replicas):
            self.status, self.end, self._outcome = self._outcome, now, None
            changed = True
        return changed

    def interrupt(self, now: float, immediately: bool = False) -> None:
        """Stop every replica: SIGTERM now, SIGKILL after the grace period (or now)."""
        if self.status == "queued":
            self.status = "interrupted"
            return
        if self.status in FINAL:
            return
        # A job whose master already succeeded keeps that outcome; only its workers stop.
        self._finish(self._outcome or "interrupted", now, stop_others=True)
        if immediately:
            self._kill_at = now
