"""`fltkc build` with rjsonnet (the default) and with the official C++ Jsonnet binding
(FLTKC_JSONNET=cpp) on the same experiments: whole-process wall time, peak RSS and a byte
comparison of the two output trees."""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import ROOT, emit

# The compiler's own benchmark experiment, so both compile figures share one input.
from compile_bench import EXPERIMENT

BACKENDS = ("rjsonnet", "cpp")
_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
if done.returncode:
    sys.exit(done.stderr)
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def build(experiment: Path, out: Path, backend: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `fltkc build` process using `backend`."""
    command = [sys.executable, "-m", "fltkc.cli", "build", str(experiment), "-o", str(out)]
    env = {**os.environ, "FLTKC_JSONNET": backend, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, env=env
    )
    if done.returncode:
        raise SystemExit(f"fltkc build with {backend} failed: {done.stderr.strip()}")
    wall, rss_kb = done.stdout.split()
    return float(wall), int(rss_kb) / 1024


def same_tree(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return not mismatch and not errors


def measure(size: int, tmp: Path) -> dict[str, Any]:
    experiment = tmp / f"exp-{size}.yaml"
    experiment.write_text(EXPERIMENT.format(count=size), encoding="utf-8")
    row: dict[str, Any] = {"jobs": size}
    for backend in BACKENDS:
        wall, rss = build(experiment, tmp / f"out-{size}-{backend}", backend)
        row[backend] = {"build": wall, "rss": rss}
    row["identical"] = same_tree(*(tmp / f"out-{size}-{b}" for b in BACKENDS))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100,1000,10000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="fltkc-jsonnet-") as tmp:
        rows = [measure(size, Path(tmp)) for size in sizes]
    emit({"contender": "jsonnet-backends", "rows": rows})


if __name__ == "__main__":
    main()
