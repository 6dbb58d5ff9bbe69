"""clients.jsonl: one record per selected client per round attempt.

Fields: round (1-based, as metrics.jsonl's step), attempt, client, status (aggregated, late,
dropped, or selected: in time but its attempt had too few updates), samples, slowdown,
simulatedSeconds (until it reported, or failed), simulatedComputeSeconds,
simulatedCommSeconds, bytes (simulated: the model down, and up unless it dropped); for trained
clients also computeSeconds (measured), trainLoss, and loss and accuracy on its held-out split
(federated.clientEvaluation), else null.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trainer.federated.comm import ClientRecord
from trainer.federated.rounds import RoundPlan


def client_records(
    step: int, plan: RoundPlan, results: Sequence[ClientRecord]
) -> list[dict[str, Any]]:
    trained = {r.client: r for r in results}
    out: list[dict[str, Any]] = []
    for attempt in plan.attempts:
        for c in attempt.clients:
            counts = attempt is plan.final and c.status == "aggregated"
            r = trained.get(c.client) if counts else None
            evaluated = r is not None and r.eval_count > 0
            out.append(
                {
                    "round": step,
                    "attempt": attempt.attempt,
                    "client": c.client,
                    "status": c.status,
                    "samples": c.samples,
                    "slowdown": c.slowdown,
                    "simulatedSeconds": c.seconds,
                    "simulatedComputeSeconds": c.compute,
                    "simulatedCommSeconds": c.comm,
                    "bytes": c.wire_bytes,
                    "computeSeconds": None if r is None else r.compute_seconds,
                    "trainLoss": None if r is None else r.loss_sum / max(r.count, 1),
                    "loss": r.eval_loss / r.eval_count if r and evaluated else None,
                    "accuracy": r.eval_correct / r.eval_count if r and evaluated else None,
                }
            )
    return out
