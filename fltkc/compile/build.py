"""The pipeline: load -> validate -> expand -> render -> write, each stage one call."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from fltkc.compile.emit import package_files
from fltkc.compile.expand import Plan, expand
from fltkc.compile.load import Source, load
from fltkc.compile.outdir_guard import BUILD_RECORD, build_record
from fltkc.compile.plan import schedule_json
from fltkc.compile.plan_workloads import workloads_document
from fltkc.compile.render import render_documents
from fltkc.compile.validate import validate
from fltkc.compile.write import write_output
from fltkc.errors import CompileError, Diagnostic

# Rendered but not listed in kustomization.yaml: the Argo CD Application points at the built
# directory, so syncing that directory must not create (or prune) the Application itself.
OUTSIDE_KUSTOMIZATION = {"argocd-application": "argocd-application.yaml"}
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def plan_file(path: Path, queue: str | None = None) -> Plan:
    """Load, validate and expand one experiment file; `queue` overrides spec.kueue.queueName."""
    source = load(path)
    if queue is not None:
        source = with_queue(source, queue)
    return expand(validate(source))


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
    documents = render_documents(plan, templates, backend, sections)
    outside = {
        OUTSIDE_KUSTOMIZATION[stem]: documents.pop(stem)
        for stem in sorted(OUTSIDE_KUSTOMIZATION)
        if stem in documents
    }
    files = {**package_files(documents, plan.experiment.namespace, schedule_json(plan)), **outside}
    return dict(sorted({**files, BUILD_RECORD: build_record(files)}.items()))


def build(
    path: Path,
    out_dir: Path,
    templates: Path | None = None,
    backend: str | None = None,
    queue: str | None = None,
) -> dict[str, bytes]:
    """Compile `path` into `out_dir`; returns what was written."""
    files = build_files(plan_file(path, queue), templates, backend)
    write_output(files, out_dir, inputs=(path, *([templates] if templates else [])))
    return files
