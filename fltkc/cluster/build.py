"""Build the control plane's binaries from pinned Go modules into a per-version cache."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from fltkc.cluster.versions import COMPONENTS, KUBERNETES, Component, kubernetes_staging_version

Log = Callable[[str], None]
# Bump when the manifests' rendering changes: cached binaries keep, manifests are redone.
MANIFESTS_REVISION = 2


class BuildError(Exception):
    """A build step failed; the message carries the command and the end of its output."""


def cache_root() -> Path:
    """~/.cache/fltkc/controlplane, or $FLTKC_CLUSTER_CACHE."""
    override = os.environ.get("FLTKC_CLUSTER_CACHE")
    if override:
        return Path(override)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "fltkc" / "controlplane"


def component_dir(component: Component) -> Path:
    return cache_root() / component.key


def is_built(component: Component) -> bool:
    """True when the binaries, the stamp of a finished build and current manifests are cached."""
    folder = component_dir(component)
    return (
        (folder / "build.json").is_file()
        and all((folder / "bin" / name).is_file() for name, _ in component.binaries)
        and manifests_current(component)
    )


def manifests_current(component: Component) -> bool:
    if not component.manifests:
        return True
    stamp = manifests_dir(component) / "revision"
    return stamp.is_file() and stamp.read_text().strip() == str(MANIFESTS_REVISION)


def binary(name: str) -> Path:
    """The cached binary `name`; BuildError names the build command when it is missing."""
    for component in COMPONENTS:
        if any(name == b for b, _ in component.binaries):
            path = component_dir(component) / "bin" / name
            if not is_built(component):
                raise BuildError(f"{path} is not built; run: python -m fltkc.cluster build")
            return path
    raise KeyError(name)


def manifests_dir(component: Component) -> Path:
    return component_dir(component) / "manifests"


def missing() -> list[Component]:
    return [c for c in COMPONENTS if not is_built(c)]


def _run(command: list[str], cwd: Path, env: dict[str, str], log: Log) -> str:
    # nice: two cores are shared with other work on the machine.
    log(f"+ {' '.join(command)}  (in {cwd.name})")
    done = subprocess.run(
        ["nice", "-n", "10", *command], cwd=cwd, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-4000:]
        raise BuildError(f"{' '.join(command)} failed with exit {done.returncode}:\n{tail}")
    return done.stdout


def _go_env(gocache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOCACHE=str(gocache),
        GOWORK="off",
        GOFLAGS="-mod=mod -buildvcs=false",
        GOTOOLCHAIN="local",  # the modules ask for go 1.26.0; never fetch a toolchain
        CGO_ENABLED="0",
    )
    return env


def _download(module: str, version: str, env: dict[str, str], cwd: Path, log: Log) -> Path:
    """The module's folder in the (read-only) module cache, downloading it if needed."""
    out = _run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd, env, log)
    info = json.loads(out)
    if info.get("Error"):
        raise BuildError(f"go mod download {module}@{version}: {info['Error']}")
    return Path(info["Dir"])


def _wrapper(work: Path, component: Component, source: Path) -> tuple[Path, list[str]]:
    """A module that requires `component` and imports the mains it builds (for go mod tidy)."""
    mod = work / "wrapper"
    mod.mkdir()
    lines = [
        f"module fltkc.local/{component.name}",
        "",
        "go 1.26.0",
        "",
        f"require {component.module} {component.version}",
    ]
    if component.recipe == "kubernetes":
        # k8s.io/X => ./staging/src/k8s.io/X becomes the published k8s.io/X v0.<minor>.<patch>.
        staged = re.findall(
            r"^\s*(k8s\.io/[\w.-]+) => \./staging/", (source / "go.mod").read_text(), re.MULTILINE
        )
        if not staged:
            raise BuildError(f"{source}/go.mod: no ./staging replaces found; the recipe is stale")
        staging = kubernetes_staging_version(component.version)
        lines += ["", "replace ("] + [f"\t{m} => {m} {staging}" for m in staged] + [")"]
        imports = [f"{component.module}/{pkg}/app" for _, pkg in component.binaries]
        packages = [f"{component.module}/{pkg}" for _, pkg in component.binaries]
        main = "package main\n\nimport (\n" + "".join(f'\t_ "{i}"\n' for i in imports)
        main += ")\n\nfunc main() {}\n"
        (mod / "tools.go").write_text(main)
    elif component.recipe == "flux":
        (mod / "main.go").write_text(component.main_source())
        packages = ["."]
    else:  # etcd: the real main, as etcd's own server/main.go does
        main = (
            'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n'
            "func main() { etcdmain.Main(os.Args) }\n"
        )
        (mod / "main.go").write_text(main)
        packages = ["."]
    (mod / "go.mod").write_text("\n".join(lines) + "\n")
    return mod, packages


