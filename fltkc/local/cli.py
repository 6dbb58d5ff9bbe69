"""The `fltkc run` command; fltkc.cli registers it, and only it prints or exits."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fltkc.contract import EXIT_FAILED, EXIT_INTERRUPTED


def _error(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def run_command(
    source: Annotated[
        Path, typer.Argument(help="The experiment YAML, or the output directory of fltkc build.")
    ],
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run-dir",
            "-r",
            help="New directory for logs, volumes and run.json "
            "(default: runs/<experiment>-<UTC time>).",
        ),
    ] = None,
    slots: Annotated[
        int | None,
        typer.Option(
            help="Replicas (processes) that may run at once (default: the CPU count, raised "
            "to the largest job)."
        ),
    ] = None,
    time_scale: Annotated[
        float, typer.Option(help="Compress time: a job arriving at t seconds starts at t/X.")
    ] = 1.0,
    all_at_once: Annotated[
        bool, typer.Option("--all-at-once", help="Submit every job at once, in arrival order.")
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="An existing folder to use as the data volume.")
    ] = None,
    grace: Annotated[
        float, typer.Option(help="Seconds from SIGTERM to SIGKILL when stopping replicas.")
    ] = 10.0,
    backend: Annotated[
        str | None,
        typer.Option(
            help="Build an experiment YAML as pytorchjob or trainjob (overrides spec.backend).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run every PyTorchJob or TrainJob of an experiment as local processes, as on a cluster."""
    from fltkc.errors import FltkcError
    from fltkc.local import RunOptions, run_experiment
    from fltkc.local.progress import Progress
    from fltkc.results import format_table, load_run, summarize

    if not source.exists():
        raise _error(f"{source}: no such file or directory", 2)
    if backend is not None and not source.is_file():
        raise _error(f"--backend {backend}: give the experiment YAML, not a built directory", 2)
    options = RunOptions(run_dir, slots, time_scale, all_at_once, data_dir, grace, backend)
    try:
        result = run_experiment(source, options, Progress(sys.stdout))
    except FltkcError as err:
        for line in err.lines():
            typer.echo(line, err=True)
        raise typer.Exit(err.exit_code) from None
    typer.echo("")
    typer.echo(format_table([summarize(job) for job in load_run(result.run_dir).jobs]))
    typer.echo(f"\nrun directory: {result.run_dir} (fltkc results {result.run_dir})")
    for job in result.failed:
        typer.echo(f"job {job.name} failed: see {job.failed_log}", err=True)
    if result.status == "interrupted":
        raise _error("interrupted; every replica was stopped", EXIT_INTERRUPTED)
    if result.failed:
        raise typer.Exit(EXIT_FAILED)
