"""Positioned diagnostics and the one error type every compiler stage raises."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fltkc.contract import EXIT_USAGE

Path = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in an input file, printed as `file:line:col: path: message`."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.col}: {where}{self.message}"


class FltkcError(Exception):
    """An expected failure: the CLI prints `lines()` and exits with `exit_code`, no traceback."""

    exit_code = EXIT_USAGE

    def lines(self) -> list[str]:
        return str(self).splitlines() or [self.__class__.__name__]


class CompileError(FltkcError):
    """All diagnostics of a failed stage, sorted by position."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(set(diagnostics))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def format_path(path: Path) -> str:
    """`("spec", "tasks", 0, "name")` -> `spec.tasks[0].name`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
