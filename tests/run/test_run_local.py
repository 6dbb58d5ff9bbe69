"""fltkc run on hand-written output directories with a stand-in trainer: real processes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from run_support import LOGS_CLAIM, WriteOut, make_app, replica_records
from typer.testing import CliRunner

from fltkc import contract
from fltkc.local import RunOptions, run_experiment

FAST = {"steps": 2, "sleep": 0.05}


def test_each_replica_sees_the_operator_env_and_local_paths(write_out: WriteOut, tmp_path: Path):
    # Workers that would sleep for a minute: cleanPodPolicy Running stops them at success.
    slow_workers = {**FAST, "workerSleep": 60}
    out = write_out([("alpha", 2, 0.0, slow_workers, {}), ("beta", 1, 0.0, FAST, {})])
    data = tmp_path / "my-data"
    data.mkdir()
    run_dir = tmp_path / "run"
    result = run_experiment(
        out, RunOptions(run_dir=run_dir, slots=5, all_at_once=True, data_dir=data, grace_seconds=2)
    )
    assert result.status == "succeeded", result
    ports = set()
    for job, world in (("alpha", 3), ("beta", 2)):
        log_dir = run_dir / "volumes" / LOGS_CLAIM / job
        seen = replica_records(log_dir)
        assert sorted(r["rank"] for r in seen) == list(range(world))
        job_ports = {r["env"]["MASTER_PORT"] for r in seen}
        assert len(job_ports) == 1
        ports |= job_ports
        for r in seen:
            env, rank = r["env"], r["rank"]
            assert env["RANK"] == env["PET_NODE_RANK"] == str(rank)
            assert env["WORLD_SIZE"] == env["PET_NNODES"] == str(world)
            assert env["MASTER_ADDR"] == env["PET_MASTER_ADDR"] == "127.0.0.1"
            assert env["PET_MASTER_PORT"] == env["MASTER_PORT"]
            assert env["PYTHONUNBUFFERED"] == "1"
            assert env["PET_NPROC_PER_NODE"] == "1"
            kind = "master" if rank == 0 else "worker"
            assert env["POD_NAME"] == f"{job}-{kind}-{rank if rank == 0 else rank - 1}"
            assert env[contract.ENV_CONFIG] == str(
                (run_dir / "config" / job / "config" / contract.CONFIG_KEY).resolve()
            )
            assert json.loads(Path(env[contract.ENV_CONFIG]).read_text())["kind"] == "TrainerConfig"
            assert env[contract.ENV_LOG_DIR] == str(log_dir.resolve())
            assert env[contract.ENV_DATA_DIR] == str(data.resolve())
            assert env[contract.ENV_JOB_NAME] == job
            assert r["exe"] == sys.executable  # the manifest's "python"
            assert r["argv"][1:] == ["--job", job, "--rank", str(rank)]
        workers = [r for r in seen if r["rank"] > 0]
        if job == "alpha":
            assert all("end" not in r for r in workers), "workers should have been stopped"
    assert len(ports) == 2, "each job gets its own MASTER_PORT"
    record = json.loads((run_dir / "run.json").read_text())
    alpha = record["jobs"][0]
    assert alpha["logs"] == {
        "master-0": "logs/alpha/master-0.log",
        "worker-0": "logs/alpha/worker-0.log",
        "worker-1": "logs/alpha/worker-1.log",
    }
    assert "rank 1 started" in (run_dir / "logs/alpha/worker-0.log").read_text()
    assert all(p["exitCode"] is not None for job in record["jobs"] for p in job["processes"])


def _intervals(run_dir: Path, jobs: list[str]) -> dict[str, list[tuple[float, float]]]:
    return {
        job: [
            (r["start"], r["end"]) for r in replica_records(run_dir / "volumes" / LOGS_CLAIM / job)
        ]
        for job in jobs
    }


def test_arrivals_in_order_and_capacity_never_exceeded(write_out: WriteOut, tmp_path: Path):
    # slots 3: a (2 replicas) runs; b (3) must wait for it; c (1) would fit beside a but
    # must not jump ahead of b. Arrivals 0, 2, 4, 6 s at time scale 20: 0, 0.1, 0.2, 0.3 s.
    long, short = {"steps": 4, "sleep": 0.15}, {"steps": 1, "sleep": 0.1}
    out = write_out(
        [
            ("d", 0, 6.0, short, {}),
            ("c", 0, 4.0, short, {}),
            ("b", 2, 2.0, short, {}),
            ("a", 1, 0.0, long, {}),
        ]
    )
    run_dir = tmp_path / "run"
    result = run_experiment(out, RunOptions(run_dir=run_dir, slots=3, time_scale=20))
    assert result.status == "succeeded"
    record = {j["name"]: j for j in json.loads((run_dir / "run.json").read_text())["jobs"]}
    assert [j["scheduledStart"] for j in record.values()] == [0.0, 0.1, 0.2, 0.3]
    starts = [record[name]["start"] for name in "abcd"]
    assert starts == sorted(starts)
    for job in record.values():
        assert job["start"] >= job["scheduledStart"]
    assert record["b"]["start"] >= record["a"]["end"]  # waited for slots
    assert record["c"]["start"] >= record["b"]["start"]  # FIFO: no jumping ahead
    spans = [span for spans in _intervals(run_dir, list("abcd")).values() for span in spans]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak <= 3
    assert peak == 3  # b's three replicas did run together


def test_restart_resumes_and_backoff_limit_fails_the_job(write_out: WriteOut, tmp_path: Path):
    flaky = {"steps": 3, "sleep": 0.05, "failOnceAtStep": 2}
    broken = {"steps": 40, "sleep": 0.1, "exitRanks": [1], "exitCode": 3}
    out = write_out(
        [
            ("flaky", 1, 0.0, flaky, {"backoff_limit": 1}),
            ("broken", 1, 0.0, broken, {"backoff_limit": 2}),
        ]
    )
    run_dir = tmp_path / "run"
    runner = CliRunner()
    cli = runner.invoke(
        make_app(),
        [
            "run",
            str(out),
            "--run-dir",
            str(run_dir),
            "--slots",
            "4",
            "--all-at-once",
            "--grace",
            "2",
        ],
    )
    assert cli.exit_code == 1, cli.output
    record = {j["name"]: j for j in json.loads((run_dir / "run.json").read_text())["jobs"]}
    assert record["flaky"]["status"] == "succeeded"
    assert record["flaky"]["restarts"] == 1
    metrics = (run_dir / "volumes" / LOGS_CLAIM / "flaky" / contract.METRICS_FILE).read_text()
    assert [json.loads(line)["step"] for line in metrics.splitlines()] == [1, 2, 3]
    master_log = (run_dir / "logs/flaky/master-0.log").read_text()
    assert "restart 1" in master_log and master_log.count("rank 0 started") == 2
    assert record["broken"]["status"] == "failed"
    assert record["broken"]["restarts"] == 2
    assert record["broken"]["failedReplica"] == "worker-0"
    exits = [p["exitCode"] for p in record["broken"]["processes"] if p["replica"] == "worker-0"]
    assert exits == [3, 3, 3]
    assert f"job broken failed: see {run_dir.resolve() / 'logs/broken/worker-0.log'}" in cli.output
