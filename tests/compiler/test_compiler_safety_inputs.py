"""Hostile or odd inputs: special files, oversized files, YAML 1.1 numbers, confined trace paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from compiler_support import BAD_DIR, EXAMPLES_DIR
from typer.testing import CliRunner

from fltkc.check import kustomization
from fltkc.check.kustomization import KustomizationError, listed_resources
from fltkc.cli import app
from fltkc.compile import arrivals, load
from fltkc.compile.build import plan_file
from fltkc.compile.expand import expand
from fltkc.compile.input_files import InputFileError, read_below, read_capped
from fltkc.compile.quantity import parse
from fltkc.compile.validate import validate
from fltkc.errors import CompileError

runner = CliRunner()
TRACE_TASK = (BAD_DIR / "28-trace-file-missing.yaml").read_text()


def _diagnostics(path: Path) -> list[str]:
    """What compiling `path`, shown as exp.yaml, reports."""
    with pytest.raises(CompileError) as info:
        expand(validate(load.load(path, "exp.yaml")))
    return [str(d) for d in info.value.diagnostics]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.mkdir(), "a directory, not a regular file"),
        (lambda p: os.mkfifo(p), "a FIFO, not a regular file"),
        (lambda p: p.symlink_to("/dev/zero"), "a device, not a regular file"),
    ],
    ids=["directory", "fifo", "dev-zero"],
)
def test_special_files_as_the_experiment_are_refused_at_once(
    tmp_path: Path, make: object, reason: str
) -> None:
    path = tmp_path / "exp.yaml"
    make(path)  # type: ignore[operator]
    assert _diagnostics(path) == [f"exp.yaml:1:1: cannot read the file ({reason})"]


def test_dev_zero_on_the_command_line_is_one_line_exit_2() -> None:
    result = runner.invoke(app, ["validate", "/dev/zero"])
    assert result.exit_code == 2
    message = "/dev/zero:1:1: cannot read the file (a device, not a regular file)"
    assert result.output.strip() == message


def test_an_oversized_experiment_file_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "MAX_FILE_BYTES", 1024)
    path = tmp_path / "exp.yaml"
    path.write_text("# padding\n" * 200)
    assert _diagnostics(path) == ["exp.yaml:1:1: cannot read the file (over 1024 bytes)"]


def test_read_capped_never_reads_past_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_capped(path, 10) == b"x" * 10
    with pytest.raises(InputFileError, match="^over 9 bytes$"):
        read_capped(path, 9)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-3", 0.001),
        ("1.5e9", 1.5e9),
        ("-2E+2", -200.0),
        ("'1e-3'", "1e-3"),
        ("!!str 1e3", "1e3"),
    ],
)
def test_yaml_1_2_exponent_floats_are_numbers(text: str, value: object) -> None:
    assert load.load_text(f"a: {text}\n", "f").document == {"a": value}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("010", "ambiguous number 010: octal 8 in YAML 1.1, 10 in YAML 1.2; write 10 or 8"),
        (
            "1_000",
            "ambiguous number 1_000: 1000 in YAML 1.1, a string in YAML 1.2; "
            "write 1000, or quote it for a string",
        ),
        (
            "1:30",
            "ambiguous number 1:30: 90 in YAML 1.1, a string in YAML 1.2; "
            "write 90, or quote it for a string",
        ),
    ],
)
def test_yaml_1_1_only_numbers_are_refused(text: str, message: str) -> None:
    with pytest.raises(CompileError) as info:
        load.load_text(f"seed: {text}\n", "f")
    assert [str(d) for d in info.value.diagnostics] == [f"f:1:7: seed: {message}"]


@pytest.mark.parametrize(("same", "value"), [("0", 0), ("07", 7), ("00", 0), ("0x1F", 31)])
def test_numbers_both_yaml_versions_read_alike_are_kept(same: str, value: int) -> None:
    assert load.load_text(f"a: {same}\n", "f").document == {"a": value}


def test_lr_1e_minus_3_compiles(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text((EXAMPLES_DIR / "quickstart.yaml").read_text().replace("lr: 0.001", "lr: 1e-3"))
    plan = plan_file(path)
    assert {job.config["optimizer"]["lr"] for job in plan.jobs} == {0.05, 0.001}


@pytest.mark.parametrize("huge", ["1e51", "1e400", "9" * 80, "1e-99999999999"])
def test_quantities_out_of_range_are_value_errors(huge: str) -> None:
    with pytest.raises(ValueError, match="out of range; a Kubernetes quantity must be below 8Ei"):
        parse(huge)


def _trace_experiment(folder: Path, file: str) -> Path:
    path = folder / "exp.yaml"
    path.write_text(TRACE_TASK.replace("traces/missing.txt", file))
    return path


def test_trace_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    message = (
        "exp.yaml:15:40: spec.tasks[0].arrivals.file: cannot read trace file pipe.txt "
        "(a FIFO, not a regular file)"
    )
    assert _diagnostics(_trace_experiment(tmp_path, "pipe.txt")) == [message]


@pytest.mark.parametrize(
    ("file", "reason"),
    [
        ("pipe.txt", "a FIFO, not a regular file"),
        ("../t.txt", "outside the experiment file's folder"),
    ],
)
def test_stream_trace_is_read_as_a_task_trace(tmp_path: Path, file: str, reason: str) -> None:
    folder = tmp_path / "exp"
    folder.mkdir()
    os.mkfifo(folder / "pipe.txt")
    (tmp_path / "t.txt").write_text("0\n30\n")
    poisson = "arrivals: {process: poisson, rate: 4, per: minute, count: 8}"
    text = (EXAMPLES_DIR / "mixture.yaml").read_text()
    assert poisson in text
    path = folder / "exp.yaml"
    path.write_text(text.replace(poisson, f"arrivals: {{process: trace, file: {file}}}"))
    [message] = _diagnostics(path)
    assert message.startswith("exp.yaml:52:40: spec.streams[0].arrivals.file: cannot read trace")
    assert f"({reason}" in message


def test_trace_symlink_inside_the_folder_is_followed(tmp_path: Path) -> None:
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "real.txt").write_text("0\n30\n")
    (tmp_path / "link.txt").symlink_to("traces/real.txt")
    plan = plan_file(_trace_experiment(tmp_path, "link.txt"))
    assert [job.offset_seconds for job in plan.jobs] == [0.0, 30.0]


def test_trace_over_the_size_cap_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arrivals, "MAX_TRACE_BYTES", 100)
    (tmp_path / "t.txt").write_text("1\n" * 100)
    message = (
        "exp.yaml:15:40: spec.tasks[0].arrivals.file: cannot read trace file t.txt (over 100 bytes)"
    )
    assert _diagnostics(_trace_experiment(tmp_path, "t.txt")) == [message]


def test_a_file_of_bad_lines_gives_a_bounded_report(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("x\n" * 1000)
    lines = _diagnostics(_trace_experiment(tmp_path, "t.txt"))
    assert len(lines) == arrivals.MAX_TRACE_PROBLEMS + 1
    message = "more lines are not offsets; is this a trace file (one offset a line)?"
    assert lines[-1] == f"t.txt:11:1: {message}"


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("/etc/hostname", "an absolute path; give it relative to the experiment file"),
        ("~/x", "an absolute path; give it relative to the experiment file"),
        ("../x.txt", "outside the experiment file's folder; move it below that folder"),
        ("sub/../../x.txt", "outside the experiment file's folder; move it below that folder"),
        ("missing.txt", "not found"),
    ],
)
def test_read_below_confines_paths(tmp_path: Path, relative: str, reason: str) -> None:
    base = tmp_path / "exp"
    base.mkdir()
    (tmp_path / "x.txt").write_text("secret")
    with pytest.raises(InputFileError) as info:
        read_below(base, relative, 1000)
    assert str(info.value) == reason


def test_kustomization_is_capped_and_flat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "kustomization.yaml"
    path.write_text("resources: [../../etc/passwd]\n")
    with pytest.raises(KustomizationError) as info:
        listed_resources(tmp_path)
    assert str(info.value) == f"{path}: lists '../../etc/passwd', not a file of this directory"
    monkeypatch.setattr(kustomization, "MAX_KUSTOMIZATION_BYTES", 10)
    with pytest.raises(KustomizationError) as info:
        listed_resources(tmp_path)
    assert str(info.value) == f"{path}: cannot read it (over 10 bytes); build the directory first"
