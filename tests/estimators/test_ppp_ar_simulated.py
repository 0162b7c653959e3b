"""PPP integer ambiguity resolution proven end to end against a simulation's truth.

A static GPS + Galileo station is simulated for two hours of 30 s data
(:func:`satnav.constellation.simulate.simulate` with ``ErrorModel(precise=True,
signal_biases=True, satellite_antennas=True)``: integer ambiguities, satellite and receiver
code and phase biases, per-satellite antenna offsets of the real offsets' scatter, the solid
Earth and pole tides, Shapiro delay, phase wind-up and a GMF troposphere with a wet delay the
a priori does not know, white code/phase noise). Its truth is written as the files a user gets
from an analysis centre (:func:`satnav.constellation.precise_products.
write_precise_products`: 5-min SP3, 30 s RINEX clocks with 10 ps of noise, an OSB bias
SINEX with code and phase biases, the ANTEX of the simulated offsets) and ``satnav solve --mode ppp-static /
ppp-kinematic --ppp-ar`` runs on those files. The truth (the simulated antenna position
``truth.csv``) is outside the estimator.

Negative tests: an ANTEX whose satellite offsets differ from those the products were made
with (decimetres), and the biases of another "centre" (phase biases off by fractions of a
cycle, code biases by decimetres) labelled as this centre's, must not give a wrong fix; a
bias file labelled with another centre turns the resolution off.
"""

from __future__ import annotations

import csv
import re
import warnings

import numpy as np
import pytest

GPST_2024_02_04 = 1391040000 * 10**9  # 2024-02-04 00:00:00 GPST


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from satnav.constellation.design import load_constellation
    from satnav.constellation.precise_products import write_precise_products
    from satnav.constellation.simulate import ErrorModel, simulate
    from satnav.frames import geodetic_to_ecef
    from satnav.gnss_time import calendar_to_ns
    from satnav.satellites import satellite_id

    t0 = int(calendar_to_ns(2024, 2, 4, 0, 0, 0.0))
    assert t0 == GPST_2024_02_04
    times = t0 + np.arange(0, 7201, 30, dtype=np.int64) * 10**9
    # constellation epoch away from the data: no satellite exactly on an axis (0.000000 is
    # SP3's "missing coordinate")
    cons = [load_constellation(n, epoch_ns=t0 - 7000 * 10**9) for n in ("gps", "galileo")]
    site = np.asarray(geodetic_to_ecef(np.radians(52.28), np.radians(17.07), 120.0)).ravel()
    errors = ErrorModel(precise=True, signal_biases=True, satellite_antennas=True, multipath=False)
    sim = simulate(cons, site, times, errors=errors, seed=1)
    out = tmp_path_factory.mktemp("ppp_ar_sim")
    files = sim.write(out)
    ids = sorted({satellite_id(int(k[0])) for k in sim.biases["satellite"]})
    rng = np.random.default_rng(5)
    products = {
        "good": write_precise_products(sim, out / "good"),
        "pco": write_precise_products(sim, out / "pco", satellite_pco_m={s: rng.uniform(-0.5, 0.5) for s in ids}),
        "other-biases": write_precise_products(sim, out / "otherbias", bias_perturbation_seed=3),
        "other-centre": write_precise_products(sim, out / "othercentre", bias_perturbation_seed=3,
                                               bias_centre="XYZ"),
    }
    with open(files["truth"], newline="") as fh:
        row = next(csv.DictReader(fh))
    truth = np.array([float(row[k]) for k in ("x_m", "y_m", "z_m")])
    return {"obs": files["obs"], "products": products, "truth": truth, "dir": out}


def _solve(sim, which, mode, capsys, ar=True, antex=True):
    """Run ``satnav solve`` on the simulated files; returns (3D errors (m) per epoch, fixed
    per epoch, epoch minutes from the start, stdout)."""
    from satnav.cli.main import main
    from satnav.frames import ecef_to_enu, geodetic_to_ecef

    p = sim["products"][which]
    out = sim["dir"] / f"{which}-{mode}-{ar}-{antex}.pos"
    args = ["solve", str(sim["obs"]), str(p["sp3"]), str(p["clk"]), str(p["bias"]),
            *([str(p["antex"])] if antex else []), "--mode", mode, "-o", str(out), "--ref", ",".join(f"{v:.4f}" for v in sim["truth"])]
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(args + (["--ppp-ar"] if ar else [])) == 0
    text = capsys.readouterr().out
    rows = [ln.split() for ln in out.read_text().splitlines() if not ln.startswith("%")]
    lat, lon, h = (np.array([float(r[k]) for r in rows]) for k in (2, 3, 4))
    xyz = np.asarray(geodetic_to_ecef(np.radians(lat), np.radians(lon), h))
    xyz = xyz.T if xyz.shape[0] == 3 else xyz
    enu = np.asarray(ecef_to_enu(xyz, sim["truth"]))
    fixed = np.array([float(r[14]) > 0 for r in rows])  # the ratio column: > 0 on fixed epochs only
    minutes = np.arange(len(rows)) * 0.5
    return np.linalg.norm(enu, axis=1), fixed, minutes, text


def _converged_min(err, minutes, limit):
    """Minutes after which ``err`` stays below ``limit`` (inf when it never does)."""
    above = np.flatnonzero(err >= limit)
    if not len(above):
        return 0.0
    return float(minutes[above[-1] + 1]) if above[-1] + 1 < len(minutes) else float("inf")


