"""The operator's rules as fltkc run applies them: env, restarts, FIFO admission, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from run_support import WriteOut, job_manifest, make_app
from typer.testing import CliRunner

from fltkc import contract
from fltkc.local import ManifestError, RunOptions, read_out_dir, run_experiment
from fltkc.local.localize import expand_refs, operator_env, rewrite_path
from fltkc.local.outdir import parse_job
from fltkc.local.scheduler import Pending, admit, due_time
from fltkc.local.supervisor import container_exit_code, restartable

FAST = {"steps": 1, "sleep": 0.01}


def test_operator_env_for_master_and_workers():
    job = parse_job(job_manifest("j", workers=3, arrival=0), Path("j.yaml"))
    master, last = operator_env(job, "Master", 0, 4000), operator_env(job, "Worker", 2, 4000)
    assert master["RANK"] == "0" and last["RANK"] == last["PET_NODE_RANK"] == "3"
    assert master["WORLD_SIZE"] == last["WORLD_SIZE"] == master["PET_NNODES"] == "4"
    assert master["MASTER_ADDR"] == "127.0.0.1" and master["MASTER_PORT"] == "4000"
    assert master["PYTHONUNBUFFERED"] == "1"


def test_world_size_counts_processes_per_node():
    doc = job_manifest("j", workers=1, arrival=0)
    doc["spec"]["nprocPerNode"] = "2"
    env = operator_env(parse_job(doc, Path("j.yaml")), "Worker", 0, 1)
    assert (env["WORLD_SIZE"], env["PET_NNODES"], env["PET_NPROC_PER_NODE"]) == ("4", "2", "2")


def test_kubernetes_var_expansion_and_path_rewriting():
    env = {"A": "x", "RANK": "2"}
    assert expand_refs("$(A)-$(RANK)-$(MISSING)-$$(A)", env) == "x-2-$(MISSING)-$(A)"
    mounts = {"/var/fltk/logs": Path("/l"), "/var/fltk": Path("/v")}
    assert rewrite_path("/var/fltk/logs/job", mounts) == "/l/job"
    assert rewrite_path("/var/fltk/other", mounts) == "/v/other"
    assert rewrite_path("/var/fltkx", mounts) == "/var/fltkx"


@pytest.mark.parametrize(
    ("policy", "code", "expected"),
    [
        ("OnFailure", 1, True),
        ("Always", 2, True),
        ("Never", 1, False),
        ("ExitCode", 1, False),  # 1-127: a permanent error
        ("ExitCode", 2, False),  # bad input
        ("ExitCode", 127, False),
        ("ExitCode", 128, True),  # the operator's rule: exit code >= 128
        ("ExitCode", 129, True),  # a lost peer
        ("ExitCode", 137, True),  # killed by SIGKILL: retryable
        ("ExitCode", 255, True),
    ],
)
def test_restart_policies(policy, code, expected):
    assert restartable(policy, code) is expected


def _readme_exit_codes() -> dict[int, list[str]]:
    """README's "Exit codes" table: code -> the other cells of its row."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("|")]
    return {int(row[0]): [c.strip() for c in row[1:]] for row in rows if row[0].strip().isdigit()}


def test_readme_lists_exactly_the_contracts_exit_codes():
    named = {v: k for k, v in vars(contract).items() if k.startswith("EXIT_")}
    table = _readme_exit_codes()
    assert sorted(table) == sorted({0, *named})
    for code, (name, _, exit_code_policy, _) in table.items():
        assert name == (f"`{named[code]}`" if code else "")
        if code:  # what the table promises is what fltkc run (and the operator) does
            assert exit_code_policy.startswith("retried") is restartable("ExitCode", code)


def test_exit_code_policy_retries_a_lost_peer_and_fails_bad_input_at_once(
    write_out: WriteOut, tmp_path: Path
):
    lost = {"steps": 3, "sleep": 0.05, "failOnceAtStep": 2, "failCode": contract.EXIT_PEER_LOST}
    bad = {"steps": 40, "sleep": 0.1, "exitRanks": [1], "exitCode": contract.EXIT_USAGE}
    policy = {"restart_policy": "ExitCode", "backoff_limit": 3}
    out = write_out([("lost", 1, 0.0, lost, policy), ("bad", 1, 0.0, bad, policy)])
    options = RunOptions(run_dir=tmp_path / "run", slots=4, all_at_once=True, grace_seconds=2)
    record = {j.name: j for j in run_experiment(out, options).jobs}
    assert (record["lost"].status, record["lost"].restarts) == ("succeeded", 1)
    assert (record["bad"].status, record["bad"].restarts) == ("failed", 0)
    assert record["bad"].failed_log == tmp_path / "run/logs/bad/worker-0.log"


