"""Load the job's trainer config: the shared schema, the contract's defaults and its rules."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from fltkc.contract.checks import config_issues
from fltkc.contract.datafiles import TRAINER_CONFIG_SCHEMA, load_schema
from fltkc.contract.defaults import complete_config
from fltkc.contract.env import TrainerEnv
from trainer.errors import UsageError


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


def _check_semantics(path: Path, data: Mapping[str, Any], env: TrainerEnv) -> None:
    """The contract's rules (fltkc.contract.checks), exactly those the compiler applied."""
    if data["seed"] != env.seed:
        raise UsageError(
            f"{path}: $.seed is {data['seed']} but FLTK_SEED is {env.seed}; they must be equal"
        )
    issues = config_issues(data)
    if issues:  # one line, like the schema's best match; the compiler lists them all
        where, message = issues[0]
        raise UsageError(f"{path}: ${_json_path(where)}: {message}")
    if data["mode"] == "federated":
        _check_tables(path, data["federated"])


def _json_path(where: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where)


def _check_tables(path: Path, fed: Mapping[str, Any]) -> None:
    """The trainer reads no trace file: fltkc build turns each into a per-client table."""
    block = fed.get("clientBehaviour", {})
    speed, availability = block.get("speed", {}), block.get("availability", {})
    if speed.get("distribution") == "trace" or availability.get("model") == "trace":
        raise UsageError(
            f"{path}: $.federated.clientBehaviour names a trace file; fltkc build turns it into "
            "a table (speed distribution table, availability model windows): build the config"
        )


def load_config(path: Path, env: TrainerEnv) -> TrainerConfig:
    """Read, validate against schemas/trainer-config.schema.json, complete with the contract's
    defaults and check against the catalog; torch-free, so the compiler's tests load it too."""
    data = _read(path)
    _validate(path, data)
    data = complete_config(data)
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
