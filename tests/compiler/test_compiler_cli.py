"""The `fltkc` CLI: exit codes, one-line diagnostics, no tracebacks, help everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from compiler_support import BAD_DIR, EXAMPLES_DIR, ROOT, read_dir
from typer.testing import CliRunner

from fltkc.cli import app

runner = CliRunner()


def test_build_writes_output(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["build", str(EXAMPLES_DIR / "quickstart.yaml"), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert "kustomization.yaml" in read_dir(tmp_path / "o")


@pytest.mark.parametrize(
    "name", ["17-clients-per-round-over-clients", "43-many-errors", "01-empty"]
)
def test_bad_file_exits_2_with_the_expected_lines(name: str, tmp_path: Path) -> None:
    bad = BAD_DIR / f"{name}.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "fltkc.cli", "build", bad.name, "-o", str(tmp_path / "o")],
        cwd=BAD_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == bad.with_suffix(".expected").read_text().splitlines()
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "o").exists()


def test_validate_checks_only(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLES_DIR / "sweep-fedprox.yaml")])
    assert result.exit_code == 0 and "ok (12 jobs)" in result.output
    result = runner.invoke(app, ["validate", str(BAD_DIR / "20-unknown-profile.yaml")])
    assert result.exit_code == 2 and "unknown profile 'gpu'; defined: cpu" in result.output


def test_missing_file_is_a_diagnostic() -> None:
    result = runner.invoke(app, ["validate", "no/such/exp.yaml"])
    assert result.exit_code == 2
    assert result.output.strip() == "no/such/exp.yaml:1:1: file not found"


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = runner.invoke(
        app, ["build", str(EXAMPLES_DIR / "quickstart.yaml"), "--dry-run", "-o", str(out)]
    )
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("experiment quickstart: 4 job(s), seed 42")
    assert lines[1].split()[:3] == ["OFFSET_S", "JOB", "TASK"]
    assert [line.split()[1] for line in lines[2:]] == [
        "quickstart-ddp-mnist",
        "quickstart-fed-mnist-a0",
        "quickstart-fed-mnist-a1",
        "quickstart-fed-mnist-a2",
    ]
    assert "cpu=500m,memory=1Gi" in lines[2]
    assert not out.exists()


def test_schema_prints_the_experiment_schema() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema == json.loads((ROOT / "schemas" / "experiment.schema.json").read_text())


@pytest.mark.parametrize(
    "args", [[], ["build"], ["validate"], ["-h"], ["build", "-h"], ["schema", "--help"]]
)
def test_help_everywhere(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert "Usage" in result.output
    assert result.exit_code in (0, 2)


def test_unknown_backend_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLTKC_JSONNET", "go")
    result = runner.invoke(
        app, ["build", str(EXAMPLES_DIR / "quickstart.yaml"), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == "unknown Jsonnet backend 'go' (FLTKC_JSONNET); use one of: rjsonnet, cpp"
    )


def test_compiler_never_imports_torch(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from fltkc.compile.build import build; "
        f"build(Path({str(EXAMPLES_DIR / 'reference.yaml')!r}), Path({str(tmp_path / 'o')!r})); "
        "import fltkc.cli; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "assert 'kubernetes' not in sys.modules, 'kubernetes imported'; print('clean')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"
