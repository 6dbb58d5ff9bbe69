"""What a trainer config must meet beyond its schema: the compiler and the trainer refuse it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fltkc.contract.catalog import (
    CHOICES,
    COMMON_FIELDS,
    DATASETS,
    MODELS,
    SOURCES,
    datasets_for,
    describe,
    train_samples,
)
from fltkc.contract.checks_federated import federated_issues

Where = tuple[str | int, ...]
Issue = tuple[Where, str]  # a path inside the config (a task's trainer fields alike), a message


def config_issues(config: Mapping[str, Any]) -> list[Issue]:
    """Every problem of a schema-valid config completed by `contract.defaults.complete_config`."""
    issues = _mode_issues(config) + _data_issues(config)
    for path, choices in CHOICES.items():
        block = _block(config, path)
        if block is not None:
            issues += _param_issues(path, block, choices)
    optimizer = config["optimizer"]
    if optimizer.get("nesterov") and not optimizer.get("momentum"):
        issues.append((("optimizer", "nesterov"), "needs momentum > 0; set optimizer.momentum"))
    if config["mode"] == "federated" and "federated" in config:
        issues += _federated_issues(config["federated"], config["dataset"])
        issues += federated_issues(config["federated"], config["dataset"])
    return issues


def _block(config: Mapping[str, Any], path: Where) -> Mapping[str, Any] | None:
    value: Any = config
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else None


def _mode_issues(config: Mapping[str, Any]) -> list[Issue]:
    mode = config["mode"]
    other = "distributed" if mode == "federated" else "federated"
    if other in config:
        return [((other,), f"applies only to mode {other}; remove it (mode is {mode})")]
    return []


def _data_issues(config: Mapping[str, Any]) -> list[Issue]:
    model, dataset = config["model"]["name"], config["dataset"]["name"]
    issues: list[Issue] = []
    fits = datasets_for(model)
    if dataset not in fits:
        want, have = MODELS[model], DATASETS[dataset]
        message = (
            f"model {model} ({describe(want.shape, want.classes)}) does not fit dataset "
            f"{dataset} ({describe(have.shape, have.classes)}); use a dataset of: {', '.join(fits)}"
        )
        issues.append((("model", "name"), message))
    source = config["dataset"].get("source", "files")
    holds = SOURCES[source].datasets
    if holds is not None and dataset not in holds:
        others = " or ".join(s for s, v in SOURCES.items() if v.datasets is None)
        message = f"{source} bundles {' and '.join(holds)} only, not {dataset}; use {others}"
        issues.append((("dataset", "source"), message))
    return issues


def _param_issues(
    path: tuple[str, ...], block: Mapping[str, Any], choices: Mapping[str, Any]
) -> list[Issue]:
    name = block["name"]
    issues: list[Issue] = []
    for key in block:
        if key in COMMON_FIELDS[path] or key in choices.get(name, {}):
            continue
        owners = [choice for choice, params in choices.items() if key in params]
        issues.append(
            ((*path, key), f"applies only to {' or '.join(owners)}, not {name}; remove it")
        )
    return issues


def _federated_issues(fed: Mapping[str, Any], dataset: Mapping[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    clients = fed["clients"]
    if fed["clientsPerRound"] > clients:
        message = (
            f"{fed['clientsPerRound']} is more than clients ({clients}); lower it or raise clients"
        )
        issues.append((("federated", "clientsPerRound"), message))
    samples, partition = train_samples(dataset), fed["partition"]
    # Data with users takes natural or iid only (checks_federated); neither cuts by label.
    by_user = DATASETS[dataset["name"]].by_user
    if samples is not None and clients > samples.count:
        message = (
            f"{clients} is more than the {samples.count} training samples {samples.origin}; "
            "each client needs at least one, so lower clients"
        )
        issues.append((("federated", "clients"), message))
    elif samples is not None and partition["name"] == "shards" and not by_user:
        shards = clients * partition["shardsPerClient"]
        if shards > samples.count:
            message = (
                f"{clients} clients x {partition['shardsPerClient']} is {shards} shards, more than "
                f"the {samples.count} training samples {samples.origin}; each shard needs at "
                "least one, so lower shardsPerClient or clients"
            )
            issues.append((("federated", "partition", "shardsPerClient"), message))
    classes = DATASETS[dataset["name"]].classes
    if (
        partition["name"] == "limit-labels"
        and not by_user
        and partition["labelsPerClient"] > classes
    ):
        message = (
            f"{partition['labelsPerClient']} is more than the {classes} labels of "
            f"{dataset['name']}; lower it"
        )
        issues.append((("federated", "partition", "labelsPerClient"), message))
    return issues
