"""Hand-made run directories with known answers, laid out as fltkc run and a cluster leave them.

A local sweep (`local_sweep`): task prox over mu in {0.0, 0.1} x 3 repetitions, one of which
never started, and a one-job task ddp; out/ holds the build, run.json the runner's times. A
cluster copy (`cluster_logs`): release.json and each job's own files, no run.json, no out/.
The expected statistics are worked out by hand in the tests that use them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from fltkc import contract

EXPERIMENT = "sweep"
# name -> (task, mu, repetition, accuracy per round, wall seconds)
SWEEP_JOBS: dict[str, tuple[str, float | None, int, list[float], float]] = {
    "sweep-prox-s0-r0": ("prox", 0.0, 0, [0.5, 0.7, 0.8, 0.80], 10.0),
    "sweep-prox-s0-r1": ("prox", 0.0, 1, [0.6, 0.75, 0.86, 0.84], 12.0),
    "sweep-prox-s0-r2": ("prox", 0.0, 2, [0.7, 0.85, 0.9, 0.88], 14.0),
    "sweep-prox-s1-r0": ("prox", 0.1, 0, [0.6, 0.86, 0.9, 0.90], 11.0),
    "sweep-prox-s1-r1": ("prox", 0.1, 1, [0.5, 0.86, 0.87, 0.86], 13.0),
    "sweep-ddp": ("ddp", None, 0, [0.7, 0.93], 6.0),
}
NEVER_STARTED = "sweep-prox-s1-r2"
# name -> (scheduledStart, start, end, replicas) on the local runner's clock
RUN_TIMES: dict[str, tuple[float, float | None, float | None, int]] = {
    "sweep-prox-s0-r0": (0.0, 0.0, 10.0, 2),
    "sweep-prox-s0-r1": (0.0, 0.0, 12.0, 2),
    "sweep-prox-s0-r2": (0.0, 10.0, 24.0, 2),
    "sweep-prox-s1-r0": (5.0, 12.0, 23.0, 2),
    "sweep-prox-s1-r1": (5.0, 23.0, 36.0, 2),
    NEVER_STARTED: (5.0, None, None, 2),
    "sweep-ddp": (2.0, 24.0, 30.0, 1),
}


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def job_block(name: str, task: str, mu: float | None, repetition: int) -> dict[str, Any]:
    block: dict[str, Any] = {"experiment": EXPERIMENT, "task": task, "name": name}
    block["repetition"] = repetition
    if mu is not None:
        block["sweep"] = {"federated.strategy.mu": mu}
    return block


def trainer_files(
    job_dir: Path, block: dict[str, Any], accuracies: list[float], wall: float, seed: int
) -> None:
    """What rank 0 leaves: job.json, metrics.jsonl (loss = 1 - accuracy), result.json."""
    kind = "epoch" if block["task"] == "ddp" else "round"
    write_json(
        job_dir / contract.JOB_FILE,
        {
            **{k: block.get(k) for k in ("experiment", "task", "name", "repetition")},
            "sweep": block.get("sweep", {}),
            "seed": seed,
            "mode": "distributed" if kind == "epoch" else "federated",
            "versions": {"fltkc": "0.1.0", "torch": "2.5.1", "python": "3.11.10"},
            "config": {"job": block, "seed": seed},
        },
    )
    records = [
        {"kind": kind, "step": i + 1, "accuracy": a, "loss": round(1 - a, 6), "bytes": 25}
        for i, a in enumerate(accuracies)
    ]
    (job_dir / contract.METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
    result = {
        "job": block["name"],
        "mode": "distributed" if kind == "epoch" else "federated",
        "status": "succeeded",
        "finalAccuracy": accuracies[-1],
        "bestAccuracy": max(accuracies),
        "finalLoss": round(1 - accuracies[-1], 6),
        "steps": len(accuracies),
        "wallSeconds": wall,
        "bytes": 100,
        "seed": seed,
    }
    if kind == "epoch":
        result["simulatedSeconds"] = 42.0
    write_json(job_dir / contract.RESULT_FILE, result)


def write_out(out: Path, jobs: dict[str, tuple[str, float | None, int]]) -> None:
    """schedule.json and one config ConfigMap per job, as fltkc build writes them."""
    entries = []
    for i, (name, (task, mu, rep)) in enumerate(sorted(jobs.items())):
        offset, replicas = RUN_TIMES[name][0] * 10, RUN_TIMES[name][3]
        entries.append({"name": name, "task": task, "offsetSeconds": offset, "replicas": replicas})
        config = {"job": job_block(name, task, mu, rep), "seed": 100 + i, "mode": "federated"}
        config_map = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{name}-config"},
            "data": {contract.CONFIG_KEY: json.dumps(config, indent=2)},
        }
        (out / f"configmap-{name}-config.yaml").write_text(yaml.safe_dump(config_map))
    entries.sort(key=lambda e: (e["offsetSeconds"], e["name"]))
    write_json(out / contract.SCHEDULE_FILE, {"experiment": EXPERIMENT, "seed": 9, "jobs": entries})


def local_sweep(root: Path, *, without_job_json: str | None = "sweep-prox-s0-r1") -> Path:
    """The local run; one job's trainer predates job.json: its point comes from out/."""
    planned = {name: (t, mu, rep) for name, (t, mu, rep, _, _) in SWEEP_JOBS.items()}
    planned[NEVER_STARTED] = ("prox", 0.1, 2)
    (root / "out").mkdir(parents=True)
    write_out(root / "out", planned)
    run_jobs = []
    for name, (arrival, start, end, replicas) in RUN_TIMES.items():
        log_dir = None
        if name in SWEEP_JOBS:
            task, mu, rep, accuracies, wall = SWEEP_JOBS[name]
            log_dir = f"volumes/logs/{EXPERIMENT}/{name}"
            trainer_files(root / log_dir, job_block(name, task, mu, rep), accuracies, wall, 7)
            if name == without_job_json:
                (root / log_dir / contract.JOB_FILE).unlink()
        run_jobs.append(
            {
                "name": name,
                "task": planned[name][0],
                "replicas": replicas,
                "arrivalOffset": arrival * 10,
                "scheduledStart": arrival,
                "start": start,
                "end": end,
                "status": "succeeded" if end is not None else "interrupted",
                "restarts": 0,
                "logDir": log_dir,
            }
        )
    record = {"experiment": EXPERIMENT, "source": "sweep.yaml", "slots": 4, "timeScale": 10.0}
    write_json(root / "run.json", {**record, "status": "interrupted", "jobs": run_jobs})
    return root


