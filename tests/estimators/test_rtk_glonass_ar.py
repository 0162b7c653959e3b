"""GLONASS ambiguity resolution (issue 18 item 3): ``glonass_ar`` off / on / autocal.

Truth: the simulated rover position of seeded low-cost GPS + GLONASS L1 pairs
(:mod:`tests.estimators.lowcost`: FDMA channels, slips, half-cycle flags, base gaps).
Zero inter-frequency bias (a same-brand pair): ``"on"`` fixes GLONASS ambiguities, no
fixed epoch more than 10 cm off, fix rate at least GLONASS-float's. With a GLONASS phase
IFB on the rover (a mixed pair), ``"autocal"`` (and ``"off"``) must not produce a wrong fix
and autocal fixes GLONASS. ``"on"`` is for same-brand pairs only: on a mixed pair its IFB
tests (chi-square with a multipath floor, IFB rate, both directions) refuse most GLONASS
integers but not all (seeds 0-5: wrong fixed epochs 20 / 47 / 1 / 0 at 5 / 20 / 30 / 50 mm
per channel; the code before the issue 18 follow-up: 2 / 2 / 0 / 0).
Measured (seeds 0-3, 300 epochs each): zero IFB, fix rate GLONASS float 0.261 / on 0.839;
IFB 0.03 m/ch: off 0.261, on 0.054, autocal 0.757 (GLONASS and GPS integers searched together
in a basis that separates the IFB rate, :meth:`RtkCore._resolve_joint`; before: 0.261).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from satnav.errors import SatnavError
from satnav.estimators.rtk import solve_rtk
from satnav.estimators.rtk_core import glonass_channel_numbers
from tests.estimators.lowcost import BASE, low_cost_pair

HOURS = (0, 4, 8, 12, 16, 20)
SEEDS = range(4)


def _run(seed, glonass_ar, ifb=0.0, frequencies=("L1",)):
    r, b, nav, truth = low_cost_pair(seed, systems="GR", hour=HOURS[seed % len(HOURS)],
                                     ifb_m_per_channel=ifb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = solve_rtk(r, b, nav, base_position=BASE, frequencies=frequencies, systems="GR",
                      max_age_s=30.0, glonass_ar=glonass_ar)
    err = np.linalg.norm(s.position_m - truth, axis=1)
    return s, err


def _stats(glonass_ar, ifb=0.0, strict=True):
    fixed = total = glo = 0
    for seed in SEEDS:
        s, err = _run(seed, glonass_ar, ifb)
        if strict:
            assert not (s.fixed & (err > 0.10)).any(), (glonass_ar, ifb, seed, err[s.fixed].max())
        assert all(("R" in v) <= bool(q == 1) for v, q in zip(s.fixed_systems, s.quality))
        fixed += int(s.fixed.sum())
        total += len(err)
        glo += sum("R" in v for v in s.fixed_systems)
    return fixed / total, glo


def test_same_brand_pair_glonass_fixed_no_wrong_fix():
    rate_off, glo_off = _stats("off")
    rate_on, glo_on = _stats("on")
    print(f"zero IFB: fix rate GLONASS float {rate_off:.3f}, GLONASS AR on {rate_on:.3f} "
          f"({glo_on} epochs with GLONASS fixed)")
    assert glo_off == 0 and glo_on > 100
    assert rate_on >= rate_off


def test_mixed_pair_autocal_no_wrong_fix():
    rate_auto, glo_auto = _stats("autocal", ifb=0.03)  # no wrong fix (asserted in _stats)
    rate_off, _ = _stats("off", ifb=0.03)
    rate_on, _ = _stats("on", ifb=0.03, strict=False)  # a same-brand setting: not asserted
    print(f"IFB 0.03 m/ch: fix rate off {rate_off:.3f}, on {rate_on:.3f}, "
          f"autocal {rate_auto:.3f} ({glo_auto} epochs with GLONASS fixed)")
    assert glo_auto > 0 and rate_auto >= max(rate_off, 0.6)
    _stats("autocal", ifb=0.005)  # a small IFB: no wrong fix either


def test_summary_and_note():
    s, _ = _run(1, "on")
    assert any("GLONASS ambiguities are fixed" in n for n in s.notes)
    assert "fixed systems: G" in s.summary()
    off, _ = _run(1, "off")
    assert "fixed systems" not in off.summary()  # output unchanged when GLONASS AR is off
    with pytest.raises(SatnavError, match="glonass"):
        _run(1, "maybe")


def test_auto_policy_from_headers():
    """``glonass_ar="auto"``: "on" only when both headers name the same receiver type (and
    firmware, where both give one); blank (convbin's default), different types: autocal."""
    from satnav.estimators.rtk_core import auto_glonass_ar
    from satnav.observations import ObsHeader

    def h(t, v=""):
        return ObsHeader(receiver_type=t, receiver_version=v)

    assert auto_glonass_ar(h("u-blox"), h("U-BLOX "))[0] == "on"
    assert auto_glonass_ar(h("SEPT POLARX5", "5.3.2"), h("SEPT POLARX5", ""))[0] == "on"
    assert auto_glonass_ar(h("SEPT POLARX5", "5.3.2"), h("SEPT POLARX5", "5.4.0"))[0] == "autocal"
    mode, why = auto_glonass_ar(h(""), h(""))
    assert mode == "autocal" and "blank REC # / TYPE in the rover and base header" in why
    assert auto_glonass_ar(h("TRIMBLE NETR9"), h("u-blox"))[0] == "autocal"


def test_auto_default_on_mixed_pair_is_autocal(tmp_path):
    """The default on a simulated mixed pair (another receiver type in the rover header, IFB
    2 cm per channel): autocal, no wrong fix; on the same-type pair: on."""
    for seed in (0, 1):
        r, b, nav, truth = low_cost_pair(seed, systems="GR", hour=HOURS[seed], ifb_m_per_channel=0.02)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = solve_rtk(r, b, nav, base_position=BASE, frequencies=("L1",), systems="GR",
                          max_age_s=30.0)
        assert s.options["glonass_ar"] == "autocal"
        assert any("chosen by glonass_ar=auto: receiver types differ" in n for n in s.notes)
        from satnav.io.solution import read_pos, write_solution

        write_solution(s, tmp_path / "m.pos")
        assert "% glo ar    : autocal (auto: receiver types differ (rover 'SATNAV SIMULATOR IFB 0.02', " \
               "base 'SATNAV SIMULATOR'))" in read_pos(tmp_path / "m.pos").header
        err = np.linalg.norm(s.position_m - truth, axis=1)
        assert not (s.fixed & (err > 0.10)).any()
    s, _ = _run(1, "auto")
    assert s.options["glonass_ar"] == "on"
    assert "same receiver type 'SATNAV SIMULATOR'" in s.options["glonass_ar_reason"]


def test_autocal_needs_three_glonass_integers():
    """Seed 44 (unseen when autocal's joint search was written) had 22 fixed epochs 0.65-0.95 m
    off with 2 GLONASS integers in a fix: the free IFB rate left one combination to test."""
    for ifb in (0.0, 0.03):
        r, b, nav, truth = low_cost_pair(44, systems="GR", hour=HOURS[44 % len(HOURS)],
                                         ifb_m_per_channel=ifb)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = solve_rtk(r, b, nav, base_position=BASE, frequencies=("L1",), systems="GR",
                          max_age_s=30.0, glonass_ar="autocal")
        err = np.linalg.norm(s.position_m - truth, axis=1)
        assert s.fixed.sum() > 50 and not (s.fixed & (err > 0.10)).any(), err[s.fixed].max()


def test_unimodular_basis_separates_the_rate_direction():
    """The basis of the joint autocal search: ``U w = e_0``, ``U`` integer with determinant
    +-1 (integers stay integers both ways), for channel differences of GLONASS pairs (zero
    on the other systems' rows)."""
    from math import gcd

    from satnav.estimators.rtk_core import _unimodular_first

    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(2, 14))
        w = np.where(rng.random(n) < 0.5, rng.integers(-13, 14, n), 0)
        g = gcd(*(abs(int(x)) for x in w))
        if g == 0:
            continue
        w //= g
        U, Uinv = _unimodular_first(w)
        assert np.array_equal(U @ w, np.eye(n)[0])
        assert abs(round(np.linalg.det(U))) == 1 and np.array_equal(U @ Uinv, np.eye(n))
        assert np.array_equal(U, np.round(U)) and np.array_equal(Uinv, np.round(Uinv))


