"""Android GnssLogger / GSDC readers against Google's own derived pseudoranges and an
independent RINEX conversion of the same phone log."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest

from satnav.constants import SPEED_OF_LIGHT
from satnav.errors import FormatError
from satnav.evaluation import horizontal_errors_vs_truth, truth_at
from satnav.io.android import (
    GsdcStates,
    gsdc_states,
    read_gnsslogger,
    read_gsdc_csv,
    read_gsdc_ground_truth,
    read_gsdc_satellite_states,
)
from satnav.satellites import satellite_id, satellite_index
from tests.conftest import data_path

PIXEL7 = ("android-gsdc2023-pixel7pro",)
# GSDC SignalType -> RINEX 3 code
SIGNAL_CODES = {"GPS_L1_CA": "C1C", "GPS_L5_Q": "C5Q", "GLO_G1_CA": "C1C", "GAL_E1_C_P": "C1C", "GAL_E5A_Q": "C5Q"}
SYSTEM_LETTER = {"1": "G", "3": "R", "6": "E"}


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def _google_rows():
    """RawPseudorangeMeters of device_gnss.csv, parsed with the csv module."""
    with open(data_path(*PIXEL7, "device_gnss.csv"), newline="") as f:
        return [r for r in csv.DictReader(f) if r["MessageType"] == "Raw"]


def test_log_pseudoranges_match_googles_derivation():
    obs = _quiet(read_gnsslogger, data_path(*PIXEL7, "gnss_log.txt"))
    rows = _google_rows()
    # epochs of the log in order of TimeNanos (each epoch 1 s apart)
    time_nanos = sorted({int(r["TimeNanos"]) for r in rows})
    pairs = []
    for r in rows:
        if not r["RawPseudorangeMeters"] or r["SignalType"] not in SIGNAL_CODES:
            continue
        e = time_nanos.index(int(r["TimeNanos"]))
        sat = satellite_index(f"{SYSTEM_LETTER[r['ConstellationType']]}{int(r['Svid']):02d}")
        code = obs.code_index(SIGNAL_CODES[r["SignalType"]])
        hit = (obs.time == obs.epochs[e]) & (obs.sat == sat) & (obs.code == code)
        assert hit.sum() == 1, (r["Svid"], r["SignalType"])
        pairs.append((e, float(r["RawPseudorangeMeters"]), float(obs.value[hit][0])))
    e, google, ours = (np.array(x) for x in zip(*pairs))
    assert len(pairs) == 169  # all of Google's pseudoranges (GPS L1/L5, GLONASS G1, Galileo E1/E5a)
    # Google forms every epoch's receiver time with one FullBiasNanos (gps-measurement-tools
    # uses the first epoch's), we with each epoch's own: the difference is the same for every
    # satellite of an epoch ...
    diff = google - ours
    per_epoch = np.array([np.median(diff[e == k]) for k in range(5)])
    assert np.max(np.abs(diff - per_epoch[e])) < 1e-3  # 1 mm: the same formula otherwise
    # ... and is c * (FullBiasNanos of the epoch - one constant FullBiasNanos):
    # log "Raw,1694113198000,67624000000,,,-1378148348376188193,..." then ...188133, ...188074,
    # ...188016, ...187959 for the next epochs
    full_bias = np.array([-1378148348376188193, -1378148348376188133, -1378148348376188074,
                          -1378148348376188016, -1378148348376187959])
    implied_constant_bias_ns = (full_bias - full_bias[0]).astype(float) - per_epoch / SPEED_OF_LIGHT * 1e9
    assert np.ptp(implied_constant_bias_ns) < 0.01  # one FullBiasNanos for all five epochs
    assert implied_constant_bias_ns[0] == pytest.approx(-62.0, abs=0.5)  # ns


def test_gsdc_csv_reader_values_by_hand():
    path = data_path(*PIXEL7, "device_gnss.csv")
    obs = _quiet(read_gsdc_csv, path)
    # first row: Svid 2, GPS, ReceivedSvTimeNanos 414015918240093, Cn0DbHz 40.2702751159668,
    # PseudorangeRateMetersPerSecond -557.190769291165, AccumulatedDeltaRangeState 25,
    # AccumulatedDeltaRangeMeters -37377.1623981773, CarrierFrequencyHz 1575420000,
    # RawPseudorangeMeters 24567440.9145622
    g02 = obs.sat == satellite_index("G02")
    first = obs.time == obs.epochs[0]

    def val(code):
        hit = g02 & first & (obs.code == obs.code_index(code))
        assert hit.sum() == 1
        return float(obs.value[hit][0]), int(obs.lli[hit][0])

    assert val("C1C")[0] == 24567440.9145622
    lam = SPEED_OF_LIGHT / 1575.42e6
    assert val("D1C")[0] == pytest.approx(557.190769291165 / lam, abs=1e-9)
    assert val("L1C") == (pytest.approx(-37377.1623981773 / lam, abs=1e-6), 0)
    assert val("S1C")[0] == pytest.approx(40.2702751159668)
    # epoch: receiver time at which Google's pseudorange was formed: transmit time of week
    # + rho / c, in GPS week 2278 (2023-09-07)
    tow_ns = 414015918240093 + round(24567440.9145622 / SPEED_OF_LIGHT * 1e9)
    assert obs.epochs[0] == 2278 * 604800 * 10**9 + tow_ns
    assert len(obs.epochs) == 5 and np.all(np.diff(obs.epochs) // 10**6 == 1000)
    # 11 rows without RawPseudorangeMeters (QZSS J03/J04 with 1 s uncertainty, E33): no C row
    assert "11 of 180" in obs.header.comments[0]


def test_gsdc_and_log_agree():
    log = _quiet(read_gnsslogger, data_path(*PIXEL7, "gnss_log.txt"))
    gsdc = _quiet(read_gsdc_csv, data_path(*PIXEL7, "device_gnss.csv"))
    # the same measurements (Doppler, C/N0 and phase come from the same raw fields)
    assert np.all(np.abs(log.epochs - gsdc.epochs) < 1000)  # the clock conventions differ by < 1 us
    for code in ("D1C", "L1C", "S5Q"):
        a = log.dense(code, gsdc.satellite_indices)
        b = gsdc.dense(code, gsdc.satellite_indices)
        both = np.isfinite(a) & np.isfinite(b)
        assert both.sum() > 20
        np.testing.assert_allclose(a[both], b[both], rtol=0, atol=1e-9)
    assert log.header.glonass_slots == gsdc.header.glonass_slots == {
        "R01": 1, "R02": -4, "R08": 6, "R17": 4, "R23": 3, "R24": 2}


def test_gsdc_satellite_states():
    st = _quiet(read_gsdc_satellite_states, data_path(*PIXEL7, "device_gnss.csv"))
    # first row: SvPositionXEcefMeters -14916644.0877723, SvClockBiasMeters -166876.027810173
    i = int(np.flatnonzero(st["sat"] == satellite_index("G02"))[0])
    assert st["position_m"][i, 0] == -14916644.0877723
    assert st["clock_bias_m"][i] == -166876.027810173
    r = np.linalg.norm(st["position_m"], axis=1)
    assert np.all((r > 2.5e7) & (r < 3.0e7))  # MEO orbit radii (GLONASS .. Galileo)


def test_log_against_independent_rinex_conversion():
    """pixel6.23o is GnssLogger's RINEX of the same session as pixel6.txt, sampled at other
    epochs (every 12 s from 23:43:15; the text log every 18 s from 23:43:32): no epoch is in
    both. Observed: after moving our C1C to the RINEX epochs with our Doppler (<= 9 s) and
    removing the common receiver-clock term per epoch, median |difference| 2.9 m, 95th
    percentile 17 m (code noise of a phone); epoch tags lie on the same clock line."""
    from satnav.io.rinex_obs import read_rinex_obs

    ours = _quiet(read_gnsslogger, data_path("corpus", "pixel6.txt"))
    rinex = read_rinex_obs(data_path("corpus", "pixel6.23o"))
    # RINEX header "GLONASS SLOT / FRQ #": R01 1 R02 -4 R03 5 R12 -1 R13 -2 R21 4
    assert ours.header.glonass_slots == {"R01": 1, "R02": -4, "R03": 5, "R12": -1, "R13": -2, "R21": 4}
    assert ours.header.receiver_type == "Google Pixel 7"
    assert {"C1C", "C5Q"} <= set(ours.header.obs_codes["G"])
    assert ours.header.obs_codes["R"] == ["C1C", "D1C", "S1C"]
    # epoch tags: "> 2023 11 07 23 43 15.0002755" and "> 2023 11 07 23 43 27.0002739":
    # the fractional second drifts with the phone clock; ours must lie on the same line
    frac_r = (rinex.epochs % 10**9).astype(float)
    frac_o = (ours.epochs % 10**9).astype(float)
    fit = np.polyfit((ours.epochs - ours.epochs[0]) / 1e9, frac_o, 2)
    inside = (rinex.epochs > ours.epochs[0]) & (rinex.epochs < ours.epochs[-1])
    pred = np.polyval(fit, (rinex.epochs[inside] - ours.epochs[0]) / 1e9)
    assert np.max(np.abs(pred - frac_r[inside])) < 500  # ns (RINEX writes 100 ns)
    # pseudoranges (GPS)
    sats = np.array([s for s in np.intersect1d(ours.satellite_indices, rinex.satellite_indices) if s < 100])
    lam = SPEED_OF_LIGHT / 1575.42e6
    a, d = ours.dense("C1C", sats), ours.dense("D1C", sats)
    r = rinex.dense("C1C", sats)
    j = np.abs(rinex.epochs[:, None] - ours.epochs[None, :]).argmin(axis=1)
    dt = (rinex.epochs - ours.epochs[j]) / 1e9
    near = np.abs(dt) <= 9.01  # RINEX epochs within the log's span (all but the first)
    assert near.sum() == len(rinex.epochs) - 1
    moved = a[j] - d[j] * lam * dt[:, None]  # rho(t + dt) = rho(t) + rate * dt, rate = -D lambda
    diff = (r - moved)[near]
    diff -= np.nanmedian(diff, axis=1, keepdims=True)
    diff = np.abs(diff[np.isfinite(diff)])
    assert len(diff) > 400
    assert np.median(diff) < 5.0 and np.percentile(diff, 95) < 25.0
    # Doppler (same sign convention as the RINEX): interpolated to the RINEX epochs
    dr = rinex.dense("D1C", sats)
    t_o, t_r = ours.epochs / 1e9, rinex.epochs / 1e9
    errs = []
    for k in range(len(sats)):
        ok = np.isfinite(d[:, k])
        inside = np.isfinite(dr[:, k]) & (t_r > t_o[ok].min()) & (t_r < t_o[ok].max())
        errs.append(dr[inside, k] - np.interp(t_r[inside], t_o[ok], d[ok, k]))
    errs = np.concatenate(errs)
    assert abs(np.median(errs)) < 0.5 and np.percentile(np.abs(errs), 95) < 10.0  # Hz


# ---------------------------------------------------------------------- synthetic records
HEADER = "# Raw," + ",".join([
    "utcTimeMillis", "TimeNanos", "LeapSecond", "TimeUncertaintyNanos", "FullBiasNanos", "BiasNanos",
    "BiasUncertaintyNanos", "DriftNanosPerSecond", "DriftUncertaintyNanosPerSecond",
    "HardwareClockDiscontinuityCount", "Svid", "TimeOffsetNanos", "State", "ReceivedSvTimeNanos",
    "ReceivedSvTimeUncertaintyNanos", "Cn0DbHz", "PseudorangeRateMetersPerSecond",
    "PseudorangeRateUncertaintyMetersPerSecond", "AccumulatedDeltaRangeState",
    "AccumulatedDeltaRangeMeters", "AccumulatedDeltaRangeUncertaintyMeters", "CarrierFrequencyHz",
    "CarrierCycles", "CarrierPhase", "CarrierPhaseUncertainty", "MultipathIndicator", "SnrInDb",
    "ConstellationType", "AgcDb", "BasebandCn0DbHz", "FullInterSignalBiasNanos",
    "FullInterSignalBiasUncertaintyNanos", "SatelliteInterSignalBiasNanos",
    "SatelliteInterSignalBiasUncertaintyNanos", "CodeType", "ChipsetElapsedRealtimeNanos"])


def _raw(svid, state, rx_sv_ns, ctype, freq, time_nanos=67624000000, full_bias=-1378148348376188193,
         code=""):
    f = ["Raw", "0", str(time_nanos), "", "", str(full_bias), "0.0", "5", "63", "1", "10", str(svid), "0.0",
         str(state), str(rx_sv_ns), "16", "40.0", "-557.19", "0.15", "0", "0", "0", str(freq), "", "", "", "0",
         "", str(ctype), "", "", "", "", "", "", code, "1"]
    return ",".join(f)


def test_system_time_scales(tmp_path):
    """The same transmit instant written as each system writes it gives the same range:
    GPS/Galileo time of week, BeiDou time of week 14 s behind (BDT = GPST - 14 s), GLONASS time
    of day in UTC(SU) + 3 h (2023-09-07: GPST - UTC = 18 s)."""
    t_rx = 67624000000 + 1378148348376188193  # GPST ns
    tx = t_rx - 70_000_000 - 123  # 70 ms + 123 ns of flight
    week = 604800 * 10**9
    day = 86400 * 10**9
    glo_tod = (tx - 18 * 10**9 + 3 * 3600 * 10**9) % day
    lines = [
        HEADER,
        _raw(2, 16431, tx % week, 1, 1575420000),
        _raw(7, 16431, tx % week, 6, 1575420000),
        _raw(19, 16431, (tx - 14 * 10**9) % week, 5, 1561098000),
        _raw(24, 32867, glo_tod, 3, 1603687500),  # channel k = 3
    ]
    p = tmp_path / "log.txt"
    p.write_text("\n".join(lines) + "\n")
    obs = read_gnsslogger(p)
    expected = (70_000_000 + 123) * SPEED_OF_LIGHT * 1e-9
    for sat, code in (("G02", "C1C"), ("E07", "C1C"), ("C19", "C2I"), ("R24", "C1C")):
        hit = (obs.sat == satellite_index(sat)) & (obs.code == obs.code_index(code))
        assert obs.value[hit] == pytest.approx([expected], abs=1e-6), sat
    assert obs.header.glonass_slots == {"R24": 3}


def test_week_rollover_and_states(tmp_path):
    week = 604800 * 10**9
    t_rx = 2279 * week + 30_000_000  # 30 ms into a new week
    full_bias = 67624000000 - t_rx
    tx_tow = (t_rx - 75_000_000) % week  # sent 75 ms earlier: end of the previous week
    lines = [
        HEADER,
        _raw(2, 16431, tx_tow, 1, 1575420000, full_bias=full_bias),
        _raw(3, 16431 & ~8 & ~16384, tx_tow, 1, 1575420000, full_bias=full_bias),  # no TOW
        _raw(4, 16431 | 16, tx_tow, 1, 1575420000, full_bias=full_bias),  # ms ambiguous
        _raw(5, 2048 | 1024, tx_tow, 6, 1575420000, full_bias=full_bias),  # Galileo 100 ms only
        _raw(99, 32867, 1000, 3, 1602000000, full_bias=full_bias),  # GLONASS without slot
    ]
    p = tmp_path / "log.txt"
    p.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match="4 of 5 measurements without a pseudorange"):
        obs = read_gnsslogger(p)
    c = obs.code == obs.code_index("C1C")
    assert obs.sat[c].tolist() == [satellite_index("G02")]
    assert obs.value[c][0] == pytest.approx(75_000_000 * SPEED_OF_LIGHT * 1e-9, abs=1e-6)
    assert obs.epochs.tolist() == [t_rx]


def test_damaged_records(tmp_path):
    good = _raw(2, 16431, 414015918240093, 1, 1575420000)
    p = tmp_path / "log.txt"
    p.write_text("\n".join([HEADER, good, good.replace(",16431,", ",16x31,"), good[:30]]) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obs = read_gnsslogger(p)
    messages = sorted(str(w.message).split("/")[-1] for w in caught)
    assert messages == [
        "log.txt:3: State '16x31' is not a number (record skipped)",
        "log.txt:4: Raw record has 5 fields, expected 36 (record skipped)",
    ]
    assert len(obs.epochs) == 1 and len(obs.value) == 3  # the good record: C1C, D1C, S1C (ADR invalid)
    with pytest.raises(FormatError, match=r"log.txt:[34]:"):
        read_gnsslogger(p, strict=True)
    q = tmp_path / "nothing.txt"
    q.write_text("# just a header\nFix,GPS,1,2\n")
    with pytest.raises(FormatError, match="no 'Raw,' records"):
        read_gnsslogger(q)



# ---------------------------------------------------------------------- Google's states
def _table():
    return _quiet(read_gsdc_satellite_states, data_path(*PIXEL7, "device_gnss.csv"))


def _subset(table, keep):
    return {k: v[keep] for k, v in table.items()}


def _query_time(table, i):
    """The solver's query for row i: t_rx - P / c (transmit time on the satellite clock)."""
    return int(table["time_ns"][i]) - round(float(table["pseudorange_m"][i]) / SPEED_OF_LIGHT * 1e9)


