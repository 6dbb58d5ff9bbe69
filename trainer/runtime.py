"""Set up one replica: seeds, device, process group and the rank-0 log, shared by both modes."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from fltkc import contract
from fltkc.contract.env import TrainerEnv
from trainer import rendezvous
from trainer.checkpoint import CheckpointWriter, load_checkpoint
from trainer.config import TrainerConfig
from trainer.errors import UsageError
from trainer.metrics import Progress, RunLog, StepRecord, result_json
from trainer.provenance import hparams, write_job_info
from trainer.seeding import derive_seed, make_deterministic, seed_everything


@dataclass(frozen=True)
class Job:
    env: TrainerEnv
    config: TrainerConfig
    device: torch.device

    @property
    def checkpoint_path(self) -> Path:
        return self.env.log_dir / contract.CHECKPOINT_FILE

    def reseed(self, *parts: object) -> None:
        """Reseed the global generators for one step, so a resumed run repeats it exactly."""
        seed_everything(derive_seed(self.config.seed, *parts))


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise UsageError("$.device is 'cuda' but this pod sees no CUDA device; use 'auto' or 'cpu'")
    if choice == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    # One process per pod (nprocPerNode "1"), so each pod uses its first visible GPU.
    return torch.device("cuda", 0)


def cpu_budget(cgroup_cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this pod may use: the cgroup v2 quota when one is set, else the affinity mask.

    torch otherwise starts one thread per core of the node, far more than a pod's CPU limit,
    and oversubscribed threads make small models several times slower."""
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = cgroup_cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return cores
    if quota == "max":
        return cores
    return max(1, min(cores, int(quota) // int(period)))


def setup(env: TrainerEnv, config: TrainerConfig) -> Job:
    """Seed, choose the device and join the process group (when WORLD_SIZE > 1)."""
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(cpu_budget())
    make_deterministic()
    seed_everything(derive_seed(config.seed, "setup", env.rank))
    device = pick_device(config.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if env.is_main:
        env.log_dir.mkdir(parents=True, exist_ok=True)
        write_job_info(env.log_dir, config.raw)
    if env.world_size > 1:
        # Federated vectors travel host-side, so gloo serves that mode on GPUs too.
        gpu_ddp = device.type == "cuda" and config.mode == "distributed"
        backend = "nccl" if gpu_ddp else "gloo"
        rendezvous.join(env, backend, config.rendezvous_timeout)
    return Job(env=env, config=config, device=device)


class Reporter:
    """Rank 0's view of the run: the log, the checkpoint and the running totals."""

    def __init__(self, job: Job, checkpoint: dict[str, Any] | None) -> None:
        self.job = job
        self.progress = Progress()
        if checkpoint is not None:
            self.progress.load_state_dict(checkpoint["progress"])
        self.log = RunLog(job.env.log_dir, self.progress.step, hparams(job.config.raw))
        self.saver = CheckpointWriter()

    def step_done(
        self,
        record: StepRecord,
        states: dict[str, Any],
        clients: list[dict[str, Any]] | None = None,
    ) -> None:
        """Log a finished step (and its per-client records), then checkpoint when due."""
        # The previous checkpoint is on disk before this step's line is logged, so a resumed
        # run redoes at most the logged step, as when checkpoints were written in line.
        self.saver.wait()
        self.progress.update(record)
        if clients is not None:
            self.log.record_clients(record.step, clients)
        self.log.record(record)
        cfg = self.job.config
        due = record.step % cfg.checkpoint_every == 0 or record.step == cfg.steps
        if cfg.checkpoint_enabled and due:
            states = {**states, "progress": self.progress.state_dict()}
            self.saver.save(self.job.checkpoint_path, record.step, cfg.fingerprint, states)

    def finish(self) -> None:
        self.saver.wait()
        cfg, env = self.job.config, self.job.env
        self.log.write_result(result_json(env.job_name, cfg.mode, cfg.seed, self.progress))
        self.log.close()


def read_checkpoint(job: Job) -> dict[str, Any] | None:
    """Rank 0 reads the latest checkpoint, if any and if checkpointing is on."""
    if not job.config.checkpoint_enabled:
        return None
    ckpt = load_checkpoint(job.checkpoint_path, job.config.fingerprint)
    if ckpt is not None:
        print(
            f"resuming from {job.checkpoint_path.name} after step {ckpt['step']}", file=sys.stderr
        )
    return ckpt


def shared_checkpoint(job: Job, share: bool) -> dict[str, Any] | None:
    """Rank 0 reads the checkpoint and tells every rank whether it could, so a bad one ends
    every rank with exit 2 at once; otherwise workers wait in a collective the master never
    joins and end as a lost peer (129), which ExitCode retries.

    With `share` every rank gets the checkpoint (DDP: only the master needs the logs volume);
    otherwise workers get None. Every rank must call this at the same point of its run."""
    error: str | None = None
    ckpt: dict[str, Any] | None = None
    if job.env.is_main:
        try:
            ckpt = read_checkpoint(job)
        except UsageError as exc:
            error = str(exc)
    if job.env.world_size > 1:
        box: list[Any] = [error, ckpt if share else None]
        with rendezvous.peer_guard("sharing the checkpoint"):
            dist.broadcast_object_list(box, src=0)
        error, ckpt = box[0], ckpt if job.env.is_main else box[1]
    if error is not None:
        # Every rank is here: workers check out and the master waits for them, so none takes
        # the master's exit for a lost peer.
        rendezvous.check_out()
        raise UsageError(error if job.env.is_main else f"rank 0 cannot resume: {error}")
    return ckpt


def eval_due(config: TrainerConfig, step: int) -> bool:
    return step % config.eval_every == 0 or step == config.steps
