"""Small pieces: quantities, tolerations, the schema copy of the trainer fields, defaults."""

from __future__ import annotations

import pytest

from fltkc.compile.experiment import TRAINING_KEYS, resolve_hardware, toleration
from fltkc.compile.quantity import canonicalize
from fltkc.contract.datafiles import EXPERIMENT_SCHEMA, TRAINER_CONFIG_SCHEMA, load_schema
from fltkc.contract.defaults import complete_config


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("1000m", "1"),
        ("0.5", "500m"),
        ("1.5", "1500m"),
        (2, "2"),
        (0.25, "250m"),
        ("1.5Gi", "1536Mi"),
        ("2048Mi", "2Gi"),
        ("0.5Ki", "512"),
        ("1000", "1k"),
        ("1e3", "1e3"),
        ("1.5e3", "1500"),
        ("10G", "10G"),
        ("0.1n", "1n"),
        ("0m", "0"),
        ("128974848", "128974848"),
    ],
)
def test_quantities_print_as_kubernetes_does(given: str | int | float, canonical: str) -> None:
    assert canonicalize(given) == canonical


@pytest.mark.parametrize("bad", ["2GB", "1.2.3", "-1", "Gi", "", "1 Gi", True])
def test_malformed_quantities_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError):
        canonicalize(bad)  # type: ignore[arg-type]


def test_toleration_forms() -> None:
    assert toleration("fltk.node:NoSchedule") == {
        "effect": "NoSchedule",
        "key": "fltk.node",
        "operator": "Exists",
    }
    assert toleration("fltk.node=normal:NoSchedule") == {
        "effect": "NoSchedule",
        "key": "fltk.node",
        "operator": "Equal",
        "value": "normal",
    }
    assert toleration({"key": "a", "value": "b"})["operator"] == "Equal"


def test_gpus_go_into_requests_and_limits() -> None:
    hw = resolve_hardware("g", {"g": {"requests": {"cpu": "1000m"}, "gpus": {"count": 2}}})
    assert hw.requests == {"cpu": "1", "nvidia.com/gpu": "2"}
    assert hw.limits == {"nvidia.com/gpu": "2"}
    assert hw.tolerations == ({"effect": "NoSchedule", "key": "fltk.node", "operator": "Exists"},)


def test_unknown_profile_lists_the_defined_ones() -> None:
    with pytest.raises(KeyError, match="defined: a, b"):
        resolve_hardware("c", {"b": {}, "a": {}})


def test_experiment_schema_copies_the_trainer_fields_exactly() -> None:
    experiment, trainer = load_schema(EXPERIMENT_SCHEMA), load_schema(TRAINER_CONFIG_SCHEMA)
    for key in TRAINING_KEYS:
        if key == "mode":
            assert (
                experiment["$defs"]["task"]["properties"]["mode"] == trainer["properties"]["mode"]
            )
        else:
            assert experiment["$defs"][key] == trainer["properties"][key], key
    assert experiment["$defs"]["task"]["allOf"] == trainer["allOf"]


def test_complete_config_fills_defaults_without_touching_the_input() -> None:
    training = {
        "mode": "federated",
        "dataset": {"name": "mnist"},
        "model": {"name": "mnist-cnn"},
        "batchSize": 8,
        "optimizer": {"name": "adam", "lr": 0.1},
        "loss": "nll",
        "scheduler": {"name": "cosine"},
        "federated": {
            "rounds": 7,
            "clients": 4,
            "clientsPerRound": 2,
            "localEpochs": 1,
            "strategy": {"name": "fedyogi"},
            "partition": {"name": "shards"},
        },
    }
    config = complete_config(training)
    assert config["federated"]["strategy"] == {
        "name": "fedyogi",
        "serverLr": 0.01,
        "beta1": 0.9,
        "beta2": 0.99,
        "tau": 1e-3,
    }
    assert config["federated"]["partition"]["shardsPerClient"] == 2
    assert config["scheduler"]["tMax"] == 7
    assert config["dataset"]["source"] == "files"
    assert config["rendezvous"] == {"timeoutSeconds": 600}
    assert training["optimizer"] == {"name": "adam", "lr": 0.1}
