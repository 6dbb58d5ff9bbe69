"""Rank 0's outputs: metrics.jsonl, clients.jsonl, TensorBoard, partition.json, result.json."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fltkc import contract


@dataclass(frozen=True)
class StepRecord:
    """One line of metrics.jsonl: a finished round (federated) or epoch (distributed)."""

    kind: str  # "round" | "epoch"
    step: int  # 1-based
    loss: float | None  # test loss; None when this step did not evaluate
    accuracy: float | None
    train_loss: float
    seconds: float
    bytes: int
    lr: float
    time: float
    clients: list[int] | None = None  # federated: the clients whose updates were aggregated
    sim_seconds: float | None = None  # federated: the round's simulated duration
    sim_time: float | None = None  # federated: simulated seconds since the run began
    attempts: int | None = None  # federated: selections the round took (onTooFew repeat)
    skipped: bool | None = None  # federated: too few updates, the global model was kept
    # Federated rounds: what reached the server, in bytes and in model-sized vectors.
    bytes_in: int | None = None
    vectors_in: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "step": self.step,
            "loss": self.loss,
            "accuracy": self.accuracy,
            "trainLoss": self.train_loss,
            "seconds": self.seconds,
            "bytes": self.bytes,
            "lr": self.lr,
            "time": self.time,
        }
        if self.clients is not None:
            out["clients"] = self.clients
        if self.sim_seconds is not None:
            out |= {
                "simulatedSeconds": self.sim_seconds,
                "simulatedTime": self.sim_time,
                "attempts": self.attempts,
                "skipped": self.skipped,
            }
        if self.bytes_in is not None:
            out["bytesIn"] = self.bytes_in
        if self.vectors_in is not None:
            out["vectorsIn"] = self.vectors_in
        return out


@dataclass
class Progress:
    """What result.json reports, carried through checkpoints so a resumed run reports it all."""

    step: int = 0
    final_accuracy: float | None = None
    best_accuracy: float | None = None
    final_loss: float | None = None
    bytes: int = 0
    elapsed_before: float = 0.0  # wall seconds of earlier attempts, up to their checkpoint
    sim_time: float = 0.0  # federated: the simulated clock, which client availability follows
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    def update(self, record: StepRecord) -> None:
        self.step = record.step
        self.bytes += record.bytes
        if record.sim_time is not None:
            self.sim_time = record.sim_time
        if record.accuracy is not None:
            self.final_accuracy, self.final_loss = record.accuracy, record.loss
            self.best_accuracy = max(self.best_accuracy or 0.0, record.accuracy)

    def state_dict(self) -> dict[str, Any]:
        state = asdict(self)
        state["elapsed_before"] = self.elapsed()
        del state["started"]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


def write_json(path: Path, data: Any) -> None:
    """Replace `path` in one step; a tmp name per writer, since ranks share the volume."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def truncate_metrics(path: Path, keep_through: int, key: str = "step") -> None:
    """Drop lines past the checkpointed step, so a resumed run never repeats a step."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [ln for ln in lines if ln.strip() and json.loads(ln)[key] <= keep_through]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(ln + "\n" for ln in kept), encoding="utf-8")
    os.replace(tmp, path)


class RunLog:
    """Appends metrics and TensorBoard scalars; only rank 0 makes one."""

    def __init__(
        self, log_dir: Path, resume_step: int, hparams: Mapping[str, Any] | None = None
    ) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.dir = log_dir
        self.metrics = log_dir / contract.METRICS_FILE
        self.clients = log_dir / contract.CLIENTS_FILE
        truncate_metrics(self.metrics, resume_step)
        truncate_metrics(self.clients, resume_step, key="round")
        # purge_step hides events a killed attempt wrote past the checkpoint.
        self.writer = SummaryWriter(
            str(log_dir / contract.TENSORBOARD_DIR), purge_step=resume_step + 1
        )
        if hparams is not None:
            self._add_summary(session_start(hparams))
            self.writer.flush()

    def _add_summary(self, summary: Any) -> None:
        """A raw summary into this run's event file (torch leaves the writer untyped)."""
        writer: Any = self.writer
        writer._get_file_writer().add_summary(summary)

    def record(self, rec: StepRecord) -> None:
        with self.metrics.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec.to_json(), sort_keys=True) + "\n")
        scalars = {
            "loss/train": rec.train_loss,
            "time/step_seconds": rec.seconds,
            "comm/bytes": rec.bytes,
            "lr": rec.lr,
        }
        if rec.accuracy is not None and rec.loss is not None:
            scalars |= {"loss/test": rec.loss, "accuracy/test": rec.accuracy}
        if rec.clients is not None:
            scalars["clients/participants"] = len(rec.clients)
        if rec.sim_seconds is not None and rec.sim_time is not None:
            scalars |= {"time/simulated_seconds": rec.sim_seconds, "time/simulated": rec.sim_time}
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, rec.step)
        if rec.clients:
            self.writer.add_histogram(
                "clients/participation", _as_tensor(rec.clients), rec.step, bins="auto"
            )
        self.writer.flush()

    def record_clients(self, step: int, records: list[dict[str, Any]]) -> None:
        """One clients.jsonl line per record; status counts and spreads in TensorBoard."""
        with self.clients.open("a", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, sort_keys=True) + "\n" for r in records)
        for status in ("aggregated", "late", "dropped"):
            count = sum(r["status"] == status for r in records)
            self.writer.add_scalar(f"clients/{status}", count, step)
        spreads = (("simulatedSeconds", "clients/sim_seconds"), ("accuracy", "clients/accuracy"))
        for key, tag in spreads:
            values = [r[key] for r in records if r.get(key) is not None]
            if values:
                self.writer.add_histogram(tag, _as_tensor(values), step, bins="auto")

    def write_partition(self, stats: dict[str, Any]) -> None:
        write_json(self.dir / contract.PARTITION_FILE, stats)

    def write_result(self, result: dict[str, Any]) -> None:
        write_json(self.dir / contract.RESULT_FILE, result)

    def close(self) -> None:
        """The run finished: end the HParams session (status success) and flush."""
        self._add_summary(session_end())
        self.writer.close()


def session_start(hparams: Mapping[str, Any]) -> Any:
    """The HParams plugin's session-start summary. No experiment summary is written: the
    dashboard then collects the hyperparameters of every job's run, across tasks and points."""
    from torch.utils.tensorboard.summary import hparams as hparams_summaries

    _, start, _ = hparams_summaries(dict(hparams), {})  # type: ignore[no-untyped-call]
    return start


def session_end() -> Any:
    """The session-end summary with status success (torch builds it without TensorFlow)."""
    from torch.utils.tensorboard.summary import hparams as hparams_summaries

    _, _, end = hparams_summaries({}, {})  # type: ignore[no-untyped-call]
    return end


def _as_tensor(values: list[int] | list[float]) -> Any:
    import torch

    return torch.tensor(values, dtype=torch.float64)


def result_json(job: str, mode: str, seed: int, progress: Progress) -> dict[str, Any]:
    return {
        "job": job,
        "mode": mode,
        "status": "succeeded",
        "finalAccuracy": progress.final_accuracy,
        "bestAccuracy": progress.best_accuracy,
        "finalLoss": progress.final_loss,
        "steps": progress.step,
        "wallSeconds": progress.elapsed(),
        "bytes": progress.bytes,
        "seed": seed,
        **({"simulatedSeconds": progress.sim_time} if mode == "federated" else {}),
    }
