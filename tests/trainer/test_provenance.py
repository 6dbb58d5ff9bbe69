"""job.json, ranks/<rank>.json and the TensorBoard HParams session of a real trainer run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trainer_helpers as h

from fltkc import __version__
from fltkc.contract.env import read_env
from trainer.provenance import RankRecord, hparams

SWEEP = {"optimizer.lr": 0.05, "federated.partition": {"name": "iid"}}
CONFIG = h.config(
    job={"experiment": "exp", "task": "fed", "name": "job-0", "repetition": 1, "sweep": SWEEP},
    federated={**h.BASE["federated"], "rounds": 2},
)


def test_hparams_carry_the_task_seed_repetition_and_every_swept_parameter() -> None:
    assert hparams(CONFIG) == {
        "task": "fed",
        "repetition": 1,
        "seed": h.SEED,
        "optimizer.lr": 0.05,
        # TensorBoard takes scalars only: a structured sweep value travels as canonical JSON.
        "federated.partition": '{"name": "iid"}',
    }


def test_a_mixture_job_also_shows_its_stream_and_priority() -> None:
    job = {"experiment": "e", "task": "fed", "name": "e-mix-a3", "stream": "mix", "priority": "hi"}
    assert hparams({**CONFIG, "job": job}) == {
        "task": "fed",
        "repetition": 0,
        "seed": h.SEED,
        "stream": "mix",
        "priority": "hi",
    }


def test_a_rank_record_keeps_every_attempt(tmp_path: Path) -> None:
    env = read_env(h.Job(tmp_path, 1234).env(1, 2))
    ticks = iter([10.0, 12.5, 20.0, 31.0])
    first = RankRecord(env, clock=lambda: next(ticks))
    first.started()
    first.ended(129)
    again = RankRecord(env, clock=lambda: next(ticks))  # the restarted pod reads it back
    again.started()
    saved = json.loads((tmp_path / "logs" / "ranks" / "1.json").read_text())
    assert [(a["start"], a["end"], a["exitCode"]) for a in saved["attempts"]] == [
        (10.0, 12.5, 129),
        (20.0, None, None),
    ]
    again.ended(0)
    saved = json.loads((tmp_path / "logs" / "ranks" / "1.json").read_text())
    assert saved["attempts"][-1]["end"] == 31.0 and saved["worldSize"] == 2
    assert saved["job"] == "job-0" and saved["rank"] == 1


def _hparams_plugin(log_dir: Path) -> dict[str, Any]:
    """The HParams plugin's records in the event files, read back as TensorBoard reads them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content[metadata.SESSION_START_INFO_TAG]
    ).session_start_info
    end = plugin_data_pb2.HParamsPluginData.FromString(
        content[metadata.SESSION_END_INFO_TAG]
    ).session_end_info
    values = {}
    for name, value in start.hparams.items():
        kind = value.WhichOneof("kind")
        values[name] = getattr(value, kind)
    return {"hparams": values, "status": end.status, "tags": sorted(content)}


@pytest.mark.slow
def test_a_two_rank_run_leaves_job_rank_and_hparams_records(tmp_path: Path) -> None:
    from tensorboard.plugins.hparams import api_pb2, metadata

    job = h.new_job(tmp_path, CONFIG)
    for code, out in h.run(job, world_size=2):
        assert code == 0, out
    info = json.loads((job.log_dir / "job.json").read_text())
    assert (info["task"], info["repetition"], info["seed"]) == ("fed", 1, h.SEED)
    assert info["sweep"] == SWEEP and info["mode"] == "federated"
    assert info["versions"]["fltkc"] == __version__ and info["versions"]["torch"]
    assert info["config"]["federated"]["rounds"] == 2
    for rank in (0, 1):
        record = json.loads((job.log_dir / "ranks" / f"{rank}.json").read_text())
        (attempt,) = record["attempts"]
        assert attempt["exitCode"] == 0 and attempt["start"] < attempt["end"]
        assert (record["rank"], record["worldSize"]) == (rank, 2)
    seen = _hparams_plugin(job.log_dir / "tensorboard")
    # No experiment summary: the dashboard then unites the hparams of every job's run.
    assert metadata.EXPERIMENT_TAG not in seen["tags"]
    assert seen["hparams"] == {
        "task": "fed",
        "repetition": 1.0,
        "seed": float(h.SEED),
        "optimizer.lr": 0.05,
        "federated.partition": '{"name": "iid"}',
    }
    assert seen["status"] == api_pb2.STATUS_SUCCESS
    assert "accuracy/test" in job.tensorboard()  # the metric the dashboard compares
