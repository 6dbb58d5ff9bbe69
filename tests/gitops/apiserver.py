"""A real kube-apiserver (plus etcd) on loopback for tests, with static tokens and RBAC.

No controllers run: objects are stored, validated, admitted (RBAC, Pod Security warnings) and
served, which is what the release and the manifests need. The binaries are the control plane's
(`python -m fltkc.cluster build`, which the README's test command runs): without them these
tests skip locally and fail in CI. tests/cluster runs the same binaries with the controllers.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from k8s_tools import unavailable

ADMIN_TOKEN = "admin-token"


@dataclass(frozen=True)
class ApiServer:
    url: str
    kubeconfig: Path
    tokens: dict[str, str]  # user name -> bearer token

    def kubectl(self, *args: str, token: str = ADMIN_TOKEN, check: bool = True) -> str:
        command = [_binary("kubectl"), "--kubeconfig", str(self.kubeconfig), "--token", token]
        done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr}")
        return done.stdout + done.stderr


def _binary(name: str) -> str:
    """kubectl from PATH; etcd and kube-apiserver from the control plane's binary cache."""
    if name == "kubectl":
        found = shutil.which(name)
        if found is None:
            unavailable("kubectl is not on PATH")
        return str(found)
    from fltkc.cluster.build import BuildError, binary

    try:
        return str(binary(name))
    except BuildError as exc:
        unavailable(str(exc))
        raise


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(stack: ExitStack, command: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    out = stack.enter_context(log.open("wb"))
    proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    stack.callback(stop)
    return proc


@contextmanager
def running_apiserver(workdir: Path, users: Sequence[str]) -> Iterator[ApiServer]:
    """etcd and kube-apiserver under `workdir`; `users` get tokens (the admin is system:masters)."""
    apiserver, etcd = _binary("kube-apiserver"), _binary("etcd")
    _binary("kubectl")
    subprocess.run(["openssl", "genrsa", "-out", str(workdir / "sa.key"), "2048"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(["openssl", "rsa", "-in", str(workdir / "sa.key"), "-pubout", "-out",
                    str(workdir / "sa.pub")], check=True, capture_output=True)  # fmt: skip
    tokens = {user: f"token-{i}" for i, user in enumerate(users)}
    lines = [f"{ADMIN_TOKEN},admin,admin,system:masters"]
    lines += [f"{tok},{user},uid-{i},system:serviceaccounts" for i, (user, tok) in
              enumerate(tokens.items())]  # fmt: skip
    (workdir / "tokens.csv").write_text("\n".join(lines) + "\n")
    client_port, peer_port, secure_port = _port(), _port(), _port()
    etcd_url = f"http://127.0.0.1:{client_port}"
    with ExitStack() as stack:
        _spawn(stack, [etcd, "--data-dir", str(workdir / "etcd"),
                       "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                       "--listen-peer-urls", f"http://127.0.0.1:{peer_port}"],
               workdir / "etcd.log")  # fmt: skip
        proc = _spawn(stack, [apiserver, "--etcd-servers", etcd_url,
                              "--bind-address", "127.0.0.1", "--secure-port", str(secure_port),
                              "--cert-dir", str(workdir / "certs"),
                              "--service-account-issuer", "https://kubernetes.default.svc",
                              "--service-account-key-file", str(workdir / "sa.pub"),
                              "--service-account-signing-key-file", str(workdir / "sa.key"),
                              "--authorization-mode", "RBAC",
                              "--token-auth-file", str(workdir / "tokens.csv"),
                              "--service-cluster-ip-range", "10.0.0.0/24",
                              "--disable-admission-plugins", "ServiceAccount"],
                      workdir / "apiserver.log")  # fmt: skip
        url = f"https://127.0.0.1:{secure_port}"
        kubeconfig = workdir / "kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
            f"clusters: [{{name: t, cluster: {{server: '{url}', "
            "insecure-skip-tls-verify: true}}]\n"
            "users: [{name: t, user: {}}]\ncontexts: [{name: t, context: {cluster: t, user: t}}]\n"
        )
        server = ApiServer(url, kubeconfig, tokens)
        deadline = time.monotonic() + 90
        while server.kubectl("get", "--raw", "/readyz", check=False).strip() != "ok":
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (workdir / "apiserver.log").read_text()[-2000:]
                raise AssertionError(f"kube-apiserver did not become ready:\n{tail}")
            time.sleep(0.5)
        yield server
