"""No input makes load + validate + expand fail with anything but a CompileError."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from compiler_support import EXAMPLES_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fltkc.compile.expand import expand
from fltkc.compile.load import load_text
from fltkc.compile.validate import validate
from fltkc.errors import CompileError

QUICKSTART = yaml.safe_load((EXAMPLES_DIR / "quickstart.yaml").read_text())
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["mnist", "federated", "poisson", "500m", "2Gi", "fltk.node:NoSchedule"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _compile(text: str) -> None:
    try:
        expand(validate(load_text(text, "exp.yaml")))
    except CompileError as exc:
        assert exc.diagnostics, "a CompileError must carry at least one diagnostic"
        for d in exc.diagnostics:
            assert d.line >= 1 and d.col >= 1 and "\n" not in d.message


@SETTINGS
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    _compile(text)


@SETTINGS
@given(values)
def test_random_structures(doc: Any) -> None:
    _compile(yaml.safe_dump(doc))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(QUICKSTART)[1:]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(PATHS), values | st.just("<delete>")), max_size=3))
def test_mutated_quickstart(mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    doc = copy.deepcopy(QUICKSTART)
    for path, value in mutations:
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            if value == "<delete>":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    _compile(yaml.safe_dump(doc))


json_keys = st.text(max_size=10)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.text(alphabet="ab \n{}:-#'\"", max_size=20),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_keys, inner, max_size=4),
    max_leaves=25,
)


@SETTINGS
@given(st.dictionaries(json_keys, json_values, max_size=5))
def test_yaml_writer_round_trips(obj: dict[str, Any]) -> None:
    from fltkc.compile.emit import to_yaml

    text = to_yaml(obj)
    assert yaml.safe_load(text) == (obj or None)
    assert to_yaml(obj) == text
