"""Constellation designs: TOML specs -> per-satellite mean elements at an epoch.

A spec file (TOML) describes one navigation system: its name, the satellite-id letter and
broadcast message format it borrows from an existing system, its signals, code noise, the
offset of its time scale, and any mix of orbit blocks::

    name = "Regional example"
    system = "I"                     # id letter used in RINEX files (G R E C J I)
    message_format = "NavIC LNAV"    # "GPS LNAV", "QZSS LNAV", "NavIC LNAV", "Galileo INAV",
                                     # "BeiDou D1/D2" (Keplerian) or "GLONASS FDMA" (state vector)
    epoch = 2020-06-25T00:00:00      # GPST; elements below hold at this instant
    code_noise_m = 0.5               # 1-sigma code noise at zenith (m), for simulation
    time_offset_s = 0.0              # system time minus GPST (s)
    [signals]                        # RINEX 3 band+attribute -> carrier frequency (Hz)
    5A = 1176.45e6

    [[walker]]                       # Walker delta i:T/P/F
    total = 24
    planes = 3
    phasing = 1
    inclination_deg = 56.0
    semi_major_axis_km = 29600.318   # or altitude_km (above 6378.137 km)
    node_longitude_deg = 0.0         # Earth-fixed longitude of the first plane's node at epoch
    argument_of_latitude_deg = 0.0   # of the first satellite of the first plane at epoch

    [[plane]]                        # explicit slots in one orbital plane
    node_longitude_deg = -6.213
    inclination_deg = 55.0
    semi_major_axis_km = 26559.7
    arguments_of_latitude_deg = [268.126, 161.786, 11.676, 41.806]

    [[geo]]                          # geostationary slots
    longitudes_deg = [60.0, 100.0, 140.0]
    inclination_deg = 0.0            # optional (default 0)

    [[igso]]                         # inclined geosynchronous satellites sharing one
    count = 4                        # figure-eight ground track: planes spread evenly in
    inclination_deg = 45.0           # node, phased so every satellite crosses the equator
    node_longitude_deg = 100.0       # northbound at this geographic longitude

    [[satellite]]                    # explicit Keplerian elements
    semi_major_axis_km = 42164.2
    eccentricity = 0.075
    inclination_deg = 41.0
    node_longitude_deg = 135.0
    argument_of_perigee_deg = 270.0
    mean_anomaly_deg = 0.0

Every block may give ``prns = [...]`` (satellite numbers); otherwise numbers are assigned in
order from ``first_prn`` (default 1), skipping numbers already taken.

Frames and angles. "Node longitude" is the Earth-fixed (ECEF) longitude of the ascending node
at the spec epoch; it is turned into an inertial right ascension with the Greenwich sidereal
angle of :func:`greenwich_angle` (IAU 1982 GMST of the epoch, UT1 ~ UTC; precession and
nutation ignored). satnav's simplified inertial frame is therefore ECEF rotated back about
the z axis by that angle, which is all the propagator and the broadcast fit need.
"""

from __future__ import annotations

import datetime as _dt
import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from ..constants import GM_GLONASS, GM_GPS, OMEGA_E_GPS, WGS84_A
from ..errors import FormatError
from ..gnss_time import NS_PER_S, calendar_to_ns, leap_seconds_at_gpst
from ..orbits.kepler import SYSTEM_CONSTANTS, solve_kepler
from ..satellites import satellite_ids

__all__ = [
    "Constellation",
    "BUILTIN_SPECS",
    "MESSAGE_FORMATS",
    "load_constellation",
    "constellation_from_spec",
    "builtin_constellation",
    "regional_example",
    "combine",
    "greenwich_angle",
    "GEOSYNCHRONOUS_A_M",
]

#: Built-in spec names (files ``satnav/constellation/specs/<name>.toml``).
BUILTIN_SPECS = ("gps", "glonass", "galileo", "beidou3", "regional")

#: Message format names accepted in specs -> (id letters allowed, kind).
MESSAGE_FORMATS = {
    "GPS LNAV": ("G", "kepler"),
    "QZSS LNAV": ("J", "kepler"),
    "NavIC LNAV": ("I", "kepler"),
    "Galileo INAV": ("E", "kepler"),
    "BeiDou D1/D2": ("C", "kepler"),
    "GLONASS FDMA": ("R", "glonass"),
}

#: Central-body GM (m^3/s^2) per message-format system letter: the GM of each Keplerian
#: system's user algorithm (:data:`satnav.orbits.kepler.SYSTEM_CONSTANTS`), PZ-90 for GLONASS.
_GM_BY_SYSTEM = {letter: gm for letter, (gm, _) in SYSTEM_CONSTANTS.items()} | {"R": GM_GLONASS}