def test_gsdc_states_give_back_googles_rows():
    """At the solver's query time t_sv = t_rx - P/c the state, moved by -v dt_sv as the solver
    does, is Google's SvPosition (given at t_sv - dt_sv, Google's data description) and the
    clock is SvClockBiasMeters."""
    table = _table()
    states = gsdc_states(data_path(*PIXEL7, "device_gnss.csv"))
    assert isinstance(states, GsdcStates)
    rows = np.flatnonzero(np.isfinite(table["pseudorange_m"]))
    assert len(rows) == 169
    t = np.array([_query_time(table, i) for i in rows])
    for band in ("1", "5"):
        sel = table["band"][rows] == band
        st = states(table["sat"][rows][sel], t[sel], f"C{band}C")
        assert st.valid.all() and (st.reason == 0).all()
        moved = st.position_m - st.velocity_m_s * st.clock_s[:, None]
        np.testing.assert_allclose(moved, table["position_m"][rows][sel], rtol=0, atol=1e-4)
        np.testing.assert_allclose(st.clock_s * SPEED_OF_LIGHT, table["clock_bias_m"][rows][sel], rtol=0, atol=1e-4)
        assert np.all(st.group_delay_s == 0.0)  # Google's clock holds the signal's group delay
    # first row of the file: "Raw,1694113198000,...,2,...,GPS_L1_CA,...,-14916644.0877723,
    # 8381795.84825092,20772371.2218102,...,-166876.027810173,..."
    i = int(np.flatnonzero(table["sat"] == satellite_index("G02"))[0])
    st = states(satellite_index("G02"), _query_time(table, i), "C1C")
    assert float((st.position_m - st.velocity_m_s * st.clock_s)[0]) == pytest.approx(-14916644.0877723, abs=1e-4)
    assert float(st.clock_s) * SPEED_OF_LIGHT == pytest.approx(-166876.027810173, abs=1e-4)
    # G02 has no L5 state; a satellite Google never saw; two hours away from the file
    assert states(satellite_index("G02"), _query_time(table, i), "C5Q").reason == 1
    assert states(satellite_index("G05"), _query_time(table, i), "C1C").reason == 1
    far = states(satellite_index("G02"), _query_time(table, i) + 7200 * 10**9, "C1C")
    assert not far.valid and far.reason == 5 and np.isnan(far.position_m).all()


