"""When jobs may start: their arrival time, then free slots, first come first served."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Pending:
    name: str
    due: float  # seconds after the run started
    replicas: int


def due_time(arrival: float, time_scale: float, all_at_once: bool) -> float:
    """When a job arriving `arrival` experiment seconds in is submitted on this machine."""
    return 0.0 if all_at_once else arrival / time_scale


def admit(queue: Sequence[Pending], now: float, free_slots: int) -> list[str]:
    """The jobs at the head of the queue that start now.

    Like a full cluster with a FIFO queue: a job starts only when all its replicas fit, and
    no later job jumps ahead of one that is waiting, so the head blocks those behind it.
    """
    started = []
    for job in queue:
        if job.due > now or job.replicas > free_slots:
            break
        started.append(job.name)
        free_slots -= job.replicas
    return started