#: Semi-major axis of a geosynchronous orbit (m): (GM / omega_e^2)^(1/3) with GPS constants.
GEOSYNCHRONOUS_A_M = float((GM_GPS / OMEGA_E_GPS**2) ** (1.0 / 3.0))
_EARTH_RADIUS_KM = WGS84_A / 1000.0


def greenwich_angle(gpst_ns) -> np.ndarray:
    """Greenwich mean sidereal angle (rad) at GPST ``gpst_ns`` (int64 ns).

    IAU 1982 GMST (Aoki et al. 1982; Montenbruck & Gill, Satellite Orbits, 2000, eq. 5.71)
    with UT1 taken as UTC (|UT1 - UTC| < 0.9 s, i.e. < 7e-5 rad).
    """
    t = np.asarray(gpst_ns, dtype=np.int64)
    utc = t - leap_seconds_at_gpst(t) * NS_PER_S
    # days since J2000.0 (2000-01-01 12:00 UTC) in UT1 ~ UTC
    j2000 = calendar_to_ns(2000, 1, 1, 12)
    d = (utc - j2000).astype(np.float64) / 86400e9
    tc = d / 36525.0
    gmst_s = 67310.54841 + (876600.0 * 3600.0 + 8640184.812866) * tc + 0.093104 * tc**2
    gmst_s = gmst_s - 6.2e-6 * tc**3
    return np.mod(gmst_s / 86400.0 * 2.0 * np.pi, 2.0 * np.pi)


