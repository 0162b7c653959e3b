"""Physical and per-system constants, with their sources.

All values SI: m, s, rad, Hz. Each number is written here once; the per-system tables that
use them (which band digit is which carrier, ...) are in :mod:`satnav.signals`.
"""

from __future__ import annotations

#: Speed of light in vacuum (m/s), exact (IS-GPS-200, all GNSS ICDs).
SPEED_OF_LIGHT = 299_792_458.0

# --- Ellipsoids ----------------------------------------------------------------------
#: WGS84 semi-major axis (m) and flattening (NGA.STND.0036).
WGS84_A = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
#: PZ-90.11 semi-major axis (m) and flattening (GLONASS ICD 2008 ed. 5.1, PZ-90.11 ref.).
PZ90_A = 6_378_136.0
PZ90_F = 1.0 / 298.25784

# --- Gravitational parameters (m^3/s^2) and Earth rotation rates (rad/s) --------------
GM_GPS = 3.986005e14  # IS-GPS-200 20.3.3.4.3
OMEGA_E_GPS = 7.2921151467e-5  # IS-GPS-200
GM_GALILEO = 3.986004418e14  # Galileo OS SIS ICD 5.1.1
OMEGA_E_GALILEO = 7.2921151467e-5
GM_BEIDOU = 3.986004418e14  # BDS-SIS-ICD (CGCS2000)
OMEGA_E_BEIDOU = 7.2921150e-5
GM_GLONASS = 3.9860044e14  # GLONASS ICD 5.1 (PZ-90)
OMEGA_E_GLONASS = 7.292115e-5
J2_GLONASS = 1.0826257e-3  # GLONASS ICD 5.1, second zonal harmonic (C20 = -J2)
AE_GLONASS = 6_378_136.0
#: PZ-90.02/PZ-90.11 values tabulated in GLONASS ICD ed. 5.1 (2008), table 3.2, used by the
#: broadcast orbit integration (satnav.orbits.glonass); the RTKLIB-style values above are the
#: older PZ-90 figures (differences move a 30 min integration by < 5 mm).
GM_PZ90_11 = 3.986004418e14
J2_PZ90_11 = 1.08262575e-3
GM_QZSS = GM_GPS  # IS-QZSS follows IS-GPS-200
OMEGA_E_QZSS = OMEGA_E_GPS
GM_NAVIC = 3.986005e14  # IRNSS SPS ICD 1.1
OMEGA_E_NAVIC = 7.2921151467e-5

# --- Earth gravity field and third bodies (designed-constellation propagation, simulation) --
#: Earth's gravitational parameter (m^3/s^2), atmosphere included: WGS84 (NGA.STND.0036,
#: 2014, table 3.1); the same value as IERS Conventions 2010 table 1.1 and the Galileo and
#: BeiDou ICDs (:data:`GM_GALILEO`, :data:`GM_BEIDOU`).
GM_EARTH = 3.986004418e14
#: Earth's second zonal harmonic J2 = -sqrt(5) C20 (unnormalized), with EGM96's normalized
#: C20 = -0.484165371736e-3 (Lemoine et al. 1998, NASA/TP-1998-206861). Used with
#: :data:`WGS84_A` as reference radius (EGM96's own is 6378136.3 m: 2e-7 of the J2 term).
J2_EARTH = 1.0826266835531513e-3
#: Gravitational parameters of Sun and Moon (m^3/s^2), JPL DE430 (TDB-compatible) values.
GM_SUN = 1.32712440041e20
GM_MOON = 4.902800066e12

#: Relativistic clock correction constant F = -2 sqrt(GM) / c^2 (s/m^0.5), IS-GPS-200.
F_RELATIVITY_GPS = -4.442807633e-10

# --- Carrier frequencies (Hz) --------------------------------------------------------
FREQ_L1 = 1_575.42e6
FREQ_L2 = 1_227.60e6
FREQ_L5 = 1_176.45e6
FREQ_E5B = 1_207.14e6
FREQ_E5 = 1_191.795e6
FREQ_E6 = 1_278.75e6
FREQ_B1I = 1_561.098e6
FREQ_B3I = 1_268.52e6
FREQ_S = 2_492.028e6
#: GLONASS FDMA: f = base + k * step, k = -7..+6 (GLONASS ICD 5.1, 3.3.1.4)
FREQ_G1_BASE, FREQ_G1_STEP = 1_602.0e6, 0.5625e6
FREQ_G2_BASE, FREQ_G2_STEP = 1_246.0e6, 0.4375e6
FREQ_G1A = 1_600.995e6  # GLONASS CDMA L1OC
FREQ_G2A = 1_248.06e6  # GLONASS CDMA L2OC
FREQ_G3 = 1_202.025e6  # GLONASS CDMA L3OC

# Which of these frequencies is which RINEX band of which system is the signal registry's
# business: :data:`satnav.signals.SIGNALS`, :func:`satnav.signals.carrier_frequency`.
