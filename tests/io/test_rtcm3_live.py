"""The live epoch path (satnav.io.rtcm3_live) gives the general path's items, value for value,
with its cells decoded by NumPy and by the compiled kernel (numba; skipped without it)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from satnav.gnss_time import calendar_to_ns
from satnav.io.framing import frame_stream
from satnav.io.rtcm3 import MixedStreamDecoder, Rtcm3Decoder, epoch_closes
from satnav.io.rtcm3_live import resolve_time_ms
from satnav.io.rtcm3_obs import MSM_TYPES
from satnav.io.stream_items import EpochItem

DATA = Path(os.environ.get("SATNAV_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
STREAMS = DATA / "streams"
pytestmark = pytest.mark.skipif(not STREAMS.exists(), reason="stream test data not available")


@pytest.fixture(params=["numpy", "compiled"])
def cells(request):
    """The live path's cells decoded, and the plans of new layouts made, by NumPy or by the
    compiled kernels."""
    from satnav.io import rtcm3_live

    if request.param == "compiled":
        if not rtcm3_live.use_compiled_rtcm_live(True):
            pytest.skip("numba not available (or SATNAV_NO_NUMBA set)")
    else:
        rtcm3_live.use_compiled_rtcm_live(False)
    yield request.param
    rtcm3_live.use_compiled_rtcm_live(None)


def _reads(data: bytes, grouped: bool = False) -> list[bytes]:
    """The log cut as a live receiver sends it: each epoch's run of observation messages in one
    read (up to the message that closes it), every other frame in a read of its own; or
    (``grouped``) everything up to the message that closes an epoch in one read."""
    fr = frame_stream(data, ubx=False)
    buf = np.frombuffer(data + bytes(1100), np.uint8)
    closes = epoch_closes(buf, fr).tolist()
    starts, lengths, types = fr.rtcm_start.tolist(), fr.rtcm_length.tolist(), fr.rtcm_type.tolist()
    out, run = [], b""
    for s, n, t, c in zip(starts, lengths, types, closes):
        frame = data[s : s + n + 6]
        if grouped:
            run += frame
            if c:
                out.append(run)
                run = b""
        elif t in MSM_TYPES:
            run += frame
            if c:
                out.append(run)
                run = b""
        else:
            if run:
                out.append(run)
                run = b""
            out.append(frame)
    return out + ([run] if run else [])


def _items(reads, fast: bool, hint: int, mixed: bool = False):
    dec = MixedStreamDecoder(time_hint_ns=hint) if mixed else Rtcm3Decoder(time_hint_ns=hint)
    rtcm = dec.rtcm3 if mixed else dec
    if not fast:
        rtcm._live = None
        if mixed:
            dec._consume = lambda final: _general_consume(dec, final)
    items = []
    for r in reads:
        items += dec.feed(r)
    items += dec.flush()
    return items, rtcm, dec


def _general_consume(dec, final):
    """MixedStreamDecoder._consume without its path for RTCM 3 frames end to end."""
    from satnav.io import rtcm3

    real = rtcm3.frame_stream

    def framing(*a, **k):
        fr = real(*a, **k)
        fr.nmea = fr.nmea or [(-1, -1)] if fr.consumed else fr.nmea  # (any NMEA: the general path)
        return fr

    rtcm3.frame_stream = framing
    try:
        items = rtcm3.MixedStreamDecoder._consume(dec, final)
    finally:
        rtcm3.frame_stream = real
    return items


def _same_epoch(a, b) -> None:
    for f in ("time", "sat", "code", "lli", "ssi", "epochs", "epoch_flags"):
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype, f
        np.testing.assert_array_equal(x, y, err_msg=f)
    np.testing.assert_array_equal(a.value, b.value)  # NaN where NaN, bit for bit elsewhere
    assert a.codes == b.codes and a.source == b.source
    for f in dataclasses.fields(a.header):
        x, y = getattr(a.header, f.name), getattr(b.header, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        else:
            assert x == y, f.name


@pytest.mark.parametrize("name, year, mixed, n_fast", [
    ("pygpsdata-rtcm3.log", 2020, False, 158), ("GMSD7_20121014.rtcm3", 2012, False, 0),
    ("testglo.rtcm3", 2020, False, 0), ("pygpsdata-NTRIP-USCL00CHL0.log", 2021, True, 0)])
def test_live_epochs_of_logs(name, year, mixed, n_fast, cells):
    """Logs of receivers (GMSD7: BeiDou and GLONASS time tags 14 s and 1 s off GPS's, each
    message its own epoch; legacy messages; MSM1-7 of every system in one read)."""
    if cells == "compiled" and not n_fast:
        pytest.skip("no epoch on the live path")
    data = (STREAMS / name).read_bytes()
    fast, _ = _compare(_reads(data), int(calendar_to_ns(year, 1, 1)), mixed)
    assert fast == n_fast
    # station data and biases in the read of an epoch: decoded before it on the general path
    fast, _ = _compare(_reads(data, grouped=True), int(calendar_to_ns(year, 1, 1)), mixed)
    assert fast == n_fast
    # frame by frame; and cut anywhere, mid-frame included
    _compare(_frames_of(data), int(calendar_to_ns(year, 1, 1)), mixed)
    rng = np.random.default_rng(3)
    cuts = np.sort(rng.integers(0, len(data), len(data) // 700))
    _compare([data[a:b] for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(data)])], int(calendar_to_ns(year, 1, 1)),
             mixed)


def test_live_epochs_of_rtklib_encoded_stream(rtklib_msm7_log, cells):
    """A stream from another encoder (RTKLIB str2str's MSM7 of the F9T UBX log: phases left out
    at some epochs, slips to carry to the next valid phase, in the lock state between reads)."""
    data = rtklib_msm7_log.read_bytes()
    hint = int(calendar_to_ns(2025, 8, 11))
    fast, epochs = _compare(_reads(data), hint, False)
    assert epochs == 299 and fast == 299  # (every epoch: its empty GLONASS message too)
    _compare(_frames_of(data), hint, False)


def _compare(reads, hint, mixed):
    """(epochs on the fast path, epochs) of ``reads``, after checking that the items, counts and
    state are those of the general path."""
    fast, dec, mixer = _items(reads, True, hint, mixed)
    slow, ref, ref_mixer = _items(reads, False, hint, mixed)
    mixers = (mixer, ref_mixer)
    assert [type(i) for i in fast] == [type(i) for i in slow]
    epochs = [(a.observations, b.observations) for a, b in zip(fast, slow) if isinstance(a, EpochItem)]
    for a, b in epochs:
        _same_epoch(a, b)
    assert dec.counts == ref.counts
    assert dec._state == ref._state
    if mixed:
        assert mixers[0].counts == mixers[1].counts
    return dec._live.decoded, len(epochs)


ESBC = DATA / "esbc-2020-177" / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"


@pytest.fixture(scope="module")
def esbc_day():
    if not ESBC.exists():
        pytest.skip("ESBC test data not available")
    from satnav.io.rinex_obs import read_rinex_obs

    return read_rinex_obs(ESBC)


@pytest.fixture(scope="module")
def esbc(esbc_day):
    return esbc_day.epoch_slice(0, 40)


@pytest.mark.parametrize("msm, systems", [(7, "GEC"), (7, "GRECJS"), (4, "GRECJS")])
def test_live_epochs_of_encoded_observations(esbc, msm, systems, cells):
    """MSM7 / MSM4 of ESBC (GPS, GLONASS, Galileo, BeiDou: layouts change as satellites come
    and go, values missing here and there): every epoch on the fast path, equal to the general
    path; the same when the reads are cut anywhere (the general path takes over mid-epoch)."""
    from satnav.io.rtcm3_encode import Rtcm3Encoder

    enc = Rtcm3Encoder(7, msm=msm, systems=systems)
    h = esbc.header
    reads = [(enc.encode_station(h.approx_position_m, 0.0, antenna=h.antenna_type, receiver=h.receiver_type)
              if i % 10 == 0 else b"") + enc.encode_epoch(esbc, i) for i in range(len(esbc.epochs))]
    hint = int(esbc.epochs[0])
    fast, n = _compare(reads, hint, True)
    assert n == 40 and fast == 40
    rng = np.random.default_rng(7)
    cut = []
    for r in reads:
        k = int(rng.integers(1, len(r)))
        cut += [r[:k], r[k:]] if rng.random() < 0.3 else [r]
    fast, n = _compare(cut, hint, True)
    assert n == 40 and fast >= 30  # (an epoch cut across reads: its messages held until it closes)
    # message by message (a receiver writing each as it is made): held until the epoch closes
    for mixed in (True, False):
        fast, n = _compare([m for r in reads for m in _frames_of(r)], hint, mixed)
        assert n == 40 and fast == 40


def test_live_epochs_of_a_system_in_two_messages(esbc_day, cells):
    """ESBC's epochs 195-245 as MSM7 GEC: 13-14 GPS satellites of 5 signals do not fit one
    message's 64 cells, so the encoder splits GPS in two messages of disjoint satellites (and
    back to one as satellites set): every epoch on the fast path, equal to the general path."""
    from satnav.io.rtcm3_encode import Rtcm3Encoder

    obs = esbc_day.epoch_slice(195, 245)
    enc = Rtcm3Encoder(7, systems="GEC")
    reads = [(enc.encode_station(obs.header.approx_position_m) if i % 10 == 0 else b"") + enc.encode_epoch(obs, i)
             for i in range(len(obs.epochs))]
    split = 0
    for r in reads:
        fr = frame_stream(r, ubx=False)
        split += fr.rtcm_type.tolist().count(1077) > 1
    assert 0 < split < len(reads)
    fast, n = _compare(reads, int(obs.epochs[0]), True)
    assert n == 50 and fast == 50
    fast, n = _compare([m for r in reads for m in _frames_of(r)], int(obs.epochs[0]), False)
    assert n == 50 and fast == 50


def _frames_of(data: bytes) -> list[bytes]:
    fr = frame_stream(data, ubx=False)
    return [data[s : s + n + 6] for s, n in zip(fr.rtcm_start.tolist(), fr.rtcm_length.tolist())]


def test_resolved_times_equal_the_arrays():
    from satnav.io.rtcm3 import resolve_times

    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(1, 6))
        systems = rng.choice([0, 1, 2, 5], n).tolist()
        base = int(rng.integers(0, 604_800_000))
        times = [int(rng.choice([base % 86_400_000, (base + 7_200_000) % 86_400_000])) if s == 1 else
                 int((base + rng.integers(-2, 3) * 302_400_000) % 604_800_000) for s in systems]
        ref = int(rng.integers(1, 2000)) * 604_800_000_000_000 + int(rng.integers(0, 604_800_000_000_000))
        out, valid = resolve_times(np.array(systems), np.array(times), ref)
        got = resolve_time_ms(systems, times, ref)
        if valid.all():
            assert got == out.tolist()
        else:
            assert got is None


def test_epoch_time_is_the_resolved_times_when_all_equal():
    """epoch_time: resolve_time_ms's time when all messages resolve to it, else None (times
    near a week's end and start, BeiDou 14 s off, invalid fields)."""
    from satnav.io.rtcm3_live import epoch_time

    rng = np.random.default_rng(4)
    for _ in range(2000):
        n = int(rng.integers(1, 5))
        systems = rng.choice([0, 2, 5] if rng.random() < 0.8 else [0, 1, 2, 5], n).tolist()
        tow = int(rng.choice([0, 5_000, 604_790_000, int(rng.integers(0, 604_800_000))]))
        times = [(tow + int(rng.choice([0, 0, 0, 1000, 604_799_000]))) % 604_800_000 for _ in systems]
        times = [(t - 14_000) % 604_800_000 if s == 5 else t % 86_400_000 if s == 1 else t
                 for s, t in zip(systems, times)]
        if rng.random() < 0.05:
            times[0] = 604_800_000 + int(rng.integers(0, 10))
        ref = int(rng.integers(1, 2000)) * 604_800_000_000_000 + int(rng.integers(0, 604_800_000_000_000))
        resolved = resolve_time_ms(systems, times, ref)
        want = None if resolved is None or len(set(resolved)) > 1 else resolved[0]
        assert epoch_time(systems, times, ref) == want


