"""EGM96 coefficients and the spherical-harmonic acceleration.

Truth: values of the EGM96 file as published (Lemoine et al. 1998; NGA/ICGEM distribution);
sums of all 88 degree-2..12 rows as computed from that file by an independent project;
the closed-form J2 acceleration (Montenbruck & Gill 2000, eq. 3.13); normal gravity at the
equator (WGS84: 9.7803253359 m/s^2 plus the centrifugal 0.0339 m/s^2).
"""

import numpy as np
import pytest

from satnav.dynamics.gravity import (
    GravityField,
    egm96,
    gravity_acceleration,
    legendre_normalized,
)


def test_egm96_published_values_and_sums():
    f = egm96(12)
    assert f.c[2, 0] == -0.484165371736e-03
    assert f.c[2, 2] == 0.243914352398e-05 and f.s[2, 2] == -0.140016683654e-05
    assert f.c[12, 12] == -0.249532607390e-08 and f.s[12, 12] == -0.111780601900e-07
    assert f.gm == 3.986004415e14 and f.radius == 6378136.3
    rows = [(n, m) for n in range(2, 13) for m in range(n + 1)]
    assert len(rows) == 88
    c_sum = sum(f.c[n, m] for n, m in rows)
    s_sum = sum(f.s[n, m] for n, m in rows)
    assert c_sum == pytest.approx(-0.00047612893965528997, abs=1e-18)
    assert s_sum == pytest.approx(-2.963217996370348e-06, abs=1e-18)


def test_legendre_low_degrees_closed_form():
    phi = np.radians(np.array([-70.0, -10.0, 0.0, 33.0, 80.0]))
    t, u = np.sin(phi), np.cos(phi)
    p = legendre_normalized(4, t, u)
    assert np.allclose(p[:, 2, 0], np.sqrt(5) * (1.5 * t * t - 0.5))
    assert np.allclose(p[:, 2, 1], np.sqrt(15) * t * u)
    assert np.allclose(p[:, 2, 2], np.sqrt(15) / 2 * u * u)
    assert np.allclose(p[:, 3, 3], np.sqrt(35 / 8) * u**3)


def test_j2_only_field_equals_closed_form():
    c = np.zeros((3, 3))
    c[0, 0] = 1.0
    c[2, 0] = -0.484165371736e-03
    field = GravityField(c, np.zeros((3, 3)), 3.986004415e14, 6378136.3)
    r = np.array([[15e6, -12e6, 19e6], [26e6, 1e6, -2e6], [7e6, 0.5e6, 0.3e6]])
    gm, a, j2 = field.gm, field.radius, -np.sqrt(5) * c[2, 0]
    x, y, z = r.T
    rn = np.linalg.norm(r, axis=1)
    k = -1.5 * j2 * gm * a**2 / rn**5
    zz = 5 * z**2 / rn**2
    ref = -gm * r / rn[:, None] ** 3 + np.stack([k * x * (1 - zz), k * y * (1 - zz), k * z * (3 - zz)], 1)
    assert np.allclose(gravity_acceleration(r, field), ref, rtol=0, atol=1e-15)


def test_gravity_at_the_equator_is_normal_gravity_plus_centrifugal():
    # gravitation (no rotation) at the equator, 4 longitudes: geoid anomalies ~ 1e-4 relative
    lon = np.radians([0.0, 90.0, 180.0, 270.0])
    r = 6378137.0 * np.stack([np.cos(lon), np.sin(lon), np.zeros(4)], 1)
    g = np.linalg.norm(gravity_acceleration(r, egm96(12)), axis=1)
    centrifugal = 7.292115e-5**2 * 6378137.0
    assert np.allclose(g, 9.7803253359 + centrifugal, rtol=2e-4)


@pytest.mark.parametrize("accelerated", [False, True])
def test_numpy_and_compiled_kernel_against_closed_form_j2(accelerated):
    # both paths of gravity_acceleration (NumPy, and the numba kernel when installed) meet
    # the closed-form J2 acceleration, and the full 12x12 field agrees between them
    from satnav.dynamics import gravity

    if accelerated:
        pytest.importorskip("numba")
        if __import__("os").environ.get("SATNAV_NO_NUMBA"):
            pytest.skip("SATNAV_NO_NUMBA set")
    try:
        assert gravity.use_accelerator(accelerated) == accelerated
        test_j2_only_field_equals_closed_form()
        test_gravity_at_the_equator_is_normal_gravity_plus_centrifugal()
        rng = np.random.default_rng(3)
        r = rng.normal(size=(9, 3))
        r *= rng.uniform(2.0e7, 4.3e7, (9, 1)) / np.linalg.norm(r, axis=1, keepdims=True)
        got = gravity_acceleration(r, egm96(12))
        ref = gravity._gravity_numpy(r, egm96(12))
        assert np.allclose(got, ref, rtol=1e-14, atol=0)
    finally:
        gravity.use_accelerator(None)
