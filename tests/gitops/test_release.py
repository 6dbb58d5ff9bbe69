"""The release loop against the official kubernetes client (in-memory server) and a fake clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from compiler_support import GOLDEN_DIR
from fake_apiserver import FakeServer, custom_objects_api

from trainer import release
from trainer.release import LABEL_QUEUE, ReleaseError, Releaser, Settings, read_schedule

NS = "research"
GOLDEN = GOLDEN_DIR / "quickstart"
# quickstart's schedule: ddp-mnist at 0 (not suspended), fed-mnist-a0/a1/a2 at 6.062/12.138/24.903.
DELAYED = ["quickstart-fed-mnist-a0", "quickstart-fed-mnist-a1", "quickstart-fed-mnist-a2"]
T0 = 1_700_000_000.0


class FakeClock:
    """Time moves only when the release sleeps; `on_sleep(now)` runs as each sleep begins."""

    def __init__(self, now: float = T0) -> None:
        self.t = now
        self.sleeps: list[float] = []
        self.on_sleep: Any = None

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(self.t)
        self.t += seconds


class Stop(Exception):
    """Ends a run mid-schedule, as a killed pod would."""


def _server(with_jobs: bool = True) -> FakeServer:
    server = FakeServer()
    if with_jobs:
        for path in sorted(GOLDEN.glob("pytorchjob-*.yaml")):
            server.create(NS, yaml.safe_load(path.read_text()))
    return server


def _settings(tmp_path: Path, queue: str | None = None) -> Settings:
    schedule = read_schedule(GOLDEN / "schedule.json", "quickstart")
    state = tmp_path / "logs" / "quickstart" / "release.json"
    return Settings("quickstart", NS, schedule, state, queue, poll_seconds=1.0)


def _suspended(server: FakeServer, name: str) -> bool:
    return bool(server.jobs[(NS, name)]["spec"]["runPolicy"].get("suspend", False))


def test_golden_jobs_start_suspended_with_flux_create_only() -> None:
    """The premise: delayed jobs are suspended and Flux never re-applies them."""
    server = _server()
    for name in DELAYED:
        assert _suspended(server, name)
        annotations = server.jobs[(NS, name)]["metadata"]["annotations"]
        assert annotations["kustomize.toolkit.fluxcd.io/ssa"] == "IfNotPresent"
    assert not _suspended(server, "quickstart-ddp-mnist")


def test_jobs_released_at_their_offsets_in_order(tmp_path: Path) -> None:
    server, clock = _server(), FakeClock()
    offsets = dict(zip(DELAYED, (6.062, 12.138, 24.903), strict=True))
    seen: list[list[str]] = []

    def watch(now: float) -> None:
        """Whenever the release waits, exactly the jobs already due have been released."""
        released = [n for n in DELAYED if not _suspended(server, n)]
        assert released == [n for n in DELAYED if offsets[n] <= now - T0 + 1e-9]
        seen.append(released)

    clock.on_sleep = watch
    state = Releaser(_settings(tmp_path), custom_objects_api(server), clock).run()
    assert all(not _suspended(server, name) for name in DELAYED)
    assert clock.t - T0 == pytest.approx(24.903)
    # Each release happened at its offset (the clock only stops at offsets), in offset order.
    jobs = state["jobs"]
    assert [jobs[n]["offsetSeconds"] for n in DELAYED] == [6.062, 12.138, 24.903]
    assert [jobs[n]["at"] - T0 for n in DELAYED] == pytest.approx([6.062, 12.138, 24.903])
    assert all(jobs[n]["action"] == "released" and jobs[n]["lateSeconds"] == 0 for n in DELAYED)
    assert jobs["quickstart-ddp-mnist"]["action"] == "left-running"
    assert seen == [[], DELAYED[:1], DELAYED[:2]]  # one wait before each offset, in order
    # The real client sent merge patches to the job URLs; nothing else was written.
    patches = [r for r in server.requests if r[0] == "PATCH"]
    assert [p[1].rsplit("/", 1)[1] for p in patches] == DELAYED
    assert {p[2] for p in patches} == {"application/merge-patch+json"}
    on_disk = json.loads((tmp_path / "logs" / "quickstart" / "release.json").read_text())
    assert on_disk == json.loads(json.dumps(state)) and on_disk["startTime"] == T0


def test_restart_mid_schedule_keeps_clock_and_does_not_re_release(tmp_path: Path) -> None:
    server, clock = _server(), FakeClock()
    api = custom_objects_api(server)

    def crash_after_first(now: float) -> None:
        if now - T0 > 6:
            raise Stop

    clock.on_sleep = crash_after_first
    with pytest.raises(Stop):
        Releaser(_settings(tmp_path), api, clock).run()
    assert not _suspended(server, DELAYED[0]) and _suspended(server, DELAYED[1])
    first_patches = sum(r[0] == "PATCH" for r in server.requests)
    assert first_patches == 1

    # The pod comes back 10 s later (T0 + 16.062): a0 must not be patched again, a1 (due at
    # 12.138) is released at once, a2 at T0 + 24.903: the first run's start, not the restart's.
    later = FakeClock(clock.t + 10)
    restarted = Releaser(_settings(tmp_path), api, later)
    assert restarted.start == T0
    state = restarted.run()
    patched = [r[1].rsplit("/", 1)[1] for r in server.requests if r[0] == "PATCH"]
    assert patched == DELAYED  # each exactly once
    jobs = state["jobs"]
    assert jobs[DELAYED[1]]["at"] - T0 == pytest.approx(16.062)
    assert jobs[DELAYED[1]]["lateSeconds"] == pytest.approx(16.062 - 12.138)
    assert jobs[DELAYED[2]]["at"] - T0 == pytest.approx(24.903)
    assert jobs[DELAYED[0]]["at"] - T0 == pytest.approx(6.062)  # the first run's record kept


def test_lost_record_does_not_re_release(tmp_path: Path) -> None:
    """A crash between the patch and the state write: the job is found running, left alone."""
    server, clock = _server(), FakeClock()
    server.jobs[(NS, DELAYED[0])]["spec"]["runPolicy"]["suspend"] = False
    state = Releaser(_settings(tmp_path), custom_objects_api(server), clock).run()
    assert state["jobs"][DELAYED[0]]["action"] == "left-running"
    assert [r[1].rsplit("/", 1)[1] for r in server.requests if r[0] == "PATCH"] == DELAYED[1:]


def test_finished_jobs_left_alone(tmp_path: Path) -> None:
    server, clock = _server(), FakeClock()
    server.set_condition(NS, DELAYED[1], "Succeeded")
    server.set_condition(NS, DELAYED[2], "Failed")
    state = Releaser(_settings(tmp_path), custom_objects_api(server), clock).run()
    assert [state["jobs"][n]["action"] for n in DELAYED] == [
        "released",
        "left-finished",
        "left-finished",
    ]
    assert _suspended(server, DELAYED[1]) and _suspended(server, DELAYED[2])


def test_kueue_mode_adds_the_queue_label_and_keeps_suspend(tmp_path: Path) -> None:
    server, clock = _server(), FakeClock()
    for name in DELAYED:
        server.jobs[(NS, name)]["metadata"]["labels"].pop(LABEL_QUEUE, None)
    state = Releaser(_settings(tmp_path, queue="fltk"), custom_objects_api(server), clock).run()
    for name in DELAYED:
        job = server.jobs[(NS, name)]
        assert job["metadata"]["labels"][LABEL_QUEUE] == "fltk"
        assert job["spec"]["runPolicy"]["suspend"] is True  # Kueue owns suspend
        assert state["jobs"][name]["action"] == "released"
    assert state["jobs"]["quickstart-ddp-mnist"]["action"] == "released"  # was unlabelled


def test_missing_job_and_server_errors_are_retried(tmp_path: Path) -> None:
    """A job GitOps has not created yet, and a 500, are waited out; nothing is recorded early."""
    server, clock = _server(), FakeClock()
    missing = server.jobs.pop((NS, DELAYED[0]))

    def later(now: float) -> None:
        if now - T0 > 9 and (NS, DELAYED[0]) not in server.jobs:
            server.create(NS, missing)
            server.fail_next = [500]

    clock.on_sleep = later
    logs: list[str] = []
    state = Releaser(_settings(tmp_path), custom_objects_api(server), clock, logs.append).run()
    assert state["jobs"][DELAYED[0]]["action"] == "released"
    assert state["jobs"][DELAYED[0]]["at"] - T0 > 9
    assert any("does not exist yet" in line for line in logs)
    assert any("failed (500" in line for line in logs)


def test_forbidden_is_an_error_naming_the_role(tmp_path: Path) -> None:
    server = _server()
    server.fail_next = [403]
    with pytest.raises(ReleaseError, match="denied .*get/list/patch on pytorchjobs"):
        Releaser(_settings(tmp_path), custom_objects_api(server), FakeClock()).run()


def test_state_of_another_experiment_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.state_path.parent.mkdir(parents=True)
    settings.state_path.write_text(json.dumps({"experiment": "other", "startTime": 1, "jobs": {}}))
    with pytest.raises(ReleaseError, match="another experiment"):
        Releaser(settings, custom_objects_api(_server()), FakeClock())


def test_main_rejects_a_missing_namespace(tmp_path: Path, capsys: Any) -> None:
    args = ["--schedule", str(GOLDEN / "schedule.json"), "--state", str(tmp_path / "s.json")]
    assert release.main([*args, "--experiment", "quickstart"]) == 2
    assert "no namespace" in capsys.readouterr().err


def test_main_rejects_a_schedule_of_another_experiment(tmp_path: Path, capsys: Any) -> None:
    args = ["--schedule", str(GOLDEN / "schedule.json"), "--state", str(tmp_path / "s.json")]
    assert release.main([*args, "--experiment", "other", "--namespace", NS]) == 2
    assert "schedule of experiment quickstart" in capsys.readouterr().err


def test_fake_methods_match_the_real_client() -> None:
    """The loop calls CustomObjectsApi methods with parameters the real client declares."""
    import inspect

    from kubernetes import client

    for method, keywords in (
        ("get_namespaced_custom_object", []),
        ("list_namespaced_custom_object", ["label_selector"]),
        ("patch_namespaced_custom_object", ["body"]),
    ):
        params = inspect.signature(getattr(client.CustomObjectsApi, method)).parameters
        assert {"group", "version", "namespace", "plural", *keywords} <= set(params)