@dataclass
class Constellation:
    """Satellites of one (or several combined) designed systems, as mean elements at an epoch.

    Attributes
    ----------
    name : str
        System name (e.g. ``"GPS"``, ``"Regional example"``).
    system : str
        Satellite-id letter(s) used in files; for a combined constellation, the letters joined.
    message_format : str
        Broadcast message format borrowed from an existing system (see ``MESSAGE_FORMATS``).
    sat : ndarray of int16, shape (n,)
        Satellite indices (``100 * system_number + prn``).
    epoch_ns : int
        GPST ns at which ``elements`` hold.
    elements : ndarray, shape (n, 6)
        Osculating Keplerian elements in satnav's simplified inertial frame (see module doc):
        semi-major axis (m), eccentricity, inclination (rad), right ascension of the ascending
        node (rad), argument of perigee (rad), mean anomaly (rad).
    orbit_type : ndarray of str, shape (n,)
        ``"MEO"``, ``"GEO"``, ``"IGSO"`` or ``"KEPLER"`` (explicit elements).
    gm : ndarray, shape (n,)
        Gravitational parameter used for each satellite (m^3/s^2): the borrowed system's.
    signals : dict
        RINEX 3 band+attribute (e.g. ``"1C"``) -> carrier frequency (Hz) at channel 0.
    fdma_step_hz : dict
        For ``"GLONASS FDMA"``: band+attribute -> channel spacing (Hz).
    fdma_channel : ndarray of float, shape (n,)
        GLONASS frequency channel k per satellite (NaN for CDMA systems).
    code_noise_m : ndarray, shape (n,)
        1-sigma zenith code noise (m).
    time_offset_s : ndarray, shape (n,)
        The satellite's system time minus GPST (s).
    system_name : ndarray of str, shape (n,)
        The designed system each satellite belongs to.
    """

    name: str
    system: str
    message_format: str
    sat: np.ndarray
    epoch_ns: int
    elements: np.ndarray
    orbit_type: np.ndarray
    gm: np.ndarray
    signals: dict = field(default_factory=dict)
    fdma_step_hz: dict = field(default_factory=dict)
    fdma_channel: np.ndarray | None = None
    code_noise_m: np.ndarray | None = None
    time_offset_s: np.ndarray | None = None
    system_name: np.ndarray | None = None
    message_format_per_sat: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.sat)
        self.sat = np.asarray(self.sat, dtype=np.int16)
        self.elements = np.asarray(self.elements, dtype=np.float64).reshape(n, 6)
        self.orbit_type = np.asarray(self.orbit_type, dtype="<U6")
        self.gm = np.broadcast_to(np.asarray(self.gm, dtype=np.float64), (n,)).copy()
        self.epoch_ns = int(self.epoch_ns)

        def per_sat(value, default, dtype):
            if value is None:
                value = default
            return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

        self.fdma_channel = per_sat(self.fdma_channel, np.nan, np.float64)
        self.code_noise_m = per_sat(self.code_noise_m, 0.3, np.float64)
        self.time_offset_s = per_sat(self.time_offset_s, 0.0, np.float64)
        self.system_name = per_sat(self.system_name, self.name, object).astype(str)
        self.message_format_per_sat = per_sat(
            self.message_format_per_sat, self.message_format, object
        ).astype(str)
        if len(np.unique(self.sat)) != n:
            raise FormatError(f"constellation {self.name!r} has duplicate satellite ids")

    def __len__(self) -> int:
        return len(self.sat)

    @property
    def ids(self) -> list[str]:
        """Satellite ids (``"G01"``...) in order."""
        return [str(s) for s in satellite_ids(self.sat)]

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Inertial position (m) and velocity (m/s), shape (n, 3) each, at ``epoch_ns``."""
        return elements_to_state(self.elements, self.gm)

    def select(self, mask) -> Constellation:
        """A constellation of the satellites where ``mask`` (bool or index array) selects."""
        idx = np.arange(len(self))[mask]
        return replace(
            self,
            sat=self.sat[idx],
            elements=self.elements[idx],
            orbit_type=self.orbit_type[idx],
            gm=self.gm[idx],
            fdma_channel=self.fdma_channel[idx],
            code_noise_m=self.code_noise_m[idx],
            time_offset_s=self.time_offset_s[idx],
            system_name=self.system_name[idx],
            message_format_per_sat=self.message_format_per_sat[idx],
        )


def combine(*constellations: Constellation, name: str | None = None) -> Constellation:
    """Merge constellations (same epoch required) into one; satellite ids must not clash."""
    if not constellations:
        raise ValueError("combine() needs at least one constellation")
    epochs = {c.epoch_ns for c in constellations}
    if len(epochs) != 1:
        raise FormatError("constellations to combine must share one epoch")

    def cat(attr):
        return np.concatenate([getattr(c, attr) for c in constellations])

    signals: dict = {}
    steps: dict = {}
    for c in constellations:
        signals.update(c.signals)
        steps.update(c.fdma_step_hz)
    return Constellation(
        name=name or " + ".join(c.name for c in constellations),
        system="".join(dict.fromkeys("".join(c.system for c in constellations))),
        message_format="mixed",
        sat=cat("sat"),
        epoch_ns=constellations[0].epoch_ns,
        elements=np.concatenate([c.elements for c in constellations]),
        orbit_type=cat("orbit_type"),
        gm=cat("gm"),
        signals=signals,
        fdma_step_hz=steps,
        fdma_channel=cat("fdma_channel"),
        code_noise_m=cat("code_noise_m"),
        time_offset_s=cat("time_offset_s"),
        system_name=cat("system_name"),
        message_format_per_sat=cat("message_format_per_sat"),
    )


# ---------------------------------------------------------------------------------------
# Keplerian elements <-> Cartesian state (two-body), vectorized over satellites
# ---------------------------------------------------------------------------------------


def _rotation_pqw_to_inertial(inc, raan, argp):
    """Rotation matrices (..., 3, 3) from perifocal to inertial axes: Rz(-raan) Rx(-i) Rz(-w)."""
    co, so = np.cos(raan), np.sin(raan)
    ci, si = np.cos(inc), np.sin(inc)
    cw, sw = np.cos(argp), np.sin(argp)
    rot = np.empty(np.shape(inc) + (3, 3))
    rot[..., 0, 0] = co * cw - so * sw * ci
    rot[..., 0, 1] = -co * sw - so * cw * ci
    rot[..., 0, 2] = so * si
    rot[..., 1, 0] = so * cw + co * sw * ci
    rot[..., 1, 1] = -so * sw + co * cw * ci
    rot[..., 1, 2] = -co * si
    rot[..., 2, 0] = sw * si
    rot[..., 2, 1] = cw * si
    rot[..., 2, 2] = ci
    return rot


def elements_to_state(elements, gm) -> tuple[np.ndarray, np.ndarray]:
    """Position (m) and velocity (m/s) from Keplerian elements (..., 6) (two-body).

    Elements: a (m), e, i, RAAN, argument of perigee, mean anomaly (rad).
    Montenbruck & Gill, Satellite Orbits (2000), sec. 2.2.
    """
    el = np.asarray(elements, dtype=np.float64)
    a, e, inc, raan, argp, m = np.moveaxis(el, -1, 0)
    gm = np.asarray(gm, dtype=np.float64)
    big_e = solve_kepler(m, e)
    ce, se = np.cos(big_e), np.sin(big_e)
    fac = np.sqrt(1.0 - e * e)
    r = a * (1.0 - e * ce)
    pqw_r = np.stack([a * (ce - e), a * fac * se, np.zeros_like(a)], axis=-1)
    vel_scale = np.sqrt(gm * a) / r
    pqw_v = np.stack([-vel_scale * se, vel_scale * fac * ce, np.zeros_like(a)], axis=-1)
    rot = _rotation_pqw_to_inertial(inc, raan, argp)
    return np.einsum("...ij,...j->...i", rot, pqw_r), np.einsum("...ij,...j->...i", rot, pqw_v)


def state_to_elements(position, velocity, gm) -> np.ndarray:
    """Osculating Keplerian elements (..., 6) from inertial position (m) / velocity (m/s).

    Montenbruck & Gill (2000), sec. 2.2.4. For circular or equatorial orbits the undefined
    angles are set so that their sum stays correct (perigee at the node, node at x axis).
    """
    r = np.asarray(position, dtype=np.float64)
    v = np.asarray(velocity, dtype=np.float64)
    gm = np.asarray(gm, dtype=np.float64)
    h = np.cross(r, v)
    hn = np.linalg.norm(h, axis=-1)
    rn = np.linalg.norm(r, axis=-1)
    inc = np.arctan2(np.hypot(h[..., 0], h[..., 1]), h[..., 2])
    raan = np.arctan2(h[..., 0], -h[..., 1])
    raan = np.where(np.hypot(h[..., 0], h[..., 1]) < 1e-12 * hn, 0.0, raan)
    a = 1.0 / (2.0 / rn - np.sum(v * v, axis=-1) / gm)
    p = hn * hn / gm
    e = np.sqrt(np.maximum(0.0, 1.0 - p / a))
    # argument of latitude u from position in the node frame
    co, so = np.cos(raan), np.sin(raan)
    ci, si = np.cos(inc), np.sin(inc)
    x_node = co * r[..., 0] + so * r[..., 1]
    y_node = (-so * r[..., 0] + co * r[..., 1]) * ci + r[..., 2] * si
    u = np.arctan2(y_node, x_node)
    # eccentric anomaly from r and radial velocity
    rdotv = np.sum(r * v, axis=-1)
    big_e = np.arctan2(rdotv / np.sqrt(gm * a), 1.0 - rn / a)
    nu = np.arctan2(np.sqrt(1.0 - e * e) * np.sin(big_e), np.cos(big_e) - e)
    argp = np.where(e < 1e-14, 0.0, u - nu)
    nu = np.where(e < 1e-14, u, nu)
    big_e = np.where(e < 1e-14, u, big_e)
    m = big_e - e * np.sin(big_e)
    two_pi = 2.0 * np.pi
    return np.stack(
        [a, e, inc, np.mod(raan, two_pi), np.mod(argp, two_pi), np.mod(m, two_pi)], axis=-1
    )


# ---------------------------------------------------------------------------------------
# Spec parsing
# ---------------------------------------------------------------------------------------


#: Largest spec file read (bytes): specs are a few hundred bytes.
MAX_SPEC_BYTES = 1_000_000
#: Orbit radius limits (m): perigee at least 100 km above the equator, apogee inside
#: 500 000 km (beyond the Moon).
MIN_PERIGEE_RADIUS_M = WGS84_A + 100e3
MAX_APOGEE_RADIUS_M = 5.0e8
#: Carrier frequencies a spec may give (Hz).
FREQUENCY_RANGE_HZ = (1.0e6, 1.0e11)


def read_spec_text(path) -> str:
    """The text of a TOML spec file: UTF-8, at most :data:`MAX_SPEC_BYTES`; FormatError
    (one line, naming the file) for a binary, undecodable, too large or empty file."""
    path = Path(path)
    if not path.is_file():
        raise FormatError("not a regular file, expected a TOML spec", path)
    with open(path, "rb") as fh:
        data = fh.read(MAX_SPEC_BYTES + 1)
    if len(data) > MAX_SPEC_BYTES:
        raise FormatError(f"larger than {MAX_SPEC_BYTES} bytes, expected a TOML spec", path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start}), expected a TOML spec", path) from None
    if "\x00" in text:
        raise FormatError("binary data (NUL bytes), expected a TOML spec", path)
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise FormatError("empty spec: expected constellation keys (message_format, epoch, [[walker]] ...) "
                          "or scenario keys (constellations = [...])", path)
    return text


def _load_toml(text: str, where: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError as exc:
            raise ImportError("reading constellation specs on Python 3.10 needs 'tomli'") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(f"not a valid TOML constellation spec: {exc}", where) from None


#: Years a spec epoch or scenario start may name (GPS time begins in 1980).
EPOCH_YEARS = (1980, 2200)


def _epoch_to_ns(value, where: str) -> int:
    if isinstance(value, _dt.date) and not EPOCH_YEARS[0] <= value.year <= EPOCH_YEARS[1]:
        raise FormatError(f"'epoch' {value} is out of range, expected a year {EPOCH_YEARS[0]}..{EPOCH_YEARS[1]}", where)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            raise FormatError("spec epoch must be a GPST local date-time without offset", where)
        return int(
            calendar_to_ns(
                value.year, value.month, value.day, value.hour, value.minute,
                value.second + value.microsecond * 1e-6,
            )
        )
    if isinstance(value, _dt.date):
        return int(calendar_to_ns(value.year, value.month, value.day))
    if isinstance(value, str):
        try:
            return _epoch_to_ns(_dt.datetime.fromisoformat(value), where)
        except ValueError:
            pass
    raise FormatError(f"bad spec epoch {value!r}, expected e.g. 2020-06-25T00:00:00", where)


def _range_text(low, high, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{low:g} {'<' if low_open else '<='} ")
    parts.append("value")
    if high is not None:
        parts.append(f" {'<' if high_open else '<='} {high:g}")
    return "".join(parts)


def check_number(value, key: str, where: str, low=None, high=None, *, low_open: bool = False,
                 high_open: bool = False) -> float:
    """``value`` as a finite float within the bounds; FormatError naming ``key`` and the
    valid range otherwise."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise FormatError(f"'{key}' must be a number, got {value!r}", where)
    x = float(value)
    ok = np.isfinite(x)
    if ok and low is not None:
        ok = x > low if low_open else x >= low
    if ok and high is not None:
        ok = x < high if high_open else x <= high
    if not ok:
        expected = _range_text(low, high, low_open, high_open) if (low, high) != (None, None) else "a finite number"
        raise FormatError(f"'{key}' = {value!r} is out of range, expected {expected}", where)
    return x


