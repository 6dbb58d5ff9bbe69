"""Fixtures for tests/run; the helpers they share live in run_support.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from run_support import WriteOut, config_map, job_manifest


@pytest.fixture
def write_out(tmp_path: Path) -> WriteOut:
    """write_out([(name, workers, arrival, standin config, {job options}), ...]) -> out dir."""

    def write(jobs: list[tuple[str, int, float, dict[str, Any], dict[str, Any]]]) -> Path:
        out = tmp_path / "out"
        out.mkdir()
        for name, workers, arrival, standin, options in jobs:
            docs = [job_manifest(name, workers, arrival, **options), config_map(name, standin)]
            (out / f"{name}.yaml").write_text(yaml.safe_dump_all(docs), encoding="utf-8")
        (out / "kustomization.yaml").write_text(
            yaml.safe_dump(
                {"kind": "Kustomization", "resources": sorted(p.name for p in out.iterdir())}
            )
        )
        return out

    return write
