"""Templates cannot write outside out/ or emit what Kubernetes refuses: template errors instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from compiler_support import EXAMPLES_DIR

from fltkc.compile import render
from fltkc.compile.build import build, build_files, plan_file
from fltkc.compile.jsonnet_eval import TemplateError

MODES = ["cpp", "rjsonnet", "rjsonnet-chunked"]


@pytest.fixture(params=MODES)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each backend, and rjsonnet in chunks of one job (forked workers)."""
    if request.param == "rjsonnet-chunked":
        monkeypatch.setattr(render, "MAX_JOBS_PER_CHUNK", 1)
        monkeypatch.setattr(render, "MIN_JOBS_PER_CHUNK", 1)
        return "rjsonnet"
    return str(request.param)


def _main(folder: Path, body: str) -> Path:
    """A main.jsonnet that patches the built-in one with `body` (a Jsonnet object expression)."""
    folder.mkdir(exist_ok=True)
    (folder / "main.jsonnet").write_text(
        f"function(plan) (import 'fltkc/main.jsonnet')(plan) + {body}\n"
    )
    return folder


def _error(templates: Path, backend: str) -> str:
    plan = plan_file(EXAMPLES_DIR / "quickstart.yaml")
    with pytest.raises(TemplateError) as info:
        build_files(plan, templates, backend)
    return str(info.value)


def test_a_key_that_climbs_out_is_refused_and_nothing_is_written(
    tmp_path: Path, backend: str
) -> None:
    manifest = "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'x'}}"
    templates = _main(tmp_path / "t", f"{{'../../escaped': {manifest}}}")
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(TemplateError) as info:
        build(EXAMPLES_DIR / "quickstart.yaml", out, templates, backend)
    assert str(info.value) == (
        "template error: object '../../escaped': the key is not a file name fltkc writes "
        "(lowercase letters, digits, '-' and '.', at most 200, not kustomization); "
        "rename it in the template"
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["main.jsonnet", "t"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "{'x-one': 42}",
            "template error: object 'x-one' is a number; a manifest must be an object",
        ),
        (
            "{'x-one': ['a']}",
            "template error: object 'x-one' is an array; a manifest must be an object",
        ),
        (
            "{'x-one': {kind: 'ConfigMap', metadata: {name: 'x'}}}",
            "template error: object 'x-one' has no apiVersion; set it in the template",
        ),
        (
            "{'x-one': {apiVersion: 'v1', kind: '', metadata: {name: 'x'}}}",
            "template error: object 'x-one' has no kind; set it in the template",
        ),
        (
            "{'x-one': {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'Bad Name'}}}",
            "template error: object 'x-one': metadata.name 'Bad Name' is not a Kubernetes name "
            "(lowercase letters, digits, '-' and '.', at most 253); fix the template",
        ),
        (
            "{'x-one': {apiVersion: 'v1', kind: 'ConfigMap', metadata: {}}}",
            "template error: object 'x-one': metadata.name None is not a Kubernetes name "
            "(lowercase letters, digits, '-' and '.', at most 253); fix the template",
        ),
        (
            "{kustomization: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'k'}}}",
            "template error: object 'kustomization': the key is not a file name fltkc writes "
            "(lowercase letters, digits, '-' and '.', at most 200, not kustomization); "
            "rename it in the template",
        ),
        (
            "{'x-one': {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'big'},"
            " data: {k: std.repeat('x', 1048576)}}}",
            "template error: object 'x-one': ConfigMap data is 1048577 bytes, over Kubernetes' "
            "limit of 1048576 (1 MiB); put less in it",
        ),
    ],
    ids=[
        "number",
        "array",
        "no-api-version",
        "empty-kind",
        "bad-name",
        "no-name",
        "reserved",
        "big",
    ],
)
def test_unfit_objects_are_template_errors(
    tmp_path: Path, backend: str, body: str, message: str
) -> None:
    assert _error(_main(tmp_path, body), backend) == message


def test_every_plan_job_needs_its_training_job(tmp_path: Path, backend: str) -> None:
    (tmp_path / "main.jsonnet").write_text(
        "function(plan) {\n"
        "  [k]: (import 'fltkc/main.jsonnet')(plan)[k]\n"
        "  for k in std.objectFields((import 'fltkc/main.jsonnet')(plan))\n"
        "  if !std.startsWith(k, 'pytorchjob-quickstart-fed')\n"
        "}\n"
    )
    assert _error(tmp_path, backend) == (
        "template error: no PyTorchJob or TrainJob named quickstart-fed-mnist-a0 (and 2 more); "
        "the templates must render one training job for every job of the plan"
    )


def test_main_must_return_an_object(tmp_path: Path) -> None:
    (tmp_path / "main.jsonnet").write_text("function(plan) [1, 2]\n")
    message = (
        "template error: main.jsonnet returned an array; it must return an object of "
        "{file stem: manifest}"
    )
    assert _error(tmp_path, "cpp") == message
    assert "template error" in _error(tmp_path, "rjsonnet")


def test_templates_folder_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert _error(missing, "rjsonnet") == (
        f"--templates {missing}: no such directory; give the folder holding your template overrides"
    )
    (tmp_path / "file").write_text("")
    assert _error(tmp_path / "file", "rjsonnet") == (
        f"--templates {tmp_path / 'file'}: not a directory; give the folder holding your "
        "template overrides"
    )


def test_templates_folder_must_override_something(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "pytorchjobs.libsonnet").write_text("{}")  # a typo: no such template
    assert _error(tmp_path, "rjsonnet") == (
        f"--templates {tmp_path}: overrides no built-in template (a file there must have the "
        "path of one, such as main.jsonnet or lib/pytorchjob.libsonnet)"
    )
