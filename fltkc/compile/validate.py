"""Validate stage: JSON Schema, then semantic checks, then the typed `Experiment`."""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from fltkc.compile.arrivals import read_traces
from fltkc.compile.client_traces import read_client_traces
from fltkc.compile.experiment import Experiment, build_experiment
from fltkc.compile.load import Source
from fltkc.compile.rules import semantic_diagnostics
from fltkc.contract.datafiles import EXPERIMENT_SCHEMA, load_schema
from fltkc.errors import CompileError, Diagnostic

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_BOUNDS = {
    "minimum": ">=",
    "maximum": "<=",
    "exclusiveMinimum": ">",
    "exclusiveMaximum": "<",
}


def validate(source: Source) -> Experiment:
    """Check `source` against the experiment schema and the rules it cannot express."""
    diagnostics = schema_diagnostics(source)
    if diagnostics:
        raise CompileError(diagnostics)
    traces, diagnostics = read_traces(source)
    client_traces, problems = read_client_traces(source)
    diagnostics += problems + semantic_diagnostics(source)
    if diagnostics:
        raise CompileError(diagnostics)
    return build_experiment(source, traces, client_traces)


# JSON Schema counts 32.0 as an integer, but the trainer's `range` and DataLoader do not: an
# integer field takes an int, so `batchSize: 1e2` (a float in YAML 1.2) is refused, not crashed on.
_StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


def strict_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A Draft 2020-12 validator whose integers are ints (not integral floats)."""
    validator: Draft202012Validator = _StrictValidator(schema)
    return validator


@cache
def _validator() -> Draft202012Validator:
    return strict_validator(load_schema(EXPERIMENT_SCHEMA))


def schema_diagnostics(source: Source) -> list[Diagnostic]:
    """Every schema violation in the document, positioned and phrased for a person."""
    out: list[Diagnostic] = []
    for error in _validator().iter_errors(source.document):
        out.extend(_describe(error, source))
    return out


def describe_value(value: Any) -> str:
    """A short description of a YAML value for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _expected(schema: Any, fallback: str) -> str:
    return str(schema.get("x-expected", fallback)) if isinstance(schema, dict) else fallback


def _one_of(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _did_you_mean(word: Any, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(error: ValidationError, source: Source) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    kind, value, schema = error.validator, error.instance, error.schema
    if "propertyNames" in error.schema_path:
        expected = _expected(schema, "a valid key")
        return [source.diag((*path, value), f"key {value!r} is not {expected}", at_key=True)]
    if kind == "required":
        missing = [name for name in error.validator_value if name not in value]
        return [source.diag((*path, name), "required field is missing; add it") for name in missing]
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extras = [key for key in value if key not in allowed]
        return [
            source.diag(
                (*path, key),
                f"unknown field{_did_you_mean(key, allowed)}; expected one of: {_one_of(allowed)}",
                at_key=True,
            )
            for key in extras
        ]
    return [source.diag(path, explain(error))]


def explain(error: ValidationError) -> str:
    """What is wrong with the value at the error's path and what is expected."""
    kind, value, schema, expected = (
        error.validator,
        error.instance,
        error.schema,
        error.validator_value,
    )
    got = describe_value(value)
    if kind == "type":
        types = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in types)
        return f"expected {_expected(schema, wanted)}, got {got}"
    if kind == "enum":
        hint = _did_you_mean(value, [str(v) for v in expected])
        return f"{got} is not allowed{hint}; expected one of: {_one_of(expected)}"
    if kind == "const":
        return f"expected {expected!r}, got {got}"
    if kind == "pattern":
        return f"{got} is not {_expected(schema, f'matching {expected}')}"
    if kind in _BOUNDS:
        return f"{got} is out of range; expected a number {_BOUNDS[kind]} {expected}"
    if kind in ("minItems", "minProperties"):
        return f"expected at least {expected} item(s), got {len(value)}"
    if kind == "maxItems":
        return f"expected at most {expected} item(s), got {len(value)}"
    if kind == "minLength":
        return f"expected at least {expected} character(s), got {got}"
    if kind == "maxLength":
        return f"{got} is {len(value)} characters long; expected at most {expected}"
    if kind == "uniqueItems":
        return "items must be unique; remove the repeated one"
    if kind is False or schema is False:
        return "not allowed here; remove it"
    return str(error.message)
