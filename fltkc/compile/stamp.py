"""Jobs by shape: a job's plan document less its per-job strings, which become numbered tokens.

Jobs whose documents differ only in those strings (names, label and annotation values, env
values, the trainer config) render to the same objects but for the strings, as long as the
templates only place them; fltkc.compile.render_stamped evaluates one job per shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Private-use code points: a plan document holding one takes the full evaluation instead.
OPEN, CLOSE = "\ue000", "\ue001"
TOKEN = re.compile(f"{OPEN}(\\d+)\\.(\\d+){CLOSE}")


class Unstampable(Exception):
    """The plan does not split into shapes and strings; render it by full evaluation."""


def token(shape: int, slot: int) -> str:
    """The string standing for a shape's `slot`th per-job string."""
    return f"{OPEN}{shape}.{slot}{CLOSE}"


def has_token(text: str) -> bool:
    """Whether `text` holds (part of) a token."""
    return OPEN in text or CLOSE in text


@dataclass
class Shapes:
    """One representative document per shape (its strings as that shape's tokens), and for
    every job in plan order its shape and its strings, slot by slot."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    waits: list[tuple[bool, Any]] = field(default_factory=list)  # has a waitData.jobs entry, it
    jobs: list[tuple[int, list[str]]] = field(default_factory=list)


def shapes_of(documents: Iterable[Mapping[str, Any]], waits: Mapping[str, Any]) -> Shapes:
    """Group job documents (plan.jobs' entries) by shape; `waits` is waitData.jobs, whose
    entry for a job (keyed by its name) is part of its shape."""
    shapes = Shapes()
    index: dict[str, int] = {}
    for document in documents:
        skeleton, values = stamped(document, None)
        name = document["name"]
        wait = (name in waits, waits.get(name))
        # Equal reprs are equal documents (another field order only costs a shape).
        key = repr((skeleton, wait))
        shape = index.get(key)
        if shape is None:
            shape = index[key] = len(shapes.documents)
            shapes.documents.append(stamped(document, shape)[0])
            shapes.waits.append(wait)
        shapes.jobs.append((shape, values))
    return shapes


Put = Callable[[list[Any]], list[str]]  # strings -> what stands for them in the skeleton


def stamped(document: Mapping[str, Any], shape: int | None) -> tuple[dict[str, Any], list[str]]:
    """The job document with its per-job strings replaced, and those strings in slot order.

    Replaced by the tokens of `shape`, or by "" when `shape` is None (a key to group by). Per
    job: its name, ConfigMap name and config; the values of its labels and annotations (keys
    are shape); the values of its env lists (names are shape).
    """
    values: list[str] = []

    def put(strings: list[Any]) -> list[str]:
        first = len(values)
        values.extend(strings)
        if shape is None:
            return [""] * len(strings)
        return [token(shape, slot) for slot in range(first, len(values))]

    skeleton = dict(document)
    own = ("name", "configMap", "configJson")
    skeleton.update(zip(own, put([document[key] for key in own]), strict=True))
    for key in ("labels", "annotations"):
        block = document[key]
        names = sorted(block)
        skeleton[key] = dict(zip(names, put([block[name] for name in names]), strict=True))
    skeleton["env"] = _env(document["env"], put)
    trainjob = document.get("trainjob")
    if trainjob is not None:
        roles = [
            {**role, "env": None if role["env"] is None else _env(role["env"], put)}
            for role in trainjob["roles"]
        ]
        trainer_env = _env(trainjob["trainerEnv"], put)
        skeleton["trainjob"] = {**trainjob, "trainerEnv": trainer_env, "roles": roles}
    if not all(type(value) is str for value in values):
        raise Unstampable("a per-job field holds something other than a string")
    return skeleton, values


def _env(items: list[dict[str, Any]], put: Put) -> list[dict[str, Any]]:
    placed = iter(put([item["value"] for item in items if "value" in item]))
    return [{**item, "value": next(placed)} if "value" in item else item for item in items]


Fill = int | list[str | int]  # a slot, or literal text and slots to join


def fill_of(text: str, shape: int) -> Fill:
    """How to rebuild `text` (holding tokens of `shape`) from a job's strings."""
    parts = TOKEN.split(text)
    fill: list[str | int] = []
    for i in range(0, len(parts) - 1, 3):
        literal, of_shape, slot = parts[i : i + 3]
        if int(of_shape) != shape:
            raise Unstampable("an object mixes the strings of two shapes")
        fill += [literal, int(slot)] if literal else [int(slot)]
    if parts[-1]:
        fill.append(parts[-1])
    if any(isinstance(part, str) and has_token(part) for part in fill):
        raise Unstampable("a template cut a per-job string")
    return fill[0] if len(fill) == 1 and isinstance(fill[0], int) else fill


def filled(fill: Fill, values: list[str]) -> str:
    """The text `fill` stands for, given a job's strings."""
    if isinstance(fill, int):
        return values[fill]
    return "".join(part if isinstance(part, str) else values[part] for part in fill)


def shape_of_text(text: str) -> int | None:
    """The shape whose tokens `text` holds (None: none); Unstampable if several or cut."""
    shapes = {int(match.group(1)) for match in TOKEN.finditer(text)}
    if len(shapes) > 1:
        raise Unstampable("an object name mixes the strings of two shapes")
    if not shapes:
        if has_token(text):
            raise Unstampable("a template cut a per-job string")
        return None
    return shapes.pop()
