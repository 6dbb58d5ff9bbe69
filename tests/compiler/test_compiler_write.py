"""Writing out/ is atomic: failures leave the previous output, success leaves no stale file."""

from __future__ import annotations

from pathlib import Path

import pytest
from compiler_support import BAD_DIR, EXAMPLES_DIR, read_dir

from fltkc.compile.build import build
from fltkc.compile.jsonnet_eval import TemplateError
from fltkc.compile.outdir_guard import BUILD_RECORD
from fltkc.compile.write import OutputError, write_output
from fltkc.errors import CompileError


def test_failed_build_leaves_previous_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(EXAMPLES_DIR / "quickstart.yaml", out)
    before = read_dir(out)
    with pytest.raises(CompileError):
        build(BAD_DIR / "17-clients-per-round-over-clients.yaml", out)
    assert read_dir(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_render_leaves_previous_output_untouched(tmp_path: Path) -> None:
    out, templates = tmp_path / "out", tmp_path / "templates"
    build(EXAMPLES_DIR / "quickstart.yaml", out)
    before = read_dir(out)
    (templates / "lib").mkdir(parents=True)
    (templates / "lib" / "pod.libsonnet").write_text("function(plan, job, role) error 'boom'\n")
    with pytest.raises(TemplateError, match="boom"):
        build(EXAMPLES_DIR / "quickstart.yaml", out, templates=templates)
    assert read_dir(out) == before


def test_failed_write_leaves_previous_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output({"kustomization.yaml": b"x"}, out)
    before = read_dir(out)
    with pytest.raises(OutputError):
        write_output({"kustomization.yaml": b"y", "sub/dir.yaml": b"no such folder"}, out)
    assert read_dir(out) == before
    assert set(before) == {"kustomization.yaml", BUILD_RECORD}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_success_removes_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(EXAMPLES_DIR / "federated-mnist-dirichlet.yaml", out)
    build(EXAMPLES_DIR / "quickstart.yaml", out)
    names = set(read_dir(out))
    assert not any("fed-mnist-fedavg" in n for n in names)
    assert "pytorchjob-quickstart-ddp-mnist.yaml" in names


def test_refuses_to_replace_a_foreign_directory(tmp_path: Path) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError, match="did not write"):
        build(EXAMPLES_DIR / "quickstart.yaml", out)
    assert (out / "thesis.tex").read_text() == "precious"
