"""Defaults of `federated.clientBehaviour`, shared by the compiler (written out) and the trainer.

Sources: FedScale (Lai et al. 2022) for 5 ms per sample on the reference device and its 1.3
over-commitment as the usual choice (the default stays 1: no over-selection unless asked).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

BEHAVIOUR_DEFAULTS: dict[str, Any] = {
    "secondsPerSample": 0.005,
    "minResponses": 1,
    "onTooFew": "skip",
    "overSelection": 1.0,
}
REPEAT_DEFAULTS: dict[str, Any] = {"maxAttempts": 3}  # with onTooFew repeat only
SPEED_DEFAULTS: dict[str, dict[str, Any]] = {
    "constant": {"factor": 1.0},
    "uniform": {},
    "lognormal": {"mu": 0.0, "sigma": 0.5},
    "zipf": {"exponent": 2.0, "max": 100.0},
    "trace": {},
    "table": {},
}


def complete_behaviour(block: Mapping[str, Any]) -> dict[str, Any]:
    """`block` with every default written out (a new dict; the input is left alone). Tolerant
    of invalid input, as contract.defaults is: what it cannot read is left for the schema."""
    out = {**BEHAVIOUR_DEFAULTS, **copy.deepcopy(dict(block))}
    if out["onTooFew"] == "repeat":
        out = {**REPEAT_DEFAULTS, **out}
    speed = out.get("speed")
    if isinstance(speed, dict):
        groups = speed.get("groups")
        for group in groups if isinstance(groups, list) else []:
            _speed(group.get("speed") if isinstance(group, dict) else None)
        _speed(speed)
    return out


def _speed(speed: Any) -> None:
    if isinstance(speed, dict) and isinstance(speed.get("distribution"), str):
        for key, value in SPEED_DEFAULTS.get(speed["distribution"], {}).items():
            speed.setdefault(key, value)