def test_gsdc_states_interpolate_and_extrapolate_to_googles_values():
    """Leave one epoch out of Google's table: the cubic Hermite between the neighbours (2 s
    apart) and the Taylor step from one side (1 s) must land on Google's own state of that
    epoch (computed by Google from the ephemeris at that time). The second epoch is left out:
    between the third and fourth Google changes the GLONASS messages (t_b boundary at
    19:00:00 UTC), which moves the GLONASS states by up to 0.7 m."""
    table = _table()
    epochs = np.unique(table["time_ns"])
    has_pr = np.isfinite(table["pseudorange_m"])
    middle = (table["time_ns"] == epochs[1]) & has_pr & (table["band"] == "1")
    t_mid = np.array([_query_time(table, i) for i in np.flatnonzero(middle)])
    sats = table["sat"][middle]
    expect = table["position_m"][middle]
    c = SPEED_OF_LIGHT

    def check(st, tol_m):
        assert st.valid.all()
        moved = st.position_m - st.velocity_m_s * st.clock_s[:, None]
        assert np.max(np.linalg.norm(moved - expect, axis=1)) < tol_m
        assert np.max(np.abs(st.clock_s * c - table["clock_bias_m"][middle])) < 0.01

    assert {"G", "R", "E"} == {satellite_id(int(x))[0] for x in sats}
    gap = GsdcStates(_subset(table, table["time_ns"] != epochs[1]))
    check(gap(sats, t_mid, "C1C"), 1e-3)
    before = GsdcStates(_subset(table, table["time_ns"] <= epochs[0]), max_extrapolation_s=1.5)
    check(before(sats, t_mid, "C1C"), 5e-3)
    # beyond max_extrapolation_s: invalid, reason "outside span"
    st = GsdcStates(_subset(table, table["time_ns"] <= epochs[0]), max_extrapolation_s=0.5)(sats, t_mid, "C1C")
    assert not st.valid.any() and (st.reason == 5).all()


