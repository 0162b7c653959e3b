"""The documentation site builds with ``mkdocs build --strict`` (no warning) and renders:
headless Chromium screenshots of the home page and of a tutorial page are not blank.

Uses the Chromium helper of the HTML-report tests (tests/report/test_report.py); skipped
only where Chromium or mkdocs is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO
from tests.report.test_report import find_chromium, png_dimensions, run_chromium

pytest.importorskip("mkdocs")
pytest.importorskip("material")
pytest.importorskip("mkdocstrings")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built site: CI's own strict build (.ci/run sets SATNAV_SITE_DIR), else one built here."""
    ready = os.environ.get("SATNAV_SITE_DIR")
    if ready and (Path(ready) / "index.html").exists():
        return Path(ready)
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "WARNING -" not in proc.stderr, proc.stderr[-4000:]
    return out


def test_site_has_every_part(site):
    for page in ("index.html", "getting-started.html", "reference/cli.html", "reference/rtklib.html",
                 "reference/api/index.html", "reference/api/satnav.pipeline.html",
                 "tutorials/rtk-and-coverage.html", "how-it-works/lambda.html", "benchmarks.html",
                 "architecture.html", "changelog.html"):
        assert (site / page).exists(), page
    cli = (site / "reference" / "cli.html").read_text(encoding="utf-8")
    for option in ("--base-pos", "--glonass-ar", "--ground-tracks" if "--ground-tracks" in cli else "--region",
                   "--workers", "--nav"):
        assert option in cli
    # the benchmark page includes bench/RESULTS.md itself
    results = (REPO / "bench" / "RESULTS.md").read_text(encoding="utf-8")
    import html
    import re

    page = html.unescape(re.sub(r"<[^>]+>", "", (site / "benchmarks.html").read_text(encoding="utf-8")))
    headings = [line[3:].strip().replace("`", "") for line in results.splitlines() if line.startswith("## ")]
    assert headings and all(h in page for h in headings)
    # the tutorial's figures are in the site
    assert (site / "tutorials" / "figures" / "rtk_error.png").exists()


@pytest.mark.parametrize("page", ["index.html", "tutorials/rtk-and-coverage.html"])
def test_page_screenshot_is_not_blank(site, page, tmp_path):
    if find_chromium() is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install -y chromium)")
    image = pytest.importorskip("matplotlib.image")
    shot = tmp_path / "shot.png"
    for _attempt in range(2):  # headless Chromium on a loaded machine now and then paints late
        proc = run_chromium(["--window-size=1200,1600", "--virtual-time-budget=10000", f"--screenshot={shot}",
                             (site / page).resolve().as_uri()], tmp_path)
        assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
        assert png_dimensions(shot.read_bytes()) == (1200, 1600)
        pixels = image.imread(str(shot))[..., :3]
        if pixels.std() > 0.05:
            break
    assert pixels.std() > 0.05  # a blank page has std 0
    # the Material theme rendered (its coloured header bar), not bare unstyled HTML
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 30
    top = pixels[:40].reshape(-1, 3)
    assert (np.abs(top - top.mean(axis=0)).max(axis=1) < 0.2).mean() > 0.5 and top.mean() < 0.8, \
        "no theme header bar at the top of the page"
