"""The dynamic orbit model against real precise orbits (IGS final SP3 files).

Truth: GRG (CNES/CLS) 2020-177 and CODE 2024-035 final orbits. The issue's requirement: a 24 h
fit of initial state + SRP parameters leaves <= 5 cm 3-D RMS (GLONASS <= 10 cm), and a fit of
the first 18 h predicts the last 6 h to <= 0.5 m 3-D RMS. A representative subset runs here;
``test_every_satellite`` fits them all (about a minute per file on a loaded 2-core machine).
"""

import json

import pytest

pytest.importorskip("erfa")
pytest.importorskip("astropy_iers_data")

from satnav.dynamics.orbit_fit import fit_sp3  # noqa: E402
from satnav.io.sp3 import read_sp3  # noqa: E402

from ..conftest import data_path  # noqa: E402

GRG = ("esbc-2020-177", "GRG0MGXFIN_20201770000_01D_15M_ORB.SP3.gz")
COD = ("bor1-2024-035", "COD0OPSFIN_20240350000_01D_05M_ORB.SP3.gz")
LIMIT = {"G": 0.05, "E": 0.05, "R": 0.10}


@pytest.fixture(scope="module")
def grg():
    return read_sp3(data_path(*GRG))


@pytest.fixture(scope="module")
def cod():
    return read_sp3(data_path(*COD))


def test_fit_and_prediction_subset_grg_2020_177(grg):
    sats = ["G05", "G24", "E11", "E24", "R07"]  # G24: eclipsing; E24 the worst predicted
    fits = fit_sp3(grg, satellites=sats)
    assert [f.satellite for f in fits] == sorted(sats, key=lambda s: grg.satellite_ids().index(s))
    for f in fits:
        assert f.fit_rms_m <= LIMIT[f.satellite[0]], f
        assert f.fit_epochs == 96 and f.prediction_rms_m is None
        assert -200 < f.srp_parameters["D0"] < -50  # the direct SRP: ~100 nm/s^2, away from the Sun
    predicted = fit_sp3(grg, satellites=sats, predict_hours=6)
    for f in predicted:
        assert f.prediction_rms_m <= 0.5 and f.prediction_epochs == 24, f


def test_fit_and_prediction_subset_code_2024_035(cod):
    sats = ["G01", "G30", "E05", "R10"]
    for f in fit_sp3(cod, satellites=sats, predict_hours=6):
        assert f.fit_rms_m <= LIMIT[f.satellite[0]] and f.prediction_rms_m <= 0.5, f
        assert f.fit_epochs == 216 and f.prediction_epochs == 72


@pytest.mark.slow
@pytest.mark.parametrize("which", [GRG, COD], ids=["grg-2020-177", "cod-2024-035"])
def test_every_satellite(which):
    sp3 = read_sp3(data_path(*which))
    fits = fit_sp3(sp3, systems="GRE")
    assert {f.satellite[0] for f in fits} >= {"G", "E"}
    for f in fits:
        assert f.fit_rms_m <= LIMIT[f.satellite[0]], f
    for f in fit_sp3(sp3, systems="GRE", predict_hours=6):
        assert f.prediction_rms_m <= 0.5, f


def test_cli_fit_json(capsys, grg):
    from satnav.cli.main import main

    path = str(data_path(*GRG))
    assert main(["fit", path, "--satellites", "G05", "--predict-hours", "6", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["satellite"] for r in rows] == ["G05"]
    assert rows[0]["fit_rms_m"] < 0.05 and rows[0]["prediction_rms_m"] < 0.5
    assert main(["fit", path, "--satellites", "G05", "--arc-hours", "4"]) == 0
    assert "G05" in capsys.readouterr().out


def test_bad_selection_is_one_line_error(capsys):
    from satnav.cli.main import main

    assert main(["fit", str(data_path(*GRG)), "--satellites", "X99"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("satnav:") and err.count("\n") == 1
