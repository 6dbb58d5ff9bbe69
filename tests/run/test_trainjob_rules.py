"""TrainJob rules as fltkc run applies them: the Torch runtime's env, the Jobs' failure policy."""

from __future__ import annotations

from pathlib import Path

from fltkc import contract
from fltkc.local.localize import Placement, localize
from fltkc.local.outdir import read_out_dir
from fltkc.local.supervisor import JobRun, Replica

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_TRAINJOB = ROOT / "tests" / "golden-trainjob"


def _run(name: str, tmp_path: Path, index: int = 0) -> JobRun:
    out = read_out_dir(GOLDEN_TRAINJOB / name)
    run = JobRun(out.jobs[index], Placement(tmp_path, out.config_maps), 0.0, 1.0)
    run.local = localize(out.jobs[index], run.placement, port=4000)
    run.replicas = [Replica(p) for p in run.local.processes]
    return run


def test_torch_runtime_env_is_pet_only(tmp_path: Path) -> None:
    run = _run("quickstart", tmp_path, index=1)  # fed-mnist-a0: 3 nodes
    assert [r.spec.replica for r in run.replicas] == ["node-0-0", "node-0-1", "node-0-2"]
    for rank, replica in enumerate(run.replicas):
        env = replica.spec.env
        assert {k: env[k] for k in contract.TORCH_RUNTIME_ENV} == {
            "PET_NNODES": "3",
            "PET_NPROC_PER_NODE": "1",
            "PET_NODE_RANK": str(rank),
            "PET_MASTER_ADDR": "127.0.0.1",
            "PET_MASTER_PORT": "4000",
        }
        assert replica.spec.rank == rank


def test_split_layout_ranks_from_jobset_labels(tmp_path: Path) -> None:
    run = _run("distributed-cifar10-resnet", tmp_path)
    ranks = [(r.spec.replica, r.spec.env["RANK"], r.spec.env["WORLD_SIZE"]) for r in run.replicas]
    assert ranks == [
        ("node-0-0", "0", "4"),
        ("worker-0-0", "1", "4"),
        ("worker-1-0", "2", "4"),
        ("worker-2-0", "3", "4"),
    ]
    assert {r.spec.env["MASTER_ADDR"] for r in run.replicas} == {"127.0.0.1"}
    assert {r.spec.env["MASTER_PORT"] for r in run.replicas} == {"4000"}
    assert "PET_NNODES" not in run.replicas[1].spec.env  # only the trainer job gets PET_*


def test_failure_policy_exit_codes_and_per_job_budgets(tmp_path: Path) -> None:
    """ExitCode task, backoffLimit 2: 1-127 fail the job at once, 128-255 are retried until
    that pod's Job has spent its backoffLimit; every Job has its own budget."""
    run = _run("distributed-cifar10-resnet", tmp_path)
    server, worker0, worker1 = run.replicas[:3]
    assert [r.spec.budget for r in run.replicas] == ["node-0", "worker-0", "worker-1", "worker-2"]
    assert run._may_restart(worker0, 129) and run._may_restart(worker0, 129)
    assert not run._may_restart(worker0, 129)
    assert run._may_restart(worker1, 137)
    assert not run._may_restart(server, 2) and not run._may_restart(server, 1)
    assert run._may_restart(server, 129)


def test_usage_exit_is_never_retried_but_a_lost_peer_is(tmp_path: Path) -> None:
    """The default ExitCode policy (quickstart): the runtime fails the Job on 1-127 only."""
    run = _run("quickstart", tmp_path)
    master = run.replicas[0]
    assert master.spec.fail_codes == tuple(range(1, 128))
    assert not run._may_restart(master, contract.EXIT_USAGE)
    assert not run._may_restart(master, 1)
    assert run._may_restart(master, contract.EXIT_PEER_LOST)