def test_channel_numbers_from_wavelength():
    from satnav.constants import SPEED_OF_LIGHT

    f = np.array([[1602e6 + 3 * 0.5625e6, 1246e6 - 7 * 0.4375e6], [1575.42e6, 1227.6e6],
                  [1600.995e6, 1248.06e6]])
    k = glonass_channel_numbers(np.array(["R", "G", "R"]), SPEED_OF_LIGHT / f)
    assert k.tolist() == [[3.0, -7.0], [0.0, 0.0], [0.0, 0.0]]  # CDMA L1OC/L2OC: none


def test_cli_flags_one_to_one():
    from satnav.cli import build_parser
    from satnav.cli.solve import solve_options_from_args

    args = build_parser().parse_args(
        ["solve", "r.obs", "n.nav", "--base", "b.obs", "--frequencies", "1", "--glonass-ar",
         "autocal", "--min-lock", "20", "--success-rate", "0.9", "--code-test", "0.999",
         "--wrong-fix-test", "0.99", "--base-gap", "5", "--half-cycle", "off",
         "--min-lock-cross", "3", "--autocal-success-rate", "0.5", "--glonass-test-floor", "0.02"])
    o = solve_options_from_args(args)
    assert (o.frequencies, o.glonass_ar, o.min_lock_s, o.success_rate_min) == (1, "autocal", 20.0, 0.9)
    assert (o.code_test_p, o.wrong_fix_p, o.base_gap_s, o.half_cycle) == (0.999, 0.99, 5.0, False)
    assert (o.min_lock_cross_s, o.autocal_success_rate_min, o.glonass_test_floor_cyc) == (3.0, 0.5, 0.02)
    assert o.rtk_validation["glonass_test_floor_cyc"] == 0.02
    d = solve_options_from_args(build_parser().parse_args(["solve", "r.obs", "n.nav"]))
    assert d.frequencies == 2 and d.glonass_ar == "auto" and d.half_cycle is None


def test_fixed_systems_in_outputs(tmp_path):
    """Which systems each fix includes: a ``fixed_systems`` column per epoch in CSV (and
    Parquet, the same table) and the counts in the ``.pos`` header."""
    import pandas as pd

    from satnav.io.solution import read_pos, write_solution

    s, _ = _run(1, "on")
    write_solution(s, tmp_path / "a.pos")
    write_solution(s, tmp_path / "a.csv")
    pos = read_pos(tmp_path / "a.pos")
    glo = next(h for h in pos.header if h.startswith("% glo ar    :"))
    assert glo == "% glo ar    : on"  # asked for: no "auto" reason
    line = next(h for h in pos.header if h.startswith("% fixed sys :"))
    n_r = sum("R" in v for v in s.fixed_systems)
    assert f"R {n_r} epochs" in line and n_r > 100
    table = pd.read_csv(tmp_path / "a.csv", keep_default_na=False)
    assert table["fixed_systems"].tolist() == [str(v) for v in s.fixed_systems]
    assert set(table["fixed_systems"][s.quality != 1]) == {""}
    assert {"G", "GR"} >= set(table["fixed_systems"][s.quality == 1]) and "GR" in set(table["fixed_systems"])
