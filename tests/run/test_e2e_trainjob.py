"""End to end with backend trainjob: quickstart (fewer rounds) as TrainJobs, a master killed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from run_support import KillRankZeroAfterFirstRound, make_app
from typer.testing import CliRunner

from fltkc import contract
from fltkc.local import RunOptions, run_experiment

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart.yaml"
VICTIM = "quickstart-fed-mnist-a0"
SLOTS = 3
TIME_SCALE = 20


def _small_quickstart(tmp_path: Path) -> Path:
    """quickstart.yaml with 3 federated rounds and 2 arrivals: the same shapes, faster."""
    text = QUICKSTART.read_text()
    for old, new in (("rounds: 8", "rounds: 3"), ("count: 3}", "count: 2}")):
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "quickstart.yaml"
    path.write_text(text)
    return path


@pytest.mark.slow
def test_quickstart_as_trainjobs_runs_with_the_torch_runtime_env(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    killer = KillRankZeroAfterFirstRound(run_dir, VICTIM, "node-0-0")
    options = RunOptions(
        run_dir=run_dir, slots=SLOTS, time_scale=TIME_SCALE, grace_seconds=5, backend="trainjob"
    )
    result = run_experiment(_small_quickstart(tmp_path), options, killer)
    record = json.loads((run_dir / "run.json").read_text())
    assert result.status == "succeeded", [
        (j["name"], j["status"], j["logs"]) for j in record["jobs"]
    ]
    out = run_dir / "out"
    assert sorted(p.name.split("-")[0] for p in out.glob("trainjob-*.yaml")) == ["trainjob"] * 3
    assert not list(out.glob("pytorchjob-*"))
    jobs = {j["name"]: j for j in record["jobs"]}
    assert sorted(jobs) == [
        "quickstart-ddp-mnist",
        "quickstart-fed-mnist-a0",
        "quickstart-fed-mnist-a1",
    ]
    for job in record["jobs"]:
        assert job["start"] >= job["scheduledStart"]
        assert job["scheduledStart"] == pytest.approx(job["arrivalOffset"] / TIME_SCALE, abs=1e-3)

    # Every pod of the trainer job, named as JobSet names them, saw PET_* only.
    victim = jobs[VICTIM]
    assert {p["replica"] for p in victim["processes"]} == {"node-0-0", "node-0-1", "node-0-2"}
    # The Job recreated the killed rank 0 (137 is retried), and it resumed from its checkpoint.
    servers = [p for p in victim["processes"] if p["replica"] == "node-0-0"]
    assert servers[0]["pid"] == killer.killed and servers[0]["exitCode"] == 137
    assert servers[-1]["exitCode"] == 0 and victim["restarts"] >= 1
    log = (run_dir / victim["logs"]["node-0-0"]).read_text()
    assert "resuming from checkpoint.pt after step" in log
    steps = [
        json.loads(line)["step"]
        for line in (run_dir / victim["logDir"] / contract.METRICS_FILE).read_text().splitlines()
    ]
    assert steps == [1, 2, 3]
    for job in jobs.values():
        assert all(p["exitCode"] in (0, 137, contract.EXIT_PEER_LOST) for p in job["processes"])
        assert (run_dir / job["logDir"] / contract.RESULT_FILE).is_file()

    shown = CliRunner().invoke(make_app(), ["results", str(run_dir)])
    assert shown.exit_code == 0, shown.output
    assert "quickstart-ddp-mnist" in shown.output and "quickstart-fed-mnist-a1" in shown.output
