"""Android raw GNSS measurements: GnssLogger logs and the GSDC ``device_gnss.csv``.

Android reports, per measurement, the receiver clock (``TimeNanos``, ``FullBiasNanos``,
``BiasNanos``), the measurement's ``TimeOffsetNanos`` and the satellite's transmit time as
decoded by the chipset (``ReceivedSvTimeNanos``), in the satellite system's own time of
week (GPS, Galileo, QZSS, NavIC, SBAS; BeiDou in BDT) or time of day (GLONASS, in
UTC(SU) + 3 h). Pseudoranges follow Google's derivation (European GNSS Agency, "Using GNSS
raw measurements on Android devices", 2017, section 2.4; Google gps-measurement-tools
``ProcessGnssMeas.m``)::

    t_rx  = TimeNanos + TimeOffsetNanos - (FullBiasNanos + BiasNanos)     # GPST ns
    t_rx' = t_rx in the satellite system's time, modulo its period (week or day)
    rho   = c * (t_rx' - ReceivedSvTimeNanos)  (difference wrapped into +-period/2)

with BDT = GPST - 14 s and GLONASS time = GPST - leap seconds + 3 h. A pseudorange is only
formed when the measurement state says the transmit time is complete:

* GPS, QZSS, Galileo, BeiDou, NavIC, SBAS: ``STATE_TOW_DECODED`` (8) or ``STATE_TOW_KNOWN``
  (16384), GLONASS: ``STATE_GLO_TOD_DECODED`` (128) or ``STATE_GLO_TOD_KNOWN`` (32768);
* a code lock (``STATE_CODE_LOCK`` 1, or ``STATE_GAL_E1BC_CODE_LOCK`` 1024 for Galileo) and
  not ``STATE_MSEC_AMBIGUOUS`` (16);
* ``ReceivedSvTimeUncertaintyNanos`` at most ``max_tow_uncertainty_ns`` (500 ns by default:
  phones report 1 s for measurements whose time is not known).

Galileo measurements that only have ``STATE_GAL_E1C_2ND_CODE_LOCK`` (time known modulo
100 ms) are dropped, as are GLONASS measurements without an orbital slot (``Svid`` 93-106
is the frequency channel + 100, not a satellite). Every dropped pseudorange is counted and
reported once in a warning and in the header comments.

Carrier phase (cycles) is ``AccumulatedDeltaRangeMeters / wavelength`` where
``ADR_STATE_VALID`` (1) is set and ``ADR_STATE_RESET`` (2) is not; LLI bit 0 marks
``ADR_STATE_CYCLE_SLIP`` (4) or a reset, bit 1 an unresolved half cycle
(``ADR_STATE_HALF_CYCLE_REPORTED`` 16 without ``..._RESOLVED`` 8). Doppler (Hz) is
``-PseudorangeRateMetersPerSecond / wavelength``, C/N0 (dB-Hz) ``Cn0DbHz``. Wavelengths use
the nominal carrier (GLONASS: from the channel number in ``CarrierFrequencyHz``).

Signals become RINEX 3 codes from the band (``CarrierFrequencyHz``) and the ``CodeType``
column when the log has it (Android 11+), else the usual phone signals: GPS/QZSS L1 C/A
``1C``, L5 ``5Q``; Galileo E1 ``1C``, E5a ``5Q``, E5b ``7Q``; BeiDou B1I ``2I``, B1C ``1P``,
B2a ``5P``; GLONASS G1 ``1C``; NavIC L5 ``5A``; SBAS L1 ``1C``.

Epochs are the receiver times ``TimeNanos - FullBiasNanos - BiasNanos`` rounded to the
nanosecond (GPST), like the fractional epochs of a RINEX conversion.
"""

from __future__ import annotations

import csv
import warnings
from decimal import Decimal, InvalidOperation

import numpy as np

from ..constants import SPEED_OF_LIGHT
from ..errors import FormatError, SatnavError, SatnavWarning, warn_damaged
from ..gnss_time import NS_PER_DAY, NS_PER_S, NS_PER_WEEK, leap_seconds_at_gpst
from ..observations import Observations, ObsHeader
from ..satellites import SYSTEMS, satellite_ids, satellite_index_of, system_number_of
from ..signals import SIGNALS, carrier_frequency

__all__ = [
    "read_gnsslogger",
    "read_gsdc_csv",
    "read_gsdc_satellite_states",
    "read_gsdc_ground_truth",
    "gsdc_states",
    "GsdcStates",
    "android_pseudoranges",
    "CONSTELLATION_TYPES",
]

#: Android ``GnssStatus.CONSTELLATION_*`` -> RINEX system letter
#: (:attr:`satnav.signals.SystemSignals.android_constellation`).
CONSTELLATION_TYPES = dict(sorted((e.android_constellation, s) for s, e in SIGNALS.items()))

# GnssMeasurement state bits (android.location.GnssMeasurement)
STATE_CODE_LOCK = 1
STATE_TOW_DECODED = 8
STATE_MSEC_AMBIGUOUS = 16
STATE_GLO_TOD_DECODED = 128
STATE_GAL_E1BC_CODE_LOCK = 1024
STATE_GAL_E1C_2ND_CODE_LOCK = 2048
STATE_TOW_KNOWN = 16384
STATE_GLO_TOD_KNOWN = 32768
# AccumulatedDeltaRangeState bits
ADR_STATE_VALID = 1
ADR_STATE_RESET = 2
ADR_STATE_CYCLE_SLIP = 4
ADR_STATE_HALF_CYCLE_RESOLVED = 8
ADR_STATE_HALF_CYCLE_REPORTED = 16

#: Column order of GnssLogger's ``Raw`` records (v2.0 - v3.x), used when the log has no
#: ``# Raw,...`` header line.
RAW_COLUMNS = (
    "utcTimeMillis,TimeNanos,LeapSecond,TimeUncertaintyNanos,FullBiasNanos,BiasNanos,"
    "BiasUncertaintyNanos,DriftNanosPerSecond,DriftUncertaintyNanosPerSecond,"
    "HardwareClockDiscontinuityCount,Svid,TimeOffsetNanos,State,ReceivedSvTimeNanos,"
    "ReceivedSvTimeUncertaintyNanos,Cn0DbHz,PseudorangeRateMetersPerSecond,"
    "PseudorangeRateUncertaintyMetersPerSecond,AccumulatedDeltaRangeState,"
    "AccumulatedDeltaRangeMeters,AccumulatedDeltaRangeUncertaintyMeters,CarrierFrequencyHz,"
    "CarrierCycles,CarrierPhase,CarrierPhaseUncertainty,MultipathIndicator,SnrInDb,"
    "ConstellationType,AgcDb,BasebandCn0DbHz,FullInterSignalBiasNanos,"
    "FullInterSignalBiasUncertaintyNanos,SatelliteInterSignalBiasNanos,"
    "SatelliteInterSignalBiasUncertaintyNanos,CodeType,ChipsetElapsedRealtimeNanos"
).split(",")

_REQUIRED = (
    "TimeNanos", "FullBiasNanos", "Svid", "State", "ReceivedSvTimeNanos", "ConstellationType",
    "CarrierFrequencyHz",
)
_INT_COLUMNS = ("TimeNanos", "FullBiasNanos", "ReceivedSvTimeNanos")
_SMALL_INT_COLUMNS = ("Svid", "State", "ConstellationType", "AccumulatedDeltaRangeState",
                      "HardwareClockDiscontinuityCount")
_INT64_BOUND = 9.2e18  # |value| below this fits int64
_SMALL_INT_BOUND = 2.0**31
_FLOAT_COLUMNS = (
    "BiasNanos", "TimeOffsetNanos", "LeapSecond", "ReceivedSvTimeUncertaintyNanos", "Cn0DbHz",
    "PseudorangeRateMetersPerSecond", "AccumulatedDeltaRangeMeters", "CarrierFrequencyHz",
    "PseudorangeRateUncertaintyMetersPerSecond", "AccumulatedDeltaRangeUncertaintyMeters",
)

#: Nominal carriers per system: RINEX band digit -> Hz (GLONASS FDMA handled apart;
#: :attr:`satnav.signals.SystemSignals.android_bands`).
_BANDS = {s: {d: e.carrier_hz[d] for d in e.android_bands} for s, e in SIGNALS.items()}
#: Attribute when the log has no CodeType: the signals phones track
#: (:attr:`satnav.signals.SystemSignals.android_attributes`).
_DEFAULT_ATTRIBUTE = {(s, d): a for s, e in SIGNALS.items() for d, a in e.android_attributes.items()}
_BAND_TOLERANCE_HZ = 1.0e6
_PSEUDORANGE_MIN_M, _PSEUDORANGE_MAX_M = 1.0e7, 5.0e7


