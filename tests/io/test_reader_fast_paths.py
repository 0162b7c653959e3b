"""The vectorized fast paths of the RINEX readers against independent conversions.

The navigation reader converts ``D19.12`` fields by an exact integer/power-of-ten path and
the RINEX 2 observation reader finds epoch lines by a column test instead of a regular
expression scan; both must give exactly what Python's own ``float`` and ``re`` give.
"""

from __future__ import annotations

import random
import re

import numpy as np

from satnav.io import rinex_nav, rinex_obs


def _cells(fields):
    width = len(fields[0])
    return np.frombuffer("".join(fields).encode(), np.uint8).reshape(1, len(fields), width).copy()


def test_nav_fields_equal_python_float():
    rng = random.Random(7)
    fields = [
        # values as RINEX writers print them (gsi 07590920.05n line 21: " 1 05  4  2  2  0
        # 0.0 3.966595977540D-04 1.705302565820D-12 0.000000000000D+00")
        " 3.966595977540E-04", " 1.705302565820E-12", " 0.000000000000E+00",
        "-0.000000000000E+00", "-2.676621079440E-06", " 5.153636478420E+03",
        " 9.999999999999E+34", " 1.000000000000E-99", " 1.000000000000e+00", " " * 19,
    ]
    for _ in range(2000):
        x = rng.uniform(-1, 1) * 10.0 ** rng.randint(-40, 40)
        fields.append(f"{x:19.12E}")
    got = rinex_nav._fields_to_float_exact(_cells(fields))[0]
    for text, value in zip(fields, got):
        want = float(text) if text.strip() else float("nan")
        assert (np.isnan(want) and np.isnan(value)) or (
            value == want and np.signbit(value) == np.signbit(want)), text


def test_nav_fields_unreadable_fall_back():
    # a field Python cannot read: the fast path declines and the caller reports the row
    assert rinex_nav._fields_to_float_exact(_cells([" 1.000000000000E+00", " 1.0000000x0000E+00"])) is None
    row = _cells([" 1.000000000000E+00", " 1.0000000x0000E+00"]).reshape(1, 38)
    values, bad = rinex_nav._fields_to_float(row, 19)
    assert bad.tolist() == [True]


def test_v2_epoch_lines_equal_regular_expression():
    pattern = re.compile(
        rb"^(?: [ \d]\d [ \d]\d [ \d]\d [ \d]\d [ \d]\d[ \d]{2}\d\.\d{7}| {26})  [0-6][ \d]{2}\d", re.M)
    rng = random.Random(3)
    templates = [b" 05  4  2  0  0  0.0000000  0  8G 3G 7G 8G11G19G20G24G28",
                 b"                            4  1", b"  55923622.160    24767686.375",
                 b" 21 12 31 23 59 59.9999999  6 12"]
    lines = []
    for _ in range(20000):
        line = bytearray(rng.choice(templates))
        for _ in range(rng.randint(0, 3)):
            if line and rng.random() < 0.8:
                line[rng.randrange(len(line))] = rng.choice(b" 0123456789.-\r\tG7")
            else:
                line = line[: rng.randrange(len(line) + 1)]
        lines.append(bytes(line))
    text = b"\n".join(lines) + b"\n"
    reader = rinex_obs._Reader(text, "x", False)
    got = rinex_obs._v2_epoch_lines(rinex_obs._gather(reader.buf, reader.tail,
                                                      reader.starts[: reader.nlines], 32))
    want = np.searchsorted(reader.starts, [m.start() for m in pattern.finditer(text)])
    np.testing.assert_array_equal(got, want)
