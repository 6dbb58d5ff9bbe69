"""Workload mixtures: streams whose arrivals draw task and priority class, seeded; their objects."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from compiler_support import EXAMPLES_DIR
from typer.testing import CliRunner

from fltkc import contract
from fltkc.cli import app
from fltkc.compile.build import build_files, plan_file
from fltkc.compile.expand import Plan
from fltkc.errors import CompileError

MIXTURE = yaml.safe_load((EXAMPLES_DIR / "mixture.yaml").read_text())


def _plan(tmp_path: Path, doc: dict[str, Any]) -> Plan:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return plan_file(path)


def _with(**spec: Any) -> dict[str, Any]:
    doc = copy.deepcopy(MIXTURE)
    doc["spec"].update(spec)
    return doc


def _stream(count: int, **extra: Any) -> dict[str, Any]:
    stream = copy.deepcopy(MIXTURE["spec"]["streams"][0])
    stream["arrivals"] = {"process": "poisson", "rate": 10, "per": "second", "count": count}
    return {**stream, **extra}


def test_draws_follow_the_weights(tmp_path: Path) -> None:
    n = 4000
    jobs = _plan(tmp_path, _with(streams=[_stream(n)])).jobs
    assert len(jobs) == n and {j.stream for j in jobs} == {"mix"}
    # Binomial(4000, 0.3): sd 29; a seeded draw lands within 4 sd of the mean.
    ddp = sum(j.task == "ddp" for j in jobs)
    high = sum(j.priority == "high" for j in jobs)
    assert abs(ddp - 0.3 * n) < 4 * math.sqrt(n * 0.3 * 0.7), ddp
    assert abs(high - 0.2 * n) < 4 * math.sqrt(n * 0.2 * 0.8), high
    assert [j.offset_seconds for j in jobs] == sorted(j.offset_seconds for j in jobs)


def test_the_same_seed_draws_the_same_jobs_and_priority_leaves_tasks_alone(tmp_path: Path) -> None:
    def drawn(doc: dict[str, Any]) -> list[tuple[str, str, str | None, float, int]]:
        plan = _plan(tmp_path, doc)
        return [(j.name, j.task, j.priority, j.offset_seconds, j.seed) for j in plan.jobs]

    first = drawn(MIXTURE)
    assert first == drawn(MIXTURE)
    without = copy.deepcopy(MIXTURE)
    del without["spec"]["streams"][0]["priority"]
    plain = drawn(without)
    assert [(n, t, o, s) for n, t, _, o, s in plain] == [(n, t, o, s) for n, t, _, o, s in first]
    assert {p for _, _, p, _, _ in plain} == {None}
    reseeded = copy.deepcopy(MIXTURE)
    reseeded["spec"]["seed"] = 5
    assert drawn(reseeded) != first


def test_the_example_draws_as_its_dry_run_shows() -> None:
    out = CliRunner().invoke(app, ["build", str(EXAMPLES_DIR / "mixture.yaml"), "--dry-run"])
    assert out.exit_code == 0, out.output
    header, *rows = out.output.splitlines()[1:]
    assert header.split()[-2:] == ["STREAM", "PRIORITY"]
    drawn = [(r.split()[1], r.split()[2], r.split()[-1]) for r in rows]
    assert drawn == [
        ("mixture-mix-a0", "ddp", "low"),
        ("mixture-mix-a1", "ddp", "low"),
        ("mixture-mix-a2", "fed", "low"),
        ("mixture-mix-a3", "fed", "low"),
        ("mixture-mix-a4", "fed", "high"),
        ("mixture-mix-a5", "fed", "low"),
        ("mixture-mix-a6", "fed", "high"),
        ("mixture-mix-a7", "ddp", "low"),
    ]


def _objects(plan: Plan) -> dict[str, dict[str, Any]]:
    return {name: yaml.safe_load(text) for name, text in build_files(plan).items()}


def test_priority_reaches_pods_kueue_and_the_local_runner(tmp_path: Path) -> None:
    objects = _objects(_plan(tmp_path, MIXTURE))
    job = objects["pytorchjob-mixture-mix-a4.yaml"]
    meta = job["metadata"]
    assert meta["labels"][contract.LABEL_KUEUE_PRIORITY] == "high"
    assert meta["annotations"][contract.ANNOTATION_PRIORITY] == "1000"
    for replica in job["spec"]["pytorchReplicaSpecs"].values():
        assert replica["template"]["spec"]["priorityClassName"] == "high"
    config = json.loads(objects["configmap-mixture-mix-a4-config.yaml"]["data"]["config.json"])
    assert config["job"] == {
        "experiment": "mixture", "task": "fed", "name": "mixture-mix-a4", "repetition": 0,
        "stream": "mix", "priority": "high",
    }  # fmt: skip
    # high is created (both kinds, under Kueue); low is the cluster's own: referenced only.
    assert objects["priorityclass-high.yaml"]["value"] == 1000
    assert objects["workloadpriorityclass-high.yaml"]["value"] == 1000
    assert "priorityclass-low.yaml" not in objects
    low = objects["pytorchjob-mixture-mix-a0.yaml"]
    assert low["metadata"]["annotations"][contract.ANNOTATION_PRIORITY] == "10"


def test_without_kueue_no_workload_priority_class_and_no_kueue_label(tmp_path: Path) -> None:
    doc = copy.deepcopy(MIXTURE)
    del doc["spec"]["kueue"]
    objects = _objects(_plan(tmp_path, doc))
    assert "priorityclass-high.yaml" in objects
    assert not any(name.startswith("workloadpriorityclass-") for name in objects)
    labels = objects["pytorchjob-mixture-mix-a4.yaml"]["metadata"]["labels"]
    assert contract.LABEL_KUEUE_PRIORITY not in labels


def test_a_mixed_task_with_its_own_arrivals_also_runs_on_its_own(tmp_path: Path) -> None:
    doc = copy.deepcopy(MIXTURE)
    doc["spec"]["tasks"][1]["arrivals"] = {"process": "fixed", "offsetsSeconds": [0, 5]}
    names = [j.name for j in _plan(tmp_path, doc).jobs]
    assert names[:2] == ["mixture-ddp-a0", "mixture-ddp-a1"] and len(names) == 10


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["spec"]["streams"][0]["mix"].append({"task": "gone"}),
            "spec.streams[0].mix[2].task: unknown task 'gone'; tasks: ddp, fed",
        ),
        (
            lambda d: d["spec"]["streams"][0]["priority"].append({"class": "urgent"}),
            "spec.streams[0].priority[2].class: unknown priority class 'urgent'; "
            "declare it in spec.priorityClasses",
        ),
        (
            lambda d: d["spec"]["tasks"][0].update(sweep={"grid": {"optimizer.lr": [0.1, 0.2]}}),
            "spec.streams[0].mix[0].task: task fed has a sweep; a mixed task runs one job per "
            "arrival: drop its sweep",
        ),
        (
            lambda d: d["spec"]["streams"][0].update(name="fed"),
            "spec.streams[0].name: fed is also a task name; rename the stream",
        ),
    ],
)
def test_bad_references_are_positioned_diagnostics(tmp_path: Path, change, message) -> None:
    doc = copy.deepcopy(MIXTURE)
    change(doc)
    with pytest.raises(CompileError) as caught:
        _plan(tmp_path, doc)
    lines = [str(d) for d in caught.value.diagnostics]
    assert any(line.endswith(message) for line in lines), lines


def test_the_schema_refuses_a_zero_weight_and_an_out_of_range_value(tmp_path: Path) -> None:
    doc = copy.deepcopy(MIXTURE)
    doc["spec"]["streams"][0]["mix"][0]["weight"] = 0
    doc["spec"]["priorityClasses"]["high"]["value"] = 2_000_000_000
    with pytest.raises(CompileError) as caught:
        _plan(tmp_path, doc)
    paths = " ".join(str(d) for d in caught.value.diagnostics)
    assert "spec.streams[0].mix[0].weight" in paths and "spec.priorityClasses.high.value" in paths
