"""Shared paths and helpers of the compiler tests (examples, goldens, bad files)."""

from __future__ import annotations

from pathlib import Path

from fltkc.compile.build import build_files, plan_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
GOLDEN_DIR = ROOT / "tests" / "golden"
# The same examples built with --backend trainjob (TrainJobs and TrainingRuntimes).
GOLDEN_TRAINJOB_DIR = ROOT / "tests" / "golden-trainjob"
GOLDEN_DIRS = {"pytorchjob": GOLDEN_DIR, "trainjob": GOLDEN_TRAINJOB_DIR}
BAD_DIR = ROOT / "tests" / "bad"
EXAMPLES = sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml"))


def build_example(
    name: str, backend: str | None = None, job_backend: str | None = None
) -> dict[str, bytes]:
    """The file map `fltkc build examples/<name>.yaml [--backend job_backend]` writes."""
    plan = plan_file(EXAMPLES_DIR / f"{name}.yaml", job_backend=job_backend)
    return build_files(plan, backend=backend)


def read_dir(directory: Path) -> dict[str, bytes]:
    """Every file of a flat directory, by name."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}
