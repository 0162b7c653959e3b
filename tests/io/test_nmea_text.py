"""NMEA sentences formatted directly (satnav.io.nmea_text) against pynmeagps: the same bytes as
pynmeagps's own encoder (NMEAMessage.serialize, which takes the hemisphere from the sign of
the latitude and longitude, not from NS/EW) and read back by its parser with checksums checked."""

from __future__ import annotations

import datetime as dt
import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satnav.io.nmea_text import (
    nmea_date,
    nmea_latitude,
    nmea_longitude,
    nmea_number,
    nmea_sentence,
    nmea_time,
)

pynmeagps = pytest.importorskip("pynmeagps")
GET = pynmeagps.GET


def _reference_gga(tm, la, lo, q, nsv, hdop, alt, age):
    return pynmeagps.NMEAMessage(
        "GN", "GGA", GET, hpnmeamode=True, time=tm, lat=la, NS="N" if la >= 0 else "S", lon=lo,
        EW="E" if lo >= 0 else "W", quality=q, numSV=nsv, HDOP=round(hdop, 1) if math.isfinite(hdop) else "",
        alt=round(alt, 4), altUnit="M", sep=0.0, sepUnit="M", diffAge=round(age, 1) if math.isfinite(age) else "",
        diffStation="").serialize()


def _ours_gga(tm, la, lo, q, nsv, hdop, alt, age):
    lat, ns = nmea_latitude(la)
    lon, ew = nmea_longitude(lo)
    return nmea_sentence("GNGGA", (nmea_time(tm), lat, ns, lon, ew, str(q), str(nsv), nmea_number(hdop, 1),
                                   nmea_number(alt, 4), "M", "0.0", "M", nmea_number(age, 1), ""))


@settings(max_examples=300, deadline=None)
@given(la=st.floats(-90, 90), lo=st.floats(-180, 180), hdop=st.floats(0, 99.9) | st.just(math.nan),
       alt=st.floats(-500, 9000), age=st.floats(0, 99) | st.just(math.nan), q=st.sampled_from([0, 1, 2, 4, 5]),
       nsv=st.integers(0, 60), us=st.integers(0, 999_999))
def test_gga_bytes_equal_pynmeagps(la, lo, hdop, alt, age, q, nsv, us):
    tm = dt.time(13, 7, 59, us)
    assert _ours_gga(tm, la, lo, q, nsv, hdop, alt, age) == _reference_gga(tm, la, lo, q, nsv, hdop, alt, age)


@settings(max_examples=100, deadline=None)
@given(la=st.floats(-90, 90), lo=st.floats(-180, 180), spd=st.floats(0, 500), cog=st.floats(0, 359.99),
       day=st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))
def test_rmc_bytes_equal_pynmeagps(la, lo, spd, cog, day):
    tm = dt.time(0, 0, 42)
    ref = pynmeagps.NMEAMessage(
        "GN", "RMC", GET, hpnmeamode=True, time=tm, status="A", lat=la, NS="N" if la >= 0 else "S",
        lon=lo, EW="E" if lo >= 0 else "W", spd=round(spd, 3), cog=round(cog, 2), date=day, mv="", mvEW="",
        posMode="R", navStatus="S").serialize()
    lat, ns = nmea_latitude(la)
    lon, ew = nmea_longitude(lo)
    ours = nmea_sentence("GNRMC", (nmea_time(tm), "A", lat, ns, lon, ew, nmea_number(spd, 3), nmea_number(cog, 2),
                                   nmea_date(day), "", "", "R", "S"))
    assert ours == ref