def _ldflags(component: Component) -> str:
    flags = ["-s", "-w"]  # stripped: about 30 % smaller
    if component is KUBERNETES:
        # Without a stamped version /version says v0.0.0-master and kubectl refuses to talk.
        major, minor = component.version[1:].split(".")[:2]
        base = "k8s.io/component-base/version"
        flags += [
            f"-X {base}.gitVersion={component.version}",
            f"-X {base}.gitMajor={major}",
            f"-X {base}.gitMinor={minor}",
            f"-X {base}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _render_manifests(component: Component, source: Path, dest: Path, log: Log) -> None:
    """`kubectl kustomize` each listed directory of the module (patches applied as upstream).

    Stored as JSON: the CRDs are megabytes of YAML that take PyYAML most of a minute to parse
    on a busy machine, and `up` reads them every time.
    """
    dest.mkdir(parents=True, exist_ok=True)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for stem, folder in component.manifests:
        log(f"+ kubectl kustomize {component.module}/{folder}")
        done = subprocess.run(
            ["kubectl", "kustomize", str(source / folder)], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise BuildError(f"kubectl kustomize {source / folder}: {done.stderr[-2000:]}")
        objects = [d for d in yaml.load_all(done.stdout, Loader=loader) if d]
        (dest / f"{stem}.json").write_text(json.dumps(objects))
    (dest / "revision").write_text(f"{MANIFESTS_REVISION}\n")


def refresh_manifests(component: Component, log: Log) -> None:
    """Render the manifests again beside cached binaries (a new MANIFESTS_REVISION)."""
    folder = component_dir(component)
    with tempfile.TemporaryDirectory(prefix=f".{component.name}-", dir=folder) as tmp:
        source = _download(component.module, component.version, dict(os.environ), Path(tmp), log)
        _render_manifests(component, source, Path(tmp) / "manifests", log)
        shutil.rmtree(manifests_dir(component), ignore_errors=True)
        (Path(tmp) / "manifests").rename(manifests_dir(component))


def build_component(component: Component, gocache: Path, log: Log) -> float:
    """Build one component into its cache folder (replaced atomically); the seconds it took."""
    started = time.monotonic()
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    env = _go_env(gocache)
    with tempfile.TemporaryDirectory(prefix=f".{component.name}-", dir=root) as tmp:
        work = Path(tmp)
        source = _download(component.module, component.version, env, work, log)
        staging = work / "out"
        (staging / "bin").mkdir(parents=True)
        if component.recipe == "module":
            # The module cache is read-only and go build may touch go.mod/go.sum: build a copy.
            mod = work / "src"
            shutil.copytree(source, mod)
            for path in (mod, *mod.rglob("*")):
                path.chmod(path.stat().st_mode | 0o200)
            packages = [f"./{pkg}" if pkg != "." else "." for _, pkg in component.binaries]
        else:
            mod, packages = _wrapper(work, component, source)
            _run(["go", "mod", "tidy"], mod, env, log)
        ldflags = _ldflags(component)
        for (name, _), package in zip(component.binaries, packages, strict=True):
            out = str(staging / "bin" / name)
            _run(
                ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, package], mod, env, log
            )
        _render_manifests(component, source, staging / "manifests", log)
        seconds = round(time.monotonic() - started, 1)
        stamp = {"module": component.module, "version": component.version, "seconds": seconds}
        (staging / "build.json").write_text(json.dumps(stamp, indent=2) + "\n")
        final = component_dir(component)
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    log(f"built {component.key} in {seconds:.0f} s")
    return seconds


def build(components: Iterable[Component] = COMPONENTS, log: Log = print) -> dict[str, float]:
    """Build what the cache lacks; seconds per built component (empty on a cache hit).

    One Go build cache serves the whole run (the operators share most dependencies) and is
    deleted afterwards: it grows to several GB, while the binaries are what is reused.
    """
    todo = [c for c in components if not is_built(c)]
    if not todo:
        return {}
    for tool, why in (("go", "install Go >= 1.26"), ("kubectl", "it renders the manifests")):
        if shutil.which(tool) is None:
            raise BuildError(f"{tool} is not on PATH; {why}")
    for component in [c for c in todo if (component_dir(c) / "build.json").is_file()]:
        if all((component_dir(component) / "bin" / n).is_file() for n, _ in component.binaries):
            refresh_manifests(component, log)  # binaries are current, manifests are not
            todo.remove(component)
    cache_root().mkdir(parents=True, exist_ok=True)
    gocache = Path(tempfile.mkdtemp(prefix=".gocache-", dir=cache_root()))
    try:
        return {c.name: build_component(c, gocache, log) for c in todo}
    finally:
        shutil.rmtree(gocache, ignore_errors=True)
