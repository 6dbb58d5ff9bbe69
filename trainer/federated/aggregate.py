"""A model as one flat vector (parameters, float buffers, counters) and the aggregation of many.

Under a MeanStrategy each executor adds its clients into one `Partial` and the server adds the
executors' partials (`combine`): one vector per executor crosses the wire, not one per client.

Strategies combine the parameters. BatchNorm's running statistics are float buffers: they are
not gradients, so no server optimizer applies to them; each strategy's `aggregate_buffers`
combines them (a sample-weighted mean, the median rules use their own robust rule). Integer
buffers such as `num_batches_tracked` are counters: the maximum over the clients is kept, as
every client started from the same global count and the largest one saw the most batches."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from trainer.federated.strategies.base import MeanStrategy, Strategy


@dataclass(frozen=True)
class Layout:
    """Where each tensor of a model lives in its flat vector: parameters, floats, counters."""

    names: tuple[str, ...]
    sizes: tuple[int, ...]
    params: int  # elements of the parameter segment [0, params)
    floats: int  # elements of the float-buffer segment [params, params + floats)
    counts: int  # elements of the counter segment, after that

    @property
    def size(self) -> int:
        return self.params + self.floats + self.counts

    @property
    def means(self) -> int:
        """Elements the mean strategies average: parameters and float buffers."""
        return self.params + self.floats

    @classmethod
    def of(cls, model: nn.Module) -> Layout:
        tensors = _ordered(model)
        kinds = [k for k, _, _ in tensors]
        sizes = [t.numel() for _, _, t in tensors]
        total = {
            kind: sum(s for k, s in zip(kinds, sizes, strict=True) if k == kind)
            for kind in range(3)
        }
        return cls(
            names=tuple(n for _, n, _ in tensors),
            sizes=tuple(sizes),
            params=total[0],
            floats=total[1],
            counts=total[2],
        )


def _ordered(model: nn.Module) -> list[tuple[int, str, torch.Tensor]]:
    """(kind, name, tensor): parameters first, then float buffers, then integer buffers."""
    out: list[tuple[int, str, torch.Tensor]] = [(0, n, p) for n, p in model.named_parameters()]
    for name, buf in model.named_buffers():
        out.append((1 if buf.is_floating_point() else 2, name, buf))
    return sorted(out, key=lambda item: item[0])


@torch.no_grad()
def flatten(model: nn.Module) -> torch.Tensor:
    """The model's state as one float32 vector on the CPU, in Layout order."""
    parts = [t.detach().reshape(-1).to("cpu", torch.float32) for _, _, t in _ordered(model)]
    return torch.cat(parts)


@torch.no_grad()
def load_vector(model: nn.Module, vector: torch.Tensor) -> None:
    """Copy a Layout-ordered vector into the model in place (counters are rounded back)."""
    offset = 0
    for _, _, tensor in _ordered(model):
        n = tensor.numel()
        chunk = vector[offset : offset + n].view_as(tensor)
        tensor.copy_(chunk.round() if not tensor.is_floating_point() else chunk)
        offset += n


def aggregate(
    strategy: Strategy,
    layout: Layout,
    global_vector: torch.Tensor,
    vectors: Sequence[torch.Tensor],
    samples: Sequence[int],
) -> torch.Tensor:
    """The next global vector from the clients' trained vectors and their sample counts."""
    weights = torch.tensor(samples, dtype=torch.float64)
    if not vectors or float(weights.sum()) <= 0:
        return global_vector.clone()
    stacked = torch.stack(list(vectors))
    p, f = layout.params, layout.params + layout.floats
    params = strategy.aggregate(global_vector[:p], stacked[:, :p], weights)
    floats = strategy.aggregate_buffers(stacked[:, p:f], weights)
    counts = stacked[:, f:].amax(dim=0)
    return torch.cat([params.float(), floats.float(), counts.float()])


class Partial:
    """An executor's share of a round under a MeanStrategy, as one float64 vector of
    layout.size + 1 elements: sum_k n_k x_k over the parameters and float buffers (added
    client by client, as `weighted_mean` adds rows), the maximum of each counter, sum_k n_k."""

    def __init__(self, layout: Layout, data: torch.Tensor | None = None) -> None:
        self.layout = layout
        if data is None:
            data = torch.zeros(layout.size + 1, dtype=torch.float64)
            data[layout.means : layout.size] = -math.inf
        self.data = data

    @property
    def weight(self) -> float:
        return float(self.data[-1])

    @torch.no_grad()
    def add(self, model: nn.Module, samples: int) -> None:
        """Add a trained client straight from its tensors, with no flat float32 copy."""
        offset = 0
        for kind, _, tensor in _ordered(model):
            n = tensor.numel()
            flat, chunk = tensor.detach().reshape(-1).cpu(), self.data[offset : offset + n]
            if kind == 2:
                torch.maximum(chunk, flat.to(torch.float64), out=chunk)
            else:
                chunk.add_(flat, alpha=float(samples))
            offset += n
        self.data[-1] += samples


def combine(
    strategy: MeanStrategy, layout: Layout, global_vector: torch.Tensor, partials: Sequence[Partial]
) -> torch.Tensor:
    """The next global vector from the executors' partials, added in the order given.

    A float32 value times a sample count is exact in float64, and so is a sum of them while a
    coordinate's client values lie within about 2^29 / (total samples) of each other in
    magnitude: then how the clients are split over executors does not change the result. Past
    that, it may differ in the last bit of float32."""
    sums = torch.zeros(layout.means, dtype=torch.float64)
    counts = torch.full((layout.counts,), -math.inf, dtype=torch.float64)
    weight = 0.0
    for part in partials:
        sums.add_(part.data[: layout.means])
        torch.maximum(counts, part.data[layout.means : layout.size], out=counts)
        weight += part.weight
    if not partials or weight <= 0:
        return global_vector.clone()
    mean = sums / weight
    params = strategy.step(global_vector[: layout.params], mean[: layout.params])
    return torch.cat([params.float(), mean[layout.params :].float(), counts.float()])
