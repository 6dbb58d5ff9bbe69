"""Load stage: parse one YAML file safely, recording the line and column of every node."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

import yaml

from fltkc.compile.input_files import MIB, InputFileError, read_capped
from fltkc.errors import CompileError, Diagnostic, Path, format_path


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, reading exponent floats without a dot (`1e-3`) as YAML 1.2 does.

    PyYAML implements YAML 1.1, whose floats need a dot and a signed exponent, so `lr: 1e-3`
    would be the string "1e-3"; appended last, this resolver changes nothing 1.1 already reads.
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
# Integers both YAML versions read alike; other YAML 1.1 forms (octal 010, 1_000, 1:30, 0b1)
# mean something else, or nothing, in YAML 1.2 and in every JSON or YAML 1.2 tool.
_PORTABLE_INT = re.compile(r"[-+]?(0|[1-9][0-9]*|0x[0-9a-fA-F]+)")
_OCTAL = re.compile(r"[-+]?0[0-7]+")
MAX_FILE_BYTES = 16 * MIB  # 100,000 fixed offsets are about 1 MiB
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SCALAR_TAGS = {_STR, _TIMESTAMP} | {
    f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null")
}
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
MAX_NODES = 1_000_000  # aliases can expand a small file into a huge document
MAX_DEPTH = 64
Position = tuple[int, int]


@dataclass(frozen=True)
class Source:
    """A parsed input file: its data plus where each value (and each mapping key) starts."""

    file: str
    base_dir: FsPath
    document: Any
    positions: Mapping[Path, Position]
    key_positions: Mapping[Path, Position]

    def where(self, path: Path, at_key: bool = False) -> Position:
        """Position of `path`, or of its nearest ancestor present in the file."""
        if at_key and path in self.key_positions:
            return self.key_positions[path]
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def diag(self, path: Path, message: str, at_key: bool = False) -> Diagnostic:
        line, col = self.where(path, at_key)
        return Diagnostic(self.file, line, col, format_path(path), message)


def load(path: FsPath, display: str | None = None) -> Source:
    """Read and parse `path`; `display` is the name diagnostics use (default: as given)."""
    name = display or str(path)
    try:
        text = read_capped(path, MAX_FILE_BYTES).decode("utf-8")
    except InputFileError as exc:
        message = "file not found" if str(exc) == "not found" else f"cannot read the file ({exc})"
        raise CompileError([Diagnostic(name, 1, 1, "", message)]) from None
    except UnicodeDecodeError as exc:
        message = f"cannot read the file (not UTF-8 text: byte {exc.start})"
        raise CompileError([Diagnostic(name, 1, 1, "", message)]) from None
    return load_text(text, name, path.parent)


def load_text(text: str, file: str, base_dir: FsPath = FsPath(".")) -> Source:
    """Parse YAML text into a `Source`; every problem found becomes one diagnostic."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = ", ".join(part for part in (exc.context, exc.problem) if part) or "malformed"
        raise CompileError([Diagnostic(file, line, col, "", f"invalid YAML: {problem}")]) from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        message = f"invalid YAML: {exc.__class__.__name__}"
        raise CompileError([Diagnostic(file, 1, 1, "", message)]) from None
    if node is None:
        message = "the file is empty; expected an Experiment mapping (apiVersion, kind, ...)"
        raise CompileError([Diagnostic(file, 1, 1, "", message)])
    builder = _Builder(file)
    document = builder.build(node, ())
    if builder.diagnostics:
        raise CompileError(builder.diagnostics)
    return Source(file, base_dir, document, builder.positions, builder.key_positions)


class _Builder:
    """Turns composed nodes into plain JSON-like data, collecting diagnostics on the way."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[Path, Position] = {}
        self.key_positions: dict[Path, Position] = {}
        self.diagnostics: list[Diagnostic] = []
        self.constructor = yaml.constructor.SafeConstructor()
        self.count = 0

    def error(self, node: yaml.Node, path: Path, message: str) -> None:
        mark = node.start_mark
        diag = Diagnostic(self.file, mark.line + 1, mark.column + 1, format_path(path), message)
        self.diagnostics.append(diag)

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES or len(path) > MAX_DEPTH:
            if self.count == MAX_NODES + 1 or len(path) == MAX_DEPTH + 1:
                self.error(node, path, "document too large or nested too deeply; simplify it")
            return None
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag not in _COLLECTION_TAGS:
                self.error(node, path, f"unsupported YAML tag {node.tag}; remove it")
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        if node.tag not in _COLLECTION_TAGS:
            self.error(node, path, f"unsupported YAML tag {node.tag}; remove it")
        out: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, path)
            if key is None:
                continue
            child = (*path, key)
            if key in first_seen:
                message = f"duplicate key {key!r} (first at line {first_seen[key]}); keep one"
                self.error(key_node, child, message)
                continue
            first_seen[key] = key_node.start_mark.line + 1
            self.key_positions[child] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            out[key] = self.build(value_node, child)
        return out

    def key(self, node: yaml.Node, path: Path) -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR:
            return str(node.value)
        if node.tag == "tag:yaml.org,2002:merge":
            self.error(node, path, "YAML merge keys (<<) are not supported; write the fields out")
        elif isinstance(node, yaml.ScalarNode):
            self.error(node, path, f"key {node.value!r} is not a string; quote it")
        else:
            self.error(node, path, "a mapping key must be a plain string")
        return None

    def scalar(self, node: yaml.Node, path: Path) -> Any:
        if node.tag == _TIMESTAMP:
            return str(node.value)
        if node.tag not in _SCALAR_TAGS:
            self.error(node, path, f"unsupported YAML tag {node.tag}; remove it")
            return None
        if node.tag in (_INT, _FLOAT) and (problem := _yaml11_only(str(node.value))):
            self.error(node, path, problem)
            return None
        try:
            value = self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError):
            self.error(node, path, f"cannot read the value {node.value!r}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.error(node, path, f"{node.value} is not a finite number")
            return None
        return value


def _yaml11_only(text: str) -> str | None:
    """The problem with a number YAML 1.1 reads differently from YAML 1.2, if it is one."""
    if _PORTABLE_INT.fullmatch(text):
        return None
    if _OCTAL.fullmatch(text):
        octal, decimal = int(text, 8), int(text, 10)
        if octal == decimal:
            return None
        return (
            f"ambiguous number {text}: octal {octal} in YAML 1.1, {decimal} in YAML 1.2; "
            f"write {decimal} or {octal}"
        )
    if "_" in text or ":" in text or "0b" in text:
        value = yaml.safe_load(text)
        return (
            f"ambiguous number {text}: {value} in YAML 1.1, a string in YAML 1.2; "
            f"write {value}, or quote it for a string"
        )
    return None
