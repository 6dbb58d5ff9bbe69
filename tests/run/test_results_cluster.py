"""`fltkc results` on a logs directory laid out as a cluster run leaves it (README: kubectl cp).

No run.json and no out/: the release's state file gives the origin, the arrivals and the
releases; each job's ranks/<rank>.json gives its first start and last end; job.json its task.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import results_support as rs
from run_support import make_app
from typer.testing import CliRunner

from fltkc.results import analyse, class_rows, load_run
from fltkc.results.scheduling_summary import busy_steps, mean_utilisation


def test_times_come_from_the_release_state_and_the_rank_records(tmp_path: Path):
    results = load_run(rs.cluster_logs(tmp_path / "logs"))
    timeline = analyse(results).timeline
    assert timeline is not None and timeline.source == "release.json and ranks/"
    assert timeline.origin == rs.CLUSTER_START
    times = {j.name: j for j in timeline.jobs}
    a0, a1, a2 = times["c-train-a0"], times["c-train-a1"], times["c-train-a2"]
    # Never suspended: no release; first rank up at +3 s, last rank down at +20 s.
    assert (a0.arrival, a0.release, a0.start, a0.finish) == (0.0, None, 3.0, 20.0)
    # Released at +11 s; rank 0 failed once (exit 129) and came back; rank 1 ended last.
    assert (a1.arrival, a1.release, a1.start, a1.finish) == (10.0, 11.0, 15.0, 40.5)
    assert (a1.queueing, a1.jct, a1.run_time) == (5.0, 30.5, 25.5)
    assert (a1.status, a1.replicas) == ("succeeded", 2)
    # Released, but it left no files: known from release.json, its task from its name.
    assert (a2.arrival, a2.release, a2.start, a2.status, a2.task) == (
        20.0, 20.2, None, "not started", "train",
    )  # fmt: skip
    (train,) = class_rows(timeline)
    assert (train.jobs, train.finished) == (3, 2)
    assert (train.jct.mean, train.jct.p50) == (25.25, 25.25)
    assert train.jct.p90 == pytest.approx(20 + 0.9 * 10.5)
    assert (train.queueing.mean, train.queueing.p90) == (4.0, pytest.approx(4.8))
    assert train.run_time.mean == 21.25
    assert timeline.makespan == 40.5
    assert busy_steps(timeline) == [(3.0, 2), (15.0, 4), (20.0, 2), (40.5, 0)]
    assert mean_utilisation(timeline) is None  # a cluster's capacity is not in its logs


def test_the_command_on_the_copied_logs(tmp_path: Path):
    logs = rs.cluster_logs(tmp_path / "logs")
    out = CliRunner().invoke(make_app(), ["results", str(logs), "--slots", "4"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[1].split()[:5] == ["c-train-a0", "train", "federated", "succeeded", "2"]
    assert lines[2].split()[-1] == "1"  # restarts: rank 0 of c-train-a1 ran twice
    assert lines[3].split()[:3] == ["c-train-a2", "train", "-"]
    assert "train  -      3     0.8500 ± 0.6353 (2/3)" in out.output  # 12.706205 x 0.05
    assert "times from release.json and ranks/; makespan 40.5 s" in out.output
    # 2 x 12 + 4 x 5 + 2 x 20.5 replica-seconds over 4 slots x 40.5 s.
    assert f"mean utilisation {85 / 162:.0%} of 4 slots" in out.output
    with (logs / "results-scheduling.csv").open() as fh:
        rows = {r["job"]: r for r in csv.DictReader(fh)}
    assert (rows["c-train-a1"]["release"], rows["c-train-a1"]["queueing_delay"]) == ("11.0", "5.0")
    assert rows["c-train-a2"]["start"] == "" and rows["c-train-a2"]["status"] == "not started"
    assert (logs / "plots" / "timeline.png").stat().st_size > 10_000
    assert (logs / "plots" / "utilisation.png").stat().st_size > 10_000


def test_without_a_release_state_the_first_rank_start_is_the_origin(tmp_path: Path):
    logs = rs.cluster_logs(tmp_path / "logs", release=False)
    timeline = analyse(load_run(logs)).timeline
    assert timeline is not None and timeline.source == "ranks/ (no release.json)"
    times = {j.name: (j.arrival, j.start, j.finish) for j in timeline.jobs}
    # Every job was submitted at kubectl apply; the clock starts with the first rank (+3 s).
    assert times == {"c-train-a0": (0.0, 0.0, 17.0), "c-train-a1": (0.0, 12.0, 37.5)}


def test_the_build_out_dir_names_the_jobs_that_never_ran(tmp_path: Path):
    logs = rs.cluster_logs(tmp_path / "logs")
    out = tmp_path / "out"
    out.mkdir()
    rs.write_json(
        out / "schedule.json",
        {
            "experiment": "c",
            "seed": 1,
            "jobs": [
                {"name": f"c-train-a{i}", "task": "train", "offsetSeconds": 10.0 * i}
                for i in range(4)
            ],
        },
    )
    results = load_run(logs, out)
    assert [j.name for j in results.jobs] == [f"c-train-a{i}" for i in range(4)]
    a3 = analyse(results).timeline.jobs[3]
    # Not yet due when the logs were copied: its planned arrival, nothing else.
    assert (a3.task, a3.arrival, a3.release, a3.status) == ("train", 30.0, None, "not started")


def test_scheduling_breaks_down_by_the_priority_each_job_drew(tmp_path: Path):
    logs = rs.cluster_logs(tmp_path / "logs")
    for name, priority in (("c-train-a0", "high"), ("c-train-a1", "low")):
        path = logs / name / "job.json"
        info = json.loads(path.read_text())
        info["config"]["job"] |= {"stream": "mix", "priority": priority}
        path.write_text(json.dumps(info))
    rows = class_rows(analyse(load_run(logs)).timeline)
    by_class = {row.job_class: row for row in rows}
    # c-train-a2 left no files, so no priority: it stays in class train.
    assert list(by_class) == ["train", "train/high", "train/low", "*/high", "*/low", "(all)"]
    assert by_class["train/high"].jct.mean == 20.0 and by_class["train/low"].jct.mean == 30.5
    assert by_class["*/low"].queueing.mean == 5.0 and by_class["(all)"].jobs == 3
