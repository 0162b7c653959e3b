"""Single point positioning of a phone (GSDC 2023 Pixel 7 Pro sample) with Google's satellite
states, against the GSDC ground truth, and satnav's models against Google's derived columns.

The sample holds 5 epochs (1 Hz, static phone): its percentiles say little statistically.
For scale, Google's own WLS positions written in the same file (``WlsPosition*EcefMeters``)
have horizontal errors 4.80, 3.05, 2.60, 2.75, 2.46 m (50th 2.75 m, 95th 4.45 m).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from satnav.constants import OMEGA_E_GPS, SPEED_OF_LIGHT
from satnav.errors import SatnavError
from satnav.evaluation import horizontal_errors_vs_truth
from satnav.frames import ecef_to_geodetic, enu_rotation
from satnav.io.android import (
    gsdc_states,
    read_gsdc_csv,
    read_gsdc_satellite_states,
)
from satnav.pipeline import PHONE_SOLVE_OPTIONS
from satnav.satellites import satellite_index
from tests.conftest import data_path

PIXEL7 = "android-gsdc2023-pixel7pro"


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


@pytest.fixture(scope="module")
def phone():
    path = data_path(PIXEL7, "device_gnss.csv")
    obs = _quiet(read_gsdc_csv, path)
    return obs, gsdc_states(obs), data_path(PIXEL7, "ground_truth.csv")


def _solve(obs, states, **kw):
    from satnav.estimators.spp import solve_spp

    options = dict(PHONE_SOLVE_OPTIONS, iono="states")
    options.update(kw)
    return solve_spp(obs, None, states=states, **options)


def test_satnav_solve_cli_against_ground_truth(tmp_path, capsys):
    """``satnav solve device_gnss.csv -o out.pos --truth ground_truth.csv`` with its defaults
    for a GSDC file (Google's states and broadcast-model ionosphere, satnav's Saastamoinen,
    C/N0 weighting, 60 s carrier smoothing). Measured: horizontal errors 1.85 2.22 1.60 1.55
    2.40 m (50th 1.85 m, 95th 2.37 m); the acceptance asks 50th <= 3 m and 95th <= 8 m."""
    from satnav.cli import main

    out = tmp_path / "out.pos"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["solve", str(data_path(PIXEL7, "device_gnss.csv")), "-o", str(out),
                   "--truth", str(data_path(PIXEL7, "ground_truth.csv"))])
    text = capsys.readouterr().out
    assert rc == 0
    m = re.search(r"horizontal error 50% ([\d.]+) m, 95% ([\d.]+) m \((\d+) epochs matched\)", text)
    assert m, text
    p50, p95, n = float(m.group(1)), float(m.group(2)), int(m.group(3))
    assert n == 5
    assert p95 <= 8.0
    assert p50 <= 3.0
    assert "5 solved / 5 total (5 passed the integrity test)" in text
    rows = [ln for ln in out.read_text().splitlines() if ln and not ln.startswith("%")]
    assert len(rows) == 5
    assert "ionos opt : states" in out.read_text()
    assert "code smth : carrier (Hatch) 60 s" in out.read_text()


def test_acceptance_median_within_3m(phone):
    """Issue 4: 50th <= 3 m, 95th <= 8 m with the phone defaults (measured 1.85 / 2.37 m;
    Google's own WLS in the file: 2.75 / 4.45 m). The raw code (``smoothing_s=0``) gives
    3.04 / 4.23 m (errors 1.85 3.04 1.02 4.49 3.19 m): the first epoch is the same, every
    later one averages the phone's code noise over the epochs before it."""
    obs, states, truth = phone
    h = horizontal_errors_vs_truth(_solve(obs, states), truth)
    assert len(h) == 5
    assert np.percentile(h, 50) <= 3.0 and np.percentile(h, 95) <= 8.0
    raw = horizontal_errors_vs_truth(_solve(obs, states, smoothing_s=0.0), truth)
    assert abs(raw[0] - h[0]) < 1e-6  # nothing to average at the first epoch
    assert 2.9 < np.percentile(raw, 50) < 3.2 and np.percentile(raw, 95) < 4.5


def test_own_klobuchar_and_elevation_weighting(phone):
    """satnav's own ionosphere (Klobuchar with RTKLIB's default coefficients: the file has no
    navigation message) is worse here: Google's broadcast-model delays are 1.6x larger
    (September 2023, near solar maximum). Measured 50th 2.17 m, 95th 2.89 m (raw code: 3.33 /
    4.99 m). Without C/N0 weighting the residual test fails on every epoch and exclusion
    removes good measurements (50th 5.74 m)."""
    obs, states, truth = phone
    h = horizontal_errors_vs_truth(_solve(obs, states, iono="klobuchar"), truth)
    assert len(h) == 5 and np.percentile(h, 50) < 3.5 and np.percentile(h, 95) < 5.5
    sol = _solve(obs, states, cn0_error_m=0.0)
    assert (sol.status == 1).all()  # every epoch needed exclusions
    h = horizontal_errors_vs_truth(sol, truth)
    assert np.percentile(h, 95) < 9.0


@pytest.mark.parametrize("sat_id", ["G10", "G02", "E07", "R24"])
def test_raim_excludes_a_corrupted_phone_pseudorange(phone, sat_id):
    """+300 m on one satellite in every epoch: excluded in every epoch, accuracy kept."""
    obs, states, truth = phone
    bad = _quiet(read_gsdc_csv, data_path(PIXEL7, "device_gnss.csv"))
    hit = (bad.sat == satellite_index(sat_id)) & (bad.code == bad.code_index("C1C"))
    assert hit.sum() == 5
    bad.value = np.where(hit, bad.value + 300.0, bad.value)
    sol = _solve(bad, states)
    assert all(sol.excluded_satellites(i) == [sat_id] for i in range(5))
    h = horizontal_errors_vs_truth(sol, truth)
    assert np.percentile(h, 50) <= 3.5 and np.percentile(h, 95) <= 5.0


def test_iono_states_needs_a_source(phone):
    from satnav.estimators.spp import solve_spp

    obs, states, _ = phone
    with pytest.raises(SatnavError, match="ionosphere_m"):
        solve_spp(obs, None, states=lambda s, t, sig: states(s, t, sig), iono="states")


# ---------------------------------------------------------------------- independent checks
def _geometry(earth_rotation=False):
    t = _quiet(read_gsdc_satellite_states, data_path(PIXEL7, "device_gnss.csv"))
    ok = np.all(np.isfinite(t["wls_position_m"]), axis=1) & np.isfinite(t["elevation_deg"])
    t = {k: v[ok] for k, v in t.items()}
    rr = t["wls_position_m"]
    rs = t["position_m"]
    if earth_rotation:
        from satnav.orbits.geometry import sagnac_rotate

        rs = sagnac_rotate(rs, np.linalg.norm(rs - rr, axis=1) / SPEED_OF_LIGHT)
    los = rs - rr
    e = los / np.linalg.norm(los, axis=1, keepdims=True)
    lat, lon, h = ecef_to_geodetic(rr)
    enu = np.einsum("kij,kj->ki", enu_rotation(lat, lon), e)
    el = np.degrees(np.arcsin(enu[:, 2]))
    az = np.degrees(np.mod(np.arctan2(enu[:, 0], enu[:, 1]), 2 * np.pi))
    return t, lat, h, el, az


def test_elevation_azimuth_against_google():
    """satnav's geodetic and local-frame conversions, from Google's satellite and WLS receiver
    positions, reproduce Google's SvElevationDegrees / SvAzimuthDegrees (an independent
    implementation) to 1e-9 degrees: Google computes them from the satellite position as
    given, without the Earth rotation during the flight. The rotation the solver applies
    (Sagnac) moves them by at most ~0.0015 degrees here."""
    t, _, _, el, az = _geometry()
    assert len(el) == 169
    assert np.max(np.abs(el - t["elevation_deg"])) < 1e-9
    daz = (az - t["azimuth_deg"] + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(daz)) < 1e-9
    _, _, _, el_r, az_r = _geometry(earth_rotation=True)
    shift = np.hypot(el_r - el, ((az_r - az + 180.0) % 360.0 - 180.0) * np.cos(np.radians(el)))
    assert 2e-4 < np.max(shift) < 2e-3
    assert OMEGA_E_GPS == 7.2921151467e-5


def test_saastamoinen_against_googles_egnos_troposphere():
    """Google's TroposphericDelayMeters come from the EGNOS model (Penna, Dodson and Chen
    2001): a different model, so only agreement within model differences is expected:
    satnav's Saastamoinen (standard atmosphere, 1/sin(el)) is 0.11-0.14 m smaller on every
    signal (2.4-4.8 %), 0.32 m at 7.6 degrees elevation."""
    from satnav.models.troposphere import saastamoinen_delay

    t, lat, h, el, _ = _geometry()
    ours = saastamoinen_delay(lat, h, np.radians(el))
    diff = t["tropo_m"] - ours
    assert np.all(np.abs(diff) < 0.35)
    above = el > 10.0
    assert np.all(np.abs(diff[above] / t["tropo_m"][above]) < 0.05)
    assert 0.08 < np.median(diff) < 0.16


def test_phone_weighting_and_multi_signal(phone):
    """The phone-aware options on the only phone data with ground truth (5 epochs of a static
    phone, 1 s apart: highly correlated, not a statistical sample). Measured (50th / 95th, m),
    with the default 60 s carrier smoothing (raw code in brackets):

    ====================================  ===========  ============
    C/N0 weights (default)                1.85 / 2.37  (3.04 / 4.23)
    weights="reported"                    3.06 / 3.61  (3.95 / 5.11)
    multi_signal (L1+L5, E1+E5a)          2.35 / 2.69  (3.32 / 4.03)
    multi_signal + weights="reported"     3.36 / 3.90  (4.13 / 4.81)
    ====================================  ===========  ============

    Neither helps here, so neither is a phone default (PHONE_SOLVE_OPTIONS). The bounds
    below are the measured values plus a margin, to notice a change of behaviour."""
    obs, states, truth = phone
    rows = {}
    for name, kw in {"reported": dict(weights="reported"), "multi": dict(multi_signal=True),
                     "both": dict(weights="reported", multi_signal=True)}.items():
        sol = _solve(obs, states, **kw)
        assert (sol.status == 0).all(), name
        assert (sol.n_used == 20).all(), name  # satellites, each once
        h = horizontal_errors_vs_truth(sol, truth)
        rows[name] = (np.percentile(h, 50), np.percentile(h, 95))
    assert rows["reported"][0] < 3.3 and rows["reported"][1] < 4.0
    assert rows["multi"][0] < 2.6 and rows["multi"][1] < 3.0
    assert rows["both"][0] < 3.6 and rows["both"][1] < 4.2
    assert "weights" not in PHONE_SOLVE_OPTIONS and "multi_signal" not in PHONE_SOLVE_OPTIONS


def test_multi_signal_inter_frequency_bias_against_googles_isrb(phone):
    """With L1 + L5 the solver estimates one inter-frequency bias per clock group and band.
    Google's own receiver solution writes its inter-signal range bias per signal in the file
    (``IsrbMeters``, relative to GPS L1 C/A): GPS_L5_Q 20.026496 m, GAL_E1_C_P -0.691991 m,
    GAL_E5A_Q 14.247082 m (device_gnss.csv line 12, 28, 33 ...), i.e. E5a - E1 = 14.94 m.
    An independent estimate from the same pseudoranges must agree within a couple of metres
    (measured: G L5 18.6-20.1 m, E5a 15.6-18.0 m)."""
    obs, states, _ = phone
    sol = _solve(obs, states, multi_signal=True)
    assert sol.signals == {"G": "C1C,C5Q", "R": "C1C", "E": "C1C,C5Q"}
    ifb = sol.options["inter_frequency_bias_m"]
    assert set(ifb) == {"G:5", "E:5"}
    assert np.all(np.abs(ifb["G:5"] - 20.026496) < 2.0)
    assert np.all(np.abs(ifb["E:5"] - (14.247082 + 0.691991)) < 3.5)
    # per-satellite outputs: one column per satellite, the L1 residual where there is one
    assert len(sol.satellites) == len(set(sol.satellites.tolist()))
    ref = _solve(obs, states)
    assert np.array_equal(sol.satellites, ref.satellites)
    # the receiver clock stays the L1 clock (within the change of position)
    assert np.allclose(sol.clock_bias_s, ref.clock_bias_s, rtol=0, atol=10.0 / SPEED_OF_LIGHT, equal_nan=True)


def test_reported_weights_follow_the_phone(phone):
    """weights="reported" uses the phone's sigma where it is above the model's floor: a
    measurement whose reported sigma is made 100x larger loses its weight (its residual grows
    and the others' shrink), while without any reported sigma the result is the model's."""
    from satnav.observations import Observations

    obs, states, _ = phone
    plain = Observations(obs.time, obs.sat, obs.code, obs.value, obs.lli, obs.ssi, obs.codes, obs.epochs,
                         header=obs.header, source=obs.source)
    a = _solve(plain, states, weights="reported")
    b = _solve(obs, states)
    assert np.allclose(a.position_m, b.position_m, rtol=0, atol=1e-6)
    assert a.options["weights"] == "reported"
    c = _solve(obs, states, weights="reported")
    assert not np.allclose(c.position_m, b.position_m, rtol=0, atol=0.1)
    sigma = obs.sigma.copy()
    g10 = (obs.sat == satellite_index("G10")) & (obs.code == obs.code_index("C1C"))
    sigma[g10] *= 100.0
    noisy = Observations(obs.time, obs.sat, obs.code, obs.value, obs.lli, obs.ssi, obs.codes, obs.epochs,
                         header=obs.header, source=obs.source, sigma=sigma)
    d = _solve(noisy, states, weights="reported")
    col = list(d.satellites).index(satellite_index("G10"))
    assert np.all(np.abs(d.residuals_m[:, col]) > np.abs(c.residuals_m[:, col]))
    with pytest.raises(SatnavError, match="weights"):
        _solve(obs, states, weights="cn0")
    with pytest.raises(SatnavError, match="iono-free"):
        _solve(obs, states, multi_signal=True, iono="iono-free")
