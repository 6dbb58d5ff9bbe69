"""Regenerate the goldens deliberately: `python -m tests.compiler.regen [NAME ...]`.

tests/golden/<example>/ (backend pytorchjob) and tests/golden-trainjob/<example>/ (trainjob).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compiler_support import EXAMPLES, GOLDEN_DIRS, build_example  # noqa: E402

from fltkc.compile.write import write_output  # noqa: E402


def main(names: list[str]) -> None:
    for name in names or EXAMPLES:
        for job_backend, golden in GOLDEN_DIRS.items():
            files = build_example(name, job_backend=job_backend)
            write_output(files, golden / name)
            print(f"tests/{golden.name}/{name}: {len(files)} files")


if __name__ == "__main__":
    main(sys.argv[1:])
