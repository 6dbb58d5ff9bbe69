"""Start a control plane on loopback, wait until every controller is ready, stop it by pid."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fltkc.cluster import commands, manifests, pki, processes
from fltkc.cluster.commands import Layout
from fltkc.cluster.processes import StartError

Log = Callable[[str], None]
# The training operator's cert rotator checks that its serving certificate exists at this fixed
# path (its webhook server reads $TMPDIR's copy): the file must exist, nothing reads it.
ROTATOR_CERT_DIR = Path("/tmp/k8s-webhook-server/serving-certs")


@dataclass
class ControlPlane:
    """A started control plane: its folder, API server URL and processes."""

    root: Path
    server: str
    pids: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> (pid, executable)
    timings: dict[str, float] = field(default_factory=dict)
    _procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = field(default_factory=dict)

    @property
    def layout(self) -> Layout:
        return Layout(self.root)

    @property
    def kubeconfig(self) -> Path:
        return self.layout.kubeconfig

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise StartError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
        return done

    def apply(self, objects: list[dict[str, Any]]) -> None:
        # JSON: kubectl parses it far faster than the megabytes of CRD YAML.
        items = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=items)

    def save(self) -> None:
        state = {
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "pids": {n: list(p) for n, p in self.pids.items()},
            "timings": self.timings,
        }
        self.layout.state.write_text(json.dumps(state, indent=2) + "\n")

    def spawn(self, name: str, argv: Sequence[str], attached: bool, env: dict[str, str]) -> None:
        log = self.layout.logs / f"{name}.log"
        proc = processes.spawn(argv, log, env, attached)
        self.pids[name] = (proc.pid, argv[0])
        self._procs[name] = (proc, log)
        self.save()

    def watched(self, *names: str) -> dict[str, tuple[subprocess.Popen[bytes], Path]]:
        return {n: self._procs[n] for n in names if n in self._procs}

    def stop(self) -> list[str]:
        """Stop every process by its recorded pid; the names that needed SIGKILL.

        Clients first, then the API server, then etcd: a controller whose API server is gone,
        or an API server whose etcd is gone, hangs in retries instead of exiting.
        """
        core = ("kube-apiserver", "etcd")
        killed = processes.stop({n: p for n, p in self.pids.items() if n not in core})
        for name in core:
            if name in self.pids:
                killed += processes.stop({name: self.pids[name]})
        for proc, _ in self._procs.values():
            proc.poll()
        return killed


def load(root: Path) -> ControlPlane:
    """The control plane recorded in `root`/state.json (by `up`)."""
    state = json.loads(Layout(root).state.read_text())
    pids = {n: (int(p[0]), str(p[1])) for n, p in state["pids"].items()}
    return ControlPlane(root, state["server"], pids, state.get("timings", {}))


def _stages(complete_after: float) -> list[dict[str, Any]]:
    text = resources.files("fltkc.cluster").joinpath("kwok-stages.yaml").read_text()
    stages = [s for s in yaml.safe_load_all(text) if s]
    for stage in stages:
        if stage["metadata"]["name"] == "pod-complete":
            stage["spec"]["delay"]["durationMilliseconds"] = int(complete_after * 1000)
    return stages


def _webhook_certs(lay: Layout, keys: pki.Pki) -> None:
    lay.cert_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(keys.path("webhook.crt"), lay.cert_dir / "tls.crt")
    shutil.copy(keys.path("webhook.key"), lay.cert_dir / "tls.key")
    if not (ROTATOR_CERT_DIR / "tls.crt").exists():
        ROTATOR_CERT_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copy(keys.path("webhook.crt"), ROTATOR_CERT_DIR / "tls.crt")


def start(
    root: Path, complete_after: float = 10.0, attached: bool = True, log: Log = lambda _: None
) -> ControlPlane:
    """Start everything under `root` (a new folder, or one a previous start used) and wait.

    `complete_after`: seconds kwok lets a pod run before it completes. Attached (tests): the
    processes die with this one and are stopped at exit. On failure everything started is
    stopped and StartError carries the log of what failed.
    """
    if root.exists() and any(root.iterdir()):
        if not Layout(root).state.is_file():
            raise StartError(f"{root} is not empty and holds no control plane; choose a new folder")
        shutil.rmtree(root)  # a previous control plane's files
    lay = Layout(root)
    lay.logs.mkdir(parents=True)
    began = time.monotonic()
    ports = commands.free_ports()
    plane = ControlPlane(root, f"https://127.0.0.1:{ports['apiserver']}")
    if attached:
        atexit.register(plane.stop)
    try:
        _start(plane, ports, complete_after, attached, log)
    except BaseException:
        plane.stop()
        raise
    plane.timings["total"] = round(time.monotonic() - began, 2)
    plane.save()
    return plane


def _start(
    plane: ControlPlane, ports: dict[str, int], complete_after: float, attached: bool, log: Log
) -> None:
    lay, began = plane.layout, time.monotonic()

    def mark(step: str) -> None:
        plane.timings[step] = round(time.monotonic() - began, 2)
        log(f"{step}: {plane.timings[step]:.1f} s")

    env = {**os.environ, "KUBECONFIG": str(lay.kubeconfig), "TMPDIR": str(lay.tmp)}
    lay.tmp.mkdir(parents=True)
    keys = pki.create(lay.pki)
    pki.kubeconfig(keys, plane.server, lay.kubeconfig)
    mark("pki")
    _start_apiserver(plane, ports, attached, env)
    mark("apiserver")
    stages = manifests.dump(_stages(complete_after), lay.config("kwok.yaml"))
    plane.spawn("kube-controller-manager", commands.controller_manager(lay, ports), attached, env)
    plane.spawn("kube-scheduler", commands.scheduler(lay, ports), attached, env)
    plane.spawn("kwok", commands.kwok(lay, stages), attached, env)
    _install(plane, ports, keys)
    mark("crds")
    _webhook_certs(lay, keys)
    operator_env = {**env, "MY_POD_NAMESPACE": "kubeflow"}  # read by the training operator
    plane.spawn("training-operator", commands.training_operator(lay, ports), attached, operator_env)
    plane.spawn("jobset", commands.jobset(lay, ports), attached, env)
    plane.spawn("trainer", commands.trainer(lay, ports), attached, env)
    plane.spawn("kueue", commands.kueue(lay, ports), attached, env)
    _wait_ready(plane, ports)
    mark("ready")


def _start_apiserver(
    plane: ControlPlane, ports: dict[str, int], attached: bool, env: dict[str, str]
) -> None:
    lay = plane.layout
    plane.spawn("etcd", commands.etcd(lay, ports), attached, env)
    health = f"http://127.0.0.1:{ports['etcd']}/health"
    processes.wait_until(lambda: processes.http_ok(health), "etcd", 30, plane.watched("etcd"))
    plane.spawn("kube-apiserver", commands.apiserver(lay, ports), attached, env)
    watched = plane.watched("etcd", "kube-apiserver")
    ready = f"{plane.server}/readyz"
    processes.wait_until(
        lambda: processes.https_ok(ready, lay.pki), "kube-apiserver /readyz", 90, watched
    )


def _install(plane: ControlPlane, ports: dict[str, int], keys: pki.Pki) -> None:
    """Namespaces, webhook Secrets, nodes, CRDs; once the CRDs serve, the webhook configurations."""
    bundle = manifests.ca_bundle(keys)
    plane.apply(
        manifests.namespaces_and_secrets(keys) + manifests.nodes() + manifests.crds(ports, bundle)
    )
    watched = plane.watched(*plane.pids)
    processes.wait_until(lambda: _crds_established(plane), "CRDs Established", 60, watched)
    plane.apply(manifests.webhook_configurations(ports, bundle))


def _wait_ready(plane: ControlPlane, ports: dict[str, int]) -> None:
    watched = plane.watched(*plane.pids)

    def wait(check: Callable[[], bool], what: str) -> None:
        processes.wait_until(check, what, 120, watched)

    for name in (operator.name for operator in manifests.OPERATORS):
        url = f"http://127.0.0.1:{ports[name + '-health']}/readyz"
        wait(functools.partial(processes.http_ok, url), f"{name} /readyz")
    for name in ("kube-controller-manager", "kube-scheduler"):
        # The controller manager serves no /readyz; /healthz on both.
        url = f"https://127.0.0.1:{ports[name.removeprefix('kube-')]}/healthz"
        wait(functools.partial(processes.https_ok, url), f"{name} /healthz")
    wait(lambda: _nodes_ready(plane), "nodes Ready")


def _crds_established(plane: ControlPlane) -> bool:
    # `kubectl wait --for condition=established crd --all` fails on a CRD without status yet.
    established = "{.status.conditions[?(@.type=='Established')].status}"
    path = "{range .items[*]}{.metadata.name}=" + established + ";{end}"
    out = plane.kubectl("get", "crd", "-o", f"jsonpath={path}", check=False).stdout
    states = [entry.split("=", 1)[1] for entry in out.split(";") if entry]
    return bool(states) and all(state == "True" for state in states)


def _nodes_ready(plane: ControlPlane) -> bool:
    out = plane.kubectl(
        "get",
        "nodes",
        "-o",
        "jsonpath={.items[*].status.conditions[?(@.type=='Ready')].status}",
        check=False,
    ).stdout.split()
    return len(out) == len(manifests.NODES) and set(out) == {"True"}