def _num(block: dict, key: str, where: str, default=None, low=None, high=None, *,
         low_open: bool = False, high_open: bool = False) -> float:
    if key not in block:
        if default is None:
            raise FormatError(f"missing '{key}' in a constellation block", where)
        return float(default)
    return check_number(block[key], key, where, low, high, low_open=low_open, high_open=high_open)


def _count(block: dict, key: str, where: str, default=None, low: int = 1, high: int = 99) -> int:
    """An integer count within [low, high] (FormatError naming the key otherwise)."""
    value = block.get(key, default)
    if value is None:
        raise FormatError(f"missing '{key}' in a constellation block", where)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FormatError(f"'{key}' = {value!r}, expected an integer {low} <= value <= {high}", where)
    return int(value)


def _numbers(block: dict, key: str, where: str, low=None, high=None) -> np.ndarray:
    """A list of finite numbers (FormatError naming the key otherwise); empty when absent."""
    values = block.get(key, [])
    if not isinstance(values, list) or len(values) > 99:
        raise FormatError(f"'{key}' must be a list of at most 99 numbers, got {values!r}", where)
    return np.array([check_number(v, key, where, low, high) for v in values], dtype=np.float64)


def _inclination(block: dict, where: str, default=None) -> float:
    return _num(block, "inclination_deg", where, default, 0.0, 180.0)


