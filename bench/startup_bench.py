"""Where a pod's seconds go before its first round: a timeline of `python -m trainer` (one
process, and the server and an executor of three), and the costliest imports.

    python bench/startup_bench.py [--root OTHER_CHECKOUT]   # --root: time another version

The timeline comes from bench/startup_hooks.py, which wraps the trainer's steps by name; the
imports from `python -X importtime`, summed per top-level package the trainer pulls in."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from common import ROOT, Spec, emit
from fltk_fed_bench import free_port, replica_env, trainer_config

from fltkc import contract

HOOKS = Path(__file__).resolve().parent / "startup_hooks.py"
# Imports worth naming; the rest of a top-level package's time is counted under its name.
NAMED = ("torch._dynamo", "torch.utils.tensorboard", "jsonschema", "numpy")


def launch(root: Path, spec: Spec, world_size: int, importtime: bool = False) -> dict[str, Any]:
    """Every rank of one job with the hooks; each rank's timeline and the job's metrics."""
    with tempfile.TemporaryDirectory(prefix="fltk-startup-") as tmp:
        work = Path(tmp)
        (work / contract.CONFIG_KEY).write_text(json.dumps(trainer_config(spec)))
        (work / "data").mkdir()
        port, procs = free_port(), []
        started = time.perf_counter()
        for rank in range(world_size):
            env = replica_env(spec, work, world_size, rank, port)
            env.update(PYTHONPATH=str(root), FLTK_STARTUP_TIMELINE=str(work / f"rank{rank}.json"))
            argv = [sys.executable, *(["-X", "importtime"] if importtime else []), str(HOOKS)]
            procs.append(subprocess.Popen(argv, cwd=work, env=env, stderr=subprocess.PIPE))
        errs = [p.communicate()[1].decode() for p in procs]
        wall = time.perf_counter() - started
        if any(p.returncode for p in procs):
            raise SystemExit(f"startup: ranks exited with {[p.returncode for p in procs]}")
        ranks = [json.loads((work / f"rank{r}.json").read_text()) for r in range(world_size)]
        lines = (work / "logs" / contract.METRICS_FILE).read_text().splitlines()
    rounds = [json.loads(line)["seconds"] for line in lines if line.strip()]
    return {"wall": wall, "ranks": ranks, "roundSeconds": rounds, "stderr": errs}


def steps(events: list[list[Any]]) -> dict[str, float]:
    """Seconds per step (repeated steps summed), and when the first round was done."""
    out: dict[str, float] = {}
    for name, start, end in events:
        out[name] = out.get(name, 0.0) + end - start
        if name in ("first round logged", "first order received", "exit"):
            out[f"{name} at"] = end
    return out


def imports(stderr: str) -> dict[str, float]:
    """Cumulative seconds of the top-level imports, with the NAMED ones taken out of torch."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        micros, depth, name = int(match.group(1)), len(match.group(2)), match.group(3)
        if name in NAMED or depth == 1:
            key = name if name in NAMED else name.split(".")[0]
            totals[key] = totals.get(key, 0.0) + micros / 1e6
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def run(root: Path, spec: Spec) -> dict[str, Any]:
    one = launch(root, spec, 1)
    three = launch(root, spec, 3)
    traced = launch(root, spec, 1, importtime=True)
    return {
        "root": "this checkout" if root == ROOT else root.name,
        "one": {
            "wall": one["wall"],
            "steps": steps(one["ranks"][0]),
            "rounds": one["roundSeconds"],
        },
        "three": {
            "wall": three["wall"],
            "server": steps(three["ranks"][0]),
            "executor": steps(three["ranks"][1]),
            "rounds": three["roundSeconds"],
        },
        "imports": imports(traced["stderr"][0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to time")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    emit(run(args.root.resolve(), replace(Spec(), rounds=args.rounds)))


if __name__ == "__main__":
    main()