def test_crc_of_spans_and_a_damaged_chain():
    from satnav.io import framing

    rng = np.random.default_rng(11)
    data = rng.integers(0, 256, 6000, dtype=np.uint8).tobytes()
    for _ in range(100):
        m = int(rng.integers(1, 6))
        starts = sorted(rng.integers(0, 4900, m).tolist())
        lengths = rng.integers(3, 1029, m).tolist()
        assert framing.crc24q_spans(data, starts, lengths) == [framing.crc24q(data[s : s + n])
                                                               for s, n in zip(starts, lengths)]
    epoch = _reads((STREAMS / "pygpsdata-rtcm3.log").read_bytes())[2]
    chain = framing._frame_chain(epoch, True, True)
    assert chain is not None and len(chain.rtcm_start) >= 2
    bad = bytearray(epoch)
    bad[int(chain.rtcm_start[1]) + 10] ^= 1  # a bit flipped in the second frame: the framer decides
    assert framing._frame_chain(bytes(bad), True, True) is None
    assert framing.frame_stream(bytes(bad), final=False).counts["rtcm3_crc_failures"] == 1


def test_rows_of_patterns_equal_row_order():
    """The rows and codes of a plan for any pattern of values present (taken in a kept order,
    sorted when the codes used reorder them) are :func:`row_order`'s (the general path's)."""
    from satnav.io.rtcm3_live import EpochPlan, MessagePlan

    rng = np.random.default_rng(5)
    for _ in range(20):
        messages, offset = [], 0
        for mtype in (1077, 1087, 1097, 1127):
            nsat, nsig = int(rng.integers(1, 9)), int(rng.integers(1, 5))
            sats = rng.choice(30 if mtype != 1127 else 40, nsat, replace=False)
            sigs = rng.choice([1, 2, 3, 8, 9, 14, 15, 16, 21, 22, 23], nsig, replace=False)
            sat_mask = sum(1 << (63 - int(s)) for s in sats)
            sig_mask = sum(1 << (31 - int(s)) for s in sigs)
            cell_mask = int(rng.integers(1, 1 << (nsat * nsig)))
            m = MessagePlan(mtype, sat_mask, sig_mask, cell_mask)
            if m.ok:
                messages.append((m, offset))
                offset += 100
        plan = EpochPlan(messages)
        assert plan.ok
        ncell = len(plan.sat)
        for _ in range(5):
            present = rng.random((ncell, 4)) < rng.choice([0.5, 0.9, 1.0])
            got = plan.rows_of(present)
            want = plan._rows_by_priority(present, b"")
            for a, b in zip(got[:5] + got[8:], want[:5] + want[8:]):
                assert a.dtype == b.dtype
                np.testing.assert_array_equal(a, b)
            assert got[5:8] == want[5:8]