def _eccentricity(block: dict, where: str) -> float:
    return _num(block, "eccentricity", where, 0.0, 0.0, 1.0, high_open=True)


def _check_radius(a_m: float, e: float, where: str) -> None:
    """Perigee above the Earth (:data:`MIN_PERIGEE_RADIUS_M`), apogee below
    :data:`MAX_APOGEE_RADIUS_M`."""
    if a_m * (1.0 - e) < MIN_PERIGEE_RADIUS_M or a_m * (1.0 + e) > MAX_APOGEE_RADIUS_M:
        raise FormatError(
            f"orbit radius {a_m / 1e3:g} km (eccentricity {e:g}) is out of range, expected a perigee "
            f"above {MIN_PERIGEE_RADIUS_M / 1e3:.0f} km (100 km above the Earth) and an apogee below "
            f"{MAX_APOGEE_RADIUS_M / 1e3:.0f} km ('semi_major_axis_km' / 'altitude_km')",
            where,
        )


def _semi_major_axis_m(block: dict, where: str, default_m: float | None = None) -> float:
    if "semi_major_axis_km" in block:
        return _num(block, "semi_major_axis_km", where) * 1e3
    if "altitude_km" in block:
        return (_num(block, "altitude_km", where) + _EARTH_RADIUS_KM) * 1e3
    if default_m is not None:
        return default_m
    raise FormatError("orbit block needs 'semi_major_axis_km' or 'altitude_km'", where)


