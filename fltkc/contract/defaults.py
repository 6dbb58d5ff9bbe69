"""Resolve trainer fields into a complete trainer config (every default written out)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from fltkc.contract.behaviour import complete_behaviour
from fltkc.contract.catalog import CHOICES, STEPS
from fltkc.contract.datafiles import TRAINER_CONFIG_SCHEMA, load_schema

# Optional sub-objects whose fields all have defaults: written out so the config is complete.
_ALWAYS_PRESENT = ("evaluation", "checkpoint", "rendezvous")


def complete_config(training: Mapping[str, Any]) -> dict[str, Any]:
    """The trainer config with every default filled in: the schema's plain defaults, then each
    named choice's parameters from the catalog. The compiler fills a task's trainer fields and
    the trainer fills the config it reads, so both see the same values; a complete config comes
    back unchanged. Tolerant of invalid input (a sweep point not yet validated): what it cannot
    read it leaves for the schema to report."""
    schema = load_schema(TRAINER_CONFIG_SCHEMA)
    config: dict[str, Any] = {
        "apiVersion": schema["properties"]["apiVersion"]["const"],
        "kind": schema["properties"]["kind"]["const"],
        **copy.deepcopy(dict(training)),
    }
    for key in _ALWAYS_PRESENT:
        config.setdefault(key, {})
    _fill(config, schema)
    for path, choices in CHOICES.items():
        block = _block(config, path)
        if block is None:
            continue
        for key, value in choices.get(block["name"], {}).items():
            if value is STEPS:
                value = _steps(config)
            if key not in block and value is not None:
                block[key] = copy.deepcopy(value)
    federated = config.get("federated")
    if isinstance(federated, dict) and isinstance(federated.get("clientBehaviour"), dict):
        federated["clientBehaviour"] = complete_behaviour(federated["clientBehaviour"])
    return config


def _block(config: Mapping[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    value: Any = config
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value
    return None


def _steps(config: Mapping[str, Any]) -> Any:
    """Rounds or epochs, whichever the mode runs; None (and so no default) when unreadable."""
    mode = config.get("mode")
    mode = mode if isinstance(mode, str) else ""
    field = {"federated": "rounds", "distributed": "epochs"}.get(mode)
    block = config.get(mode) if field is not None else None
    return block.get(field) if isinstance(block, Mapping) else None


def _fill(value: dict[str, Any], schema: Mapping[str, Any]) -> None:
    """Write schema `default`s into `value` (in place), recursing into present objects."""
    for key, sub in schema.get("properties", {}).items():
        if key not in value:
            if "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        elif isinstance(value[key], dict) and "properties" in sub:
            _fill(value[key], sub)