def test_plan_kernel_equals_numpy():
    """The epoch plans' arrays made by the plan kernel, run as Python (and compiled where numba
    is), are NumPy's, bit for bit, for random layouts of one to four messages (MSM4-7 of GPS,
    GLONASS, Galileo, BeiDou, SBAS; random masks, offsets; unknown signals refused alike)."""
    from satnav.io import rtcm3_live
    from satnav.io.rtcm3_live import MessagePlan

    kernels = [rtcm3_live._plan_kernel]
    if rtcm3_live.use_compiled_rtcm_live(True):
        kernels.append(rtcm3_live._KERNELS[2])
    rng = np.random.default_rng(11)
    refused = made = 0
    for _ in range(60):
        messages, offset = [], int(rng.integers(0, 50))
        for system in rng.permutation([0, 1, 2, 3, 4])[: int(rng.integers(1, 5))]:
            mtype = (1070, 1080, 1090, 1120, 1100)[system] + int(rng.integers(4, 8))
            nsat, nsig = int(rng.integers(1, 9)), int(rng.integers(1, 5))
            known = ([1, 2, 3, 8, 9, 14, 15, 16, 21, 22, 23], [1, 2, 7, 8], [1, 2, 7, 8, 13, 14, 21, 22],
                     [1, 2, 7, 8, 13, 14, 21, 22], [1, 21, 22, 23])[system]
            sats = rng.choice((32, 24, 36, 40, 19)[system] + (rng.random() < 0.1) * 24, nsat, replace=False)
            sigs = rng.choice(known if rng.random() < 0.9 else range(32), min(nsig, len(known)), replace=False)
            m = MessagePlan(mtype, sum(1 << (63 - int(s)) for s in sats), sum(1 << (31 - int(s)) for s in sigs),
                            int(rng.integers(1, 1 << (nsat * nsig))))
            refused += not m.ok
            messages.append((m, offset))
            offset += int(rng.integers(20, 400))
        made += rtcm3_live.EpochPlan(messages, False).ok
        for kernel in kernels:
            assert rtcm3_live._same_plans(kernel, messages)
    assert refused and made > 20  # (some with signals the live path leaves to the general one)
    rtcm3_live.use_compiled_rtcm_live(None)


