"""Helpers of the end-to-end tests against the local control plane (real controllers, kwok)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
TRAINER_CRDS = ROOT.parent / "shared" / "crds" / "trainer-v2.3.0"
RESTRICTED = "restricted"
# Seconds kwok lets a pod run before it succeeds, for the whole session; a test that needs
# another delay or exit code annotates its pod templates (see fltkc/cluster/kwok-stages.yaml).
COMPLETE_AFTER = 6.0
KWOK_DELAY = "pod-complete.stage.kwok.x-k8s.io/delay"
KWOK_EXIT_CODE = "pod-complete.stage.kwok.x-k8s.io/exit-code"
T = TypeVar("T")
Obj = dict[str, Any]


# The imports in the three functions below are the only places these tests reach into the
# trainer and the contract: re-point them here when those modules move.
def read_trainer_env(environ: Mapping[str, str]) -> Any:
    """The trainer's own env reader (fltkc.contract.env) applied to a pod's environment."""
    from fltkc.contract.env import read_env

    return read_env(environ)


def contract_env() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(variables the operator injects, variables the compiler sets) per fltkc's contract."""
    from fltkc import contract

    return tuple(contract.OPERATOR_ENV), tuple(contract.COMPILER_ENV)


def contract_exit_codes() -> tuple[int, int]:
    """(bad input, lost peer): the trainer's exit codes the ExitCode policy must tell apart."""
    from fltkc import contract

    return contract.EXIT_USAGE, contract.EXIT_PEER_LOST


def wait_for(
    check: Callable[[], T | None], what: str, timeout: float = 60, interval: float = 0.25
) -> T:
    """Poll `check` until it returns something truthy; fail the test with `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def fltkc_build(experiment: Path, out: Path, *extra: str) -> Path:
    """`fltkc build EXP -o OUT` through the CLI, as a user runs it."""
    # The console script installed beside this interpreter (no import of the CLI module).
    command = [
        str(Path(sys.executable).with_name("fltkc")),
        "build",
        str(experiment),
        "-o",
        str(out),
        *extra,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"fltkc build {experiment.name}: {done.stdout}{done.stderr}"
    return out


def documents(text: str) -> list[Obj]:
    return [d for d in yaml.safe_load_all(text) if d]


def condition(obj: Obj, kind: str) -> bool:
    """True when status.conditions has `kind` with status True."""
    return any(
        c.get("type") == kind and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or []
    )


def env_of(pod: Obj, container: str) -> dict[str, str]:
    """A container's env as the pod was created, downward-API references to the pod resolved."""
    for c in pod["spec"]["containers"]:
        if c["name"] == container:
            return {e["name"]: _value(pod, e) for e in c.get("env", [])}
    raise AssertionError(f"pod {pod['metadata']['name']} has no container {container}")


def _value(pod: Obj, env: Obj) -> str:
    if "valueFrom" not in env:
        return str(env.get("value", ""))
    path = env["valueFrom"].get("fieldRef", {}).get("fieldPath", "")
    match = re.fullmatch(r"metadata\.(annotations|labels)\['([^']+)'\]", path)
    if match:
        return str(pod["metadata"].get(match[1], {}).get(match[2], ""))
    if path in ("metadata.name", "metadata.namespace"):
        return str(pod["metadata"][path.split(".")[1]])
    raise AssertionError(f"{env['name']}: cannot resolve {env['valueFrom']} in a test")


@dataclass
class Kube:
    """kubectl against the test control plane, as its admin or with a bearer token."""

    kubeconfig: Path
    server: str

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr}{done.stdout}")
        return done

    def json(self, *args: str) -> Obj:
        return json.loads(self.run("get", *args, "-o", "json").stdout)  # type: ignore[no-any-return]

    def items(self, kind: str, namespace: str, selector: str | None = None) -> list[Obj]:
        extra = ["-l", selector] if selector else []
        return list(self.json(kind, "-n", namespace, *extra)["items"])

    def apply(
        self, objects: Iterable[Obj], namespace: str | None = None, force: bool = False
    ) -> str:
        objects = list(objects)
        if not objects:
            return ""
        args = ["apply", "--server-side", "-f", "-"] + (["-n", namespace] if namespace else [])
        args += ["--force-conflicts"] if force else []
        done = self.run(*args, stdin=yaml.safe_dump_all(list(objects), sort_keys=False))
        return done.stdout + done.stderr

    def namespace(self, name: str, restricted: bool = True) -> str:
        """A new namespace (Pod Security `restricted` enforced and warned); ready for pods."""
        labels = {f"pod-security.kubernetes.io/{m}": RESTRICTED for m in ("enforce", "warn")}
        meta: Obj = {"name": name, "labels": labels if restricted else {}}
        self.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": meta}])
        # The ServiceAccount admission rejects pods until the controller made `default`.
        wait_for(
            lambda: (
                self.run("get", "serviceaccount", "default", "-n", name, check=False).returncode
                == 0
            ),
            f"{name}/default SA",
            30,
        )
        return name

    def token(self, namespace: str, service_account: str) -> str:
        """A short-lived token of a ServiceAccount (TokenRequest API)."""
        return self.run(
            "create", "token", service_account, "-n", namespace, "--duration", "1h"
        ).stdout.strip()

    def as_token(self, token: str, path: Path) -> Kube:
        """The same cluster seen with `token` only (a kubeconfig without the admin cert)."""
        config = yaml.safe_load(self.kubeconfig.read_text())
        config["users"] = [{"name": "token", "user": {"token": token}}]
        config["contexts"][0]["context"]["user"] = "token"
        path.write_text(yaml.safe_dump(config))
        return Kube(path, self.server)
