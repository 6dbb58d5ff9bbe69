"""The release with backend trainjob: spec.suspend of TrainJobs, Complete/Failed as finished."""

from __future__ import annotations

from pathlib import Path

import yaml
from compiler_support import GOLDEN_TRAINJOB_DIR
from fake_apiserver import FakeServer, custom_objects_api
from test_release import DELAYED, NS, FakeClock

from trainer import release
from trainer.release import Releaser, Settings, read_schedule

GOLDEN = GOLDEN_TRAINJOB_DIR / "quickstart"


def _server() -> FakeServer:
    server = FakeServer("trainjob")
    for path in sorted(GOLDEN.glob("trainjob-*.yaml")):
        server.create(NS, yaml.safe_load(path.read_text()))
    return server


def _settings(tmp_path: Path) -> Settings:
    schedule = read_schedule(GOLDEN / "schedule.json", "quickstart")
    state = tmp_path / "release.json"
    return Settings("quickstart", NS, schedule, state, None, 1.0, "trainjob")


def test_trainjobs_released_by_spec_suspend(tmp_path: Path) -> None:
    server = _server()
    assert all(server.jobs[(NS, n)]["spec"]["suspend"] is True for n in DELAYED)
    server.set_condition(NS, DELAYED[2], "Complete")
    state = Releaser(_settings(tmp_path), custom_objects_api(server), FakeClock()).run()
    assert [server.jobs[(NS, n)]["spec"]["suspend"] for n in DELAYED[:2]] == [False, False]
    assert server.jobs[(NS, DELAYED[2])]["spec"]["suspend"] is True  # finished: left alone
    actions = {n: state["jobs"][n]["action"] for n in state["jobs"]}
    assert actions == {
        "quickstart-ddp-mnist": "left-running",
        DELAYED[0]: "released",
        DELAYED[1]: "released",
        DELAYED[2]: "left-finished",
    }
    prefix = "/apis/trainer.kubeflow.org/v1alpha1/namespaces/research/trainjobs"
    assert all(path.startswith(prefix) for _, path, _ in server.requests)


def test_patch_and_decision_follow_the_backend() -> None:
    assert release.release_patch(None, "trainjob") == {"spec": {"suspend": False}}
    assert release.release_patch(None) == {"spec": {"runPolicy": {"suspend": False}}}
    suspended = {"spec": {"suspend": True}}
    assert release.decide(suspended, None, "trainjob") == "release"
    assert release.decide(suspended, None) == "left-running"  # a PyTorchJob's suspend is elsewhere
    done = {**suspended, "status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    assert release.decide(done, None, "trainjob") == "left-finished"
    pytorchjob = {"spec": {"runPolicy": {"suspend": True}}, "status": done["status"]}
    assert release.decide(pytorchjob, None) == "release"  # Complete: not a PyTorchJob's end
    assert release.decide(suspended, "research", "trainjob") == "release"  # Kueue: label it


def test_main_takes_the_backend(tmp_path: Path, capsys: object) -> None:
    code = release.main(
        ["--schedule", str(tmp_path / "none.json"), "--state", str(tmp_path / "s.json"),
         "--experiment", "quickstart", "--namespace", NS, "--backend", "trainjob"]
    )  # fmt: skip
    assert code == 2  # the schedule is missing: bad input, after --backend was accepted