def rank_file(job_dir: Path, rank: int, attempts: list[tuple[float, float | None, int | None]]):
    write_json(
        job_dir / contract.RANKS_DIR / f"{rank}.json",
        {
            "job": job_dir.name,
            "rank": rank,
            "worldSize": 2,
            "attempts": [
                {"start": s, "end": e, "exitCode": c, "host": "n1"} for s, e, c in attempts
            ],
        },
    )


CLUSTER_START = 1000.0


def cluster_logs(root: Path, *, release: bool = True) -> Path:
    """`kubectl cp <ns>/<tensorboard pod>:<logs mount>/c ./logs` after a run of experiment c:
    task train arriving three times: c-train-a0 at offset 0 (never suspended), c-train-a1
    released at +11 s whose rank 0 was restarted once, c-train-a2 released at +20.2 s that
    never started, so it left no files."""
    t0 = CLUSTER_START
    a0, a1 = root / "c-train-a0", root / "c-train-a1"
    for job_dir, accuracies in ((a0, [0.5, 0.8]), (a1, [0.6, 0.9])):
        block = {"experiment": "c", "task": "train", "name": job_dir.name, "repetition": 0}
        trainer_files(job_dir, block, accuracies, 15.0, 3)
        (job_dir / contract.TENSORBOARD_DIR).mkdir()
    rank_file(a0, 0, [(t0 + 3, t0 + 20, 0)])
    rank_file(a0, 1, [(t0 + 4, t0 + 19, 0)])
    rank_file(a1, 0, [(t0 + 15, t0 + 18, 129), (t0 + 21, t0 + 40, 0)])
    rank_file(a1, 1, [(t0 + 16, t0 + 40.5, 0)])
    if release:
        handled = {
            "c-train-a0": {"action": "left-running", "at": t0 + 0.5, "offsetSeconds": 0.0},
            "c-train-a1": {"action": "released", "at": t0 + 11, "offsetSeconds": 10.0},
            "c-train-a2": {"action": "released", "at": t0 + 20.2, "offsetSeconds": 20.0},
        }
        state = {"version": 1, "experiment": "c", "namespace": "fl", "startTime": t0}
        write_json(root / contract.RELEASE_STATE_FILE, {**state, "jobs": handled})
    return root
