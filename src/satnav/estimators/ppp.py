"""Precise point positioning (PPP): float solution, static or kinematic, ionosphere-free or
uncombined (slant ionosphere states; single frequency with a global ionosphere map prior).

One receiver, precise satellite orbits and clocks (SP3 + RINEX clock, or SP3 alone), and the
models of :mod:`satnav.models` give centimetre positions without a base station (Zumberge
et al. 1997; Kouba and Heroux 2001; Kouba, "A guide to using International GNSS Service
(IGS) products", 2009, ch. 5 for the model terms).

Measurements (per satellite, ionosphere-free combination of the product's two reference
bands, :attr:`satnav.signals.SystemSignals.precise_bands`; metres)::

    P_IF = rho + c dt_r(sys) - c dt^s + T + d_ant + d_tide + shapiro          + e_P
    L_IF = rho + c dt_r(sys) - c dt^s + T + d_ant + d_tide + shapiro + lambda_NL w + B + e_L

built from :mod:`satnav.models.measurement` (geometry with Earth rotation, satellite clock
with the periodic relativistic term), :mod:`~satnav.models.solid_tide`,
:mod:`~satnav.models.ocean_loading`, :mod:`~satnav.models.pole_tide`,
:mod:`~satnav.models.antenna` (satellite PCO/PCV with :mod:`~satnav.models.attitude`,
receiver ARP eccentricity + PCO/PCV), :mod:`~satnav.models.wind_up`,
:func:`~satnav.models.corrections.shapiro_delay_m` and
:mod:`~satnav.models.troposphere` (Saastamoinen hydrostatic a priori with GPT pressure and
GMF mapping, or the standard atmosphere and Niell mapping; Chen-Herring gradients). Code observations are corrected with
observable-specific biases (bias SINEX) when given.

Uncombined (``PppOptions(ionosphere="uncombined")``): the codes and phases of each frequency
``f`` are modelled alike with ``+gamma_f I`` on codes, ``-gamma_f I`` on phases
(``gamma_f = (f1/f)^2``, ``I`` the slant delay on the first frequency, one random-walk state per
satellite) and one ambiguity per frequency; the antenna terms of each frequency are used. With
one frequency (``frequencies=1``) the slant delays take the IONEX maps
(:mod:`satnav.io.ionex`, :func:`satnav.models.ionosphere.ionex_slant_delay_m`) as a prior.

Extended Kalman filter (:mod:`satnav.estimators.kalman`), states:

* position (marker, ECEF): constant (static) or white noise (kinematic, reset each epoch);
* one receiver clock per system (white noise; their differences are the inter-system biases);
* zenith wet delay (random walk, :attr:`PppOptions.zwd_noise_m_per_sqrt_s`) and optionally
  north/east gradients (random walk);
* one float ionosphere-free ambiguity (m) per satellite arc, reset at every cycle slip
  (:class:`~satnav.estimators.cycle_slips.SlipTracker`: loss of lock, gaps,
  geometry-free and Melbourne-Wuebbena tests on every epoch of the file, also those
  without a precise clock) and after repeated outliers.

Outliers: the measurement with the largest normalised innovation above
:attr:`PppOptions.outlier_sigma` (or an absolute limit) is rejected and the update repeated;
every rejection is logged on the solution.

Clocks: a RINEX clock file (30 s or finer) is interpolated linearly. Clocks from SP3 alone
(5 or 15 min) are **not** interpolated over minutes: only the epochs within
:attr:`PppOptions.clock_max_interpolation_s` of a clock sample are processed (BOR1 with
CODE 5-min products: 288 epochs a day), and the run says so.

Integer ambiguities (``PppOptions(ambiguity_resolution="fix" | "hold")``,
:mod:`satnav.estimators.ppp_ar`): with integer-clock products (phase OSBs of the clocks'
analysis centre, or the wide-lane biases of a GRG clock file) the phases are corrected with
the phase OSBs, the Melbourne-Wuebbena combination is averaged over each arc at every epoch,
and after each float update the wide-lane and narrow-lane single differences are fixed and
validated; the fixed state is the output where validated (``PppSolution.fixed``), the float
one elsewhere (``PppSolution.float_position_m`` always).

Structure: the part of the measurement model that does not depend on the filter state is
prepared for many epochs at once (:meth:`PppEngine._prepare`, vectorized over epochs x
satellites): it is linearised at the ionosphere-free code solution of each epoch (kinematic)
or of the first epoch (static), so that the filter sees a linear model (the linearisation
error is ``|dx|^2 / 2 rho``: 0.3 mm for 100 m). The filter then runs epoch by epoch
(:meth:`PppEngine._step`). A file (:func:`solve_ppp`) prepares all its epochs in one call and
finds cycle slips on whole arrays (:func:`~satnav.estimators.cycle_slips.detect_slips`); a
stream (:meth:`PppEngine.process`) prepares one epoch at a time and finds slips with
:class:`~satnav.estimators.cycle_slips.SlipTracker`: the same filter steps, the same
positions (the two slip detectors agree except in rare Melbourne-Wuebbena re-splits).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..constants import SPEED_OF_LIGHT
from ..errors import SatnavError, SatnavWarning
from ..progress import ProgressCounter
from ..satellites import MAX_SATELLITES, satellite_id, system_of
from .ppp_ar import AR_SYSTEMS, WidelaneAverages
from .ppp_solution import QUALITY_PPP, PppSolution

__all__ = ["PppOptions", "PppProducts", "PppEngine", "solve_ppp", "PPP_MODELS", "SIGNAL_PREFERENCE"]

_NS = 1_000_000_000

#: Models a run can switch off (:attr:`PppOptions.models`), each named in the output.
PPP_MODELS = ("solid-tide", "ocean-loading", "pole-tide", "wind-up", "satellite-antenna",
              "receiver-antenna", "shapiro", "gradients", "code-biases", "eclipse-exclusion")

#: Observation codes per system and band in order of preference: (code, phase). GPS codes
#: prefer the P(Y) tracking the IGS clocks refer to when no bias file corrects C1C.
SIGNAL_PREFERENCE = {
    "G": {"1": (("C1W", "C1C", "C1P", "C1X", "C1L"), ("L1C", "L1W", "L1P", "L1X", "L1L")),
          "2": (("C2W", "C2P", "C2L", "C2X", "C2S"), ("L2W", "L2P", "L2L", "L2X", "L2S")),
          "5": (("C5Q", "C5X", "C5I"), ("L5Q", "L5X", "L5I"))},
    "E": {"1": (("C1C", "C1X", "C1B"), ("L1C", "L1X", "L1B")),
          "5": (("C5Q", "C5X", "C5I"), ("L5Q", "L5X", "L5I")),
          "7": (("C7Q", "C7X", "C7I"), ("L7Q", "L7X", "L7I"))},
    "R": {"1": (("C1P", "C1C"), ("L1C", "L1P")), "2": (("C2P", "C2C"), ("L2C", "L2P"))},
    "C": {"2": (("C2I", "C2X"), ("L2I", "L2X")), "6": (("C6I", "C6X"), ("L6I", "L6X"))},
    "J": {"1": (("C1C", "C1X"), ("L1C", "L1X")), "2": (("C2L", "C2X"), ("L2L", "L2X"))},
}
#: With bias corrections (OSB) any tracking works: GPS prefers the civil C1C (less noise).
_SIGNAL_PREFERENCE_WITH_OSB = {"G": {"1": (("C1C", "C1W", "C1P", "C1X"), ("L1C", "L1W", "L1P", "L1X"))}}


@dataclass(frozen=True)
class PppOptions:
    """Options of a PPP run (plain data, SI units).

    ``mode`` ``"static"`` or ``"kinematic"``; ``systems`` letters (GPS, GLONASS, Galileo,
    BeiDou, QZSS with precise products; GLONASS: see ``glonass_code_factor``);
    ``elevation_mask_deg``; ``exclude`` satellite ids; ``code_sigma_m``
    and ``phase_sigma_m`` the zenith sigmas of one undifferenced code / phase (the
    ionosphere-free combination is 3 times noisier; ``sigma^2 (1 + 1/sin^2 el)``);
    ``zwd_noise_m_per_sqrt_s`` and ``gradient_noise_m_per_sqrt_s`` the random walks;
    ``kinematic_sigma_m`` the position sigma given each epoch in kinematic mode;
    ``clock_max_interpolation_s`` how far from a clock sample an epoch may be when the
    clocks are sparser than 30 s; ``outlier_sigma`` the normalised-innovation limit,
    ``outlier_phase_m`` / ``outlier_code_m`` absolute limits on innovations once converged;
    ``models`` the :data:`PPP_MODELS` applied; ``missing_satellite_antenna``:
    ``"nominal"`` (:data:`satnav.models.antenna.NOMINAL_PCO_Z_M`, warned), ``"zero"`` (as
    RTKLIB, warned) or ``"exclude"``; ``eclipse_exclusion_s`` the time after leaving the
    Earth's shadow during which a satellite stays excluded; ``glonass_code_factor`` the
    factor on the sigma of GLONASS codes: FDMA receivers delay each frequency channel's code
    differently (inter-frequency biases of up to metres, receiver-dependent and not in the
    products), so GLONASS codes are weighted down (default 5: 1/25 of the weight) while
    their phases, whose inter-frequency biases are constant and absorbed by the float
    ambiguities, count fully; GLONASS has its own receiver clock (inter-system bias).
    ``ionosphere``: ``"iono-free"`` (the ionosphere-free combination, one ambiguity per
    satellite) or ``"uncombined"`` (codes and phases of each frequency, a slant ionospheric
    delay state per satellite, random walk ``iono_noise_m_per_sqrt_s`` (m of L1 delay), and
    one ambiguity per frequency; the IONEX maps, when given, are a prior of the slant delays);
    ``frequencies`` 2, or 1 (uncombined only: the first band's code and phase with the IONEX
    prior, for single-frequency receivers). ``troposphere``: ``"gmf"`` (zenith hydrostatic
    delay from GPT pressure, GMF mapping: IERS 2010 ch. 9) or ``"niell"`` (standard
    atmosphere, Niell 1996 mapping).
    ``ambiguity_resolution``: ``"off"`` (float), ``"fix"`` (wide-lane then narrow-lane integer
    resolution each epoch, :mod:`satnav.estimators.ppp_ar`; the fixed position is output where
    validated, the float elsewhere) or ``"hold"`` (also hold in the filter the ambiguities fixed
    to the same integers at two consecutive epochs); only with integer-clock products and
    phase OSBs of the clocks' analysis centre (GRG, CODE), GPS and Galileo, ionosphere-free;
    ``ar_ratio`` the ratio-test threshold, ``ar_elevation_mask_deg`` the lowest satellite fixed,
    ``ar_success_rate`` the least bootstrapped success rate of a fix.
    """

    mode: str = "static"
    systems: str = "GE"
    elevation_mask_deg: float = 10.0
    exclude: tuple = ()
    code_sigma_m: float = 0.5
    phase_sigma_m: float = 0.003
    zwd_noise_m_per_sqrt_s: float = 1e-4
    gradient_noise_m_per_sqrt_s: float = 1e-6
    kinematic_sigma_m: float = 100.0
    clock_max_interpolation_s: float = 1.0
    outlier_sigma: float = 5.0
    outlier_phase_m: float = 0.5
    outlier_code_m: float = 30.0
    models: tuple = PPP_MODELS
    missing_satellite_antenna: str = "nominal"
    eclipse_exclusion_s: float = 1800.0
    glonass_code_factor: float = 5.0
    ionosphere: str = "iono-free"
    frequencies: int = 2
    iono_noise_m_per_sqrt_s: float = 1e-2
    troposphere: str = "gmf"
    ambiguity_resolution: str = "off"
    ar_ratio: float = 3.0
    ar_elevation_mask_deg: float = 15.0
    ar_success_rate: float = 0.99

    def __post_init__(self):
        if self.ambiguity_resolution not in ("off", "fix", "hold"):
            raise SatnavError(f"PPP ambiguity_resolution {self.ambiguity_resolution!r}: expected 'off', 'fix' or "
                              "'hold'")
        if self.mode not in ("static", "kinematic"):
            raise SatnavError(f"PPP mode {self.mode!r}: expected 'static' or 'kinematic'")
        unknown = set(self.models) - set(PPP_MODELS)
        if unknown:
            raise SatnavError(f"PPP models {sorted(unknown)}: unknown, expected some of {', '.join(PPP_MODELS)}")
        if self.ionosphere not in ("iono-free", "uncombined"):
            raise SatnavError(f"PPP ionosphere {self.ionosphere!r}: expected 'iono-free' or 'uncombined'")
        if self.frequencies not in (1, 2) or (self.frequencies == 1 and self.ionosphere != "uncombined"):
            raise SatnavError(f"PPP frequencies {self.frequencies!r}: expected 2, or 1 with ionosphere='uncombined' "
                              "(single-frequency PPP needs slant ionosphere states and an IONEX prior)")
        if self.troposphere not in ("gmf", "niell"):
            raise SatnavError(f"PPP troposphere {self.troposphere!r}: expected 'gmf' or 'niell'")
        if self.missing_satellite_antenna not in ("nominal", "zero", "exclude"):
            raise SatnavError(f"missing_satellite_antenna {self.missing_satellite_antenna!r}: expected "
                              "'nominal', 'zero' or 'exclude'")
        bad = set(self.systems) - set("GRECJ")
        if bad:
            raise SatnavError(f"PPP systems {self.systems!r}: {''.join(sorted(bad))} not supported, expected some "
                              "of G, R, E, C, J")

    def uses(self, model: str) -> bool:
        return model in self.models


@dataclass
class PppProducts:
    """Precise products of a PPP run: ``sp3`` (orbits, merged days), ``clk`` (RINEX clocks or
    None: SP3 clocks), ``antennas`` (:class:`satnav.io.antex.AntennaSet` or None),
    ``biases`` (:class:`satnav.io.bias_sinex.BiasSet` or None), ``blq`` (station ->
    (6, 11) ocean loading coefficients, or None), ``ionex`` (:class:`satnav.io.ionex.IonexMaps`
    or None; not used by the ionosphere-free solution) and the file names."""

    sp3: object
    clk: object = None
    antennas: object = None
    biases: object = None
    blq: dict | None = None
    sources: list = field(default_factory=list)
    ionex: object = None

    @property
    def orbit_centre(self) -> str:
        """Analysis centre of the orbits (3 letters, :func:`analysis_centre`)."""
        return analysis_centre(getattr(self.sp3.header, "agency", ""), getattr(self.sp3, "sources", None))

    @property
    def clock_centre(self) -> str:
        """Analysis centre of the clocks (those of the orbits without a clock file)."""
        if self.clk is None:
            return self.orbit_centre
        return analysis_centre(getattr(self.clk.header, "analysis_center", ""), getattr(self.clk, "sources", None))

    def clock_interval_s(self) -> float:
        """Nominal spacing (s) of the clock samples used."""
        t = np.asarray(self.clk.satellite_time if self.clk is not None else self.sp3.time, dtype=np.int64)
        return float(np.median(np.diff(np.unique(t)))) / 1e9 if len(t) > 1 else float("inf")


#: Agency names in product headers -> IGS 3-letter analysis centre ids.
_CENTRE_ALIASES = {"AIUB": "COD", "AIU": "COD", "CODE": "COD", "GRGS": "GRG", "CNES": "GRG", "GFZ": "GFZ",
                   "ESOC": "ESA", "EMR": "EMR", "NRCAN": "EMR", "WUHAN": "WUM", "IGS": "IGS", "JPL": "JPL"}


def analysis_centre(agency: str, sources=None) -> str:
    """The 3-letter analysis centre of a product: from an IGS long file name (``COD0OPSFIN_...``)
    when there is one, else the header's agency (``AIUB`` -> ``COD``)."""
    import re
    from pathlib import PurePath

    for src in sources or ():
        name = PurePath(str(src)).name.upper()
        m = re.match(r"([A-Z0-9]{3})[0-9](OPS|MGX|RAP|ULT|MGN|R03|TUG|DEM|EXP|TST)", name)
        if m:
            return m.group(1)
    text = str(agency or "").strip().upper()
    return _CENTRE_ALIASES.get(text, text[:3])


