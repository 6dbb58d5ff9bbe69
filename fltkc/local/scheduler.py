"""When jobs may start: their arrival time, then free slots, by priority, then first come."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Pending:
    name: str
    due: float  # seconds after the run started
    replicas: int
    priority: int = 0  # the job's priority class value (fltkc.dev/priority-value); higher first


def due_time(arrival: float, time_scale: float, all_at_once: bool) -> float:
    """When a job arriving `arrival` experiment seconds in is submitted on this machine."""
    return 0.0 if all_at_once else arrival / time_scale


def admit(queue: Sequence[Pending], now: float, free_slots: int) -> list[str]:
    """The jobs at the head of the queue that start now.

    Like a full cluster with a strict FIFO queue ordered by priority (Kueue's StrictFIFO): of
    the jobs that have arrived, higher priority first, then in arrival order; a job starts only
    when all its replicas fit, and none jumps ahead of one that is waiting, so the head blocks
    those behind it. `queue` is in arrival order.
    """
    started = []
    arrived = sorted((job for job in queue if job.due <= now), key=lambda job: -job.priority)
    for job in arrived:
        if job.replicas > free_slots:
            break
        started.append(job.name)
        free_slots -= job.replicas
    return started
