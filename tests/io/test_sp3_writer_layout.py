"""The SP3 writer's array layout of numbers is byte-identical to Python's ``f"{x:14.6f}"``.

The body is formatted with array arithmetic; the reference is the per-value Python
formatting the writer used before (kept in ``_Sp3Records._epoch_text`` for the epochs the
array layout cannot render: rounding ties, ``-0.000000``, overflowing or non-finite values,
record flags). Both are computed here on values chosen to hit every such case.
"""

from __future__ import annotations

import numpy as np
import pytest

from satnav.gnss_time import calendar_to_ns
from satnav.io.sp3 import _FLAG_NAMES, _Sp3Records, read_sp3, write_sp3

NS = 1_000_000_000


def _arrays(m=120, k=30, seed=1):
    rng = np.random.default_rng(seed)
    time = calendar_to_ns(2020, 6, 25) + np.arange(m, dtype=np.int64) * 30 * NS
    pos = rng.uniform(-27000.0, 27000.0, (m, k, 3))
    pos[0, :10, 0] = [5e-7, 1.0000005, -2.5e-7, 12345.1234565, -0.0, -4e-7, 0.5e-6, 1.25e-6, 2.5e-6, -3.5e-6]
    pos[1, :, 1] = np.round(rng.uniform(-1e4, 1e4, k), 6) + 5e-7  # ties everywhere
    pos[2, :3, 2] = [9999999.9999995, -999999.9999996, 1e9]  # do not fit F14.6
    clk = rng.uniform(-1000.0, 1000.0, (m, k))
    clk[3, 0] = 999999.999999
    clk[4, :5] = [-1e-9, 1e-7, -0.0, 5e-7, -5e-7]
    vel = rng.uniform(-40000.0, 40000.0, (m, k, 3))
    rate = rng.uniform(-1e3, 1e3, (m, k))
    rate[5, 0], rate[6, 0] = np.inf, 1e20
    flags = {name: None for name in _FLAG_NAMES}
    flags["maneuver"] = np.zeros((m, k), dtype=bool)
    flags["maneuver"][7, 3] = True
    ids = [f"{'GREC'[j % 4]}{j + 1:02d}" for j in range(k)]
    return time, ids, pos, clk, vel, rate, flags


@pytest.mark.parametrize("velocities", [False, True])
@pytest.mark.parametrize("block", [1, 7, 1000])
def test_array_layout_equals_python_formatting(velocities, block):
    time, ids, pos, clk, vel, rate, flags = _arrays()
    rec = _Sp3Records(time, ids, pos, clk, vel if velocities else None, rate if velocities else None, flags)
    m = len(time)
    expected = b"".join(rec._epoch_text(e) for e in range(m))
    got = b"".join(rec.text(a, min(m, a + block)) for a in range(0, m, block))
    assert got == expected


def test_plain_random_values_take_the_array_path():
    """Ordinary values (no ties, flags or overflow) are all laid out by arrays, and still
    equal the Python text."""
    rng = np.random.default_rng(5)
    m, k = 50, 12
    time = calendar_to_ns(2020, 6, 25) + np.arange(m, dtype=np.int64) * 900 * NS
    pos = np.round(rng.uniform(-27000.0, 27000.0, (m, k, 3)), 6) + 1e-7
    clk = np.round(rng.uniform(-500.0, 500.0, (m, k)), 6) + 1e-7
    rec = _Sp3Records(time, [f"G{j + 1:02d}" for j in range(k)], pos, clk, None, None, {})
    rec._epoch_text = None  # any fallback would fail
    text = rec.text(0, m)
    rec2 = _Sp3Records(time, [f"G{j + 1:02d}" for j in range(k)], pos, clk, None, None, {})
    assert text == b"".join(rec2._epoch_text(e) for e in range(m))


def test_written_file_reads_back(tmp_path):
    rng = np.random.default_rng(9)
    m, k = 20, 8
    time = calendar_to_ns(2020, 6, 25) + np.arange(m, dtype=np.int64) * 900 * NS
    sats = np.array([5, 1, 102, 211, 3, 305, 7, 120], dtype=np.int16)
    pos = rng.uniform(-2.7e7, 2.7e7, (m, k, 3))
    pos[3, 2] = np.nan
    clk = rng.uniform(-1e-3, 1e-3, (m, k))
    clk[4, 1] = np.nan
    back = read_sp3(write_sp3(tmp_path / "x.sp3", time, sats, pos, clock_s=clk))
    order = np.argsort(sats, kind="stable")
    np.testing.assert_array_equal(back.time, time)
    np.testing.assert_array_equal(back.satellites, sats[order])
    np.testing.assert_allclose(back.position_m, pos[:, order], atol=5.1e-4)
    np.testing.assert_allclose(back.clock_s, clk[:, order], atol=5.1e-13)


def test_f14_6_digits_signs_and_overflow():
    from satnav.io.sp3 import _f14_6

    rng = np.random.default_rng(3)
    magnitude = 10.0 ** rng.uniform(0, 13.2, 20000)
    scaled = (np.rint(magnitude) * rng.choice([-1, 1], magnitude.size)).astype(np.int64)
    scaled[:6] = [0, 1, -1, 999_999, -999_999, 10**13]
    text, overflow = _f14_6(scaled)
    for v, t, o in zip(scaled.tolist(), text, overflow):
        python = f"{v / 1e6:14.6f}" if v else "      0.000000"
        assert o == (len(python) > 14), v
        if not o:
            assert bytes(t).decode() == python, v
