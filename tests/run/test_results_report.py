"""`fltkc results --report`: one self-contained HTML page, opened in a real (headless) browser.

The browser test needs Debian's `chromium` (apt-get install -y chromium). It skips where
chromium is absent, except under CI (the CI variable set), where that is a failure.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import results_support as rs
from run_support import make_app
from typer.testing import CliRunner

FIGURES = 7  # task, band and sweep of prox; task and band of ddp; timeline; utilisation
# Runs after every image has loaded; what it writes lands in the DOM chromium dumps.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const drawn = images.filter((i) => i.complete && i.naturalWidth > 0).length;
  const marker = document.createElement("div");
  marker.id = "render-check";
  marker.textContent = `images ${drawn}/${images.length} points-rows ` +
    document.querySelectorAll("#points tr").length;
  document.body.appendChild(marker);
});
</script>"""


@pytest.fixture
def report(tmp_path: Path) -> Path:
    run_dir = rs.local_sweep(tmp_path / "run")
    args = ["results", str(run_dir), "--target", "0.85", "--report", "--no-plots"]
    out = CliRunner().invoke(make_app(), args)
    assert out.exit_code == 0, out.output
    assert out.output.rstrip().endswith(f"wrote {run_dir / 'report.html'}")
    return run_dir / "report.html"


def test_the_report_holds_the_plan_tables_figures_versions_and_seeds(report: Path):
    html = report.read_text(encoding="utf-8")
    for section in ("plan", "results", "per-job", "scheduling", "figures", "versions"):
        assert f'<section id="{section}">' in html
    assert "experiment seed <code>9</code>" in html
    assert "federated.strategy.mu in [0.0, 0.1]" in html  # the sweep, from out/
    assert "<td>0, 0, 0, 50, 50, 50</td>" in html  # prox's arrival offsets
    assert '<td class="best">0.8800 ± 0.2541 (2/3)*</td>' in html
    assert "<td>torch (trainer)</td><td>2.5.1</td>" in html
    assert "<td>sweep-prox-s1-r2</td><td>106</td>" in html  # a never-started job's seed
    assert "makespan 36.0 s" in html
    # Self-contained: every figure is inlined, nothing is fetched.
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([^"]+)">', html)
    assert len(images) == FIGURES
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert not re.search(r'(src|href)="(?!data:)', html)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "chromium not found; install Debian's package: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_a_browser_renders_every_table_and_image(report: Path, tmp_path: Path):
    chromium = _chromium()
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
            "--dump-dom", probe.as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    # 1 header row + 3 points (prox mu=0.0, prox mu=0.1, ddp).
    assert f'<div id="render-check">images {FIGURES}/{FIGURES} points-rows 4</div>' in dom
    assert dom.count("<tr>") >= 4 + 8 + 4 + 8  # points, jobs, classes, job times
    assert "sweep-prox-s1-r2" in dom and "mu=0.1" in dom
