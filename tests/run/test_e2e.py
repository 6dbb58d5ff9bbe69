"""End to end: build examples/quickstart.yaml, run it with the real trainer, kill a replica."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from run_support import KillRankZeroAfterFirstRound, make_app
from typer.testing import CliRunner

from fltkc import contract
from fltkc.local import RunOptions, run_experiment

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart.yaml"
VICTIM = "quickstart-fed-mnist-a0"
SLOTS = 3


def _peak_concurrency(record: dict) -> int:
    spans = [(p["start"], p["end"]) for job in record["jobs"] for p in job["processes"]]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


@pytest.mark.slow
def test_quickstart_runs_to_the_end_and_survives_a_killed_master(tmp_path: Path):
    run_dir = tmp_path / "run"
    killer = KillRankZeroAfterFirstRound(run_dir, VICTIM, "master-0")
    options = RunOptions(run_dir=run_dir, slots=SLOTS, time_scale=20, grace_seconds=5)
    result = run_experiment(QUICKSTART, options, killer)
    record = json.loads((run_dir / "run.json").read_text())
    assert result.status == "succeeded", [
        (j["name"], j["status"], j["logs"]) for j in record["jobs"]
    ]
    assert killer.killed is not None
    jobs = {j["name"]: j for j in record["jobs"]}
    assert len(jobs) == 4

    # Arrivals: started in arrival order, never before the scaled arrival time.
    ordered = sorted(record["jobs"], key=lambda j: j["arrivalOffset"])
    assert [j["start"] for j in ordered] == sorted(j["start"] for j in ordered)
    for job in ordered:
        assert job["scheduledStart"] == pytest.approx(job["arrivalOffset"] / 20, abs=1e-3)
        assert job["start"] >= job["scheduledStart"]
    assert 1 <= _peak_concurrency(record) <= SLOTS

    # The killed master came back and resumed from its checkpoint, repeating no round.
    victim = jobs[VICTIM]
    masters = [p for p in victim["processes"] if p["replica"] == "master-0"]
    assert masters[0]["pid"] == killer.killed and masters[0]["exitCode"] == 137
    assert len(masters) >= 2 and masters[-1]["exitCode"] == 0
    assert victim["restarts"] >= 1
    # Every replica that was running then noticed the loss within seconds (the watchdog), not
    # after the ten-minute collective timeout.
    killed_at = masters[0]["end"]
    first_run = [p for p in victim["processes"] if p["start"] < killed_at]
    assert {p["replica"] for p in first_run} == {"master-0", "worker-0", "worker-1"}
    assert all(p["end"] - killed_at < 30 for p in first_run), first_run
    log = (run_dir / victim["logs"]["master-0"]).read_text()
    assert "restart 1" in log and "resuming from checkpoint.pt after step" in log
    steps = [
        json.loads(line)["step"]
        for line in (run_dir / victim["logDir"] / contract.METRICS_FILE).read_text().splitlines()
    ]
    config_map = yaml.safe_load((run_dir / "out" / f"configmap-{VICTIM}-config.yaml").read_text())
    rounds = json.loads(config_map["data"][contract.CONFIG_KEY])["federated"]["rounds"]
    assert steps == list(range(1, rounds + 1))

    # Learning happened: chance on ten digits is 0.1.
    for name, job in jobs.items():
        result_file = json.loads((run_dir / job["logDir"] / contract.RESULT_FILE).read_text())
        threshold = 0.8 if "ddp" in name else 0.6
        assert result_file["bestAccuracy"] > threshold, (name, result_file)

    # Each rank recorded its attempts; the killed master's first one never ended.
    for name, job in jobs.items():
        ranks = sorted((run_dir / job["logDir"] / contract.RANKS_DIR).glob("*.json"))
        assert len(ranks) == job["replicas"], name
        info = json.loads((run_dir / job["logDir"] / contract.JOB_FILE).read_text())
        assert info["name"] == name and info["versions"]["torch"]
    master = json.loads((run_dir / victim["logDir"] / contract.RANKS_DIR / "0.json").read_text())
    assert len(master["attempts"]) >= 2 and master["attempts"][0]["end"] is None
    assert master["attempts"][-1]["exitCode"] == 0

    out = CliRunner().invoke(make_app(), ["results", str(run_dir), "--report"])
    assert out.exit_code == 0, out.output
    assert "quickstart-ddp-mnist" in out.output and "distributed" in out.output
    assert "fed-mnist  -      3" in out.output  # the three arrivals of one point, aggregated
    assert "makespan" in out.output and (run_dir / "report.html").stat().st_size > 50_000
    plots = sorted(p.name for p in (run_dir / "plots").iterdir())
    assert plots == [
        "accuracy-ddp-mnist.png",
        "accuracy-fed-mnist.png",
        "task-ddp-mnist.png",
        "task-fed-mnist-clients.png",
        "task-fed-mnist-partition.png",
        "task-fed-mnist.png",
        "timeline.png",
        "utilisation.png",
    ]
