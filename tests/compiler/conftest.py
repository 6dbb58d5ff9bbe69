"""Make tests/k8s_tools.py and compiler_support.py importable from the compiler tests."""

import sys
from pathlib import Path

# pytest's default (prepend) import mode puts only this folder on sys.path for these modules.
for folder in (Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
