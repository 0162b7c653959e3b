"""Carrier smoothing (Hatch filter) of code pseudoranges.

Synthetic tests know the true range; real-data tests compare positions with the station
coordinates of shared/data/stations.csv.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from satnav.constants import FREQ_L1, FREQ_L2, SPEED_OF_LIGHT
from satnav.errors import SatnavError
from satnav.estimators.carrier_smoothing import carrier_smooth, common_code_carrier_rate
from satnav.observations import Observations
from tests.conftest import data_path

LAM1 = SPEED_OF_LIGHT / FREQ_L1
LAM2 = SPEED_OF_LIGHT / FREQ_L2
UBX_HEADER_XYZ = np.array([4313748.4701, 452890.2201, 4661040.2158])  # stations.csv, 16dBatt


def _synthetic(m=900, n_sat=8, sigma=2.0, seed=1, code_drift_mps=0.0, starts=None, dual=False,
               doppler=True):
    """GPS satellites at 1 Hz: true ranges (m), code = range + noise (+ drift), phase =
    range / lambda + an integer ambiguity, Doppler = -range rate / lambda."""
    rng = np.random.default_rng(seed)
    t = np.arange(m) * 1_000_000_000 + 1_300_000_000 * 10**9
    k = np.arange(m)[:, None]
    rho = 2.2e7 + 400.0 * k + 0.02 * k**2 + 1.0e5 * np.arange(n_sat)[None, :]
    rate = 400.0 + 0.04 * k + 0 * np.arange(n_sat)[None, :]
    code = rho + sigma * rng.standard_normal((m, n_sat)) + code_drift_mps * k
    amb = rng.integers(-10**6, 10**6, n_sat)[None, :]
    phase = rho / LAM1 + amb + 0.002 * rng.standard_normal((m, n_sat))
    phase2 = rho / LAM2 + amb // 3
    dop = -rate / LAM1
    present = np.ones((m, n_sat), bool)
    if starts is not None:
        present &= k >= np.asarray(starts)[None, :]
    codes = ["C1C", "L1C", "D1C"] + (["L2W"] if dual else [])
    fields = [code, phase, dop] + ([phase2] if dual else [])
    if not doppler:
        codes.remove("D1C")
        fields.pop(2)
    rows = []
    for ci, f in enumerate(fields):
        e, s = np.nonzero(present)
        rows.append((t[e], s + 1, np.full(len(e), ci), f[e, s]))
    tt, ss, cc, vv = (np.concatenate(x) for x in zip(*rows))
    order = np.lexsort((cc, ss, tt))
    obs = Observations(tt[order], ss[order], cc[order], vv[order], np.zeros(len(tt)), np.zeros(len(tt)),
                       codes, t)
    return obs, rho, present


def _smoothed(obs, code="C1C"):
    return obs.dense(code, np.arange(1, obs.satellite_indices.max() + 1))


def test_noise_falls_as_the_hatch_filter_predicts():
    """In steady state (n = N) the recursion is an exponential average with gain 1/N: the
    code noise variance falls by 1/(2N - 1) (white code noise, noiseless phase): 2 m ->
    0.142 m for N = 100. The first epoch is the raw code; the ambiguity does not matter."""
    obs, rho, _ = _synthetic()
    out, counts = carrier_smooth(obs, window_s=100.0, return_counts=True)
    err = _smoothed(out) - rho
    raw = _smoothed(obs) - rho
    assert np.allclose(err[0], raw[0])
    assert np.array_equal(counts["C1C"][:, 0], np.minimum(np.arange(1, 901), 100))
    expected = 2.0 / np.sqrt(2 * 100 - 1)
    measured = np.std(err[300:])
    assert 0.8 * expected < measured < 1.2 * expected
    assert abs(np.mean(err[300:])) < 0.05  # no bias from the ambiguity
    # the phase and Doppler are untouched
    assert np.array_equal(out.dense("L1C"), obs.dense("L1C"))


@pytest.mark.parametrize("how", ["lli", "doppler", "geometry-free", "gap"])
def test_a_slip_restarts_the_filter(how):
    """A 40-cycle slip (7.6 m, below the 30 m code-carrier check) on satellite 3 at epoch 500,
    seen by LLI, by the Doppler or by the geometry-free combination with L2: the filter of
    that satellite restarts there (n = 1, the raw code) and is unbiased afterwards; an
    unseen slip would bias it by ~7.6 m. A 5-epoch data gap restarts it too."""
    dual = how == "geometry-free"
    obs, rho, _ = _synthetic(dual=dual, doppler=how == "doppler")
    sat3 = obs.sat == 3
    after = obs.time >= obs.epochs[500]
    phase = obs.code == obs.code_index("L1C")
    value = obs.value.copy()
    value[sat3 & after & phase] += 40.0
    lli = obs.lli.copy()
    keep = np.ones(len(obs.value), bool)
    if how == "lli":
        lli[sat3 & phase & (obs.time == obs.epochs[500])] = 1
    if how == "gap":
        value[sat3 & after & phase] -= 40.0  # no slip: only the gap
        keep = ~(sat3 & (obs.time >= obs.epochs[495]) & (obs.time < obs.epochs[500]))
    bad = Observations(obs.time[keep], obs.sat[keep], obs.code[keep], value[keep], lli[keep], obs.ssi[keep],
                       obs.codes, obs.epochs)
    out, counts = carrier_smooth(bad, window_s=100.0, return_counts=True)
    n = counts["C1C"][:, 2]
    assert n[499 if how != "gap" else 494] >= 99
    assert n[500] == 1 and n[501] == 2
    err = _smoothed(out)[:, 2] - rho[:, 2]
    assert np.max(np.abs(err[510:])) < 2.0
    # without the detection (no LLI, no Doppler, single frequency) the slip biases the code
    # until the filter forgets it (e-fold in N epochs)
    if how in ("doppler", "geometry-free"):
        plain = Observations(bad.time, bad.sat, bad.code, bad.value, bad.lli, bad.ssi, bad.codes, bad.epochs)
        drop = np.isin(plain.code, [plain.code_index(c) for c in ("D1C", "L2W") if c in plain.codes])
        plain = plain.select(~drop) if drop.any() else plain
        blind = _smoothed(carrier_smooth(plain, window_s=100.0))[:, 2] - rho[:, 2]
        assert np.median(np.abs(blind[500:520])) > 6.0


def test_common_code_carrier_drift_is_compensated():
    """Code drifting against the carrier by 0.1 m/s on every satellite at once (the u-blox
    log below drifts by -0.9 m/s): satellites that started at different times average different spans, so
    without compensation their smoothed codes lag by different amounts (0.1 * (n - 1) / 2 m,
    up to 5 m); the receiver clock absorbs only what is common. With the estimated drift the
    differences between satellites stay at the smoothed noise level."""
    starts = [0, 0, 0, 0, 40, 70, 90, 95]
    obs, rho, present = _synthetic(code_drift_mps=0.1, starts=starts)
    truth = rho + 0.1 * np.arange(len(rho))[:, None]  # the drift is common: part of the clock
    spread = {}
    for compensate in (True, False):
        out = carrier_smooth(obs, window_s=100.0, compensate_clock_rate=compensate)
        err = np.where(present, _smoothed(out) - truth, np.nan)
        spread[compensate] = np.median(np.nanmax(err[100:150], axis=1) - np.nanmin(err[100:150], axis=1))
    # 8 satellites, smoothed noise 0.14-0.6 m: a spread of a few tenths without a lag
    assert spread[True] < 0.8
    assert spread[False] > 2.0  # satellite 8 (n = 5..55) lags the others (n = 100) by 2-5 m


def test_ubx_drift_against_per_satellite_fits():
    """The u-blox log's code minus carrier drifts on every satellite: an independent estimate,
    one straight line fitted to C1C - lambda L1C of each GPS satellite over its longest arc
    without loss of lock, gives a median slope of -0.91 m/s (by hand from the file, G32:
    C1C - lambda L1C is 0.108 m at 06:38:07.996 and -544.636 m at 06:48:08.996, -0.906 m/s:
    a slow ramp plus jumps of about -21 m every ~28 s, at different epochs on each satellite);
    satnav's common rate, averaged over the epochs all those arcs share, agrees within 0.03
    m/s with the mean of the per-satellite slopes fitted over those same epochs."""
    from satnav.io.rinex_obs import read_rinex_obs

    obs = read_rinex_obs(data_path("ubx", "16dBatt_no_interference_coldstart.obs.gz"))
    sats = np.array([s for s in obs.satellite_indices if s < 100])
    c = obs.dense("C1C", sats)
    ph = obs.dense("L1C", sats) * LAM1
    lli = obs.dense("L1C", sats, "lli")
    t = (obs.epochs - obs.epochs[0]) / 1e9
    slopes, spans = [], []
    for j in range(len(sats)):
        ok = np.isfinite(c[:, j]) & np.isfinite(ph[:, j])
        breaks = np.flatnonzero(~ok | (lli[:, j] & 1 == 1))
        edges = np.concatenate(([-1], breaks, [len(t)]))
        k = int(np.argmax(np.diff(edges)))
        a, b = edges[k] + 1, edges[k + 1]
        if b - a < 300:
            continue
        slopes.append(np.polyfit(t[a:b], (c - ph)[a:b, j], 1)[0])
        spans.append((a, b))
    assert len(slopes) >= 6
    reference = float(np.median(slopes))
    assert -1.0 < reference < -0.8
    lost = (lli & 1) == 1
    rate = common_code_carrier_rate(c, ph, lost, obs.epochs, 1_500_000_000, 1000.0, 120)
    a = max(s[0] for s in spans)
    b = min(s[1] for s in spans)
    assert b - a > 300
    fitted = [np.polyfit(t[a:b], (c - ph)[a:b, j], 1)[0] for j in range(len(sats))
              if np.isfinite((c - ph)[a:b, j]).all() and not (lli[a + 1:b, j] & 1 == 1).any()]
    assert len(fitted) >= 6
    assert abs(np.mean(rate[a + 61:b - 60]) - np.mean(fitted)) < 0.03


def _solve_ubx(smoothing_s):
    from satnav.estimators.spp import solve_spp
    from satnav.gnss_time import calendar_to_ns
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.rinex_obs import read_rinex_obs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obs = read_rinex_obs(data_path("ubx", "16dBatt_no_interference_coldstart.obs.gz"))
        nav = read_rinex_nav(data_path("ubx", "16dBatt_no_interference_coldstart.nav.gz"))
        sol = solve_spp(obs, nav, smoothing_s=smoothing_s)
    early = sol.time_ns < calendar_to_ns(2025, 4, 25, 6, 57, 5)
    return sol, early


def test_ubx_positions_with_smoothing():
    """16dBatt (u-blox, 1 Hz, GPS + Galileo L1) against its header position, 06:38-06:57:04:
    raw code H 4.15 / V 7.33 m RMS (RTKLIB-like); 60 s smoothing H 1.25 / V 4.88 m. After
    06:57:05 (4-7 satellites) every epoch stays flagged as without smoothing."""
    raw, early = _solve_ubx(0.0)
    smooth, _ = _solve_ubx(60.0)
    e_raw = raw.errors(UBX_HEADER_XYZ, mask=raw.valid & early)
    e = smooth.errors(UBX_HEADER_XYZ, mask=smooth.valid & early)
    assert e_raw["h_rms"] > 3.9
    assert e["h_rms"] < 1.5 and e["v_rms"] < 5.5
    assert (smooth.valid & early).sum() >= (raw.valid & early).sum() - 2
    assert not (smooth.valid & ~early).any()
    assert smooth.options["smoothing_s"] == 60.0 and "smoothing_s" not in raw.options


def test_gsi_positions_with_smoothing():
    """GEONET 0759 (30 s, GPS L1/L2 RINEX 2) against its RTK coordinate (stations.csv):
    raw H 0.54 / V 1.08 m RMS, 60 s smoothing (2 epochs) H 0.49 / V 1.02 m."""
    from satnav.estimators.spp import solve_spp
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.rinex_obs import read_rinex_obs

    truth = np.array([-3976219.6644, 3382372.5414, 3652513.0556])
    obs = read_rinex_obs(data_path("gsi-2005-092", "07590920.05o"))
    nav = read_rinex_nav(data_path("gsi-2005-092", "07590920.05n"))
    raw = solve_spp(obs, nav).errors(truth)
    smooth = solve_spp(obs, nav, smoothing_s=60.0).errors(truth)
    assert smooth["h_rms"] < raw["h_rms"] - 0.03 and smooth["h_rms"] < 0.52
    assert smooth["v_rms"] < raw["v_rms"]


def test_bad_window_and_cli(tmp_path, capsys):
    from satnav.cli import main

    obs, _, _ = _synthetic(m=10)
    for bad in (0.0, -5.0, float("nan")):
        with pytest.raises(SatnavError, match="window"):
            carrier_smooth(obs, window_s=bad)
    d = data_path("gsi-2005-092")
    out = tmp_path / "s.pos"
    rc = main(["solve", str(d / "07590920.05o"), str(d / "07590920.05n"), "-o", str(out), "--smooth", "60", "-q"])
    assert rc == 0
    assert "% code smth : carrier (Hatch) 60 s" in out.read_text()
    with pytest.raises(SystemExit) as exc:
        main(["solve", str(d / "07590920.05o"), str(d / "07590920.05n"), "--smooth", "-1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "smoothing window" in err[0]
