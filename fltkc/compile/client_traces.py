"""Client trace files: device capacities and availability windows -> the trainer config's tables.

FedScale ships its traces as pickles, which are never unpickled here; the same fields are read
from a CSV or a JSON file. Capacities: `client,computation,communication` (compute in ms per
sample, bandwidth in kbit/s), or JSON `{"<client>": {"computation": ..., "communication": ...}}`.
Availability: `client,start,end` windows in simulated seconds, or JSON `{"<client>": {"active":
[...], "inactive": [...], "finish_time": ...}}` (window i is active[i]..inactive[i]; finish_time
is that client's period). A CSV starts with its header line; `#` starts a comment.

Files are read at validation (every file a task or its sweep names) under the rules of arrival
traces (fltkc.compile.input_files: a regular file below the experiment's folder, at most
MAX_TRACE_BYTES); each job's config gets the rows of its own clients, where a row for a client
the job does not have is an error at its line.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, Literal

from fltkc.compile.arrivals import MAX_TRACE_BYTES
from fltkc.compile.input_files import InputFileError, read_below
from fltkc.compile.load import Source
from fltkc.errors import CompileError, Diagnostic, Path

Kind = Literal["capacity", "availability"]
HEADERS: dict[Kind, tuple[str, str, str]] = {
    "capacity": ("client", "computation", "communication"),
    "availability": ("client", "start", "end"),
}
MAX_PROBLEMS = 10  # a wrong file must not flood the log


@dataclass(frozen=True)
class Row:
    line: int
    client: int
    first: float  # computation (ms/sample) or window start (s)
    second: float  # communication (kbit/s) or window end (s)


@dataclass(frozen=True)
class ClientTrace:
    kind: Kind
    display: str  # the path as messages show it
    rows: tuple[Row, ...]
    periods: Mapping[int, float]  # availability: a JSON trace's per-client finish_time


def trace_refs(training: Mapping[str, Any]) -> Iterator[tuple[Kind, str, Path]]:
    """(kind, file, path in the task) of each trace file a task's trainer fields name."""
    federated = training.get("federated")
    block = federated.get("clientBehaviour") if isinstance(federated, dict) else None
    if not isinstance(block, dict):
        return
    where: Path = ("federated", "clientBehaviour")
    speed, availability = block.get("speed"), block.get("availability")
    if isinstance(speed, dict) and speed.get("distribution") == "trace":
        yield "capacity", str(speed.get("file")), (*where, "speed", "file")
    if isinstance(availability, dict) and availability.get("model") == "trace":
        yield "availability", str(availability.get("file")), (*where, "availability", "file")


def _points(task: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], Path]]:
    """The task's trainer fields, then each sweep value applied alone, with where it is."""
    yield dict(task), ()
    for key, values in task.get("sweep", {}).get("grid", {}).items():
        if not key.startswith("federated"):
            continue
        for i, value in enumerate(values):
            point = copy.deepcopy(dict(task))
            target = point
            *parents, last = key.split(".")
            for part in parents:
                nxt = target.get(part)
                target[part] = nxt = dict(nxt) if isinstance(nxt, dict) else {}
                target = nxt
            target[last] = value
            yield point, ("sweep", "grid", key, i)


def read_client_traces(
    source: Source,
) -> tuple[dict[tuple[int, str], ClientTrace], list[Diagnostic]]:
    """Every client trace the tasks name, by (task index, file), and the problems found."""
    traces: dict[tuple[int, str], ClientTrace] = {}
    problems: list[Diagnostic] = []
    for i, task in enumerate(source.document["spec"]["tasks"]):
        for point, origin in _points(task):
            for kind, file, path in trace_refs(point):
                if (i, file) in traces:
                    continue
                where = ("spec", "tasks", i, *(origin or path))
                trace, found = read_trace(source, file, kind, where)
                problems += found
                if trace is not None:
                    traces[(i, file)] = trace
    return traces, problems


def read_trace(
    source: Source, file: str, kind: Kind, where: Path
) -> tuple[ClientTrace | None, list[Diagnostic]]:
    display = str(FsPath(source.file).parent / file)
    try:  # the arrival traces' rule: a regular file below the experiment's folder, size-capped
        text = read_below(source.base_dir, file, MAX_TRACE_BYTES)
    except InputFileError as exc:
        return None, [source.diag(where, f"cannot read client trace {display} ({exc})")]
    parse = _parse_json if file.lower().endswith(".json") else _parse_csv
    rows, periods, problems = parse(text, kind, display)
    if not rows and not problems:
        problems.append(source.diag(where, f"client trace {display} holds no rows"))
    return ClientTrace(kind, display, tuple(rows), periods), problems[: MAX_PROBLEMS + 1]


def _problem(display: str, line: int, message: str, col: int = 1) -> Diagnostic:
    return Diagnostic(display, line, col, "", message)


def _check(kind: Kind, client: Any, a: float, b: float) -> str | None:
    if not isinstance(client, int) or isinstance(client, bool) or client < 0:
        return f"client {client!r} is not a client id; expected an integer >= 0"
    if not all(math.isfinite(x) for x in (a, b)):
        return "values must be finite numbers"
    if kind == "capacity" and (a <= 0 or b <= 0):
        return "computation (ms per sample) and communication (kbit/s) must be above 0"
    if kind == "availability" and not 0 <= a < b:
        return f"window {a:g}..{b:g}: expected 0 <= start < end (simulated seconds)"
    return None


