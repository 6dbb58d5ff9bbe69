"""The pipeline: load -> validate -> expand -> render -> write, each stage one call."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from fltkc.compile.emit import package_files
from fltkc.compile.expand import Plan, expand
from fltkc.compile.experiment import BACKENDS
from fltkc.compile.load import Source, load
from fltkc.compile.outdir_guard import BUILD_RECORD, build_record
from fltkc.compile.plan_trainjob import check_trainjob, kustomize_sort_options, trainjob_section
from fltkc.compile.plan_workloads import workloads_document
from fltkc.compile.render import render_documents
from fltkc.compile.validate import validate
from fltkc.compile.write import write_output
from fltkc.errors import CompileError, Diagnostic

# Rendered but not listed in kustomization.yaml: the Argo CD Application points at the built
# directory, so syncing that directory must not create (or prune) the Application itself.
OUTSIDE_KUSTOMIZATION = {"argocd-application": "argocd-application.yaml"}
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def plan_file(path: Path, queue: str | None = None, job_backend: str | None = None) -> Plan:
    """Load, validate and expand one experiment file.

    `queue` overrides spec.kueue.queueName and `job_backend` spec.backend (pytorchjob|trainjob).
    """
    source = load(path)
    if queue is not None:
        source = with_queue(source, queue)
    if job_backend is not None:
        source = with_backend(source, job_backend)
    plan = expand(validate(source))
    check_trainjob(plan)
    return plan


def with_backend(source: Source, job_backend: str) -> Source:
    """The source as if its file said `spec.backend: <job_backend>`."""
    if job_backend not in BACKENDS:
        message = f"--backend {job_backend!r} is not one of {', '.join(BACKENDS)}"
        raise CompileError([Diagnostic(source.file, 1, 1, "", message)])
    document = source.document
    if not isinstance(document, dict) or not isinstance(document.get("spec"), dict):
        return source  # the schema reports the malformed document
    spec = {**document["spec"], "backend": job_backend}
    return dataclasses.replace(source, document={**document, "spec": spec})


def with_queue(source: Source, queue: str) -> Source:
    """The source as if its file said `spec.kueue.queueName: <queue>`."""
    if not _DNS_1035.fullmatch(queue) or len(queue) > 63:
        message = f"--queue {queue!r} is not a LocalQueue name; use a DNS-1035 label such as fltk"
        raise CompileError([Diagnostic(source.file, 1, 1, "", message)])
    document = source.document
    if not isinstance(document, dict) or not isinstance(document.get("spec"), dict):
        return source  # the schema reports the malformed document
    spec = dict(document["spec"])
    kueue = spec.get("kueue")
    spec["kueue"] = {**(kueue if isinstance(kueue, dict) else {}), "queueName": queue}
    return dataclasses.replace(source, document={**document, "spec": spec})


def build_files(
    plan: Plan, templates: Path | None = None, backend: str | None = None
) -> dict[str, bytes]:
    """Render a plan into the file map of out/, the build record included (nothing written)."""
    sections = {"workloads": workloads_document(plan)}
    if (trainjob := trainjob_section(plan)) is not None:
        sections["trainjob"] = trainjob
    documents = render_documents(plan, templates, backend, sections)
    outside = {
        OUTSIDE_KUSTOMIZATION[stem]: documents.pop(stem)
        for stem in sorted(OUTSIDE_KUSTOMIZATION)
        if stem in documents
    }
    namespace, sorting = plan.experiment.namespace, kustomize_sort_options(plan)
    packaged = package_files(documents, namespace, plan.schedule_json, sorting)
    files = {**packaged, **outside}
    return dict(sorted({**files, BUILD_RECORD: build_record(files)}.items()))


def build(
    path: Path,
    out_dir: Path,
    templates: Path | None = None,
    backend: str | None = None,
    queue: str | None = None,
    job_backend: str | None = None,
) -> dict[str, bytes]:
    """Compile `path` into `out_dir`; returns what was written.

    `backend` is the Jsonnet implementation; `job_backend` overrides spec.backend."""
    files = build_files(plan_file(path, queue, job_backend), templates, backend)
    write_output(files, out_dir, inputs=(path, *([templates] if templates else [])))
    return files
