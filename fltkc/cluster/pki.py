"""A throwaway PKI for one control plane: cluster CA, serving and client certificates, webhooks."""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

# The operators' cert rotators (open-policy-agent/cert-controller) accept a CA only when its
# certificate verifies for the rotator's CA name, and renew anything expiring within 90 days.
WEBHOOK_CA_NAMES = ("training-operator-ca", "kueue-ca", "kubeflow-trainer-ca", "jobset-ca")
# <service>.<namespace>.svc each operator's rotator checks the serving certificate against.
WEBHOOK_DNS_NAMES = (
    "training-operator.kubeflow.svc",
    "kueue-webhook-service.kueue-system.svc",
    "kubeflow-trainer-controller-manager.kubeflow-system.svc",
    "jobset-webhook-service.jobset-system.svc",
)
DAYS = 400


@dataclass(frozen=True)
class Pki:
    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def ca(self) -> Path:
        return self.path("ca.crt")

    @property
    def webhook_ca(self) -> Path:
        return self.path("webhook-ca.crt")


def _openssl(*args: str) -> None:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {done.stderr.strip()}")


def _ec_key(path: Path) -> None:
    # EC keys: generated in milliseconds, where 2048-bit RSA takes a noticeable fraction of a
    # second each on a busy 2-core machine.
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path)
    )


def _rsa_key(path: Path) -> None:
    # cert-controller parses its CA key as PKCS#1 ("RSA PRIVATE KEY") only.
    _openssl("genrsa", "-traditional", "-out", str(path), "2048")


def _ca(folder: Path, stem: str, subject: str, sans: tuple[str, ...], rsa: bool) -> None:
    key = folder / f"{stem}.key"
    (_rsa_key if rsa else _ec_key)(key)
    extensions = [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    ]
    if sans:
        extensions.append("subjectAltName=" + ",".join(f"DNS:{n}" for n in sans))
    args = [
        "req",
        "-x509",
        "-new",
        "-key",
        str(key),
        "-subj",
        subject,
        "-days",
        str(DAYS),
        "-out",
        str(folder / f"{stem}.crt"),
    ]
    for ext in extensions:
        args += ["-addext", ext]
    _openssl(*args)


def _signed(
    folder: Path, stem: str, ca: str, subject: str, sans: tuple[str, ...], usage: str
) -> None:
    key, csr, ext = (folder / f"{stem}.{s}" for s in ("key", "csr", "ext"))
    _ec_key(key)
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    lines = [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
    ]
    if sans:
        lines.append("subjectAltName=" + ",".join(sans))
    ext.write_text("\n".join(lines) + "\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(folder / f"{ca}.crt"),
        "-CAkey",
        str(folder / f"{ca}.key"),
        "-CAcreateserial",
        "-days",
        str(DAYS),
        "-extfile",
        str(ext),
        "-out",
        str(folder / f"{stem}.crt"),
    )
    csr.unlink()
    ext.unlink()


def create(folder: Path) -> Pki:
    """Every key and certificate the control plane and the operators' webhooks use."""
    folder.mkdir(parents=True, exist_ok=True)
    _ca(folder, "ca", "/CN=fltkc-cluster-ca", (), rsa=False)
    apiserver_sans = (
        "DNS:localhost",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local",
        "IP:127.0.0.1",
        "IP:10.96.0.1",
    )
    _signed(folder, "apiserver", "ca", "/CN=kube-apiserver", apiserver_sans, "serverAuth")
    # system:masters: the admin, the controllers and the operators all use this identity
    # (the controller-manager still acts through per-controller ServiceAccounts).
    _signed(folder, "admin", "ca", "/O=system:masters/CN=fltkc-admin", (), "clientAuth")
    _ec_key(folder / "sa.key")
    _openssl("pkey", "-in", str(folder / "sa.key"), "-pubout", "-out", str(folder / "sa.pub"))
    _ca(folder, "webhook-ca", "/CN=fltkc-webhook-ca", WEBHOOK_CA_NAMES, rsa=True)
    webhook_sans = tuple(f"DNS:{n}" for n in WEBHOOK_DNS_NAMES) + ("DNS:localhost", "IP:127.0.0.1")
    _signed(folder, "webhook", "webhook-ca", "/CN=fltkc-webhooks", webhook_sans, "serverAuth")
    return Pki(folder)


def webhook_secret_data(pki: Pki) -> dict[str, str]:
    """The four keys cert-controller expects in a webhook Secret (values as file text)."""
    return {
        "ca.crt": pki.path("webhook-ca.crt").read_text(),
        "ca.key": pki.path("webhook-ca.key").read_text(),
        "tls.crt": pki.path("webhook.crt").read_text(),
        "tls.key": pki.path("webhook.key").read_text(),
    }


def kubeconfig(keys: Pki, server: str, path: Path) -> None:
    """An admin kubeconfig with the certificates inline (it works from any folder)."""

    def data(name: str) -> str:
        return base64.b64encode(keys.path(name).read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "fltkc",
        "clusters": [
            {
                "name": "fltkc",
                "cluster": {"server": server, "certificate-authority-data": data("ca.crt")},
            }
        ],
        "users": [
            {
                "name": "fltkc-admin",
                "user": {
                    "client-certificate-data": data("admin.crt"),
                    "client-key-data": data("admin.key"),
                },
            }
        ],
        "contexts": [{"name": "fltkc", "context": {"cluster": "fltkc", "user": "fltkc-admin"}}],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
