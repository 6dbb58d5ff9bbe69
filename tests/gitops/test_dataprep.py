"""trainer.dataprep: ready markers, copies from the image, checks, and the init container's wait."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trainer import dataprep
from trainer.dataprep import marker, prepare_one

RNG = np.random.default_rng(7)


def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _mnist(root: Path) -> None:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, n in (("train", 12), ("t10k", 5)):
        images = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = RNG.integers(0, 10, n, dtype=np.uint8)
        (raw / f"{split}-images-idx3-ubyte").write_bytes(_idx(images))
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(_idx(labels))


def test_check_mode_marks_a_present_dataset_once(tmp_path: Path) -> None:
    _mnist(tmp_path)
    assert prepare_one("mnist", "check", tmp_path, None) == "checked"
    ready = json.loads(marker(tmp_path, "mnist").read_text())
    assert ready["how"] == "checked" and "MNIST/raw/train-images-idx3-ubyte" in ready["files"]
    assert marker(tmp_path, "mnist") == tmp_path / ".fltkc" / "mnist.ready"
    assert prepare_one("mnist", "check", tmp_path, None) == "ready"  # idempotent


def test_marker_without_files_is_redone(tmp_path: Path) -> None:
    _mnist(tmp_path)
    prepare_one("mnist", "check", tmp_path, None)
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(dataprep.PrepError, match="t10k-labels-idx1-ubyte is missing"):
        prepare_one("mnist", "check", tmp_path, None)


def test_baked_dataset_is_copied_and_the_trainer_reads_it(tmp_path: Path) -> None:
    baked, volume = tmp_path / "image", tmp_path / "volume"
    _mnist(baked)
    assert prepare_one("mnist", "download", baked, None) == "checked"  # the Dockerfile step
    assert prepare_one("mnist", "download", volume, baked) == "copied"  # no network needed
    assert json.loads(marker(volume, "mnist").read_text())["how"] == "copied"
    from trainer.data import load_dataset

    data = load_dataset({"name": "mnist", "source": "files", "augment": False}, volume, True, 0)
    assert len(data) == 12


def test_missing_dataset_fails_with_the_fix(tmp_path: Path, capsys: Any) -> None:
    code = dataprep.main(["prepare", "--data-dir", str(tmp_path), "--baked-dir",
                          str(tmp_path / "none"), "cifar10=check"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "cifar10:" in err and "is missing" in err and "dataset.download: true" in err
    assert not marker(tmp_path, "cifar10").exists()


def test_reddit_is_checked_never_downloaded(tmp_path: Path) -> None:
    with pytest.raises(dataprep.PrepError, match="reddit/train/\\*.json is missing.*LEAF"):
        prepare_one("reddit", "download", tmp_path, None)
    for split in ("train", "test"):
        (tmp_path / "reddit" / split).mkdir(parents=True)
        (tmp_path / "reddit" / split / "part.json").write_text("{}")
    assert prepare_one("reddit", "check", tmp_path, None) == "checked"


def test_bad_dataset_argument_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        dataprep.main(["prepare", "--data-dir", str(tmp_path), "mnist=fetch"])
    assert info.value.code == 2


def test_wait_returns_once_every_marker_exists(tmp_path: Path) -> None:
    sleeps: list[float] = []
    logs: list[str] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            _mnist(tmp_path)
            prepare_one("mnist", "check", tmp_path, None)

    dataprep.wait(["mnist"], tmp_path, poll=5.0, sleep=sleep, log=logs.append)
    assert sleeps == [5.0, 5.0, 5.0]
    assert logs[0].endswith("waiting for mnist (the <experiment>-dataprep Job)")
    assert logs[-1].endswith("ready: mnist")


def test_wait_does_not_import_torch() -> None:
    """The init container is small: waiting must not load torch."""
    import subprocess
    import sys

    code = "import sys, trainer.dataprep; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