def test_gsa_and_gst_bytes_equal_pynmeagps():
    ids = [5, 7, 9, 13, 15, 18, 27, 28, 30]
    svs = {f"svid_{k + 1:02d}": (ids[k] if k < len(ids) else "") for k in range(12)}
    ref = pynmeagps.NMEAMessage("GN", "GSA", GET, opMode="A", navMode=3, PDOP=1.2, HDOP=0.7, VDOP="",
                                systemId=1, **svs).serialize()
    ours = nmea_sentence("GNGSA", ("A", "3", *map(str, ids), *[""] * 3, "1.2", "0.7", "", "1"))
    assert ours == ref
    ref = pynmeagps.NMEAMessage("GN", "GST", GET, time=dt.time(23, 59, 59, 990000), rangeRms=0.802, stdMajor="",
                                stdMinor="", orient="", stdLat=0.129, stdLong=0.141, stdAlt="").serialize()
    ours = nmea_sentence("GNGST", (nmea_time(dt.time(23, 59, 59, 990000)), "0.802", "", "", "", "0.129", "0.141", ""))
    assert ours == ref


def test_live_lines_read_back_by_pynmeagps():
    """The live outputs' sentences (solved, RTK fixed, unsolved) parse with checksums checked
    and carry the fix's position to the 7th decimal of a minute."""
    from satnav.frames import geodetic_to_ecef
    from satnav.streams.outputs import LiveFix, nmea_lines

    lat, lon, h = np.radians(-33.918861), np.radians(-151.2), 45.123
    x = np.asarray(geodetic_to_ecef(lat, lon, h), float).reshape(3)
    t = 1_277_000_000 * 1_000_000_000
    fixed = LiveFix(t, x, 1, True, "rtk-kinematic", n_satellites=14, satellites=[1, 3, 105, 201, 210],
                    hdop=0.6, pdop=1.1, vdop=0.9, covariance_m2=np.diag([1e-4, 2e-4, 4e-4]), age_s=1.04)
    none = LiveFix(t, np.full(3, np.nan), 0, False, "none")
    text = nmea_lines(fixed) + nmea_lines(none)
    msgs = [m for _, m in pynmeagps.NMEAReader(io.BytesIO(text), validate=pynmeagps.VALCKSUM)]
    kinds = [m.msgID for m in msgs]
    assert kinds == ["GGA", "RMC", "GSA", "GSA", "GSA", "GST", "GGA", "RMC"]
    gga = msgs[0]
    assert gga.quality == 4 and gga.numSV == 14 and gga.HDOP == 0.6 and gga.diffAge == 1.0
    assert abs(gga.lat - math.degrees(lat)) < 1e-9 and abs(gga.lon - math.degrees(lon)) < 1e-9
    assert abs(gga.alt - h) < 1e-4
    gsa = [m for m in msgs if m.msgID == "GSA"]
    assert [str(m.systemId) for m in gsa] == ["1", "2", "3"] and all(m.PDOP == 1.1 and m.VDOP == 0.9 for m in gsa)
    assert msgs[6].quality == 0 and msgs[6].lat == "" and msgs[7].status == "V"


def test_live_utc_equals_the_solution_writers_utc():
    """The live outputs' UTC of a GPST time (leap seconds looked up once per day) equals the
    solution writers' (satnav.io.solution), leap-second days included."""
    from satnav.gnss_time import calendar_to_ns
    from satnav.io.solution import _utc_datetimes
    from satnav.streams.outputs import _utc

    rng = np.random.default_rng(7)
    times = [calendar_to_ns(2016, 12, 31, 23, 59, 50) + k * 500_000_000 for k in range(60)]
    times += [calendar_to_ns(2015, 7, 1, 0, 0, 0) + k * 1_000_000_000 for k in range(-30, 30)]
    times += list(calendar_to_ns(1999, 1, 1, 0, 0, 0) + rng.integers(0, 30 * 365 * 86400, 300) * 1_000_000_000
                  + rng.integers(0, 1_000_000_000, 300))
    want = _utc_datetimes(np.array(times, np.int64))
    assert [_utc(int(t)) for t in times] == want


@settings(max_examples=300, deadline=None)
@given(body=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=120))
def test_checksum_is_the_xor_of_the_characters(body):
    from satnav.io.nmea_text import nmea_checksum

    x = 0
    for ch in body:
        x ^= ord(ch)
    assert nmea_checksum(body) == f"{x:02X}"
