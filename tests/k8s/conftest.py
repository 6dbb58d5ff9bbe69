"""Make tests/k8s_tools.py importable from this folder as it is from tests/ itself."""

import sys
from pathlib import Path

# pytest's default (prepend) import mode puts only this folder on sys.path for these modules.
_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
