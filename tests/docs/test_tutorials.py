"""Every tutorial of the documentation runs against $SATNAV_DATA and draws its figures.

The tutorials' own checks (asserts against the figures in ../shared/data/README.md: the
RTK truth of GEONET 0759, the IGS reference of ESBC, the phone's ground truth) run with them.
"""

from __future__ import annotations

import pytest

from tests.conftest import DATA
from tests.docs.tutorials import code_blocks, figures, run_tutorial, tutorial_pages

pytest.importorskip("matplotlib")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

PAGES = tutorial_pages()


def test_there_are_five_or_more_tutorials():
    assert len(PAGES) >= 5
    for page in PAGES:
        assert page.exists(), page
        assert any(b.language == "python" for b in code_blocks(page)), f"{page.name} runs no code"
        assert figures(page), f"{page.name} shows no figure"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_tutorial_runs(page, tmp_path, monkeypatch):
    if not DATA.exists():
        pytest.skip(f"SATNAV_DATA not found: {DATA}")
    monkeypatch.setenv("SATNAV_DATA", str(DATA))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    shown = run_tutorial(page, tmp_path)
    image = pytest.importorskip("matplotlib.image")
    for path in shown:
        assert path.exists(), f"{page.name} shows {path.name} but its code did not write it"
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE, path.name
        pixels = image.imread(str(path))[..., :3]
        assert pixels.std() > 0.02, f"{path.name} is blank"
        # the copy the site shows exists too (python -m tests.docs.tutorials makes it)
        assert (page.parent / "figures" / path.name).exists(), path.name
