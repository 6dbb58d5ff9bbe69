"""fltkc results on a hand-made run: the table, the CSV and the PNG plots."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from run_support import make_app
from typer.testing import CliRunner

from fltkc import contract
from fltkc.results import load_run, summarize

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _job_dir(root: Path, name: str, kind: str, accuracies: list[float], result: bool) -> Path:
    job = root / name
    job.mkdir(parents=True)
    lines = [
        json.dumps(
            {
                "kind": kind,
                "step": i + 1,
                "loss": 2.0 - acc,
                "accuracy": acc,
                "trainLoss": 2.1 - acc,
                "seconds": 1.5,
                "bytes": 100,
                "lr": 0.1,
                "time": i,
            }
        )
        for i, acc in enumerate(accuracies)
    ]
    # A torn last line, as when the trainer is killed mid-write, is skipped.
    (job / contract.METRICS_FILE).write_text("\n".join(lines) + '\n{"kind": "ro')
    if result:
        summary: dict[str, Any] = {
            "job": name,
            "mode": "federated",
            "status": "completed",
            "finalAccuracy": accuracies[-1],
            "bestAccuracy": max(accuracies),
            "finalLoss": 2.0 - accuracies[-1],
            "steps": len(accuracies),
            "wallSeconds": 12.5,
            "bytes": 123456,
            "seed": 3,
        }
        (job / contract.RESULT_FILE).write_text(json.dumps(summary))
    return job


def _run_json(root: Path) -> None:
    def job(name: str, task: str, start: float, end: float | None, status: str) -> dict[str, Any]:
        return {
            "name": name,
            "task": task,
            "replicas": 2,
            "arrivalOffset": start * 10,
            "scheduledStart": start,
            "start": start + 0.5,
            "end": end,
            "status": status,
            "restarts": 1 if status == "failed" else 0,
            "logDir": f"volumes/logs/{name}",
            "logs": {},
            "processes": [],
        }

    record = {
        "experiment": "exp",
        "slots": 2,
        "status": "failed",
        "elapsedSeconds": 9.0,
        "jobs": [
            job("fed-0", "fed", 0.0, 4.0, "succeeded"),
            job("fed-1", "fed", 1.0, 6.0, "failed"),
            job("ddp-0", "ddp", 2.0, 9.0, "succeeded"),
        ],
    }
    (root / "run.json").write_text(json.dumps(record))


def test_table_csv_and_plots_of_a_local_run(tmp_path: Path):
    volume = tmp_path / "volumes" / "logs"
    _job_dir(volume, "fed-0", "round", [0.3, 0.7, 0.6], result=True)
    _job_dir(volume, "fed-1", "round", [0.2, 0.4], result=False)
    _job_dir(volume, "ddp-0", "epoch", [0.5, 0.9], result=True)
    _run_json(tmp_path)
    out = CliRunner().invoke(make_app(), ["results", str(tmp_path)])
    assert out.exit_code == 0, out.output
    header, *lines = out.output.splitlines()[:4]
    assert header.split() == [
        "job",
        "task",
        "mode",
        "status",
        "steps",
        "final_accuracy",
        "best_accuracy",
        "final_loss",
        "wall_seconds",
        "bytes",
        "restarts",
    ]
    assert lines[0].split() == [
        "fed-0",
        "fed",
        "federated",
        "succeeded",
        "3",
        "0.6000",
        "0.7000",
        "1.4000",
        "12.5",
        "123456",
        "0",
    ]
    # No result.json: figures from metrics.jsonl, wall time from run.json.
    assert lines[1].split() == [
        "fed-1",
        "fed",
        "-",
        "failed",
        "2",
        "0.4000",
        "0.4000",
        "1.6000",
        "4.5",
        "200",
        "1",
    ]
    with (tmp_path / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["job"] for r in rows] == ["fed-0", "fed-1", "ddp-0"]
    assert float(rows[2]["best_accuracy"]) == 0.9 and rows[1]["mode"] == ""
    plots = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert plots == [
        "accuracy-ddp.png",
        "accuracy-fed.png",
        "task-ddp.png",
        "task-fed.png",
        "timeline.png",
        "utilisation.png",
    ]
    for name in plots:
        data = (tmp_path / "plots" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


def test_a_logs_volume_copied_off_the_cluster_needs_no_run_json(tmp_path: Path):
    _job_dir(tmp_path, "fed-0", "round", [0.3, 0.7], result=True)
    _job_dir(tmp_path / "nested", "fed-1", "round", [0.1, 0.2, 0.8], result=False)
    results = load_run(tmp_path)
    assert [j.name for j in results.jobs] == ["fed-0", "fed-1"]
    rows = [summarize(job) for job in results.jobs]
    assert [(r.steps, r.best_accuracy, r.status) for r in rows] == [
        (2, 0.7, "completed"),
        (3, 0.8, "incomplete"),
    ]
    out = CliRunner().invoke(make_app(), ["results", str(tmp_path), "--plots", str(tmp_path / "p")])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "accuracy-all.png",
        "task-all.png",
    ]


def test_a_directory_without_metrics_is_an_error(tmp_path: Path):
    out = CliRunner().invoke(make_app(), ["results", str(tmp_path)])
    assert out.exit_code == 2
    assert "no metrics.jsonl, result.json or run.json found" in out.output


def test_federated_clients_partition_and_simulated_time_are_drawn(tmp_path: Path):
    job = _job_dir(tmp_path, "fed-0", "round", [0.3, 0.7, 0.8], result=True)
    metrics = [
        json.loads(line) for line in (job / contract.METRICS_FILE).read_text().split("\n")[:3]
    ]
    for i, record in enumerate(metrics):
        record |= {
            "simulatedSeconds": 10.0,
            "simulatedTime": 10.0 * (i + 1),
            "attempts": 1,
            "skipped": False,
        }
    (job / contract.METRICS_FILE).write_text("".join(json.dumps(m) + "\n" for m in metrics))
    statuses = ["aggregated", "aggregated", "late", "dropped"]
    clients = [
        {"round": r, "attempt": 0, "client": c, "status": s, "simulatedSeconds": 1.0 + c,
         "accuracy": 0.5 + 0.1 * c if s == "aggregated" else None}
        for r in (1, 2, 3) for c, s in enumerate(statuses)
    ]  # fmt: skip
    (job / contract.CLIENTS_FILE).write_text("".join(json.dumps(c) + "\n" for c in clients))
    partition = {
        "clients": [
            {"client": 0, "size": 5, "histogram": {"0": 3, "1": 2}},
            {"client": 1, "size": 4, "histogram": {"2": 4}},
        ],
        "summary": {"clients": 2},
    }
    (job / contract.PARTITION_FILE).write_text(json.dumps(partition))
    [loaded] = load_run(tmp_path).jobs
    assert len(loaded.clients) == 12 and loaded.partition == partition
    assert loaded.values("accuracy", x="simulatedTime") == [(10.0, 0.3), (20.0, 0.7), (30.0, 0.8)]
    out = CliRunner().invoke(make_app(), ["results", str(tmp_path)])
    assert out.exit_code == 0, out.output
    plots = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert plots == [
        "accuracy-all.png",
        "task-all-clients.png",
        "task-all-partition.png",
        "task-all.png",
    ]
    for name in plots:
        assert (tmp_path / "plots" / name).read_bytes().startswith(PNG_SIGNATURE)


def test_without_matplotlib_the_table_and_csv_still_come(tmp_path: Path, monkeypatch):
    _job_dir(tmp_path, "fed-0", "round", [0.3, 0.7], result=True)
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    out = CliRunner().invoke(make_app(), ["results", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[1].split()[0] == "fed-0"
    assert (tmp_path / "results.csv").is_file() and not (tmp_path / "plots").exists()
    assert out.output.splitlines()[-1] == (
        "no plots: matplotlib is not installed; pip install 'fltkc[results]' draws them"
    )
