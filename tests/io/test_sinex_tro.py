"""SINEX_TRO 2.00 layout, checked by hand against the format document (Pacione, Dousa et al.,
"SINEX_TRO - Solution (Software/technique) INdependent EXchange Format for combination of
TROpospheric estimates", version 2.00, 2017): header and trailer lines, block framing,
80-column lines, YYYY:DDD:SSSSS epochs, TROP/DESCRIPTION keywords in columns 2-30 with the
values from column 32, units 1e+03 (mm), TROP/SOLUTION columns."""

from __future__ import annotations

import numpy as np

from satnav.gnss_time import calendar_to_ns
from satnav.io.sinex_tro import sinex_epoch, write_sinex_tro


def test_epochs_day_of_year_and_seconds():
    # 2020 is a leap year: 25 June = 31+29+31+30+31+25 = day 177
    assert sinex_epoch(calendar_to_ns(2020, 6, 25, 0, 5, 0.0)) == "2020:177:00300"
    assert sinex_epoch(calendar_to_ns(2024, 2, 4, 23, 59, 30.0)) == "2024:035:86370"
    assert sinex_epoch(calendar_to_ns(2023, 12, 31, 12, 0, 0.4)) == "2023:365:43200"


def test_layout_by_hand(tmp_path):
    t = np.array([calendar_to_ns(2020, 6, 25, 0, 0, 0.0), calendar_to_ns(2020, 6, 25, 0, 5, 0.0),
                  calendar_to_ns(2020, 6, 25, 0, 10, 0.0)])
    path = tmp_path / "ESBC.tro"
    write_sinex_tro(path, station="ESBC00DNK", time_ns=t, ztd_m=[2.45163, np.nan, 2.4524],
                    ztd_sigma_m=[0.0012, 0.0011, 0.00104], gradient_m=[[-0.0004, 0.0001], [0, 0], [-0.00021, 0.0002]],
                    gradient_sigma_m=np.full((3, 2), 0.0003), position_m=[3582104.8024, 532590.1716, 5232755.1824],
                    reference_frame="IGb14", agency="sat", software="satnav test",
                    description=[("TROPO MAPPING FUNCTION", "GMF")], receiver="SEPT POLARX5",
                    antenna="ASH701945E_M    SCIS", domes="10118M001", systems="MIX",
                    creation_ns=calendar_to_ns(2020, 6, 26, 1, 0, 0.0))
    lines = path.read_text().splitlines()
    # header: %=TRO 2.00, file agency, creation time, data agency, data start, data end, technique P (GNSS), contents
    assert lines[0] == "%=TRO 2.00 SAT 2020:178:03600 SAT 2020:177:00000 2020:177:00600 P MIX"
    assert lines[-1] == "%=ENDTRO"
    assert all(len(ln) <= 80 for ln in lines)
    assert all(ln[0] in "%*+- " for ln in lines)
    blocks = [ln[1:] for ln in lines if ln.startswith("+")]
    assert blocks == ["FILE/REFERENCE", "TROP/DESCRIPTION", "SITE/ID", "SITE/RECEIVER", "SITE/ANTENNA",
                      "TROP/STA_COORDINATES", "TROP/SOLUTION"]
    for b in blocks:  # each block closed, in order
        assert lines.index("-" + b) > lines.index("+" + b)
    desc = lines[lines.index("+TROP/DESCRIPTION") + 1:lines.index("-TROP/DESCRIPTION")]
    keys = {ln[1:30].strip(): ln[31:].strip() for ln in desc if ln.startswith(" ")}
    assert keys["TIME SYSTEM"] == "G"
    assert keys["TROPO SAMPLING INTERVAL"] == "300"
    assert keys["TROPO MAPPING FUNCTION"] == "GMF"
    assert keys["TROPO PARAMETER NAMES"].split() == ["TROTOT", "STDDEV", "TGNTOT", "STDDEV", "TGETOT", "STDDEV"]
    assert keys["TROPO PARAMETER UNITS"].split() == ["1e+03"] * 6
    ref = lines[lines.index("+FILE/REFERENCE") + 2]
    assert ref[1:19].strip() == "DESCRIPTION" and ref[20:].startswith("Zenith delays")
    site = lines[lines.index("+SITE/ID") + 2]
    assert site[1:10] == "ESBC00DNK" and site[14:23] == "10118M001" and site[24] == "P"
    lon, lat, h = (float(v) for v in site[48:].split())
    assert abs(lon - 8.4568) < 1e-3 and abs(lat - 55.4936) < 1e-3 and abs(h - 59.5) < 0.5
    coord = lines[lines.index("+TROP/STA_COORDINATES") + 2]
    assert coord[1:10] == "ESBC00DNK" and coord[21:33] == " 3582104.802" and coord[60:66] == "IGb14 "
    sol = lines[lines.index("+TROP/SOLUTION") + 1:lines.index("-TROP/SOLUTION")]
    assert sol[0].startswith("*STATION__ ____EPOCH_____ TROTOT STDDEV TGNTOT")
    rows = sol[1:]
    assert len(rows) == 2  # the NaN epoch is left out
    assert rows[0] == " ESBC00DNK 2020:177:00000 2451.6    1.2 -0.400  0.300  0.100  0.300"
    assert rows[1][11:25] == "2020:177:00600" and rows[1][26:32] == "2452.4" and rows[1][33:39] == "   1.0"


def test_without_gradients_two_columns(tmp_path):
    path = tmp_path / "x.tro"
    write_sinex_tro(path, station="BOR1", time_ns=[calendar_to_ns(2024, 2, 4)], ztd_m=[2.3], ztd_sigma_m=[0.01],
                    creation_ns=calendar_to_ns(2024, 2, 5))
    text = path.read_text()
    assert " TROPO PARAMETER NAMES         TROTOT STDDEV\n" in text
    assert " BOR1      2024:035:00000 2300.0   10.0\n" in text
    assert "+TROP/STA_COORDINATES" not in text  # no coordinate given
