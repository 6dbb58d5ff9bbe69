"""Arrival processes: when each task's jobs start, in seconds from the experiment start."""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable, Mapping
from pathlib import Path as FsPath
from typing import Any

from fltkc.compile.input_files import MIB, InputFileError, read_below
from fltkc.compile.load import Source
from fltkc.errors import Diagnostic

MAX_ARRIVALS = 100_000
MAX_TRACE_BYTES = 16 * MIB  # 100,000 offsets with comments fit many times over
MAX_TRACE_PROBLEMS = 10  # a wrong file (a binary, a CSV) must not flood the log
QUOTE_CHARS = 32  # a bad line is quoted this far: the file may hold what a log must not show
_PER_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


def plan_seed(seed: int, *parts: str | int) -> int:
    """A job's or arrival stream's 32-bit seed (FLTK_SEED) from the experiment seed and a tuple.

    The trainer derives its own 63-bit seeds from this one (trainer.seeding.derive_seed).
    """
    digest = hashlib.sha256(json.dumps([seed, *parts]).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _poisson(spec: Mapping[str, Any], rng: random.Random, trace: tuple[float, ...]) -> list[float]:
    rate = spec["rate"] / _PER_SECONDS[spec.get("per", "minute")]
    t = float(spec.get("startSeconds", 0))
    horizon = spec.get("horizonSeconds")
    count = spec.get("count", MAX_ARRIVALS + 1)
    out: list[float] = []
    while len(out) < count:
        t += -math.log(1.0 - rng.random()) / rate
        if horizon is not None and t >= horizon:
            break
        out.append(t)
    return out


def _fixed(spec: Mapping[str, Any], rng: random.Random, trace: tuple[float, ...]) -> list[float]:
    return [float(x) for x in spec["offsetsSeconds"]]


def _uniform(spec: Mapping[str, Any], rng: random.Random, trace: tuple[float, ...]) -> list[float]:
    start, end = float(spec.get("startSeconds", 0)), float(spec["endSeconds"])
    return [start + rng.random() * (end - start) for _ in range(spec["count"])]


def _trace(spec: Mapping[str, Any], rng: random.Random, trace: tuple[float, ...]) -> list[float]:
    return list(trace)


ARRIVALS: dict[
    str, Callable[[Mapping[str, Any], random.Random, tuple[float, ...]], list[float]]
] = {
    "poisson": _poisson,
    "fixed": _fixed,
    "uniform": _uniform,
    "trace": _trace,
}


def arrival_offsets(
    spec: Mapping[str, Any], seed: int, trace: tuple[float, ...] = ()
) -> tuple[float, ...]:
    """Sorted offsets (rounded to milliseconds) drawn with `seed`; ValueError if too many."""
    process = ARRIVALS.get(spec["process"])
    if process is None:
        raise KeyError(
            f"unknown arrival process {spec['process']!r}; use one of: {', '.join(ARRIVALS)}"
        )
    offsets = process(spec, random.Random(seed), trace)
    if len(offsets) > MAX_ARRIVALS:
        raise ValueError(f"more than {MAX_ARRIVALS} arrivals; lower the rate or the horizon")
    return tuple(sorted(round(x, 3) for x in offsets))


def read_traces(source: Source) -> tuple[dict[int, tuple[float, ...]], list[Diagnostic]]:
    """Offsets of every trace-file arrival process, by task index, and the problems found."""
    traces: dict[int, tuple[float, ...]] = {}
    diagnostics: list[Diagnostic] = []
    for i, task in enumerate(source.document["spec"]["tasks"]):
        arrivals = task.get("arrivals", {})
        if arrivals.get("process") != "trace":
            continue
        where = ("spec", "tasks", i, "arrivals", "file")
        display = str(FsPath(source.file).parent / arrivals["file"])
        try:
            text = read_below(source.base_dir, arrivals["file"], MAX_TRACE_BYTES)
        except InputFileError as exc:
            diagnostics.append(source.diag(where, f"cannot read trace file {display} ({exc})"))
            continue
        offsets, problems = parse_trace(text, display)
        traces[i] = offsets
        diagnostics += problems
        if not offsets and not problems:
            diagnostics.append(source.diag(where, f"trace file {display} holds no offsets"))
    return traces, diagnostics


def parse_trace(text: str, display: str) -> tuple[tuple[float, ...], list[Diagnostic]]:
    """One offset in seconds per line; blank lines and `#` comments are skipped."""
    offsets: list[float] = []
    problems: list[Diagnostic] = []
    for number, line in enumerate(text.splitlines(), start=1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        try:
            value = float(body)
        except ValueError:
            value = -1.0
        if not math.isfinite(value) or value < 0:
            if len(problems) == MAX_TRACE_PROBLEMS:
                message = "more lines are not offsets; is this a trace file (one offset a line)?"
                problems.append(Diagnostic(display, number, 1, "", message))
                break
            message = f"{_quote(body)} is not an offset; expected seconds >= 0, one per line"
            problems.append(Diagnostic(display, number, 1, "", message))
        else:
            offsets.append(value)
    if len(offsets) > MAX_ARRIVALS:
        problems.append(Diagnostic(display, 1, 1, "", f"more than {MAX_ARRIVALS} offsets"))
    return tuple(offsets), problems


def _quote(text: str) -> str:
    """`text` quoted, cut to QUOTE_CHARS characters."""
    return repr(text) if len(text) <= QUOTE_CHARS else repr(text[:QUOTE_CHARS]) + "..."