@pytest.mark.parametrize("mode", ["ppp-static", "ppp-kinematic"])
def test_ppp_ar_fixes_to_the_simulated_truth(simulated, mode, capsys):
    err, fixed, minutes, text = _solve(simulated, "good", mode, capsys)
    assert fixed.sum() >= 0.5 * len(fixed)  # most epochs fixed
    assert np.all(err[fixed] < 0.05)  # fixed epochs within a few cm of the truth
    assert not np.any(err[fixed] > 0.10)  # no wrong fix
    ttff = float(re.search(r"time to first fix ([0-9.]+) min", text).group(1))
    assert ttff == pytest.approx(minutes[np.flatnonzero(fixed)[0]])
    # the float solution alone takes longer to reach the accuracy of the fixed epochs
    float_err, float_fixed, _m, _t = _solve(simulated, "good", mode, capsys, ar=False)
    assert not float_fixed.any()
    accuracy = max(0.02, float(err[fixed].max()))
    assert ttff < _converged_min(float_err, minutes, accuracy)


@pytest.mark.parametrize("which", ["pco", "other-biases"])
def test_mismatched_products_give_no_wrong_fix(simulated, which, capsys):
    err, fixed, _minutes, _text = _solve(simulated, which, "ppp-static", capsys)
    assert not np.any(err[fixed] > 0.10)
    assert fixed.sum() <= 0.05 * len(fixed)  # validation rejects (here: never fixes)


def test_biases_of_another_centre_turn_resolution_off(simulated, capsys):
    err, fixed, _minutes, text = _solve(simulated, "other-centre", "ppp-static", capsys)
    assert not fixed.any()
    assert "ambiguity resolution not possible: the bias file is not of the clocks' analysis centre" in text


def test_product_files_read_back(simulated):
    """The written bias SINEX and ANTEX read back to what was simulated."""
    from satnav.io.antex import read_antex
    from satnav.io.bias_sinex import read_bias_sinex

    p = simulated["products"]["good"]
    b = read_bias_sinex(p["bias"])
    assert b.analysis_centre == "SIM"
    assert any(k[1] == "L1C" for k in b.biases) and any(k[1] == "C5Q" for k in b.biases)
    a = read_antex(p["antex"]).satellite("E02", GPST_2024_02_04).pco_m
    assert 0.3 <= a["E01"][2] <= 1.6 and abs(a["E05"][2] - a["E01"][2]) < 0.3
    pco = read_antex(simulated["products"]["pco"]["antex"]).satellite("E02", GPST_2024_02_04).pco_m
    dz = pco["E01"][2] - a["E01"][2]
    assert 0.0 < abs(dz) <= 0.5 and pco["E05"][2] - a["E05"][2] == pytest.approx(dz, abs=1e-4)


def test_nominal_satellite_antennas_give_no_wrong_fix_and_say_why(simulated, capsys):
    """Without the ANTEX the products were made with, the nominal per-system offsets (GPS
    0.9 m, Galileo 0.8 m) replace the simulated per-satellite ones (0.3-1.6 m): the BOR1
    situation. No fix (the narrow-lane fractions are spread), no wrong fix, and the run says
    that the narrow-lane needs the centre's ANTEX."""
    err, fixed, _minutes, text = _solve(simulated, "good", "ppp-static", capsys, antex=False)
    assert not np.any(err[fixed] > 0.10)
    assert fixed.sum() <= 0.05 * len(fixed)
    assert "keep the narrow-lane (10.7 cm) float" in text


def test_sim_cli_writes_precise_products(tmp_path, capsys):
    """``satnav sim --precise-products``: the products of a scenario whose constellation epoch
    is its start (satellites on an axis there: no 0.000000 "missing" SP3 coordinate)."""
    from satnav.cli.main import main
    from satnav.io.sp3 import read_sp3

    out = tmp_path / "sim"
    assert main(["sim", "gps,galileo", "-o", str(out), "--duration", "0.25", "--precise-products", "-q"]) == 0
    names = sorted(p.name for p in (out / "products").iterdir())
    assert sorted(n[-7:] for n in names if n.startswith("SIM0OPSFIN")) == ["CLK.CLK", "ORB.SP3", "OSB.BIA"]
    sp3 = read_sp3(next((out / "products").glob("*.SP3")))
    assert np.isfinite(sp3.position_m).all() and len(sp3.satellites) >= 48  # 24 GPS + 24 Galileo designed
    assert main(["sim", "gps", "-o", str(tmp_path / "x"), "--noise-free", "--precise-products", "-q"]) == 2
    assert "not with --noise-free" in capsys.readouterr().err


def test_glonass_with_simulated_products(tmp_path):
    """GPS + GLONASS float PPP on simulated products: GLONASS satellites with ANTEX offsets
    (FDMA: the ionosphere-free factor from G1/G2 = 9/7, no NaN) and precise clocks without
    the periodic relativistic term, as for the other systems; within 10 cm of the truth."""
    from satnav.cli.main import main
    from satnav.estimators.ppp import PppOptions, solve_ppp
    from satnav.pipeline import precise_products, read_observations
    from satnav.satellites import satellite_id

    out = tmp_path / "sim"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["sim", "gps,glonass", "-o", str(out), "--duration", "1", "--precise-products",
                     "--site", "52.28,17.07,120", "-q"]) == 0
        obs = read_observations(next(out.glob("*_MO.rnx")))
        sol = solve_ppp(obs, precise_products(sorted((out / "products").iterdir())),
                        PppOptions(mode="static", systems="GR"))
    with open(out / "truth.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    truth = np.array([float(row[k]) for k in ("x_m", "y_m", "z_m")])
    assert sol.solved.all() and np.isfinite(sol.position_m).all()
    assert np.linalg.norm(sol.position_m[-1] - truth) < 0.10
    assert any(satellite_id(int(s)).startswith("R") for s in sol.satellites)
