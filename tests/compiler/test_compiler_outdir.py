"""A build never costs the user data: -o holds only earlier builds, swaps are atomic."""

from __future__ import annotations

import errno
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from compiler_support import EXAMPLES_DIR, read_dir
from typer.testing import CliRunner

from fltkc.cli import app
from fltkc.compile import outdir_guard, write
from fltkc.compile.build import build
from fltkc.compile.outdir_guard import BUILD_RECORD, RECORD_HEADER
from fltkc.compile.write import OutputError, write_output

QUICKSTART = EXAMPLES_DIR / "quickstart.yaml"
runner = CliRunner()


def _refused(out: Path, experiment: Path = QUICKSTART) -> str:
    with pytest.raises(OutputError) as info:
        build(experiment, out)
    return str(info.value)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".new-" in p.name or ".old-" in p.name)


def test_the_record_lists_what_the_build_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = build(QUICKSTART, out)
    record = (out / BUILD_RECORD).read_text()
    assert record.startswith(RECORD_HEADER)
    assert record[len(RECORD_HEADER) :].splitlines() == sorted(set(files) - {BUILD_RECORD})
    assert read_dir(out) == files
    build(QUICKSTART, out)  # a rebuild over its own output
    assert read_dir(out) == files


def test_foreign_entries_are_named_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(QUICKSTART, out)
    (out / "README.md").write_text("notes")
    (out / ".git").mkdir()
    shutil.copy(QUICKSTART, out / "exp.yaml")
    before = sorted(p.name for p in out.iterdir())
    assert _refused(out) == (
        f"{out}: holds what fltkc build did not write (.git, README.md, exp.yaml); a rebuild "
        "would delete it: move it away or choose another -o"
    )
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "README.md").read_text() == "notes"
    assert _leftovers(tmp_path) == []


def test_a_long_foreign_list_is_counted(tmp_path: Path) -> None:
    for name in "abcdefgh":
        (tmp_path / name).write_text("")
    assert _refused(tmp_path) == (
        f"{tmp_path}: holds what fltkc build did not write (a, b, c, d, e and 3 more); a rebuild "
        "would delete it: move it away or choose another -o"
    )


def test_a_listed_name_that_is_a_folder_is_foreign(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(QUICKSTART, out)
    (out / "schedule.json").unlink()
    (out / "schedule.json").mkdir()
    assert "did not write (schedule.json)" in _refused(out)


def test_a_build_from_before_the_record_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(QUICKSTART, out)
    (out / BUILD_RECORD).unlink()  # as fltkc 0.x wrote it: kustomization.yaml is the proof
    build(QUICKSTART, out)
    (out / BUILD_RECORD).unlink()
    (out / "notes.txt").write_text("mine")
    assert "did not write (notes.txt)" in _refused(out)


@pytest.mark.parametrize("given", [".", "", "./"])
def test_the_current_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _refused(Path(given)) == (
        ".: is the current directory, and a build replaces the whole -o folder; build into a "
        "folder below it, such as -o out"
    )
    assert Path.cwd() == tmp_path and list(tmp_path.iterdir()) == []


def test_a_folder_above_the_current_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    assert _refused(Path("..")) == "..: holds the current directory; choose another -o"


def test_a_folder_holding_the_experiment_is_refused(tmp_path: Path) -> None:
    experiment = tmp_path / "exps" / "exp.yaml"
    experiment.parent.mkdir()
    shutil.copy(QUICKSTART, experiment)
    assert _refused(tmp_path / "exps", experiment) == (
        f"{tmp_path / 'exps'}: holds {experiment}, which this build reads; choose another -o, "
        "such as -o out"
    )
    assert experiment.read_bytes() == QUICKSTART.read_bytes()


def test_cli_refuses_dot_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["build", str(QUICKSTART), "-o", "."])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        ".: is the current directory, and a build replaces the whole -o folder; build into a "
        "folder below it, such as -o out"
    ]


def test_a_symlinked_output_is_written_through(tmp_path: Path) -> None:
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir()
    link.symlink_to("real")
    files = build(QUICKSTART, link)
    build(QUICKSTART, link)
    assert link.is_symlink() and os.readlink(link) == "real"
    assert read_dir(real) == files
    assert _leftovers(tmp_path) == []


def test_a_dangling_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("nowhere")
    assert _refused(tmp_path / "link") == (
        f"{tmp_path / 'link'}: is a symlink to nowhere, which does not exist; create that "
        "folder or choose another -o"
    )
    assert (tmp_path / "link").is_symlink()


def test_a_mount_point_is_refused_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(outdir_guard.os.path, "ismount", lambda p: Path(p) == out)
    assert _refused(out) == (
        f"{out}: is a mount point, which a build cannot swap for a new folder; build into a "
        f"folder inside it (-o {out / 'out'}) or mount the folder above it"
    )


def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    build(QUICKSTART, out)
    before = read_dir(out)
    writes = []

    def full(fd: int, data: Any) -> int:
        writes.append(fd)
        if len(writes) > 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)

    monkeypatch.setattr(write.os, "write", full)
    assert _refused(out) == (
        f"{out}: cannot write the output (No space left on device); {out} is as it was"
    )
    assert read_dir(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _interrupting(real: Callable[..., Any]) -> Callable[..., Any]:
    """`real`, after sending this process SIGINT (as a Ctrl-C between the renames would)."""

    def call(*args: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args)

    return call


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_an_interrupt_during_the_swap_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    out = tmp_path / "out"
    write_output({"kustomization.yaml": b"old"}, out)
    if exchange:
        monkeypatch.setattr(write, "_exchange", _interrupting(write._exchange))
    else:
        monkeypatch.setattr(write, "_exchange", lambda a, b: False)
        monkeypatch.setattr(write.os, "rename", _interrupting(os.rename))
    with pytest.raises(KeyboardInterrupt):
        write_output({"kustomization.yaml": b"new"}, out)
    assert read_dir(out)["kustomization.yaml"] == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_renameat2_exchange_is_used_on_linux(tmp_path: Path) -> None:
    if os.uname().sysname != "Linux":
        pytest.skip("renameat2 is Linux only")
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").mkdir()
    assert write._exchange(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "a").is_dir() and (tmp_path / "b").read_text() == "a"


def test_a_failed_second_rename_restores_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write_output({"kustomization.yaml": b"old"}, out)
    calls = []

    def flaky(src: Any, dst: Any) -> None:
        calls.append(src)
        if len(calls) == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.rename(src, dst)

    monkeypatch.setattr(write, "_exchange", lambda a, b: False)
    monkeypatch.setattr(write.os, "rename", flaky)
    with pytest.raises(OutputError, match="Input/output error"):
        write_output({"kustomization.yaml": b"new"}, out)
    assert read_dir(out)["kustomization.yaml"] == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
