"""The `fltkc results` command; fltkc.cli registers it, and only it prints or exits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fltkc.contract import EXIT_USAGE

NO_MATPLOTLIB = "matplotlib is not installed; pip install 'fltkc[results]' draws them"


def _error(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def results_command(
    directory: Annotated[
        Path, typer.Argument(help="A run directory, or a logs volume copied with kubectl cp.")
    ],
    csv: Annotated[
        Path | None, typer.Option(help="Where to write the CSV (default: DIRECTORY/results.csv).")
    ] = None,
    plots: Annotated[
        Path | None, typer.Option(help="Folder for the PNG plots (default: DIRECTORY/plots).")
    ] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
) -> None:
    """Summarise a run: a table per job, a CSV, and accuracy, loss and timeline plots."""
    from fltkc.results import format_table, load_run, plot_run, summarize, write_csv

    if not directory.is_dir():
        raise _error(f"{directory}: no such directory; give a run or logs directory")
    results = load_run(directory)
    if not results.jobs:
        raise _error(f"{directory}: no metrics.jsonl, result.json or run.json found")
    rows = [summarize(job) for job in results.jobs]
    typer.echo(format_table(rows))
    csv_path = csv or directory / "results.csv"
    write_csv(rows, csv_path)
    typer.echo(f"\nwrote {csv_path}")
    if no_plots:
        return
    try:
        paths = plot_run(results, plots or directory / "plots")
    except ImportError as exc:
        if not (exc.name or "").startswith("matplotlib"):
            raise
        typer.echo(f"no plots: {NO_MATPLOTLIB}", err=True)
        return
    for path in paths:
        typer.echo(f"wrote {path}")
