"""Rules the JSON Schema cannot express: cross-field limits, references and trace files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fltkc import contract
from fltkc.compile.experiment import DEFAULT_PROFILE, TRAINING_KEYS
from fltkc.compile.load import Source
from fltkc.compile.podspec_rules import podspec_issues
from fltkc.compile.quantity import parse
from fltkc.contract.checks import config_issues
from fltkc.contract.defaults import complete_config
from fltkc.errors import Diagnostic, Path

Issue = tuple[Path, str]  # a path relative to the checked object, and the message


def semantic_diagnostics(source: Source) -> list[Diagnostic]:
    """All semantic problems of a schema-valid document."""
    spec = source.document["spec"]
    issues = list(_experiment_issues(source.document)) + podspec_issues(source.document)
    for i, task in enumerate(spec["tasks"]):
        issues += [
            ((*_task_path(i), *p), m) for p, m in task_issues(task, spec.get("profiles", {}))
        ]
    return [source.diag(path, message) for path, message in issues]


def _task_path(index: int) -> Path:
    return ("spec", "tasks", index)


def _experiment_issues(doc: Mapping[str, Any]) -> Iterator[Issue]:
    spec = doc["spec"]
    for key in doc["metadata"].get("labels", {}):
        if key.startswith(contract.RESERVED_LABEL_PREFIXES):
            yield ("metadata", "labels", key), "this label key is set by the compiler; rename it"
    for role, volume in spec.get("storage", {}).items():
        yield from _prefixed(("spec", "storage", role), _volume_issues(volume))
    for name, profile in spec.get("profiles", {}).items():
        yield from _prefixed(("spec", "profiles", name), _profile_issues(profile))
    if "kueue" in spec:
        yield from _kueue_issues(spec)
    argocd = spec.get("argocd", {})
    destination = argocd.get("destination", {})
    if argocd.get("enabled") and "namespace" not in destination | doc["metadata"]:
        message = "needs a namespace; set argocd.destination.namespace or metadata.namespace"
        yield ("spec", "argocd", "destination"), message
    first: dict[str, int] = {}
    for i, task in enumerate(spec["tasks"]):
        if task["name"] in first:
            other = f"spec.tasks[{first[task['name']]}]"
            yield (*_task_path(i), "name"), f"duplicate task name (also {other}); rename one"
        first.setdefault(task["name"], i)


def used_profiles(spec: Mapping[str, Any]) -> dict[str, Path]:
    """Each profile a task uses, with the first place that names it."""
    used: dict[str, Path] = {}
    for i, task in enumerate(spec["tasks"]):
        replicas = task.get("replicas", {})
        master = replicas.get("master", {}).get("profile", DEFAULT_PROFILE)
        worker = replicas.get("workers", {}).get("profile", master)
        used.setdefault(master, (*_task_path(i), "replicas", "master"))
        used.setdefault(worker, (*_task_path(i), "replicas", "workers"))
    return used


def _kueue_issues(spec: Mapping[str, Any]) -> Iterator[Issue]:
    """Kueue admits by requests: every container of a queued job must state cpu and memory."""
    profiles = spec.get("profiles", {})
    for name in sorted(used_profiles(spec)):
        if name not in profiles:
            continue  # unknown names are reported per task; the built-in default has requests
        requests = profiles[name].get("requests", {})
        missing = [key for key in ("cpu", "memory") if key not in requests]
        if missing:
            message = (
                f"Kueue (spec.kueue) needs requests on every container; set requests."
                f"{' and requests.'.join(missing)} in this profile"
            )
            yield ("spec", "profiles", name), message


def _prefixed(prefix: Path, issues: Iterator[Issue]) -> Iterator[Issue]:
    for path, message in issues:
        yield (*prefix, *path), message


def _volume_issues(volume: Mapping[str, Any]) -> Iterator[Issue]:
    if "existingClaim" in volume:
        for key in ("size", "storageClassName", "accessModes"):
            if key in volume:
                yield (key,), "applies only to a new claim; remove it or remove existingClaim"


def _profile_issues(profile: Mapping[str, Any]) -> Iterator[Issue]:
    requests, limits = profile.get("requests", {}), profile.get("limits", {})
    for key in sorted(requests.keys() & limits.keys()):
        try:
            over = parse(requests[key]).value > parse(limits[key]).value
        except ValueError:
            continue  # out of range: reported by podspec_rules
        if over:
            message = f"{requests[key]} is more than limits.{key} ({limits[key]}); lower it"
            yield ("requests", key), message
    for i, tol in enumerate(profile.get("tolerations", [])):
        if isinstance(tol, dict) and tol.get("operator") == "Exists" and "value" in tol:
            yield ("tolerations", i, "value"), "must be absent with operator Exists"


def task_issues(task: Mapping[str, Any], profiles: Mapping[str, Any]) -> list[Issue]:
    """Problems of one task (or one sweep point of it), relative to the task."""
    issues = list(training_issues(task))
    replicas = task.get("replicas", {})
    for role in ("master", "workers"):
        name = replicas.get(role, {}).get("profile")
        if name is not None and name not in profiles and name != DEFAULT_PROFILE:
            defined = ", ".join(sorted(profiles)) or "none"
            issues.append(
                (("replicas", role, "profile"), f"unknown profile {name!r}; defined: {defined}")
            )
    workers = replicas.get("workers", {}).get("count")
    federated = task.get("federated")
    if task["mode"] == "federated" and workers is not None and federated is not None:
        if workers < 1:
            issues.append((("replicas", "workers", "count"), _NEEDS_WORKER))
        elif workers > federated["clients"]:
            message = (
                f"{workers} workers for {federated['clients']} clients; each worker runs at least "
                "one client, so lower workers.count or raise federated.clients"
            )
            issues.append((("replicas", "workers", "count"), message))
    issues += _arrival_issues(task.get("arrivals", {}))
    issues += _sweep_issues(task.get("sweep", {}))
    return issues


_NEEDS_WORKER = (
    "a federated task needs at least 1 worker (rank 0 is the server; clients run on workers)"
)


def training_issues(task: Mapping[str, Any]) -> list[Issue]:
    """The trainer's own rules (fltkc.contract.checks) on a task's or sweep point's trainer
    fields, completed with the defaults the trainer will see; paths relative to the task."""
    training = {key: task[key] for key in TRAINING_KEYS if key in task}
    return list(config_issues(complete_config(training)))


def _arrival_issues(arrivals: Mapping[str, Any]) -> list[Issue]:
    process = arrivals.get("process")
    if process == "poisson" and ("count" in arrivals) == ("horizonSeconds" in arrivals):
        return [(("arrivals",), "a poisson process needs exactly one of count or horizonSeconds")]
    if process == "uniform" and arrivals.get("startSeconds", 0) >= arrivals["endSeconds"]:
        return [(("arrivals", "endSeconds"), "must be greater than startSeconds")]
    return []


def _sweep_issues(sweep: Mapping[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    for key in sweep.get("grid", {}):
        head = key.split(".", 1)[0]
        if head not in TRAINING_KEYS or head == "mode":
            fields = ", ".join(k for k in TRAINING_KEYS if k != "mode")
            message = f"cannot sweep {head!r}; sweep a trainer field under: {fields}"
            issues.append((("sweep", "grid", key), message))
    return issues