def test_cells_kernel_equals_numpy():
    """The cells and rows kernels, run as Python (and compiled where numba is), give NumPy's
    bits on random messages of each MSM type and system."""
    from satnav.io import rtcm3_live

    plans = rtcm3_live._check_plans()
    assert len(plans) == 7 and any(p.any_glo for p, _ in plans)
    for plan, data in plans:
        assert rtcm3_live._same_cells((rtcm3_live._cells_kernel, rtcm3_live._rows_kernel), plan, data)
    if rtcm3_live.use_compiled_rtcm_live(True):
        for plan, data in plans:
            assert rtcm3_live._same_cells(rtcm3_live._KERNELS, plan, data)
    rtcm3_live.use_compiled_rtcm_live(None)


def test_no_numba_falls_back_to_numpy(monkeypatch, esbc):
    """With SATNAV_NO_NUMBA the switch says False and the live path decodes with NumPy."""
    from satnav.io import rtcm3_live
    from satnav.io.rtcm3_encode import Rtcm3Encoder

    monkeypatch.setenv("SATNAV_NO_NUMBA", "1")
    monkeypatch.setattr(rtcm3_live, "_LOADED", None)
    monkeypatch.setattr(rtcm3_live, "_KERNELS", None)
    assert rtcm3_live.use_compiled_rtcm_live(True) is False
    enc = Rtcm3Encoder(7, systems="GEC")
    fast, n = _compare([enc.encode_epoch(esbc, i) for i in range(5)], int(esbc.epochs[0]), True)
    assert fast == n == 5
