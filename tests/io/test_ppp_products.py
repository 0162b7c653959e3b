"""Readers of the PPP products: BLQ, bias SINEX, ANTEX receivers/PCV and NGS calibrations.

Expected values are read by hand from the files (line numbers in the comments)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from satnav.errors import FormatError
from satnav.gnss_time import calendar_to_ns
from satnav.info import detect_format
from satnav.io.antex import read_antennas, read_antex, read_ngs_pcv, receiver_key
from satnav.io.bias_sinex import read_bias_sinex
from satnav.io.blq import BLQ_CONSTITUENTS, read_blq
from satnav.satellites import satellite_index
from tests.conftest import data_path

NGS = Path("/usr/share/rtklib/ngs_abs.pcv")


def test_blq_bor1_block():
    blq = read_blq(data_path("oceanload", "FES2004_subset.blq"))
    assert {"BOR1", "NYA1", "ONSA", "WTZR"} <= set(blq)
    b = blq["BOR1"]
    assert b.shape == (6, 11) and len(BLQ_CONSTITUENTS) == 11
    # "  .00384 .00139 ..." radial amplitudes, M2 first; phases "-71.0 -37.1 ..."
    assert b[0, 0] == pytest.approx(0.00384) and b[0, 4] == pytest.approx(0.00192)
    assert b[2, 4] == pytest.approx(0.00033)
    assert b[3, 0] == pytest.approx(-71.0) and b[5, 10] == pytest.approx(3.1)
    assert detect_format(data_path("oceanload", "FES2004_subset.blq"))[0] == "blq"


def test_blq_rejects_other_files(tmp_path):
    p = tmp_path / "x.blq"
    p.write_text("$$ only comments\n")
    with pytest.raises(FormatError, match="no ocean loading station block"):
        read_blq(p)


def test_bias_sinex_code_biases_and_header():
    path = data_path("bor1-2024-035", "COD0OPSFIN_20240350000_01D_01D_OSB.BIA.gz")
    b = read_bias_sinex(path)
    assert b.analysis_centre == "COD"
    assert b.clock_reference["G"] == ("C1W", "C2W")
    t = int(calendar_to_ns(2024, 2, 4, 12, 0, 0.0))
    g01 = int(satellite_index("G01"))
    # " OSB  G063 G01           C1C       2024:035:00000 2024:036:00000 ns   9.5198"
    assert b.osb_s(g01, "C1C", t) == pytest.approx(9.5198e-9)
    assert b.osb_s(g01, "C1W", t) == pytest.approx(11.0188e-9)
    assert b.osb_m(g01, "C1W", t) == pytest.approx(11.0188e-9 * 299792458.0)
    assert np.isnan(b.osb_s(g01, "C1C", int(calendar_to_ns(2024, 2, 6))))  # outside its validity
    assert detect_format(path) == ("bias-sinex", 1.0)


def test_bias_sinex_grg():
    b = read_bias_sinex(data_path("bor1-2024-035", "GRG0MGXFIN_20240350000_01D_01D_OSB.BIA"))
    assert b.analysis_centre == "GRG"
    assert len(b.satellites) > 50


def test_antex_receivers_and_azimuthal_pcv():
    ants = read_antex(data_path("esbc-2020-177", "igs14_small.atx.gz"))
    rcv, exact = ants.receiver("JPSLEGANT_E     NONE")
    assert exact
    # "      1.36     -0.43     35.44   NORTH / EAST / UP" (G01), G02 54.15 mm up
    assert rcv.pco_m["G01"] == pytest.approx([0.00136, -0.00043, 0.03544])
    assert rcv.pco_m["G02"][2] == pytest.approx(0.05415)
    # NOAZI 0.00 -1.73 -2.61 ... at zenith 0, 5, 10 deg
    assert rcv.pcv_m_at("G01", np.radians([0.0, 5.0, 7.5])) == pytest.approx([0.0, -0.00173, -0.00217])
    assert rcv.frequency("E01") == "G01" and rcv.frequency("E05") == "G02"
    e04 = ants.satellite("E04", int(calendar_to_ns(2020, 6, 25)))
    assert e04.pco_m["E05"] == pytest.approx([0.12313, -0.00959, 0.60415])
    assert e04.pcv_azimuth_m["E05"].shape == (73, 41)
    # azimuth 0 row, nadir 0: 0.43 mm; azimuth 5 deg row, nadir 0.5 deg: 0.40 mm
    assert e04.pcv_m_at("E05", np.radians(0.5), np.radians(5.0)) == pytest.approx(0.00040)
    g01 = ants.satellite("G01", int(calendar_to_ns(1995, 1, 1)))
    assert g01.pco_m["G01"] == pytest.approx([0.279, 0.0, 2.3195])
    assert ants.satellite("G01", int(calendar_to_ns(2020, 6, 25))) is None


def test_receiver_key_forms():
    assert receiver_key("ASH701945E_M    SCIS") == "ASH701945E_M    SCIS"
    assert receiver_key("TRM59800.00") == "TRM59800.00     NONE"


@pytest.mark.skipif(not NGS.exists(), reason="rtklib's ngs_abs.pcv not installed (apt-get install rtklib)")
def test_ngs_calibration_of_esbc_antenna():
    ants = read_ngs_pcv(NGS)
    rcv, exact = ants.receiver("ASH701945E_M    SCIS")
    assert exact
    # ngs_abs.pcv: "0.5 0.0 89.0" L1 offsets, "-0.6 0.0 119.0" L2; L1 PCV 0.0 -0.4 -1.4 ... at el 90, 85, 80
    assert rcv.pco_m["G01"] == pytest.approx([0.0005, 0.0, 0.089])
    assert rcv.pco_m["G02"] == pytest.approx([-0.0006, 0.0, 0.119])
    assert rcv.pcv_m_at("G01", np.radians([0.0, 5.0, 10.0])) == pytest.approx([0.0, -0.0004, -0.0014])
    assert detect_format(NGS)[0] == "ngs-pcv"
    both = read_antennas(data_path("esbc-2020-177", "igs14_small.atx.gz"), NGS)
    assert both.receiver("ASH701945E_M    SCIS")[0] is not None and both.satellite("E04", 0) is None
    assert both.receiver("ASH701945E_M    XXXX") == (both.receivers["ASH701945E_M    NONE"], False)
