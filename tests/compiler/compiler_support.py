"""Shared paths and helpers of the compiler tests (examples, goldens, bad files)."""

from __future__ import annotations

from pathlib import Path

from fltkc.compile.build import build_files, plan_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
GOLDEN_DIR = ROOT / "tests" / "golden"
BAD_DIR = ROOT / "tests" / "bad"
EXAMPLES = sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml"))


def build_example(name: str, backend: str | None = None) -> dict[str, bytes]:
    """The file map `fltkc build examples/<name>.yaml` writes."""
    return build_files(plan_file(EXAMPLES_DIR / f"{name}.yaml"), backend=backend)


def read_dir(directory: Path) -> dict[str, bytes]:
    """Every file of a flat directory, by name."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}
