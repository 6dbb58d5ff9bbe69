"""Sweeps and repetitions aggregated, and scheduling metrics, on a hand-made local run.

The answers are worked by hand from results_support.py's numbers: t(0.975, 1) = 12.706205,
t(0.975, 2) = 4.302653 (from the table), percentiles by linear interpolation between ranks.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import results_support as rs
from run_support import make_app
from typer.testing import CliRunner

from fltkc.results import analyse, class_rows, load_run
from fltkc.results.scheduling_summary import busy_steps, mean_utilisation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
T1, T2 = 12.706205, 4.302653
MU = "federated.strategy.mu"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return rs.local_sweep(tmp_path / "run")


def _groups(run_dir: Path, target: float | None = 0.85) -> dict[str, object]:
    analysis = analyse(load_run(run_dir), target)
    return {f"{g.task} {g.label}": g for g in analysis.groups}


def test_jobs_group_by_task_and_sweep_point_with_the_never_started_one_counted(run_dir: Path):
    groups = _groups(run_dir)
    assert list(groups) == ["prox mu=0.0", "prox mu=0.1", "ddp -"]
    # sweep-prox-s0-r1 wrote no job.json: its point came from the build's ConfigMap.
    assert groups["prox mu=0.0"].jobs == (
        "sweep-prox-s0-r0",
        "sweep-prox-s0-r1",
        "sweep-prox-s0-r2",
    )
    assert groups["prox mu=0.1"].jobs[-1] == rs.NEVER_STARTED
    assert groups["prox mu=0.1"].point == {MU: 0.1}


def test_mean_std_and_student_t_interval_by_hand(run_dir: Path):
    g0, g1, ddp = _groups(run_dir).values()
    final = g0.stats["final_accuracy"]  # 0.80, 0.84, 0.88
    assert (final.n, final.mean, final.std) == (3, pytest.approx(0.84), pytest.approx(0.04))
    assert final.half_width == pytest.approx(T2 * 0.04 / math.sqrt(3), abs=1e-6)
    best = g0.stats["best_accuracy"]  # 0.80, 0.86, 0.90
    assert best.mean == pytest.approx(2.56 / 3)
    assert best.std == pytest.approx(math.sqrt(0.0050667 / 2), abs=1e-6)  # squares summed by hand
    wall = g0.stats["wall_seconds"]  # 10, 12, 14
    assert (wall.mean, wall.std) == (12.0, 2.0)
    assert (wall.ci_low, wall.ci_high) == (
        pytest.approx(12 - T2 * 2 / math.sqrt(3), abs=1e-5),
        pytest.approx(12 + T2 * 2 / math.sqrt(3), abs=1e-5),
    )
    # Two of three jobs at mu=0.1 finished: n = 2, t with 1 degree of freedom.
    final1 = g1.stats["final_accuracy"]  # 0.90, 0.86
    assert (final1.n, final1.mean) == (2, pytest.approx(0.88))
    assert final1.half_width == pytest.approx(T1 * 0.02, abs=1e-6)  # s / sqrt(2) = 0.02
    # Zero spread: the interval collapses onto the mean.
    assert g0.stats["bytes"].ci_low == g0.stats["bytes"].ci_high == 100.0
    # n = 1: a mean, no spread, no interval.
    one = ddp.stats["final_accuracy"]
    assert (one.n, one.mean, one.std, one.half_width) == (1, 0.93, None, None)


def test_rounds_to_target_count_only_the_jobs_that_reached_it(run_dir: Path):
    g0, g1, ddp = _groups(run_dir).values()
    # mu=0.0: never, round 3 (0.86), round 2 (0.85 reaches 0.85 exactly).
    steps = g0.stats["steps_to_target"]
    assert (steps.n, steps.mean, steps.half_width) == (2, 2.5, pytest.approx(T1 * 0.5, abs=1e-5))
    assert g1.stats["steps_to_target"].mean == 2.0 and ddp.stats["steps_to_target"].mean == 2.0
    assert _groups(run_dir, target=None)["prox mu=0.0"].stats["steps_to_target"] is None
    # Simulated time only where the trainer reported it (the ddp job's result.json).
    assert g0.stats["simulated_seconds"] is None and ddp.stats["simulated_seconds"].mean == 42.0


def test_the_best_point_per_metric_is_marked_and_ties_are_not(run_dir: Path):
    g0, g1, ddp = _groups(run_dir).values()
    assert g1.best == {"final_accuracy", "best_accuracy", "final_loss", "steps_to_target"}
    assert g0.best == frozenset() and ddp.best == frozenset()  # wall 12 = 12, bytes equal


def test_the_command_prints_and_writes_the_aggregates(run_dir: Path):
    out = CliRunner().invoke(make_app(), ["results", str(run_dir), "--target", "0.85"])
    assert out.exit_code == 0, out.output
    text = out.output
    points = text[text.index("per task and sweep point:") :].splitlines()
    assert points[1].split()[:6] == [
        "task", "point", "jobs", "final_accuracy", "best_accuracy", "final_loss",
    ]  # fmt: skip
    assert "steps_to_0.85" in points[1] and "simulated_seconds" in points[1]
    assert points[2].split()[:6] == ["prox", "mu=0.0", "3", "0.8400", "±", "0.0994"]
    assert "0.8800 ± 0.2541 (2/3)*" in points[3] and "2.0 ± 0.0 (2/3)*" in points[3]
    assert points[4].split()[:4] == ["ddp", "-", "1", "0.9300"]
    with (run_dir / "results-points.csv").open() as fh:
        rows = {(r["task"], r["point"], r["metric"]): r for r in csv.DictReader(fh)}
    final0 = rows[("prox", "mu=0.0", "final_accuracy")]
    assert (final0["jobs"], final0["n"], final0["best"], final0[f"sweep.{MU}"]) == (
        "3", "3", "0", "0.0",
    )  # fmt: skip
    assert float(final0["ci_high"]) == pytest.approx(0.84 + T2 * 0.04 / math.sqrt(3), abs=1e-6)
    assert rows[("prox", "mu=0.1", "final_accuracy")]["best"] == "1"
    assert rows[("prox", "mu=0.1", "steps_to_target")]["target"] == "0.85"
    ddp = rows[("ddp", "-", "final_accuracy")]
    assert (ddp["n"], ddp["std"], ddp["ci_low"]) == ("1", "", "")
    assert ("prox", "mu=0.0", "simulated_seconds") not in rows


def test_the_tidy_csv_has_one_row_per_job_round_and_metric(run_dir: Path):
    CliRunner().invoke(make_app(), ["results", str(run_dir), "--no-plots"])
    with (run_dir / "results-long.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    # 5 prox jobs x 4 rounds + 1 ddp job x 2 epochs, each with accuracy, bytes and loss.
    assert len(rows) == (5 * 4 + 2) * 3
    row = next(
        r
        for r in rows
        if (r["job"], r["step"], r["metric"]) == ("sweep-prox-s1-r0", "2", "accuracy")
    )
    assert (row["value"], row["point"], row[f"sweep.{MU}"], row["kind"]) == (
        "0.86", "mu=0.1", "0.1", "round",
    )  # fmt: skip
    assert {r["kind"] for r in rows if r["task"] == "ddp"} == {"epoch"}
    with (run_dir / "results.csv").open() as fh:
        jobs = {r["job"]: r for r in csv.DictReader(fh)}
    assert jobs[rs.NEVER_STARTED]["status"] == "interrupted"
    assert jobs["sweep-prox-s0-r2"]["repetition"] == "2" and jobs["sweep-ddp"][f"sweep.{MU}"] == ""


def test_scheduling_metrics_per_class_by_hand(run_dir: Path):
    timeline = analyse(load_run(run_dir)).timeline
    assert timeline is not None and timeline.source == "run.json" and timeline.slots == 4
    times = {j.name: j for j in timeline.jobs}
    s1r1 = times["sweep-prox-s1-r1"]
    assert (s1r1.arrival, s1r1.start, s1r1.finish) == (5.0, 23.0, 36.0)
    assert (s1r1.queueing, s1r1.jct, s1r1.run_time) == (18.0, 31.0, 13.0)
    assert times[rs.NEVER_STARTED].jct is None
    ddp, prox, every = class_rows(timeline)
    assert (ddp.job_class, ddp.jobs, ddp.jct.mean, ddp.queueing.mean) == ("ddp", 1, 28.0, 22.0)
    # prox JCTs 10 12 24 18 31 (one never started); queueing 0 0 10 7 18.
    assert (prox.jobs, prox.finished) == (6, 5)
    assert (prox.jct.mean, prox.jct.p50) == (19.0, 18.0)
    assert prox.jct.p90 == pytest.approx(28.2) and prox.jct.p99 == pytest.approx(30.72)
    assert (prox.queueing.mean, prox.queueing.p50) == (7.0, 7.0)
    assert prox.queueing.p90 == pytest.approx(14.8) and prox.run_time.mean == 12.0
    assert every.job_class == "(all)" and every.jct.mean == 20.5
    assert every.jct.p50 == 21.0 and every.jct.p90 == pytest.approx(29.5)
    assert timeline.makespan == 36.0
    # Replicas busy: 4 until 24 s, then 3 until 30 s, then 2 until 36 s: 126 of 4 x 36.
    assert busy_steps(timeline) == [
        (0.0, 4),
        (10.0, 4),
        (12.0, 4),
        (23.0, 4),
        (24.0, 3),
        (30.0, 2),
        (36.0, 0),
    ]
    assert mean_utilisation(timeline) == pytest.approx(126 / 144)


def test_the_plots_exist_and_are_not_empty(run_dir: Path):
    out = CliRunner().invoke(make_app(), ["results", str(run_dir), "--target", "0.85"])
    assert out.exit_code == 0, out.output
    assert "makespan 36.0 s; mean utilisation 88% of 4 slots" in out.output
    plots = sorted(p.name for p in (run_dir / "plots").iterdir())
    assert plots == [
        "accuracy-ddp.png", "accuracy-prox.png", "sweep-prox.png", "task-ddp.png",
        "task-prox.png", "timeline.png", "utilisation.png",
    ]  # fmt: skip
    for name in plots:
        data = (run_dir / "plots" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000, name


def test_results_never_import_torch_or_tensorboard(run_dir: Path):
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from fltkc.results import analyse, load_run; "
        f"a = analyse(load_run(Path({str(run_dir)!r})), 0.9); "
        "from fltkc.results.report import render_report; render_report(a, []); "
        "bad = [m for m in ('torch', 'tensorboard', 'matplotlib') if m in sys.modules]; "
        "print(bad or 'clean')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"
