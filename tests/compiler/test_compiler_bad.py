"""tests/bad/NN-what.yaml must fail with exactly the lines of NN-what.expected, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from compiler_support import BAD_DIR

from fltkc.compile.build import plan_file
from fltkc.compile.expand import expand
from fltkc.compile.load import load
from fltkc.compile.validate import validate
from fltkc.errors import CompileError

BAD = sorted(BAD_DIR.glob("*.yaml"))


def test_corpus_is_large_enough() -> None:
    assert len(BAD) >= 30
    assert all(p.with_suffix(".expected").is_file() for p in BAD)


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_file_gives_exact_diagnostics(path: Path) -> None:
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    with pytest.raises(CompileError) as info:
        expand(validate(load(path, display=path.name)))
    assert [str(d) for d in info.value.diagnostics] == expected
    assert info.value.exit_code == 2


def test_diagnostics_are_sorted_by_position() -> None:
    with pytest.raises(CompileError) as info:
        plan_file(BAD_DIR / "43-many-errors.yaml")
    positions = [(d.line, d.col) for d in info.value.diagnostics]
    assert len(positions) == 4 and positions == sorted(positions)
