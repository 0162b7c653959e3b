"""DOPs (:mod:`satnav.estimators.dop`) against the textbook formula computed here directly:
``Q = (H^T H)^-1`` of the rows ``[-e, -n, -u, one-hot clock group]`` of the satellites used,
the clock groups without a satellite left out (Misra & Enge 6.1.2)."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.estimators.dop import (
    dilution_of_precision,
    dilution_of_precision_enu,
    dilution_of_precision_epoch,
    enu_line_of_sight,
)


def _textbook(az, el, used, group, ng):
    """(gdop, pdop, hdop, vdop, tdop) of one epoch, NaN when singular."""
    keep = np.isfinite(az) & np.isfinite(el) & used
    los = np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], -1)[keep]
    g = group[keep]
    present = [c for c in range(ng) if (g == c).any()]
    H = np.column_stack([-los] + [(g == c).astype(float) for c in present])
    N = H.T @ H
    if len(H) < H.shape[1] or np.linalg.cond(N) > 1e9:
        return (np.nan,) * 5
    Q = np.linalg.inv(N)
    d = np.diag(Q)
    t = np.sqrt(d[3]) if present and present[0] == 0 else np.nan
    return (np.sqrt(d.sum()), np.sqrt(d[:3].sum()), np.sqrt(d[:2].sum()), np.sqrt(d[2]), t)


@pytest.mark.parametrize("seed", range(6))
def test_dops_equal_the_textbook_formula(seed):
    rng = np.random.default_rng(seed)
    m, k, ng = 5, 12, 3
    az = rng.uniform(0, 2 * np.pi, (m, k))
    el = rng.uniform(np.radians(5), np.radians(89), (m, k))
    el[rng.random((m, k)) < 0.1] = np.nan  # absent satellites
    used = rng.random((m, k)) < 0.85
    group = rng.integers(0, ng, (m, k))
    group[1] = np.where(group[1] == 2, 1, group[1])  # an epoch without group 2
    group[2] = np.where(group[2] == 0, 1, group[2])  # ... without group 0: TDOP NaN
    used[3, 4:] = False  # too few satellites: singular, NaN
    got = dilution_of_precision(az, el, used, group, ng)
    for e in range(m):
        want = _textbook(az[e], el[e], used[e], group[e], ng)
        np.testing.assert_allclose([x[e] for x in got], want, rtol=1e-9, equal_nan=True)
    assert np.isnan(got[0][3]) and np.isnan(got[4][2]) and np.isfinite(got[0][[0, 1, 2, 4]]).all()
    # all satellites usable and one clock group: the ENU form, any leading shape
    los = enu_line_of_sight(az[:, :8], np.where(np.isfinite(el[:, :8]), el[:, :8], 0.5))
    g1 = dilution_of_precision_enu(los[None])
    for e in range(m):
        want = _textbook(az[e, :8], np.where(np.isfinite(el[e, :8]), el[e, :8], 0.5), np.ones(8, bool),
                         np.zeros(8, int), 1)
        np.testing.assert_allclose([x[0, e] for x in g1], want, rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_one_epoch_path_gives_the_same_bits(seed):
    """dilution_of_precision_epoch (a per-epoch engine's) equals dilution_of_precision_enu on
    the same epoch bit for bit (the same operations), singular and clock groups without a
    satellite included, and both the textbook formula."""
    rng = np.random.default_rng(seed)
    for trial in range(500):
        k, ng = int(rng.integers(3, 30)), int(rng.integers(1, 5))
        az = rng.uniform(0, 2 * np.pi, k)
        el = rng.uniform(0.0, np.pi / 2, k) * rng.choice([1.0, 1e-3, 1e-7])
        if trial % 7 == 0:
            az[:] = az[0]  # (nearly) singular
        group = rng.integers(0, ng, k)
        los = enu_line_of_sight(az, el)
        general = [float(x[0]) for x in dilution_of_precision_enu(los[None], None, group[None], ng)]
        one = dilution_of_precision_epoch(los, group, ng)
        np.testing.assert_array_equal(one, general)
        book = _textbook(az, el, np.ones(k, bool), group, ng)
        if np.isfinite(book).all() and np.isfinite(one).all():
            np.testing.assert_allclose(one, book, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_one_epoch_path_with_a_mask_gives_the_same_bits(seed):
    """dilution_of_precision_epoch with ``used`` (the single point engine's: satellites below
    the mask, NaN look angles) equals dilution_of_precision_enu's masking bit for bit, and the
    textbook formula on the used satellites."""
    rng = np.random.default_rng(100 + seed)
    for trial in range(500):
        k, ng = int(rng.integers(3, 30)), int(rng.integers(1, 5))
        az = rng.uniform(0, 2 * np.pi, k)
        el = rng.uniform(-0.2, np.pi / 2, k)
        if trial % 5 == 0:
            el[rng.integers(0, k)] = np.nan
        used = rng.random(k) < 0.8
        group = rng.integers(0, ng, k)
        los = enu_line_of_sight(az, el)
        general = [float(x[0]) for x in dilution_of_precision_enu(los[None], used[None], group[None], ng)]
        one = dilution_of_precision_epoch(los, group, ng, used=used)
        np.testing.assert_array_equal(one, general)
        ok = used & np.isfinite(el)
        book = _textbook(az[ok], el[ok], np.ones(ok.sum(), bool), group[ok], ng)
        if np.isfinite(book).all() and np.isfinite(one).all():
            np.testing.assert_allclose(one, book, rtol=1e-6)
