"""Resolve a task's trainer fields into a complete trainer config (every default written out)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from fltkc.contract.behaviour import complete_behaviour
from fltkc.contract.datafiles import TRAINER_CONFIG_SCHEMA, load_schema

# Values the trainer needs but the trainer-config schema leaves to the compiler; sources:
# Flower's strategy defaults (FedProx mu, FedOpt eta/betas/tau, FedTrimmedAvg beta), and
# Hsu et al. 2019 (Dirichlet alpha 0.5) / McMahan et al. 2017 (2 shards per client).
STRATEGY_DEFAULTS: dict[str, dict[str, Any]] = {
    "fedavg": {},
    "fedprox": {"mu": 0.01},
    "fedadam": {"serverLr": 0.1, "beta1": 0.9, "beta2": 0.99, "tau": 1e-9},
    "fedyogi": {"serverLr": 0.01, "beta1": 0.9, "beta2": 0.99, "tau": 1e-3},
    "fedadagrad": {"serverLr": 0.1, "tau": 1e-9},
    "fedmedian": {},
    "fedtrimmedavg": {"trimFraction": 0.2},
}
PARTITION_DEFAULTS: dict[str, dict[str, Any]] = {
    "iid": {},
    "dirichlet": {"alpha": 0.5},
    "shards": {"shardsPerClient": 2},
    "limit-labels": {"labelsPerClient": 2},
    "q-sampler": {"q": 0.5},  # FLTK's default
    "n-labels": {"labelsPerClient": 2},
    "limit-labels-flex": {},
    "quantity-dirichlet": {"alpha": 0.5},
    "quantity-powerlaw": {"exponent": 1.0},
    "natural": {},
}
SCHEDULER_DEFAULTS: dict[str, dict[str, Any]] = {
    "none": {},
    "step": {"stepSize": 1, "gamma": 0.1},
    "exponential": {"gamma": 0.95},
    "cosine": {"minLr": 0.0},
}
# Optional sub-objects whose fields all have defaults: written out so the config is complete.
_ALWAYS_PRESENT = ("evaluation", "checkpoint", "rendezvous")


def complete_config(training: Mapping[str, Any]) -> dict[str, Any]:
    """The trainer config (without `job` and `seed`) with every default filled in."""
    schema = load_schema(TRAINER_CONFIG_SCHEMA)
    config: dict[str, Any] = {
        "apiVersion": schema["properties"]["apiVersion"]["const"],
        "kind": schema["properties"]["kind"]["const"],
        **copy.deepcopy(dict(training)),
    }
    for key in _ALWAYS_PRESENT:
        config.setdefault(key, {})
    _fill(config, schema)
    federated = config.get("federated")
    if federated is not None:
        _merge(federated["strategy"], STRATEGY_DEFAULTS)
        _merge(federated["partition"], PARTITION_DEFAULTS)
        if "clientBehaviour" in federated:
            federated["clientBehaviour"] = complete_behaviour(federated["clientBehaviour"])
    if "scheduler" in config:
        _merge(config["scheduler"], SCHEDULER_DEFAULTS)
        if config["scheduler"]["name"] == "cosine":
            steps = federated["rounds"] if federated else config["distributed"]["epochs"]
            config["scheduler"].setdefault("tMax", steps)
    return config


def _merge(block: dict[str, Any], table: Mapping[str, Mapping[str, Any]]) -> None:
    for key, value in table[block["name"]].items():
        block.setdefault(key, value)


def _fill(value: dict[str, Any], schema: Mapping[str, Any]) -> None:
    """Write schema `default`s into `value` (in place), recursing into present objects."""
    for key, sub in schema.get("properties", {}).items():
        if key not in value:
            if "default" in sub:
                value[key] = sub["default"]
        elif isinstance(value[key], dict) and "properties" in sub:
            _fill(value[key], sub)