# ====================================================================== parsing
def _int_column(values: list[str], name: str, path, lines) -> np.ndarray:
    """Exact int64 of decimal strings; floats in E notation (lossy writers) via Decimal."""
    try:
        return np.array(values, dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        try:
            out[i] = int(Decimal(v.strip())) if v.strip() else np.iinfo(np.int64).min
        except (InvalidOperation, ValueError):
            raise FormatError(f"{name} {v!r} is not a number", path, int(lines[i])) from None
    return out


def _float_column(values: list[str], name: str, path, lines) -> np.ndarray:
    try:
        return np.array([v if v.strip() else "nan" for v in values], dtype=np.float64)
    except ValueError:
        for i, v in enumerate(values):
            try:
                float(v or "nan")
            except ValueError:
                raise FormatError(f"{name} {v!r} is not a number", path, int(lines[i])) from None
        raise


def _columns_from_rows(rows, names, lines, path, strict, source_label):
    """Dict of typed column arrays from split records; damaged records are skipped."""
    index = {n: i for i, n in enumerate(names)}
    missing = [c for c in _REQUIRED if c not in index]
    if missing:
        raise FormatError(
            f"{source_label} records lack the columns {', '.join(missing)}; "
            "expected Android GnssMeasurement fields", path,
        )
    need = max(index[c] for c in _REQUIRED) + 1
    keep_rows, keep_lines = [], []
    for r, ln in zip(rows, lines):
        if len(r) < need:
            warn_damaged(f"{source_label} record has {len(r)} fields, expected {len(names)}", path, ln, strict, FormatError)
            continue
        if len(r) < len(names):
            r = r + [""] * (len(names) - len(r))
        bad = next((c for c in _REQUIRED if not r[index[c]].strip()), None)
        if bad is not None:
            warn_damaged(f"{source_label} record has no {bad}", path, ln, strict, FormatError)
            continue
        keep_rows.append(r)
        keep_lines.append(ln)
    lines_arr = np.asarray(keep_lines, dtype=np.int64)
    cols: dict[str, np.ndarray] = {"line": lines_arr}
    if not keep_rows:
        return cols, 0
    transposed = list(zip(*keep_rows))

    def col(name):
        return list(transposed[index[name]]) if name in index else [""] * len(keep_rows)

    # numbers that fail to parse make the whole record damaged: check per record once
    good = np.ones(len(keep_rows), dtype=bool)
    for name in _INT_COLUMNS + _SMALL_INT_COLUMNS + _FLOAT_COLUMNS:
        vals = col(name)
        try:  # fast path: the whole column parses
            np.array([v or "nan" for v in vals], dtype=np.float64)
            continue
        except ValueError:
            pass
        for i, v in enumerate(vals):
            if v and not _is_number(v):
                good[i] = False
                warn_damaged(f"{name} {v!r} is not a number", path, int(lines_arr[i]), strict, FormatError)
    # integer fields must fit their type (1e300, inf and nan are damaged, never wrapped)
    for name, bound in [(c, _INT64_BOUND) for c in _INT_COLUMNS] + [(c, _SMALL_INT_BOUND) for c in _SMALL_INT_COLUMNS]:
        vals = col(name)
        try:
            f = np.array([v or "0" for v in vals], dtype=np.float64)
        except ValueError:  # the damaged texts found above
            f = np.array([float(v) if v and _is_number(v) else 0.0 for v in vals], dtype=np.float64)
        for i in np.flatnonzero(~(np.abs(f) < bound) & good):
            good[i] = False
            warn_damaged(f"{name} {vals[i]!r} is out of range for an integer field", path, int(lines_arr[i]),
                         strict, FormatError)
    if not good.all():
        keep_rows = [r for r, g in zip(keep_rows, good) if g]
        lines_arr = lines_arr[good]
        cols["line"] = lines_arr
        transposed = list(zip(*keep_rows)) if keep_rows else [[] for _ in names]
    for name in _INT_COLUMNS:
        cols[name] = _int_column(col(name), name, path, lines_arr)
    for name in _SMALL_INT_COLUMNS:
        v = _float_column(col(name), name, path, lines_arr)
        cols[name] = np.where(np.isfinite(v), v, 0).astype(np.int64)
    for name in _FLOAT_COLUMNS:
        cols[name] = _float_column(col(name), name, path, lines_arr)
    cols["CodeType"] = np.array([c.strip().upper()[:1] for c in col("CodeType")], dtype="U1")
    for name in ("RawPseudorangeMeters", "RawPseudorangeUncertaintyMeters"):
        if name in index:
            cols[name] = _float_column(col(name), name, path, lines_arr)
    return cols, len(keep_rows)


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


# ====================================================================== derivation
def _signals(system: np.ndarray, freq_hz: np.ndarray, code_type: np.ndarray):
    """RINEX band digit, attribute, nominal carrier (Hz) and GLONASS channel per row."""
    n = len(system)
    band = np.full(n, "", dtype="U1")
    nominal = np.full(n, np.nan)
    k = np.full(n, np.iinfo(np.int16).min, dtype=np.int64)
    glo = system == "R"
    if glo.any():  # FDMA first: the G1 channel grid comes within 1 MHz of the L1OC carrier
        for digit, (base, step) in SIGNALS["R"].fdma_hz.items():
            kk = np.rint((freq_hz - base) / step)
            hit = glo & (kk >= -7) & (kk <= 6) & (np.abs(freq_hz - (base + kk * step)) < 0.05e6) & (band == "")
            band[hit] = digit
            k[hit] = kk[hit].astype(np.int64)
            nominal[hit] = carrier_frequency("R", digit, kk[hit])
    for letter, table in _BANDS.items():
        rows = (system == letter) & (band == "")
        if not rows.any():
            continue
        for digit, f in table.items():
            hit = rows & (np.abs(freq_hz - f) < _BAND_TOLERANCE_HZ) & (band == "")
            band[hit] = digit
            nominal[hit] = f
    attribute = np.array(code_type, dtype="U1").copy()
    blank = attribute == ""
    for (letter, digit), a in _DEFAULT_ATTRIBUTE.items():
        attribute[blank & (system == letter) & (band == digit)] = a
    return band, attribute, nominal, k


def android_pseudoranges(cols: dict, system: np.ndarray, leap_s=None):
    """Pseudorange (m) of every measurement and the receiver time tag (GPST ns).

    Parameters
    ----------
    cols : dict of arrays
        ``TimeNanos``, ``FullBiasNanos``, ``ReceivedSvTimeNanos`` (int64 ns),
        ``BiasNanos``, ``TimeOffsetNanos`` (float ns), ``LeapSecond`` (float, NaN when absent).
    system : ndarray of str
        RINEX system letter of each measurement.
    leap_s : array_like, optional
        GPST - UTC (s) for GLONASS; default the ``LeapSecond`` column, else the table.

    Returns
    -------
    pseudorange_m : ndarray (n,)
    epoch_ns : ndarray int64 (n,)
        ``TimeNanos - FullBiasNanos - BiasNanos`` rounded to the nanosecond.
    """
    t_int = cols["TimeNanos"] - cols["FullBiasNanos"]  # GPST ns, exact
    bias = np.nan_to_num(cols["BiasNanos"])
    offset = np.nan_to_num(cols["TimeOffsetNanos"])
    frac = offset - bias  # ns
    epoch_ns = t_int + np.rint(-bias).astype(np.int64)
    if leap_s is None:
        leap = cols.get("LeapSecond", np.full(len(t_int), np.nan))
        leap_s = np.where(np.isfinite(leap), leap, leap_seconds_at_gpst(t_int)).astype(np.int64)
    leap_s = np.asarray(leap_s, dtype=np.int64)
    t_sys = t_int.copy()
    period = np.full(len(t_int), NS_PER_WEEK, dtype=np.int64)
    bds = system == "C"
    t_sys[bds] -= 14 * NS_PER_S
    glo = system == "R"
    t_sys[glo] = t_int[glo] - leap_s[glo] * NS_PER_S + 3 * 3600 * NS_PER_S
    period[glo] = NS_PER_DAY
    rx_in_period = np.mod(t_sys, period)
    delta = rx_in_period - cols["ReceivedSvTimeNanos"]
    half = period // 2
    delta = np.mod(delta + half, period) - half  # week / day rollover
    return (delta + frac) * (SPEED_OF_LIGHT * 1e-9), epoch_ns


def _build(cols, n, path, header, *, max_tow_uncertainty_ns, pseudorange_override=None):
    """Observations from parsed Android measurement columns."""
    drops: dict[str, int] = {}

    def drop(mask, reason):
        c = int(np.count_nonzero(mask))
        if c:
            drops[reason] = drops.get(reason, 0) + c

    ctype = cols["ConstellationType"]
    system = np.array([CONSTELLATION_TYPES.get(int(c), "") for c in ctype], dtype="U1")
    svid = cols["Svid"]
    prn = svid.copy()
    prn[system == "J"] -= 192
    prn[system == "S"] -= 100
    sat_ok = system != ""
    drop(~sat_ok, "unknown constellation")
    glo_no_slot = (system == "R") & ((svid < 1) | (svid > 24))
    drop(glo_no_slot, "GLONASS measurements without an orbital slot (Svid = channel + 100)")
    sat_ok &= ~glo_no_slot & (prn >= 1) & (prn <= 99)
    band, attribute, nominal, glo_k = _signals(system, cols["CarrierFrequencyHz"], cols["CodeType"])
    no_band = sat_ok & (band == "")
    drop(no_band, "unknown carrier frequency")
    ok = sat_ok & (band != "")
    sysnum = np.array([SYSTEMS.index(s) if s else 0 for s in system], dtype=np.int64)
    sat = satellite_index_of(sysnum, prn).astype(np.int64)

    # ---------------------------------------------------------------- pseudorange
    state = cols["State"]
    if pseudorange_override is None:
        pr, epoch_ns = android_pseudoranges(cols, system)
        full_time = np.where(
            system == "R",
            (state & (STATE_GLO_TOD_DECODED | STATE_GLO_TOD_KNOWN)) != 0,
            (state & (STATE_TOW_DECODED | STATE_TOW_KNOWN)) != 0,
        )
        lock = (state & (STATE_CODE_LOCK | STATE_GAL_E1BC_CODE_LOCK)) != 0
        amb = (state & STATE_MSEC_AMBIGUOUS) != 0
        unc = cols["ReceivedSvTimeUncertaintyNanos"]
        unc_ok = ~(unc > max_tow_uncertainty_ns) if max_tow_uncertainty_ns is not None else np.ones(n, bool)
        drop(ok & ~full_time, "transmit time not complete (no TOW/TOD decoded or known in State)")
        drop(ok & full_time & ~lock, "no code lock in State")
        drop(ok & full_time & lock & amb, "millisecond ambiguity (STATE_MSEC_AMBIGUOUS)")
        drop(ok & full_time & lock & ~amb & ~unc_ok,
             f"ReceivedSvTimeUncertaintyNanos above {max_tow_uncertainty_ns} ns")
        pr_ok = ok & full_time & lock & ~amb & unc_ok
        plausible = (pr > _PSEUDORANGE_MIN_M) & (pr < _PSEUDORANGE_MAX_M)
        drop(pr_ok & ~plausible, "implausible pseudorange (outside 10 000 - 50 000 km)")
        pr_ok &= plausible
    else:
        pr, epoch_ns = pseudorange_override
        pr_ok = ok & np.isfinite(pr)
        drop(ok & ~np.isfinite(pr), "no RawPseudorangeMeters")
    # receiver-reported 1-sigma of each value (Observations.sigma), NaN where not reported
    pr_sigma = cols["ReceivedSvTimeUncertaintyNanos"] * (SPEED_OF_LIGHT * 1e-9)
    if pseudorange_override is not None and "RawPseudorangeUncertaintyMeters" in cols:
        given = cols["RawPseudorangeUncertaintyMeters"]
        pr_sigma = np.where(np.isfinite(given), given, pr_sigma)

    wavelength = SPEED_OF_LIGHT / nominal
    # ---------------------------------------------------------------- phase, Doppler, C/N0
    adr_state = cols["AccumulatedDeltaRangeState"]
    adr = cols["AccumulatedDeltaRangeMeters"]
    ph_ok = ok & ((adr_state & ADR_STATE_VALID) != 0) & ((adr_state & ADR_STATE_RESET) == 0) & np.isfinite(adr)
    ph_ok &= adr != 0.0
    phase = adr / wavelength
    lli = np.where((adr_state & (ADR_STATE_CYCLE_SLIP | ADR_STATE_RESET)) != 0, 1, 0)
    half = ((adr_state & ADR_STATE_HALF_CYCLE_REPORTED) != 0) & ((adr_state & ADR_STATE_HALF_CYCLE_RESOLVED) == 0)
    lli = lli | np.where(half, 2, 0)
    prr = cols["PseudorangeRateMetersPerSecond"]
    dop = -prr / wavelength
    dop_ok = ok & np.isfinite(dop)
    cn0 = cols["Cn0DbHz"]
    cn0_ok = ok & np.isfinite(cn0) & (cn0 > 0)
    ssi = np.clip(np.floor(np.nan_to_num(cn0) / 6.0), 1, 9).astype(np.int8)
    phase_sigma = cols["AccumulatedDeltaRangeUncertaintyMeters"] / wavelength
    dop_sigma = cols["PseudorangeRateUncertaintyMetersPerSecond"] / wavelength

    # ---------------------------------------------------------------- epochs
    epochs = np.unique(epoch_ns[ok]) if ok.any() else np.zeros(0, np.int64)
    disc = cols["HardwareClockDiscontinuityCount"]
    epoch_flags = np.zeros(len(epochs), dtype=np.int8)
    if len(epochs) > 1 and ok.any():
        e_idx = np.searchsorted(epochs, epoch_ns[ok])
        first_row = np.zeros(len(epochs), dtype=np.int64)
        first_row[e_idx[::-1]] = np.arange(len(e_idx))[::-1]
        d = disc[ok][first_row]
        epoch_flags[1:] = (np.diff(d) != 0).astype(np.int8)
        # a clock discontinuity breaks every phase of that epoch
        jump_epoch = np.zeros(len(epoch_ns), dtype=bool)
        jump_epoch[ok] = epoch_flags[e_idx] == 1
        lli = np.where(jump_epoch, lli | 1, lli)

    # ---------------------------------------------------------------- rows
    signal = np.char.add(band, attribute)
    sigs = sorted(set(signal[ok].tolist()), key=lambda s: (s[0], s[1]))
    codes = [f"{t}{s}" for s in sigs for t in "CLDS"]
    code_of = {c: i for i, c in enumerate(codes)}
    parts = []
    for kind, mask, value, lli_v, ssi_v, sigma_v in (
        ("C", pr_ok, pr, 0, ssi, pr_sigma),
        ("L", ph_ok, phase, lli, ssi, phase_sigma),
        ("D", dop_ok, dop, 0, 0, dop_sigma),
        ("S", cn0_ok, cn0, 0, 0, np.nan),
    ):
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        ci = np.array([code_of[kind + s] for s in signal[idx]], dtype=np.int64)
        parts.append((
            epoch_ns[idx], sat[idx], ci, value[idx],
            np.broadcast_to(np.asarray(lli_v), (n,))[idx], np.broadcast_to(np.asarray(ssi_v), (n,))[idx],
            np.broadcast_to(np.asarray(sigma_v, dtype=np.float64), (n,))[idx],
        ))
    if parts:
        t, s, c, v, li, si, sg = (np.concatenate(x) for x in zip(*parts))
    else:
        t = s = c = li = si = np.zeros(0, np.int64)
        v = sg = np.zeros(0)
    sg = np.where(np.isfinite(sg) & (sg > 0), sg, np.nan)
    # one value per (epoch, satellite, code): keep the first (duplicates are rare)
    order = np.lexsort((c, s, t))
    t, s, c, v, li, si, sg = t[order], s[order], c[order], v[order], li[order], si[order], sg[order]
    if len(t) > 1:
        dup = np.zeros(len(t), dtype=bool)
        dup[1:] = (t[1:] == t[:-1]) & (s[1:] == s[:-1]) & (c[1:] == c[:-1])
        is_code = np.array([codes[int(i)][0] == "C" for i in c], dtype=bool)
        drop(dup & is_code, "duplicate measurements of one signal in one epoch")
        keep = ~dup
        t, s, c, v, li, si, sg = t[keep], s[keep], c[keep], v[keep], li[keep], si[keep], sg[keep]

    # ---------------------------------------------------------------- header
    obs_codes: dict[str, list[str]] = {}
    for letter in SYSTEMS:
        sys_sigs = sorted({sg for sg in signal[ok & (system == letter)].tolist()})
        if sys_sigs:
            present = {codes[int(ci)] for ci in np.unique(c[system_number_of(s) == SYSTEMS.index(letter)])}
            obs_codes[letter] = [f"{k}{sg}" for sg in sys_sigs for k in "CLDS" if f"{k}{sg}" in present]
    header.obs_codes = obs_codes
    header.system = "M" if len(obs_codes) != 1 else next(iter(obs_codes))
    header.glonass_slots = {
        f"R{int(p):02d}": int(kk)
        for p, kk in sorted(set(zip(prn[ok & (system == "R")].tolist(), glo_k[ok & (system == "R")].tolist())))
        if kk > -100
    }
    header.signal_strength_unit = "DBHZ"
    if len(epochs):
        header.time_of_first_obs_ns = int(epochs[0])
        header.time_of_last_obs_ns = int(epochs[-1])
    total = n
    if drops:
        detail = "; ".join(f"{k}: {v}" for k, v in drops.items())
        msg = f"{path}: {sum(drops.values())} of {total} measurements without a pseudorange ({detail})"
        header.comments.append(msg)
        warnings.warn(msg, SatnavWarning, stacklevel=3)
    return Observations(t, s, c, v, li, si, codes, epochs, epoch_flags=epoch_flags, header=header, source=str(path),
                        sigma=sg)


# ====================================================================== readers
def read_gnsslogger(path, *, strict: bool = False, max_tow_uncertainty_ns: float | None = 500.0) -> Observations:
    """Read the ``Raw`` records of an Android GnssLogger log into :class:`Observations`.

    Parameters
    ----------
    path : str or Path
        GnssLogger text log (``gnss_log_*.txt``; compressed files are opened too).
    strict : bool
        Raise :class:`~satnav.errors.FormatError` on a damaged record instead of skipping it
        with a warning.
    max_tow_uncertainty_ns : float or None
        Drop pseudoranges whose ``ReceivedSvTimeUncertaintyNanos`` is larger (None keeps all).

    Returns
    -------
    Observations
        Codes ``C..`` (m), ``L..`` (cycles), ``D..`` (Hz), ``S..`` (dB-Hz) per signal; epochs
        in GPST ns. The header's ``receiver_type`` is the phone model from the log header,
        ``glonass_slots`` the channels seen, ``comments`` the count of dropped measurements.
    """
    from .textfile import read_bytes

    text = read_bytes(path).decode("utf-8", errors="replace")
    names = None
    rows, lines = [], []
    header = ObsHeader(program="satnav (Android GnssLogger)", marker_name="Android")
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith("Raw,"):
            rows.append(line.rstrip("\r").split(",")[1:])
            lines.append(lineno)
        elif line.startswith("#"):
            body = line[1:].strip()
            if body.startswith("Raw,"):
                names = [c.strip() for c in body.split(",")[1:]]
            elif body.startswith("Version:"):
                _parse_version(body, header)
    if not rows:
        raise FormatError("no 'Raw,' records: not an Android GnssLogger log with raw measurements", path)
    cols, n = _columns_from_rows(rows, names or list(RAW_COLUMNS), lines, path, strict, "Raw")
    if n == 0:
        raise FormatError("every 'Raw,' record is damaged", path)
    return _build(cols, n, path, header, max_tow_uncertainty_ns=max_tow_uncertainty_ns)


def _parse_version(body: str, header: ObsHeader) -> None:
    # "Version: v3.0.6.4 Platform: 14 Manufacturer: Google Model: Pixel 7"
    fields = {}
    key = None
    for tok in body.split():
        if tok.endswith(":"):
            key = tok[:-1]
            fields[key] = ""
        elif key:
            fields[key] = (fields[key] + " " + tok).strip()
    header.receiver_type = " ".join(v for v in (fields.get("Manufacturer", ""), fields.get("Model", "")) if v and v != "null")
    header.receiver_version = fields.get("Platform", "")
    header.program = f"satnav (GnssLogger {fields.get('Version', '')})".replace(" Not Available", "")


def _open_csv(path, expected: str):
    """CSV reader over a (possibly compressed) text file, and its header names (stripped);
    :class:`FormatError` naming the ``expected`` header when the file is empty."""
    from .textfile import read_bytes

    text = read_bytes(path).decode("utf-8", errors="replace")
    # one list item per line (a stray CR or quote in a damaged row stays in its row)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").split("\n")
    reader = csv.reader(lines, quoting=csv.QUOTE_NONE)
    try:
        names = [c.strip() for c in next(reader)]
    except StopIteration:
        raise FormatError(f"empty file: expected a {expected} header", path) from None
    return reader, names


def _read_gsdc_table(path):
    reader, names = _open_csv(path, "GSDC device_gnss.csv")
    if "MessageType" not in names:
        raise FormatError("no MessageType column: not a GSDC device_gnss.csv", path, 1)
    mt = names.index("MessageType")
    rows, lines = [], []
    for lineno, r in enumerate(reader, start=2):
        if r and r[mt] == "Raw":
            rows.append(r[:mt] + r[mt + 1:])
            lines.append(lineno)
    names = names[:mt] + names[mt + 1:]
    return names, rows, lines


def read_gsdc_csv(path, *, strict: bool = False) -> Observations:
    """Read a Google Smartphone Decimeter Challenge ``device_gnss.csv`` into :class:`Observations`.

    Pseudoranges are the file's ``RawPseudorangeMeters`` (Google's own derivation, already
    filtered by Google): the file writes ``FullBiasNanos`` with 15 significant digits only
    (10 us steps), too coarse to rebuild pseudoranges from the raw fields. Carrier phase,
    Doppler and C/N0 come from the raw fields as in :func:`read_gnsslogger`.

    Epochs: the receiver time ``TimeNanos - FullBiasNanos - BiasNanos`` recovered exactly from
    the pseudoranges (``t_rx = ReceivedSvTimeNanos + rho / c`` in the satellite's time scale,
    the median over the epoch's satellites, to the ns), so they match the epochs of the
    GnssLogger log of the same drive; without any pseudorange in an epoch, the coarse value.
    """
    names, rows, lines = _read_gsdc_table(path)
    if not rows:
        raise FormatError("no 'Raw' rows in the GSDC file", path)
    if "RawPseudorangeMeters" not in names:
        raise FormatError("no RawPseudorangeMeters column: not a GSDC device_gnss.csv", path, 1)
    cols, n = _columns_from_rows(rows, names, lines, path, strict, "Raw")
    if n == 0:
        raise FormatError("every 'Raw' row is damaged", path)
    system = np.array([CONSTELLATION_TYPES.get(int(c), "") for c in cols["ConstellationType"]], dtype="U1")
    pr = cols["RawPseudorangeMeters"]
    _, coarse = android_pseudoranges(cols, system)
    epoch_ns = _refine_epochs(cols, system, pr, coarse)
    header = ObsHeader(program="satnav (GSDC device_gnss.csv)", marker_name="Android")
    return _build(cols, n, path, header, max_tow_uncertainty_ns=None, pseudorange_override=(pr, epoch_ns))


def _refine_epochs(cols, system, pr, coarse):
    """Receiver time tags from ``ReceivedSvTimeNanos + rho/c`` (see :func:`read_gsdc_csv`)."""
    ok = np.isfinite(pr) & (system != "")
    epoch_ns = coarse.copy()
    if not ok.any():
        return epoch_ns
    leap = cols.get("LeapSecond", np.full(len(pr), np.nan))
    leap_s = np.where(np.isfinite(leap), leap, leap_seconds_at_gpst(coarse)).astype(np.int64)
    shift = np.zeros(len(pr), dtype=np.int64)  # GPST - system time
    shift[system == "C"] = 14 * NS_PER_S
    glo = system == "R"
    shift[glo] = leap_s[glo] * NS_PER_S - 3 * 3600 * NS_PER_S
    period = np.where(glo, NS_PER_DAY, NS_PER_WEEK)
    offset = np.nan_to_num(cols["TimeOffsetNanos"])
    # t_rx in system time modulo the period, in ns (float only for the sub-period part)
    rx_period = cols["ReceivedSvTimeNanos"] + np.rint(np.where(ok, pr, 0.0) / SPEED_OF_LIGHT * 1e9).astype(np.int64)
    approx_sys = coarse - shift
    base = approx_sys - np.mod(approx_sys, period)
    cand = base + np.mod(rx_period, period)
    cand = np.where(cand - approx_sys > period // 2, cand - period, cand)
    cand = np.where(approx_sys - cand > period // 2, cand + period, cand)
    # the pseudorange was formed with TimeOffsetNanos - BiasNanos; the tag is without offset
    tag = cand + shift - np.rint(offset).astype(np.int64)
    # one tag per epoch (rows of one epoch share TimeNanos): the median of its satellites
    keys = cols["TimeNanos"]
    uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    inv = inv.ravel()
    rows = np.flatnonzero(ok)
    order = rows[np.lexsort((tag[rows], inv[rows]))]  # by epoch, then tag
    counts = np.bincount(inv[rows], minlength=len(uniq))
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    est = np.zeros(len(uniq), dtype=np.int64)
    est[has] = tag[order[start[has] + counts[has] // 2]]  # integer median (float64 rounds to 256 ns)
    use = has & (np.abs(est - coarse[first]) < 1_000_000)  # within 1 ms of the coarse tag
    return np.where(use[inv], est[inv], epoch_ns)


# ====================================================================== Google's satellite states
def _float_cells(rows, col: int | None, name: str, path, lines, strict: bool) -> np.ndarray:
    """Float column ``col`` of split records; empty cells NaN, damaged cells NaN + warning."""
    if col is None:
        return np.full(len(rows), np.nan)
    cells = [(r[col].strip() if col < len(r) else "") or "nan" for r in rows]
    try:
        return np.array(cells, dtype=np.float64)
    except ValueError:
        pass
    out = np.full(len(rows), np.nan)
    for i, v in enumerate(cells):
        try:
            out[i] = float(v)
        except ValueError:
            warn_damaged(f"{name} {v!r} is not a number", path, int(lines[i]), strict, FormatError)
    return out


def read_gsdc_satellite_states(path, *, strict: bool = False) -> dict:
    """Google's derived satellite states from a GSDC ``device_gnss.csv``.

    Google's data description (GSDC 2023, "device_gnss.csv"): ``SvPosition*EcefMeters`` and
    ``SvVelocity*EcefMetersPerSecond`` are the broadcast-ephemeris satellite position and
    velocity at the best estimate of the *true* signal transmission time (the satellite's
    transmit time minus its clock bias), in the ECEF frame of that time (no Earth rotation
    during the flight applied); ``SvClockBiasMeters`` is the satellite clock correction with
    the relativistic term and the group delay of the measurement's signal, in metres
    (corrected pseudorange = raw + ``SvClockBiasMeters`` - ``IsrbMeters`` - iono - tropo);
    ``IsrbMeters`` the inter-signal range bias to GPS L1 C/A estimated by Google's receiver
    solution; ``IonosphericDelayMeters`` the broadcast (Klobuchar) delay at the signal's
    frequency and ``TroposphericDelayMeters`` a model's delay.

    Parameters
    ----------
    path : str or Path
    strict : bool
        Raise :class:`~satnav.errors.FormatError` on a damaged record instead of skipping it.

    Returns
    -------
    dict of arrays over the rows that have a satellite position
        ``time_ns`` (receiver epoch, GPST ns, as in :func:`read_gsdc_csv`), ``sat``
        (satellite index), ``band`` (RINEX band digit from ``CarrierFrequencyHz``, as the
        codes of :func:`read_gsdc_csv`), ``signal`` (GSDC ``SignalType``),
        ``pseudorange_m`` (``RawPseudorangeMeters``, NaN when absent),
        ``transmit_time_ns`` (``ReceivedSvTimeNanosSinceGpsEpoch``, float: 10 us steps in
        the file), ``position_m`` / ``velocity_m_s`` (ECEF), ``clock_bias_m`` /
        ``clock_drift_m_s``, ``isrb_m``, ``iono_m``, ``tropo_m``, ``elevation_deg``,
        ``azimuth_deg``, ``wls_position_m`` (Google's receiver position) and ``line``
        (1-based line in the file).
    """
    names, rows, lines = _read_gsdc_table(path)
    idx = {n: i for i, n in enumerate(names)}
    need = ("SvPositionXEcefMeters", "SvClockBiasMeters", "Svid", "ConstellationType", "RawPseudorangeMeters")
    missing = [c for c in need if c not in idx]
    if missing:
        raise FormatError(f"no {', '.join(missing)} column: not a GSDC device_gnss.csv", path, 1)
    cols, n = _columns_from_rows(rows, names, lines, path, strict, "Raw")
    if n == 0:
        raise FormatError("no usable 'Raw' rows in the GSDC file", path)
    # rows that survived the parse of the raw fields, in file order
    rows = [rows[i] for i in np.searchsorted(np.asarray(lines, dtype=np.int64), cols["line"])]
    line = cols["line"]

    def f(name):
        return _float_cells(rows, idx.get(name), name, path, line, strict)

    system = np.array([CONSTELLATION_TYPES.get(int(c), "") for c in cols["ConstellationType"]], dtype="U1")
    prn = cols["Svid"] - np.where(system == "J", 192, 0) - np.where(system == "S", 100, 0)
    sysnum = np.array([SYSTEMS.index(s) if s else -1 for s in system], dtype=np.int64)
    sat = satellite_index_of(sysnum, prn)
    band, _, _, _ = _signals(system, cols["CarrierFrequencyHz"], cols["CodeType"])
    pos = np.stack([f("SvPositionXEcefMeters"), f("SvPositionYEcefMeters"), f("SvPositionZEcefMeters")], axis=1)
    keep = np.all(np.isfinite(pos), axis=1) & (system != "") & (prn >= 1) & (prn <= 99)
    keep &= ~((system == "R") & ((cols["Svid"] < 1) | (cols["Svid"] > 24)))
    if not keep.any():
        raise SatnavError(f"{path}: no rows with satellite states (SvPositionXEcefMeters empty)")
    pr = cols["RawPseudorangeMeters"]
    _, coarse = android_pseudoranges(cols, system)
    epoch_ns = _refine_epochs(cols, system, pr, coarse)
    signal = [(r[idx["SignalType"]] if "SignalType" in idx and idx["SignalType"] < len(r) else "") for r in rows]
    vel = np.stack([f("SvVelocityXEcefMetersPerSecond"), f("SvVelocityYEcefMetersPerSecond"),
                    f("SvVelocityZEcefMetersPerSecond")], axis=1)
    wls = np.stack([f("WlsPositionXEcefMeters"), f("WlsPositionYEcefMeters"), f("WlsPositionZEcefMeters")], axis=1)
    return {
        "time_ns": epoch_ns[keep],
        "sat": sat[keep].astype(np.int16),
        "band": band[keep],
        "signal": np.array(signal, dtype=object)[keep],
        "pseudorange_m": pr[keep],
        "transmit_time_ns": f("ReceivedSvTimeNanosSinceGpsEpoch")[keep],
        "position_m": pos[keep],
        "velocity_m_s": vel[keep],
        "clock_bias_m": f("SvClockBiasMeters")[keep],
        "clock_drift_m_s": f("SvClockDriftMetersPerSecond")[keep],
        "isrb_m": f("IsrbMeters")[keep],
        "iono_m": f("IonosphericDelayMeters")[keep],
        "tropo_m": f("TroposphericDelayMeters")[keep],
        "elevation_deg": f("SvElevationDegrees")[keep],
        "azimuth_deg": f("SvAzimuthDegrees")[keep],
        "wls_position_m": wls[keep],
        "line": line[keep],
    }


_KEY_SPAN_NS = 1 << 50  # composite (satellite-band, time) keys: 13 days of ns per key


class GsdcStates:
    """Google's satellite states of a GSDC file as a ``states(sat, time_ns, signal)`` source.

    Satisfies the contract of :func:`satnav.estimators.spp.solve_spp`'s ``states`` argument
    and of :class:`~satnav.orbits.states.SatelliteStates` (see ``notes/ORBIT_API``):
    ``time_ns`` is the transmission time on the satellite's clock (``t_rx - P / c``, the
    solver's query), and the position returned is the one at that time, i.e. Google's
    position (given at the true transmission time ``t_sv - dt_sv``) moved along the orbit by
    ``dt_sv``; the solver then moves it back by ``-v dt_sv``, recovering Google's position.

    Each state row of Google is indexed by (satellite, band) and its own time
    ``t_state = t_rx - round(P / c) - round(SvClockBiasMeters / c)`` (ns). A query between
    two rows of the same satellite and band at most ``max_gap_s`` apart is interpolated with
    cubic Hermite polynomials in position and velocity (error far below a millimetre over
    30 s for GNSS orbits) and linearly in clock; a query within ``max_extrapolation_s`` of
    the nearest row otherwise is propagated with a second-order Taylor step using point-mass
    gravity plus the Coriolis and centrifugal terms of the rotating frame (about 0.1 mm in
    1 s). Elsewhere the state is invalid (reason 5); a satellite/band Google has no state for
    is invalid with reason 1.

    ``clock_s`` is ``SvClockBiasMeters / c``, which already contains the relativistic
    correction and the group delay of the signal of that band (Google applies them per
    signal), so ``group_delay_s`` is 0 and ``relativity_s`` NaN (unknown, included).
    A query with ``signal=None`` uses the band-1 states (L1/E1/G1/B1C).
    """

    def __init__(self, table: dict, *, max_gap_s: float = 30.0, max_extrapolation_s: float = 1.0, source=""):
        self.source = str(source)
        self.max_gap_ns = int(max_gap_s * NS_PER_S)
        self.max_extrapolation_ns = int(max_extrapolation_s * NS_PER_S)
        pr = np.asarray(table["pseudorange_m"], dtype=np.float64)
        t_rx = np.asarray(table["time_ns"], dtype=np.int64)
        bias = np.asarray(table["clock_bias_m"], dtype=np.float64)
        tx_col = np.asarray(table["transmit_time_ns"], dtype=np.float64)
        have_pr = np.isfinite(pr)
        t_sv = np.where(have_pr, t_rx - np.rint(np.where(have_pr, pr, 0.0) / SPEED_OF_LIGHT * 1e9).astype(np.int64),
                        np.rint(np.nan_to_num(tx_col)).astype(np.int64))
        band = np.asarray(table["band"], dtype="U1")
        ok = (have_pr | np.isfinite(tx_col)) & np.isfinite(bias) & (band != "")
        ok &= np.all(np.isfinite(table["velocity_m_s"]), axis=1)
        t_state = t_sv - np.rint(np.where(np.isfinite(bias), bias, 0.0) / SPEED_OF_LIGHT * 1e9).astype(np.int64)
        key = np.asarray(table["sat"], dtype=np.int64) * 10 + np.array([int(b) if b else 0 for b in band])
        key, t_state = key[ok], t_state[ok]
        self.keys = np.unique(key)
        kidx = np.searchsorted(self.keys, key)
        self.t0 = int(t_state.min()) if len(t_state) else 0
        offset = t_state - self.t0
        if len(offset) and offset.max() >= _KEY_SPAN_NS // 2:
            raise SatnavError(f"{source}: satellite states span more than 6 days; split the file")
        comp = kidx * _KEY_SPAN_NS + offset
        order = np.argsort(comp, kind="stable")
        comp = comp[order]
        first = np.ones(len(comp), dtype=bool)
        first[1:] = comp[1:] != comp[:-1]  # one state per (satellite, band, time)
        order, comp = order[first], comp[first]
        self.comp = comp
        self.kidx = kidx[order]
        self.t = t_state[order]
        self.position = np.asarray(table["position_m"], dtype=np.float64)[ok][order]
        self.velocity = np.asarray(table["velocity_m_s"], dtype=np.float64)[ok][order]
        self.bias_m = bias[ok][order]
        drift = np.asarray(table["clock_drift_m_s"], dtype=np.float64)[ok][order]
        self.drift_m_s = np.where(np.isfinite(drift), drift, 0.0)
        self.iono_m = np.asarray(table["iono_m"], dtype=np.float64)[ok][order]

    def __len__(self) -> int:
        return len(self.t)

    def __repr__(self) -> str:
        return f"<GsdcStates {self.source} {len(self)} states of {len(np.unique(self.keys // 10))} satellites>"

    def _locate(self, sat, time_ns, signal):
        """Flattened queries and the states around them: (shape, t, known, jl, jr, has_l,
        has_r) with jl/jr the last state at or before / first after each time."""
        sat_b, t_b = np.broadcast_arrays(np.asarray(sat, dtype=np.int64), np.asarray(time_ns, dtype=np.int64))
        shape = sat_b.shape
        s, t = sat_b.ravel(), t_b.ravel()
        n = len(s)
        if not len(self.comp):
            zero, false = np.zeros(n, np.intp), np.zeros(n, bool)
            return shape, t, false, zero, zero, false, false
        qkey = s * 10 + _band_of_signal(signal)
        ki = np.minimum(np.searchsorted(self.keys, qkey), len(self.keys) - 1)
        known = self.keys[ki] == qkey
        off = np.clip(t - self.t0, -(_KEY_SPAN_NS // 2) + 1, _KEY_SPAN_NS - 1)
        j = np.searchsorted(self.comp, ki * _KEY_SPAN_NS + off, side="right") - 1
        last = len(self.comp) - 1
        jl, jr = np.clip(j, 0, last), np.clip(j + 1, 0, last)
        has_l = known & (j >= 0) & (self.kidx[jl] == ki)
        has_r = known & (j + 1 <= last) & (self.kidx[jr] == ki)
        return shape, t, known, jl, jr, has_l, has_r

    def ionosphere_m(self, sat, time_ns, signal=None) -> np.ndarray:
        """Google's ``IonosphericDelayMeters`` (m, at the frequency of ``signal``'s band) at
        the state nearest in time within ``max_gap_s``, NaN elsewhere (same arguments as
        :meth:`__call__`). Google computes them with the broadcast ionospheric model of the
        navigation message the phone decoded, which the file does not contain."""
        shape, t, known, jl, jr, has_l, has_r = self._locate(sat, time_ns, signal)
        far = np.iinfo(np.int64).max
        dl = np.where(has_l, t - self.t[jl], far)
        dr = np.where(has_r, self.t[jr] - t, far)
        near = np.where(dl <= dr, jl, jr)
        ok = (has_l | has_r) & (np.minimum(dl, dr) <= self.max_gap_ns)
        return np.where(ok, self.iono_m[near] if len(self.comp) else np.nan, np.nan).reshape(shape)

    def __call__(self, sat, time_ns, signal=None):
        """States of satellites ``sat`` at transmission times ``time_ns`` (GPST ns, satellite
        clock), broadcast together, for the RINEX code or band ``signal`` ("C1C", "5")."""
        from ..satellite_states import NO_EPHEMERIS, OUTSIDE_PRECISE_SPAN, SatelliteStates

        shape, t, known, jl, jr, has_l, has_r = self._locate(sat, time_ns, signal)
        n = len(t)

        pos = np.full((n, 3), np.nan)
        vel = np.full((n, 3), np.nan)
        bias = np.full(n, np.nan)
        drift = np.full(n, np.nan)
        # -- between two states: cubic Hermite
        if len(self.comp):
            gap = self.t[jr] - self.t[jl]
            herm = has_l & has_r & (gap <= self.max_gap_ns) & (gap > 0)
            if herm.any():
                a, b = jl[herm], jr[herm]
                h = (self.t[b] - self.t[a]).astype(np.float64) / NS_PER_S
                u = (t[herm] - self.t[a]).astype(np.float64) / NS_PER_S / h
                p0, p1 = self.position[a], self.position[b]
                v0, v1 = self.velocity[a] * h[:, None], self.velocity[b] * h[:, None]
                u1 = u[:, None]
                pos[herm] = ((2 * u1**3 - 3 * u1**2 + 1) * p0 + (u1**3 - 2 * u1**2 + u1) * v0
                             + (-2 * u1**3 + 3 * u1**2) * p1 + (u1**3 - u1**2) * v1)
                vel[herm] = ((6 * u1**2 - 6 * u1) * p0 + (3 * u1**2 - 4 * u1 + 1) * v0
                             + (-6 * u1**2 + 6 * u1) * p1 + (3 * u1**2 - 2 * u1) * v1) / h[:, None]
                bias[herm] = self.bias_m[a] + u * (self.bias_m[b] - self.bias_m[a])
                drift[herm] = (self.bias_m[b] - self.bias_m[a]) / h
            # -- near one state: Taylor step
            dl = np.where(has_l, t - self.t[jl], np.iinfo(np.int64).max)
            dr = np.where(has_r, self.t[jr] - t, np.iinfo(np.int64).max)
            near = np.where(dl <= dr, jl, jr)
            dist = np.minimum(dl, dr)
            taylor = ~herm & (has_l | has_r) & (dist <= self.max_extrapolation_ns)
            if taylor.any():
                k = near[taylor]
                dt = (t[taylor] - self.t[k]).astype(np.float64) / NS_PER_S
                p, v = self.position[k], self.velocity[k]
                acc = _ecef_acceleration(p, v)
                pos[taylor] = p + v * dt[:, None] + 0.5 * acc * dt[:, None] ** 2
                vel[taylor] = v + acc * dt[:, None]
                bias[taylor] = self.bias_m[k] + self.drift_m_s[k] * dt
                drift[taylor] = self.drift_m_s[k]
        valid = np.all(np.isfinite(pos), axis=1) & np.isfinite(bias)
        reason = np.where(valid, 0, np.where(known, OUTSIDE_PRECISE_SPAN, NO_EPHEMERIS)).astype(np.int8)
        return SatelliteStates(
            position_m=pos.reshape(shape + (3,)),
            velocity_m_s=vel.reshape(shape + (3,)),
            clock_s=(bias / SPEED_OF_LIGHT).reshape(shape),
            clock_drift_s_s=(drift / SPEED_OF_LIGHT).reshape(shape),
            relativity_s=np.full(shape, np.nan),
            group_delay_s=np.where(valid, 0.0, np.nan).reshape(shape),
            iode=np.full(shape, np.nan),
            message_toe_ns=np.full(shape, -1, dtype=np.int64),
            valid=valid.reshape(shape),
            reason=reason.reshape(shape),
        )


def _band_of_signal(signal) -> int:
    """RINEX band digit (int) of a code ("C1C", "1C") or band ("5"); None -> 1."""
    if signal is None:
        return 1
    text = str(signal).strip()
    digits = [c for c in text if c.isdigit()]
    if not digits:
        raise SatnavError(f"signal {signal!r}: expected a RINEX code such as C1C or a band digit")
    return int(digits[0])


def _ecef_acceleration(p, v):
    """Acceleration (m/s^2) in the rotating ECEF frame: point-mass gravity, Coriolis
    ``-2 w x v`` and centrifugal ``-w x (w x r)`` with w = (0, 0, omega_e)."""
    from ..constants import GM_GPS, OMEGA_E_GPS

    r3 = np.linalg.norm(p, axis=1, keepdims=True) ** 3
    w = OMEGA_E_GPS
    acc = -GM_GPS * p / r3
    acc[:, 0] += 2 * w * v[:, 1] + w * w * p[:, 0]
    acc[:, 1] += -2 * w * v[:, 0] + w * w * p[:, 1]
    return acc


def gsdc_states(obs_or_path, **options) -> GsdcStates:
    """Satellite-state source for :func:`~satnav.estimators.spp.solve_spp` from the Google
    states of a GSDC ``device_gnss.csv`` or GSDC 2021 ``*_derived.csv`` (no navigation file
    needed).

    Parameters
    ----------
    obs_or_path : Observations or str or Path
        The file, or Observations read from it by :func:`read_gsdc_csv` (its ``source``).
    **options
        ``max_gap_s``, ``max_extrapolation_s`` of :class:`GsdcStates`.

    Returns
    -------
    GsdcStates
        ``states(sat, time_ns, signal) -> SatelliteStates``.
    """
    path = getattr(obs_or_path, "source", obs_or_path)
    if not str(path):
        raise SatnavError("gsdc_states needs the device_gnss.csv path (the observations have no source)")
    from .textfile import read_head

    derived = is_gsdc_derived_header(read_head(path, 4096).decode("utf-8", "replace").split("\n", 1)[0])
    with warnings.catch_warnings():  # the damaged records were reported when reading the observations
        warnings.simplefilter("ignore", SatnavWarning)
        table = read_gsdc_derived_table(path) if derived else read_gsdc_satellite_states(path)
    return GsdcStates(table, source=path, **options)


# ====================================================================== ground truth
_UNIX_TO_GPS_EPOCH_MS = 315_964_800_000  # 1980-01-06 - 1970-01-01 in ms


def read_gsdc_ground_truth(path, *, strict: bool = False) -> dict:
    """Read a GSDC ``ground_truth.csv`` (reference trajectory).

    GSDC 2022/2023 columns ``UnixTimeMillis`` (UTC), ``LatitudeDegrees``,
    ``LongitudeDegrees``, ``AltitudeMeters`` (height above the WGS84 ellipsoid); GSDC 2021
    columns ``millisSinceGpsEpoch`` (GPST), ``latDeg``, ``lngDeg``,
    ``heightAboveWgs84EllipsoidM`` are read too. UTC is turned into GPST with the leap
    seconds of the table in :mod:`satnav.gnss_time` (18 s since 2017).

    Returns
    -------
    dict of arrays sorted by time
        ``time_ns`` (GPST ns, int64), ``latitude_deg``, ``longitude_deg``, ``height_m``,
        ``position_m`` (ECEF, WGS84, shape (n, 3)), ``speed_m_s`` (NaN when absent),
        ``line`` (1-based line in the file).
    """
    from ..frames import geodetic_to_ecef
    from ..gnss_time import to_gpst

    reader, names = _open_csv(path, "GSDC ground_truth.csv")
    idx = {n: i for i, n in enumerate(names)}
    if "UnixTimeMillis" in idx:
        time_col, scale = "UnixTimeMillis", "UTC"
        lat_col, lon_col, h_col = "LatitudeDegrees", "LongitudeDegrees", "AltitudeMeters"
    elif "millisSinceGpsEpoch" in idx:
        time_col, scale = "millisSinceGpsEpoch", "GPS"
        lat_col, lon_col, h_col = "latDeg", "lngDeg", "heightAboveWgs84EllipsoidM"
    else:
        raise FormatError("no UnixTimeMillis (or millisSinceGpsEpoch) column: not a GSDC ground_truth.csv", path, 1)
    missing = [c for c in (lat_col, lon_col, h_col) if c not in idx]
    if missing:
        raise FormatError(f"no {', '.join(missing)} column in the ground truth, expected {lat_col}, "
                          f"{lon_col}, {h_col}", path, 1)
    speed_i = idx.get("SpeedMps", idx.get("speedMps"))
    ms, lat, lon, hgt, spd, lines = [], [], [], [], [], []
    for lineno, r in enumerate(reader, start=2):
        if not r or not any(c.strip() for c in r):
            continue
        try:
            t = int(Decimal(r[idx[time_col]].strip()))
            la, lo, h = (float(r[idx[c]]) for c in (lat_col, lon_col, h_col))
        except (IndexError, ValueError, InvalidOperation):
            warn_damaged(f"ground-truth record without a valid {time_col}, {lat_col}, {lon_col}, {h_col}",
                         path, lineno, strict, FormatError)
            continue
        if not (abs(la) <= 90 and abs(lo) <= 360 and np.isfinite(h)):
            warn_damaged(f"ground-truth position {la}, {lo}, {h} out of range", path, lineno, strict, FormatError)
            continue
        ms.append(t)
        lat.append(la)
        lon.append(lo)
        hgt.append(h)
        try:
            spd.append(float(r[speed_i]) if speed_i is not None and r[speed_i].strip() else np.nan)
        except (IndexError, ValueError):
            spd.append(np.nan)
        lines.append(lineno)
    if not ms:
        raise FormatError("no ground-truth records", path)
    label_ns = (np.array(ms, dtype=np.int64) - (_UNIX_TO_GPS_EPOCH_MS if scale == "UTC" else 0)) * 1_000_000
    time_ns = np.asarray(to_gpst(label_ns, scale), dtype=np.int64)
    order = np.argsort(time_ns, kind="stable")
    lat_a, lon_a, h_a = (np.array(x, dtype=np.float64)[order] for x in (lat, lon, hgt))
    return {
        "time_ns": time_ns[order],
        "latitude_deg": lat_a,
        "longitude_deg": lon_a,
        "height_m": h_a,
        "position_m": geodetic_to_ecef(np.radians(lat_a), np.radians(lon_a), h_a),
        "speed_m_s": np.array(spd, dtype=np.float64)[order],
        "line": np.array(lines, dtype=np.int64)[order],
    }


# ====================================================================== GSDC 2021 *_derived.csv
#: GSDC 2021 ``signalType`` -> RINEX band digit.
_DERIVED_BANDS = {
    "GPS_L1": "1", "GPS_L5": "5", "GLO_G1": "1", "QZS_J1": "1", "QZS_J5": "5", "BDS_B1I": "2",
    "GAL_E1": "1", "GAL_E5A": "5", "GAL_E5B": "7", "BDS_B2A": "5", "BDS_B1C": "1", "IRN_L5": "5",
}
#: ``ObsHeader.program`` of observations read from a GSDC 2021 ``*_derived.csv``.
GSDC_DERIVED_PROGRAM = "satnav (GSDC derived.csv)"
_DERIVED_NEED = ("millisSinceGpsEpoch", "constellationType", "svid", "signalType", "receivedSvTimeInGpsNanos",
                 "xSatPosM", "ySatPosM", "zSatPosM", "satClkBiasM", "rawPrM")


def is_gsdc_derived_header(line: str) -> bool:
    """True when ``line`` is the header of a GSDC 2021 ``*_derived.csv``."""
    names = {c.strip() for c in line.split(",")}
    return all(c in names for c in _DERIVED_NEED)


def read_gsdc_derived_table(path, *, strict: bool = False) -> dict:
    """Rows of a GSDC 2021 ``*_derived.csv`` (Google's satellite states per measurement).

    Google's description (GSDC 2021, "derived files"): ``millisSinceGpsEpoch`` is
    ``round((TimeNanos - FullBiasNanos) / 1e6)`` of the epoch (ms, GPST);
    ``receivedSvTimeInGpsNanos`` the signal transmission time received by the chipset (ns
    since the GPS epoch, one time scale for all systems); ``[xyz]SatPosM`` /
    ``[xyz]SatVelMps`` the broadcast-ephemeris satellite position and velocity (ECEF, m and
    m/s) at the true transmission time ``receivedSvTimeInGpsNanos - satClkBiasM / c``;
    ``satClkBiasM`` / ``satClkDriftMps`` the satellite clock correction with the hardware
    (group) delay, in m and m/s; ``rawPrM`` the raw pseudorange (m), ``rawPrUncM`` its
    uncertainty; ``isrbM``, ``ionoDelayM``, ``tropoDelayM`` the inter-signal range bias and
    the broadcast ionospheric and model tropospheric delays (m). Corrected pseudorange =
    ``rawPrM + satClkBiasM - isrbM - ionoDelayM - tropoDelayM``.

    Returns
    -------
    dict of arrays, one row per usable measurement (keys as
    :func:`read_gsdc_satellite_states`): ``time_ns`` (receiver epoch, GPST ns: the median over
    the epoch's rows of ``receivedSvTimeInGpsNanos + rawPrM / c``, within 1 ms of
    ``millisSinceGpsEpoch``), ``sat``, ``band``, ``signal``, ``pseudorange_m``,
    ``pseudorange_sigma_m``, ``transmit_time_ns``, ``position_m``, ``velocity_m_s``,
    ``clock_bias_m``, ``clock_drift_m_s``, ``isrb_m``, ``iono_m``, ``tropo_m``, ``line``.
    A row with a damaged or missing field is skipped with a warning naming its line.
    """
    reader, names = _open_csv(path, "GSDC *_derived.csv")
    idx = {n: i for i, n in enumerate(names)}
    missing = [c for c in _DERIVED_NEED if c not in idx]
    if missing:
        raise FormatError(f"no {', '.join(missing)} column: not a GSDC 2021 *_derived.csv", path, 1)
    floats = ("xSatPosM", "ySatPosM", "zSatPosM", "xSatVelMps", "ySatVelMps", "zSatVelMps", "satClkBiasM",
              "satClkDriftMps", "rawPrM", "rawPrUncM", "isrbM", "ionoDelayM", "tropoDelayM")
    out: dict[str, list] = {k: [] for k in ("ms", "tx", "const", "svid", "signal", "line", *floats)}
    for lineno, r in enumerate(reader, start=2):
        if not r or not any(c.strip() for c in r):
            continue
        try:
            ms = int(r[idx["millisSinceGpsEpoch"]])
            tx = int(r[idx["receivedSvTimeInGpsNanos"]])
            const = int(r[idx["constellationType"]])
            svid = int(r[idx["svid"]])
            vals = [float(r[idx[c]]) if c in idx and r[idx[c]].strip() else np.nan for c in floats]
        except (IndexError, ValueError):
            warn_damaged("damaged derived record: a field is missing or not a number", path, lineno, strict,
                         FormatError)
            continue
        signal = r[idx["signalType"]].strip().upper()
        finite_needed = vals[:3] + [vals[6], vals[8]]
        if (not (0 < ms < 1 << 45 and 0 < tx < 1 << 62 and 0 <= svid < 1000)
                or not all(np.isfinite(v) and abs(v) < 1e9 for v in finite_needed)
                or signal not in _DERIVED_BANDS or CONSTELLATION_TYPES.get(const, "") == ""):
            warn_damaged(f"derived record out of range or of an unknown signal {signal!r}", path, lineno, strict,
                         FormatError)
            continue
        for k, v in zip(("ms", "tx", "const", "svid", "signal", "line"), (ms, tx, const, svid, signal, lineno)):
            out[k].append(v)
        for k, v in zip(floats, vals):
            out[k].append(v)
    if not out["ms"]:
        raise FormatError("no usable records in the GSDC derived file", path)
    system = np.array([CONSTELLATION_TYPES[c] for c in out["const"]], dtype="U1")
    svid = np.array(out["svid"], dtype=np.int64)
    # QZSS as PRN 193-202 or as 1-10 (the 2021 files), SBAS as 120-158 or 20-58
    prn = svid - np.where((system == "J") & (svid > 192), 192, 0) - np.where((system == "S") & (svid > 99), 100, 0)
    good = (prn >= 1) & (prn <= 99)
    sysnum = np.array([SYSTEMS.index(s) for s in system], dtype=np.int64)
    sat = satellite_index_of(sysnum, np.where(good, prn, 1)).astype(np.int16)
    f = {k: np.array(out[k], dtype=np.float64) for k in floats}
    tx = np.array(out["tx"], dtype=np.int64)
    ms = np.array(out["ms"], dtype=np.int64)
    pr = f["rawPrM"]
    t_rx = tx + np.rint(pr / SPEED_OF_LIGHT * 1e9).astype(np.int64)
    coarse = ms * 1_000_000
    # one epoch tag per millisSinceGpsEpoch: the median arrival time of its rows
    uniq, inv = np.unique(ms, return_inverse=True)
    inv = inv.ravel()
    tag = uniq * 1_000_000
    for k in range(len(uniq)):
        sel = (inv == k) & good & (np.abs(t_rx - coarse) < 1_000_000)
        if sel.any():
            tag[k] = int(np.median(t_rx[sel]))
    line = np.array(out["line"], dtype=np.int64)
    for j in np.flatnonzero(~good):
        warn_damaged(f"svid {int(svid[j])} is not a satellite of system {system[j]}", path, int(line[j]), strict,
                     FormatError)
    keep = good
    band = np.array([_DERIVED_BANDS[s] for s in out["signal"]], dtype="U1")
    return {
        "time_ns": tag[inv][keep],
        "sat": sat[keep],
        "band": band[keep],
        "signal": np.array(out["signal"], dtype=object)[keep],
        "pseudorange_m": pr[keep],
        "pseudorange_sigma_m": f["rawPrUncM"][keep],
        "transmit_time_ns": tx[keep].astype(np.float64),
        "position_m": np.stack([f["xSatPosM"], f["ySatPosM"], f["zSatPosM"]], axis=1)[keep],
        "velocity_m_s": np.stack([f["xSatVelMps"], f["ySatVelMps"], f["zSatVelMps"]], axis=1)[keep],
        "clock_bias_m": f["satClkBiasM"][keep],
        "clock_drift_m_s": f["satClkDriftMps"][keep],
        "isrb_m": f["isrbM"][keep],
        "iono_m": f["ionoDelayM"][keep],
        "tropo_m": f["tropoDelayM"][keep],
        "line": line[keep],
    }


def read_gsdc_derived(path, *, strict: bool = False) -> Observations:
    """Pseudoranges of a GSDC 2021 ``*_derived.csv`` as :class:`Observations`.

    Codes ``C<band><attribute>`` (m, ``rawPrM``, the attribute phones track, e.g. C1C,
    C5Q, C2I) with ``rawPrUncM`` as sigma; epochs as in :func:`read_gsdc_derived_table`.
    The file has no carrier phase, Doppler or C/N0. Its satellite states (no navigation file
    needed) come from :func:`gsdc_states` on the same file; ``header.program`` is
    :data:`GSDC_DERIVED_PROGRAM`.
    """
    table = read_gsdc_derived_table(path, strict=strict)
    system = np.array([s[0] for s in satellite_ids(table["sat"])], dtype="U1")
    attr = np.array([_DEFAULT_ATTRIBUTE.get((s, b), "C") for s, b in zip(system, table["band"])], dtype="U1")
    code_text = np.char.add(np.char.add("C", table["band"]), attr)
    codes = sorted(set(code_text.tolist()), key=lambda c: (c[1], c[2]))
    code_of = {c: i for i, c in enumerate(codes)}
    ci = np.array([code_of[c] for c in code_text], dtype=np.int64)
    t, s = table["time_ns"], table["sat"].astype(np.int64)
    order = np.lexsort((ci, s, t))
    t, s, ci = t[order], s[order], ci[order]
    v, sg = table["pseudorange_m"][order], table["pseudorange_sigma_m"][order]
    dup = np.zeros(len(t), dtype=bool)
    dup[1:] = (t[1:] == t[:-1]) & (s[1:] == s[:-1]) & (ci[1:] == ci[:-1])
    t, s, ci, v, sg = t[~dup], s[~dup], ci[~dup], v[~dup], sg[~dup]
    epochs = np.unique(t)
    header = ObsHeader(program=GSDC_DERIVED_PROGRAM, marker_name="Android")
    obs_codes: dict[str, list[str]] = {}
    sys_of = system_number_of(s)
    for letter in SYSTEMS:
        present = sorted({codes[int(c)] for c in ci[sys_of == SYSTEMS.index(letter)]}, key=lambda c: (c[1], c[2]))
        if present:
            obs_codes[letter] = present
    header.obs_codes = obs_codes
    header.system = "M" if len(obs_codes) != 1 else next(iter(obs_codes))
    if len(epochs):
        header.time_of_first_obs_ns = int(epochs[0])
        header.time_of_last_obs_ns = int(epochs[-1])
    zeros = np.zeros(len(t), dtype=np.int64)
    sg = np.where(np.isfinite(sg) & (sg > 0), sg, np.nan)
    return Observations(t, s, ci, v, zeros, zeros, codes, epochs, header=header, source=str(path), sigma=sg)


def read_phone_observations(path, fmt: str | None = None, *, strict: bool = False) -> Observations:
    """Observations of a phone file of format ``fmt`` (:func:`satnav.info.detect_format`):
    ``android-gnsslogger`` (:func:`read_gnsslogger`), ``gsdc-derived``
    (:func:`read_gsdc_derived`), anything else a GSDC ``device_gnss.csv``
    (:func:`read_gsdc_csv`)."""
    if fmt == "android-gnsslogger":
        return read_gnsslogger(path, strict=strict)
    if fmt == "gsdc-derived":
        return read_gsdc_derived(path, strict=strict)
    return read_gsdc_csv(path, strict=strict)
