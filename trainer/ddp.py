"""Distributed data-parallel training: DDP over gloo (CPU) or NCCL (GPU), one shard per rank."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from trainer.data import NUM_CLASSES, load_dataset, partition_stats
from trainer.loops import Sums, evaluate, train_epoch
from trainer.metrics import StepRecord
from trainer.models import build_model
from trainer.optim import build_loss, build_optimizer, build_scheduler, current_lr
from trainer.rendezvous import peer_guard
from trainer.runtime import Job, Reporter, eval_due, shared_checkpoint
from trainer.seeding import derive_seed


def all_sum(values: list[float], device: torch.device, world_size: int) -> list[float]:
    """Sum a few numbers over all ranks (float64, so counts stay exact)."""
    if world_size == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def _sampler(job: Job, train_set: Dataset[Any]) -> DistributedSampler[Any]:
    # drop_last: the sampler would otherwise pad shards with repeats, so two ranks would
    # share samples; at most WORLD_SIZE - 1 samples sit out each epoch, a different few each.
    return DistributedSampler(
        train_set,
        num_replicas=job.env.world_size,
        rank=job.env.rank,
        shuffle=True,
        seed=derive_seed(job.config.seed, "sampler") % 2**31,
        drop_last=job.env.world_size > 1,
    )


def _test_loader(job: Job) -> DataLoader[Any]:
    cfg, env = job.config, job.env
    test_set = load_dataset(cfg.dataset, env.data_dir, False, cfg.seed)
    shard = Subset(test_set, range(env.rank, len(test_set), env.world_size))
    return DataLoader(shard, batch_size=cfg.test_batch_size, shuffle=False)


def _write_partition(reporter: Reporter, job: Job, train_set: Any) -> None:
    parts = [list(_sampler_for(job, train_set, r)) for r in range(job.env.world_size)]
    classes = NUM_CLASSES[job.config.dataset["name"]]
    reporter.log.write_partition(partition_stats(parts, train_set.targets, classes))


def _sampler_for(job: Job, train_set: Any, rank: int) -> DistributedSampler[Any]:
    sampler = _sampler(job, train_set)
    sampler.rank = rank  # the shard rank `rank` trains in the first epoch
    return sampler


def _restore(job: Job, model: nn.Module, optimizer: Any, scheduler: Any) -> dict[str, Any] | None:
    """Rank 0 reads the checkpoint and broadcasts it, so only the master needs the log volume."""
    ckpt = shared_checkpoint(job, share=True)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
    return ckpt


class EpochTrainer:
    """One replica of a DDP run: the model, its optimizer and scheduler, and the data shards."""

    def __init__(self, job: Job) -> None:
        cfg, env = job.config, job.env
        self.job = job
        job.reseed("init")  # every rank builds the same initial weights
        self.model = build_model(cfg.model).to(job.device)
        self.optimizer = build_optimizer(self.model.parameters(), cfg.optimizer)
        self.scheduler = build_scheduler(self.optimizer, cfg.scheduler)
        self.ckpt = _restore(job, self.model, self.optimizer, self.scheduler)
        self.train_set = load_dataset(cfg.dataset, env.data_dir, True, cfg.seed)
        self.sampler = _sampler(job, self.train_set)
        self.loader = DataLoader(self.train_set, batch_size=cfg.batch_size, sampler=self.sampler)
        self.test_loader = _test_loader(job)
        self.net = DistributedDataParallel(self.model) if env.world_size > 1 else self.model
        self.loss_fn = build_loss(cfg.loss)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.grad_bytes = sum(p.numel() * p.element_size() for p in params)

    def run(self) -> None:
        """Train config.distributed.epochs epochs; rank 0 logs and checkpoints."""
        job = self.job
        reporter = Reporter(job, self.ckpt) if job.env.is_main else None
        if reporter is not None and self.ckpt is None:
            _write_partition(reporter, job, self.train_set)
        for epoch in range(self.ckpt["step"] if self.ckpt else 0, job.config.epochs):
            with peer_guard(f"epoch {epoch + 1}"):
                record = self.epoch(
                    epoch, reporter.progress.elapsed if reporter else time.monotonic
                )
            if reporter is not None:
                reporter.step_done(record, self.states())
        if reporter is not None:
            reporter.finish()

    def epoch(self, epoch: int, clock: Callable[[], float]) -> StepRecord:
        job, env = self.job, self.job.env
        started = time.monotonic()
        self.sampler.set_epoch(epoch)
        job.reseed("epoch", epoch, env.rank)
        lr = current_lr(self.optimizer)
        local = train_epoch(self.net, self.loader, self.optimizer, self.loss_fn, job.device)
        loss_sum, count = all_sum([local[0], local[1]], job.device, env.world_size)
        self.scheduler.step()
        sums = self.evaluate() if eval_due(job.config, epoch + 1) else None
        return StepRecord(
            kind="epoch",
            step=epoch + 1,
            loss=None if sums is None else sums.mean_loss,
            accuracy=None if sums is None else sums.accuracy,
            train_loss=loss_sum / max(count, 1),
            seconds=time.monotonic() - started,
            # The gradient payload each rank all-reduces (one full gradient per step).
            bytes=len(self.loader) * self.grad_bytes if env.world_size > 1 else 0,
            lr=lr,
            time=clock(),
        )

    def evaluate(self) -> Sums:
        """Each rank scores its shard of the test set; the sums give the full test set's."""
        job = self.job
        local = evaluate(self.model, self.test_loader, self.loss_fn, job.device)
        loss, correct, count = all_sum(
            [local.loss, local.correct, local.count], job.device, job.env.world_size
        )
        return Sums(loss, int(correct), int(count))

    def states(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
        }


def run_distributed(job: Job) -> None:
    EpochTrainer(job).run()
