"""Load the job's trainer config, validate it against the shared schema and apply its defaults."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from fltkc.contract.datafiles import TRAINER_CONFIG_SCHEMA, load_schema
from fltkc.contract.env import TrainerEnv
from trainer.errors import UsageError

# Fields the schema leaves optional but a particular choice needs; the compiler resolves them.
CHOICE_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "federated.strategy": {
        "fedprox": ("mu",),
        "fedadam": ("serverLr", "beta1", "beta2", "tau"),
        "fedyogi": ("serverLr", "beta1", "beta2", "tau"),
        "fedadagrad": ("serverLr", "beta1", "tau"),
        "fedtrimmedavg": ("trimFraction",),
    },
    "scheduler": {
        "step": ("stepSize", "gamma"),
        "exponential": ("gamma",),
        "cosine": ("tMax",),
    },
}


@dataclass(frozen=True)
class FederatedConfig:
    rounds: int
    clients: int
    clients_per_round: int
    local_epochs: int
    strategy: Mapping[str, Any]
    partition: Mapping[str, Any]
    client_behaviour: Mapping[str, Any] | None = None
    held_out_fraction: float | None = None


@dataclass(frozen=True)
class TrainerConfig:
    """The validated config with its defaults applied; `raw` is that same JSON object."""

    raw: Mapping[str, Any]
    fingerprint: str
    seed: int
    mode: str
    device: str
    dataset: Mapping[str, Any]
    model: str
    batch_size: int
    test_batch_size: int
    optimizer: Mapping[str, Any]
    scheduler: Mapping[str, Any]
    loss: str
    epochs: int
    federated: FederatedConfig | None
    eval_every: int
    checkpoint_every: int
    checkpoint_enabled: bool
    rendezvous_timeout: int

    @property
    def steps(self) -> int:
        """Rounds (federated) or epochs (distributed) to run."""
        return self.federated.rounds if self.federated is not None else self.epochs


def apply_defaults(instance: dict[str, Any], schema: Mapping[str, Any]) -> None:
    """Fill the schema's `default`s in place; an absent object with no required fields is
    created when something inside it has a default (evaluation, checkpoint, rendezvous)."""
    for name, sub in schema.get("properties", {}).items():
        if name not in instance:
            if "default" in sub:
                instance[name] = copy.deepcopy(sub["default"])
            elif sub.get("type") == "object" and not sub.get("required") and _has_default(sub):
                instance[name] = {}
        if isinstance(instance.get(name), dict) and sub.get("type") == "object":
            apply_defaults(instance[name], sub)


def _has_default(schema: Mapping[str, Any]) -> bool:
    return any("default" in sub for sub in schema.get("properties", {}).values())


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the trainer config ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: the trainer config must be a JSON object")
    return data


def _validate(path: Path, data: dict[str, Any]) -> None:
    schema = load_schema(TRAINER_CONFIG_SCHEMA)
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise UsageError(f"{path}: {error.json_path}: {error.message}")


def _check_choices(path: Path, data: Mapping[str, Any]) -> None:
    for where, choices in CHOICE_FIELDS.items():
        section: Any = data
        for key in where.split("."):
            section = section.get(key, {}) if isinstance(section, Mapping) else {}
        for field in choices.get(section.get("name", ""), ()):
            if field not in section:
                raise UsageError(
                    f"{path}: $.{where}.{field} is required when $.{where}.name is "
                    f"{section['name']!r}; add it to the config"
                )


def _check_semantics(path: Path, data: Mapping[str, Any], env: TrainerEnv) -> None:
    from trainer.models import DATASET_OF_MODEL

    if data["seed"] != env.seed:
        raise UsageError(
            f"{path}: $.seed is {data['seed']} but FLTK_SEED is {env.seed}; they must be equal"
        )
    model, dataset = data["model"]["name"], data["dataset"]["name"]
    if DATASET_OF_MODEL[model] != dataset:
        raise UsageError(
            f"{path}: $.model.name {model!r} trains on {DATASET_OF_MODEL[model]!r}, "
            f"not $.dataset.name {dataset!r}; pick a matching pair"
        )
    fed = data.get("federated", {})
    if data["mode"] == "federated" and fed["clientsPerRound"] > fed["clients"]:
        raise UsageError(
            f"{path}: $.federated.clientsPerRound ({fed['clientsPerRound']}) is more than "
            f"$.federated.clients ({fed['clients']}); lower it or raise clients"
        )
    if data["mode"] == "federated":
        _check_federated(path, data["dataset"]["name"], fed)
    opt = data["optimizer"]
    if opt.get("nesterov") and opt["name"] == "sgd" and opt.get("momentum", 0) <= 0:
        raise UsageError(f"{path}: $.optimizer.nesterov needs $.optimizer.momentum above 0")
    _check_choices(path, data)


def _check_federated(path: Path, dataset: str, fed: Mapping[str, Any]) -> None:
    """What the compiler's rules_federated refuses, for a config written by hand."""
    from trainer.data.partition import NATURAL

    name = fed["partition"]["name"]
    if (name == NATURAL) != (dataset == "reddit") and name != "iid":
        raise UsageError(
            f"{path}: $.federated.partition.name {name!r} does not fit dataset {dataset!r}: "
            "reddit takes natural or iid, the other datasets every partition but natural"
        )
    block = fed.get("clientBehaviour", {})
    if block.get("minResponses", 1) > fed["clientsPerRound"]:
        raise UsageError(
            f"{path}: $.federated.clientBehaviour.minResponses is more than "
            "$.federated.clientsPerRound; lower it"
        )
    speed, availability = block.get("speed", {}), block.get("availability", {})
    if speed.get("distribution") == "trace" or availability.get("model") == "trace":
        raise UsageError(
            f"{path}: $.federated.clientBehaviour names a trace file; fltkc build turns it into "
            "a table (speed distribution table, availability model windows): build the config"
        )
    sizes = [len(speed[k]) for k in ("computeMsPerSample", "bandwidthKbps") if k in speed]
    if availability.get("model") == "windows":
        sizes.append(len(availability["clients"]))
    if any(n != fed["clients"] for n in sizes):
        raise UsageError(
            f"{path}: $.federated.clientBehaviour: each table needs one entry per client "
            f"({fed['clients']})"
        )


