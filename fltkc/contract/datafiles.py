"""Locate the schemas and templates, whether running from a checkout or an installed wheel."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parents[1]  # fltkc/


def resource_dir(name: str) -> Path:
    """`schemas` or `templates`: inside the wheel (fltkc/_data) or at the top of a checkout."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"fltkc resource directory {name!r} is missing from the install")


@cache
def load_schema(file_name: str) -> dict[str, Any]:
    """A JSON Schema from schemas/, parsed once per process."""
    with (resource_dir("schemas") / file_name).open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


TRAINER_CONFIG_SCHEMA = "trainer-config.schema.json"
EXPERIMENT_SCHEMA = "experiment.schema.json"
