"""The `fltkc results` command; fltkc.cli registers it, and only it prints or exits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fltkc.contract import EXIT_USAGE

if TYPE_CHECKING:
    from fltkc.results import Analysis

NO_MATPLOTLIB = "matplotlib is not installed; pip install 'fltkc[results]' draws them"


def _error(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def _beside(csv_path: Path, suffix: str) -> Path:
    return csv_path.with_name(f"{csv_path.stem}-{suffix}.csv")


def results_command(
    directory: Annotated[
        Path, typer.Argument(help="A run directory, or a logs volume copied with kubectl cp.")
    ],
    csv: Annotated[
        Path | None,
        typer.Option(
            help="The per-job CSV (default: DIRECTORY/results.csv); -long, -points and "
            "-scheduling CSVs go beside it."
        ),
    ] = None,
    plots: Annotated[
        Path | None, typer.Option(help="Folder for the PNG plots (default: DIRECTORY/plots).")
    ] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
    target: Annotated[
        float | None,
        typer.Option(help="Count the rounds or epochs to this test accuracy, e.g. 0.9."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="The build's out/ (default: DIRECTORY/out): plan, missing jobs."),
    ] = None,
    slots: Annotated[
        int | None,
        typer.Option(help="Replica slots of the cluster, for utilisation (local runs record it)."),
    ] = None,
    report: Annotated[
        bool,
        typer.Option(
            "--report", help="Also write DIRECTORY/report.html: one page, figures inlined."
        ),
    ] = False,
) -> None:
    """Summarise a run: per job, per task and sweep point (mean, std, 95% CI), scheduling
    metrics per task class; CSVs, plots and optionally an HTML report."""
    from fltkc.results import (
        analyse,
        format_classes,
        format_groups,
        format_table,
        load_run,
        write_csv,
        write_groups_csv,
        write_long_csv,
        write_scheduling_csv,
    )

    if not directory.is_dir():
        raise _error(f"{directory}: no such directory; give a run or logs directory")
    if target is not None and not 0.0 < target <= 1.0:
        raise _error(f"--target {target}: give an accuracy between 0 and 1, e.g. 0.9")
    if out is not None and not out.is_dir():
        raise _error(f"--out {out}: no such directory; give the folder fltkc build wrote")
    results = load_run(directory, out)
    if not any(job.started for job in results.jobs):
        raise _error(f"{directory}: no metrics.jsonl, result.json or run.json found")
    analysis = analyse(results, target, slots)
    typer.echo(format_table(analysis.rows))
    typer.echo("\nper task and sweep point:\n" + format_groups(analysis.groups, target))
    if analysis.timeline is not None:
        typer.echo("\nscheduling per task class:\n" + format_classes(analysis.timeline))
    csv_path = csv or directory / "results.csv"
    written = [csv_path, _beside(csv_path, "long"), _beside(csv_path, "points")]
    write_csv(analysis.rows, written[0])
    write_long_csv(results.jobs, written[1])
    write_groups_csv(analysis.groups, written[2], target)
    if analysis.timeline is not None:
        written.append(_beside(csv_path, "scheduling"))
        write_scheduling_csv(analysis.timeline, written[-1])
    typer.echo("")
    for path in written:
        typer.echo(f"wrote {path}")
    figures: list[Path] = []
    if not no_plots:
        figures = _draw(analysis, plots or directory / "plots")
        for path in figures:
            typer.echo(f"wrote {path}")
    if report:
        import tempfile

        from fltkc.results.report import write_report

        with tempfile.TemporaryDirectory() as scratch:  # --no-plots: drawn only to inline
            if no_plots:
                figures = _draw(analysis, Path(scratch))
            path = write_report(analysis, figures, directory / "report.html")
        typer.echo(f"wrote {path}")


def _draw(analysis: Analysis, folder: Path) -> list[Path]:
    """The PNG plots, or none (said once on stderr) where matplotlib is not installed."""
    from fltkc.results import plot_run

    try:
        return plot_run(analysis, folder)
    except ImportError as exc:
        if not (exc.name or "").startswith("matplotlib"):
            raise
        typer.echo(f"no plots: {NO_MATPLOTLIB}", err=True)
        return []
