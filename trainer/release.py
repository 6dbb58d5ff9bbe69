"""Release suspended jobs (PyTorchJobs, TrainJobs) at their arrival offsets (python -m ...release).

The start of the experiment is the release's first run: it is kept in a state file on the logs
volume (`<logs>/<experiment>/release.json`, replaced atomically) with one record per job handled,
so a restarted release keeps the clock and never releases a job twice. A due job that is still
suspended is released (spec.runPolicy.suspend of a PyTorchJob, spec.suspend of a TrainJob, set
false; under Kueue its queue label is added instead, since Kueue owns suspend); a finished or
already running job is only recorded. The resources per backend are contract.RELEASE_TARGETS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fltkc import contract

PROG = "fltk-release"
LABEL_QUEUE = contract.LABEL_QUEUE
STATE_VERSION = 1


class ReleaseError(Exception):
    """A problem the release cannot wait out; the message names the place and the fix."""


class Clock(Protocol):
    def now(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock seconds since the epoch: the state file outlives the pod."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class Entry:
    name: str
    offset: float


@dataclass(frozen=True)
class Settings:
    experiment: str
    namespace: str
    schedule: tuple[Entry, ...]
    state_path: Path
    queue: str | None = None
    poll_seconds: float = 5.0
    backend: str = "pytorchjob"

    @property
    def target(self) -> contract.ReleaseTarget:
        return contract.RELEASE_TARGETS[self.backend]

    def resource(self) -> tuple[str, str, str, str]:
        """group, version, namespace, plural: the CustomObjectsApi arguments."""
        t = self.target
        return (t.group, t.version, self.namespace, t.plural)


def read_schedule(path: Path, experiment: str) -> tuple[Entry, ...]:
    """Jobs by (offset, name) from schedule.json (format in fltkc.contract)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = [Entry(j["name"], float(j["offsetSeconds"])) for j in data["jobs"]]
        owner = data["experiment"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = f"{path}: not a schedule.json ({exc}); mount the schedule ConfigMap"
        raise ReleaseError(message) from None
    if owner != experiment:
        raise ReleaseError(f"{path}: schedule of experiment {owner}, not {experiment}")
    return tuple(sorted(entries, key=lambda e: (e.offset, e.name)))


def write_state(path: Path, state: Mapping[str, Any]) -> None:
    """Replace the state file atomically: a crash leaves the old or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_state(settings: Settings, clock: Clock) -> dict[str, Any]:
    """The kept state, or a new one starting the clock now (written before any release)."""
    path = settings.state_path
    if path.is_file():
        try:
            state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            start = float(state["startTime"])
            jobs = state["jobs"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReleaseError(
                f"{path}: unreadable release state ({exc}); delete it to restart the schedule"
            ) from None
        if state.get("experiment") != settings.experiment or not isinstance(jobs, dict):
            raise ReleaseError(f"{path}: state of another experiment; use a separate logs folder")
        state["startTime"] = start
        return state
    state = {
        "version": STATE_VERSION,
        "experiment": settings.experiment,
        "namespace": settings.namespace,
        "startTime": clock.now(),
        "jobs": {},
    }
    write_state(path, state)
    return state


def finished(job: Mapping[str, Any], backend: str = "pytorchjob") -> str | None:
    """The terminal condition (Succeeded/Complete or Failed) that is True, if any."""
    ends = contract.RELEASE_TARGETS[backend].finished
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ends and condition.get("status") == "True":
            return str(condition["type"])
    return None


def decide(job: Mapping[str, Any], queue: str | None, backend: str = "pytorchjob") -> str:
    """What to do with a due job: release it, or record why it is left alone."""
    if finished(job, backend):
        return "left-finished"
    if queue is not None:
        labels = (job.get("metadata") or {}).get("labels") or {}
        return "left-queued" if LABEL_QUEUE in labels else "release"
    node: Any = job
    for key in contract.RELEASE_TARGETS[backend].suspend:
        node = (node or {}).get(key) if isinstance(node, Mapping) else None
    return "release" if node else "left-running"


def release_patch(queue: str | None, backend: str = "pytorchjob") -> dict[str, Any]:
    """A JSON merge patch: un-suspend, or (Kueue) hand the job to its queue."""
    if queue is not None:
        return {"metadata": {"labels": {LABEL_QUEUE: queue}}}
    patch: dict[str, Any] = {"suspend": False}
    *parents, _ = contract.RELEASE_TARGETS[backend].suspend
    for key in reversed(parents):
        patch = {key: patch}
    return patch


class Releaser:
    """One release run over a CustomObjectsApi-like `api` and an injected clock."""

    def __init__(
        self, settings: Settings, api: Any, clock: Clock, log: Callable[[str], None] = print
    ) -> None:
        self.settings, self.api, self.clock, self.log = settings, api, clock, log
        self.state = load_state(settings, clock)

    @property
    def start(self) -> float:
        return float(self.state["startTime"])

    def pending(self) -> list[Entry]:
        return [e for e in self.settings.schedule if e.name not in self.state["jobs"]]

    def run(self) -> dict[str, Any]:
        """Handle every scheduled job at or after its offset; returns the final state."""
        self._report_existing()
        while pending := self.pending():
            now = self.clock.now()
            waiting = False
            for entry in pending:
                if self.start + entry.offset > now:
                    break
                waiting |= not self._handle(entry, now)
            if not (pending := self.pending()):
                break
            due_in = self.start + pending[0].offset - self.clock.now()
            pause = self.settings.poll_seconds if waiting else due_in
            self.clock.sleep(max(min(pause, self.settings.poll_seconds * 60), 0.0))
        self.log(f"{PROG}: all {len(self.settings.schedule)} jobs handled")
        return self.state

    def _report_existing(self) -> None:
        s = self.settings
        selector = f"{contract.LABEL_EXPERIMENT}={s.experiment}"
        listed = self._call("list_namespaced_custom_object", *s.resource(), label_selector=selector)
        names = {item["metadata"]["name"] for item in (listed or {}).get("items", [])}
        known = sum(e.name in names for e in s.schedule)
        self.log(
            f"{PROG}: start {self.start:.3f}; {known}/{len(s.schedule)} scheduled jobs exist, "
            f"{len(self.state['jobs'])} handled before"
        )

    def _handle(self, entry: Entry, now: float) -> bool:
        """Release or record one due job; False when it does not exist yet (retry later)."""
        s = self.settings
        args = (*s.resource(), entry.name)
        job = self._call("get_namespaced_custom_object", *args)
        if job is None:
            self.log(f"{PROG}: {entry.name} is due but does not exist yet; retrying")
            return False
        action = decide(job, s.queue, s.backend)
        if action == "release":
            patch = release_patch(s.queue, s.backend)
            if self._call("patch_namespaced_custom_object", *args, patch) is None:
                return False
            action = "released"
        self.state["jobs"][entry.name] = {
            "action": action,
            "at": now,
            "offsetSeconds": entry.offset,
            "lateSeconds": round(now - self.start - entry.offset, 3),
        }
        write_state(s.state_path, self.state)
        self.log(f"{PROG}: {entry.name} {action} at +{now - self.start:.3f}s")
        return True

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """The API call's result; None for 404 or a transient error, raise on a denied one."""
        from kubernetes.client.exceptions import ApiException

        try:
            return getattr(self.api, method)(*args, **kwargs)
        except ApiException as exc:
            if exc.status in (401, 403):
                raise ReleaseError(
                    f"{method} denied ({exc.status} {exc.reason}); bind the release Role "
                    f"(get/list/patch on {self.settings.target.plural}) to the pod's "
                    "ServiceAccount"
                ) from None
            if exc.status != 404:
                self.log(f"{PROG}: {method} failed ({exc.status} {exc.reason}); retrying")
            return None


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--schedule", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--namespace", default=os.environ.get(contract.ENV_NAMESPACE))
    parser.add_argument("--queue", default=None, help="Kueue LocalQueue: label instead of resume")
    parser.add_argument("--poll-seconds", type=float, default=5.0)
    parser.add_argument(
        "--backend", choices=sorted(contract.RELEASE_TARGETS), default="pytorchjob",
        help="the kind of the scheduled jobs (the experiment's spec.backend)",
    )  # fmt: skip
    return parser.parse_args(argv)


def _client() -> Any:
    from kubernetes import client, config

    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]
    return client.CustomObjectsApi()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the release to the end of the schedule; 2 on bad input, 1 when the API denies it."""
    args = _parse(argv)
    if not args.namespace:
        print(
            f"{PROG}: error: no namespace; set {contract.ENV_NAMESPACE} or --namespace",
            file=sys.stderr,
        )
        return contract.EXIT_USAGE
    try:
        schedule = read_schedule(args.schedule, args.experiment)
        settings = Settings(
            args.experiment,
            args.namespace,
            schedule,
            args.state,
            args.queue,
            args.poll_seconds,
            args.backend,
        )
        Releaser(settings, _client(), SystemClock(), lambda m: print(m, flush=True)).run()
    except ReleaseError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1 if "denied" in str(exc) else contract.EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