def test_gsdc_ionosphere_values():
    table = _table()
    states = gsdc_states(data_path(*PIXEL7, "device_gnss.csv"))
    # "...,GPS_L5_Q,...,-42305.3465..,...,20.0264..,12.203..,4.1646..." (G08 L5, first epoch)
    sel = (table["sat"] == satellite_index("G08")) & (table["band"] == "5")
    i = int(np.flatnonzero(sel)[0])
    assert float(states.ionosphere_m(satellite_index("G08"), _query_time(table, i), "C5Q")) == table["iono_m"][i]
    assert 12.20 < table["iono_m"][i] < 12.21
    assert np.isnan(states.ionosphere_m(satellite_index("G05"), _query_time(table, i), "C1C"))


# ---------------------------------------------------------------------- ground truth
def test_ground_truth_reader_by_hand():
    truth = read_gsdc_ground_truth(data_path(*PIXEL7, "ground_truth.csv"))
    # "Fix,GT,37.692231,-122.0884199,20.9736302800885,0.0028273123,0.1,288.27866,1694113198000,,,,"
    # Unix ms 1694113198000 = 2023-09-07 (Thursday) 18:59:58 UTC; GPST = UTC + 18 s
    week, tow = divmod(int(truth["time_ns"][0]), 604800 * 10**9)
    assert (week, tow) == (2278, (4 * 86400 + 18 * 3600 + 59 * 60 + 58 + 18) * 10**9)
    assert truth["time_ns"][0] == (1694113198000 - 315964800000) * 10**6 + 18 * 10**9
    assert len(truth["time_ns"]) == 5 and np.all(np.diff(truth["time_ns"]) == 10**9)
    assert truth["latitude_deg"][0] == 37.692231 and truth["longitude_deg"][0] == -122.0884199
    assert truth["height_m"][0] == 20.9736302800885
    assert truth["speed_m_s"][0] == 0.0028273123
    pyproj = pytest.importorskip("pyproj")
    tf = pyproj.Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    x, y, z = tf.transform(-122.0884199, 37.692231, 20.9736302800885)
    np.testing.assert_allclose(truth["position_m"][0], [x, y, z], rtol=0, atol=1e-6)


