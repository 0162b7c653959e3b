"""Signal geometry helpers: transmission time, Sagnac rotation, ranges."""

from __future__ import annotations

import numpy as np

from satnav.orbits.geometry import (
    geometric_range,
    sagnac_correction_m,
    sagnac_rotate,
    transmission_time,
)

C = 299_792_458.0
# ESBC reference marker (shared/data/README.md) and GRG G01 at 04:15 (SP3 line 1361)
ESBC = np.array([3582104.8024, 532590.1716, 5232755.1824])
G01 = np.array([-14444.367412, 2589.007956, 21909.734433]) * 1e3


def test_transmission_time():
    rx = np.int64(1_277_093_700_000_000_000)
    # 22 000 km and a satellite clock of +1 ms: 73.384... ms + 1 ms earlier
    tx = transmission_time(rx, 22_000e3, 1e-3)
    assert tx == rx - round((22_000e3 / C + 1e-3) * 1e9)
    out = transmission_time(np.array([rx, rx]), np.array([20e6, np.nan]))
    assert out[0] == rx - round(20e6 / C * 1e9) and out[1] == -1


def test_sagnac_rotation_matches_first_order_formula():
    tau = np.linalg.norm(G01 - ESBC) / C
    rotated = sagnac_rotate(G01, tau)
    assert abs(np.linalg.norm(rotated) - np.linalg.norm(G01)) < 1e-6  # a rotation
    assert rotated[2] == G01[2]
    # rotating by omega*tau = 5.2e-6 rad moves the satellite ~140 m eastward
    exact = np.linalg.norm(rotated - ESBC) - np.linalg.norm(G01 - ESBC)
    linear = sagnac_correction_m(ESBC, G01)
    assert abs(exact - linear) < 1e-3
    assert 1.0 < abs(linear) < 40.0  # Sagnac term is tens of metres at most


def test_geometric_range_converges_and_broadcasts():
    rho, rotated = geometric_range(ESBC, G01[None, None, :])
    assert rho.shape == (1, 1) and rotated.shape == (1, 1, 3)
    tau = rho[0, 0] / C
    again = np.linalg.norm(sagnac_rotate(G01, tau) - ESBC)
    assert abs(again - rho[0, 0]) < 1e-6
