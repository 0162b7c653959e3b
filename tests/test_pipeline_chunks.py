"""satnav.pipeline.solve_files: SPP of a file read and solved in time chunks, in one or more
processes.

Truth (refactor equivalence): the one-shot result -- :func:`solve_files` of the observations
read whole (:func:`read_observations`), which is :func:`~satnav.estimators.spp.solve_spp` of
the whole file -- computed in each test: the .pos files are byte-identical and every field of
the solution is equal.
"""

from __future__ import annotations

import dataclasses
import gzip
import warnings

import numpy as np
import pytest

from satnav import pipeline
from satnav.cli import main
from satnav.errors import SatnavError
from satnav.io.solution import format_pos, write_solution
from satnav.io.textfile import read_bytes
from satnav.options import SolveOptions
from tests.conftest import data_path

ESBC = "esbc-2020-177"
OBS = "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"
NAV = "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"


def assert_same_solution(a, b):
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        elif isinstance(x, dict):
            assert list(x) == list(y), f.name
            for k in x:
                np.testing.assert_array_equal(x[k], y[k], err_msg=f"{f.name}[{k}]")
        else:
            assert x == y, f.name


def one_shot(path, navs, options=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline.solve_files(pipeline.read_observations(path), navs, options)


def streamed(path, navs, options=None, **kwargs):
    """solve_files(path): must take the streamed path (never read the file whole)."""
    real = pipeline.read_observations

    def whole(*args, **kw):
        raise AssertionError("the file was read whole")

    pipeline.read_observations = whole
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pipeline.solve_files(path, navs, options, **kwargs)
    finally:
        pipeline.read_observations = real


@pytest.fixture(scope="module")
def esbc_one_shot():
    d = data_path(ESBC)
    return one_shot(d / OBS, [d / NAV])


@pytest.mark.parametrize("jobs", [1, 2])
def test_esbc_day_streamed_is_the_one_shot_result(esbc_one_shot, jobs, tmp_path):
    d = data_path(ESBC)
    sol = streamed(d / OBS, [d / NAV], SolveOptions(jobs=jobs))  # 3 chunks of 1000 epochs
    assert_same_solution(esbc_one_shot, sol)
    write_solution(esbc_one_shot, tmp_path / "one.pos")
    write_solution(sol, tmp_path / "chunks.pos")
    assert (tmp_path / "one.pos").read_bytes() == (tmp_path / "chunks.pos").read_bytes()
    light = streamed(d / OBS, [d / NAV], SolveOptions(jobs=jobs), per_satellite=False)
    assert light.residuals_m.shape == (2880, 0)
    assert format_pos(light) == format_pos(esbc_one_shot)


def _cut(tmp_path, n_epochs, name="cut.rnx", edit=None):
    """The first ``n_epochs`` epochs of the ESBC day as a plain RINEX 3 file; ``edit(records)``
    may change the epoch records (strings starting with '>') first."""
    text = read_bytes(data_path(ESBC, OBS)).decode()
    head, body = text.split("END OF HEADER\n", 1)
    records = body.split("\n>")[:n_epochs]
    records = [records[0]] + [">" + r for r in records[1:]]
    if edit is not None:
        records = edit(records)
    path = tmp_path / name
    data = (head + "END OF HEADER\n" + "\n".join(records) + "\n").encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("name, systems", [("cut.rnx", "GEC"), ("cut.rnx.gz", "GEC"), ("cut.rnx", "G")])
def test_smaller_file_in_many_chunks(tmp_path, monkeypatch, name, systems):
    # the chunks decode the satellite lines of the systems solved only; the one-shot path
    # reads every line of the file
    path = _cut(tmp_path, 300, name)
    nav = [data_path(ESBC, NAV)]
    whole = one_shot(path, nav, SolveOptions(reduce_to_marker=True, systems=systems))
    monkeypatch.setattr(pipeline, "STREAM_CHUNK_EPOCHS", 70)
    for jobs in (1, 2, None):  # None: 3 chunks here, then 2 processes (5 chunks)
        sol = streamed(path, nav, SolveOptions(reduce_to_marker=True, systems=systems, jobs=jobs))
        assert_same_solution(whole, sol)


@pytest.mark.parametrize("jobs", [1, 2])  # 2: chunks parsed and solved in a worker process too
def test_a_system_that_appears_later_restarts_with_the_whole_file_plan(tmp_path, monkeypatch, jobs):
    def no_glonass_first(records):
        out = []
        for i, rec in enumerate(records):
            if i < 100:
                lines = rec.split("\n")
                sats = [ln for ln in lines[1:] if not ln.startswith("R")]
                lines = [lines[0][:32] + f"{len(sats):3d}" + lines[0][35:]] + sats
                rec = "\n".join(lines)
            out.append(rec)
        return out

    path = _cut(tmp_path, 200, edit=no_glonass_first)
    nav = [data_path(ESBC, NAV)]
    whole = one_shot(path, nav)
    assert "R" in whole.signals
    monkeypatch.setattr(pipeline, "STREAM_CHUNK_EPOCHS", 50)
    passes = []
    real = pipeline._streamed_pass
    monkeypatch.setattr(pipeline, "_streamed_pass", lambda *a: passes.append(1) or real(*a))
    sol = streamed(path, nav, SolveOptions(jobs=jobs))
    assert len(passes) >= 2  # the plan changed when GLONASS came (again if its codes grow later)
    assert_same_solution(whole, sol)


def test_damaged_file_falls_back_to_the_one_shot_path(tmp_path, monkeypatch):
    def damage(records):
        lines = records[120].split("\n")
        lines[1] = lines[1][:3] + "  2x600158.420" + lines[1][17:]
        records[120] = "\n".join(lines)
        return records

    path = _cut(tmp_path, 200, edit=damage)
    nav = [data_path(ESBC, NAV)]
    whole = one_shot(path, nav)
    monkeypatch.setattr(pipeline, "STREAM_CHUNK_EPOCHS", 50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sol = pipeline.solve_files(path, nav, SolveOptions(jobs=2))
    assert sum("record skipped" in str(w.message) for w in caught) == 1
    # read inside solve_files: the reader's warning is one of the run's (not so when the
    # observations were read before, as for the one-shot result here)
    assert [text for text in sol.warnings if "record skipped" in text] == [str(w.message) for w in caught
                                                                          if "record skipped" in str(w.message)]
    sol.warnings = [text for text in sol.warnings if "record skipped" not in text]
    assert_same_solution(whole, sol)


def test_cli_jobs(tmp_path, capsys, monkeypatch):
    path = _cut(tmp_path, 150)
    nav = str(data_path(ESBC, NAV))
    monkeypatch.setattr(pipeline, "STREAM_CHUNK_EPOCHS", 40)
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}.pos"
        assert main(["solve", str(path), nav, "-o", str(out), "--jobs", jobs]) == 0
        outs.append((out.read_bytes(), capsys.readouterr().out.splitlines()[1:-1]))  # no name, no time
    assert outs[0] == outs[1]
    whole = one_shot(path, [nav])
    write_solution(whole, tmp_path / "one.pos")
    assert (tmp_path / "one.pos").read_bytes() == outs[0][0]
    with pytest.raises(SystemExit):
        main(["solve", str(path), nav, "--jobs", "0"])
    assert "--jobs" in capsys.readouterr().err
    with pytest.raises(SatnavError, match="jobs"):
        SolveOptions(jobs=0)


def test_pos_text_in_blocks_is_the_same_text(esbc_one_shot):
    from satnav.io.solution import iter_pos_text

    text = format_pos(esbc_one_shot)
    assert "".join(iter_pos_text(esbc_one_shot, block_epochs=7)) == text
    assert "".join(iter_pos_text(esbc_one_shot, block_epochs=7, header=False, flagged="skip")) == \
        format_pos(esbc_one_shot, header=False, flagged="skip")


def test_the_tail_in_smaller_chunks_on_several_cores(tmp_path, monkeypatch):
    """With several processes the last epochs (of the header's count) are read in chunks of
    half the size, so that the processes end together; the .pos is the one-shot one."""
    from satnav.io import rinex_obs

    def last_obs_at_the_cut(path):  # the header's TIME OF LAST OBS: the 150th epoch (01:14:30)
        text = path.read_bytes().replace(b"  2020     6    25    23    59   30.0000000     GPS         TIME OF LAST OBS",
                                         b"  2020     6    25     1    14   30.0000000     GPS         TIME OF LAST OBS")
        path.write_bytes(text)
        return path

    path = last_obs_at_the_cut(_cut(tmp_path, 150))
    assert pipeline._expected_epochs(pipeline.read_observations(path).header) == 150
    nav = [data_path(ESBC, NAV)]
    whole = one_shot(path, nav)
    monkeypatch.setattr(pipeline, "STREAM_CHUNK_EPOCHS", 40)  # --jobs 2: chunks of 20, the tail of 10
    sizes = []
    real = rinex_obs.ChunkTexts.set_chunk_epochs
    monkeypatch.setattr(rinex_obs.ChunkTexts, "set_chunk_epochs", lambda self, n: sizes.append(n) or real(self, n))
    sol = streamed(path, nav, SolveOptions(jobs=2))
    assert sizes == [10]
    assert format_pos(sol) == format_pos(whole)
    assert len(sol) == len(whole) == 150