def test_signal_deaths_read_as_container_exit_codes():
    assert container_exit_code(-9) == 137 and container_exit_code(3) == 3


def test_fifo_admission_blocks_behind_the_head():
    queue = [Pending("a", 0.0, 3), Pending("b", 0.0, 1), Pending("c", 5.0, 1)]
    assert admit(queue, now=1.0, free_slots=2) == []  # b fits but must not overtake a
    assert admit(queue, now=1.0, free_slots=4) == ["a", "b"]  # c has not arrived
    assert admit(queue, now=5.0, free_slots=5) == ["a", "b", "c"]
    assert due_time(40.0, 20.0, False) == 2.0 and due_time(40.0, 20.0, True) == 0.0


def test_arrived_jobs_start_by_priority_then_arrival():
    queue = [
        Pending("low", 0.0, 2, priority=10),
        Pending("also-low", 0.5, 1, priority=10),
        Pending("high", 1.0, 2, priority=1000),
        Pending("later", 9.0, 1, priority=5000),
    ]
    assert admit(queue, now=0.7, free_slots=2) == ["low"]  # high has not arrived yet
    assert admit(queue, now=2.0, free_slots=2) == ["high"]  # arrived last, starts first
    assert admit(queue, now=2.0, free_slots=3) == ["high"]  # low blocks also-low (FIFO)
    assert admit(queue, now=2.0, free_slots=5) == ["high", "low", "also-low"]
    assert admit(queue, now=9.0, free_slots=6) == ["later", "high", "low", "also-low"]


def test_the_priority_annotation_is_read_and_checked():
    assert parse_job(job_manifest("j", 1, 0.0, priority=1000), Path("j.yaml")).priority == 1000
    assert parse_job(job_manifest("j", 1, 0.0), Path("j.yaml")).priority == 0
    bad = job_manifest("j", 1, 0.0)
    bad["metadata"]["annotations"][contract.ANNOTATION_PRIORITY] = "high"
    with pytest.raises(ManifestError, match="fltkc.dev/priority-value='high'"):
        parse_job(bad, Path("j.yaml"))


def test_a_waiting_high_priority_job_overtakes_a_low_one(write_out: WriteOut, tmp_path: Path):
    slow = {"steps": 4, "sleep": 0.25}
    out = write_out(
        [
            ("first", 1, 0.0, slow, {}),
            ("low", 1, 0.1, FAST, {"priority": 10}),
            ("high", 1, 0.2, FAST, {"priority": 1000}),
        ]
    )
    result = run_experiment(out, RunOptions(run_dir=tmp_path / "run", slots=2))
    assert result.status == "succeeded", result
    start = {job.name: job.start for job in result.jobs}
    assert start["first"] < start["high"] < start["low"]


def test_jobs_are_read_in_arrival_order(write_out: WriteOut):
    out = write_out([("late", 0, 9.5, FAST, {}), ("early", 1, 0.5, FAST, {})])
    built = read_out_dir(out)
    assert [(j.name, j.arrival, j.total_replicas) for j in built.jobs] == [
        ("early", 0.5, 2),
        ("late", 9.5, 1),
    ]
    assert built.experiment == "standin"


def test_a_job_larger_than_the_slots_is_refused(write_out: WriteOut, tmp_path: Path):
    out = write_out([("big", 3, 0.0, FAST, {})])
    with pytest.raises(ManifestError, match="needs 4 replicas but there are only 2 slots"):
        run_experiment(out, RunOptions(run_dir=tmp_path / "run", slots=2))


def test_missing_config_map_is_a_one_line_error(write_out: WriteOut, tmp_path: Path):
    out = write_out([("lonely", 0, 0.0, FAST, {})])
    docs = list(yaml.safe_load_all((out / "lonely.yaml").read_text()))
    (out / "lonely.yaml").write_text(yaml.safe_dump(docs[0]))
    result = CliRunner().invoke(make_app(), ["run", str(out), "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "mounts ConfigMap 'lonely-config', which is not in the output directory" in result.output
    assert "Traceback" not in result.output


def test_a_job_without_master_is_refused(tmp_path: Path):
    doc = job_manifest("j", workers=1, arrival=0)
    del doc["spec"]["pytorchReplicaSpecs"]["Master"]
    with pytest.raises(ManifestError, match="has no Master replica"):
        parse_job(doc, tmp_path / "j.yaml")


def test_a_used_run_dir_is_refused(write_out: WriteOut, tmp_path: Path):
    out = write_out([("j", 0, 0.0, FAST, {})])
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "run.json").write_text("{}")
    with pytest.raises(ManifestError, match="not empty"):
        run_experiment(out, RunOptions(run_dir=tmp_path / "used", slots=1))