def test_ground_truth_2021_format_and_damage(tmp_path):
    p = tmp_path / "ground_truth.csv"
    p.write_text(
        "collectionName,phoneName,millisSinceGpsEpoch,latDeg,lngDeg,heightAboveWgs84EllipsoidM,speedMps\n"
        "c,Pixel4,1273529463442,37.4234,-122.0918,-28.5,1.5\n"
        "c,Pixel4,12735294x4442,37.4234,-122.0918,-28.5,1.5\n"
        "c,Pixel4,1273529462442,37.4233,-122.0917,-28.4,\n"
    )
    with pytest.warns(UserWarning, match=r"ground_truth.csv:3: ground-truth record"):
        truth = read_gsdc_ground_truth(p)
    assert truth["time_ns"].tolist() == [1273529462442 * 10**6, 1273529463442 * 10**6]  # GPST, sorted
    assert truth["line"].tolist() == [4, 2]
    with pytest.raises(FormatError, match=r"ground_truth.csv:3:"):
        read_gsdc_ground_truth(p, strict=True)
    q = tmp_path / "other.csv"
    q.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(FormatError, match="not a GSDC ground_truth.csv"):
        read_gsdc_ground_truth(q)


class _FakeSolution:
    def __init__(self, time_ns, position_m):
        self.time_ns = np.asarray(time_ns)
        self.position_m = np.asarray(position_m, dtype=float)
        self.valid = np.ones(len(self.time_ns), bool)


