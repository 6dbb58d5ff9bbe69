"""Make tests/k8s_tools.py, tests/compiler/compiler_support.py and the fakes here importable."""

import sys
from pathlib import Path

for folder in (
    Path(__file__).resolve().parent,
    Path(__file__).resolve().parents[1],
    Path(__file__).resolve().parents[1] / "compiler",
):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
