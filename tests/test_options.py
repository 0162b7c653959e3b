"""satnav.options: options as plain data (validation, pickle, JSON and TOML round trips).

Truth: the values put in, and the one-line messages the options promise.
"""

from __future__ import annotations

import pickle

import pytest

from satnav.errors import SatnavError
from satnav.options import OrbitComparisonOptions, SolveOptions

FULL = SolveOptions(
    mode="rtk-static", systems="ge", exclude=("R09", "C"), elevation_mask_deg=15.5, iono="iono-free",
    signals={"G": ("C1C", "C2W"), "E": "C1X"}, weights="reported", multi_signal=True, smoothing_s=30.0,
    raim=False, reduce_to_marker=True, reference_position_m=(-3976219.6644, 3382372.5414, 3652513.0556),
    base_position=[-3976000.25, 3382000.5, 3652000.125], ratio_threshold=2.5, fix_and_hold=True,
    max_age_s=10.0, strict=True, cn0_error_m=0.003, frequencies=1, glonass_ar="autocal",
    min_lock_s=30.0, success_rate_min=0.9, fix_test_p=0.999, jump_test_p=1.0, code_test_p=0.9999,
    wrong_fix_p=0.999, base_gap_s=5.0, half_cycle=False,
)


def test_defaults_are_the_command_defaults():
    o = SolveOptions()
    assert o.mode == "spp" and o.systems == "GRECJI" and o.elevation_mask_deg == 10.0
    assert o.iono is None and o.smoothing_s is None and o.raim and o.max_age_s == 30.0
    assert o.ratio_threshold == 3.0 and o.signals_dict is None and not o.relative


def test_normalised_and_hashable():
    assert FULL.systems == "GE"
    assert FULL.signals == (("G", ("C1C", "C2W")), ("E", ("C1X",)))
    assert FULL.signals_dict == {"G": ("C1C", "C2W"), "E": "C1X"}
    assert FULL.base_position == (-3976000.25, 3382000.5, 3652000.125)
    assert FULL.relative
    assert hash(FULL) == hash(SolveOptions(**{f: getattr(FULL, f) for f in FULL.to_dict()}))
    assert SolveOptions(exclude="R09, C01").exclude == ("R09", "C01")


@pytest.mark.parametrize("options", [SolveOptions(), FULL, SolveOptions(base_position="spp", mode="dgnss")])
def test_round_trips(options):
    assert pickle.loads(pickle.dumps(options)) == options
    assert SolveOptions.from_json(options.to_json()) == options
    assert SolveOptions.from_toml(options.to_toml()) == options
    assert SolveOptions.from_dict(options.to_dict()) == options
    assert eval(repr(options), {"SolveOptions": SolveOptions}) == options  # prints as its constructor


def test_toml_text_is_flat_and_readable():
    text = FULL.to_toml()
    assert 'mode = "rtk-static"' in text.splitlines()
    assert "elevation_mask_deg = 15.5" in text.splitlines()
    assert 'signals = {G = ["C1C", "C2W"], E = ["C1X"]}' in text.splitlines()
    assert "iono" not in SolveOptions().to_toml()  # None is left out (TOML has no null)


def test_replace_validates():
    assert FULL.replace(mode="dgnss").mode == "dgnss"
    with pytest.raises(SatnavError, match="elevation mask"):
        FULL.replace(elevation_mask_deg=90)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(mode="ppp"), "mode 'ppp': unknown"),
        (dict(mode="rtk"), "mode 'rtk': unknown, expected one of spp, dgnss, rtk-kinematic, rtk-static, ppp-static, ppp-kinematic"),
        (dict(elevation_mask_deg=95.0), "elevation_mask_deg 95.0: expected an elevation mask in degrees, "
                                        "0 <= value < 90"),
        (dict(elevation_mask_deg=float("nan")), "elevation mask"),
        (dict(systems="GX"), "systems 'GX': unknown letters X"),
        (dict(iono="magic"), "iono 'magic': unknown, expected one of klobuchar, iono-free, states, none"),
        (dict(weights="snr"), "weights 'snr': unknown"),
        (dict(signals={"X": "C1C"}), "unknown system letter 'X'"),
        (dict(smoothing_s=-1.0), "smoothing_s -1.0"),
        (dict(ratio_threshold=0.5), "ratio_threshold 0.5"),
        (dict(max_age_s=0.0), "max_age_s 0.0"),
        (dict(base_position="header"), "base_position 'header'"),
        (dict(base_position=(1.0, 2.0)), "three ECEF coordinates"),
        (dict(reference_position_m=(1.0, 2.0, float("inf"))), "three ECEF coordinates"),
        (dict(raim="yes"), "raim 'yes': expected true or false"),
    ],
)
def test_validation_is_one_line(changes, message):
    with pytest.raises(SatnavError, match=message) as info:
        SolveOptions(**changes)
    assert "\n" not in str(info.value)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(SatnavError, match="unknown option.*elevation_mask"):
        SolveOptions.from_dict({"elevation_mask": 10})
    with pytest.raises(SatnavError, match="bad TOML"):
        SolveOptions.from_toml("mode = ")


def test_orbit_comparison_options():
    o = OrbitComparisonOptions(start="2020-06-25T00:00:00", end="2020-06-25 06:00", interval_s=300,
                               systems="gre")
    assert o.systems == "GRE" and o.interval_s == 300.0
    assert o.end_ns - o.start_ns == 6 * 3600 * 10**9
    for text in (o.to_toml(), o.to_json()):
        assert o in (OrbitComparisonOptions.from_toml(text) if "=" in text else None,
                     OrbitComparisonOptions.from_json(text) if "{" in text[:1] else None)
    assert pickle.loads(pickle.dumps(o)) == o
    with pytest.raises(SatnavError, match="is before --start"):
        OrbitComparisonOptions(start="2020-06-25T06:00:00", end="2020-06-25T00:00:00")
    with pytest.raises(SatnavError, match="ISO 8601"):
        OrbitComparisonOptions(start="25/06/2020")
    with pytest.raises(SatnavError, match=r"unknown system letter\(s\) X"):
        OrbitComparisonOptions(systems="GX")


def test_rtk_validation_options():
    assert SolveOptions().rtk_frequencies == ("L1", "L2")  # the previous default
    assert FULL.rtk_frequencies == ("L1",)
    assert SolveOptions(frequencies=3).rtk_frequencies == ("L1", "L2", "L5")
    v = FULL.rtk_validation
    assert v["glonass_ar"] == "autocal" and v["min_lock_s"] == 30.0 and v["half_cycle"] is False
    assert all(v[k] is None for k in ("min_lock_s", "code_test_p", "half_cycle")
               for v in [SolveOptions().rtk_validation])
    with pytest.raises(SatnavError, match="frequencies"):
        SolveOptions(frequencies=4)
    with pytest.raises(SatnavError, match="glonass_ar"):
        SolveOptions(glonass_ar="yes")
    with pytest.raises(SatnavError, match="success_rate_min"):
        SolveOptions(success_rate_min=1.5)