def _block_elements(kind: str, block: dict, where: str):
    """(elements (k, 6) with node as Earth-fixed longitude, orbit types) for one spec block."""
    deg = np.pi / 180.0
    if not isinstance(block, dict):
        raise FormatError(f"'{kind}' must be a table ([[{kind}]]), got {block!r}", where)
    a, e = _block_radius(kind, block, where)
    if kind == "walker":
        total = _count(block, "total", where)
        planes = _count(block, "planes", where)
        phasing = _count(block, "phasing", where, 0, 0, 10_000)
        if total <= 0 or planes <= 0 or total % planes:
            raise FormatError(f"Walker total {total} is not a multiple of planes {planes}", where)
        per_plane = total // planes
        plane = np.repeat(np.arange(planes), per_plane)
        slot = np.tile(np.arange(per_plane), planes)
        node = _num(block, "node_longitude_deg", where, 0.0) * deg + plane * 2 * np.pi / planes
        u = (
            _num(block, "argument_of_latitude_deg", where, 0.0) * deg
            + slot * 2 * np.pi / per_plane
            + plane * phasing * 2 * np.pi / total
        )
        inc = np.full(total, _inclination(block, where) * deg)
        e = np.full(total, e)
        types = np.full(total, "MEO")
        return np.stack([np.full(total, a), e, inc, node, np.zeros(total), u], -1), types
    if kind == "plane":
        u = _numbers(block, "arguments_of_latitude_deg", where) * deg
        if u.size == 0:
            raise FormatError("'plane' block needs arguments_of_latitude_deg = [...]", where)
        k = u.size
        node = np.full(k, _num(block, "node_longitude_deg", where) * deg)
        inc = np.full(k, _inclination(block, where) * deg)
        e = np.full(k, e)
        return np.stack([np.full(k, a), e, inc, node, np.zeros(k), u], -1), np.full(k, "MEO")
    if kind == "geo":
        lon = _numbers(block, "longitudes_deg", where) * deg
        if lon.size == 0:
            raise FormatError("'geo' block needs longitudes_deg = [...]", where)
        k = lon.size
        inc = np.full(k, _inclination(block, where, 0.0) * deg)
        # node at the satellite's longitude, satellite at the node: u = 0 at epoch
        return (
            np.stack([np.full(k, a), np.zeros(k), inc, lon, np.zeros(k), np.zeros(k)], -1),
            np.full(k, "GEO"),
        )
    if kind == "igso":
        k = _count(block, "count", where)
        inc = np.full(k, _inclination(block, where) * deg)
        e = np.full(k, e)
        lam = _num(block, "node_longitude_deg", where) * deg
        # Satellite j: node advanced by j*360/k in inertial space, argument of latitude
        # retarded by the same angle, so it reaches its node j*T/k later, when the Earth
        # has turned by the same angle: all share one ground track crossing `lam` northbound.
        # Earth-fixed node longitude at epoch = inertial node - theta0 = lam + j*360/k.
        u_step = 2 * np.pi / k
        j = np.arange(k)
        node_inertial_minus_theta = lam + j * u_step
        u = -j * u_step + _num(block, "argument_of_latitude_deg", where, 0.0) * deg
        return (
            np.stack([np.full(k, a), e, inc, node_inertial_minus_theta, np.zeros(k), u], -1),
            np.full(k, "IGSO"),
        )
    if kind == "satellite":
        el = [
            a,
            e,
            _inclination(block, where) * deg,
            _num(block, "node_longitude_deg", where) * deg,
            _num(block, "argument_of_perigee_deg", where, 0.0) * deg,
            _num(block, "mean_anomaly_deg", where, 0.0) * deg,
        ]
        return np.array([el]), np.array(["KEPLER"])
    raise FormatError(f"unknown block kind {kind!r}", where)


def _block_radius(kind: str, block: dict, where: str) -> tuple[float, float]:
    """(semi-major axis m, eccentricity) of a block, checked (:func:`_check_radius`)."""
    default = GEOSYNCHRONOUS_A_M if kind in ("geo", "igso") else None
    a = _semi_major_axis_m(block, where, default)
    e = 0.0 if kind == "geo" else _eccentricity(block, where)
    _check_radius(a, e, where)
    return a, e