def _warn(text: str) -> None:
    warnings.warn(text, SatnavWarning, stacklevel=3)


def _sigma2(sigma, sin_el):
    return sigma**2 * (1.0 + 1.0 / np.maximum(sin_el, 0.05) ** 2)


class PppEngine:
    """Precise point positioning one epoch at a time (float, ionosphere-free).

    Parameters
    ----------
    products : PppProducts
    options : PppOptions
    header : ObsHeader, optional
        Observation header: marker name (ocean loading), antenna type and eccentricity,
        approximate position (first linearisation point), observation codes.
    source : str
        Observation file name for messages.

    :meth:`process` takes one epoch (an ``Observations`` of one epoch) and returns a dict
    row; :meth:`solution` assembles the rows seen so far into a :class:`PppSolution`.
    """

    def __init__(self, products: PppProducts, options: PppOptions | None = None, header=None, source: str = ""):
        from .cycle_slips import SlipTracker

        self.products = products
        self.opts = options or PppOptions()
        self.header = header
        self.source = source
        self.notes: list[str] = []
        self.models: dict[str, str] = {}
        self.rejections: list = []
        self.rows: list = []
        self._warned: set = set()
        self._systems = [s for s in self.opts.systems if s in SIGNAL_PREFERENCE]
        self._excluded = set()
        for x in self.opts.exclude:
            try:
                from ..satellites import satellite_index

                self._excluded.add(int(satellite_index(x)))
            except (ValueError, KeyError):
                if x in self._systems:
                    self._systems.remove(x)
        self._check_products()
        self._setup_receiver()
        self._plan = None  # per system: (code1, phase1, code2, phase2, f1, f2)
        # per satellite column (all satellite indices)
        freq = np.full((MAX_SATELLITES, 2), np.nan)
        self._freq = freq
        self._slips = SlipTracker(freq)
        self._pending_slip = np.zeros(MAX_SATELLITES, dtype=bool)
        self._windup = np.full(MAX_SATELLITES, np.nan)
        self._eclipse_until = np.full(MAX_SATELLITES, np.iinfo(np.int64).min, dtype=np.int64)
        self._outlier_count = np.zeros(MAX_SATELLITES, dtype=np.int64)
        # ambiguity resolution: wide-lane arc means, LAMBDA warm starts, fixes of the last epoch
        self._wl = WidelaneAverages(MAX_SATELLITES)
        self._ar_warm: dict = {}
        self._ar_warm_key: tuple = ()
        self._ar_last: set = set()
        self._wl_fractions: dict = {}
        self._amb_log: list = []
        self._signal_bias_cache: dict = {}
        # filter state: [x y z, zwd, gn, ge, clock per system..., ambiguities...]
        self._n_base = 6 + len(self._systems)
        self._clock_index = {s: 6 + i for i, s in enumerate(self._systems)}
        self.x = np.zeros(self._n_base)
        self.P = np.zeros((self._n_base, self._n_base))
        self._amb: dict[int, int] = {}  # satellite -> index of its first arc state
        #: states per satellite arc: IF ambiguity; or slant ionosphere + one ambiguity per frequency
        self._nper = 1 if self.opts.ionosphere == "iono-free" else 1 + self.opts.frequencies
        self._last_t: int | None = None
        self._initialised = False
        self._sat_antenna_cache: dict = {}
        self._static_apriori = None
        self._last_shadow = np.full(MAX_SATELLITES, np.iinfo(np.int64).min, dtype=np.int64)
        self._eclipsed: set = set()
        self._missing_sat_antenna: set = set()
        self._sun_moon: dict = {}  # time -> (sun, moon) ITRS, filled by precompute()
        self._pole: dict = {}  # time -> EOP (xp, yp, ut1) for the pole tide

    def precompute(self, time_ns) -> None:
        """Sun/Moon positions and Earth orientation of many epochs in one call (a file's
        epochs): the per-epoch path computes them one at a time otherwise."""
        from ..models.earth_orientation import eop_at
        from ..models.sun_moon import sun_moon_itrs

        t = np.unique(np.asarray(time_ns, dtype=np.int64))
        if not len(t):
            return
        eop = eop_at(t)
        sun, moon = sun_moon_itrs(t, eop)
        for i, ti in enumerate(t.tolist()):
            self._sun_moon[ti] = (sun[i], moon[i])
            self._pole[ti] = (eop.xp_rad[i], eop.yp_rad[i], eop.ut1_utc_s[i], eop.extrapolated[i])

    # ------------------------------------------------------------------ set-up
    def _check_products(self) -> None:
        p = self.products
        orbit, clock = p.orbit_centre, p.clock_centre
        self.models["orbits"] = f"precise SP3 ({orbit or 'unknown centre'})"
        if p.clk is not None:
            self.models["clocks"] = f"RINEX clock ({clock}, {p.clock_interval_s():g} s)"
            if orbit and clock and orbit != clock:
                _warn(f"orbits from {orbit} but clocks from {clock}: products of different analysis centres are "
                      "inconsistent at the decimetre level; expected one centre's SP3 and CLK")
            elif not (orbit and clock):
                unknown = " and ".join(k for k, c in (("orbits", orbit), ("clocks", clock)) if not c)
                _warn(f"the analysis centre of the {unknown} is unknown (no IGS long file name, no agency in the "
                      "header): their consistency is NOT checked; expected one centre's SP3 and CLK")
        else:
            interval = p.clock_interval_s()
            self.models["clocks"] = f"SP3 clocks ({orbit}, every {interval:g} s)"
            if interval > 30.0:
                self.notes.append(f"clocks from the SP3 file only, every {interval:g} s: positions only at the "
                                  f"epochs within {self.opts.clock_max_interpolation_s:g} s of a clock sample "
                                  "(clocks are not interpolated over minutes)")
        if p.biases is not None and self.opts.uses("code-biases"):
            centre = str(p.biases.analysis_centre).upper()[:3]
            if not (centre and clock):
                _warn(f"the analysis centre of the {'code biases' if not centre else 'clocks'} is unknown: "
                      "biases and clocks are NOT checked to be of one centre (mixing them biases codes by up to "
                      "metres)")
            if centre and clock and centre != clock:
                _warn(f"code biases from {centre} but clocks from {clock}: biases are only valid with the clocks "
                      f"they were made with; the biases are NOT applied (expected a bias file from {clock})")
                self.biases = None
                self.models["code-biases"] = f"not applied ({centre} biases with {clock} clocks)"
            else:
                self.biases = p.biases
                self.models["code-biases"] = f"OSB ({centre})"
        else:
            self.biases = None
            self.models["code-biases"] = "none (no bias file)" if p.biases is None else "off"
        self._check_ambiguity_resolution()

    def _check_ambiguity_resolution(self) -> None:
        """Integer ambiguity resolution only with integer-clock products: phase OSBs from the
        analysis centre of the clocks (and orbits) applied to the phases, or (GRG clock files
        before OSB) the wide-lane satellite biases of the clock file; else float, said."""
        from ..io.clk import widelane_satellite_biases
        from .ppp_ar import ArSettings

        opts = self.opts
        self.ar = None
        self._wsb: dict = {}
        if opts.ambiguity_resolution == "off":
            self.models["ambiguity-resolution"] = "off (float)"
            return
        p = self.products
        why = ""
        if opts.ionosphere != "iono-free":
            why = "implemented for the ionosphere-free model only"
        elif not set(AR_SYSTEMS) & set(self._systems):
            why = "GPS and Galileo only (GLONASS is FDMA)"
        elif p.orbit_centre != p.clock_centre:
            why = f"orbits from {p.orbit_centre} but clocks from {p.clock_centre}"
        elif self.biases is None:
            self._wsb = widelane_satellite_biases(p.clk.header) if p.clk is not None else {}
            if not self._wsb:
                why = ("no bias file of the clocks' analysis centre (nor wide-lane biases in the clock file)"
                       if p.biases is None or not opts.uses("code-biases")
                       else "the bias file is not of the clocks' analysis centre")
        elif not any(k[1].startswith("L") for k in self.biases.biases):
            why = (f"{self.biases.source.split('/')[-1]} has no phase biases: not integer-clock products "
                   "(expected e.g. GRG or CODE OSB with phase biases)")
        if why:
            _warn(f"PPP ambiguity resolution off: {why}; the solution is float")
            self.models["ambiguity-resolution"] = f"off ({why})"
            self.notes.append(f"ambiguity resolution not possible: {why}; float solution")
            return
        self.ar = ArSettings(min_elevation_rad=float(np.radians(opts.ar_elevation_mask_deg)), ratio=opts.ar_ratio,
                             success_rate=opts.ar_success_rate)
        self.models["ambiguity-resolution"] = (
            f"wide-lane (Melbourne-Wuebbena) + narrow-lane (LAMBDA, ratio {opts.ar_ratio:g}, partial), "
            + (f"{self.biases.analysis_centre} integer clocks + phase OSB, " if self.biases is not None else
               f"{p.clock_centre} integer clocks + the clock file's wide-lane biases, ") +
            f"{'fix and hold' if opts.ambiguity_resolution == 'hold' else 'fix each epoch'}, "
            f"{'+'.join(s for s in self._systems if s in AR_SYSTEMS)} (others float)")

    def _setup_receiver(self) -> None:
        from ..io.antex import receiver_key

        h = self.header
        opts = self.opts
        self.station = (getattr(h, "marker_name", "") or "").strip().upper()[:4]
        delta = getattr(h, "antenna_delta_hen_m", None)
        self._delta_enu = np.zeros(3) if delta is None else np.array([delta[1], delta[2], delta[0]], dtype=float)
        self.receiver_antenna = None
        ant_type = (getattr(h, "antenna_type", "") or "").strip()
        if opts.uses("receiver-antenna"):
            ants = self.products.antennas
            found, exact = (None, False) if ants is None or not ant_type else ants.receiver(ant_type)
            if found is None:
                _warn(f"{self.source or 'observations'}: receiver antenna {ant_type or '(none in header)'!r} has no "
                      "calibration in the ANTEX/NGS files given: its phase-centre offsets and variations are NOT "
                      "applied; expect a height error of the size of its offset (typically 5-15 cm) and a few mm "
                      "horizontally")
                self.models["receiver-antenna"] = f"ARP eccentricity only ({receiver_key(ant_type).strip()} " \
                                                   "not calibrated)"
                self.notes.append(f"receiver antenna {ant_type or '?'} not calibrated: PCO/PCV not applied")
            else:
                self.receiver_antenna = found
                if not exact:
                    _warn(f"receiver antenna {ant_type!r}: no calibration with that radome, the one without radome "
                          f"({found.name.strip()}) is used (radome effects of a few mm are not modelled)")
                self.models["receiver-antenna"] = f"{found.name.strip()} ({found.source.split('/')[-1]}) + ARP"
        else:
            self.models["receiver-antenna"] = "off (ARP eccentricity only)"
        self.blq = None
        if opts.uses("ocean-loading"):
            table = self.products.blq
            if table is None:
                self.models["ocean-loading"] = "none (no BLQ file)"
                self.notes.append("no ocean loading file: ocean tide loading not modelled (up to a few cm at coasts)")
            elif self.station in table:
                self.blq = table[self.station]
                self.models["ocean-loading"] = f"BLQ ({self.station})"
            else:
                _warn(f"ocean loading: station {self.station or '(no marker name)'!r} is not in the BLQ file: ocean tide "
                      "loading NOT applied (up to a few cm at coasts, ~1 cm inland)")
                self.models["ocean-loading"] = f"not applied ({self.station} missing from BLQ)"
        for name, text in (("solid-tide", "IERS 2010 steps 1 + 2"), ("pole-tide", "IERS 2010 (C04 EOP)"),
                           ("wind-up", "Wu et al. 1993, nominal yaw"), ("shapiro", "on"),
                           ("gradients", "Chen-Herring, random walk"),
                           ("eclipse-exclusion", f"shadow + {self.opts.eclipse_exclusion_s:g} s")):
            self.models[name] = text if opts.uses(name) else "off"
        self.models["troposphere"] = {
            "gmf": "Saastamoinen ZHD (GPT pressure) + GMF mapping (Boehm 2006/2007), ZWD random walk",
            "niell": "Saastamoinen ZHD (standard atmosphere) + Niell mapping, ZWD random walk"}[opts.troposphere]
        self.models["ionosphere"] = "ionosphere-free combination"

    def _signal_plan(self, codes_by_system: dict) -> dict:
        from ..signals import SIGNALS

        plan = {}
        for s in self._systems:
            bands = SIGNALS[s].precise_bands
            if bands is None:
                continue
            present = set(codes_by_system.get(s, ()))
            chosen = []
            for b in bands:
                prefs = SIGNAL_PREFERENCE[s].get(b)
                if self.biases is not None:
                    prefs = _SIGNAL_PREFERENCE_WITH_OSB.get(s, {}).get(b, prefs)
                if prefs is None:
                    break
                code = next((c for c in prefs[0] if c in present), None)
                phase = next((c for c in prefs[1] if c in present), None)
                if code is None or phase is None:
                    break
                chosen.append((code, phase))
            if len(chosen) == 2:
                if s == "R":  # FDMA: per satellite (self._glonass_k), NaN here
                    f1 = f2 = float("nan")
                else:
                    f1 = SIGNALS[s].carrier_hz[bands[0]]
                    f2 = SIGNALS[s].carrier_hz[bands[1]]
                plan[s] = (chosen[0][0], chosen[0][1], chosen[1][0], chosen[1][1], f1, f2)
        if not plan:
            raise SatnavError(f"PPP: no system of {''.join(self._systems)} has two-frequency code and phase in the "
                              "observations (expected e.g. GPS C1C/L1C + C2W/L2W, Galileo C1C/L1C + C5Q/L5Q)")
        for s, (_c1, _l1, _c2, _l2, f1, f2) in plan.items():
            cols = np.flatnonzero(np.asarray(system_of(np.arange(MAX_SATELLITES))) == s)
            self._freq[cols] = (f1, f2)
        if "R" in plan:
            for sat, (g1, g2) in self._glonass_frequencies().items():
                self._freq[sat] = (g1, g2)
        self.models["signals"] = ", ".join(f"{s}: {p[0]}/{p[1]}+{p[2]}/{p[3]}" for s, p in plan.items())
        return plan

    # ------------------------------------------------------------------ per epoch
    def process(self, epoch) -> dict:
        """Process one epoch (``Observations`` holding one epoch); returns its row."""
        if self._plan is None:
            codes = getattr(self.header, "obs_codes", None) or epoch.codes_by_system()
            self._plan = self._signal_plan(codes)
        t = int(epoch.epochs[0])
        sats = epoch.satellite_indices
        data = {}
        for s, (c1, l1, c2, l2, _f1, _f2) in self._plan.items():
            sel = sats[np.asarray(system_of(sats)) == s]
            if not len(sel):
                continue
            arrays = []
            for code in (c1, c2, l1, l2):
                try:
                    arrays.append(epoch.dense(code, sel)[0])
                except KeyError:
                    arrays.append(np.full(len(sel), np.nan))
            lli = []
            for code in (l1, l2):
                try:
                    lli.append(epoch.dense(code, sel, "lli")[0])
                except KeyError:
                    lli.append(np.full(len(sel), -1, dtype=np.int8))
            data[s] = (sel, *arrays, *lli)
        return self.process_arrays(t, data)

    def process_arrays(self, t: int, data: dict, states=None) -> dict:
        """Process one epoch given per system ``(sats, P1, P2, L1, L2, lli1, lli2)`` arrays
        (codes m, phases cycles, LLI -1 where absent); returns its row. ``states``: the
        satellite states at transmission of those satellites in that order when already
        computed."""
        sats = np.concatenate([d[0] for d in data.values()]) if data else np.zeros(0, dtype=np.int64)
        sats = sats.astype(np.int64)
        p1, p2, l1, l2, i1, i2 = (np.concatenate([d[k] for d in data.values()]) if data else np.zeros(0)
                                  for k in range(1, 7))
        # cycle slips on every epoch, processed or not
        phase = np.full((MAX_SATELLITES, 2), np.nan)
        code = np.full((MAX_SATELLITES, 2), np.nan)
        lli = np.full((MAX_SATELLITES, 2), -1, dtype=np.int8)
        phase[sats] = np.stack([l1, l2], axis=1)
        code[sats] = np.stack([p1, p2], axis=1)
        lli[sats] = np.stack([i1, i2], axis=1).astype(np.int8)
        slipped = self._slips.update(t, phase, code, lli).any(axis=1)
        self._pending_slip |= slipped
        self._widelane(t, sats, p1, p2, l1, l2, slipped[sats])
        row = _empty_row(t)
        if not self._clock_available(np.array([t]))[0]:
            row["reason"] = "no precise clock sample at this epoch"
        elif len(sats):
            times = np.array([t], dtype=np.int64)
            if states is None:
                states = self._satellite_states(times, sats[None, :], p1[None, :])
            else:
                states = _take_states(states, (None, slice(None)))
            apriori = self._apriori(times, sats, p1[None], p2[None], states)
            prep = self._prepare(times, sats, p1[None], p2[None], l1[None], l2[None], states, apriori)
            self._step(t, prep, 0, row)
        else:
            row["reason"] = "no observations"
        self.rows.append(row)
        return row

    def _clock_available(self, times) -> np.ndarray:
        """Epochs (bool) close enough to a clock sample (always true with 30 s clocks)."""
        times = np.asarray(times, dtype=np.int64)
        p = self.products
        if p.clk is not None or p.clock_interval_s() <= 30.0:
            return np.ones(len(times), dtype=bool)
        ct = getattr(self, "_clock_times", None)
        if ct is None:
            ct = self._clock_times = np.unique(np.asarray(p.sp3.time, dtype=np.int64))
        i = np.clip(np.searchsorted(ct, times), 1, len(ct) - 1)
        near = np.minimum(np.abs(ct[i] - times), np.abs(ct[i - 1] - times))
        return near <= self.opts.clock_max_interpolation_s * _NS

    # ------------------------------------------------------------------ the model
    def _satellite_states(self, times, sats, p1):
        """Precise states at transmission, (m, n) like ``sats``/``p1``."""
        from ..models.measurement import satellite_states_at_transmission
        from ..orbits.precise import precise_states

        sp3, clk = self.products.sp3, self.products.clk

        def states(sat, tt):
            return precise_states(sp3, sat, tt, clk)

        rx = np.broadcast_to(np.asarray(times, dtype=np.int64)[:, None], np.shape(p1))
        _t_tx, st = satellite_states_at_transmission(states, np.broadcast_to(sats, np.shape(p1)), rx, p1)
        return st

    def _satellite_antennas(self, t, sats, plan_of):
        """(n, 3) body PCO (ionosphere-free), usable (n,) and per-satellite ANTEX info."""
        from ..models.antenna import NOMINAL_PCO_Z_M
        from ..orbits.compare import orbit_group

        ants = self.products.antennas
        pco = np.zeros((len(sats), 3))
        usable = np.ones(len(sats), dtype=bool)
        which = []
        for i, s in enumerate(np.asarray(sats).tolist()):
            key = (s, int(t) // (86400 * _NS))
            if key not in self._sat_antenna_cache:
                sid = satellite_id(s)
                c1, _l1, c2, _l2, f1, f2 = plan_of[sid[0]]
                if not (np.isfinite(f1) and np.isfinite(f2)):  # GLONASS FDMA: G1/G2 = 9/7 on every channel
                    from ..signals import carrier_frequency

                    f1, f2 = (float(carrier_frequency(sid[0], c[1], 0)) for c in (c1, c2))
                a1 = f1**2 / (f1**2 - f2**2)
                a = None if ants is None else ants.satellite(sid, int(t))
                codes = (f"{sid[0]}0{c1[1]}", f"{sid[0]}0{c2[1]}")
                if a is not None and all(c in a.pco_m for c in codes):
                    value = (a1 * a.pco_m[codes[0]] + (1 - a1) * a.pco_m[codes[1]], True, (a, codes, a1))
                else:
                    mode = self.opts.missing_satellite_antenna
                    z = NOMINAL_PCO_Z_M.get(str(orbit_group(s)[0]), 0.0) if mode == "nominal" else 0.0
                    value = (np.array([0.0, 0.0, z]), mode != "exclude", None)
                    self._missing_sat_antenna.add(sid)
                self._sat_antenna_cache[key] = value
            pco[i], usable[i], info = self._sat_antenna_cache[key]
            which.append(info)
        return pco, usable, which

    def _glonass_frequencies(self) -> dict:
        """GLONASS satellite -> (G1, G2) carrier frequencies (Hz) from the header's channels."""
        from ..signals import carrier_frequency, glonass_channels

        if getattr(self, "_glo_freq", None) is None:
            from types import SimpleNamespace

            channels = glonass_channels(SimpleNamespace(header=self.header)) if self.header is not None else {}
            self._glo_freq = {int(sat): (float(carrier_frequency("R", "1", k)), float(carrier_frequency("R", "2", k)))
                              for sat, k in dict(channels).items()}
        return self._glo_freq

    def _combination(self, sats):
        letters = np.asarray(system_of(sats))
        plan_of = self._plan
        f1 = np.array([plan_of[s][4] for s in letters], dtype=float)
        f2 = np.array([plan_of[s][5] for s in letters], dtype=float)
        glo = letters == "R"
        if glo.any():
            freqs = self._glonass_frequencies()
            for j in np.flatnonzero(glo).tolist():
                f1[j], f2[j] = freqs.get(int(sats[j]), (np.nan, np.nan))
                if not np.isfinite(f1[j]):
                    self._once(f"glok-{int(sats[j])}", f"GLONASS satellite {satellite_id(int(sats[j]))}: no frequency "
                               "channel in the observation header (GLONASS SLOT / FRQ #): excluded")
        a1 = f1**2 / (f1**2 - f2**2)
        return letters, f1, f2, a1, 1.0 - a1

    def _code_biases(self, t, sats, letters):
        """(b1, b2) code biases (m) of the two codes (0 without a bias file) and the
        satellites that have them."""
        n = len(sats)
        if self.biases is None:
            return np.zeros(n), np.zeros(n), np.ones(n, dtype=bool)
        plan_of = self._plan
        b1 = np.array([self.biases.osb_m(s, plan_of[L][0], int(t)) for s, L in zip(np.asarray(sats).tolist(), letters)])
        b2 = np.array([self.biases.osb_m(s, plan_of[L][2], int(t)) for s, L in zip(np.asarray(sats).tolist(), letters)])
        ok = np.isfinite(b1) & np.isfinite(b2)
        if getattr(self, "_bias_systems", None) is None:
            self._bias_systems = {satellite_id(int(k[0]))[0] for k in self.biases.biases}
        without = ~np.isin(letters, list(self._bias_systems))
        for letter in set(letters[without & ~ok].tolist()):
            self._once(f"nobias-{letter}", f"{self.products.biases.source.split('/')[-1]} has no code biases of "
                       f"system {letter}: its codes are used uncorrected (as the clocks' reference codes)")
        ok |= without
        for s in np.asarray(sats)[~ok].tolist():
            self._once(f"bias-{s}", f"satellite {satellite_id(s)} has no code bias in "
                       f"{self.products.biases.source.split('/')[-1]}: excluded (its code would be biased "
                       "by up to metres)")
        return np.nan_to_num(b1), np.nan_to_num(b2), ok

    def _signal_biases(self, t: int, sats) -> np.ndarray:
        """(n, 5) OSBs of the two codes (m) and the two phases (cycles) of the signals used,
        NaN where the bias file has none, and the Melbourne-Wuebbena term (wide-lane cycles) to
        subtract: the satellite antenna's frequency-dependent z offsets, minus the wide-lane
        satellite bias of a GRG clock file when there is no bias file (then the OSBs are 0;
        NaN for a satellite without one). Kept per satellite and day."""
        day = int(t) // (86400 * _NS)
        out = np.full((len(sats), 5), np.nan)
        for j, s in enumerate(np.asarray(sats).tolist()):
            key = (s, day)
            if key not in self._signal_bias_cache:
                c1, l1, c2, l2, _f1, _f2 = self._plan[satellite_id(s)[0]]
                f1, f2 = self._freq[s]
                b = self.biases
                ant = self._mw_antenna_cycles(s, int(t), c1, c2, f1, f2)
                if b is None:  # GRG clock file's wide-lane biases (the MW plus them is integer)
                    self._signal_bias_cache[key] = (0.0, 0.0, 0.0, 0.0, ant - self._wsb.get(s, np.nan))
                else:
                    self._signal_bias_cache[key] = (b.osb_m(s, c1, int(t)), b.osb_m(s, c2, int(t)),
                                                    b.osb_s(s, l1, int(t)) * f1, b.osb_s(s, l2, int(t)) * f2, ant)
            out[j] = self._signal_bias_cache[key]
        return out

    def _mw_antenna_cycles(self, s: int, t: int, c1: str, c2: str, f1: float, f2: float) -> float:
        """Melbourne-Wuebbena term (wide-lane cycles) of the difference of the satellite's
        antenna z offsets on the two frequencies (ANTEX; 0 without a block): the analysis
        centres apply it when they make the wide-lane satellite biases (CODE's bias files:
        ``SATELLITE_ANTENNA_PCC_APPLIED_TO_MW_LC YES``; GRG's: "WSB computed WITH applying
        antenna PCOs"). The range effect of an offset ``z`` is ``-z cos(nadir)``, taken at the
        mean nadir angle seen from the ground (cos 0.985: within 1.5 % over 0-14 deg); the x/y
        offsets (< 0.25 of their size projected) are left out."""
        ants = self.products.antennas
        if ants is None or not self.opts.uses("satellite-antenna"):
            return 0.0
        sid = satellite_id(s)
        a = ants.satellite(sid, t)
        codes = (f"{sid[0]}0{c1[1]}", f"{sid[0]}0{c2[1]}")
        if a is None or not all(c in a.pco_m for c in codes):
            return 0.0
        from .ppp_ar import mw_antenna_cycles

        return float(mw_antenna_cycles(a.pco_m[codes[0]][2], a.pco_m[codes[1]][2], f1, f2))

    def _widelane(self, t: int, sats, p1, p2, l1, l2, slipped) -> None:
        """Add one epoch (every epoch of the file, with a clock sample or not) to the arc means
        of the Melbourne-Wuebbena combination, corrected with the satellites' code and phase
        OSBs; arcs restart at the slips ``slipped`` (n,)."""
        if self.ar is None or not len(sats):
            return
        from .cycle_slips import melbourne_wubbena

        sats = np.asarray(sats, dtype=np.int64)
        self._wl.restart(sats[np.asarray(slipped, dtype=bool)])
        b = self._signal_biases(t, sats)
        f = self._freq[sats]
        mw = melbourne_wubbena(l1 - b[:, 2], l2 - b[:, 3], p1 - b[:, 0], p2 - b[:, 1], f[:, 0], f[:, 1]) - b[:, 4]
        mw[~np.isin(np.asarray(system_of(sats)), list(AR_SYSTEMS))] = np.nan
        self._wl.add(sats, mw)

    def _resolve(self, sats, el, row):
        """Integer resolution of this epoch (:func:`satnav.estimators.ppp_ar.resolve_ppp_ambiguities`);
        holds repeated fixes in the filter (``ambiguity_resolution="hold"``). Returns the
        fixed state and covariance, or None."""
        from .ppp_ar import constrained, resolve_ppp_ambiguities

        letters = np.asarray(system_of(sats))
        mean, sigma, count = self._wl.estimate(sats)
        mean[~np.isfinite(self._signal_biases(int(row["time_ns"]), sats)).all(axis=1)] = np.nan
        amb = np.array([self._amb[int(s)] for s in sats.tolist()], dtype=np.int64)
        f = self._freq[sats]
        res = resolve_ppp_ambiguities(self.x, self.P, amb, sats, letters, f[:, 0], f[:, 1], el, mean, sigma, count,
                                      self.ar, warm=self._ar_warm)
        row["ratio"] = res.ratio
        row["n_widelane"] = res.n_widelane
        if len(res.candidates):
            res.candidates["time_ns"] = int(row["time_ns"])
            self._amb_log.append(res.candidates)
            for c in res.candidates.tolist():  # each wide-lane's fraction when first fixed
                self._wl_fractions.setdefault((c[1], c[2], c[3]), c[4])
        if not res.fixed:
            self._ar_last = set()
            return None
        key = tuple(sorted((p[0], p[1]) for p in res.pairs))
        if key != self._ar_warm_key:
            self._ar_warm, self._ar_warm_key = {}, key
        row["fixed"] = True
        row["n_fixed"] = res.n_fixed
        pairs = set(res.pairs)
        if self.opts.ambiguity_resolution == "hold":
            held = [r for r, p in enumerate(res.pairs) if p in self._ar_last]
            if held:
                self.x, self.P = constrained(self.x, self.P, res.rows[held], res.values[held],
                                             self.ar.constraint_sigma_m)
        self._ar_last = pairs
        return res.x, res.P

    def _apriori(self, times, sats, p1, p2, states) -> np.ndarray:
        """(m, 3) linearisation points: per epoch the ionosphere-free code solution
        (kinematic), or the first one found, kept for the whole run (static: a point within
        ~100 m keeps the linearisation error below 0.3 mm). NaN where none."""
        m = len(times)
        if self.opts.mode == "static" and self._static_apriori is not None:
            return np.broadcast_to(self._static_apriori, (m, 3)).copy()
        letters, _f1, _f2, a1, a2 = self._combination(sats)
        b1, b2, ok_b = self._code_biases(times[0], sats, letters)
        p_if = a1 * (p1 - b1) + a2 * (p2 - b2)
        valid = np.isfinite(p_if) & np.asarray(states.valid, dtype=bool) & ok_b
        approx = getattr(self.header, "approx_position_m", None)
        x0 = np.array(approx, dtype=float) if approx is not None and np.linalg.norm(approx) > 6.0e6 else np.zeros(3)
        pos = _code_positions(p_if, np.asarray(states.position_m), np.asarray(states.clock_s), valid, letters,
                              self._systems, x0)
        if self.opts.mode == "static":
            ok = np.flatnonzero(np.isfinite(pos[:, 0]))
            if len(ok):
                self._static_apriori = pos[ok[0]].copy()
                pos = np.broadcast_to(self._static_apriori, (m, 3)).copy()
        return pos

    def _prepare(self, times, sats, p1, p2, l1, l2, states, apriori) -> dict:
        """Everything of the measurement model that does not depend on the filter state, for
        ``m`` epochs x ``n`` satellites at once (linearised at ``apriori`` (m, 3))."""
        from ..frames import ecef_to_geodetic, enu_rotation
        from ..models.attitude import in_earth_shadow, nominal_attitude
        from ..models.corrections import shapiro_delay_m
        from ..models.measurement import geometry
        from ..models.troposphere import (
            gmf_mapping,
            gpt,
            gradient_mapping,
            niell_mapping,
            saastamoinen_zenith,
            standard_atmosphere,
            water_vapour_pressure,
        )
        from ..models.wind_up import wind_up_cycles

        opts = self.opts
        times = np.asarray(times, dtype=np.int64)
        m, n = p1.shape
        letters, f1, f2, a1, a2 = self._combination(sats)
        b1, b2, ok_b = self._code_biases(times[0], sats, letters)
        p_if = a1 * (p1 - b1) + a2 * (p2 - b2)
        lam1, lam2 = SPEED_OF_LIGHT / f1, SPEED_OF_LIGHT / f2
        if self.ar is not None:  # phase OSBs (cycles): the ambiguities become integers (a float shift otherwise)
            sb = np.nan_to_num(self._signal_biases(int(times[0]), sats))
            l1, l2 = l1 - sb[:, 2], l2 - sb[:, 3]
        l_if = a1 * lam1 * l1 + a2 * lam2 * l2
        st_valid = np.asarray(states.valid, dtype=bool)
        valid = np.isfinite(p_if) & np.isfinite(l_if) & st_valid & ok_b[None, :]
        valid &= np.isfinite(apriori[:, 0])[:, None]
        if self._excluded:
            valid &= ~np.isin(sats, list(self._excluded))[None, :]
        lacking = np.isfinite(p_if) & ~st_valid
        for j in np.flatnonzero(lacking.any(axis=0)).tolist():
            s = int(sats[j])
            self._once(f"noprod-{s}", f"satellite {satellite_id(s)} has no precise orbit/clock at "
                       f"{_fmt(int(times[lacking[:, j]][0]))} (missing from the products or outside their span"
                       f"{f', {int(lacking[:, j].sum())} epochs' if m > 1 else ''}): excluded while missing")
        pos_s = np.asarray(states.position_m)
        clk_s = np.asarray(states.clock_s)
        sun, moon = self._sun_moon_at(times)
        # eclipses: in the shadow, and for eclipse_exclusion_s after
        shadow = in_earth_shadow(pos_s, sun[:, None, :]) & st_valid
        if opts.uses("eclipse-exclusion"):
            last = np.where(shadow, times[:, None], np.iinfo(np.int64).min)
            last = np.maximum(np.maximum.accumulate(last, axis=0), self._last_shadow[sats][None, :])
            self._last_shadow[sats] = last[-1]
            never = np.iinfo(np.int64).min
            eclipsed = (last > never) & ((times[:, None] - np.maximum(last, 0)) <= int(opts.eclipse_exclusion_s * _NS))
            for s in np.asarray(sats)[(eclipsed & valid).any(axis=0)].tolist():
                self._eclipsed.add(s)
            valid &= ~eclipsed
        # satellite antennas (per day)
        sat_pco = np.zeros((m, n, 3))
        sat_info = [None] * n
        for day in np.unique(times // (86400 * _NS)).tolist():
            rows = times // (86400 * _NS) == day
            pco, usable, info = self._satellite_antennas(int(times[rows][0]), sats, self._plan)
            sat_pco[rows] = pco
            sat_info = info
            valid[rows] &= usable[None, :]
        # station displacement at the linearisation point
        rr = np.where(np.isfinite(apriori), apriori, 0.0)
        lat, lon, h = ecef_to_geodetic(rr)
        disp = np.zeros((m, 3))
        if opts.uses("solid-tide"):
            from ..models.solid_tide import solid_tide_displacement

            disp += solid_tide_displacement(rr, sun, moon, times)
        if opts.uses("ocean-loading") and self.blq is not None:
            from ..models.ocean_loading import ocean_loading_displacement

            disp += ocean_loading_displacement(rr, times, self.blq)
        if opts.uses("pole-tide"):
            from ..models.pole_tide import pole_tide_displacement

            disp += pole_tide_displacement(rr, times, self._eop_at(times))
        geo = geometry((rr + disp)[:, None, :], pos_s)
        el, az, e = geo.elevation_rad, geo.azimuth_rad, geo.unit_vector
        valid &= el >= np.radians(opts.elevation_mask_deg)
        model = geo.range_m - SPEED_OF_LIGHT * clk_s
        if opts.uses("shapiro"):
            model = model + shapiro_delay_m(geo.satellite_ecef_m, rr[:, None, :])
        axes = nominal_attitude(geo.satellite_ecef_m, sun[:, None, :])
        if opts.uses("satellite-antenna"):
            from ..models.antenna import nadir_angle_rad

            d = np.einsum("mni,mnij->mnj", sat_pco, axes)
            model = model + np.sum(e * d, axis=-1)
            if any(info is not None for info in sat_info):
                nadir = nadir_angle_rad(geo.satellite_ecef_m, rr[:, None, :])
                for j, info in enumerate(sat_info):
                    if info is not None:
                        a, codes, k1 = info
                        model[:, j] += k1 * a.pcv_m_at(codes[0], nadir[:, j]) + (1 - k1) * a.pcv_m_at(codes[1], nadir[:, j])
        enu_axes = enu_rotation(lat, lon)  # (m, 3, 3)
        off = np.broadcast_to(self._delta_enu, (m, n, 3)).copy()
        ant = self.receiver_antenna
        rcv_parts = {}
        if ant is not None:
            zen = np.pi / 2 - el
            for letter in set(letters.tolist()):
                cols = letters == letter
                c1, c2 = self._plan[letter][0], self._plan[letter][2]
                fa, fb = ant.frequency(f"{letter}0{c1[1]}"), ant.frequency(f"{letter}0{c2[1]}")
                if fa is None or fb is None:
                    self._once(f"rcvfreq-{letter}", f"receiver antenna {ant.name.strip()}: no calibration for "
                               f"{letter} bands {c1[1]}/{c2[1]}: GPS L1/L2 values used")
                    fa, fb = "G01", "G02"
                k1 = a1[cols]
                pco_if = k1[:, None] * ant.pco_m[fa][[1, 0, 2]] + (1 - k1)[:, None] * ant.pco_m[fb][[1, 0, 2]]
                off[:, cols] += pco_if[None]
                pcv_if = k1 * ant.pcv_m_at(fa, zen[:, cols], az[:, cols]) \
                    + (1 - k1) * ant.pcv_m_at(fb, zen[:, cols], az[:, cols])
                model[:, cols] += pcv_if
                rcv_parts[letter] = (cols, (fa, fb), pco_if, pcv_if)
        d_ecef = np.einsum("mnk,mkj->mnj", off, enu_axes)
        model = model - np.sum(e * d_ecef, axis=-1)
        if opts.troposphere == "gmf":
            from ..models.earth_orientation import GPS_EPOCH_MJD

            mjd = GPS_EPOCH_MJD + times / (86400.0 * _NS)
            pres, temp, undulation = gpt(mjd, lat, lon, h)
            zhd, zwd0 = saastamoinen_zenith(lat, h, pres, temp, water_vapour_pressure(temp))
            mh, mw = gmf_mapping(mjd[:, None], lat[:, None], lon[:, None], (h - undulation)[:, None], el)
        else:
            pres, temp, vap = standard_atmosphere(h)
            zhd, zwd0 = saastamoinen_zenith(lat, h, pres, temp, vap)
            mh, mw = niell_mapping(lat[:, None], h[:, None], el, self._day_of_year(times)[:, None])
        model = model + zhd[:, None] * mh + zwd0[:, None] * mw
        gn, ge = gradient_mapping(el, az)
        windup = np.zeros((m, n))
        if opts.uses("wind-up"):
            w = wind_up_cycles(axes, enu_axes[:, None, 1, :], -enu_axes[:, None, 0, :], -e)
            windup = _continuous_cycles(w, valid, self._windup[sats])
            last = np.where(valid.any(axis=0), _last_valid(windup, valid), np.nan)
            self._windup[sats] = np.where(np.isfinite(last), last, self._windup[sats])
        windup_m = SPEED_OF_LIGHT / (f1 + f2) * windup
        extra = {}
        if opts.ionosphere == "uncombined":
            extra = self._uncombined(times, sats, p1 - b1, p2 - b2, lam1 * l1, lam2 * l2, f1, f2, model, windup,
                                     e, el, az, axes, sat_info, rr, geo, enu_axes, rcv_parts, valid)
        return {**extra, "sats": np.asarray(sats), "letters": letters, "valid": valid, "e": e, "el": el, "mw": mw,
                "gn": gn, "ge": ge, "code": p_if - model, "phase": l_if - model - windup_m,
                "l_minus_p": l_if - p_if, "apriori": apriori, "ztd0": zhd + zwd0}

    def _uncombined(self, times, sats, c1, c2, ph1, ph2, f1, f2, model, windup, e, el, az, axes, sat_info, rr, geo,
                    enu_axes, rcv_parts, valid) -> dict:
        """Per-frequency rows of the uncombined model: the ionosphere-free model plus each
        frequency's antenna terms minus their ionosphere-free combination, and the
        initial values of the slant ionosphere and the ambiguities of new arcs."""
        from ..models.antenna import nadir_angle_rad

        m, n = c1.shape
        dant = [np.zeros((m, n)), np.zeros((m, n))]
        if self.opts.uses("satellite-antenna") and any(info is not None for info in sat_info):
            nadir = nadir_angle_rad(geo.satellite_ecef_m, rr[:, None, :])
            for j, info in enumerate(sat_info):
                if info is None:
                    continue
                a, codes, k1 = info
                pco_if = k1 * a.pco_m[codes[0]] + (1 - k1) * a.pco_m[codes[1]]
                pcv_if = k1 * a.pcv_m_at(codes[0], nadir[:, j]) + (1 - k1) * a.pcv_m_at(codes[1], nadir[:, j])
                for f in (0, 1):
                    dv = np.einsum("i,mij->mj", a.pco_m[codes[f]] - pco_if, axes[:, j])
                    dant[f][:, j] += np.sum(e[:, j] * dv, axis=-1) + a.pcv_m_at(codes[f], nadir[:, j]) - pcv_if
        zen = np.pi / 2 - el
        for cols, freqs, pco_if, pcv_if in rcv_parts.values():
            ant = self.receiver_antenna
            for f in (0, 1):
                dp = ant.pco_m[freqs[f]][[1, 0, 2]][None, :] - pco_if  # (ncols, 3) ENU
                d_ecef = np.einsum("nk,mkj->mnj", dp, enu_axes)
                dant[f][:, cols] += -np.sum(e[:, cols] * d_ecef, axis=-1) \
                    + ant.pcv_m_at(freqs[f], zen[:, cols], az[:, cols]) - pcv_if
        gamma2 = (f1 / f2) ** 2
        lam1, lam2 = SPEED_OF_LIGHT / f1, SPEED_OF_LIGHT / f2
        code = np.stack([c1 - model - dant[0], c2 - model - dant[1]])
        phase = np.stack([ph1 - model - dant[0] - lam1 * windup, ph2 - model - dant[1] - lam2 * windup])
        prior = np.full((m, n), np.nan)
        maps = getattr(self.products, "ionex", None)
        # the prior only with one frequency: with two, the receiver's differential code bias
        # (metres, not in the products) sits in the slant delays the codes give, against the maps
        if maps is not None and self.opts.frequencies == 1:
            from ..models.ionosphere import ionex_slant_delay_m

            prior = ionex_slant_delay_m(maps, times[:, None], geo.latitude_rad, geo.longitude_rad, az, el, f1)
        if self.opts.frequencies == 2:
            iono0 = (code[1] - code[0]) / (gamma2 - 1.0)
            init = np.stack([iono0, phase[0] - code[0] + 2 * iono0, phase[1] - code[1] + 2 * gamma2 * iono0], -1)
        else:
            iono0 = np.where(np.isfinite(prior), prior, 0.0)
            init = np.stack([iono0, phase[0] - code[0] + 2 * iono0], -1)
        return {"uc_code": code, "uc_phase": phase, "gamma2": gamma2, "iono_prior": prior, "uc_init": init}

    def _sun_moon_at(self, times):
        from ..models.sun_moon import sun_moon_itrs

        if all(int(t) in self._sun_moon for t in times.tolist()):
            sm = [self._sun_moon[int(t)] for t in times.tolist()]
            return np.array([a for a, _ in sm]), np.array([b for _, b in sm])
        return sun_moon_itrs(times, self._eop_at(times))

    def _eop_at(self, times):
        from ..models.earth_orientation import EarthOrientation, eop_at

        if all(int(t) in self._pole for t in times.tolist()):
            rows = [self._pole[int(t)] for t in times.tolist()]
            return EarthOrientation(*(np.array([r[k] for r in rows]) for k in range(4)))
        return eop_at(times)

    @staticmethod
    def _day_of_year(times) -> np.ndarray:
        from ..gnss_time import ns_to_calendar

        y = np.asarray(ns_to_calendar(np.asarray(times, dtype=np.int64))[0]).ravel()
        import datetime as _dt

        starts = np.array([int((_dt.datetime(int(v), 1, 1) - _dt.datetime(1980, 1, 6)).total_seconds())
                           for v in y], dtype=np.int64)
        return (np.asarray(times, dtype=np.int64) // _NS - starts) / 86400.0 + 1.0

    def _step(self, t: int, prep: dict, i: int, row: dict) -> None:
        """The filter at epoch ``i`` of ``prep``: ambiguities, time update, measurement update."""
        valid = prep["valid"][i]
        if valid.sum() < 4:
            row["reason"] = "fewer than 4 satellites with two-frequency code and phase, precise products, " \
                            "above the mask"
            return
        apriori = prep["apriori"][i]
        if not self._initialised:
            self.x[:3] = apriori
            self.P[:3, :3] = np.eye(3) * self.opts.kinematic_sigma_m**2
            self.P[3, 3] = 0.3**2
            if self.opts.uses("gradients"):
                self.P[4, 4] = self.P[5, 5] = 0.01**2
            self._initialised = True
        dt = 0.0 if self._last_t is None else (t - self._last_t) / 1e9
        self._predict(dt)
        if self.opts.mode == "kinematic":
            self.x[:3] = apriori
        sats = prep["sats"][valid]
        if self._nper == 1:
            self._ambiguities(t, sats, prep["l_minus_p"][i][valid])
            dx = self._update(t, sats, prep["letters"][valid], prep["e"][i][valid], prep["mw"][i][valid],
                              prep["gn"][i][valid], prep["ge"][i][valid], prep["el"][i][valid],
                              prep["code"][i][valid], prep["phase"][i][valid], apriori, row)
        else:
            self._ambiguities(t, sats, prep["uc_init"][i][valid])
            dx = self._update_uncombined(t, sats, prep["letters"][valid], prep, i, valid, apriori, row)
        if dx is None:
            return
        self._last_t = t
        row["float_position_m"] = self.x[:3].copy()
        x, P = self.x, self.P
        if self.ar is not None and self._nper == 1:
            ok = np.isfinite(row["phase_res"])
            fixed = self._resolve(sats[ok], prep["el"][i][valid][ok], row)
            if fixed is not None:
                x, P = fixed
        idx = np.arange(3)
        row.update(position_m=x[:3].copy(), covariance_m2=P[np.ix_(idx, idx)].copy(),
                   quality=QUALITY_PPP, ztd=float(prep["ztd0"][i] + x[3]), ztd_sigma=float(np.sqrt(P[3, 3])),
                   gradient=x[4:6].copy() if self.opts.uses("gradients") else np.full(2, np.nan),
                   gradient_sigma=np.sqrt(np.diag(P)[4:6]) if self.opts.uses("gradients") else np.full(2, np.nan),
                   clock={s: float(x[k]) for s, k in self._clock_index.items()},
                   elevation=prep["el"][i][valid])

    def _once(self, key, text) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        if text:
            _warn(text)

    # ------------------------------------------------------------------ filter
    def _predict(self, dt: float) -> None:
        opts = self.opts
        if opts.mode == "kinematic":
            self.P[:3, :] = 0.0
            self.P[:, :3] = 0.0
            self.P[:3, :3] = np.eye(3) * opts.kinematic_sigma_m**2
        self.P[3, 3] += opts.zwd_noise_m_per_sqrt_s**2 * dt
        if opts.uses("gradients"):
            self.P[4, 4] += opts.gradient_noise_m_per_sqrt_s**2 * dt
            self.P[5, 5] += opts.gradient_noise_m_per_sqrt_s**2 * dt
        for i in self._clock_index.values():  # white noise clocks
            self.P[i, :] = 0.0
            self.P[:, i] = 0.0
            self.P[i, i] = 300.0**2
        for i in self._amb.values():
            if self._nper == 1:
                self.P[i, i] += 1e-8 * dt
            else:
                self.P[i, i] += opts.iono_noise_m_per_sqrt_s**2 * dt
                for j in range(1, self._nper):
                    self.P[i + j, i + j] += 1e-8 * dt

    def _ambiguities(self, t, sats, l_minus_p) -> None:
        """Start ambiguities of new arcs (and after slips); remove those of satellites no
        longer seen."""
        seen = set(sats.tolist())
        for s in list(self._amb):
            if s not in seen or self._pending_slip[s]:
                self._remove_ambiguity(s)
        l_minus_p = np.atleast_2d(np.asarray(l_minus_p, dtype=float).T).T  # (k, nper): initial values
        for s, v in zip(sats.tolist(), l_minus_p.tolist()):
            if s not in self._amb:
                n = len(self.x)
                k = self._nper
                self.x = np.append(self.x, v[:k])
                P = np.zeros((n + k, n + k))
                P[:n, :n] = self.P
                P[n:, n:] = np.diag([30.0**2] * k if k == 1 else [1.0**2] + [30.0**2] * (k - 1))
                self.P = P
                self._amb[s] = n
                self._outlier_count[s] = 0
            self._pending_slip[s] = False

    def _remove_ambiguity(self, s) -> None:
        i = self._amb.pop(s)
        k = self._nper
        keep = np.delete(np.arange(len(self.x)), np.arange(i, i + k))
        self.x = self.x[keep]
        self.P = self.P[np.ix_(keep, keep)]
        for sat, v in self._amb.items():
            if v > i:
                self._amb[sat] = v - k

    def _update(self, t, sats, letters, e, mw, gn, ge, el, code_v0, phase_v0, lin, row):
        """Measurement update of the predicted state (the model was evaluated at the position
        ``lin``: ``h(x) = model(lin) - e.(x - lin) + ...``, linear in the states); returns the
        position change (or None when the epoch could not be used)."""
        from .kalman import update

        opts = self.opts
        x_pred, P_pred = self.x, self.P
        n = len(x_pred)
        k = len(sats)
        H = np.zeros((2 * k, n))
        H[:, :3] = np.vstack([-e, -e])
        H[:, 3] = np.concatenate([mw, mw])
        if opts.uses("gradients"):
            H[:, 4] = np.concatenate([gn, gn])
            H[:, 5] = np.concatenate([ge, ge])
        for s, i in self._clock_index.items():
            m = letters == s
            H[:k, i] = m
            H[k:, i] = m
        amb_idx = np.array([self._amb[s] for s in sats.tolist()])
        H[k + np.arange(k), amb_idx] = 1.0
        z0 = np.concatenate([code_v0, phase_v0])  # observed minus model(lin) without the states
        x_pred = x_pred.copy()
        base = z0 + H[:, :3] @ lin
        partial = base - H @ x_pred
        for s, i in self._clock_index.items():  # white-noise clocks: start from the codes
            m = letters == s
            if m.any():
                x_pred[i] += float(np.mean(partial[:k][m]))
        v = base - H @ x_pred
        sin_el = np.sin(el)
        code_sigma = 3.0 * opts.code_sigma_m * np.where(letters == "R", opts.glonass_code_factor, 1.0)
        var = np.concatenate([_sigma2(code_sigma, sin_el), _sigma2(3.0 * opts.phase_sigma_m, sin_el)])
        # outliers: normalised innovations (each row's against the prediction, independent of the
        # others), and absolute limits once the prediction is better than a third of them
        hph = np.einsum("ij,ij->i", H @ P_pred, H)  # diag(H P H^T)
        norm = np.abs(v) / np.sqrt(hph + var)
        absolute = np.concatenate([np.full(k, opts.outlier_code_m), np.full(k, opts.outlier_phase_m)])
        bad = (norm > opts.outlier_sigma) | ((np.sqrt(hph) < absolute / 3) & (np.abs(v) > absolute))
        use = np.ones(2 * k, dtype=bool)
        if bad.any() and bad[k:].sum() <= k // 2:  # more than half: a common cause, not outliers
            bad_phase = bad[k:]
            use[:k] = ~(bad[:k] | bad_phase)
            use[k:] = ~bad_phase
            for j in np.flatnonzero(bad).tolist():
                s = int(sats[j % k])
                kind = "phase" if j >= k else "code"
                self.rejections.append((t, satellite_id(s), kind, float(v[j])))
                if kind == "phase":
                    self._outlier_count[s] += 1
                    if self._outlier_count[s] >= 3:
                        self._pending_slip[s] = True  # restart its ambiguity next epoch
        if use[k:].sum() < 4:
            row["reason"] = "fewer than 4 phases passed the outlier test"
            self.x, self.P = x_pred, P_pred
            return None
        try:
            x, P, _S = update(x_pred, P_pred, v[use], H[use], np.diag(var[use]))
        except np.linalg.LinAlgError:
            row["reason"] = "singular filter update"
            self.x, self.P = x_pred, P_pred
            return None
        dx = x[:3] - lin
        self.x, self.P = x, P
        post = base - H @ x
        row["sats"] = sats.copy()
        row["code_res"] = np.where(use[:k], post[:k], np.nan)
        row["phase_res"] = np.where(use[k:], post[k:], np.nan)
        row["n"] = int(use[k:].sum())
        return dx

    def _update_uncombined(self, t, sats, letters, prep, i, valid, lin, row):
        """Measurement update of the uncombined model: per satellite the codes and phases of
        one or two frequencies with the slant ionosphere (L1 delay, ``gamma = (f1/f)^2`` on
        other frequencies; codes delayed, phases advanced), and the IONEX prior of the slant
        delay as a pseudo-observation (sigma 30 % of it, at least 0.3 m) with one frequency when
        maps are given."""
        from .kalman import update

        opts = self.opts
        x_pred = self.x.copy()
        P_pred = self.P
        nst = len(x_pred)
        k = len(sats)
        nf = opts.frequencies
        e, mw = prep["e"][i][valid], prep["mw"][i][valid]
        gn, ge, el = prep["gn"][i][valid], prep["ge"][i][valid], prep["el"][i][valid]
        gamma = np.stack([np.ones(k), prep["gamma2"][valid]])[:nf]  # (nf, k)
        prior = prep["iono_prior"][i][valid]
        use_prior = np.isfinite(prior)
        rows = 2 * nf * k + int(use_prior.sum())
        H = np.zeros((rows, nst))
        z0 = np.zeros(rows)
        var = np.zeros(rows)
        sin_el = np.sin(el)
        amb0 = np.array([self._amb[s] for s in sats.tolist()])
        code_sigma = opts.code_sigma_m * np.where(letters == "R", opts.glonass_code_factor, 1.0)
        r = 0
        for kind in ("code", "phase"):
            for f in range(nf):
                sl = slice(r, r + k)
                H[sl, :3] = -e
                H[sl, 3] = mw
                if opts.uses("gradients"):
                    H[sl, 4], H[sl, 5] = gn, ge
                for sys_letter, ci in self._clock_index.items():
                    H[sl, ci] = letters == sys_letter
                sign = 1.0 if kind == "code" else -1.0
                H[np.arange(r, r + k), amb0] = sign * gamma[f]
                if kind == "phase":
                    H[np.arange(r, r + k), amb0 + 1 + f] = 1.0
                z0[sl] = prep["uc_" + kind][f][i][valid]
                var[sl] = _sigma2(code_sigma if kind == "code" else opts.phase_sigma_m, sin_el)
                r += k
        pr = np.flatnonzero(use_prior)
        H[r + np.arange(len(pr)), amb0[pr]] = 1.0
        z0[r:] = prior[pr]
        var[r:] = np.maximum(0.3 * np.abs(prior[pr]), 0.3) ** 2
        base = z0.copy()
        base[:r] += H[:r, :3] @ lin
        partial = base - H @ x_pred
        for sys_letter, ci in self._clock_index.items():
            msk = letters == sys_letter
            if msk.any():
                x_pred[ci] += float(np.mean(partial[:k][msk]))
        v = base - H @ x_pred
        hph = np.einsum("ij,ij->i", H @ P_pred, H)  # diag(H P H^T)
        norm = np.abs(v) / np.sqrt(hph + var)
        absolute = np.concatenate([np.full(nf * k, opts.outlier_code_m), np.full(nf * k, opts.outlier_phase_m),
                                   np.full(len(pr), np.inf)])
        bad = (norm > opts.outlier_sigma) | ((np.sqrt(hph) < absolute / 3) & (np.abs(v) > absolute))
        bad[r:] = False
        use = np.ones(rows, dtype=bool)
        phase_bad = bad[nf * k:r].reshape(nf, k).any(axis=0)
        if bad.any() and phase_bad.sum() <= k // 2:
            code_bad = bad[:nf * k].reshape(nf, k).any(axis=0) | phase_bad
            use[:nf * k] = ~np.tile(code_bad, nf)
            use[nf * k:r] = ~np.tile(phase_bad, nf)
            for j in np.flatnonzero(code_bad | phase_bad).tolist():
                self.rejections.append((t, satellite_id(int(sats[j])), "phase" if phase_bad[j] else "code",
                                        float(v[nf * k + j] if phase_bad[j] else v[j])))
                if phase_bad[j]:
                    self._outlier_count[int(sats[j])] += 1
                    if self._outlier_count[int(sats[j])] >= 3:
                        self._pending_slip[int(sats[j])] = True
        if use[nf * k:r].reshape(nf, k).all(axis=0).sum() < 4:
            row["reason"] = "fewer than 4 phases passed the outlier test"
            return None
        try:
            x, P, _S = update(x_pred, P_pred, v[use], H[use], np.diag(var[use]))
        except np.linalg.LinAlgError:
            row["reason"] = "singular filter update"
            return None
        dx = x[:3] - lin
        self.x, self.P = x, P
        post = base - H @ x
        ok_phase = use[nf * k:nf * k + k]
        row["sats"] = sats.copy()
        row["code_res"] = np.where(use[:k], post[:k], np.nan)
        row["phase_res"] = np.where(ok_phase, post[nf * k:nf * k + k], np.nan)
        row["n"] = int(ok_phase.sum())
        return dx

    # ------------------------------------------------------------------ output
    def solution(self) -> PppSolution:
        """The rows processed so far as a :class:`PppSolution`."""
        rows = self.rows
        m = len(rows)
        all_sats = sorted({int(s) for r in rows for s in r["sats"].tolist()})
        col = {s: i for i, s in enumerate(all_sats)}
        n = len(all_sats)
        phase = np.full((m, n), np.nan)
        code = np.full((m, n), np.nan)
        elev = np.full((m, n), np.nan)
        for i, r in enumerate(rows):
            if len(r["sats"]):
                c = [col[int(s)] for s in r["sats"].tolist()]
                phase[i, c] = r["phase_res"]
                code[i, c] = r["code_res"]
                if len(r["elevation"]) == len(c):
                    elev[i, c] = r["elevation"]
        clocks = {s: np.array([r["clock"].get(s, np.nan) for r in rows]) for s in self._systems}
        notes = list(self.notes)
        if self._missing_sat_antenna:
            missing = sorted(self._missing_sat_antenna)
            mode = self.opts.missing_satellite_antenna
            what = {"nominal": "nominal per-system z offsets used (error up to ~1 m in z, 0.4 m in x: a few cm in "
                               "range varying with the nadir angle, mostly absorbed by clocks and height)",
                    "zero": "offsets taken as zero (up to ~2.5 m in z: several cm of height error)",
                    "exclude": "satellites excluded"}[mode]
            text = (f"no ANTEX satellite antenna for {len(missing)} satellites ({', '.join(missing[:12])}"
                    f"{', ...' if len(missing) > 12 else ''}): {what}")
            if self.ar is not None and any(sid[0] in AR_SYSTEMS for sid in missing):
                text += ("; integer ambiguities need the satellite antenna offsets the products were made with "
                         "(the centre's ANTEX, IGS20 igs20.atx for GRG/CODE since 2022): offset errors that differ "
                         "between satellites by more than ~2 cm keep the narrow-lane (10.7 cm) float (bench/ppp_ar.py)")
            notes.append(text)
            self._once("satant", text)
        ecl = sorted(self._eclipsed)
        if ecl:
            notes.append(f"{len(ecl)} satellites excluded while in the Earth's shadow (+"
                         f"{self.opts.eclipse_exclusion_s:g} s): {', '.join(satellite_id(int(s)) for s in ecl)}")
        return PppSolution(
            time_ns=np.array([r["time_ns"] for r in rows], dtype=np.int64),
            position_m=np.array([r["position_m"] for r in rows]).reshape(m, 3),
            covariance_m2=np.array([r["covariance_m2"] for r in rows]).reshape(m, 3, 3),
            quality=np.array([r["quality"] for r in rows], dtype=np.int8),
            n_satellites=np.array([r["n"] for r in rows], dtype=np.int16),
            ztd_m=np.array([r["ztd"] for r in rows]),
            ztd_sigma_m=np.array([r["ztd_sigma"] for r in rows]),
            gradient_m=np.array([r["gradient"] for r in rows]).reshape(m, 2),
            clock_m=clocks,
            satellites=np.array(all_sats, dtype=np.int16),
            phase_residuals_m=phase, code_residuals_m=code, elevation_rad=elev,
            reasons_text=np.array([r["reason"] for r in rows], dtype=object),
            gradient_sigma_m=np.array([r["gradient_sigma"] for r in rows]).reshape(m, 2),
            fixed=np.array([r["fixed"] for r in rows], dtype=bool),
            n_fixed=np.array([r["n_fixed"] for r in rows], dtype=np.int16),
            n_widelane=np.array([r["n_widelane"] for r in rows], dtype=np.int16),
            ratio=np.array([r["ratio"] if r["fixed"] else 0.0 for r in rows]),
            float_position_m=np.array([r["float_position_m"] for r in rows]).reshape(m, 3),
            wl_fractions=np.array(list(self._wl_fractions.values())),
            ambiguities=np.concatenate(self._amb_log) if self._amb_log else None,
            mode=self.opts.mode, models=dict(self.models), notes=notes, rejections=list(self.rejections),
            options={"mode": f"ppp-{self.opts.mode}", "elevation_mask_deg": self.opts.elevation_mask_deg,
                     "pos_mode": f"PPP {self.opts.mode.capitalize()}", "iono": "iono-free",
                     "ephemeris": "Precise", "models": dict(self.models),
                     "frame": str(getattr(self.products.sp3.header, "coordinate_system", "") or "")},
        )


def _empty_row(t: int) -> dict:
    return {"time_ns": int(t), "position_m": np.full(3, np.nan), "covariance_m2": np.full((3, 3), np.nan),
            "quality": 0, "n": 0, "ztd": np.nan, "ztd_sigma": np.nan, "gradient": np.full(2, np.nan),
            "gradient_sigma": np.full(2, np.nan),
            "clock": {}, "sats": np.zeros(0, dtype=np.int64), "phase_res": np.zeros(0),
            "code_res": np.zeros(0), "elevation": np.zeros(0), "reason": "", "fixed": False, "n_fixed": 0,
            "n_widelane": 0, "ratio": 0.0, "float_position_m": np.full(3, np.nan)}


def _continuous_cycles(w, valid, previous):
    """Wind-up (m, n) made continuous down each column over its valid values, starting from
    ``previous`` (n,) (NaN: free start): each value moved by the whole cycles that bring it
    closest to the last valid one."""
    out = np.array(w, dtype=np.float64)
    for j in range(out.shape[1]):
        rows = np.flatnonzero(valid[:, j])
        if not len(rows):
            continue
        vals = out[rows, j]
        prev = previous[j]
        first = vals[0] + (np.floor(prev - vals[0] + 0.5) if np.isfinite(prev) else 0.0)
        steps = np.diff(vals)
        vals = first + np.concatenate([[0.0], np.cumsum(steps - np.round(steps))])
        out[rows, j] = vals
    return out


def _last_valid(values, valid):
    """(n,) the last valid value of each column (NaN where none)."""
    m = values.shape[0]
    idx = np.where(valid, np.arange(m)[:, None], -1).max(axis=0)
    return np.where(idx >= 0, values[np.maximum(idx, 0), np.arange(values.shape[1])], np.nan)


def _code_positions(p_if, pos_s, clk_s, valid, letters, systems, x0, iterations=8):
    """Ionosphere-free code least squares of every epoch at once: (m, 3) positions, NaN where
    an epoch has too few satellites or does not converge. One clock per system; a fixed
    2.3 m zenith tropospheric delay (1 / sin el) once near the surface."""
    from ..models.measurement import geometry

    m, n = p_if.shape
    sys_cols = [s for s in systems if (letters == s).any()]
    u = 3 + len(sys_cols)
    x = np.broadcast_to(np.asarray(x0, dtype=float), (m, 3)).copy()
    clocks = np.zeros((m, len(sys_cols)))
    w = valid.astype(float)
    ps = np.where(valid[..., None], pos_s, 1.0e7)
    cs = np.where(valid, clk_s, 0.0)
    ok = valid.sum(axis=1) >= u
    sysmat = np.stack([(letters == s).astype(float) for s in sys_cols], axis=1)  # (n, c)
    for _ in range(iterations):
        geo = geometry(x[:, None, :], ps)
        model = geo.range_m - SPEED_OF_LIGHT * cs + clocks @ sysmat.T
        near = np.linalg.norm(x, axis=1) > 6.0e6
        trop = np.where(near[:, None], 2.3 / np.maximum(np.sin(geo.elevation_rad), 0.1), 0.0)
        v = np.where(valid, p_if - model - trop, 0.0)
        H = np.concatenate([-geo.unit_vector, np.broadcast_to(sysmat, (m, n, len(sys_cols)))], axis=2)
        N = np.einsum("mni,mn,mnj->mij", H, w, H) + np.eye(u) * 1e-9
        b = np.einsum("mni,mn,mn->mi", H, w, v)
        dx = np.linalg.solve(N[ok], b[ok][..., None])[..., 0]
        x[ok] += dx[:, :3]
        clocks[ok] += dx[:, 3:]
        if not len(dx) or np.abs(dx[:, :3]).max() < 1e-3:
            break
    geo = geometry(x[:, None, :], ps)
    model = geo.range_m - SPEED_OF_LIGHT * cs + clocks @ sysmat.T + 2.3 / np.maximum(np.sin(geo.elevation_rad), 0.1)
    res = np.where(valid, p_if - model, np.nan)
    with np.errstate(invalid="ignore"):
        rms = np.sqrt(np.nanmean(res**2, axis=1))
    good = ok & (np.linalg.norm(x, axis=1) > 6.0e6) & (rms < 100.0)
    x[~good] = np.nan
    return x


def _take_states(states, index):
    """The satellite states of the selected satellites (rows of 1-D fields)."""
    import dataclasses

    out = {}
    for f in dataclasses.fields(states):
        v = getattr(states, f.name)
        out[f.name] = v[index] if isinstance(v, np.ndarray) and v.ndim >= 1 else v
    return type(states)(**out)


def _fmt(t: int) -> str:
    from ..gnss_time import format_gpst

    return format_gpst(int(t))


def solve_ppp(obs, products: PppProducts, options: PppOptions | None = None, *,
              progress=None) -> PppSolution:
    """PPP of every epoch of ``obs`` (:class:`~satnav.observations.Observations`): a loop of
    :meth:`PppEngine.process_arrays` over the epochs (the arrays of the whole file are
    taken once). Warns (and says on the solution) what the products lack for the
    observations' span. ``progress(epochs_done, epochs)`` as the filter goes
    (:mod:`satnav.progress`)."""
    options = options or PppOptions()
    engine = PppEngine(products, options, obs.header, obs.source or "")
    _check_span(obs, products)
    engine._plan = engine._signal_plan(obs.header.obs_codes or obs.codes_by_system())
    sats_all = obs.satellite_indices
    letters = np.asarray(system_of(sats_all))
    dense = {}
    for s, (c1, l1, c2, l2, _f1, _f2) in engine._plan.items():
        sel = sats_all[letters == s]
        if not len(sel):
            continue
        arrays = []
        for code in (c1, c2, l1, l2):
            try:
                arrays.append(obs.dense(code, sel))
            except KeyError:
                arrays.append(np.full((len(obs.epochs), len(sel)), np.nan))
        for code in (l1, l2):
            try:
                arrays.append(obs.dense(code, sel, "lli"))
            except KeyError:
                arrays.append(np.full((len(obs.epochs), len(sel)), -1, dtype=np.int8))
        dense[s] = (sel, arrays)
    epochs = np.asarray(obs.epochs, dtype=np.int64)
    m = len(epochs)
    engine.precompute(epochs)
    sats = np.concatenate([sel for sel, _ in dense.values()]).astype(np.int64) if dense else np.zeros(0, np.int64)
    p1, p2, l1, l2, lli1, lli2 = (np.concatenate([arrays[k] for _, arrays in dense.values()], axis=1)
                                  for k in range(6))
    # cycle slips of the whole file at once (gaps, LLI, geometry-free, Melbourne-Wuebbena)
    from .cycle_slips import detect_slips

    letters, f1, f2, _a1, _a2 = engine._combination(sats)
    slips = detect_slips(np.stack([l1, l2], axis=-1), np.stack([p1, p2], axis=-1),
                         np.stack([lli1, lli2], axis=-1).astype(np.int8),
                         frequency_hz=np.stack([f1, f2], axis=-1), time_ns=epochs).any(axis=2)
    use = engine._clock_available(epochs)
    rows_idx = np.flatnonzero(use)
    prep = None
    if len(rows_idx) and len(sats):
        e_t = epochs[rows_idx]
        states = engine._satellite_states(e_t, sats[None, :], p1[rows_idx])
        apriori = engine._apriori(e_t, sats, p1[rows_idx], p2[rows_idx], states)
        prep = engine._prepare(e_t, sats, p1[rows_idx], p2[rows_idx], l1[rows_idx], l2[rows_idx], states, apriori)
    k = 0
    counter = ProgressCounter(progress, m)
    for i in range(m):
        t = int(epochs[i])
        engine._pending_slip[sats] |= slips[i]
        engine._widelane(t, sats, p1[i], p2[i], l1[i], l2[i], slips[i])
        row = _empty_row(t)
        if not use[i]:
            row["reason"] = "no precise clock sample at this epoch"
        elif prep is not None:
            engine._step(t, prep, k, row)
            k += 1
        engine.rows.append(row)
        counter.update(i + 1)
    counter.finish()
    return engine.solution()


def _concat_states(parts):
    import dataclasses

    if len(parts) == 1:
        return parts[0]
    out = {}
    for f in dataclasses.fields(parts[0]):
        v = [getattr(p, f.name) for p in parts]
        out[f.name] = np.concatenate(v) if isinstance(v[0], np.ndarray) and v[0].ndim >= 1 else v[0]
    return type(parts[0])(**out)


def _check_span(obs, products: PppProducts) -> None:
    if not len(obs.epochs):
        return
    first, last = int(obs.epochs.min()), int(obs.epochs.max())
    t = np.asarray(products.sp3.time, dtype=np.int64)
    if not len(t) or t.max() < first or t.min() > last:
        raise SatnavError(f"precise orbits cover {_fmt(int(t.min()))} .. {_fmt(int(t.max()))} but the observations "
                          f"{_fmt(first)} .. {_fmt(last)}: expected SP3 files of the observation days")
    if t.min() > first or t.max() < last:
        _warn(f"precise orbits cover {_fmt(int(t.min()))} .. {_fmt(int(t.max()))}, the observations {_fmt(first)} .. "
              f"{_fmt(last)}: epochs outside the products are not solved (give the neighbouring days' SP3 files too)")
    if products.clk is not None:
        c = np.asarray(products.clk.satellite_time, dtype=np.int64)
        if len(c) and (c.min() > first or c.max() < last):
            _warn(f"precise clocks cover {_fmt(int(c.min()))} .. {_fmt(int(c.max()))}, the observations {_fmt(first)} "
                  f".. {_fmt(last)}: epochs outside are not solved")
