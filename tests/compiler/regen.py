"""Regenerate tests/golden/<example>/ deliberately: `python -m tests.compiler.regen [NAME ...]`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compiler_support import EXAMPLES, GOLDEN_DIR, build_example  # noqa: E402

from fltkc.compile.write import write_output  # noqa: E402


def main(names: list[str]) -> None:
    for name in names or EXAMPLES:
        files = build_example(name)
        write_output(files, GOLDEN_DIR / name)
        print(f"tests/golden/{name}: {len(files)} files")


if __name__ == "__main__":
    main(sys.argv[1:])