def constellation_from_spec(
    spec: dict, *, epoch_ns: int | None = None, where: str = "<spec>"
) -> Constellation:
    """Build a :class:`Constellation` from a parsed TOML spec (a dict).

    Parameters
    ----------
    spec : dict
        The spec (see the module docstring for the keys).
    epoch_ns : int, optional
        GPST ns overriding the spec's ``epoch``. The Earth-fixed geometry (node longitudes,
        GEO longitudes, arguments of latitude) is kept: only the inertial node moves.
    where : str
        Name used in error messages (the spec file).
    """
    if not isinstance(spec, dict) or not spec:
        raise FormatError("empty spec: expected message_format, epoch and orbit blocks ([[walker]] ...)", where)
    name = str(spec.get("name", "unnamed"))
    fmt = spec.get("message_format")
    if not isinstance(fmt, str) or fmt not in MESSAGE_FORMATS:
        raise FormatError(
            f"message_format {fmt!r} unknown, expected one of {', '.join(MESSAGE_FORMATS)}", where
        )
    letters, _ = MESSAGE_FORMATS[fmt]
    system = str(spec.get("system", letters[0]))
    if system not in letters:
        raise FormatError(
            f"message_format {fmt!r} is flown with satellite-id letter {letters!r}, "
            f"not {system!r}",
            where,
        )
    if epoch_ns is None:
        if "epoch" not in spec:
            raise FormatError("spec needs an 'epoch' (GPST date-time)", where)
        epoch_ns = _epoch_to_ns(spec["epoch"], where)
    theta0 = float(greenwich_angle(np.int64(epoch_ns)))

    elements, types, prns = [], [], []
    for kind in ("walker", "plane", "geo", "igso", "satellite"):
        blocks = spec.get(kind, [])
        if isinstance(blocks, dict):
            blocks = [blocks]
        if not isinstance(blocks, list):
            raise FormatError(f"'{kind}' must be a table or an array of tables, got {blocks!r}", where)
        for block in blocks:
            el, ty = _block_elements(kind, block, where)
            elements.append(el)
            types.append(ty)
            given = block.get("prns")
            if given is not None and (not isinstance(given, list) or len(given) != len(el)):
                raise FormatError(
                    f"'{kind}' block has {len(el)} satellites, expected as many prns, got {given!r}", where
                )
            if given is not None:
                given = [_count({"prns": p}, "prns", where) for p in given]
            prns.append(given if given is not None else [None] * len(el))
    if not elements:
        raise FormatError("spec defines no satellites (walker/plane/geo/igso/satellite)", where)
    el = np.concatenate(elements)
    orbit_type = np.concatenate(types)
    wanted = [p for block in prns for p in block]
    taken = {int(p) for p in wanted if p is not None}
    next_prn = _count(spec, "first_prn", where, 1)
    if len(wanted) > 99:
        raise FormatError(f"spec defines {len(wanted)} satellites, expected at most 99 per system", where)
    numbers = []
    for p in wanted:
        if p is None:
            while next_prn in taken:
                next_prn += 1
            p = next_prn
            taken.add(p)
        numbers.append(int(p))
    numbers = np.asarray(numbers)
    if np.any((numbers < 1) | (numbers > 99)):
        raise FormatError("satellite numbers must be within 1..99", where)
    from ..satellites import SYSTEMS, satellite_index_of

    sat = satellite_index_of(SYSTEMS.index(system), numbers).astype(np.int16)

    # Earth-fixed node longitude -> inertial right ascension
    el[:, 3] = np.mod(el[:, 3] + theta0, 2 * np.pi)
    el[:, 5] = np.mod(el[:, 5], 2 * np.pi)  # circular blocks: mean anomaly = arg. of latitude

    signals = _frequency_table(spec, "signals", where, *FREQUENCY_RANGE_HZ)
    steps = _frequency_table(spec, "fdma_step_hz", where, 0.0, 1.0e8)
    channels = spec.get("fdma_channels")
    if channels is not None:
        channels = _numbers(spec, "fdma_channels", where, -100.0, 100.0)
        if channels.shape != (len(sat),):
            raise FormatError(f"fdma_channels needs {len(sat)} values", where)
    elif fmt == "GLONASS FDMA":
        # antipodal satellites share a channel (GLONASS ICD 5.1, 3.3.1.1): k = -7..+6 pattern
        channels = np.array([((p - 1) % 12) - 7 for p in numbers], dtype=np.float64)
    return Constellation(
        name=name,
        system=system,
        message_format=fmt,
        sat=sat,
        epoch_ns=int(epoch_ns),
        elements=el,
        orbit_type=orbit_type,
        gm=_GM_BY_SYSTEM[system],
        signals=signals,
        fdma_step_hz=steps,
        fdma_channel=channels,
        code_noise_m=_num(spec, "code_noise_m", where, 0.3, 0.0, 1.0e3),
        time_offset_s=_num(spec, "time_offset_s", where, 0.0, -1.0e3, 1.0e3),
        system_name=name,
    )


