"""Every random choice of a run derives from the job's seed and a stable tuple naming its use."""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys

import numpy as np
import torch


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed for one use, e.g. derive_seed(seed, "client", round, client)."""
    key = json.dumps([seed, *parts], separators=(",", ":")).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") >> 1


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def make_deterministic() -> None:
    """Prefer deterministic kernels; warn_only because some CUDA ops have no such variant."""
    # cuBLAS reads this when it initialises, so it must be set before the first CUDA matmul.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # torch.use_deterministic_algorithms also flags Inductor, and importing Inductor costs every
    # pod 1.5 s of start-up; the trainer never compiles, so set only the eager flag it sets.
    eager_only = getattr(torch._C, "_set_deterministic_algorithms", None)
    if eager_only is None or "torch._inductor" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        eager_only(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
