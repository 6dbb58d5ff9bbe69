"""Command lines and configuration files of every control-plane process, on loopback ports."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fltkc.cluster.build import binary

SERVICE_CIDR = "10.96.0.0/16"
ISSUER = "https://kubernetes.default.svc.cluster.local"
# Kueue manages only what fltkc emits; Kueue v0.19 turned the PyTorchJob integration off by
# default, so a cluster admin must list it.
KUEUE_FRAMEWORKS = ("kubeflow.org/pytorchjob", "trainer.kubeflow.org/trainjob")
PORT_NAMES = (
    "etcd",
    "etcd-peer",
    "apiserver",
    "controller-manager",
    "scheduler",
    "training-operator",
    "training-operator-health",
    "jobset",
    "jobset-health",
    "trainer",
    "trainer-health",
    "kueue",
    "kueue-health",
)


def free_ports() -> dict[str, int]:
    """One free loopback port per name (held open together, so they are distinct)."""
    sockets = []
    try:
        for _ in PORT_NAMES:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return {n: s.getsockname()[1] for n, s in zip(PORT_NAMES, sockets, strict=True)}
    finally:
        for s in sockets:
            s.close()


@dataclass(frozen=True)
class Layout:
    """Where one control plane keeps its files."""

    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def tmp(self) -> Path:
        # TMPDIR of the operators: controller-runtime serves webhooks from
        # $TMPDIR/k8s-webhook-server/serving-certs, so each control plane has its own.
        return self.root / "tmp"

    @property
    def cert_dir(self) -> Path:
        return self.tmp / "k8s-webhook-server" / "serving-certs"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    def config(self, name: str) -> Path:
        return self.root / "config" / name


def _write(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(obj, sort_keys=False))
    return path


def etcd(lay: Layout, ports: dict[str, int]) -> list[str]:
    client, peer = f"http://127.0.0.1:{ports['etcd']}", f"http://127.0.0.1:{ports['etcd-peer']}"
    return [
        str(binary("etcd")),
        "--data-dir",
        str(lay.root / "etcd"),
        "--listen-client-urls",
        client,
        "--advertise-client-urls",
        client,
        "--listen-peer-urls",
        peer,
        "--initial-advertise-peer-urls",
        peer,
        "--initial-cluster",
        f"default={peer}",
        "--unsafe-no-fsync",
        "--log-level",
        "warn",
    ]


def apiserver(lay: Layout, ports: dict[str, int]) -> list[str]:
    pki = lay.pki
    return [
        str(binary("kube-apiserver")),
        "--etcd-servers",
        f"http://127.0.0.1:{ports['etcd']}",
        "--bind-address",
        "127.0.0.1",
        "--advertise-address",
        "127.0.0.1",
        "--secure-port",
        str(ports["apiserver"]),
        "--tls-cert-file",
        str(pki / "apiserver.crt"),
        "--tls-private-key-file",
        str(pki / "apiserver.key"),
        "--client-ca-file",
        str(pki / "ca.crt"),
        "--service-account-issuer",
        ISSUER,
        "--service-account-key-file",
        str(pki / "sa.pub"),
        "--service-account-signing-key-file",
        str(pki / "sa.key"),
        "--authorization-mode",
        "RBAC",
        "--enable-admission-plugins",
        "PodSecurity",
        "--service-cluster-ip-range",
        SERVICE_CIDR,
        # No kubelet or kube-proxy: nothing could reach the apiserver through the
        # `kubernetes` Service, and its reconciler would fight over a loopback endpoint.
        "--endpoint-reconciler-type",
        "none",
        "--profiling=false",
    ]


def _kube_component(name: str, lay: Layout, port: int) -> list[str]:
    """A control-plane binary that authenticates and authorizes through the admin kubeconfig
    and serves its own health endpoint on loopback."""
    k = str(lay.kubeconfig)
    return [
        str(binary(name)),
        "--kubeconfig",
        k,
        "--authentication-kubeconfig",
        k,
        "--authorization-kubeconfig",
        k,
        "--bind-address",
        "127.0.0.1",
        "--secure-port",
        str(port),
    ]


def controller_manager(lay: Layout, ports: dict[str, int]) -> list[str]:
    return _kube_component("kube-controller-manager", lay, ports["controller-manager"]) + [
        "--service-account-private-key-file",
        str(lay.pki / "sa.key"),
        "--root-ca-file",
        str(lay.pki / "ca.crt"),
        "--use-service-account-credentials",
        "--leader-elect=false",
        # No cloud and no pod network: the controllers that need one only log errors.
        "--controllers",
        "*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
        # Bind pre-created volumes within a second instead of the default 15.
        "--pvclaimbinder-sync-period",
        "1s",
    ]


def scheduler(lay: Layout, ports: dict[str, int]) -> list[str]:
    return _kube_component("kube-scheduler", lay, ports["scheduler"]) + ["--leader-elect=false"]


def kwok(lay: Layout, stages: Path) -> list[str]:
    return [
        str(binary("kwok")),
        "--kubeconfig",
        str(lay.kubeconfig),
        "--config",
        str(stages),
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector",
        "kwok.x-k8s.io/node=fake",
        "--cidr",
        "10.244.0.0/16",
        "--node-ip",
        "10.0.0.2",
        # Renew node leases, or the node lifecycle controller marks the nodes NotReady.
        "--node-lease-duration-seconds",
        "40",
    ]


# The operator's own init container for workers (it waits for the master's DNS name), with the
# two container fields Pod Security "restricted" requires: the stock one lacks them, so in a
# restricted namespace every worker pod is forbidden. A cluster admin sets this template; the
# pod-level securityContext the compiler writes covers runAsNonRoot and seccomp.
PYTORCH_INIT_CONTAINER = """\
- name: init-pytorch
  image: {{.InitContainerImage}}
  imagePullPolicy: IfNotPresent
  resources:
    limits: {cpu: 100m, memory: 20Mi}
    requests: {cpu: 50m, memory: 10Mi}
  securityContext:
    allowPrivilegeEscalation: false
    capabilities: {drop: [ALL]}
  command: ['sh', '-c', 'err=1;for i in $(seq {{.MaxTries}}); do if nslookup {{.MasterAddr}}; \
then err=0 && break; fi;echo waiting for master; sleep 2; done; exit $err']
"""


def training_operator(lay: Layout, ports: dict[str, int]) -> list[str]:
    template = lay.config("pytorch-init-container.yaml")
    template.parent.mkdir(parents=True, exist_ok=True)
    template.write_text(PYTORCH_INIT_CONTAINER)
    # The webhook server binds all interfaces (the operator has no host flag).
    return [
        str(binary("training-operator")),
        "--enable-scheme",
        "pytorchjob",
        "--pytorch-init-container-template-file",
        str(template),
        "--webhook-server-port",
        str(ports["training-operator"]),
        "--health-probe-bind-address",
        f"127.0.0.1:{ports['training-operator-health']}",
        "--metrics-bind-address",
        "0",
    ]


def jobset(lay: Layout, ports: dict[str, int]) -> list[str]:
    config = {
        "apiVersion": "config.jobset.x-k8s.io/v1alpha1",
        "kind": "Configuration",
        "webhook": {"port": ports["jobset"], "host": "127.0.0.1", "certDir": str(lay.cert_dir)},
        "health": {"healthProbeBindAddress": f"127.0.0.1:{ports['jobset-health']}"},
        "metrics": {"bindAddress": "0"},
        "leaderElection": {"leaderElect": False},
        # Certificates come from our PKI and the CA is in the webhook configurations already.
        "internalCertManagement": {"enable": False},
    }
    return [str(binary("jobset")), "--config", str(_write(lay.config("jobset.yaml"), config))]


def trainer(lay: Layout, ports: dict[str, int]) -> list[str]:
    config = {
        "apiVersion": "config.trainer.kubeflow.org/v1alpha1",
        "kind": "Configuration",
        "webhook": {"port": ports["trainer"], "host": "127.0.0.1"},
        "health": {"healthProbeBindAddress": f"127.0.0.1:{ports['trainer-health']}"},
        "metrics": {"bindAddress": "0"},
        "leaderElection": {"leaderElect": False},
        "certManagement": {"enable": False},
    }
    path = _write(lay.config("trainer.yaml"), config)
    return [str(binary("trainer-controller-manager")), "--config", str(path)]


def kueue(lay: Layout, ports: dict[str, int]) -> list[str]:
    config = {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "namespace": "kueue-system",
        "webhook": {"port": ports["kueue"], "host": "127.0.0.1", "certDir": str(lay.cert_dir)},
        "health": {"healthProbeBindAddress": f"127.0.0.1:{ports['kueue-health']}"},
        "metrics": {"bindAddress": "0"},
        "leaderElection": {"leaderElect": False},
        # Switching it off makes Kueue read metrics certificates from /etc/kueue: keep the
        # rotator, fed with the pre-created Secret it then finds valid.
        "internalCertManagement": {"enable": True},
        "integrations": {"frameworks": list(KUEUE_FRAMEWORKS)},
    }
    path = _write(lay.config("kueue.yaml"), config)
    # The visibility API server would listen on a fixed port and needs an APIService.
    return [
        str(binary("kueue")),
        "--config",
        str(path),
        "--feature-gates",
        "VisibilityOnDemand=false",
    ]