def _parse_csv(
    text: str, kind: Kind, display: str
) -> tuple[list[Row], dict[int, float], list[Diagnostic]]:
    header = HEADERS[kind]
    rows: list[Row] = []
    problems: list[Diagnostic] = []
    lines = [(n, ln.split("#", 1)[0].strip()) for n, ln in enumerate(text.splitlines(), 1)]
    lines = [(n, body) for n, body in lines if body]
    if not lines or tuple(c.strip() for c in lines[0][1].split(",")) != header:
        at = lines[0][0] if lines else 1
        return [], {}, [_problem(display, at, f"expected the header line {','.join(header)}")]
    for number, body in lines[1:]:
        cells = next(csv.reader([body]))
        try:
            client, a, b = int(cells[0]), float(cells[1]), float(cells[2])
            message = None if len(cells) == 3 else "expected 3 columns"
        except (ValueError, IndexError):
            client, a, b, message = -1, 0.0, 0.0, f"expected {','.join(header)} numbers"
        message = message or _check(kind, client, a, b)
        if message:
            problems.append(_problem(display, number, message))
        else:
            rows.append(Row(number, client, a, b))
    return rows, {}, problems + _duplicates(kind, rows, display)


def _json_line(text: str, key: str) -> int:
    """The line where `"key":` first appears (JSON gives no positions)."""
    match = re.search(rf'"{re.escape(key)}"\s*:', text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _parse_json(
    text: str, kind: Kind, display: str
) -> tuple[list[Row], dict[int, float], list[Diagnostic]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], {}, [_problem(display, exc.lineno, f"invalid JSON: {exc.msg}", exc.colno)]
    if not isinstance(data, dict):
        return [], {}, [_problem(display, 1, "expected an object of client id -> fields")]
    rows: list[Row] = []
    periods: dict[int, float] = {}
    problems: list[Diagnostic] = []
    for key, entry in data.items():
        line = _json_line(text, key)
        client = int(key) if key.isdigit() else key
        try:
            pairs, period = _json_entry(kind, entry)
        except (KeyError, TypeError, ValueError):
            fields = "computation, communication" if kind == "capacity" else "active, inactive"
            problems.append(_problem(display, line, f"client {key}: expected numbers {fields}"))
            continue
        for a, b in pairs:
            message = _check(kind, client, a, b)
            if message:
                problems.append(_problem(display, line, message))
                break
            rows.append(Row(line, int(client), a, b))
        if period is not None and isinstance(client, int):
            periods[client] = period
    return rows, periods, problems + _duplicates(kind, rows, display)


def _json_entry(kind: Kind, entry: Any) -> tuple[list[tuple[float, float]], float | None]:
    if kind == "capacity":
        return [(float(entry["computation"]), float(entry["communication"]))], None
    active, inactive = entry["active"], entry["inactive"]
    if len(active) != len(inactive):
        raise ValueError("unpaired")
    period = entry.get("finish_time")
    pairs = [(float(a), float(b)) for a, b in zip(active, inactive, strict=True)]
    return pairs, None if period is None else float(period)


def _duplicates(kind: Kind, rows: list[Row], display: str) -> list[Diagnostic]:
    if kind != "capacity":
        return []
    first: dict[int, int] = {}
    out = []
    for row in rows:
        if row.client in first:
            message = f"client {row.client} again (first at line {first[row.client]}); keep one"
            out.append(_problem(display, row.line, message))
        first.setdefault(row.client, row.line)
    return out


def resolve_traces(
    training: dict[str, Any],
    traces: Mapping[str, ClientTrace],
    source: Source,
    where: Path,
) -> None:
    """Replace trace-file references in `training` (in place) by the tables of its clients;
    CompileError at the trace's lines for clients the job does not have."""
    federated = training["federated"]
    clients = int(federated["clients"])
    block = federated.get("clientBehaviour", {})
    problems: list[Diagnostic] = []
    for kind, file, path in list(trace_refs(training)):
        trace = traces[file]
        unknown = [r for r in trace.rows if r.client >= clients]
        problems += [
            _problem(
                trace.display,
                r.line,
                f"client {r.client} is not a client of this task (clients 0..{clients - 1}); "
                "remove the row or raise federated.clients",
            )
            for r in unknown[:MAX_PROBLEMS]
        ]
        if kind == "capacity":
            missing = sorted(set(range(clients)) - {r.client for r in trace.rows})
            if missing:
                shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
                message = (
                    f"{trace.display} has no row for client {shown} (of 0..{clients - 1}); "
                    "every client needs its computation and communication"
                )
                problems.append(source.diag((*where, *path), message))
            block["speed"] = _capacity_table(trace, clients)
        else:
            block["availability"] = _windows(trace, clients, block["availability"])
    if problems:
        raise CompileError(problems)


def _capacity_table(trace: ClientTrace, clients: int) -> dict[str, Any]:
    by_client = {r.client: r for r in trace.rows if r.client < clients}
    ordered = [by_client[c] for c in range(clients) if c in by_client]
    return {
        "distribution": "table",
        "computeMsPerSample": [r.first for r in ordered],
        "bandwidthKbps": [r.second for r in ordered],
    }


def _windows(trace: ClientTrace, clients: int, spec: Mapping[str, Any]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [{"windows": []} for _ in range(clients)]
    for row in sorted(trace.rows, key=lambda r: (r.client, r.first, r.second)):
        if row.client < clients:
            entries[row.client]["windows"].append([row.first, row.second])
    for c, entry in enumerate(entries):
        period = trace.periods.get(c, spec.get("periodSeconds"))
        if period is not None:
            entry["periodSeconds"] = period
    return {"model": "windows", "clients": entries}
