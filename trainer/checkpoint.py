"""One dict of named states per checkpoint, written atomically and checked against the config.

No RNG state is stored: each epoch, round and client reseeds the generators from
(job seed, step, rank or client), so a resumed run repeats the lost step bit for bit."""

from __future__ import annotations

import io
import os
import pickle
import threading
from pathlib import Path
from typing import Any

import torch

from trainer.errors import UsageError

FORMAT = 1


def serialise(step: int, fingerprint: str, states: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "step": step, "fingerprint": fingerprint, **states}, buffer)
    return buffer.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """Write temp + fsync + os.replace, so a kill at any moment leaves the old or the new file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def save_checkpoint(path: Path, step: int, fingerprint: str, states: dict[str, Any]) -> None:
    write_atomically(path, serialise(step, fingerprint, states))


class CheckpointWriter:
    """Saves in the background, one checkpoint at a time, so the disk's fsync overlaps the next
    step. `save` serialises in the caller's thread, as the states change right after it."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def save(self, path: Path, step: int, fingerprint: str, states: dict[str, Any]) -> None:
        data = serialise(step, fingerprint, states)
        self.wait()
        self._thread = threading.Thread(
            target=self._write, args=(path, data), name="fltk-checkpoint", daemon=True
        )
        self._thread.start()

    def _write(self, path: Path, data: bytes) -> None:
        try:
            write_atomically(path, data)
        except BaseException as exc:  # raised in the caller's thread by wait()
            self._error = exc

    def wait(self) -> None:
        """Block until the last checkpoint is on disk; raise what writing it raised."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error


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
