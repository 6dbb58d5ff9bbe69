"""The experiment schema's `default`s are what the compiler does when a field is left out.

The typed model (fltkc/compile/experiment.py), arrivals and the defaults filler each hold a
literal for a left-out field; writing every documented default out must not change one byte."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from fltkc.compile.build import build_files
from fltkc.compile.expand import expand
from fltkc.compile.load import load_text
from fltkc.compile.validate import validate
from fltkc.contract.datafiles import EXPERIMENT_SCHEMA, load_schema

MINIMAL: dict[str, Any] = {
    "apiVersion": "fltkc.dev/v1alpha1",
    "kind": "Experiment",
    "metadata": {"name": "d", "namespace": "ns"},
    "spec": {
        "security": {},
        "kueue": {"queueName": "q"},
        "dataPrep": {},
        "tensorboard": {"enabled": True},
        "argocd": {"enabled": True, "repoURL": "https://git.example/x.git", "path": "out",
                   "destination": {}},
        "profiles": {"default": {"requests": {"cpu": "1", "memory": "1Gi"}, "gpus": {"count": 1}}},
        "tasks": [
            {
                "name": "t",
                "mode": "federated",
                "dataset": {"name": "mnist"},
                "model": {"name": "mnist-cnn"},
                "batchSize": 8,
                "optimizer": {"name": "sgd", "lr": 0.1},
                "loss": "cross-entropy",
                "federated": {"rounds": 2, "clients": 4, "clientsPerRound": 2, "localEpochs": 1,
                              "strategy": {"name": "fedavg"}, "partition": {"name": "iid"}},
                "evaluation": {},
                "checkpoint": {},
                "rendezvous": {},
                "arrivals": {"process": "poisson", "rate": 2, "count": 3},
                "sweep": {"grid": {"optimizer.lr": [0.1, 0.2]}},
            }
        ],
    },
}  # fmt: skip
# Every `default` of schemas/experiment.schema.json, written where the schema documents it.
EXPLICIT = {
    "spec": {
        "seed": 0,
        "backend": "pytorchjob",
        "imagePullPolicy": "IfNotPresent",
        "security": {"podSecurity": "restricted", "runAsUser": 1000, "fsGroup": 1000},
        "kueue": {"emitQueues": False},
        "release": "suspend",
        "dataPrep": {"enabled": True},
        "tensorboard": {"port": 6006},
        "argocd": {"targetRevision": "HEAD", "project": "default",
                   "applicationNamespace": "argocd", "automated": True,
                   "destination": {"server": "https://kubernetes.default.svc"}},
        "profiles": {"default": {"gpus": {"resource": "nvidia.com/gpu"}}},
    },
    "task": {
        "device": "auto",
        "dataset": {"source": "files", "download": False, "augment": True},
        "testBatchSize": 256,
        "evaluation": {"every": 1},
        "checkpoint": {"every": 1, "enabled": True},
        "rendezvous": {"timeoutSeconds": 600},
        "arrivals": {"per": "minute"},
        "sweep": {"repetitions": 1, "seedPerPoint": False},
        "restartPolicy": "ExitCode",
        "backoffLimit": 3,
    },
}  # fmt: skip


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _defaults(node: Any) -> list[Any]:
    if isinstance(node, dict):
        found = [node["default"]] if "default" in node else []
        return found + [d for value in node.values() for d in _defaults(value)]
    return [d for value in node for d in _defaults(value)] if isinstance(node, list) else []


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _leaves(value)]
    return [node]


def _build(document: dict[str, Any]) -> dict[str, bytes]:
    source = load_text(yaml.safe_dump(document, sort_keys=False), "d.yaml")
    return build_files(expand(validate(source)))


def test_writing_every_default_out_changes_nothing() -> None:
    explicit = copy.deepcopy(MINIMAL)
    _merge(explicit["spec"], EXPLICIT["spec"])
    _merge(explicit["spec"]["tasks"][0], EXPLICIT["task"])
    # EXPLICIT holds every default the schema documents, but for tensorboard.enabled and
    # argocd.enabled (false): MINIMAL turns both on to reach the defaults inside them.
    documented = sorted(map(json.dumps, _defaults(load_schema(EXPERIMENT_SCHEMA))))
    # ... and the runtime kind and the stream defaults, each read only in a test of its own below.
    written = sorted(
        map(json.dumps, [*_leaves(EXPLICIT), False, False, RUNTIME_KIND, *STREAM_DEFAULTS])
    )
    assert written == documented
    assert _build(explicit) == _build(MINIMAL)


RUNTIME_KIND = "ClusterTrainingRuntime"


def test_the_named_runtime_kind_default_changes_nothing() -> None:
    named = copy.deepcopy(MINIMAL)
    named["spec"].update(backend="trainjob", trainjob={"runtimeRef": {"name": "torch"}})
    named["spec"]["dataPrep"] = {"enabled": False}  # a named runtime cannot take wait-data
    explicit = copy.deepcopy(named)
    explicit["spec"]["trainjob"]["runtimeRef"]["kind"] = RUNTIME_KIND
    assert _build(explicit) == _build(named)


STREAM_DEFAULTS = [1, 1, True]  # mix and priority weights, priorityClasses.*.create


def test_the_stream_defaults_change_nothing() -> None:
    streamed = copy.deepcopy(MINIMAL)
    task = streamed["spec"]["tasks"][0]
    del task["arrivals"], task["sweep"]  # a task drawn by a stream runs only through it
    streamed["spec"]["priorityClasses"] = {"high": {"value": 100}}
    streamed["spec"]["streams"] = [
        {
            "name": "s",
            "arrivals": {"process": "poisson", "rate": 2, "count": 3},
            "mix": [{"task": "t"}],
            "priority": [{"class": "high"}],
        }
    ]
    explicit = copy.deepcopy(streamed)
    explicit["spec"]["priorityClasses"]["high"]["create"] = True
    explicit["spec"]["streams"][0]["mix"][0]["weight"] = 1
    explicit["spec"]["streams"][0]["priority"][0]["weight"] = 1
    assert _build(explicit) == _build(streamed)
