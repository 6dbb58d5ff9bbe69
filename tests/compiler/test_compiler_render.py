"""The Jsonnet adapter: both backends agree, imports stay confined, users can override."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from compiler_support import EXAMPLES, EXAMPLES_DIR, build_example

from fltkc.compile.build import build_files, plan_file
from fltkc.compile.jsonnet_eval import TemplateError, evaluate, search_path


@pytest.mark.parametrize("name", EXAMPLES)
def test_cpp_and_rjsonnet_render_the_same_bytes(name: str) -> None:
    assert build_example(name, backend="cpp") == build_example(name, backend="rjsonnet")


@pytest.mark.parametrize("backend", ["rjsonnet", "cpp"])
@pytest.mark.parametrize("target", ["/etc/passwd", "../../fltkc/cli.py", "lib/../../x.libsonnet"])
def test_imports_outside_the_search_path_are_refused(
    tmp_path: Path, backend: str, target: str
) -> None:
    (tmp_path / "main.jsonnet").write_text(f"function(plan) import '{target}'\n")
    with pytest.raises(TemplateError, match="refused"):
        evaluate("main.jsonnet", {"plan": "{}"}, search_path(tmp_path), backend)


@pytest.mark.parametrize("backend", ["rjsonnet", "cpp"])
def test_symlink_escape_is_not_found(tmp_path: Path, backend: str) -> None:
    outside = tmp_path / "outside.libsonnet"
    outside.write_text("{secret: 1}")
    root = tmp_path / "templates"
    root.mkdir()
    (root / "link.libsonnet").symlink_to(outside)
    (root / "main.jsonnet").write_text("function(plan) import 'link.libsonnet'\n")
    with pytest.raises(TemplateError, match="not found"):
        evaluate("main.jsonnet", {"plan": "{}"}, search_path(root), backend)


@pytest.mark.parametrize("backend", ["rjsonnet", "cpp"])
def test_runtime_error_becomes_template_error(tmp_path: Path, backend: str) -> None:
    (tmp_path / "main.jsonnet").write_text("function(plan) error 'must provide plan.x'\n")
    with pytest.raises(TemplateError, match="must provide plan.x"):
        evaluate("main.jsonnet", {"plan": "{}"}, search_path(tmp_path), backend)


def test_user_library_patches_the_builtin_one(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "pytorchjob.libsonnet").write_text(
        "local base = import 'fltkc/lib/pytorchjob.libsonnet';\n"
        "function(plan, job) base(plan, job) + {\n"
        "  metadata+: { annotations+: { 'example.com/owner': 'lab' } },\n"
        "}\n"
    )
    files = build_files(plan_file(EXAMPLES_DIR / "quickstart.yaml"), templates=tmp_path)
    job = yaml.safe_load(files["pytorchjob-quickstart-ddp-mnist.yaml"])
    assert job["metadata"]["annotations"]["example.com/owner"] == "lab"
    assert job["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] == 1
    untouched = build_example("quickstart")
    assert (
        files["configmap-quickstart-ddp-mnist-config.yaml"]
        == untouched["configmap-quickstart-ddp-mnist-config.yaml"]
    )


def test_user_config_library_reaches_every_kind(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "config.libsonnet").write_text(
        "(import 'fltkc/lib/config.libsonnet') + {\n"
        "  metadata(plan, name, labels):: super.metadata(plan, name, labels + {tier: 'x'}),\n"
        "}\n"
    )
    files = build_files(plan_file(EXAMPLES_DIR / "quickstart.yaml"), templates=tmp_path)
    for name, content in files.items():
        if name.endswith(".yaml") and name != "kustomization.yaml":
            assert yaml.safe_load(content)["metadata"]["labels"]["tier"] == "x", name
