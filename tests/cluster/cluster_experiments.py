"""Small experiments the end-to-end tests build with `fltkc build` (YAML as a user writes it)."""

from __future__ import annotations

from pathlib import Path

import yaml
from cluster_support import fltkc_build

TASK = """
    - name: {name}
      mode: distributed
      dataset: {{name: mnist, source: synthetic}}
      model: {{name: mnist-cnn}}
      batchSize: 32
      optimizer: {{name: sgd, lr: 0.1}}
      loss: cross-entropy
      distributed: {{epochs: 1}}
      replicas:
        master: {{profile: {master}}}
        workers: {{count: {workers}, profile: {worker}}}
      arrivals: {{process: fixed, offsetsSeconds: {offsets}}}
"""


def task(
    name: str,
    master: str,
    workers: int = 0,
    worker: str | None = None,
    offsets: tuple[float, ...] = (0,),
    extra: str = "",
) -> str:
    text = TASK.format(
        name=name, master=master, workers=workers, worker=worker or master, offsets=list(offsets)
    )
    return text + "".join(f"      {line}\n" for line in extra.splitlines() if line)


def experiment(name: str, profiles: str, tasks: str, spec_extra: str = "") -> str:
    head = f"""apiVersion: fltkc.dev/v1alpha1
kind: Experiment
metadata: {{name: {name}}}
spec:
  seed: 7
{spec_extra}  profiles:
"""
    return (
        head
        + "".join(f"    {line}\n" for line in profiles.strip().splitlines())
        + ("  tasks:" + tasks)
    )


def build(text: str, folder: Path) -> Path:
    """Write the experiment into `folder` and build it into `folder`/out."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exp.yaml").write_text(text)
    return fltkc_build(folder / "exp.yaml", folder / "out")


def annotate_pods(out: Path, job: str, annotations: dict[str, str]) -> None:
    """Add pod annotations to every replica template of one built PyTorchJob (drives kwok)."""
    path = out / f"pytorchjob-{job}.yaml"
    obj = yaml.safe_load(path.read_text())
    for replica in obj["spec"]["pytorchReplicaSpecs"].values():
        meta = replica["template"].setdefault("metadata", {})
        meta.setdefault("annotations", {}).update(annotations)
    path.write_text(yaml.safe_dump(obj, sort_keys=False))