def test_horizontal_errors_match_epochs_by_time():
    from satnav.frames import geodetic_to_ecef

    path = data_path(*PIXEL7, "ground_truth.csv")
    truth = read_gsdc_ground_truth(path)
    lat, lon, h = np.radians(37.692231), np.radians(-122.0884199), 20.9736302800885
    # 10 m north along the meridian (WGS84 meridian radius of curvature M at 37.69 deg) and
    # 3 m up: horizontal error 10 m whatever the height
    a, e2 = 6378137.0, 6.69437999014e-3
    m_radius = a * (1 - e2) / (1 - e2 * np.sin(lat) ** 2) ** 1.5
    north = geodetic_to_ecef(lat + 10.0 / m_radius, lon, h + 3.0)
    t = truth["time_ns"] + 188255  # the phone's epochs are 188 us after the truth stamps
    sol = _FakeSolution(np.r_[t, t[-1] + 10**9 // 2, t[-1] + 10 * 10**9],
                        np.vstack([np.tile(north, (5, 1)), north, north]))
    err = horizontal_errors_vs_truth(sol, path)
    assert len(err) == 5  # 0.5 s and 10 s after the last fix: no truth
    np.testing.assert_allclose(err, 10.0, atol=2e-3)
    # interpolation between fixes
    mid = truth_at(truth, [(truth["time_ns"][0] + truth["time_ns"][1]) // 2])
    np.testing.assert_allclose(mid[0], (truth["position_m"][0] + truth["position_m"][1]) / 2, atol=1e-6)


def test_reported_uncertainties_carried_in_observations():
    """Observations.sigma holds what the phone reported, per row. device_gnss.csv line 2
    (G02 L1 C/A, first epoch): ``...,ReceivedSvTimeUncertaintyNanos 16,...,
    PseudorangeRateUncertaintyMetersPerSecond 0.15,...,AccumulatedDeltaRangeUncertaintyMeters
    0.00138150330167264,...,RawPseudorangeUncertaintyMeters 4.796679328,GPS_L1_CA,...``;
    16 ns * c = 4.7966794 m (Google's column is the same product)."""
    lam1 = SPEED_OF_LIGHT / 1575.42e6
    for obs in (_quiet(read_gsdc_csv, data_path(*PIXEL7, "device_gnss.csv")),
                _quiet(read_gnsslogger, data_path(*PIXEL7, "gnss_log.txt"))):
        assert obs.sigma is not None and obs.sigma.shape == obs.value.shape
        sat = satellite_index("G02")

        def row(code, obs=obs, sat=sat):
            hit = (obs.time == obs.epochs[0]) & (obs.sat == sat) & (obs.code == obs.code_index(code))
            assert hit.sum() == 1
            return float(obs.sigma[hit][0])

        assert row("C1C") == pytest.approx(16e-9 * SPEED_OF_LIGHT, abs=1e-6)
        assert row("C1C") == pytest.approx(4.796679328, abs=1e-6)
        assert row("D1C") == pytest.approx(0.15 / lam1, rel=1e-12)
        assert row("L1C") == pytest.approx(0.00138150330167264 / lam1, rel=1e-12)
        assert np.isnan(obs.sigma[obs.code == obs.code_index("S1C")]).all()
        # phones report a constant 6 ns (1.8 m) for L5 code in this file
        l5 = obs.sigma[obs.code == obs.code_index("C5Q")]
        assert np.median(l5) == pytest.approx(6e-9 * SPEED_OF_LIGHT, abs=1e-6)
        # dense view and row selection keep the values
        d = obs.dense("C1C", [sat], what="sigma")
        assert d[0, 0] == pytest.approx(4.796679328, abs=1e-6)
        sub = obs.select(obs.sat == sat)
        assert np.array_equal(sub.sigma, obs.sigma[obs.sat == sat], equal_nan=True)


def test_rinex_observations_report_no_sigma():
    from satnav.io.rinex_obs import read_rinex_obs

    obs = read_rinex_obs(data_path("gsi-2005-092", "07590920.05o"))
    assert obs.sigma is None
    assert np.isnan(obs.dense("C1C", what="sigma")).all()
