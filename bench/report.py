"""Raw runs -> figures (median, min, max over repeats) -> a text table and a Markdown table;
the compiler's and DDP's figures here, the federated ones in fed_report.py."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from common import summary


@dataclass(frozen=True)
class Figure:
    section: str
    name: str
    unit: str
    values: tuple[float, ...]
    target: str = ""
    met: bool | None = None

    @property
    def stats(self) -> dict[str, float]:
        return summary(list(self.values))

    def to_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "name": self.name,
            "unit": self.unit,
            "values": list(self.values),
            **self.stats,
            "target": self.target,
            "met": self.met,
        }


def judged(figure: Figure, target: str, ok: Callable[[float], bool]) -> Figure:
    """The figure with its target, judged on the median."""
    return Figure(
        figure.section, figure.name, figure.unit, figure.values, target, ok(figure.stats["median"])
    )


def compile_figures(repeats: list[list[dict[str, float]]]) -> list[Figure]:
    figures: list[Figure] = []
    for index, row in enumerate(repeats[0]):
        jobs = int(row["jobs"])

        def col(key: str, i: int = index) -> tuple[float, ...]:
            return tuple(rep[i][key] for rep in repeats)

        build = Figure("compile", f"{jobs} jobs: fltkc build", "s", col("build_s"))
        if jobs in (1000, 10000):
            limit = 0.5 if jobs == 1000 else 3.0
            build = judged(build, f"< {limit} s", lambda v, lim=limit: v < lim)
        rss = judged(
            Figure("compile", f"{jobs} jobs: peak RSS", "MB", col("peak_MB")),
            "< 300 MB",
            lambda v: v < 300,
        )
        bare = Figure("compile", f"{jobs} jobs: bare Jsonnet", "s", col("jsonnet_s"))
        ratio = Figure("compile", f"{jobs} jobs: build / bare", "x", col("ratio"))
        if jobs >= 1000:
            ratio = judged(ratio, "<= 1.5x", lambda v: v <= 1.5)
        figures += [build, rss, bare, ratio]
    return figures


def jsonnet_figures(result: dict[str, Any]) -> list[Figure]:
    figures = []
    for row in result["rows"]:
        jobs = row["jobs"]
        cpp, rs = row["cpp"]["build"], row["rjsonnet"]["build"]
        figures += [
            Figure("jsonnet", f"{jobs} jobs: build, C++ jsonnet", "s", (cpp,)),
            Figure("jsonnet", f"{jobs} jobs: build, rjsonnet", "s", (rs,)),
            Figure("jsonnet", f"{jobs} jobs: C++ / rjsonnet", "x", (cpp / rs,)),
            Figure("jsonnet", f"{jobs} jobs: peak RSS, C++ jsonnet", "MB", (row["cpp"]["rss"],)),
            judged(
                Figure(
                    "jsonnet", f"{jobs} jobs: same bytes out", "bool", (float(row["identical"]),)
                ),
                "identical",
                lambda v: v == 1.0,
            ),
        ]
    return figures


def label(run: dict[str, Any]) -> str:
    if run["kind"] == "floor":
        return "floor (bare PyTorch, 1 process)"
    if run["kind"] == "floor-spin":
        return "floor with GOMP_SPINCOUNT=10000"
    if run["kind"] == "flower":
        return f"Flower 1.42 ({run['workers']} Ray actors)"
    return f"fltk ({run['workers']} executors, WORLD_SIZE={run['workers'] + 1})"


def rates(run: dict[str, Any]) -> dict[str, float]:
    """Rounds/s with start-up (process wall) and without it (rounds 2.., own round clock)."""
    seconds = run["roundSeconds"]
    steady = seconds[1:] or seconds
    return {
        "incl": run["rounds"] / run["wallSeconds"],
        "excl": len(steady) / sum(steady),
        "first": seconds[0],
        "round": statistics.median(steady),
        "accuracy": run["accuracy"][-1],
    }


def grouped(runs: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, float]]]:
    out: dict[str, list[dict[str, float]]] = {}
    for run in runs:
        out.setdefault(label(run), []).append(rates(run))
    return out


def fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def verdict(figure: Figure) -> str:
    if figure.met is None:
        return ""
    return "met" if figure.met else "MISSED"


def rows(figures: list[Figure]) -> list[list[str]]:
    out = []
    for f in figures:
        s = f.stats
        spread = "" if s["n"] == 1 else f"{fmt(s['min'])} .. {fmt(s['max'])}"
        out.append(
            [
                f.section,
                f.name,
                f"{fmt(s['median'])} {f.unit}",
                spread,
                str(s["n"]),
                f.target,
                verdict(f),
            ]
        )
    return out


HEADER = ["part", "figure", "median", "min .. max", "n", "target", ""]


def text_table(figures: list[Figure]) -> str:
    table = [HEADER, *rows(figures)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table
    )


def markdown_table(figures: list[Figure]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(figures)]
    return "\n".join(lines)


def ddp_figures(repeats: list[dict[str, float]]) -> list[Figure]:
    """Our DDP step against the bare torch DDP loop, 2 gloo ranks."""

    def col(key: str) -> tuple[float, ...]:
        return tuple(r[key] for r in repeats)

    return [
        Figure("ddp", "bare torch DDP step", "ms", col("bareMsPerStep")),
        Figure("ddp", "fltk trainer DDP step", "ms", col("oursMsPerStep")),
        judged(
            Figure("ddp", "fltk / bare step time", "x", col("ratio")),
            "<= 1.05x",
            lambda v: v <= 1.05,
        ),
    ]
