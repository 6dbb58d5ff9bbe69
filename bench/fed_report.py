"""The federated figures: our trainer against the floor and Flower, its traffic, its FLOP/s and
start-up, judged against the issues' targets; and the cluster model built from them."""

from __future__ import annotations

import math
import statistics
from typing import Any

from report import Figure, fmt, grouped, judged, label, rates


def federated_figures(runs: list[dict[str, Any]]) -> list[Figure]:
    groups = grouped(runs)
    figures: list[Figure] = []
    for name, rs in groups.items():

        def col(key: str, rs: list[dict[str, float]] = rs) -> tuple[float, ...]:
            return tuple(r[key] for r in rs)

        figures += [
            Figure("federated", f"{name}: rounds/s incl. start-up", "1/s", col("incl")),
            Figure("federated", f"{name}: rounds/s excl. start-up", "1/s", col("excl")),
            Figure("federated", f"{name}: first round", "s", col("first")),
            Figure(
                "federated", f"{name}: final accuracy", "%", tuple(100 * a for a in col("accuracy"))
            ),
        ]
    return figures + federated_ratios(groups)


def _median(groups: dict[str, list[dict[str, float]]], name: str, key: str) -> float:
    return statistics.median(r[key] for r in groups[name])


# The rows the ratios divide by, named as label() names them.
FLOOR = label({"kind": "floor"})
FLOWER = label({"kind": "flower", "workers": 2})
SPUN = label({"kind": "floor-spin"})


def federated_ratios(groups: dict[str, list[dict[str, float]]]) -> list[Figure]:
    """Ours against Flower and the floor, judged against the issues' targets: one process
    at 2.5x Flower with start-up (issue 13), two executors faster than the floor (issue 6)."""
    figures: list[Figure] = []
    for name in (n for n in groups if n.startswith("fltk")):
        for key, what in (("incl", "incl. start-up"), ("excl", "excl. start-up")):
            vs_flower = _median(groups, name, key) / _median(groups, FLOWER, key)
            fig = Figure("ratios", f"{name} / Flower, {what}", "x", (vs_flower,))
            if "WORLD_SIZE=1" in name and key == "incl":
                fig = judged(fig, ">= 2.5x", lambda v: v >= 2.5)
            figures.append(fig)
            vs_floor = _median(groups, name, key) / _median(groups, FLOOR, key)
            fig = Figure("ratios", f"{name} / floor, {what}", "x", (vs_floor,))
            figures.append(judged(fig, "> 1x", lambda v: v > 1) if "2 executors" in name else fig)
            if SPUN in groups:
                vs_spun = _median(groups, name, key) / _median(groups, SPUN, key)
                figures.append(Figure("ratios", f"{name} / {SPUN}, {what}", "x", (vs_spun,)))
        gap = 100 * (_median(groups, name, "accuracy") - _median(groups, FLOOR, "accuracy"))
        figures.append(
            judged(
                Figure("ratios", f"{name}: accuracy - floor", "points", (gap,)),
                "within 1 point",
                lambda v: abs(v) <= 1,
            )
        )
    return figures


def scaling_figures(runs: list[dict[str, Any]]) -> list[Figure]:
    """Median round time (rounds 2..) per contender and clients per round, min/max over rounds;
    what reached our server per round; and the targets at 100 clients per round."""
    figures = []
    for run in runs:
        steady = run["roundSeconds"][1:] or run["roundSeconds"]
        name = f"{label(run)}, {run['perRound']} clients/round"
        figures.append(Figure("scaling", name, "s/round", tuple(steady)))
        if run["kind"] == "fltk":
            figures += ingress_figures(run, name)
    return figures + scaling_targets(runs)


def ingress_figures(run: dict[str, Any], name: str) -> list[Figure]:
    """Server ingress per round: model-sized vectors, and its bytes in float32 model vectors."""
    vectors = Figure("scaling", f"{name}: vectors in per round", "vectors", tuple(run["vectorsIn"]))
    if run["workers"] == 2 and run["perRound"] == 100:
        vectors = judged(vectors, "<= 3 model vectors", lambda v: v <= 3)
    in_bytes = tuple(b / run["vectorBytes"] for b in run["bytesIn"])
    return [vectors, Figure("scaling", f"{name}: bytes in per round", "float32 vectors", in_bytes)]


def scaling_targets(runs: list[dict[str, Any]]) -> list[Figure]:
    """Two executors at 100 clients per round against the floor's rounds/s (rounds 2..), and
    beside it against the floor with the trainer's OpenMP setting; every fltk row's final
    accuracy against the floor's (either one: they compute the same) at its clients/round."""
    floor = {r["perRound"]: r for r in runs if r["kind"] == "floor"}
    spun = {r["perRound"]: r for r in runs if r["kind"] == "floor-spin"}
    figures = []
    for run in runs:
        base = floor.get(run["perRound"], spun.get(run["perRound"]))
        if run["kind"] != "fltk" or base is None:
            continue
        name = f"{label(run)}, {run['perRound']} clients/round"
        if run["workers"] == 2 and run["perRound"] == 100:
            speed = rates(base)["round"] / rates(run)["round"]
            fig = Figure("scaling", f"{name}: rounds/s / floor's", "x", (speed,))
            figures.append(judged(fig, ">= 1x", lambda v: v >= 1))
            if run["perRound"] in spun:
                speed = rates(spun[run["perRound"]])["round"] / rates(run)["round"]
                figures.append(Figure("scaling", f"{name}: rounds/s / {SPUN}'s", "x", (speed,)))
        gap = 100 * (run["accuracy"][-1] - base["accuracy"][-1])
        fig = Figure("scaling", f"{name}: accuracy - floor", "points", (gap,))
        figures.append(judged(fig, "within 1 point", lambda v: abs(v) <= 1))
    return figures


