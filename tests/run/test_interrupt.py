"""Ctrl-C on a running `fltkc run` stops every replica and its children, and says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from run_support import LOGS_CLAIM, WriteOut, replica_records

ROOT = Path(__file__).resolve().parents[2]
CLI = """
import typer
from fltkc.local.cli import run_command
from fltkc.results.cli import results_command
app = typer.Typer()
app.command("run")(run_command)
app.command("results")(results_command)
app()
"""


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has already exited


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_sigint_stops_every_child_and_grandchild(write_out: WriteOut, tmp_path: Path):
    busy = {"steps": 600, "sleep": 0.1, "grandchild": True}
    out = write_out(
        [
            ("stubborn", 1, 0.0, {**busy, "ignoreTerm": True}, {}),  # needs the SIGKILL
            ("polite", 0, 0.0, busy, {}),
            ("later", 0, 3600.0, busy, {}),  # never arrives before Ctrl-C
        ]
    )
    run_dir = tmp_path / "run"
    script = tmp_path / "cli.py"
    script.write_text(CLI)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(script), "run", str(out), "--run-dir", str(run_dir)]
    proc = subprocess.Popen(
        [*command, "--slots", "4", "--grace", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    logs = run_dir / "volumes" / LOGS_CLAIM

    def all_started() -> bool:
        counts = [len(replica_records(logs / job)) for job in ("stubborn", "polite")]
        return counts == [2, 1]

    try:
        assert _wait_for(all_started, 30), "replicas did not start"
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, output
    assert "interrupted" in output
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted"
    jobs = {j["name"]: j for j in record["jobs"]}
    assert [j["status"] for j in jobs.values()] == ["interrupted"] * 3
    assert jobs["later"]["start"] is None
    pids = [p["pid"] for j in jobs.values() for p in j["processes"]]
    grandchildren = [
        r["grandchild"] for job in ("stubborn", "polite") for r in replica_records(logs / job)
    ]
    assert len(pids) == 3 and len(grandchildren) == 3
    assert _wait_for(lambda: all(_gone(pid) for pid in pids + grandchildren), 5)
    stubborn = jobs["stubborn"]["processes"]
    assert [p["exitCode"] for p in stubborn] == [128 + signal.SIGKILL] * 2, stubborn
    assert not list(run_dir.glob(".*.tmp"))
