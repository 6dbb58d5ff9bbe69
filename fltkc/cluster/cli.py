"""The control plane's commands: build, up, down, status (`python -m fltkc.cluster`)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

PROG = "python -m fltkc.cluster"


def default_dir() -> Path:
    from fltkc.cluster.build import cache_root

    return cache_root() / "run"


def cmd_build(args: argparse.Namespace) -> int:
    from fltkc.cluster import build

    began = time.monotonic()
    todo = build.missing()
    if not todo:
        print(f"control plane binaries are cached in {build.cache_root()}; nothing to build")
        return 0
    print(
        f"building {', '.join(c.key for c in todo)} into {build.cache_root()} "
        "(about 20 minutes on 2 cores)",
        flush=True,
    )
    log = (lambda m: print(m, flush=True)) if args.verbose else (lambda m: None)
    try:
        seconds = build.build(todo, log=log)
    except build.BuildError as exc:
        print(f"{PROG} build: error: {exc}", file=sys.stderr)
        return 1
    for name, took in seconds.items():
        print(f"  {name}: {took:.0f} s")
    print(f"built in {time.monotonic() - began:.0f} s")
    return 0


def _running(folder: Path) -> bool:
    from fltkc.cluster import controlplane, processes

    try:
        plane = controlplane.load(folder)
    except (OSError, ValueError, KeyError):
        return False
    return any(processes.alive(pid, exe) for pid, exe in plane.pids.values())


def cmd_up(args: argparse.Namespace) -> int:
    from fltkc.cluster import build, controlplane
    from fltkc.cluster.processes import StartError

    folder = args.dir
    if _running(folder):
        print(
            f"{PROG} up: a control plane is already running from {folder}; "
            f"run `{PROG} down --dir {folder}` first",
            file=sys.stderr,
        )
        return 1
    try:
        plane = controlplane.start(
            folder,
            complete_after=args.complete_after,
            attached=False,
            log=lambda m: print(f"  {m}", flush=True),
        )
    except (build.BuildError, StartError) as exc:
        print(f"{PROG} up: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"control plane ready in {plane.timings['total']:.1f} s at {plane.server}\n"
        f"  export KUBECONFIG={plane.kubeconfig}\n  kubectl get nodes\n"
        f"  {PROG} down --dir {folder}    # stops it; logs stay in {plane.layout.logs}"
    )
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from fltkc.cluster import controlplane

    try:
        plane = controlplane.load(args.dir)
    except (OSError, ValueError, KeyError):
        print(f"{PROG} down: no control plane recorded in {args.dir}", file=sys.stderr)
        return 1
    killed = plane.stop()
    note = f" ({', '.join(killed)} needed SIGKILL)" if killed else ""
    print(f"stopped {len(plane.pids)} processes{note}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from fltkc.cluster import build, controlplane, processes

    missing = build.missing()
    print(
        "binaries: "
        + ("all cached" if not missing else "missing " + ", ".join(c.key for c in missing))
    )
    try:
        plane = controlplane.load(args.dir)
    except (OSError, ValueError, KeyError):
        print(f"no control plane recorded in {args.dir}")
        return 1
    up = {n: processes.alive(pid, exe) for n, (pid, exe) in plane.pids.items()}
    for name, (pid, _) in plane.pids.items():
        print(f"  {name:24} pid {pid:<8} {'running' if up[name] else 'stopped'}")
    print(f"server {plane.server}, KUBECONFIG={plane.kubeconfig}")
    return 0 if all(up.values()) else 1


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Run one command; its exit status (0 ok, 1 failed). No printing beyond the command's."""
    parser = argparse.ArgumentParser(
        prog=prog, description="A local control plane with the real Kubeflow controllers."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build_p = sub.add_parser("build", help="build or reuse the cached binaries")
    build_p.add_argument("-v", "--verbose", action="store_true", help="show each go command")
    build_p.set_defaults(run=cmd_build)
    for name, run, text in (
        ("up", cmd_up, "start it and write a kubeconfig"),
        ("down", cmd_down, "stop the processes `up` started"),
        ("status", cmd_status, "show the binaries and the processes"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--dir", type=Path, default=default_dir(), help="state folder")
        p.set_defaults(run=run)
    sub.choices["up"].add_argument(
        "--complete-after",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long kwok lets a pod run before it succeeds (default 30)",
    )
    args = parser.parse_args(argv)
    return int(args.run(args))