def load_config(path: Path, env: TrainerEnv) -> TrainerConfig:
    """Read, validate against schemas/trainer-config.schema.json and default the job's config."""
    data = _read(path)
    _validate(path, data)
    apply_defaults(data, load_schema(TRAINER_CONFIG_SCHEMA))
    _check_semantics(path, data, env)
    return _build(data)


def _build(data: dict[str, Any]) -> TrainerConfig:
    fed = data.get("federated") if data["mode"] == "federated" else None
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return TrainerConfig(
        raw=data,
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest(),
        seed=data["seed"],
        mode=data["mode"],
        device=data["device"],
        dataset=data["dataset"],
        model=data["model"]["name"],
        batch_size=data["batchSize"],
        test_batch_size=data["testBatchSize"],
        optimizer=data["optimizer"],
        scheduler=data.get("scheduler", {"name": "none"}),
        loss=data["loss"],
        epochs=data["distributed"]["epochs"] if data["mode"] == "distributed" else 0,
        federated=None
        if fed is None
        else FederatedConfig(
            rounds=fed["rounds"],
            clients=fed["clients"],
            clients_per_round=fed["clientsPerRound"],
            local_epochs=fed["localEpochs"],
            strategy=fed["strategy"],
            partition=fed["partition"],
            client_behaviour=fed.get("clientBehaviour"),
            held_out_fraction=fed.get("clientEvaluation", {}).get("heldOutFraction"),
        ),
        eval_every=data["evaluation"]["every"],
        checkpoint_every=data["checkpoint"]["every"],
        checkpoint_enabled=data["checkpoint"]["enabled"],
        rendezvous_timeout=data["rendezvous"]["timeoutSeconds"],
    )
