"""GCRS <-> ITRS against astropy (an independent implementation of the IAU 2006/2000A, CIO
based transformation with its own reading of the IERS C04 EOP), and the sub-daily EOP model
against the IERS Conventions software's published test case."""

import numpy as np
import pytest

pytest.importorskip("erfa")
pytest.importorskip("astropy_iers_data")

from satnav.gnss_time import parse_gpst  # noqa: E402
from satnav.models.earth_orientation import gcrs_to_itrs, itrs_to_gcrs  # noqa: E402
from satnav.models.subdaily_eop import ortho_eop, subdaily_eop  # noqa: E402

GNSS_POSITIONS_M = np.array([[15e6, -12e6, 19e6], [-20e6, 17e6, 3e6], [26.5e6, 0.0, -1e6],
                             [-3e6, -25e6, 8e6]])
EPOCHS = ["2020-06-25T00:00:00", "2020-06-25T13:17:30", "2024-02-04T06:00:00", "2024-02-04T23:59:30"]


def test_gcrs_to_itrs_matches_astropy_below_a_millimetre():
    pytest.importorskip("astropy")
    import astropy.units as u
    from astropy.coordinates import GCRS, ITRS, CartesianRepresentation
    from astropy.time import Time
    from astropy.utils import iers

    iers.conf.auto_download = False
    t_ns = np.array([parse_gpst(e) for e in EPOCHS])
    t = Time(t_ns / 1e9, format="gps")  # seconds since 1980-01-06 00:00 GPST
    gcrs = GCRS(CartesianRepresentation(GNSS_POSITIONS_M.T * u.m), obstime=t)
    ref = gcrs.transform_to(ITRS(obstime=t)).cartesian.xyz.to(u.m).value.T
    ours = gcrs_to_itrs(t_ns, GNSS_POSITIONS_M)
    assert np.max(np.linalg.norm(ours - ref, axis=1)) < 1e-3
    back = itrs_to_gcrs(t_ns, ours)
    assert np.max(np.abs(back - GNSS_POSITIONS_M)) < 1e-6


def test_ortho_eop_iers_test_case():
    # IERS Conventions software ORTHO_EOP, test case MJD 47100 (header of ORTHO_EOP.F)
    got = ortho_eop(47100.0)[0]
    assert got == pytest.approx([-162.8386373279636530, 117.7907525842668974,
                                 -23.39092370609808214], abs=1e-8)


def test_subdaily_eop_size():
    # diurnal/semidiurnal ocean-tide EOP: below ~1 mas and ~0.1 ms at any time
    mjd_tt = 59025.0 + np.arange(0, 86400, 600) / 86400.0  # 2020-06-25
    dx, dy, dut1 = subdaily_eop(mjd_tt)
    mas = 180 / np.pi * 3600e3
    assert 0.2 < np.max(np.abs(dx)) * mas < 1.0 and 0.2 < np.max(np.abs(dy)) * mas < 1.0
    assert 10e-6 < np.max(np.abs(dut1)) < 100e-6
