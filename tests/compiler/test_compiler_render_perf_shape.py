"""Chunked, forked rendering (render_full) gives the bytes of one whole-plan evaluation,
errors included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compiler_support import EXAMPLES_DIR

from fltkc.compile import render
from fltkc.compile.build import plan_file
from fltkc.compile.emit import yaml_documents
from fltkc.compile.expand import Plan
from fltkc.compile.jsonnet_eval import TemplateError, evaluate, map_forked, search_path
from fltkc.compile.plan_workloads import workloads_document

MULTI_JOB = ["reference", "sweep-fedprox", "federated-mnist-dirichlet"]


def one_shot(plan: Plan, templates: Path | None = None) -> dict[str, bytes]:
    """The reference: main.jsonnet evaluated once on the whole plan document."""
    document = {**render.plan_document(plan), "workloads": workloads_document(plan)}
    tla = {"plan": json.dumps(document, sort_keys=True, separators=(",", ":"))}
    return yaml_documents(evaluate(render.MAIN_TEMPLATE, tla, search_path(templates)))


def chunked(plan: Plan, templates: Path | None = None) -> dict[str, bytes]:
    return render.render_full(plan, templates, "rjsonnet", {"workloads": workloads_document(plan)})


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every plan of more than one job is split into chunks of at most 3 jobs."""
    monkeypatch.setattr(render, "MAX_JOBS_PER_CHUNK", 3)
    monkeypatch.setattr(render, "MIN_JOBS_PER_CHUNK", 1)


@pytest.mark.parametrize("name", MULTI_JOB)
def test_chunks_render_the_bytes_of_one_evaluation(name: str, tiny_chunks: None) -> None:
    plan = plan_file(EXAMPLES_DIR / f"{name}.yaml")
    assert render.chunk_count(len(plan.jobs)) > 1
    assert chunked(plan) == one_shot(plan)


@pytest.mark.parametrize("name", MULTI_JOB)
def test_one_chunk_in_process_renders_the_same_bytes(name: str) -> None:
    plan = plan_file(EXAMPLES_DIR / f"{name}.yaml")
    assert render.chunk_count(len(plan.jobs)) == 1
    assert chunked(plan) == one_shot(plan)


def test_cpp_backend_renders_the_same_bytes(tiny_chunks: None) -> None:
    plan = plan_file(EXAMPLES_DIR / "reference.yaml")
    sections = {"workloads": workloads_document(plan)}
    assert render.render_full(plan, None, "cpp", sections) == chunked(plan)


def test_user_templates_see_the_whole_plan_in_every_chunk(
    tmp_path: Path, tiny_chunks: None
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    # Reads other jobs' bodies (labels, configJson) and the job count: a chunk that passed
    # only its own jobs, or only their names, would render different bytes.
    (lib / "pytorchjob.libsonnet").write_text(
        "local base = import 'fltkc/lib/pytorchjob.libsonnet';\n"
        "function(plan, job) base(plan, job) + {\n"
        "  metadata+: { annotations+: {\n"
        "    'example.com/jobs': std.toString(std.length(plan.jobs)),\n"
        "    'example.com/first': plan.jobs[0].labels['fltkc.dev/job'],\n"
        "    'example.com/config-bytes': std.toString(\n"
        "      std.foldl(function(n, j) n + std.length(j.configJson), plan.jobs, 0)),\n"
        "  } },\n"
        "}\n"
    )
    plan = plan_file(EXAMPLES_DIR / "reference.yaml")
    documents = chunked(plan, tmp_path)
    assert documents == one_shot(plan, tmp_path)
    job = documents[f"pytorchjob-{plan.jobs[-1].name}"].decode()
    assert (
        f"example.com/jobs: '{len(plan.jobs)}'" in job
        or f'example.com/jobs: "{len(plan.jobs)}"' in job
    )


def test_error_in_a_worker_is_the_one_shot_diagnostic(tmp_path: Path, tiny_chunks: None) -> None:
    plan = plan_file(EXAMPLES_DIR / "reference.yaml")
    bad = plan.jobs[-1].name
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "pytorchjob.libsonnet").write_text(
        "local base = import 'fltkc/lib/pytorchjob.libsonnet';\n"
        f"function(plan, job) if job.name == '{bad}' then error 'boom ' + job.name\n"
        "  else base(plan, job)\n"
    )
    with pytest.raises(TemplateError) as whole:
        one_shot(plan, tmp_path)
    with pytest.raises(TemplateError) as worker:
        chunked(plan, tmp_path)
    first = str(worker.value).splitlines()[0]
    assert first == str(whole.value).splitlines()[0]
    assert first.startswith("template error: ") and f"boom {bad}" in first


def test_deal_keeps_kinds_in_order_and_even() -> None:
    stems = sorted(
        [f"configmap-j{i}-config" for i in range(7)]
        + [f"pytorchjob-j{i}" for i in range(7)]
        + ["configmap-x-schedule", "persistentvolumeclaim-logs"]
    )
    chunks = render.deal(stems, 3)
    assert sorted(s for chunk in chunks for s in chunk) == stems
    for chunk in chunks:
        jobs = [s for s in chunk if s.startswith("pytorchjob-")]
        assert 2 <= len(jobs) <= 3
        assert jobs == sorted(jobs)
    # Kinds of equal size split alike: a job's ConfigMap and PyTorchJob share a chunk (so
    # its body is fetched once).
    aligned = render.deal([s for s in stems if "-j" in s], 3)
    for chunk in aligned:
        for stem in chunk:
            if stem.startswith("pytorchjob-j"):
                assert f"configmap-{stem.removeprefix('pytorchjob-')}-config" in chunk


def test_chunk_count_depends_on_the_plan_only() -> None:
    assert render.chunk_count(1) == 1
    assert render.chunk_count(render.MIN_JOBS_PER_CHUNK - 1) == 1
    assert render.chunk_count(10 * render.MAX_JOBS_PER_CHUNK) == 10
    assert all(
        -(-jobs // render.chunk_count(jobs)) <= render.MAX_JOBS_PER_CHUNK
        for jobs in range(1, 5 * render.MAX_JOBS_PER_CHUNK, 97)
    )


def test_map_forked_keeps_order_and_reports_the_first_failure() -> None:
    assert map_forked(lambda i: str(i * i).encode(), 5, 2) == [b"0", b"1", b"4", b"9", b"16"]

    def work(i: int) -> bytes:
        if i >= 2:
            raise TemplateError(f"template error: chunk {i}")
        return b"ok"

    with pytest.raises(TemplateError, match="chunk 2"):
        map_forked(work, 4, 2)

    def crash(i: int) -> bytes:
        raise KeyError(i)

    with pytest.raises(RuntimeError, match="KeyError"):
        map_forked(crash, 1, 1)
