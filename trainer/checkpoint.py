"""One dict of named states per checkpoint, written atomically and checked against the config.

No RNG state is stored: each epoch, round and client reseeds the generators from
(job seed, step, rank or client), so a resumed run repeats the lost step bit for bit."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from trainer.errors import UsageError

FORMAT = 1


def save_checkpoint(path: Path, step: int, fingerprint: str, states: dict[str, Any]) -> None:
    """Write temp + fsync + os.replace, so a kill at any moment leaves the old or the new file."""
    payload = {"format": FORMAT, "step": step, "fingerprint": fingerprint, **states}
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        torch.save(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path, fingerprint: str) -> dict[str, Any] | None:
    """The saved dict, or None when there is none; one written for another config is an error."""
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # its message is advice about weights_only, not ours
        raise UsageError(f"{path}: not a trainer checkpoint; delete it to start over") from None
    except (OSError, RuntimeError, EOFError) as exc:  # unreadable, not a zip, truncated, empty
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(
            f"{path}: unreadable checkpoint ({reason}); delete it to start over"
        ) from None
    if not isinstance(payload, dict):
        raise UsageError(f"{path}: not a trainer checkpoint; delete it to start over")
    if payload.get("format") != FORMAT or payload.get("fingerprint") != fingerprint:
        raise UsageError(
            f"{path}: this checkpoint belongs to a different trainer config; "
            "delete it or give the job a fresh log directory"
        )
    return payload
