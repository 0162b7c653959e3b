"""The per-system signal registry (satnav.signals): coverage, ICD values, and the tables
that other modules keep as aliases of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import SimpleNamespace

import numpy as np
import pytest

import satnav
from satnav import signals
from satnav.satellites import SYSTEM_NAMES, SYSTEMS, satellite_index
from satnav.signals import SIGNALS, SystemSignals, carrier_frequency, glonass_channels, per_system

#: Fundamental frequency of GPS, Galileo, BeiDou, QZSS, NavIC clocks (Hz), IS-GPS-200 3.3.1.1.
F0 = 10.23e6


def test_registry_covers_exactly_the_systems():
    """Adding a system means one SYSTEM_NAMES entry and one SIGNALS entry: nothing else."""
    assert "".join(SIGNALS) == SYSTEMS
    assert "".join(SYSTEM_NAMES) == SYSTEMS
    for letter, entry in SIGNALS.items():
        assert isinstance(entry, SystemSignals)
        assert entry.letter == letter
        assert entry.name == SYSTEM_NAMES[letter]
        assert entry.number == SYSTEMS.index(letter)
        assert entry.clock_group in SYSTEMS
        assert entry.carrier_hz or entry.fdma_hz
    # every per-system table built from the registry has one key per system (the optional
    # ones leave out only the systems whose entry says None)
    for f in dataclasses.fields(SystemSignals):
        if f.name == "letter":
            continue
        table = per_system(f.name)
        missing = {s for s in SYSTEMS if getattr(SIGNALS[s], f.name) is None}
        assert set(table) == set(SYSTEMS) - missing, f.name
        assert list(table) == [s for s in SYSTEMS if s in table], f.name


def test_entries_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SIGNALS["G"].error_factor = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        SIGNALS["G"].carrier_hz["1"] = 0.0  # type: ignore[index]
    with pytest.raises(TypeError):
        SIGNALS["X"] = SIGNALS["G"]  # type: ignore[index]


def test_codes_are_rinex_codes_of_bands_the_system_has():
    """Every preferred code is a RINEX 3.05 pseudorange code (C + band + attribute) on a
    band whose carrier the registry knows."""
    for letter, e in SIGNALS.items():
        groups = [e.spp_codes, *e.spp_multi_codes, *(e.spp_iono_free_codes or ())]
        for group in groups:
            for code in group:
                assert len(code) == 3 and code[0] == "C", code
                assert code[1] in e.bands, (letter, code)
        for band_attr in e.simulated_signals:
            assert band_attr[0] in e.bands
        for bands in (e.rtk_bands or {}).values():
            assert all(b in e.bands for b in bands)
        assert all(b in e.carrier_hz for b in e.android_bands)
        assert set(e.android_attributes) <= set(e.bands)
        if e.precise_bands is not None:
            assert all(b in e.bands for b in e.precise_bands)


def test_carrier_frequencies_against_the_icds():
    # IS-GPS-200 / IS-GPS-705: L1 = 154 f0, L2 = 120 f0, L5 = 115 f0
    assert carrier_frequency("G", "1") == 154 * F0
    assert carrier_frequency("G", "2") == 120 * F0
    assert carrier_frequency("G", "5") == 115 * F0
    # Galileo OS SIS ICD: E5b 118 f0, E5 116.5 f0, E6 125 f0
    assert carrier_frequency("E", "7") == pytest.approx(118 * F0, abs=1e-3)
    assert carrier_frequency("E", "8") == pytest.approx(116.5 * F0, abs=1e-3)
    assert carrier_frequency("E", "6") == pytest.approx(125 * F0, abs=1e-3)
    # BDS-SIS-ICD: B1I 152.6 f0, B3I 124 f0; RINEX band 2 is B1I, 6 is B3I
    assert carrier_frequency("C", "2") == pytest.approx(152.6 * F0, abs=1e-3)
    assert carrier_frequency("C", "6") == pytest.approx(124 * F0, abs=1e-3)
    # IRNSS SPS ICD: S band 243.6 f0
    assert carrier_frequency("I", "9") == pytest.approx(243.6 * F0, abs=1e-3)
    # GLONASS ICD 5.1: G1 = 1602 + 0.5625 k MHz, G2 = 1246 + 0.4375 k MHz
    assert carrier_frequency("R", "1", 0) == 1602.0e6
    assert carrier_frequency("R", "1", -7) == pytest.approx(1598.0625e6, abs=1e-3)
    assert carrier_frequency("R", "2", 6) == pytest.approx(1248.625e6, abs=1e-3)
    k = np.arange(-7, 7)
    np.testing.assert_allclose(carrier_frequency("R", "2", k), 1246.0e6 + 0.4375e6 * k, rtol=0, atol=1e-3)
    with pytest.raises(ValueError, match="channel"):
        carrier_frequency("R", "1")
    with pytest.raises(ValueError, match="no carrier"):
        carrier_frequency("G", "7")
    with pytest.raises(ValueError, match="no carrier"):
        carrier_frequency("X", "1")


def test_old_module_tables_are_the_registry():
    from satnav.constellation import simulate
    from satnav.estimators import rtk, spp
    from satnav.io import android, solution
    from satnav.report import plots

    assert spp.DEFAULT_SIGNALS == per_system("spp_codes")
    assert spp.MULTI_SIGNALS == per_system("spp_multi_codes")
    assert spp.IONO_FREE_SIGNALS == per_system("spp_iono_free_codes")
    assert spp.SYSTEM_ERROR_FACTORS == {"G": 1.0, "R": 1.5, "E": 1.0, "C": 1.0, "J": 1.0, "I": 1.5, "S": 3.0}
    assert spp.CLOCK_GROUP_OF == {"G": "G", "J": "G", "S": "G", "R": "R", "E": "E", "C": "C", "I": "I"}
    assert rtk.FREQUENCY_BANDS == per_system("rtk_bands")
    assert set(rtk.FREQUENCY_BANDS) == set("GRECJ")
    assert simulate.DEFAULT_SIGNALS == per_system("simulated_signals", skip_empty=True)
    assert android.CONSTELLATION_TYPES == {1: "G", 2: "S", 3: "R", 4: "J", 5: "C", 6: "E", 7: "I"}
    assert set(android._BANDS) == set(SYSTEMS)
    assert solution._NMEA_TALKER == {"G": "GP", "S": "GP", "R": "GL", "E": "GA", "C": "GB", "J": "GQ", "I": "GI"}
    assert set(plots.SYSTEM_COLORS) == set(SYSTEMS)


def _old_spp_channels(obs, nav, sats):
    """The three former copies (spp._glonass_channels / _nav_glonass_channels), kept here to
    show the registry's function returns the same."""
    k = np.full(len(sats), np.nan)
    slots = obs.header.glonass_slots or {}
    for i, sid in enumerate(satnav.satellites.satellite_ids(sats)):
        if sid in slots:
            k[i] = slots[sid]
    glo = nav.messages["R"]
    kk = np.asarray(glo["freq_num"], dtype=np.float64)
    ok = np.isfinite(kk) & (kk >= -7) & (kk <= 13)
    table = {int(s): int(v) for s, v in zip(glo["sat"][ok], kk[ok])}
    for i in np.flatnonzero(np.isnan(k)):
        k[i] = table.get(int(sats[i]), np.nan)
    return k


