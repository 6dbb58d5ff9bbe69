"""Same input and seed -> same bytes; arrivals follow their process and move with the seed."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import yaml
from compiler_support import EXAMPLES_DIR, read_dir

from fltkc import contract
from fltkc.compile.arrivals import arrival_offsets, plan_seed
from fltkc.compile.build import build, build_files, plan_file


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    example = EXAMPLES_DIR / "reference.yaml"
    build(example, tmp_path / "a")
    build(example, tmp_path / "b")
    assert read_dir(tmp_path / "a") == read_dir(tmp_path / "b")


def test_poisson_gaps_match_the_rate() -> None:
    rate_per_minute = 3.0
    offsets = arrival_offsets({"process": "poisson", "rate": rate_per_minute, "count": 4000}, 5)
    gaps = [b - a for a, b in zip((0.0, *offsets[:-1]), offsets, strict=True)]
    mean = statistics.fmean(gaps)
    # Exponential gaps: mean 20 s, standard deviation 20 s; 4000 samples give a standard error
    # of 0.32 s, so 5 standard errors is a tolerance no correct sampler misses.
    assert abs(mean - 20.0) < 1.6
    assert abs(statistics.stdev(gaps) - 20.0) < 2.0
    assert offsets == tuple(sorted(offsets))


def test_poisson_horizon_counts_match_the_rate() -> None:
    spec = {"process": "poisson", "rate": 10, "per": "second", "horizonSeconds": 500}
    counts = [len(arrival_offsets(spec, seed)) for seed in range(5)]
    assert all(abs(c - 5000) < 5 * 5000**0.5 for c in counts)  # Poisson(5000), 5 sigma
    assert len(set(counts)) > 1


def test_uniform_stays_in_its_window() -> None:
    spec = {"process": "uniform", "count": 500, "startSeconds": 10, "endSeconds": 20}
    offsets = arrival_offsets(spec, 3)
    assert min(offsets) >= 10 and max(offsets) <= 20
    assert abs(statistics.fmean(offsets) - 15) < 0.5


def test_seed_changes_arrivals_and_job_seeds(tmp_path: Path) -> None:
    text = (EXAMPLES_DIR / "quickstart.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text.replace("seed: 42", "seed: 43"))
    a, b = plan_file(tmp_path / "a.yaml"), plan_file(tmp_path / "b.yaml")
    assert [j.name for j in a.jobs] == [j.name for j in b.jobs]
    fed_a = [j.offset_seconds for j in a.jobs if j.task == "fed-mnist"]
    fed_b = [j.offset_seconds for j in b.jobs if j.task == "fed-mnist"]
    assert fed_a != fed_b
    assert {j.seed for j in a.jobs}.isdisjoint({j.seed for j in b.jobs})
    assert plan_file(tmp_path / "a.yaml") == a


def test_derived_seeds_are_stable_numbers() -> None:
    # Pinned: the derivation is part of reproducibility across machines and Python versions.
    assert plan_seed(42, "job", "t", 0, 0, 0) == plan_seed(42, "job", "t", 0, 0, 0)
    assert plan_seed(0, "arrivals", "x") == 2489741536  # sha256(b'[0, "arrivals", "x"]')[:4]
    assert 0 <= plan_seed(2**32 - 1, "job", "t", 9, 9, 9) < 2**32


def _seeds_by_job(experiment: Path) -> dict[tuple[str, int, int], tuple[str, int]]:
    """(sweep point, repetition, arrival) -> (FLTK_SEED of the master, config.json's seed)."""
    files = build_files(plan_file(experiment))
    objects = [
        yaml.safe_load(b) for n, b in files.items() if n.startswith(("pytorchjob-", "configmap-"))
    ]
    configs = {
        o["metadata"]["name"]: json.loads(o["data"][contract.CONFIG_KEY])
        for o in objects
        if o["kind"] == "ConfigMap" and contract.CONFIG_KEY in o.get("data", {})
    }
    seeds = {}
    for job in (o for o in objects if o["kind"] == "PyTorchJob"):
        pod = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
        env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
        config = configs[f"{job['metadata']['name']}-config"]
        key = (json.dumps(config["job"]["sweep"]), config["job"]["repetition"])
        arrival = job["metadata"]["name"].rsplit("-a", 1)[1]  # two arrivals: every name has -aN
        seeds[(*key, int(arrival))] = (env[contract.ENV_SEED], config["seed"])
    return seeds


def _sweep(tmp_path: Path, extra: str = "") -> Path:
    """examples/sweep-fedprox.yaml (3 x 2 grid, 2 repetitions) with 2 arrivals."""
    text = (EXAMPLES_DIR / "sweep-fedprox.yaml").read_text()
    text = text.replace("repetitions: 2\n", f"repetitions: 2\n{extra}")
    text = text.replace("count: 1, endSeconds", "count: 2, endSeconds")
    path = tmp_path / f"sweep{len(extra)}.yaml"
    path.write_text(text)
    return path


def test_points_of_a_repetition_share_its_seed(tmp_path: Path) -> None:
    seeds = _seeds_by_job(_sweep(tmp_path))
    assert len(seeds) == 6 * 2 * 2
    assert all(str(config) == env for env, config in seeds.values())
    runs = {(r, a) for _, r, a in seeds}
    by_run = {run: {seeds[(p, *q)] for p, *q in seeds if tuple(q) == run} for run in runs}
    # One seed per (repetition, arrival) shared by all 6 points; the 4 runs' seeds all differ.
    assert all(len(shared) == 1 for shared in by_run.values())
    assert len({s for shared in by_run.values() for s in shared}) == 4


def test_seed_per_point_gives_every_job_its_own(tmp_path: Path) -> None:
    shared = _seeds_by_job(_sweep(tmp_path))
    own = _seeds_by_job(_sweep(tmp_path, "        seedPerPoint: true\n"))
    assert shared.keys() == own.keys()
    assert len(set(own.values())) == len(own) == 24
    # Point 0 keeps its seed either way: the shared seed is the first point's.
    first = json.dumps({"federated.strategy.mu": 0.0, "optimizer.lr": 0.01})
    assert all(own[k] == shared[k] for k in own if k[0] == first)
    assert all(own[k] != shared[k] for k in own if k[0] != first)
