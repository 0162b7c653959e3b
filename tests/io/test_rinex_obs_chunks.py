"""satnav.io.rinex_obs.iter_rinex_obs: reading a file in time chunks.

Truth: :func:`read_rinex_obs` of the same file (the chunks, put end to end, are its
epochs and rows), for RINEX 3 (plain, gzip, Hatanaka streamed through crx2rnx) and 2.
"""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest

from satnav.errors import DamagedRecordWarning
from satnav.io.rinex_obs import NotChunkableError, iter_rinex_obs, read_rinex_obs
from satnav.io.textfile import read_bytes
from tests.conftest import data_path

ESBC = ("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
ROW_FIELDS = ("time", "sat", "code", "value", "lli", "ssi")
EPOCH_FIELDS = ("epochs", "epoch_flags", "receiver_clock_offset_s", "epoch_lines")


def assert_same_as_whole(path, chunk_epochs, **kwargs):
    whole = read_rinex_obs(path)
    parts = list(iter_rinex_obs(path, chunk_epochs=chunk_epochs, **kwargs))
    assert len(parts) == max(1, -(-len(whole.epochs) // chunk_epochs))
    for name in ROW_FIELDS + EPOCH_FIELDS:
        a = getattr(whole, name)
        b = np.concatenate([getattr(p, name) for p in parts])
        np.testing.assert_array_equal(a, b, err_msg=name)
    for p in parts:
        assert p.codes == whole.codes
        assert p.header.approx_position_m is not None or whole.header.approx_position_m is None
        assert p.header.version == whole.header.version
        assert len(p.epochs) <= chunk_epochs
    assert [(e.time, e.flag, e.line) for p in parts for e in p.events] == \
        [(e.time, e.flag, e.line) for e in whole.events]
    return parts


def _small_rinex3(tmp_path, n_epochs=120):
    """The first ``n_epochs`` epochs of the ESBC day as plain RINEX 3 text (bytes)."""
    text = read_bytes(data_path(*ESBC))
    cut = -1
    for _ in range(n_epochs + 1):
        cut = text.index(b"\n>", cut + 1)
    return text[: cut + 1]


def test_hatanaka_day_in_chunks_is_the_whole_file():
    parts = assert_same_as_whole(data_path(*ESBC), 700)
    assert len(parts) == 5  # 2880 epochs


def test_plain_and_gzip_streamed_in_small_blocks(tmp_path):
    text = _small_rinex3(tmp_path)
    plain = tmp_path / "cut.rnx"
    plain.write_bytes(text)
    packed = tmp_path / "cut.rnx.gz"
    packed.write_bytes(gzip.compress(text))
    for path in (plain, packed):
        for chunk in (1, 7, 50, 120, 500):
            assert_same_as_whole(path, chunk, block_bytes=4096)


def test_rinex2_in_slices():
    assert_same_as_whole(data_path("gsi-2005-092", "07590920.05o"), 40)


def test_damaged_record_warning_names_the_file_line(tmp_path):
    text = _small_rinex3(tmp_path).decode()
    lines = text.splitlines(keepends=True)
    # a satellite line in the fourth chunk of 20 epochs: its first value made unreadable
    epoch_rows = [i for i, ln in enumerate(lines) if ln.startswith(">")]
    k = epoch_rows[65] + 1
    lines[k] = lines[k][:3] + "  2x600158.420" + lines[k][17:]
    path = tmp_path / "damaged.rnx"
    path.write_text("".join(lines))
    with pytest.warns(DamagedRecordWarning) as whole_warnings:
        whole = read_rinex_obs(path)
    with pytest.warns(DamagedRecordWarning) as chunk_warnings:
        parts = list(iter_rinex_obs(path, chunk_epochs=20))
    assert [str(w.message) for w in chunk_warnings] == [str(w.message) for w in whole_warnings]
    assert f"{path}:{k + 1}:" in str(chunk_warnings[0].message)
    np.testing.assert_array_equal(np.concatenate([p.epochs for p in parts]), whole.epochs)


def test_epochs_before_the_previous_chunk_are_not_chunkable(tmp_path):
    text = _small_rinex3(tmp_path, 40).decode()
    head, body = text.split("END OF HEADER\n", 1)
    records = [">" + r for r in body.split("\n>")]
    records[0] = records[0][1:]
    records[5], records[30] = records[30], records[5]  # epoch 30 early, epoch 5 late
    path = tmp_path / "shuffled.rnx"
    path.write_text(head + "END OF HEADER\n" + "\n".join(records))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = read_rinex_obs(path)  # sorted into time order with a warning
        with pytest.raises(NotChunkableError, match="previous chunk"):
            list(iter_rinex_obs(path, chunk_epochs=10))
        # one chunk: the reader sorts as for the whole file
        (only,) = iter_rinex_obs(path, chunk_epochs=100)
    np.testing.assert_array_equal(only.epochs, whole.epochs)


def test_header_change_in_the_body_is_not_chunkable(tmp_path):
    text = _small_rinex3(tmp_path, 30).decode()
    head, body = text.split("END OF HEADER\n", 1)
    records = body.split("\n>")
    event = ">                              4  1\n" + " " * 60 + "COMMENT\n"
    records[10] = records[10] + "\n" + event.rstrip("\n")
    path = tmp_path / "event.rnx"
    path.write_text(head + "END OF HEADER\n" + "\n>".join(records) + "\n")
    assert len(read_rinex_obs(path).events) == 1
    with pytest.raises(NotChunkableError, match="flag 3/4"):
        list(iter_rinex_obs(path, chunk_epochs=5))
    assert len(list(iter_rinex_obs(path, chunk_epochs=100))) == 1  # in the last chunk: fine


def test_bad_arguments_and_files(tmp_path):
    with pytest.raises(ValueError):
        next(iter_rinex_obs(data_path(*ESBC), chunk_epochs=0))
    from satnav.errors import FormatError

    with pytest.raises(FormatError, match="no such file"):
        next(iter_rinex_obs(tmp_path / "missing.rnx"))
    header_only = tmp_path / "header.rnx"
    header_only.write_bytes(_small_rinex3(tmp_path, 1).split(b">", 1)[0])
    (obs,) = iter_rinex_obs(header_only)
    assert len(obs.epochs) == 0 and obs.header.version >= 3


def test_compact_rinex_streamed_without_importing_hatanaka(tmp_path):
    """The streamed reading finds the ``crx2rnx`` program without importing the ``hatanaka``
    package (~30 ms of start-up) and gives the whole file's epochs (read by the package)."""
    import os
    import subprocess
    import sys

    path = data_path("corpus", "P43300USA_R_20190012056_17M_15S_MO.crx")
    code = ("import sys\nfrom satnav.io.rinex_obs import iter_rinex_obs\n"
            f"n = sum(len(c.epochs) for c in iter_rinex_obs({str(path)!r}, chunk_epochs=10))\n"
            "print(n, 'hatanaka' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ)).stdout.split()
    assert out == [str(len(read_rinex_obs(path).epochs)), "False"]


def test_damaged_compact_rinex_texts_leave_it_to_the_whole_reading(tmp_path, monkeypatch):
    """``iter_rinex_obs_texts`` (the multi-core reader of ``solve_files``) gives up on a damaged
    Compact RINEX file with NotChunkableError without expanding it again itself (the whole
    reading that follows skips the damaged records, once); ``iter_rinex_obs`` still reports
    what the whole reading says."""
    from satnav.io import rinex_obs
    from satnav.io.rinex_obs import iter_rinex_obs_texts

    text = data_path("corpus", "P43300USA_R_20190012056_17M_15S_MO.crx").read_bytes().split(b"\n")
    body = next(i for i, line in enumerate(text) if b"END OF HEADER" in line) + 1
    text[body + (len(text) - body) // 2] = b"abc def ghi"  # crx2rnx: "arc is not initialized"
    path = tmp_path / "damaged.crx"
    path.write_bytes(b"\n".join(text))
    calls = []
    real = rinex_obs.read_bytes
    monkeypatch.setattr(rinex_obs, "read_bytes", lambda *a, **k: calls.append(a) or real(*a, **k))
    with pytest.raises(NotChunkableError, match="read the file whole"):
        for _ in iter_rinex_obs_texts(path, chunk_epochs=10):
            pass
    assert calls == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(NotChunkableError, match="damaged Compact RINEX"):
            list(iter_rinex_obs(path, chunk_epochs=10))
    assert calls and any(issubclass(w.category, DamagedRecordWarning) for w in caught)


def test_an_error_with_the_expansion_running_exits_cleanly():
    """A program that fails while a Hatanaka stream is open (its expansion still running)
    ends with its error, not with an interpreter abort on a pipe held by a reading thread
    (exit status 1, no "Fatal Python error")."""
    import os
    import subprocess
    import sys

    path = data_path(*ESBC)
    code = ("from satnav.io.rinex_obs import iter_rinex_obs_texts\n"
            f"texts = iter_rinex_obs_texts({str(path)!r}, chunk_epochs=10)\n"
            "next(texts)\n"
            "raise ZeroDivisionError('stop here')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ),
                          timeout=120)
    assert done.returncode == 1
    assert "ZeroDivisionError: stop here" in done.stderr and "Fatal Python error" not in done.stderr


def test_chunk_texts_say_when_the_next_chunk_is_there(tmp_path):
    """``ChunkTexts.ready``: always for a plain file (nothing to wait for); for Compact RINEX
    once the expansion has put enough text in (at the latest when it has ended); the texts
    are those of the plain file either way."""
    import time

    from satnav.io.rinex_obs import iter_rinex_obs_texts

    text = _small_rinex3(tmp_path, 300)
    plain = tmp_path / "cut.rnx"
    plain.write_bytes(text)
    texts = iter_rinex_obs_texts(plain, chunk_epochs=100)
    chunks = []
    while True:
        assert texts.ready()
        raw = next(texts, None)
        if raw is None:
            break
        chunks.append(raw)
    assert [c.final for c in chunks] == [False, False, True]
    crx = iter_rinex_obs_texts(data_path(*ESBC), chunk_epochs=100)
    got = [next(crx)]
    deadline = time.monotonic() + 60
    while not crx.ready():  # the expansion catches up (or ends)
        assert time.monotonic() < deadline
        time.sleep(0.01)
    got.append(next(crx))
    crx.close()
    for a, b in zip(chunks, got):
        assert (a.text, a.header_bytes, a.line_offset) == (b.text, b.header_bytes, b.line_offset)


def test_chunk_texts_split_at_epoch_records_only(tmp_path):
    """A '>' inside a line (an event's comment) does not start a record; block and chunk
    boundaries anywhere; CRLF line ends. Truth: the text cut before every line starting with
    '>' (a regex over the whole body)."""
    import re

    from satnav.io.rinex_obs import iter_rinex_obs_texts

    text = _small_rinex3(tmp_path, 40)
    head, body = text.split(b"END OF HEADER\n", 1)
    head += b"END OF HEADER\n"
    records = re.split(rb"\n(?=>)", body)
    event = (b">                              4  1\n"
             b"satnav test -> a '>' in a comment                           COMMENT")
    records.insert(20, event)
    body = b"\n".join(records)
    for crlf in (False, True):
        data = head + body
        if crlf:
            data = data.replace(b"\n", b"\r\n")
        path = tmp_path / "gt.rnx"
        path.write_bytes(data)
        h = data.index(b"END OF HEADER") + len(b"END OF HEADER\r\n" if crlf else b"END OF HEADER\n")
        starts = [h] + [m.start() + 1 for m in re.finditer(rb"\n>", data, re.S) if m.start() + 1 > h]
        starts = sorted(set(starts))
        for chunk in (1, 3, 7):
            for block in (4096, 1 << 20):
                texts = list(iter_rinex_obs_texts(path, chunk_epochs=chunk, block_bytes=block))
                cuts = starts[::chunk] + [len(data)]
                assert [t.text[t.header_bytes:] for t in texts] == \
                    [data[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
                assert all(t.text[: t.header_bytes] == data[:h] for t in texts)


def test_expansion_started_early_is_the_one_the_reader_takes(monkeypatch):
    """``satnav solve`` starts the Compact RINEX expansion before NumPy is imported
    (``expansion.start_for_command``); the chunked reader then takes that one (no second
    crx2rnx) and gives the same texts. Other command forms and other files start nothing."""
    from satnav.io import expansion
    from satnav.io.rinex_obs import iter_rinex_obs_texts

    path = data_path(*ESBC)
    reference = [(t.text, t.line_offset, t.final) for t in iter_rinex_obs_texts(path, chunk_epochs=700)]
    assert not expansion._PRESTARTED
    assert expansion.start_for_command(["solve", str(path), "nav.rnx", "-o", "x.pos", "--jobs", "2"])
    assert len(expansion._PRESTARTED) == 1
    started = []
    real = expansion.Expansion.__init__
    monkeypatch.setattr(expansion.Expansion, "__init__", lambda self, *a, **k: started.append(1) or real(self, *a, **k))
    got = [(t.text, t.line_offset, t.final) for t in iter_rinex_obs_texts(path, chunk_epochs=700)]
    assert started == [] and not expansion._PRESTARTED  # taken, not started again
    assert got == reference
    nav = str(data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"))
    for words in (["solve", "-o", "x.pos", str(path), nav], ["solve", str(path), nav, "--base", str(path)],
                  ["solve", str(path), nav, "--report=r.html"], ["info", str(path), nav], ["solve", nav, nav]):
        assert not expansion.start_for_command(words), words
    assert started == [] and not expansion._PRESTARTED


def test_an_expansion_nobody_takes_is_ended(tmp_path):
    from satnav.io import expansion

    crinex1 = tmp_path / "old.crx.gz"  # Compact RINEX 1 (of RINEX 2): read whole, not started early
    crinex1.write_bytes(gzip.compress(b"1.0                 COMPACT RINEX FORMAT                    "
                                      b"CRINEX VERS   / TYPE\n"))
    assert not expansion.start_expansion(crinex1) and not expansion._PRESTARTED

    assert expansion.start_expansion(data_path(*ESBC))
    running = list(expansion._PRESTARTED.values())
    expansion._end_unused()  # what the interpreter's exit runs
    assert not expansion._PRESTARTED and running[0].returncode is not None


def test_chunk_size_changed_between_chunks(tmp_path):
    """``ChunkTexts.set_chunk_epochs``: the chunks after the call have the new size; put end
    to end they are still the whole body, in order."""
    from satnav.io.rinex_obs import iter_rinex_obs_texts

    text = _small_rinex3(tmp_path, 50)
    path = tmp_path / "cut.rnx"
    path.write_bytes(text)
    texts = iter_rinex_obs_texts(path, chunk_epochs=10)
    got = [next(texts), next(texts)]
    texts.set_chunk_epochs(3)
    got += list(texts)
    counts = [t.text[t.header_bytes:].count(b"\n>") + 1 for t in got]
    assert counts == [10, 10] + [3] * 10
    assert b"".join(t.text[t.header_bytes:] for t in got) == text[got[0].header_bytes:]
    assert [t.final for t in got] == [False] * 11 + [True]