#: GLONASS slot -> frequency channel (IAC constellation status; unchanged since 2014).
GLONASS_CHANNELS = {1: 1, 2: -4, 3: 5, 4: 6, 5: 1, 6: -4, 7: 5, 8: 6, 9: -2, 10: -7, 11: 0, 12: -1,
                    13: -2, 14: -7, 15: 0, 16: -1, 17: 4, 18: -3, 19: 3, 20: 2, 21: 4, 22: -3, 23: 3, 24: 2}


@pytest.fixture(scope="module")
def esbc(esbc_day):
    return esbc_day


def test_glonass_channels_header_then_navigation(esbc):
    obs, nav = esbc
    glo = obs.satellite_indices[satnav.satellites.system_of(obs.satellite_indices) == "R"]
    assert len(glo) > 15
    k = glonass_channels(obs, nav, glo)
    expected = [GLONASS_CHANNELS[int(s) % 100] for s in glo]
    np.testing.assert_array_equal(k, expected)
    # the header alone, the navigation messages alone, and header gaps filled from them
    header_only = glonass_channels(obs)
    assert header_only == {int(satellite_index(s)): int(v) for s, v in obs.header.glonass_slots.items()}
    nav_only = glonass_channels(None, nav)
    assert all(GLONASS_CHANNELS[s % 100] == v for s, v in nav_only.items())
    partial = SimpleNamespace(header=SimpleNamespace(glonass_slots={"R01": 1, "R02": -4}))
    got = glonass_channels(partial, nav, glo)
    np.testing.assert_array_equal(got, _old_spp_channels(partial, nav, glo))
    np.testing.assert_array_equal(glonass_channels(obs, nav, glo), _old_spp_channels(obs, nav, glo))
    unknown = glonass_channels(partial, None, glo)
    assert np.isnan(unknown).sum() == len(glo) - 2
    assert glonass_channels(None, None, np.zeros(0, int)).shape == (0,)


def test_codes_by_system_matches_the_former_implementations(esbc):
    obs, _ = esbc
    per = obs.codes_by_system()
    # former Observations.codes_by_system: np.unique over (system number, code) pairs
    pairs = np.unique(np.stack([obs.sat // 100, obs.code]), axis=1)
    old: dict[str, set] = {}
    for sn, c in zip(pairs[0], pairs[1]):
        old.setdefault(SYSTEMS[int(sn)], set()).add(obs.codes[int(c)])
    assert per == {s: sorted(v) for s, v in sorted(old.items())}
    from satnav.estimators import rtk, spp

    assert spp._codes_by_system(obs) == {s: old.get(s, set()) for s in SYSTEMS}
    assert rtk._codes_by_system(obs) == old
    assert obs.select(np.zeros(len(obs), bool)).codes_by_system() == {}


def test_per_system_returns_fresh_plain_dicts():
    a = per_system("rtk_bands")
    a["G"]["L1"] = "9"
    a.pop("R")
    assert SIGNALS["G"].rtk_bands["L1"] == "1"
    assert "R" in per_system("rtk_bands")
    assert all(type(v) is dict for v in a.values())
    assert isinstance(SIGNALS["R"].fdma_hz, Mapping)
    assert signals.RTK_ATTRIBUTE_PREFERENCE[0] == "C"
