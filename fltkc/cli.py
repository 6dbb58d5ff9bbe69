"""The `fltkc` command line: build, validate and schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from fltkc.errors import FltkcError

app = typer.Typer(
    name="fltkc",
    help="Compile federated and distributed learning experiments into Kubernetes manifests.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

ExperimentArg = Annotated[
    Path, typer.Argument(help="The experiment file (YAML, kind: Experiment).", show_default=False)
]


def _fail(exc: FltkcError) -> typer.Exit:
    for line in exc.lines():
        typer.echo(line, err=True)
    return typer.Exit(exc.exit_code)


@app.command(no_args_is_help=True)
def build(
    experiment: ExperimentArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to (re)write.")] = Path(
        "out"
    ),
    templates: Annotated[
        Optional[Path],  # noqa: UP045 (typer reads the annotation at run time on Python 3.10)
        typer.Option(help="Directory searched before the built-in templates (override libraries)."),
    ] = None,
    queue: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="Kueue LocalQueue for every job (overrides spec.kueue.queueName).",
            show_default=False,
        ),
    ] = None,
    backend: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="pytorchjob (PyTorchJobs) or trainjob (Kubeflow Trainer v2 TrainJobs and "
            "their TrainingRuntimes); overrides spec.backend.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the plan (jobs, arrivals, resources); write nothing."
        ),
    ] = False,
) -> None:
    """Check, expand and render EXPERIMENT into static manifests (kubectl apply -k DIR)."""
    from fltkc.compile.build import build_files, plan_file
    from fltkc.compile.plan_text import plan_lines
    from fltkc.compile.write import write_output

    try:
        plan = plan_file(experiment, queue, backend)
        if dry_run:
            for line in plan_lines(plan):
                typer.echo(line)
            return
        files = build_files(plan, templates)
        write_output(files, output, inputs=(experiment, *([templates] if templates else [])))
    except FltkcError as exc:
        raise _fail(exc) from None
    typer.echo(f"wrote {len(files)} files ({len(plan.jobs)} jobs) to {output}", err=True)


@app.command(no_args_is_help=True)
def validate(
    experiment: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help="The experiment file to check.", show_default=False),
    ] = None,
    manifests: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Also check a built directory with kubeconform -strict."),
    ] = None,
    crd: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Option(help="A CustomResourceDefinition file for --manifests (repeatable)."),
    ] = None,
) -> None:
    """Check EXPERIMENT (schema and semantic rules) and/or a built manifests directory."""
    from fltkc.compile.build import plan_file

    if experiment is None and manifests is None:
        typer.echo("give an experiment file, --manifests DIR, or both (see -h)", err=True)
        raise typer.Exit(2)
    try:
        if experiment is not None:
            plan = plan_file(experiment)
            typer.echo(f"{experiment}: ok ({len(plan.jobs)} jobs)")
        if manifests is not None:
            _check_manifests(manifests, crd or [])
    except FltkcError as exc:
        raise _fail(exc) from None


def _check_manifests(directory: Path, crds: list[Path]) -> None:
    from fltkc.check.core_schemas import ManifestToolError
    from fltkc.check.kubeconform import check_manifests
    from fltkc.check.kustomization import resources_only

    try:
        with resources_only(directory) as listed:
            report = check_manifests(listed, crds)
    except ManifestToolError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exc.exit_code) from None
    for message in report.messages:
        typer.echo(message.replace(str(listed), str(directory)), err=True)
    summary = (
        f"{directory}: {report.valid} valid, {report.invalid} invalid, "
        f"{report.errors} errors, {report.skipped} skipped"
    )
    typer.echo(summary)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the experiment JSON Schema (Draft 2020-12)."""
    from fltkc.contract.datafiles import EXPERIMENT_SCHEMA, load_schema

    typer.echo(json.dumps(load_schema(EXPERIMENT_SCHEMA), indent=2))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def cluster(ctx: typer.Context) -> None:
    """A local control plane with the real controllers: build | up | down | status (-h)."""
    from fltkc.cluster.cli import main

    raise typer.Exit(main(ctx.args or ["-h"], prog="fltkc cluster"))


def _register_run_commands() -> None:
    from fltkc.local.cli import run_command
    from fltkc.results.cli import results_command

    app.command("run", no_args_is_help=True)(run_command)
    app.command("results", no_args_is_help=True)(results_command)


_register_run_commands()


def main() -> None:
    """Console entry point (`fltkc`)."""
    app()


if __name__ == "__main__":
    main()
