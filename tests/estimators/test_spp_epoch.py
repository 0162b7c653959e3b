"""The one-epoch SPP problem (satnav.estimators.spp_epoch.build_epoch_problem, the live
engine's path) equals the problem the dense path builds for the same epoch
(spp._build_dense_problem, the batch path's): every array, its dtype and every number, on
ESBC epochs (IGS, 2020-06-25, all systems) with the options that change the columns
(systems with GLONASS channels, iono-free, multi_signal, reported weights, exclusions) and
on modified copies of its epochs (a preferred code missing so that the next one fills in,
repeated rows, NaN values, a satellite without navigation data, codes in another order)."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.estimators import spp
from satnav.estimators.spp_epoch import build_epoch_problem
from satnav.observations import Observations
from satnav.satellites import satellite_index

EPOCHS = (0, 7, 1500, 2879)


def _same_problem(a, b, where):
    assert (a is None) == (b is None), where
    if a is None:
        return
    va, vb = vars(a), vars(b)
    assert sorted(va) == sorted(vb), (where, set(va) ^ set(vb))
    for key, x in vb.items():
        y = va[key]
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray) and x.dtype == y.dtype and x.shape == y.shape, (where, key)
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), (where, key)
        elif isinstance(x, tuple) and x and isinstance(x[0], np.ndarray):  # (alpha, beta)
            assert all(np.array_equal(p, q) for p, q in zip(x, y)), (where, key)
        elif key == "nav":
            assert y is x
        else:
            assert y == x, (where, key, y, x)


def _compare(epochs, nav, **options):
    opts = spp.spp_options(**options)
    core = spp._SppCore(nav, opts)
    n = 0
    for k, epoch in enumerate(epochs):
        plan = core.signal_plan(epoch, require=False)
        one = build_epoch_problem(epoch, nav, opts, None, plan, ephemeris=core.ephemeris,
                                  channels=core._glonass_channels)
        dense = spp._build_dense_problem(epoch, nav, opts, None, plan, ephemeris=core.ephemeris,
                                         channels=core._glonass_channels)
        _same_problem(one, dense, f"epoch {k} {options}")
        n += one is not None and one.k > 4
    assert n >= len(epochs) - 1


def _rows(epoch, keep):
    keep = np.asarray(keep, bool)
    return Observations(epoch.time[keep], epoch.sat[keep], epoch.code[keep], epoch.value[keep],
                        epoch.lli[keep], epoch.ssi[keep], epoch.codes, epoch.epochs, header=epoch.header,
                        sigma=None if epoch.sigma is None else epoch.sigma[keep])


def _modified(obs):
    """Copies of ESBC epochs that take every branch of the code choice."""
    out = []
    epoch = obs.epoch_slice(100, 101)
    c1c = epoch.codes.index("C1C")
    gps = epoch.sat < satellite_index("R01")
    # GPS C1C missing for every other GPS satellite: C1W fills in where observed
    drop = (epoch.code == c1c) & gps & (epoch.sat % 2 == 0)
    out.append(_rows(epoch, ~drop))
    # rows repeated (the last of a (satellite, code) wins) and NaN values
    order = np.concatenate([np.arange(len(epoch)), np.flatnonzero(epoch.code == c1c)[:4]])
    value = epoch.value[order].copy()
    value[-4:] += 3.0
    value[np.flatnonzero(epoch.code[order] == c1c)[5:7]] = np.nan
    out.append(Observations(epoch.time[order], epoch.sat[order], epoch.code[order], value, epoch.lli[order],
                            epoch.ssi[order], epoch.codes, epoch.epochs, header=epoch.header))
    # the same rows with the code list in another order
    codes = epoch.codes[::-1]
    remap = np.array([codes.index(c) for c in epoch.codes], dtype=np.int16)
    out.append(Observations(epoch.time, epoch.sat, remap[epoch.code], epoch.value, epoch.lli, epoch.ssi, codes,
                            epoch.epochs, header=epoch.header))
    # a satellite without navigation messages (a plausible pseudorange, no ephemeris)
    sat = epoch.sat.copy()
    sat[epoch.sat == epoch.sat[0]] = satellite_index("G32") if epoch.sat[0] != satellite_index("G32") else 1
    out.append(Observations(epoch.time, sat, epoch.code, epoch.value, epoch.lli, epoch.ssi, epoch.codes,
                            epoch.epochs, header=epoch.header))
    return out


def _with_sigma(epochs, seed=3):
    """The epochs with receiver-reported sigmas (some missing)."""
    rng = np.random.default_rng(seed)
    out = []
    for e in epochs:
        sigma = rng.uniform(0.5, 20.0, len(e))
        sigma[rng.random(len(e)) < 0.2] = np.nan
        out.append(Observations(e.time, e.sat, e.code, e.value, e.lli, e.ssi, e.codes, e.epochs,
                                header=e.header, sigma=sigma))
    return out


@pytest.mark.parametrize("options", [
    {"systems": "GEC"},
    {"systems": "GRECJ"},  # GLONASS channels from the header / messages
    {"systems": "GREC", "iono": "iono-free"},
    {"systems": "GREC", "multi_signal": True},
    {"systems": "GEC", "exclude": ("G05", "E"), "cn0_error_m": 0.3},
    {"systems": "GREC", "iono": "none", "troposphere": False},
])
def test_real_epochs(esbc_day, options):
    obs, nav = esbc_day
    epochs = [obs.epoch_slice(i, i + 1) for i in EPOCHS] + _modified(obs)
    _compare(epochs, nav, **options)


@pytest.mark.parametrize("options", [
    {"systems": "GREC", "weights": "reported"},
    {"systems": "GEC", "weights": "reported", "multi_signal": True},
    {"systems": "GE", "weights": "reported", "iono": "iono-free"},
])
def test_reported_sigmas(esbc_day, options):
    obs, nav = esbc_day
    epochs = _with_sigma([obs.epoch_slice(i, i + 1) for i in EPOCHS] + _modified(obs)[:2])
    _compare(epochs, nav, **options)
    _compare([obs.epoch_slice(i, i + 1) for i in EPOCHS[:2]], nav, **options)  # no sigma at all
    _compare([_one_sigma_without_value(obs.epoch_slice(100, 101))], nav, **options)


def _one_sigma_without_value(epoch):
    """One GPS satellite's first-band codes without values, the last of them with the
    epoch's only sigma (the dense reader keeps that sigma: the problem has reported sigmas,
    all NaN where used)."""
    g = epoch.sat[epoch.sat < satellite_index("R01")][0]
    rows = (epoch.sat == g) & np.isin(epoch.code, [epoch.codes.index(c) for c in ("C1C", "C1W")])
    value = np.where(rows, np.nan, epoch.value)
    sigma = np.full(len(epoch), np.nan)
    sigma[np.flatnonzero(rows)[-1]] = 2.0
    return Observations(epoch.time, epoch.sat, epoch.code, value, epoch.lli, epoch.ssi, epoch.codes, epoch.epochs,
                        header=epoch.header, sigma=sigma)


def test_no_column_and_no_measurement(esbc_day):
    """No planned system in the epoch (None, as the dense path) and an epoch whose
    pseudoranges are all implausible (an empty problem of one slot)."""
    obs, nav = esbc_day
    epoch = obs.epoch_slice(10, 11)
    _compare([epoch], nav, systems="I")  # (none observed: no plan column)
    flat = Observations(epoch.time, epoch.sat, epoch.code, np.full(len(epoch), 10.0), epoch.lli, epoch.ssi,
                        epoch.codes, epoch.epochs, header=epoch.header)
    opts = spp.spp_options(systems="GEC")
    core = spp._SppCore(nav, opts)
    plan = core.signal_plan(flat, require=False)
    one = build_epoch_problem(flat, nav, opts, None, plan, ephemeris=core.ephemeris)
    _same_problem(one, spp._build_dense_problem(flat, nav, opts, None, plan, ephemeris=core.ephemeris), "flat")
    assert one.k == 1 and not one.present.any() and one.n_observed.tolist() == [0]


def test_codes_that_change_no_choice_share_the_plan(esbc_day):
    """An epoch whose codes present change without changing the codes chosen (a signal no
    column reads goes, for one satellite or for all), or whose satellites of a system not
    asked for change (a GLONASS satellite sets), gets the same signal plan, and a layout for
    its code list from the same columns: the problem still equals the dense path's."""
    obs, nav = esbc_day
    opts = spp.spp_options(systems="GEC")
    core = spp._SppCore(nav, opts)
    epoch = obs.epoch_slice(100, 101)
    plan = core.signal_plan(epoch, require=False)
    chosen = {c for codes in plan.codes.values() for group in (codes[0][:1], codes[1][:1]) for c in group}
    gps = (epoch.sat >= satellite_index("G01")) & (epoch.sat <= satellite_index("G32"))
    other = [epoch.codes.index(c) for c in ("C2W", "L2W", "S2W", "C5Q", "L5Q") if c in epoch.codes and c not in chosen]
    assert other
    one = _rows(epoch, ~(gps & (epoch.code == other[0]) & (epoch.sat == epoch.sat[gps][0])))
    none = _rows(epoch, ~(gps & np.isin(epoch.code, other)))
    none = Observations(none.time, none.sat, none.code, none.value, none.lli, none.ssi, none.codes, none.epochs,
                        header=none.header)
    glonass = epoch.sat[(epoch.sat >= satellite_index("R01")) & (epoch.sat <= satellite_index("R27"))]
    assert len(glonass)
    setting = _rows(epoch, epoch.sat != glonass[0])
    for copy in (one, none, setting):
        same = core.signal_plan(copy, require=False)
        assert same is plan
        got = build_epoch_problem(copy, nav, opts, None, same, ephemeris=core.ephemeris, channels=core._glonass_channels)
        want = spp._build_dense_problem(copy, nav, opts, None, same, ephemeris=core.ephemeris,
                                        channels=core._glonass_channels)
        _same_problem(got, want, "codes changed")
    assert len(plan.__dict__["_epoch_columns"]) == 1
