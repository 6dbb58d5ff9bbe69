"""Fill the data volume once and wait for it (`python -m trainer.dataprep prepare|wait`).

prepare NAME=MODE...: for each dataset, skip it when its ready marker exists and its files
check out; else copy it from the image (datasets baked in with the Dockerfile's FLTK_DATASETS),
else download it (MODE download, torchvision sets only), else check it is already there
(reddit is never downloaded). Then write <data>/.fltkc/<name>.ready atomically.
wait NAME...: block until every named marker exists (the training pods' init container).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fltkc import contract

PROG = "fltk-dataprep"
DATASETS = ("mnist", "fashion-mnist", "cifar10", "cifar100", "reddit")
EXIT_USAGE = 2


class PrepError(Exception):
    """A dataset that cannot be made ready; the message names it and the fix."""


def marker(data_dir: Path, name: str) -> Path:
    return data_dir / contract.READY_DIR / f"{name}{contract.READY_SUFFIX}"


def dataset_files(name: str, data_dir: Path) -> list[tuple[Path, str | None]]:
    """The files (and MD5s where torchvision checks one) the trainer reads for `name`."""
    if name == "reddit":
        root = data_dir / "reddit"
        return [
            (p, None) for split in ("train", "test") for p in sorted(root.glob(f"{split}/*.json"))
        ]
    from trainer.data.vision import TORCHVISION, expected_files

    return expected_files(TORCHVISION[name], data_dir)


def problems(name: str, data_dir: Path) -> list[str]:
    """What is missing or corrupt; [] when the trainer can read the dataset."""
    files = dataset_files(name, data_dir)
    if name == "reddit":
        splits = {p.parent.name for p, _ in files}
        return [
            f"{data_dir}/reddit/{s}/*.json is missing" for s in ("train", "test") if s not in splits
        ]
    from torchvision.datasets.utils import check_integrity

    return [
        f"{path} is {'missing' if not path.is_file() else 'corrupt (MD5)'}"
        for path, md5 in files
        if not (path.is_file() and check_integrity(str(path), md5))
    ]


def _download(name: str, data_dir: Path) -> None:
    from trainer.data.vision import TORCHVISION

    try:
        for train in (True, False):
            TORCHVISION[name](str(data_dir), train=train, download=True)
    except (RuntimeError, OSError) as err:
        raise PrepError(
            f"{name}: download into {data_dir} failed ({err}); give the Job network access, "
            f"or bake it into the image (docker build --build-arg FLTK_DATASETS={name})"
        ) from None


def _copy_baked(name: str, baked: Path, data_dir: Path) -> bool:
    """Copy a dataset baked into the image onto the volume; False if the image lacks it."""
    if not marker(baked, name).is_file():
        return False
    for path, _ in dataset_files(name, baked):
        target = data_dir / path.relative_to(baked)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return True


def _write_marker(data_dir: Path, name: str, how: str) -> None:
    path = marker(data_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(str(p.relative_to(data_dir)) for p, _ in dataset_files(name, data_dir))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"dataset": name, "how": how, "files": files}, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def prepare_one(name: str, mode: str, data_dir: Path, baked: Path | None) -> str:
    """Make one dataset ready; returns how (ready, copied, downloaded, checked)."""
    if marker(data_dir, name).is_file() and not problems(name, data_dir):
        return "ready"
    how = "checked"
    if problems(name, data_dir):
        if baked is not None and _copy_baked(name, baked, data_dir):
            how = "copied"
        elif mode == "download" and name != "reddit":
            _download(name, data_dir)
            how = "downloaded"
    missing = problems(name, data_dir)
    if missing:
        hint = (
            "run LEAF's reddit preprocessing and copy data/reddit/{train,test} there"
            if name == "reddit"
            else f"copy the files there, set dataset.download: true, or bake {name} into the image"
        )
        raise PrepError(f"{name}: {missing[0]} ({len(missing)} problem(s)); {hint}")
    _write_marker(data_dir, name, how)
    return how


def wait(
    names: Sequence[str],
    data_dir: Path,
    poll: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
) -> None:
    """Return once every marker exists, saying every minute what is still missing."""
    waited = 0.0
    while missing := [n for n in names if not marker(data_dir, n).is_file()]:
        if waited % 60 < poll:
            log(f"{PROG}: waiting for {', '.join(missing)} (the <experiment>-dataprep Job)")
        sleep(poll)
        waited += poll
    log(f"{PROG}: ready: {', '.join(names)}")


def _dataset_mode(text: str) -> tuple[str, str]:
    name, _, mode = text.partition("=")
    if name not in DATASETS or (mode or "check") not in contract.DATASET_MODES:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use NAME[=MODE], NAME one of {', '.join(DATASETS)}, "
            f"MODE one of {', '.join(contract.DATASET_MODES)}"
        )
    return name, mode or "check"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="make datasets ready on the data volume")
    prep.add_argument("--data-dir", type=Path, required=True)
    prep.add_argument("--baked-dir", type=Path, default=Path(contract.BAKED_DATA_DIR))
    prep.add_argument("datasets", nargs="+", type=_dataset_mode, metavar="NAME[=MODE]")
    waiter = sub.add_parser("wait", help="block until datasets are ready")
    waiter.add_argument("--data-dir", type=Path, required=True)
    waiter.add_argument("--poll-seconds", type=float, default=5.0)
    waiter.add_argument("datasets", nargs="+", choices=DATASETS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args: Any = _parse(argv)
    if args.command == "wait":
        wait(args.datasets, args.data_dir, args.poll_seconds)
        return 0
    baked = args.baked_dir if args.baked_dir.resolve() != args.data_dir.resolve() else None
    try:
        for name, mode in args.datasets:
            print(f"{PROG}: {name}: {prepare_one(name, mode, args.data_dir, baked)}", flush=True)
    except PrepError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