def _frequency_table(spec: dict, key: str, where: str, low: float, high: float) -> dict[str, float]:
    """A ``[signals]``-like table of name -> positive number within (low, high]."""
    table = spec.get(key, {})
    if not isinstance(table, dict):
        raise FormatError(f"'{key}' must be a table of name = number, got {table!r}", where)
    return {str(k): check_number(v, f"{key}.{k}", where, low, high, low_open=True) for k, v in table.items()}


def _builtin_text(name: str) -> str:
    if name not in BUILTIN_SPECS:
        raise FormatError(f"no built-in constellation {name!r}, expected one of {BUILTIN_SPECS}")
    return resources.files("satnav.constellation").joinpath("specs", f"{name}.toml").read_text()


def load_constellation(
    spec, *, epoch_ns: int | None = None, longitude_shift_deg: float = 0.0
) -> Constellation:
    """Load a constellation from a built-in name, a TOML file path or a parsed dict.

    Parameters
    ----------
    spec : str, Path or dict
        ``"gps"``, ``"glonass"``, ``"galileo"``, ``"beidou3"``, ``"regional"``, a path to a
        ``.toml`` file, or the parsed spec.
    epoch_ns : int, optional
        GPST ns overriding the spec's epoch (Earth-fixed geometry kept).
    longitude_shift_deg : float
        Added to every Earth-fixed longitude of the spec (node and GEO longitudes): moves a
        regional system east.
    """
    if isinstance(spec, dict):
        data, where = spec, "<spec>"
    else:
        text_name = str(spec)
        if text_name in BUILTIN_SPECS:
            data, where = _load_toml(_builtin_text(text_name), text_name), f"{text_name}.toml"
        else:
            path = Path(spec)
            if not path.exists():
                raise FormatError(
                    f"constellation spec not found: {path} (built-ins: {', '.join(BUILTIN_SPECS)})"
                )
            data, where = _load_toml(read_spec_text(path), str(path)), str(path)
    if longitude_shift_deg:
        data = _shift_longitudes(data, longitude_shift_deg)
    return constellation_from_spec(data, epoch_ns=epoch_ns, where=where)


def _shift_longitudes(spec: dict, shift_deg: float) -> dict:
    out = dict(spec)
    for kind in ("walker", "plane", "geo", "igso", "satellite"):
        blocks = spec.get(kind)
        if blocks is None:
            continue
        blocks = [blocks] if isinstance(blocks, dict) else blocks
        new = []
        for b in blocks:
            b = dict(b)
            if "node_longitude_deg" in b or kind != "geo":
                b["node_longitude_deg"] = float(b.get("node_longitude_deg", 0.0)) + shift_deg
            if "longitudes_deg" in b:
                b["longitudes_deg"] = [float(x) + shift_deg for x in b["longitudes_deg"]]
            new.append(b)
        out[kind] = new
    return out


def builtin_constellation(name: str, *, epoch_ns: int | None = None) -> Constellation:
    """One of the built-in nominal constellations (``BUILTIN_SPECS``)."""
    return load_constellation(name, epoch_ns=epoch_ns)


#: Centre longitude (deg E) of the built-in regional example as written in regional.toml.
REGIONAL_DEFAULT_CENTER_DEG = 100.0


def regional_example(
    center_longitude_deg: float = REGIONAL_DEFAULT_CENTER_DEG, *, epoch_ns: int | None = None
) -> Constellation:
    """The example regional system (3 GEO + 4 IGSO, ids I01-I07) centred on a longitude.

    GEO slots at centre -40, centre, centre +40 deg; four IGSO satellites (inclination
    45 deg, geosynchronous) on one figure-eight ground track whose northbound equator
    crossing is at the centre longitude, spaced a quarter of a day apart.
    """
    return load_constellation(
        "regional",
        epoch_ns=epoch_ns,
        longitude_shift_deg=center_longitude_deg - REGIONAL_DEFAULT_CENTER_DEG,
    )
