"""What the build planned, read back from its out/: schedule.json, job configs and hardware.

Lenient on purpose: a report is still written from a partial or hand-edited out/; what cannot
be read is left out, never an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fltkc import contract

Record = dict[str, Any]


@dataclass(frozen=True)
class PlannedJob:
    name: str
    task: str
    offset_seconds: float
    replicas: int | None
    config: Record | None = None  # the trainer config from the job's ConfigMap
    roles: dict[str, Record] = field(default_factory=dict)  # Master/Worker -> replicas, resources
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildPlan:
    directory: Path
    experiment: str
    seed: int | None
    jobs: tuple[PlannedJob, ...]  # in schedule order

    def job(self, name: str) -> PlannedJob | None:
        return next((j for j in self.jobs if j.name == name), None)


def _yaml_documents(path: Path) -> list[Record]:
    try:
        docs = yaml.safe_load_all(path.read_text(encoding="utf-8"))
        return [d for d in docs if isinstance(d, dict)]
    except (OSError, yaml.YAMLError):
        return []


def _configs(out_dir: Path) -> dict[str, Record]:
    """Job name -> trainer config, from every ConfigMap that carries a config.json."""
    found: dict[str, Record] = {}
    for path in sorted(out_dir.glob("configmap-*.yaml")):
        for doc in _yaml_documents(path):
            text = (doc.get("data") or {}).get(contract.CONFIG_KEY)
            try:
                config = json.loads(text) if isinstance(text, str) else None
            except json.JSONDecodeError:
                continue
            job = config.get("job") if isinstance(config, dict) else None
            if isinstance(config, dict) and isinstance(job, dict) and job.get("name"):
                found[str(job["name"])] = config
    return found


def _role(spec: Record) -> Record:
    pod = (spec.get("template") or {}).get("spec") or {}
    containers = pod.get("containers") or [{}]
    main = next((c for c in containers if c.get("name") == contract.CONTAINER_NAME), containers[0])
    return {
        "replicas": spec.get("replicas"),
        "resources": main.get("resources") or {},
        "priorityClassName": pod.get("priorityClassName"),
        "nodeSelector": pod.get("nodeSelector") or {},
    }


def _jobs_hardware(out_dir: Path) -> dict[str, tuple[dict[str, Record], dict[str, str]]]:
    """Job name -> (role -> replicas and resources, labels), from the PyTorchJob files."""
    found: dict[str, tuple[dict[str, Record], dict[str, str]]] = {}
    for path in sorted(out_dir.glob("pytorchjob-*.yaml")):
        for doc in _yaml_documents(path):
            meta = doc.get("metadata") or {}
            specs = (doc.get("spec") or {}).get("pytorchReplicaSpecs") or {}
            if meta.get("name") and isinstance(specs, dict):
                roles = {
                    role: _role(spec) for role, spec in specs.items() if isinstance(spec, dict)
                }
                found[str(meta["name"])] = (roles, dict(meta.get("labels") or {}))
    return found


def read_plan(out_dir: Path) -> BuildPlan | None:
    """The build in `out_dir`, or None when it holds no readable schedule.json."""
    try:
        schedule = json.loads((out_dir / contract.SCHEDULE_FILE).read_text(encoding="utf-8"))
        entries = list(schedule["jobs"])
        experiment = str(schedule["experiment"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    configs, hardware = _configs(out_dir), _jobs_hardware(out_dir)
    jobs = []
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry:
            continue
        name = str(entry["name"])
        roles, labels = hardware.get(name, ({}, {}))
        jobs.append(
            PlannedJob(
                name=name,
                task=str(entry.get("task", "")),
                offset_seconds=float(entry.get("offsetSeconds") or 0.0),
                replicas=entry.get("replicas"),
                config=configs.get(name),
                roles=roles,
                labels=labels,
            )
        )
    seed = schedule.get("seed")
    return BuildPlan(out_dir, experiment, seed if isinstance(seed, int) else None, tuple(jobs))