def flops_figures(result: dict[str, Any]) -> list[Figure]:
    """Achieved FLOP/s of the trainer's client training and evaluation against a matmul."""
    figures = []
    for threads, run in result["threads"].items():
        train = result["trainFlopsPerSample"] * run["trainSamples"] / run["trainSeconds"]
        evals = result["evalFlopsPerSample"] * run["evalSamples"] / run["evalSeconds"]
        matmul = run["matmulFlops"]
        at = f"{threads} thread{'s' if threads != '1' else ''}"
        figures += [
            Figure("flops", f"client training, {at}", "GFLOP/s", (train / 1e9,)),
            Figure("flops", f"evaluation (batch 256), {at}", "GFLOP/s", (evals / 1e9,)),
            Figure("flops", f"float32 matmul 2048^2, {at}", "GFLOP/s", (matmul / 1e9,)),
            Figure("flops", f"client training / matmul, {at}", "%", (100 * train / matmul,)),
            Figure("flops", f"seconds per client, {at}", "s", (run["clientSeconds"],)),
        ]
    return figures


FIRST = "first round logged at"


def startup_figures(result: dict[str, Any]) -> list[Figure]:
    """Where `python -m trainer`'s seconds go before its first round, one process."""
    steps = result["one"]["steps"]
    keys = [k for k in steps if not k.endswith(" at") and k != "exit"]
    figures = [Figure("startup", f"1 process: {k}", "s", (steps[k],)) for k in keys]
    figures += [
        Figure("startup", f"import {k} (-X importtime)", "s", (v,))
        for k, v in result["imports"].items()
        if v >= 0.05
    ]
    first = result["one"]["rounds"]
    return figures + [
        Figure("startup", "1 process: first round logged at", "s", (steps[FIRST],)),
        Figure("startup", "1 process: first round / second round", "x", (first[0] / first[1],)),
        Figure("startup", "1 process: wall to exit", "s", (result["one"]["wall"],)),
        Figure(
            "startup",
            "3 ranks: executor's first order at",
            "s",
            (result["three"]["executor"]["first order received at"],),
        ),
        Figure("startup", "3 ranks: wall to exit", "s", (result["three"]["wall"],)),
    ]


# The cluster model: link speeds (bytes/s) and shapes it is evaluated at.
LINKS = {"1 Gb/s": 1.25e8, "10 Gb/s": 1.25e9}
SHAPES = ((2, 100), (10, 100), (10, 1000), (50, 1000))


def round_model(
    executors: int, clients: int, link: float, measured: dict[str, float], reduce: bool
) -> float:
    """Seconds per round on a cluster, evaluation overlapping the next round's training:

        broadcast    ceil(log2(E + 1)) V / B            (gloo's binomial tree)
        train        ceil(K / E) c                      (an executor's clients in turn)
        upload       E P / B  or  K V / B               (into the server's link)
        add          E a_P    or  K a                   (the server's float64 sums)
        round        max(broadcast + train + upload + add, evaluation)

    with c the seconds per client and a the seconds per float64 add of one model (1 thread,
    measured), V the float32 model vector's bytes and P = 2 V a float64 partial sum."""
    vector = measured["vectorBytes"]
    size = vector / 4
    partial = 8 * (size + 1)
    broadcast = math.ceil(math.log2(executors + 1)) * vector / link
    train = math.ceil(clients / executors) * measured["clientSeconds"]
    if reduce:
        upload, add = executors * partial / link, executors * measured["addSeconds"]
    else:
        upload, add = clients * vector / link, clients * measured["addSeconds"]
    return max(broadcast + train + upload + add, measured["evalSeconds"])


def cluster_model(flops: dict[str, Any], vector_bytes: float) -> str:
    """A Markdown table of round_model from this run's 1-thread figures."""
    one = flops["threads"]["1"]
    measured = {**one, "vectorBytes": vector_bytes}
    head = "| executors E | clients/round K | link B | one vector per client | executor sums | |"
    lines = [head, "|---|---|---|---|---|---|"]
    for executors, clients in SHAPES:
        for link_name, link in LINKS.items():
            per_client = round_model(executors, clients, link, measured, reduce=False)
            summed = round_model(executors, clients, link, measured, reduce=True)
            lines.append(
                f"| {executors} | {clients} | {link_name} | {fmt(per_client)} s "
                f"| {fmt(summed)} s | {fmt(per_client / summed)}x |"
            )
    return "\n".join(lines)
