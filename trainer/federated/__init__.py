"""Federated training: rank 0 is the server, ranks 1.. host the task's virtual clients."""

from __future__ import annotations

from torch.utils.data import DataLoader

from trainer.data import NUM_CLASSES, load_dataset, partition_dataset, partition_stats
from trainer.data.partition_skew import held_out
from trainer.federated.client import Executor, serve
from trainer.federated.comm import ClientComm, ServerComm
from trainer.federated.server import LocalPool, Pool, RemotePool, Server
from trainer.federated.strategies import MeanStrategy, build_strategy
from trainer.runtime import Job, Reporter, shared_checkpoint
from trainer.seeding import derive_seed


def run_federated(job: Job) -> None:
    """Every rank loads the data and derives the same partition from the seed."""
    cfg, env = job.config, job.env
    fed = cfg.federated
    assert fed is not None
    train_set = load_dataset(cfg.dataset, env.data_dir, True, cfg.seed)
    parts = partition_dataset(train_set, fed.clients, fed.partition, cfg.seed)
    train_parts, held = parts, None
    if fed.held_out_fraction is not None:
        seed = derive_seed(cfg.seed, "held-out")
        train_parts, held = held_out(parts, fed.held_out_fraction, seed)
    strategy = build_strategy(fed.strategy)
    if not env.is_main:
        executor = Executor(job, train_set, train_parts, strategy, held)
        shared_checkpoint(job, share=False)  # only to learn whether the server could resume
        serve(job, executor, ClientComm(fed.clients_per_round, executor.layout.size))
        return
    test_set = load_dataset(cfg.dataset, env.data_dir, False, cfg.seed)
    test_loader = DataLoader(test_set, batch_size=cfg.test_batch_size)
    server = Server(job, strategy, test_loader, [len(p) for p in train_parts])
    ckpt = shared_checkpoint(job, share=False)
    if ckpt is not None:
        server.restore(ckpt)
    reporter = Reporter(job, ckpt)
    if ckpt is None:
        classes = NUM_CLASSES[cfg.dataset["name"]]
        reporter.log.write_partition(partition_stats(parts, train_set.targets, classes))
    pool: Pool
    if env.world_size == 1:
        pool = LocalPool(Executor(job, train_set, train_parts, strategy, held))
    else:
        reduce = isinstance(strategy, MeanStrategy)
        comm = ServerComm(env.world_size, fed.clients_per_round, server.layout, reduce)
        pool = RemotePool(comm)
    server.run(pool, reporter, ckpt["step"] if ckpt else 0)
